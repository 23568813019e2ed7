// The environment pool: starting an execution environment (its Runtime API
// server, its external extensions, then its runtime), stopping it (SHUTDOWN
// to the extensions within AWS's budget), killing and reaping its
// processes, and the tick that notices crashes, idle environments and
// deadlines.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

namespace {

// AWS's shutdown budget: 300 ms for the runtime alone, 500 ms with internal
// extensions, 2,000 ms with external ones.
constexpr auto kShutdownBudget = std::chrono::milliseconds(300);
constexpr auto kShutdownBudgetInternal = std::chrono::milliseconds(500);
constexpr auto kShutdownBudgetExternal = std::chrono::milliseconds(2000);

// The variable that tags an environment's processes, and its value: unique
// to this emulator process and environment.
constexpr std::string_view kEnvironmentTag = "_FAULTLINE_ENVIRONMENT";
std::string EnvironmentTag(const Environment& env) {
  return fmt::format("{}.{}.{}", ::getpid(), env.fn->config.name, env.number);
}

// AWS ignores AWS_LAMBDA_EXEC_WRAPPER on OS-only runtimes.
bool WrapperIgnored(const FunctionConfig& c) {
  return !c.exec_wrapper.empty() && IsOsOnlyRuntime(c.runtime);
}

}  // namespace

// An environment's Runtime API (and Extensions API) server, on a loopback
// port of its own. A response in streaming mode is read as it arrives
// (StreamedResponse); every other request whole.
Result<std::unique_ptr<http::Server>> Platform::ListenRuntimeApi(
    const std::shared_ptr<Environment>& env) {
  std::weak_ptr<Platform> weak = weak_from_this();
  std::weak_ptr<Environment> weak_env = env;
  auto streams = [](const bhttp::request_header<>& h) {
    const std::string_view target(h.target().data(), h.target().size());
    return h.method() == bhttp::verb::post && target.ends_with("/response") &&
           h["Lambda-Runtime-Function-Response-Mode"] == "streaming";
  };
  auto stream_handler = [weak, weak_env](http::Exchange& ex) -> Task<bool> {
    auto self = weak.lock();
    auto e = weak_env.lock();
    if (!self || !e) co_return false;
    co_return co_await self->StreamedResponse(e, ex);
  };
  auto too_large = [weak, weak_env](const Request& req) {
    auto self = weak.lock();
    auto e = weak_env.lock();
    if (self && e && e->current && e->current->delivered) {
      e->current->body = PlatformError(
          "Function.ResponseSizeTooLarge",
          fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).",
                      kMaxRuntimeResponse));
      e->current->error_type = "Function.ResponseSizeTooLarge";
      self->Finish(e, Invocation::Outcome::kFunctionError);
    }
    return RuntimeError(
        req, bhttp::status::payload_too_large, "RequestEntityTooLarge",
        fmt::format("Exceeded maximum allowed payload size ({} bytes).", kMaxRuntimeResponse));
  };
  auto handler = [weak, weak_env](Request& req) -> Task<Response> {
    auto self = weak.lock();
    auto e = weak_env.lock();
    if (!self || !e) {
      co_return RuntimeError(req, bhttp::status::gone, "Runtime.Gone",
                             "the execution environment is gone");
    }
    co_return co_await self->HandleRuntime(e, req);
  };
  // A runtime posts its answer on the connection /next answered, after the
  // function ran (up to 15 minutes): idle that long is not idle here.
  return http::Server::Listen(
      io,
      http::ServerOptions{.host = "127.0.0.1",
                          .body_limit = kMaxRuntimeResponse,
                          .too_large = too_large,
                          .streams = streams,
                          .stream_handler = stream_handler,
                          .idle_timeout = kMaxTimeout + std::chrono::minutes(1)},
      handler);
}

// The runtime's (and its extensions') environment variables, as Lambda
// sets them; the function's own `environment` over the ones it may change.
SpawnOptions Platform::RuntimeSpawnOptions(const Environment& env) {
  const FunctionConfig& c = *env.config;
  SpawnOptions spawn;
  spawn.argv = LaunchArgv(c);
  spawn.working_dir = c.working_dir;
  for (const char* inherited : {"PATH", "HOME", "LANG", "USER", "PYTHONPATH", "NODE_PATH"}) {
    if (const char* v = std::getenv(inherited)) spawn.env[inherited] = v;
  }
  spawn.env.insert({"TZ", ":UTC"});
  spawn.env.insert({"AWS_REGION", options.region});
  spawn.env.insert({"AWS_DEFAULT_REGION", options.region});
  // X-Ray's, as Lambda sets them (a function may override them); no daemon
  // listens here, so an SDK that sends segments sends them nowhere.
  spawn.env.insert({"AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"});
  spawn.env.insert({"AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"});
  spawn.env.insert({"_AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1"});
  spawn.env.insert({"_AWS_XRAY_DAEMON_PORT", "2000"});
  for (const auto& [k, v] : c.environment) spawn.env[k] = v;
  spawn.env["AWS_LAMBDA_RUNTIME_API"] = fmt::format("127.0.0.1:{}", env.runtime_api->port());
  spawn.env["AWS_LAMBDA_FUNCTION_NAME"] = c.name;
  spawn.env["AWS_LAMBDA_FUNCTION_VERSION"] = env.version;
  spawn.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(c.memory_mb);
  spawn.env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + c.name;
  spawn.env["AWS_LAMBDA_LOG_STREAM_NAME"] = LogStreamName(env.version, rng);
  spawn.env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand";
  spawn.env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + c.runtime;
  spawn.env["LAMBDA_TASK_ROOT"] = c.working_dir;
  spawn.env["LAMBDA_RUNTIME_DIR"] = c.working_dir;
  if (!c.handler.empty()) spawn.env["_HANDLER"] = c.handler;
  if (!c.exec_wrapper.empty()) spawn.env["AWS_LAMBDA_EXEC_WRAPPER"] = c.exec_wrapper;
  // What the environment's processes start inherits it: KillEnvironment
  // finds them by it, wherever they moved (a session of their own).
  spawn.env[std::string(kEnvironmentTag)] = EnvironmentTag(env);
  return spawn;
}

Result<std::shared_ptr<Environment>> Platform::StartEnvironment(Function& fn,
                                                                const std::string& version) {
  auto env = std::make_shared<Environment>();
  env->fn = &fn;
  env->version = version;
  env->config = &fn.ConfigOf(version);
  env->generation = fn.generation;
  env->number = fn.next_env_number++;
  auto api_server = ListenRuntimeApi(env);
  if (!api_server.ok()) return api_server.status();
  env->runtime_api = std::move(*api_server);
  const FunctionConfig& c = *env->config;
  if (WrapperIgnored(c)) {
    Log(fn,
        fmt::format("exec_wrapper {} ignored: AWS ignores AWS_LAMBDA_EXEC_WRAPPER on OS-only "
                    "runtimes (runtime {}); set runtime to a managed one (python3.13, "
                    "nodejs22.x, java21, ...) to use it",
                    c.exec_wrapper, c.runtime),
        nullptr);
  }
  SpawnOptions spawn = RuntimeSpawnOptions(*env);
  // External extensions first (as AWS starts /opt/extensions/*), with the
  // runtime's environment, each in a process group of its own; all of them
  // are killed and reaped with the environment. The runtime starts once
  // every one of them has registered (RegisterExtension), at once without any.
  env->expected_extensions = c.extensions.size();
  env->extension_processes.reserve(c.extensions.size());
  for (const auto& argv : c.extensions) {
    SpawnOptions ext = spawn;
    ext.argv = argv;
    auto started = Process::Spawn(ext);
    if (!started.ok()) {
      env->extension_processes.clear();  // ~Process kills and reaps
      env->runtime_api->Stop();
      return started.status().WithContext(kExtensionLaunch);
    }
    env->extension_processes.push_back(std::move(*started));
  }
  env->runtime_spawn = std::move(spawn);
  if (env->expected_extensions == 0) {
    if (Status s = StartRuntime(env); !s.ok()) {
      env->runtime_api->Stop();
      return s;
    }
  }
  for (Process& p : env->extension_processes) ReadPipes(env, p);
  fn.envs.push_back(env);
  ++fn.metrics.cold_starts;
  return env;
}

Status Platform::StartRuntime(const std::shared_ptr<Environment>& env) {
  if (!env->runtime_spawn) return Status::Ok();
  auto process = Process::Spawn(*env->runtime_spawn);
  env->runtime_spawn.reset();
  if (!process.ok()) return process.status();
  env->process.emplace(std::move(*process));
  ReadPipes(env, *env->process);
  return Status::Ok();
}

namespace {

// The Extensions API's shutdownReason, in the lower case AWS sends.
std::string_view ShutdownReason(std::string_view why) {
  if (why == "timeout") return "timeout";
  if (why == "idle" || why == "configuration changed" || why == "shutdown") return "spindown";
  return "failure";  // a crash, an init error, an extension that exited
}

}  // namespace

// No more invocations. Extensions subscribed to SHUTDOWN get the event and
// the shutdown budget to act on it (until they call event/next again or
// exit); then, or at once without any, every process is killed.
void Platform::StopEnvironment(const std::shared_ptr<Environment>& env, std::string_view why,
                               std::optional<std::chrono::milliseconds> budget) {
  FlushReport(*env);
  if (!env->Alive()) return;
  env->state = Environment::State::kDead;
  // An invocation answered but still waiting for its extensions ends now.
  if (env->current && env->current->outcome != Invocation::Outcome::kPending) Complete(env);
  if (!budget) {
    budget = env->expected_extensions > 0 ? kShutdownBudgetExternal
             : env->extensions.empty()    ? kShutdownBudget
                                          : kShutdownBudgetInternal;
  }
  const json event{{"eventType", "SHUTDOWN"},
                   {"shutdownReason", ShutdownReason(why)},
                   {"deadlineMs", EpochMs() + budget->count()}};
  bool subscribed = false;
  for (auto& ext : env->extensions) {
    if (!ext->shutdown) continue;
    subscribed = true;
    ext->events.push_back(event.dump());
    for (http::Event* w : ext->waiters) w->Poke();
  }
  if (!subscribed) {
    KillEnvironment(env);
    return;
  }
  env->draining = true;
  ArmShutdownTimer(env, Steady::now() + *budget);
}

void Platform::ArmShutdownTimer(const std::shared_ptr<Environment>& env, Steady::time_point at) {
  if (!env->shutdown_timer) env->shutdown_timer.emplace(io);
  env->shutdown_timer->expires_at(at);
  env->shutdown_timer->async_wait(
      [weak = weak_from_this(), weak_env = std::weak_ptr(env)](boost::system::error_code ec) {
        auto self = weak.lock();
        auto e = weak_env.lock();
        if (!ec && self && e) self->KillEnvironment(e);
      });
}

// SIGKILL to the runtime and every extension (each a process group); reaped
// by Tick(), or here at once once the emulator has stopped.
void Platform::KillEnvironment(const std::shared_ptr<Environment>& env) {
  FlushReport(*env);  // while the runtime's memory can still be read
  if (env->killed) return;
  env->killed = true;
  env->draining = false;
  if (env->shutdown_timer) env->shutdown_timer->cancel();
  if (env->process) env->process->Kill();
  for (Process& p : env->extension_processes) p.Kill();
  KillTagged(kEnvironmentTag, EnvironmentTag(*env));
  if (env->runtime_api) env->runtime_api->Stop();
  for (http::Event* w : env->next_waiters) w->Set();
  for (auto& ext : env->extensions) {
    for (http::Event* w : ext->waiters) w->Set();
  }
  if (stopped) {
    if (env->process) env->process->Wait();
    for (Process& p : env->extension_processes) p.Wait();
  }
}

// Extensions are part of the environment: one that exits while the
// environment lives fails it (as on AWS, Extension.Crash resets it); while it
// drains, the exit of every extension ends the shutdown phase early.
void Platform::ReapExtensions(const std::shared_ptr<Environment>& env) {
  std::optional<std::string> exited;
  // Extension.ExitError when the extension said why (exit/error) before
  // exiting, else Extension.Crash: as AWS reports them.
  std::string type = "Extension.Crash";
  bool all_exited = true;
  for (std::size_t i = 0; i < env->extension_processes.size(); ++i) {
    Process& p = env->extension_processes[i];
    if (!p.exited()) {
      if (auto why = p.Reap()) {
        exited = "extension exited: " + *why;
        // Which registration is which process is unknown (extensions
        // register in any order): an exit after any external extension's
        // exit/error counts as that one.
        for (const auto& ext : env->extensions) {
          if (!ext->internal && !ext->exit_error.empty()) {
            type = "Extension.ExitError";
            *exited +=
                fmt::format(" (extension {} called exit/error: {})", ext->name, ext->exit_error);
            break;
          }
        }
      }
    }
    all_exited = all_exited && p.exited();
  }
  if (exited && env->Alive()) {
    Log(*env->fn, *exited, env->current.get());
    if (env->current && env->current->outcome == Invocation::Outcome::kPending) {
      env->current->body =
          PlatformError(type, fmt::format("RequestId: {} Error: {}", env->current->id, *exited));
      env->current->error_type = type;
      Finish(env, Invocation::Outcome::kExited);
    }
    EnvironmentDied(env, *exited);
  }
  if (env->draining && !env->extension_processes.empty() && all_exited) KillEnvironment(env);
}

void Platform::EnvironmentDied(const std::shared_ptr<Environment>& env, const std::string& reason) {
  if (env->current) {
    Invocation& inv = *env->current;
    // A shell's 126/127 mean the command could not run: say so.
    std::string hint;
    if (reason == "exit status 127") hint = " (the command was not found)";
    if (reason == "exit status 126") hint = " (the command is not executable)";
    const std::string message =
        fmt::format("RequestId: {} Error: Runtime exited with error: {}{}", inv.id, reason, hint);
    inv.body = json{{"errorType", "Runtime.ExitError"}, {"errorMessage", message}}.dump();
    inv.error_type = "Runtime.ExitError";
    Log(*env->fn, message, &inv);
    Finish(env, Invocation::Outcome::kExited);
  }
  StopEnvironment(env, reason);
}

// Records the outcome of env's current invocation and wakes the caller.
// The invocation is complete (END, REPORT, the environment free again) at
// once, or, as on AWS, once every extension has called event/next after its
// INVOKE event (see MaybeComplete).

void Platform::Release(const std::shared_ptr<Environment>& env) {
  Function& fn = *env->fn;
  if (env->current) {
    env->current.reset();
    --fn.metrics.concurrent;
  }
  if (env->state == Environment::State::kDead) return;
  if (env->version == kLatest && env->generation != fn.generation) {
    StopEnvironment(env, "configuration changed");
  } else {
    env->state = env->init_ms ? Environment::State::kIdle : Environment::State::kStarting;
    env->idle_since = Steady::now();
  }
  CapacityFreed(fn);
}

void Platform::Tick() {
  if (stopped) return;
  for (auto& [name, fn] : functions) {
    // A copy: what happens to one environment may start another.
    for (const auto& env : std::vector(fn->envs)) {
      // Extensions first: a runtime that talks to the Runtime API through
      // an extension (a proxy) dies of that extension's death, and Lambda
      // reports the cause, Extension.Crash, not Runtime.ExitError.
      ReapExtensions(env);
      if (env->process && !env->process->exited()) {
        if (auto reason = env->process->Reap()) EnvironmentDied(env, *reason);
      }
      if (env->state == Environment::State::kIdle && !env->current &&
          Steady::now() - env->idle_since > options.config.idle_timeout) {
        StopEnvironment(env, "idle");
      }
      // Extensions, too, must be done by the invocation's deadline.
      if (env->Alive() && env->current && env->current->delivered &&
          env->current->outcome != Invocation::Outcome::kPending &&
          Steady::now() >= env->current->deadline) {
        Log(*fn,
            fmt::format("{} {} Task timed out after {} seconds (extensions)", IsoNow(),
                        env->current->id, Seconds(env->config->timeout)),
            env->current.get());
        StopEnvironment(env, "timeout");
      }
    }
    // Drop environments that are dead and reaped.
    std::erase_if(fn->envs, [](const std::shared_ptr<Environment>& e) {
      if (e->state != Environment::State::kDead || !e->killed) return false;
      if (e->process && !e->process->exited()) e->process->Reap();
      bool reaped = !e->process || e->process->exited();
      for (Process& p : e->extension_processes) {
        if (!p.exited()) p.Reap();
        reaped = reaped && p.exited();
      }
      return reaped;
    });
    if (!fn->event_queue.empty()) DrainEvents(*fn);
  }
  tick.expires_after(kTick);
  tick.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->Tick();
  });
}

}  // namespace faultline::lambda
