// The Extensions API 2020-01-01, on the same port as each environment's
// Runtime API.
//
//   register ----> ready (first event/next) ----> INVOKE / SHUTDOWN events
//
// Init ends when the runtime and every extension have called next (and every
// configured external extension has registered); an invocation is complete
// when the runtime has answered and every extension has called event/next
// after its INVOKE event.
#include <fmt/format.h>

#include <cctype>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

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

void Platform::MaybeInitDone(Environment& env) {
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

Task<Response> Platform::HandleExtension(std::shared_ptr<Environment> env, Request& req,
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
  co_return ExtensionInitError(env, ext, req, type);
}

// POST /extension/init/error: as the runtime's init/error, the environment
// fails to start, and the invocation with AWS's Extension.InitError (the
// extension's own type is in the message and the log).
Response Platform::ExtensionInitError(const std::shared_ptr<Environment>& env, Extension& ext,
                                      const Request& req, const std::string& type) {
  if (env->init_ms || ext.ready) {
    return RuntimeError(req, bhttp::status::forbidden, "Extension.InvalidExtensionState",
                        fmt::format("State transition from Ready to InitError failed for "
                                    "extension {}",
                                    ext.id));
  }
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
  return Accepted(req);
}

Response Platform::RegisterExtension(const std::shared_ptr<Environment>& env_ptr,
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
  ext->id = NewRequestId(rng);
  ext->name = name;
  const FunctionConfig& c = *env.config;
  Response res = http::MakeResponse(
      req, bhttp::status::ok,
      json{{"functionName", c.name}, {"functionVersion", env.version}, {"handler", c.handler}}
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
Task<Response> Platform::NextEvent(std::shared_ptr<Environment> env, Extension& ext, Request& req) {
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
  res.set("Lambda-Extension-Event-Identifier", NewRequestId(rng));
  co_return res;
}

}  // namespace faultline::lambda
