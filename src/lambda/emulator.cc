#include "lambda/emulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cctype>
#include <cmath>
#include <deque>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <variant>
#include <vector>

#include "faultline/random.h"
#include "faultline/rules.h"
#include "http/encoding.h"
#include "http/eventstream.h"
#include "http/server.h"
#include "lambda/process.h"

namespace faultline::lambda {

namespace {

using http::asio::steady_timer;
using json = nlohmann::json;
using Steady = std::chrono::steady_clock;
namespace asio = http::asio;
namespace bhttp = http::bhttp;
using http::Request;
using http::Response;
using http::Task;

// AWS's limits: synchronous payloads 6 MB each way; the Runtime API allows a
// little framing on top (RIE: 6 MiB + 100 bytes).
constexpr std::size_t kMaxPayload = 6 * 1024 * 1024;
constexpr std::size_t kMaxRuntimeResponse = kMaxPayload + 100;
// A streamed response (InvokeWithResponseStream) may be larger: AWS's
// default maximum is 200 MB (it was a 20 MB soft limit until July 2025).
constexpr std::size_t kMaxStreamedResponse = 200 * 1024 * 1024;
// A backlog of streamed bytes goes out in PayloadChunk events of at most this.
constexpr std::size_t kMaxEventPayload = 1024 * 1024;
constexpr std::size_t kTailBytes = 4096;
constexpr std::size_t kAnsweredIds = 16;
constexpr std::size_t kDurationSamples = 10000;
constexpr auto kTick = std::chrono::milliseconds(50);
// AWS's shutdown budget: 300 ms for the runtime alone, 2,000 ms with
// external extensions; Stop() of the whole emulator gives at most kStopBudget.
constexpr auto kShutdownBudget = std::chrono::milliseconds(300);
constexpr auto kShutdownBudgetInternal = std::chrono::milliseconds(500);
constexpr auto kShutdownBudgetExternal = std::chrono::milliseconds(2000);
// The context of a Status for an external extension that cannot be started.
constexpr std::string_view kExtensionLaunch = "extension";
constexpr auto kStopBudget = std::chrono::milliseconds(500);

// `digits` lower-case hex digits of `v` (zero-padded, the low ones) at `out`.
void PutHex(char* out, std::uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = "0123456789abcdef"[v & 0xf];
}

std::int64_t EpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MsSince(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

std::string Seconds(std::chrono::milliseconds d) {
  return fmt::format("{:.2f}", static_cast<double>(d.count()) / 1000.0);
}

struct Invocation {
  explicit Invocation(asio::any_io_executor ex) : done(ex) {}
  enum class Outcome { kPending, kSuccess, kFunctionError, kTimeout, kExited };

  std::string id;
  std::string payload;
  std::string client_context;  // decoded JSON
  std::string trace_id;
  bool delivered = false;
  Steady::time_point delivered_at;
  Steady::time_point deadline;  // valid once delivered
  std::int64_t deadline_epoch_ms = 0;
  http::Event done;  // Set when outcome is final; Poke'd when delivered
  Outcome outcome = Outcome::kPending;
  std::string body;  // response payload or error JSON
  std::string content_type = "application/json";
  // Response streaming. The runtime answers in streaming mode (`streaming`)
  // or not; the caller gets the answer whole (Invoke) or as a stream
  // (InvokeWithResponseStream: `to_caller`, where streamed bytes wait in
  // `pending` until the caller's coroutine forwards them). `limit` is AWS's
  // response size limit for the kind of invocation.
  bool to_caller = false;
  bool streaming = false;
  std::string pending;
  std::size_t response_bytes = 0;
  std::size_t limit = kMaxRuntimeResponse;
  std::string error_type;  // for X-Amz-Function-Error / metrics
  bool tail = false;       // X-Amz-Log-Type: Tail: keep `log`
  std::string log;         // this invocation's log lines, for Tail
  double duration_ms = 0;  // the runtime's part, set with the outcome
};

// One extension registered with an environment's Extensions API.
struct Extension {
  std::string id;  // Lambda-Extension-Identifier
  std::string name;
  bool invoke = false, shutdown = false;  // subscribed events
  // Registered by the runtime process itself (after every external one,
  // once the runtime was started): not started or stopped by us.
  bool internal = false;
  bool ready = false;               // has called event/next once (its init is done)
  std::string exit_error;           // the type it gave to exit/error, if it called it
  bool busy = false;                // has an event and has not called event/next since
  std::deque<std::string> events;   // to deliver, JSON
  std::list<http::Event*> waiters;  // its parked event/next requests
};

struct Function;

struct Environment {
  Function* fn = nullptr;
  std::uint64_t generation = 0;
  int number = 0;
  std::optional<Process> process;
  std::vector<Process> extension_processes;  // started before the runtime
  std::size_t expected_extensions = 0;       // fn.config.extensions.size()
  // How to start the runtime, until it is started: once every external
  // extension has registered (AWS's Init: Extension init, then Runtime init).
  std::optional<SpawnOptions> runtime_spawn;
  std::vector<std::unique_ptr<Extension>> extensions;  // registered
  std::unique_ptr<http::Server> runtime_api;
  // kDead: no more invocations. While `draining`, extensions handle SHUTDOWN
  // until shutdown_timer; then `killed` (every process SIGKILLed).
  enum class State { kStarting, kIdle, kBusy, kDead } state = State::kStarting;
  bool draining = false;
  bool killed = false;
  std::optional<steady_timer> shutdown_timer;
  bool runtime_ready = false;  // the runtime has called /next
  Steady::time_point started_at = Steady::now();
  Steady::time_point idle_since = Steady::now();
  std::optional<double> init_ms;  // set when the runtime and every extension called next
  bool report_init = true;        // the first REPORT carries Init Duration
  std::shared_ptr<Invocation> current;
  // END and REPORT of the invocation completed last, when they are written
  // after its caller has the answer (see Complete); written before anything
  // else is logged about this environment (FlushReport).
  struct Report {
    std::shared_ptr<Invocation> inv;
    int memory_size_mb = 0;
    std::optional<double> init_ms;  // on the first REPORT only
  };
  std::optional<Report> unreported;
  std::list<http::Event*> next_waiters;
  // The latest request ids answered here (to tell a second answer, 403,
  // from an unknown id, 400); bounded, so a long-lived environment does
  // not grow.
  std::deque<std::string> answered;
  bool WasAnswered(std::string_view id) const {
    return std::find(answered.begin(), answered.end(), id) != answered.end();
  }
  int open_pipes = 0;

  bool Alive() const { return state != State::kDead; }
  // An extension still works on (or has yet to receive) an event.
  bool ExtensionsBusy() const {
    return std::any_of(extensions.begin(), extensions.end(),
                       [](const auto& x) { return x->busy || !x->events.empty(); });
  }
};

struct Metrics {
  std::uint64_t invocations = 0, errors = 0, throttles = 0, cold_starts = 0, timeouts = 0;
  int concurrent = 0, max_concurrent = 0;
  std::deque<double> durations;  // the latest kDurationSamples, in ms

  void AddDuration(double ms) {
    durations.push_back(ms);
    if (durations.size() > kDurationSamples) durations.pop_front();
  }
  double Percentile(double q) const {
    if (durations.empty()) return 0;
    std::vector<double> v(durations.begin(), durations.end());
    const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
  }
};

struct Function {
  FunctionConfig config;
  std::string arn;  // Arn(config.name), the name never changes
  std::uint64_t generation = 1;
  std::string last_modified;
  std::vector<std::shared_ptr<Environment>> envs;
  std::deque<std::shared_ptr<Invocation>> event_queue;  // accepted Event invocations
  Metrics metrics;
  int next_env_number = 1;

  int Busy() const {
    return static_cast<int>(std::count_if(envs.begin(), envs.end(),
                                          [](const auto& e) { return e->current != nullptr; }));
  }
};

// "2026-11-25T03:40:29.544Z", as Lambda's log lines write it.
std::string IsoNow() {
  const std::int64_t ms = EpochMs();
  std::string t = FormatTimestamp(ms * 1'000'000);  // ...:29Z or ...:29.544Z
  if (t.size() > 1) t.pop_back();
  if (t.find('.') == std::string::npos) t += ".000";
  while (t.size() - t.find('.') < 4) t += '0';
  return t + "Z";
}

}  // namespace

struct Emulator::Impl : std::enable_shared_from_this<Emulator::Impl> {
  Impl(asio::io_context& io_context, EmulatorOptions opts)
      : io(io_context), options(std::move(opts)), tick(io_context), rng(RandomSeed()) {}

  asio::io_context& io;
  EmulatorOptions options;
  std::unique_ptr<http::Server> api;
  std::map<std::string, std::unique_ptr<Function>> functions;
  steady_timer tick;
  Random rng;
  bool stopped = false;
  int tick_count = 0;

  // ---- helpers -------------------------------------------------------
  std::string Arn(const std::string& name) const {
    return fmt::format("arn:aws:lambda:{}:{}:function:{}", options.region, options.account_id,
                       name);
  }
  // A version 4 UUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx (y in 8..b).
  std::string NewRequestId() {
    const std::uint64_t a = rng.Next(), b = rng.Next();
    std::string id(36, '-');
    char* p = id.data();
    PutHex(p, a >> 32, 8);
    PutHex(p + 9, (a >> 16) & 0xffff, 4);
    p[14] = '4';
    PutHex(p + 15, a & 0xfff, 3);
    PutHex(p + 19, 0x8000 | (b >> 48 & 0x3fff), 4);
    PutHex(p + 24, b & 0xffffffffffffULL, 12);
    return id;
  }
  // Root=1-{8 hex: epoch seconds}-{24 hex};Parent={16 hex};Sampled=0
  std::string NewTraceId() {
    const auto seconds = static_cast<std::uint32_t>(EpochMs() / 1000);
    const std::uint64_t root = rng.Next() >> 16, parent = rng.Next();
    std::string id = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0";
    PutHex(id.data() + 7, seconds, 8);
    PutHex(id.data() + 24, root, 16);  // the last 16 of the 24 digits (root < 2^48)
    PutHex(id.data() + 48, parent, 16);
    return id;
  }
  void Log(const Function& fn, std::string_view line, Invocation* inv) {
    if (inv != nullptr && inv->tail) {
      inv->log.append(line).append("\n");
    }
    if (options.log) {
      // One buffer for every line: no allocation once it is large enough.
      log_line.assign("[").append(fn.config.name).append("] ").append(line);
      options.log(log_line);
    }
  }
  std::string log_line;

  // ---- environments --------------------------------------------------
  Result<std::shared_ptr<Environment>> StartEnvironment(Function& fn);
  Status StartRuntime(const std::shared_ptr<Environment>& env);
  void StopEnvironment(const std::shared_ptr<Environment>& env, std::string_view why,
                       std::optional<std::chrono::milliseconds> budget = std::nullopt);
  void ArmShutdownTimer(const std::shared_ptr<Environment>& env, Steady::time_point at);
  void KillEnvironment(const std::shared_ptr<Environment>& env);
  void ReapExtensions(const std::shared_ptr<Environment>& env);
  void MaybeInitDone(Environment& env);
  void MaybeComplete(const std::shared_ptr<Environment>& env);
  void Complete(const std::shared_ptr<Environment>& env, bool defer_report = false);
  void WriteReport(Environment& env, const Environment::Report& report);
  void FlushReport(Environment& env);
  void PostFlushReport(const std::shared_ptr<Environment>& env);
  void Drain();
  void EnvironmentDied(const std::shared_ptr<Environment>& env, const std::string& reason);
  void ReadPipes(const std::shared_ptr<Environment>& env, Process& process);
  Task<void> ReadPipe(std::shared_ptr<Environment> env, int fd);
  void OnOutput(Environment& env, std::string& partial, std::string_view chunk, bool flush);
  void Finish(const std::shared_ptr<Environment>& env, Invocation::Outcome outcome,
              bool defer_report = false);
  void Release(const std::shared_ptr<Environment>& env);
  void Tick();

  // ---- invocations ---------------------------------------------------
  struct Throttle {
    std::string reason;
  };
  std::variant<std::shared_ptr<Environment>, Throttle, Status> Acquire(Function& fn);
  void Assign(Function& fn, const std::shared_ptr<Environment>& env,
              std::shared_ptr<Invocation> inv);
  // Forwards inv->pending to a streaming caller.
  using Flush = std::function<Task<void>()>;
  Task<void> Run(Function& fn, std::shared_ptr<Environment> env, std::shared_ptr<Invocation> inv,
                 Flush flush = {});
  void DrainEvents(Function& fn);

  // ---- APIs ----------------------------------------------------------
  Task<Response> HandleApi(Request& req);
  Task<Response> HandleRuntime(std::shared_ptr<Environment> env, Request& req);
  Task<bool> StreamedResponse(std::shared_ptr<Environment> env, http::Exchange& ex);
  Task<Response> HandleExtension(std::shared_ptr<Environment> env, Request& req,
                                 std::string_view what);
  Response RegisterExtension(const std::shared_ptr<Environment>& env, const Request& req);
  Task<Response> NextEvent(std::shared_ptr<Environment> env, Extension& ext, Request& req);
  // An invocation begun: `env` runs it, or is null when none could start
  // (inv then has its error outcome already).
  struct Begun {
    std::shared_ptr<Invocation> inv;
    std::shared_ptr<Environment> env;
  };
  Task<std::variant<Response, Begun>> BeginInvoke(Function& fn, Request& req, bool to_caller);
  Task<Response> Invoke(Function& fn, Request& req);
  Task<bool> InvokeWithResponseStream(http::Exchange& ex);
  Response FunctionConfiguration(const Request& req, const Function& fn, bhttp::status status);
  json ConfigurationJson(const Function& fn) const;
  Response UpdateConfiguration(const Request& req, Function& fn);
  Response PutConcurrency(const Request& req, Function& fn);
  Response MetricsText(const Request& req) const;
  Response MetricsJson(const Request& req) const;
};

namespace {

Response AwsError(const Request& req, bhttp::status status, std::string_view type,
                  std::string_view message, json extra = json::object()) {
  extra["Type"] = "User";
  extra["message"] = message;
  Response res = http::MakeResponse(req, status, extra.dump());
  res.set("x-amzn-ErrorType", std::string(type));
  return res;
}

Response NotFound(const Request& req, const std::string& arn) {
  return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                  "Function not found: " + arn);
}

Response InvalidParameter(const Request& req, std::string_view message) {
  return AwsError(req, bhttp::status::bad_request, "InvalidParameterValueException", message);
}

// A JSON answer to a request, whatever its body type (a stream handler's
// request has no string body).
template <class Message>
Response JsonAnswer(const Message& req, bhttp::status status, std::string body) {
  Response res(status, req.version());
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Runtime API error answers: {"errorMessage","errorType"}.
template <class Message>
Response RuntimeError(const Message& req, bhttp::status status, std::string_view type,
                      std::string_view message) {
  return JsonAnswer(req, status, json{{"errorMessage", message}, {"errorType", type}}.dump());
}

template <class Message>
Response Accepted(const Message& req) {
  return JsonAnswer(req, bhttp::status::accepted, R"({"status":"OK"})");
}

// The error JSON the platform writes for an invocation it fails.
std::string PlatformError(std::string_view type, std::string_view message) {
  return json{{"errorType", type}, {"errorMessage", message}}.dump();
}

// AWS ignores AWS_LAMBDA_EXEC_WRAPPER on OS-only runtimes.
bool WrapperIgnored(const FunctionConfig& c) {
  return !c.exec_wrapper.empty() && IsOsOnlyRuntime(c.runtime);
}

// The segments of a path; the API paths have at most 5, kept inline.
using PathParts = boost::container::small_vector<std::string_view, 8>;

PathParts Split(std::string_view path) {
  PathParts out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// "name", "arn:aws:lambda:r:a:function:name[:qualifier]", "a:function:name".
std::string FunctionNameOf(std::string_view raw) {
  std::string decoded = http::PercentDecode(raw).value_or(std::string(raw));
  std::string_view s = decoded;
  if (const std::size_t f = s.find("function:"); f != std::string_view::npos) {
    s.remove_prefix(f + 9);
    s = s.substr(0, s.find(':'));
  }
  return std::string(s);
}

}  // namespace

// ---------------------------------------------------------------------------
// Environments

Result<std::shared_ptr<Environment>> Emulator::Impl::StartEnvironment(Function& fn) {
  auto env = std::make_shared<Environment>();
  env->fn = &fn;
  env->generation = fn.generation;
  env->number = fn.next_env_number++;
  std::weak_ptr<Impl> weak = weak_from_this();
  std::weak_ptr<Environment> weak_env = env;
  // A response in streaming mode is read as it arrives (StreamedResponse);
  // every other request whole.
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
  auto api_server = http::Server::Listen(
      io,
      http::ServerOptions{
          .host = "127.0.0.1",
          .body_limit = kMaxRuntimeResponse,
          .too_large =
              [weak, weak_env](const Request& req) {
                auto self = weak.lock();
                auto e = weak_env.lock();
                if (self && e && e->current && e->current->delivered) {
                  e->current->body =
                      json{{"errorType", "Function.ResponseSizeTooLarge"},
                           {"errorMessage",
                            fmt::format("Response payload size exceeded maximum allowed payload "
                                        "size ({} bytes).",
                                        kMaxRuntimeResponse)}}
                          .dump();
                  e->current->error_type = "Function.ResponseSizeTooLarge";
                  self->Finish(e, Invocation::Outcome::kFunctionError);
                }
                return RuntimeError(req, bhttp::status::payload_too_large, "RequestEntityTooLarge",
                                    fmt::format("Exceeded maximum allowed payload size ({} bytes).",
                                                kMaxRuntimeResponse));
              },
          .streams = streams,
          .stream_handler = stream_handler},
      [weak, weak_env](Request& req) -> Task<Response> {
        auto self = weak.lock();
        auto e = weak_env.lock();
        if (!self || !e) {
          co_return RuntimeError(req, bhttp::status::gone, "Runtime.Gone",
                                 "the execution environment is gone");
        }
        co_return co_await self->HandleRuntime(e, req);
      });
  if (!api_server.ok()) return api_server.status();
  env->runtime_api = std::move(*api_server);

  const FunctionConfig& c = fn.config;
  if (WrapperIgnored(c)) {
    Log(fn,
        fmt::format("exec_wrapper {} ignored: AWS ignores AWS_LAMBDA_EXEC_WRAPPER on OS-only "
                    "runtimes (runtime {}); set runtime to a managed one (python3.13, "
                    "nodejs22.x, java21, ...) to use it",
                    c.exec_wrapper, c.runtime),
        nullptr);
  }
  SpawnOptions spawn;
  spawn.argv = LaunchArgv(c);
  spawn.working_dir = c.working_dir;
  for (const char* inherited : {"PATH", "HOME", "LANG", "USER", "PYTHONPATH", "NODE_PATH"}) {
    if (const char* v = std::getenv(inherited)) spawn.env[inherited] = v;
  }
  spawn.env.insert({"TZ", ":UTC"});
  spawn.env.insert({"AWS_REGION", options.region});
  spawn.env.insert({"AWS_DEFAULT_REGION", options.region});
  for (const auto& [k, v] : c.environment) spawn.env[k] = v;
  spawn.env["AWS_LAMBDA_RUNTIME_API"] = fmt::format("127.0.0.1:{}", env->runtime_api->port());
  spawn.env["AWS_LAMBDA_FUNCTION_NAME"] = c.name;
  spawn.env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
  spawn.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(c.memory_mb);
  spawn.env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + c.name;
  spawn.env["AWS_LAMBDA_LOG_STREAM_NAME"] =
      fmt::format("{}/[$LATEST]{:032x}", IsoNow().substr(0, 10), rng.Next());
  spawn.env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand";
  spawn.env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + c.runtime;
  spawn.env["LAMBDA_TASK_ROOT"] = c.working_dir;
  spawn.env["LAMBDA_RUNTIME_DIR"] = c.working_dir;
  if (!c.handler.empty()) spawn.env["_HANDLER"] = c.handler;
  if (!c.exec_wrapper.empty()) spawn.env["AWS_LAMBDA_EXEC_WRAPPER"] = c.exec_wrapper;

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

Status Emulator::Impl::StartRuntime(const std::shared_ptr<Environment>& env) {
  if (!env->runtime_spawn) return Status::Ok();
  auto process = Process::Spawn(*env->runtime_spawn);
  env->runtime_spawn.reset();
  if (!process.ok()) return process.status();
  env->process.emplace(std::move(*process));
  ReadPipes(env, *env->process);
  return Status::Ok();
}

void Emulator::Impl::ReadPipes(const std::shared_ptr<Environment>& env, Process& process) {
  const int out = process.stdout_fd(), err = process.stderr_fd();
  process.ReleasePipes();
  env->open_pipes += 2;
  asio::co_spawn(io, ReadPipe(env, out), [](std::exception_ptr) {});
  asio::co_spawn(io, ReadPipe(env, err), [](std::exception_ptr) {});
}

Task<void> Emulator::Impl::ReadPipe(std::shared_ptr<Environment> env, int fd) {
  asio::posix::stream_descriptor pipe(io, fd);
  std::string partial;
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await pipe.async_read_some(
        asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (n > 0) OnOutput(*env, partial, std::string_view(buf, n), false);
    if (ec) break;
  }
  OnOutput(*env, partial, {}, true);
  --env->open_pipes;
}

void Emulator::Impl::OnOutput(Environment& env, std::string& partial, std::string_view chunk,
                              bool flush) {
  partial.append(chunk);
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    Log(*env.fn, std::string_view(partial).substr(start, nl - start), env.current.get());
  }
  partial.erase(0, start);
  if (flush && !partial.empty()) {
    Log(*env.fn, partial, env.current.get());
    partial.clear();
  }
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
void Emulator::Impl::StopEnvironment(const std::shared_ptr<Environment>& env, std::string_view why,
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

void Emulator::Impl::ArmShutdownTimer(const std::shared_ptr<Environment>& env,
                                      Steady::time_point at) {
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
void Emulator::Impl::KillEnvironment(const std::shared_ptr<Environment>& env) {
  FlushReport(*env);  // while the runtime's memory can still be read
  if (env->killed) return;
  env->killed = true;
  env->draining = false;
  if (env->shutdown_timer) env->shutdown_timer->cancel();
  if (env->process) env->process->Kill();
  for (Process& p : env->extension_processes) p.Kill();
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
void Emulator::Impl::ReapExtensions(const std::shared_ptr<Environment>& env) {
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

void Emulator::Impl::EnvironmentDied(const std::shared_ptr<Environment>& env,
                                     const std::string& reason) {
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
void Emulator::Impl::Finish(const std::shared_ptr<Environment>& env, Invocation::Outcome outcome,
                            bool defer_report) {
  std::shared_ptr<Invocation> inv = env->current;
  if (!inv || inv->outcome != Invocation::Outcome::kPending) return;
  inv->outcome = outcome;
  env->answered.push_back(inv->id);
  if (env->answered.size() > kAnsweredIds) env->answered.pop_front();
  Function& fn = *env->fn;
  inv->duration_ms = inv->delivered ? MsSince(inv->delivered_at) : 0;
  if (outcome != Invocation::Outcome::kSuccess) ++fn.metrics.errors;
  if (outcome == Invocation::Outcome::kTimeout) ++fn.metrics.timeouts;
  fn.metrics.AddDuration(inv->duration_ms);
  const bool answered =
      outcome == Invocation::Outcome::kSuccess || outcome == Invocation::Outcome::kFunctionError;
  if (answered && env->Alive() && env->ExtensionsBusy()) {
    inv->done.Set();  // the caller has its answer; the environment is not free yet
    return;
  }
  Complete(env, defer_report);
}

void Emulator::Impl::MaybeComplete(const std::shared_ptr<Environment>& env) {
  if (env->current && env->current->outcome != Invocation::Outcome::kPending &&
      !env->ExtensionsBusy()) {
    Complete(env);
  }
}

// Writes END and REPORT for env's finished invocation, wakes the caller (if
// not yet) and frees the environment. With `defer_report` (a runtime's
// answer, on the hot path), END and REPORT wait in env->unreported until
// the caller has its answer and the runtime its 202 (HandleRuntime posts
// FlushReport), unless the caller asked for the log tail, which must hold
// them. Nothing else about the environment is logged before they are.
void Emulator::Impl::Complete(const std::shared_ptr<Environment>& env, bool defer_report) {
  FlushReport(*env);
  std::shared_ptr<Invocation> inv = env->current;
  Environment::Report report{inv, env->fn->config.memory_mb, std::nullopt};
  if (env->report_init && env->init_ms) {
    report.init_ms = env->init_ms;
    env->report_init = false;
  }
  if (defer_report && !inv->tail) {
    env->unreported = std::move(report);
  } else {
    WriteReport(*env, report);
  }
  inv->done.Set();
  Release(env);
}

// Max Memory Used is the runtime's peak RSS so far (VmHWM, which only
// grows), read when the lines are written: after the invocation, before the
// next one starts.
void Emulator::Impl::WriteReport(Environment& env, const Environment::Report& report) {
  const Invocation& inv = *report.inv;
  const double duration = inv.duration_ms;
  const int memory = env.process ? env.process->PeakMemoryMb() : 0;
  std::string line = fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} "
      "MB\tMax Memory Used: {} MB\t",
      inv.id, duration, static_cast<long>(std::ceil(duration)), report.memory_size_mb, memory);
  if (report.init_ms) line += fmt::format("Init Duration: {:.2f} ms\t", *report.init_ms);
  Log(*env.fn, "END RequestId: " + inv.id, report.inv.get());
  Log(*env.fn, line, report.inv.get());
}

void Emulator::Impl::FlushReport(Environment& env) {
  if (!env.unreported) return;
  const Environment::Report report = std::move(*env.unreported);
  env.unreported.reset();
  WriteReport(env, report);
}

void Emulator::Impl::PostFlushReport(const std::shared_ptr<Environment>& env) {
  asio::post(io, [weak = weak_from_this(), weak_env = std::weak_ptr(env)] {
    auto self = weak.lock();
    auto e = weak_env.lock();
    if (self && e) self->FlushReport(*e);
  });
}

void Emulator::Impl::Release(const std::shared_ptr<Environment>& env) {
  Function& fn = *env->fn;
  if (env->current) {
    env->current.reset();
    --fn.metrics.concurrent;
  }
  if (env->state == Environment::State::kDead) return;
  if (env->generation != fn.generation) {
    StopEnvironment(env, "configuration changed");
  } else {
    env->state = env->init_ms ? Environment::State::kIdle : Environment::State::kStarting;
    env->idle_since = Steady::now();
  }
  DrainEvents(fn);
}

void Emulator::Impl::Tick() {
  if (stopped) return;
  ++tick_count;
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
                        env->current->id, Seconds(fn->config.timeout)),
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

// ---------------------------------------------------------------------------
// Invocations

std::variant<std::shared_ptr<Environment>, Emulator::Impl::Throttle, Status>
Emulator::Impl::Acquire(Function& fn) {
  for (auto& env : fn.envs) {
    if (env->state == Environment::State::kIdle && !env->current &&
        env->generation == fn.generation) {
      return env;
    }
  }
  if (fn.config.reserved_concurrency) {
    if (fn.Busy() >= *fn.config.reserved_concurrency) {
      return Throttle{"ReservedFunctionConcurrentInvocationLimitExceeded"};
    }
  } else {
    int reserved = 0, unreserved_busy = 0;
    for (auto& [name, other] : functions) {
      if (other->config.reserved_concurrency) {
        reserved += *other->config.reserved_concurrency;
      } else {
        unreserved_busy += other->Busy();
      }
    }
    if (unreserved_busy >= options.config.account_concurrency - reserved) {
      return Throttle{"ConcurrentInvocationLimitExceeded"};
    }
  }
  auto env = StartEnvironment(fn);
  if (!env.ok()) return env.status();
  return std::move(*env);
}

// Runs `inv` on `env` until it has an outcome or its time is up.
// Makes `inv` env's invocation at once, so that the next Acquire sees env
// busy: Run (which may start later, when co_spawn'ed) only waits.
void Emulator::Impl::Assign(Function& fn, const std::shared_ptr<Environment>& env,
                            std::shared_ptr<Invocation> inv) {
  ++fn.metrics.invocations;
  ++fn.metrics.concurrent;
  fn.metrics.max_concurrent = std::max(fn.metrics.max_concurrent, fn.metrics.concurrent);
  env->current = std::move(inv);
  env->state = env->init_ms ? Environment::State::kBusy : Environment::State::kStarting;
  for (http::Event* w : env->next_waiters) w->Poke();
}

// REQUIRES: Assign(fn, env, inv) was called.
Task<void> Emulator::Impl::Run(Function& fn, std::shared_ptr<Environment> env,
                               std::shared_ptr<Invocation> inv, Flush flush) {
  const auto init_deadline = Steady::now() + options.init_timeout;
  const std::chrono::milliseconds timeout = fn.config.timeout;
  while (inv->outcome == Invocation::Outcome::kPending) {
    // Streamed bytes first. No suspension between this check and the wait
    // below, so a Poke for new bytes cannot fall between them.
    if (flush && !inv->pending.empty()) {
      co_await flush();
      continue;
    }
    const auto now = Steady::now();
    const auto deadline = inv->delivered ? inv->deadline : init_deadline;
    if (now >= deadline) break;
    // Delivery does not wake this coroutine (one wake-up less per
    // invocation): until then it looks again every `timeout`, as the
    // deadline of a delivered invocation (delivery + timeout) is no earlier
    // than that. UpdateConfiguration pokes it when the timeout changes.
    co_await inv->done.Wait(inv->delivered ? deadline
                                           : std::min(deadline, now + fn.config.timeout));
  }
  if (inv->outcome != Invocation::Outcome::kPending || env->current != inv) co_return;
  FlushReport(*env);
  // Out of time: stop the environment, answer as AWS does.
  const std::chrono::milliseconds allowed =
      inv->delivered ? timeout
                     : std::chrono::duration_cast<std::chrono::milliseconds>(options.init_timeout);
  const std::string message = fmt::format("RequestId: {} Error: Task timed out after {} seconds",
                                          inv->id, Seconds(allowed));
  inv->body = PlatformError("Sandbox.Timedout", message);
  inv->error_type = "Sandbox.Timedout";
  if (!inv->delivered) {
    Log(fn,
        fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: timeout",
                    MsSince(env->started_at)),
        inv.get());
  }
  Log(fn, fmt::format("{} {} Task timed out after {} seconds", IsoNow(), inv->id, Seconds(allowed)),
      inv.get());
  Finish(env, Invocation::Outcome::kTimeout);
  StopEnvironment(env, "timeout");
}

void Emulator::Impl::DrainEvents(Function& fn) {
  while (!fn.event_queue.empty() && !stopped) {
    auto acquired = Acquire(fn);
    if (std::holds_alternative<Throttle>(acquired)) return;  // retried on release / tick
    auto inv = fn.event_queue.front();
    fn.event_queue.pop_front();
    if (auto* status = std::get_if<Status>(&acquired)) {
      Log(fn, fmt::format("RequestId: {} Error: {}", inv->id, status->message()), nullptr);
      ++fn.metrics.invocations;
      ++fn.metrics.errors;
      continue;
    }
    auto env = std::get<std::shared_ptr<Environment>>(acquired);
    Assign(fn, env, inv);
    asio::co_spawn(
        io, Run(fn, env, inv),
        [weak = weak_from_this(), name = fn.config.name](std::exception_ptr e) {
          auto self = weak.lock();
          if (e && self && self->options.log) {
            self->options.log(fmt::format("[{}] internal error in an Event invocation", name));
          }
        });
  }
}

// ---------------------------------------------------------------------------
// Runtime API, one per environment

Task<Response> Emulator::Impl::HandleRuntime(std::shared_ptr<Environment> env, Request& req) {
  const PathParts p = Split(std::string_view(req.target().data(), req.target().size()));
  const bool post = req.method() == bhttp::verb::post;
  if (p.size() >= 3 && p[0] == "2020-01-01" && p[1] == "extension") {
    std::string what(p[2]);
    for (std::size_t i = 3; i < p.size(); ++i) what.append("/").append(p[i]);
    co_return co_await HandleExtension(env, req, what);
  }
  if (p.size() == 4 && p[0] == "2018-06-01" && p[1] == "runtime" && p[2] == "invocation" &&
      p[3] == "next" && req.method() == bhttp::verb::get) {
    if (!env->runtime_ready) {
      env->runtime_ready = true;
      MaybeInitDone(*env);
    }
    http::Event wake(co_await asio::this_coro::executor);
    for (;;) {
      // While extensions handle SHUTDOWN the runtime just waits, as a
      // frozen one would.
      if (!env->Alive() && !env->draining) {
        co_return RuntimeError(req, bhttp::status::gone, "Runtime.Gone",
                               "the execution environment is shutting down");
      }
      if (env->Alive() && env->init_ms && env->current && !env->current->delivered) break;
      auto it = env->next_waiters.insert(env->next_waiters.end(), &wake);
      co_await wake.Wait();
      env->next_waiters.erase(it);
      // Poked (the usual wake-up) leaves it reusable; Set does not.
      if (wake.is_set()) wake = http::Event(co_await asio::this_coro::executor);
    }
    Invocation& inv = *env->current;
    Function& fn = *env->fn;
    inv.delivered = true;
    inv.delivered_at = Steady::now();
    inv.deadline = inv.delivered_at + fn.config.timeout;
    inv.deadline_epoch_ms = EpochMs() + fn.config.timeout.count();
    env->state = Environment::State::kBusy;
    // Not poking Run: it looks at the new deadline by itself (see Run).
    FlushReport(*env);  // the previous invocation's END and REPORT first
    Log(fn, "START RequestId: " + inv.id + " Version: $LATEST", &inv);
    std::string event;  // INVOKE, for the extensions subscribed to it
    for (auto& ext : env->extensions) {
      if (!ext->invoke) continue;
      if (event.empty()) {
        event = json{{"eventType", "INVOKE"},
                     {"deadlineMs", inv.deadline_epoch_ms},
                     {"requestId", inv.id},
                     {"invokedFunctionArn", fn.arn},
                     {"tracing", {{"type", "X-Amzn-Trace-Id"}, {"value", inv.trace_id}}}}
                    .dump();
      }
      ext->events.push_back(event);
      for (http::Event* w : ext->waiters) w->Poke();
    }
    Response res = http::MakeResponse(req, bhttp::status::ok, inv.payload);
    res.set("Lambda-Runtime-Aws-Request-Id", inv.id);
    res.set("Lambda-Runtime-Deadline-Ms", std::to_string(inv.deadline_epoch_ms));
    res.set("Lambda-Runtime-Invoked-Function-Arn", fn.arn);
    res.set("Lambda-Runtime-Trace-Id", inv.trace_id);
    if (!inv.client_context.empty()) res.set("Lambda-Runtime-Client-Context", inv.client_context);
    co_return res;
  }
  if (post && p.size() == 4 && p[0] == "2018-06-01" && p[1] == "runtime" && p[2] == "init" &&
      p[3] == "error") {
    const std::string type = std::string(req["Lambda-Runtime-Function-Error-Type"]);
    if (env->runtime_ready) {
      co_return RuntimeError(req, bhttp::status::forbidden, "InvalidStateTransition",
                             "init/error after the runtime has initialised");
    }
    Log(*env->fn,
        fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\t"
                    "Error Type: {}",
                    MsSince(env->started_at), type.empty() ? "Runtime.Unknown" : type),
        env->current.get());
    if (env->current) {
      env->current->body =
          req.body().empty() ? json{{"errorType", type}, {"errorMessage", ""}}.dump() : req.body();
      env->current->error_type = type.empty() ? "Runtime.Unknown" : type;
      Finish(env, Invocation::Outcome::kFunctionError);
    }
    StopEnvironment(env, "init error");
    co_return Accepted(req);
  }
  if (post && p.size() == 5 && p[0] == "2018-06-01" && p[1] == "runtime" && p[2] == "invocation" &&
      (p[4] == "response" || p[4] == "error")) {
    const std::string id(p[3]);
    if (!env->current || env->current->id != id || !env->current->delivered ||
        env->current->outcome != Invocation::Outcome::kPending) {
      if (env->WasAnswered(id)) {
        co_return RuntimeError(
            req, bhttp::status::forbidden, "InvalidStateTransition",
            "Invalid state transition: the invocation " + id + " was already answered");
      }
      co_return RuntimeError(req, bhttp::status::bad_request, "InvalidRequestID",
                             "Invalid request ID");
    }
    Invocation& inv = *env->current;
    if (p[4] == "response") {
      const auto mode = req["Lambda-Runtime-Function-Response-Mode"];
      if (!mode.empty() && mode != "streaming") {
        co_return RuntimeError(req, bhttp::status::bad_request, "Runtime.InvalidResponseModeHeader",
                               "Invalid Lambda-Runtime-Function-Response-Mode");
      }
      inv.body = std::move(req.body());
      if (auto ct = req[bhttp::field::content_type]; !ct.empty()) {
        inv.content_type = std::string(ct);
      }
      Finish(env, Invocation::Outcome::kSuccess, /*defer_report=*/true);
    } else {
      std::string type(req["Lambda-Runtime-Function-Error-Type"]);
      inv.body = req.body().empty() ? json{{"errorType", type}, {"errorMessage", ""}}.dump()
                                    : std::move(req.body());
      inv.error_type = type.empty() ? "Function.Unknown" : type;
      Finish(env, Invocation::Outcome::kFunctionError, /*defer_report=*/true);
    }
    // The caller first: Finish queued its coroutine, and yielding once lets
    // it write the answer before the runtime gets its 202 (writing the 202
    // first put the runtime's wake-up ahead of the caller's answer). END
    // and REPORT (a /proc read) after both.
    co_await asio::post(io, asio::use_awaitable);
    PostFlushReport(env);
    co_return Accepted(req);
  }
  co_return RuntimeError(req, bhttp::status::not_found, "InvalidRequest",
                         fmt::format("no such Runtime API endpoint: {} {}",
                                     std::string(req.method_string()), std::string(req.target())));
}

// POST /runtime/invocation/{id}/response in streaming mode: the body is
// read as it arrives and each piece goes on at once, to a streaming caller
// (inv.pending, forwarded by InvokeWithResponseStream) or into the whole
// answer (inv.body). Error trailers after the body make it a function error;
// the runtime gets its 202 when the stream ends.
//
//   runtime --chunk--> pending --Poke--> caller's coroutine --PayloadChunk--> caller
Task<bool> Emulator::Impl::StreamedResponse(std::shared_ptr<Environment> env, http::Exchange& ex) {
  // The body is not read when answering early: close the connection after.
  auto answer = [&ex](Response res) -> Task<bool> {
    res.keep_alive(false);
    boost::system::error_code ec;
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return false;
  };
  const auto& head = ex.parser.get();
  const PathParts p = Split(std::string_view(head.target().data(), head.target().size()));
  if (p.size() != 5 || p[0] != "2018-06-01" || p[1] != "runtime" || p[2] != "invocation") {
    co_return co_await answer(RuntimeError(
        head, bhttp::status::not_found, "InvalidRequest",
        fmt::format("no such Runtime API endpoint: POST {}", std::string(head.target()))));
  }
  const std::string id(p[3]);
  std::shared_ptr<Invocation> inv = env->current;
  if (!inv || inv->id != id || !inv->delivered || inv->outcome != Invocation::Outcome::kPending) {
    if (env->WasAnswered(id)) {
      co_return co_await answer(
          RuntimeError(head, bhttp::status::forbidden, "InvalidStateTransition",
                       "Invalid state transition: the invocation " + id + " was already answered"));
    }
    co_return co_await answer(
        RuntimeError(head, bhttp::status::bad_request, "InvalidRequestID", "Invalid request ID"));
  }
  inv->streaming = true;
  if (auto ct = head[bhttp::field::content_type]; !ct.empty()) inv->content_type = std::string(ct);
  bhttp::request_parser<bhttp::buffer_body> parser(std::move(ex.parser));
  std::vector<char> buf(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = buf.data();
    parser.get().body().size = buf.size();
    boost::system::error_code ec;
    co_await bhttp::async_read_some(ex.socket, ex.buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    // Lost mid-stream (the runtime died, or a timeout stopped the
    // environment): Run and Tick say what happened to the invocation.
    if (ec && ec != bhttp::error::need_buffer) co_return false;
    const std::size_t n = buf.size() - parser.get().body().size;
    if (n == 0 || inv->outcome != Invocation::Outcome::kPending) continue;
    inv->response_bytes += n;
    if (inv->response_bytes > inv->limit) {
      inv->body = PlatformError(
          "Function.ResponseSizeTooLarge",
          fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).",
                      inv->limit));
      inv->error_type = "Function.ResponseSizeTooLarge";
      Finish(env, Invocation::Outcome::kFunctionError);
      co_return co_await answer(RuntimeError(
          parser.get(), bhttp::status::payload_too_large, "RequestEntityTooLarge",
          fmt::format("Exceeded maximum allowed payload size ({} bytes).", inv->limit)));
    }
    (inv->to_caller ? inv->pending : inv->body).append(buf.data(), n);
    if (inv->to_caller) inv->done.Poke();
  }
  const auto& whole = parser.get();
  if (env->current == inv && inv->outcome == Invocation::Outcome::kPending) {
    const std::string type(whole["Lambda-Runtime-Function-Error-Type"]);
    if (type.empty()) {
      Finish(env, Invocation::Outcome::kSuccess);
    } else {
      const auto encoded = whole["Lambda-Runtime-Function-Error-Body"];
      std::string body =
          http::Base64Decode(std::string_view(encoded.data(), encoded.size())).value_or("");
      inv->body = body.empty() ? PlatformError(type, "") : std::move(body);
      inv->error_type = type;
      Log(*env->fn,
          fmt::format("RequestId: {} Error: the response stream ended with error {} after {} "
                      "bytes",
                      inv->id, type, inv->response_bytes),
          inv.get());
      Finish(env, Invocation::Outcome::kFunctionError);
    }
  }
  Response res = Accepted(whole);
  boost::system::error_code ec;
  co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && res.keep_alive();
}

// ---------------------------------------------------------------------------
// Extensions API 2020-01-01, on the same port as the Runtime API
//
//   register ----> ready (first event/next) ----> INVOKE / SHUTDOWN events
//
// Init ends when the runtime and every extension have called next (and every
// configured external extension has registered); an invocation is complete
// when the runtime has answered and every extension has called event/next
// after its INVOKE event.

namespace {

bool LooksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

void Emulator::Impl::MaybeInitDone(Environment& env) {
  if (env.init_ms || !env.Alive() || !env.runtime_ready) return;
  if (env.extensions.size() < env.expected_extensions) return;
  for (const auto& ext : env.extensions) {
    if (!ext->ready) return;
  }
  env.init_ms = MsSince(env.started_at);
  for (const auto& ext : env.extensions) {
    std::vector<std::string_view> events;
    if (ext->invoke) events.push_back("INVOKE");
    if (ext->shutdown) events.push_back("SHUTDOWN");
    Log(*env.fn,
        fmt::format("EXTENSION\tName: {}\tState: Ready\tEvents: [{}]", ext->name,
                    fmt::join(events, ",")),
        env.current.get());
  }
  if (env.state == Environment::State::kStarting && !env.current) {
    env.state = Environment::State::kIdle;
    env.idle_since = Steady::now();
  }
  for (http::Event* w : env.next_waiters) w->Poke();
}

Task<Response> Emulator::Impl::HandleExtension(std::shared_ptr<Environment> env, Request& req,
                                               std::string_view what) {
  const bhttp::verb verb = req.method();
  if (what == "register" && verb == bhttp::verb::post) co_return RegisterExtension(env, req);
  const bool next = what == "event/next" && verb == bhttp::verb::get;
  const bool init_error = what == "init/error" && verb == bhttp::verb::post;
  const bool exit_error = what == "exit/error" && verb == bhttp::verb::post;
  if (!next && !init_error && !exit_error) {
    co_return RuntimeError(
        req, bhttp::status::not_found, "InvalidRequest",
        fmt::format("no such Extensions API endpoint: {} {}", std::string(req.method_string()),
                    std::string(req.target())));
  }
  const std::string id(req["Lambda-Extension-Identifier"]);
  if (id.empty()) {
    co_return RuntimeError(req, bhttp::status::forbidden, "Extension.MissingExtensionIdentifier",
                           "Missing Lambda-Extension-Identifier header");
  }
  if (!LooksLikeUuid(id)) {
    co_return RuntimeError(req, bhttp::status::forbidden, "Extension.InvalidExtensionIdentifier",
                           "Invalid Lambda-Extension-Identifier");
  }
  auto it = std::find_if(env->extensions.begin(), env->extensions.end(),
                         [&](const auto& x) { return x->id == id; });
  if (it == env->extensions.end()) {
    co_return RuntimeError(req, bhttp::status::forbidden, "Extension.UnknownExtensionIdentifier",
                           "Unknown extension " + id);
  }
  Extension& ext = **it;
  if (next) co_return co_await NextEvent(env, ext, req);
  const std::string type(req["Lambda-Extension-Function-Error-Type"]);
  if (type.empty()) {
    co_return RuntimeError(req, bhttp::status::forbidden, "Extension.MissingHeader",
                           "Lambda-Extension-Function-Error-Type not found");
  }
  if (exit_error) {
    ext.exit_error = type;
    Log(*env->fn,
        fmt::format("EXTENSION\tName: {}\tState: ExitError\tError Type: {}", ext.name, type),
        env->current.get());
    co_return Accepted(req);
  }
  if (env->init_ms || ext.ready) {
    co_return RuntimeError(req, bhttp::status::forbidden, "Extension.InvalidExtensionState",
                           fmt::format("State transition from Ready to InitError failed for "
                                       "extension {}",
                                       id));
  }
  // As the runtime's init/error: the environment fails to start, and the
  // invocation with AWS's Extension.InitError (the extension's own type is
  // in the message and the log).
  Log(*env->fn,
      fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\t"
                  "Error Type: Extension.InitError",
                  MsSince(env->started_at)),
      env->current.get());
  Log(*env->fn,
      fmt::format("EXTENSION\tName: {}\tState: InitError\tError Type: {}", ext.name, type),
      env->current.get());
  if (env->current && env->current->outcome == Invocation::Outcome::kPending) {
    env->current->body = PlatformError("Extension.InitError",
                                       fmt::format("RequestId: {} Error: extension {} failed to "
                                                   "initialise: {}",
                                                   env->current->id, ext.name, type));
    env->current->error_type = "Extension.InitError";
    Finish(env, Invocation::Outcome::kExited);
  }
  StopEnvironment(env, "init error");
  co_return Accepted(req);
}

Response Emulator::Impl::RegisterExtension(const std::shared_ptr<Environment>& env_ptr,
                                           const Request& req) {
  Environment& env = *env_ptr;
  auto forbidden = [&](std::string_view type, std::string_view message) {
    return RuntimeError(req, bhttp::status::forbidden, type, message);
  };
  const std::string name(req["Lambda-Extension-Name"]);
  if (name.empty()) return forbidden("Extension.InvalidExtensionName", "Empty extension name");
  const json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || (body.contains("events") && !body["events"].is_array())) {
    return forbidden("InvalidRequestFormat",
                     R"(expected a JSON object {"events": ["INVOKE", "SHUTDOWN"]})");
  }
  auto ext = std::make_unique<Extension>();
  for (const json& e : body.value("events", json::array())) {
    if (e == "INVOKE") {
      ext->invoke = true;
    } else if (e == "SHUTDOWN") {
      ext->shutdown = true;
    } else {
      return forbidden("Extension.InvalidEventType", e.dump() + ": expected INVOKE or SHUTDOWN");
    }
  }
  // Open during Init: external extensions, then internal ones (the runtime
  // process registers them before its first /next).
  if (env.runtime_ready || env.init_ms || !env.Alive()) {
    return forbidden("Extension.RegistrationClosed", "Extension registration closed already");
  }
  if (env.extensions.size() >= kMaxExtensions) {
    return forbidden("Extension.TooManyExtensions",
                     fmt::format("Extension limit ({}) reached", kMaxExtensions));
  }
  for (const auto& other : env.extensions) {
    if (other->name == name) {
      return forbidden("Extension.InvalidExtensionState",
                       "Extension with this name already registered");
    }
  }
  ext->id = NewRequestId();
  ext->name = name;
  const FunctionConfig& c = env.fn->config;
  Response res = http::MakeResponse(
      req, bhttp::status::ok,
      json{{"functionName", c.name}, {"functionVersion", "$LATEST"}, {"handler", c.handler}}
          .dump());
  res.set("Lambda-Extension-Identifier", ext->id);
  ext->internal = env.process.has_value();
  env.extensions.push_back(std::move(ext));
  // Every external extension registered: Runtime init starts.
  if (env.runtime_spawn && env.extensions.size() >= env.expected_extensions) {
    if (Status s = StartRuntime(env_ptr); !s.ok()) {
      if (env.current && env.current->outcome == Invocation::Outcome::kPending) {
        env.current->body =
            PlatformError("Runtime.InvalidEntrypoint",
                          fmt::format("RequestId: {} Error: {}", env.current->id, s.message()));
        env.current->error_type = "Runtime.InvalidEntrypoint";
        Log(*env.fn, s.message(), env.current.get());
        Finish(env_ptr, Invocation::Outcome::kExited);
      }
      StopEnvironment(env_ptr, "runtime start failed");
    }
  }
  return res;
}

// event/next: the extension is done with its previous event (init, INVOKE or
// SHUTDOWN); waits for the next one.
Task<Response> Emulator::Impl::NextEvent(std::shared_ptr<Environment> env, Extension& ext,
                                         Request& req) {
  ext.busy = false;
  if (!ext.ready) {
    ext.ready = true;
    MaybeInitDone(*env);
  }
  if (env->Alive()) {
    MaybeComplete(env);
  } else if (env->draining && !env->ExtensionsBusy()) {
    KillEnvironment(env);  // every extension is done with SHUTDOWN
  }
  http::Event wake(co_await asio::this_coro::executor);
  while (ext.events.empty()) {
    if (env->killed) {
      co_return RuntimeError(req, bhttp::status::gone, "Extension.Gone",
                             "the execution environment is shut down");
    }
    auto it = ext.waiters.insert(ext.waiters.end(), &wake);
    co_await wake.Wait();
    ext.waiters.erase(it);
    wake = http::Event(co_await asio::this_coro::executor);
  }
  ext.busy = true;
  Response res = http::MakeResponse(req, bhttp::status::ok, std::move(ext.events.front()));
  ext.events.pop_front();
  res.set("Lambda-Extension-Event-Identifier", NewRequestId());
  co_return res;
}

// ---------------------------------------------------------------------------
// Invoke and management APIs

// Validates an invocation request and starts it: an answer now (an error,
// a throttle, DryRun, an accepted Event), or the invocation and the
// environment that runs it. `to_caller`: InvokeWithResponseStream.
Task<std::variant<Response, Emulator::Impl::Begun>> Emulator::Impl::BeginInvoke(Function& fn,
                                                                                Request& req,
                                                                                bool to_caller) {
  if (req.body().size() > kMaxPayload) {
    co_return AwsError(req, bhttp::status::payload_too_large, "RequestEntityTooLargeException",
                       fmt::format("Request must be smaller than {} bytes for the InvokeFunction "
                                   "operation",
                                   kMaxPayload));
  }
  std::string type(req["X-Amz-Invocation-Type"]);
  if (type.empty()) type = "RequestResponse";
  if (type != "RequestResponse" && type != "DryRun" && (type != "Event" || to_caller)) {
    co_return InvalidParameter(req, fmt::format("X-Amz-Invocation-Type: expected {}, got \"{}\"",
                                                to_caller ? "RequestResponse or DryRun"
                                                          : "RequestResponse, Event or DryRun",
                                                type));
  }
  if (type == "DryRun") {
    co_return http::MakeResponse(req, bhttp::status::no_content, "", "");
  }
  auto inv = std::make_shared<Invocation>(co_await asio::this_coro::executor);
  inv->id = NewRequestId();
  inv->payload = req.body().empty() ? "{}" : std::move(req.body());
  inv->trace_id = NewTraceId();
  inv->to_caller = to_caller;
  inv->tail = req["X-Amz-Log-Type"] == "Tail";
  if (auto cc = req["X-Amz-Client-Context"]; !cc.empty()) {
    auto decoded = http::Base64Decode(std::string_view(cc.data(), cc.size()));
    if (!decoded) {
      co_return InvalidParameter(req, "X-Amz-Client-Context: expected base64-encoded JSON");
    }
    inv->client_context = *decoded;
  }
  if (type == "Event") {
    fn.event_queue.push_back(inv);
    DrainEvents(fn);
    Response res = http::MakeResponse(req, bhttp::status::accepted, "", "");
    res.set("X-Amzn-RequestId", inv->id);
    co_return res;
  }
  auto acquired = Acquire(fn);
  if (auto* t = std::get_if<Throttle>(&acquired)) {
    ++fn.metrics.throttles;
    co_return AwsError(req, bhttp::status::too_many_requests, "TooManyRequestsException",
                       "Rate Exceeded.", json{{"Reason", t->reason}});
  }
  if (auto* status = std::get_if<Status>(&acquired)) {
    // The function cannot start: as AWS does for a missing bootstrap, a
    // function error, not a service error.
    ++fn.metrics.invocations;
    ++fn.metrics.errors;
    const std::string message = fmt::format("RequestId: {} Error: {}", inv->id, status->message());
    const std::string error_type = status->message().starts_with(kExtensionLaunch)
                                       ? "Extension.LaunchError"
                                       : "Runtime.InvalidEntrypoint";
    Log(fn, message, inv.get());
    inv->body = PlatformError(error_type, message);
    inv->error_type = error_type;
    inv->outcome = Invocation::Outcome::kFunctionError;
    co_return Begun{inv, nullptr};
  }
  auto env = std::get<std::shared_ptr<Environment>>(acquired);
  Assign(fn, env, inv);
  co_return Begun{inv, env};
}

namespace {

// The last 4 KB of an invocation's log, base64, for X-Amz-Log-Type: Tail.
std::string LogTail(std::string_view log) {
  if (log.size() > kTailBytes) log = log.substr(log.size() - kTailBytes);
  return http::Base64Encode(log);
}

}  // namespace

Task<Response> Emulator::Impl::Invoke(Function& fn, Request& req) {
  auto begun = co_await BeginInvoke(fn, req, /*to_caller=*/false);
  if (auto* answer = std::get_if<Response>(&begun)) co_return std::move(*answer);
  const auto [inv, env] = std::get<Begun>(std::move(begun));
  if (env) co_await Run(fn, env, inv);
  Response res = http::MakeResponse(req, bhttp::status::ok, inv->body, inv->content_type);
  res.set("X-Amzn-RequestId", inv->id);
  res.set("X-Amz-Executed-Version", "$LATEST");
  if (inv->outcome != Invocation::Outcome::kSuccess) res.set("X-Amz-Function-Error", "Unhandled");
  if (req["X-Amz-Log-Type"] == "Tail") res.set("X-Amz-Log-Result", LogTail(inv->log));
  co_return res;
}

// InvokeWithResponseStream: POST /2021-11-15/functions/{name}/response-streaming-invocations.
// Errors before the function runs are ordinary AWS error answers; then a
// chunked 200 of application/vnd.amazon.eventstream: a PayloadChunk event
// for each piece of the response as it arrives (the whole response as one
// for a function that does not stream), then InvokeComplete with ErrorCode
// and ErrorDetails for a function error and LogResult for Tail.
Task<bool> Emulator::Impl::InvokeWithResponseStream(http::Exchange& ex) {
  boost::system::error_code ec;
  auto write = [&ex, &ec](Response res) -> Task<bool> {
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && res.keep_alive();
  };
  bhttp::request_parser<bhttp::string_body> parser(std::move(ex.parser));
  parser.body_limit(kMaxPayload + 1024 * 1024);
  if (!parser.is_done()) {
    co_await bhttp::async_read(ex.socket, ex.buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec == bhttp::error::body_limit) {
    Response res =
        AwsError(parser.get(), bhttp::status::payload_too_large, "RequestEntityTooLargeException",
                 fmt::format("Request must be smaller than {} bytes for the "
                             "InvokeWithResponseStream operation",
                             kMaxPayload));
    res.keep_alive(false);
    co_return co_await write(std::move(res));
  }
  if (ec) co_return false;
  Request req = parser.release();
  const PathParts p = Split(std::string_view(req.target().data(), req.target().size()));
  const std::string name = FunctionNameOf(p.size() > 2 ? p[2] : "");
  auto it = functions.find(name);
  if (stopped || it == functions.end()) co_return co_await write(NotFound(req, Arn(name)));
  Function& fn = *it->second;
  auto begun = co_await BeginInvoke(fn, req, /*to_caller=*/true);
  if (auto* answer = std::get_if<Response>(&begun)) co_return co_await write(std::move(*answer));
  const Begun started = std::get<Begun>(std::move(begun));
  const std::shared_ptr<Invocation> inv = started.inv;
  const std::shared_ptr<Environment> env = started.env;
  inv->limit = kMaxStreamedResponse;

  bhttp::response<bhttp::empty_body> head(bhttp::status::ok, req.version());
  head.set(bhttp::field::content_type, "application/vnd.amazon.eventstream");
  head.set("X-Amzn-RequestId", inv->id);
  head.set("X-Amz-Executed-Version", "$LATEST");
  head.keep_alive(req.keep_alive());
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  co_await bhttp::async_write_header(ex.socket, serializer,
                                     asio::redirect_error(asio::use_awaitable, ec));
  // A caller that went away stops getting events; the invocation goes on
  // to its end, as on AWS.
  bool connected = !ec;
  auto send_chunk = [&](std::string_view payload) -> Task<void> {
    if (!connected) co_return;
    const std::string event =
        http::EncodeEvent("PayloadChunk", "application/octet-stream", payload);
    co_await asio::async_write(ex.socket, bhttp::make_chunk(asio::buffer(event)),
                               asio::redirect_error(asio::use_awaitable, ec));
    connected = !ec;
  };
  auto flush = [&]() -> Task<void> {
    while (!inv->pending.empty()) {
      std::string out;
      if (inv->pending.size() <= kMaxEventPayload) {
        out.swap(inv->pending);
      } else {
        out = inv->pending.substr(0, kMaxEventPayload);
        inv->pending.erase(0, kMaxEventPayload);
      }
      co_await send_chunk(out);
    }
  };
  if (env) co_await Run(fn, env, inv, flush);
  co_await flush();
  json complete = json::object();
  if (inv->outcome == Invocation::Outcome::kSuccess) {
    if (!inv->streaming && !inv->body.empty()) co_await send_chunk(inv->body);
  } else {
    complete["ErrorCode"] = inv->error_type.empty() ? "Unhandled" : inv->error_type;
    const json error = json::parse(inv->body, nullptr, false);
    complete["ErrorDetails"] =
        error.is_object() && error.contains("errorMessage") && error["errorMessage"].is_string()
            ? error["errorMessage"].get<std::string>()
            : inv->body;
  }
  if (req["X-Amz-Log-Type"] == "Tail") complete["LogResult"] = LogTail(inv->log);
  if (!connected) co_return false;
  const std::string end = http::EncodeEvent("InvokeComplete", "application/json", complete.dump());
  co_await asio::async_write(ex.socket, bhttp::make_chunk(asio::buffer(end)),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  co_await asio::async_write(ex.socket, bhttp::make_chunk_last(),
                             asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && req.keep_alive();
}

json Emulator::Impl::ConfigurationJson(const Function& fn) const {
  const FunctionConfig& c = fn.config;
  json env = json::object();
  for (const auto& [k, v] : c.environment) env[k] = v;
  return json{{"FunctionName", c.name},
              {"FunctionArn", Arn(c.name)},
              {"Runtime", c.runtime},
              {"Role", fmt::format("arn:aws:iam::{}:role/faultline-local", options.account_id)},
              {"Handler", c.handler},
              {"CodeSize", 0},
              {"Description", ""},
              {"Timeout", c.timeout.count() / 1000},
              {"MemorySize", c.memory_mb},
              {"LastModified", fn.last_modified},
              {"CodeSha256", ""},
              {"Version", "$LATEST"},
              {"Environment", {{"Variables", env}}},
              {"TracingConfig", {{"Mode", "PassThrough"}}},
              {"State", "Active"},
              {"LastUpdateStatus", "Successful"},
              {"PackageType", "Zip"},
              {"Architectures", {"x86_64"}},
              {"EphemeralStorage", {{"Size", 512}}}};
}

Response Emulator::Impl::FunctionConfiguration(const Request& req, const Function& fn,
                                               bhttp::status status) {
  return http::MakeResponse(req, status, ConfigurationJson(fn).dump());
}

Response Emulator::Impl::UpdateConfiguration(const Request& req, Function& fn) {
  json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object()) return InvalidParameter(req, "request body: expected a JSON object");
  FunctionConfig next = fn.config;
  for (const auto& [key, value] : body.items()) {
    if (key == "Timeout" && value.is_number_integer()) {
      next.timeout = std::chrono::seconds(value.get<long>());
    } else if (key == "MemorySize" && value.is_number_integer()) {
      next.memory_mb = value.get<int>();
    } else if (key == "Handler" && value.is_string()) {
      next.handler = value.get<std::string>();
    } else if (key == "Environment" && value.is_object()) {
      next.environment.clear();
      const json& vars = value.contains("Variables") ? value["Variables"] : json::object();
      if (!vars.is_object()) return InvalidParameter(req, "Environment.Variables: expected a map");
      for (const auto& [k, v] : vars.items()) {
        if (!v.is_string()) {
          return InvalidParameter(req, "Environment.Variables." + k + ": expected a string");
        }
        next.environment[k] = v.get<std::string>();
      }
    } else if (key == "Timeout" || key == "MemorySize" || key == "Handler" ||
               key == "Environment") {
      return InvalidParameter(req, key + ": wrong type, got " + value.dump());
    } else if (key != "FunctionName" && key != "RevisionId" && key != "Description") {
      return InvalidParameter(req, key +
                                       ": not supported by the local emulator (supported: "
                                       "Timeout, MemorySize, Handler, Environment)");
    }
  }
  if (Status s = ValidateFunctionConfig(next, options.config.account_concurrency); !s.ok()) {
    return InvalidParameter(req, s.message());
  }
  fn.config = std::move(next);
  ++fn.generation;
  fn.last_modified = IsoNow();
  // New configuration, new environments: idle ones go now, busy ones when done.
  for (auto& env : fn.envs) {
    if (!env->current) {
      StopEnvironment(env, "configuration changed");
    } else {
      env->current->done.Poke();  // Run: a new timeout for a delivery to come
    }
  }
  return FunctionConfiguration(req, fn, bhttp::status::ok);
}

Response Emulator::Impl::PutConcurrency(const Request& req, Function& fn) {
  json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("ReservedConcurrentExecutions") ||
      !body["ReservedConcurrentExecutions"].is_number_integer()) {
    return InvalidParameter(req, "ReservedConcurrentExecutions: expected an integer");
  }
  const long n = body["ReservedConcurrentExecutions"].get<long>();
  int others = 0;
  for (auto& [name, other] : functions) {
    if (other.get() != &fn && other->config.reserved_concurrency) {
      others += *other->config.reserved_concurrency;
    }
  }
  if (n < 0 || n + others > options.config.account_concurrency) {
    return InvalidParameter(
        req, fmt::format("ReservedConcurrentExecutions: expected 0..{} (the account's {} less "
                         "{} reserved by other functions), got {}",
                         options.config.account_concurrency - others,
                         options.config.account_concurrency, others, n));
  }
  fn.config.reserved_concurrency = static_cast<int>(n);
  return http::MakeResponse(req, bhttp::status::ok,
                            json{{"ReservedConcurrentExecutions", n}}.dump());
}

Response Emulator::Impl::MetricsText(const Request& req) const {
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    out += fmt::format("# HELP faultline_lambda_{} {}\n# TYPE faultline_lambda_{} {}\n", name, help,
                       name, type);
    for (const auto& [fname, fn] : functions) {
      out += fmt::format("faultline_lambda_{}{{function=\"{}\"}} {}\n", name, fname, value(*fn));
    }
  };
  family("invocations_total", "counter", "Invocations (Lambda's Invocations metric).",
         [](const Function& f) { return f.metrics.invocations; });
  family("errors_total", "counter", "Invocations that ended in an error.",
         [](const Function& f) { return f.metrics.errors; });
  family("throttles_total", "counter", "Invocations refused with 429.",
         [](const Function& f) { return f.metrics.throttles; });
  family("timeouts_total", "counter", "Invocations that timed out.",
         [](const Function& f) { return f.metrics.timeouts; });
  family("cold_starts_total", "counter", "Execution environments started.",
         [](const Function& f) { return f.metrics.cold_starts; });
  family("concurrent_executions", "gauge", "Invocations running now.",
         [](const Function& f) { return f.metrics.concurrent; });
  out +=
      "# HELP faultline_lambda_duration_ms Duration of the latest invocations.\n"
      "# TYPE faultline_lambda_duration_ms summary\n";
  for (const auto& [fname, fn] : functions) {
    for (double q : {0.5, 0.9, 0.99}) {
      out += fmt::format("faultline_lambda_duration_ms{{function=\"{}\",quantile=\"{}\"}} {:.3f}\n",
                         fname, q, fn->metrics.Percentile(q));
    }
    out += fmt::format("faultline_lambda_duration_ms_count{{function=\"{}\"}} {}\n", fname,
                       fn->metrics.durations.size());
  }
  return http::MakeResponse(req, bhttp::status::ok, out, "text/plain; version=0.0.4");
}

Response Emulator::Impl::MetricsJson(const Request& req) const {
  json out = json::object();
  for (const auto& [name, fn] : functions) {
    const Metrics& m = fn->metrics;
    out[name] = {{"Invocations", m.invocations},
                 {"Errors", m.errors},
                 {"Throttles", m.throttles},
                 {"Timeouts", m.timeouts},
                 {"ColdStarts", m.cold_starts},
                 {"ConcurrentExecutions", m.concurrent},
                 {"MaxConcurrentExecutions", m.max_concurrent},
                 {"Duration",
                  {{"p50", m.Percentile(0.5)},
                   {"p90", m.Percentile(0.9)},
                   {"p99", m.Percentile(0.99)},
                   {"count", m.durations.size()}}}};
  }
  return http::MakeResponse(req, bhttp::status::ok, json{{"functions", out}}.dump());
}

Task<Response> Emulator::Impl::HandleApi(Request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const PathParts p = Split(target.substr(0, target.find('?')));
  const bhttp::verb verb = req.method();
  if (p.size() == 1 && p[0] == "metrics" && verb == bhttp::verb::get) co_return MetricsText(req);
  if (p.size() == 1 && p[0] == "metrics.json" && verb == bhttp::verb::get) {
    co_return MetricsJson(req);
  }
  if (p.size() == 2 && p[0] == "2015-03-31" && p[1] == "functions" && verb == bhttp::verb::get) {
    json list = json::array();
    for (const auto& [name, fn] : functions) list.push_back(ConfigurationJson(*fn));
    co_return http::MakeResponse(req, bhttp::status::ok, json{{"Functions", list}}.dump());
  }
  if (p.size() >= 3 && p[1] == "functions") {
    const std::string name = FunctionNameOf(p[2]);
    auto it = functions.find(name);
    if (it == functions.end()) co_return NotFound(req, Arn(name));
    Function& fn = *it->second;
    const std::string_view version = p[0];
    const std::string_view rest = p.size() == 4 ? p[3] : std::string_view();
    if (p.size() > 4) {
      // fall through to 404 below
    } else if (version == "2015-03-31" && rest == "invocations" && verb == bhttp::verb::post) {
      co_return co_await Invoke(fn, req);
    } else if (version == "2015-03-31" && p.size() == 3 && verb == bhttp::verb::get) {
      json out{{"Configuration", ConfigurationJson(fn)},
               {"Code", {{"RepositoryType", "S3"}, {"Location", ""}}}};
      if (fn.config.reserved_concurrency) {
        out["Concurrency"] = {{"ReservedConcurrentExecutions", *fn.config.reserved_concurrency}};
      }
      co_return http::MakeResponse(req, bhttp::status::ok, out.dump());
    } else if (version == "2015-03-31" && rest == "configuration" && verb == bhttp::verb::get) {
      co_return FunctionConfiguration(req, fn, bhttp::status::ok);
    } else if (version == "2015-03-31" && rest == "configuration" && verb == bhttp::verb::put) {
      co_return UpdateConfiguration(req, fn);
    } else if (version == "2017-10-31" && rest == "concurrency" && verb == bhttp::verb::put) {
      co_return PutConcurrency(req, fn);
    } else if (version == "2017-10-31" && rest == "concurrency" && verb == bhttp::verb::delete_) {
      fn.config.reserved_concurrency.reset();
      co_return http::MakeResponse(req, bhttp::status::no_content, "", "");
    } else if (version == "2019-09-30" && rest == "concurrency" && verb == bhttp::verb::get) {
      json out = json::object();
      if (fn.config.reserved_concurrency) {
        out["ReservedConcurrentExecutions"] = *fn.config.reserved_concurrency;
      }
      co_return http::MakeResponse(req, bhttp::status::ok, out.dump());
    }
  }
  co_return AwsError(req, bhttp::status::not_found, "UnknownOperationException",
                     fmt::format("Unknown operation: {} {}", std::string(req.method_string()),
                                 std::string(target)));
}

// ---------------------------------------------------------------------------

Result<std::unique_ptr<Emulator>> Emulator::Start(asio::io_context& io, EmulatorOptions options) {
  if (Status s = ValidateEmulatorConfig(options.config); !s.ok()) return s;
  auto impl = std::make_shared<Impl>(io, std::move(options));
  const std::string now = IsoNow();
  for (const FunctionConfig& c : impl->options.config.functions) {
    auto fn = std::make_unique<Function>();
    fn->config = c;
    fn->arn = impl->Arn(c.name);
    fn->last_modified = now;
    impl->functions.emplace(c.name, std::move(fn));
  }
  std::weak_ptr<Impl> weak = impl;
  // InvokeWithResponseStream answers as a stream: a stream handler.
  auto streams = [](const bhttp::request_header<>& h) {
    const std::string_view target(h.target().data(), h.target().size());
    const PathParts p = Split(target.substr(0, target.find('?')));
    return h.method() == bhttp::verb::post && p.size() == 4 && p[0] == "2021-11-15" &&
           p[1] == "functions" && p[3] == "response-streaming-invocations";
  };
  auto stream_handler = [weak](http::Exchange& ex) -> Task<bool> {
    auto self = weak.lock();
    if (!self) co_return false;
    co_return co_await self->InvokeWithResponseStream(ex);
  };
  auto server = http::Server::Listen(io,
                                     http::ServerOptions{.host = impl->options.host,
                                                         .port = impl->options.port,
                                                         .body_limit = kMaxPayload + 1024 * 1024,
                                                         .streams = streams,
                                                         .stream_handler = stream_handler},
                                     [weak](Request& req) -> Task<Response> {
                                       auto self = weak.lock();
                                       if (!self)
                                         co_return http::MakeResponse(
                                             req, bhttp::status::service_unavailable, "");
                                       co_return co_await self->HandleApi(req);
                                     });
  if (!server.ok()) return server.status();
  impl->api = std::move(*server);
  impl->Tick();
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

Emulator::~Emulator() {
  Stop();
  impl_->Drain();
}

// After Stop(): lets extensions handle SHUTDOWN (bounded by kStopBudget) when
// the io_context is not running on this thread (its run() has returned, as
// in `faultline lambda serve`); then kills and reaps whatever is left.
void Emulator::Impl::Drain() {
  auto unfinished = [this] {
    for (auto& [name, fn] : functions) {
      for (auto& env : fn->envs) {
        if (!env->killed || env->open_pipes > 0) return true;
      }
    }
    return false;
  };
  const auto deadline = Steady::now() + kStopBudget + std::chrono::milliseconds(200);
  if (!io.get_executor().running_in_this_thread()) {
    if (io.stopped()) io.restart();
    while (unfinished() && Steady::now() < deadline) {
      io.run_one_until(std::min(deadline, Steady::now() + std::chrono::milliseconds(10)));
      for (auto& [name, fn] : functions) {
        for (auto& env : fn->envs) ReapExtensions(env);
      }
    }
  }
  for (auto& [name, fn] : functions) {
    for (auto& env : fn->envs) KillEnvironment(env);
    fn->envs.clear();
  }
}

std::uint16_t Emulator::port() const { return impl_->api->port(); }

void Emulator::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->tick.cancel();
  impl_->api->Stop();
  for (auto& [name, fn] : impl_->functions) {
    for (auto& env : fn->envs) {
      if (env->current) {
        env->current->body = json{{"errorType", "Runtime.ExitError"},
                                  {"errorMessage", "RequestId: " + env->current->id +
                                                       " Error: the emulator is shutting down"}}
                                 .dump();
        env->current->error_type = "Runtime.ExitError";
        impl_->Finish(env, Invocation::Outcome::kExited);
      }
      // SHUTDOWN to the extensions, with a shorter budget; KillEnvironment
      // reaps every process (no zombie is left) when it ends.
      impl_->StopEnvironment(env, "shutdown", kStopBudget);
      if (env->draining && env->shutdown_timer &&
          env->shutdown_timer->expiry() > Steady::now() + kStopBudget) {
        impl_->ArmShutdownTimer(env, Steady::now() + kStopBudget);
      }
      if (env->killed) {
        if (env->process) env->process->Wait();
        for (Process& p : env->extension_processes) p.Wait();
      }
    }
    std::erase_if(fn->envs, [](const auto& env) { return env->killed && env->open_pipes == 0; });
  }
}

}  // namespace faultline::lambda
