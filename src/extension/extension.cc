#include "extension/extension.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "extension/policy.h"
#include "extension/proxy.h"
#include "faultline/compat.h"
#include "faultline/rules.h"
#include "faultline/watch.h"
#include "http/client.h"
#include "http/server.h"

extern char** environ;

namespace faultline::extension {

namespace asio = http::asio;
namespace bhttp = http::bhttp;
using json = nlohmann::json;
using http::Request;
using http::Response;
using http::Task;

namespace {

std::optional<std::uint64_t> ParseUint(std::string_view s, std::uint64_t max) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// "host:port" -> (host, port).
std::optional<std::pair<std::string, std::uint16_t>> SplitHostPort(std::string_view hp) {
  const std::size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = ParseUint(hp.substr(colon + 1), 65535);
  if (!port || *port == 0) return std::nullopt;
  return std::make_pair(std::string(hp.substr(0, colon)), static_cast<std::uint16_t>(*port));
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::map<std::string, std::string> ProcessEnv() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

ExtensionConfig ConfigFromEnv(const std::map<std::string, std::string>& env,
                              std::vector<std::string>* warnings) {
  ExtensionConfig c;
  auto get = [&](const char* name) -> const std::string* {
    auto it = env.find(name);
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
  };
  auto warn = [&](const char* name, const std::string& value, std::string_view expected) {
    warnings->push_back(
        fmt::format("{}: expected {}, got \"{}\"; using the default", name, expected, value));
  };
  if (auto v = get("AWS_LAMBDA_RUNTIME_API")) c.runtime_api = *v;
  if (auto v = get("FAULTLINE_UPSTREAM")) c.upstream = *v;
  if (auto v = get("AWS_LAMBDA_FUNCTION_NAME")) c.function = *v;
  if (auto v = get("FAULTLINE_PROXY_PORT")) {
    if (auto p = ParseUint(*v, 65535)) {
      c.proxy_port = static_cast<std::uint16_t>(*p);
    } else {
      warn("FAULTLINE_PROXY_PORT", *v, "a port 0..65535");
    }
  }
  if (auto v = get("FAULTLINE_CONTROL_PORT")) {
    if (*v == "off") {
      c.control_port.reset();
    } else if (auto p = ParseUint(*v, 65535)) {
      c.control_port = static_cast<std::uint16_t>(*p);
    } else {
      warn("FAULTLINE_CONTROL_PORT", *v, "a port 0..65535 or off");
    }
  }
  if (auto v = get("FAULTLINE_RULES_FILE")) c.rules_file = *v;
  if (auto v = get("FAULTLINE_RULES")) c.rules_text = *v;
  if (auto v = get("FAULTLINE_FAULTS")) c.compact = *v;
  if (auto v = get("FAULTLINE_EMF_NAMESPACE")) c.emf_namespace = *v == "off" ? "" : *v;
  if (auto v = get("FAULTLINE_RUN_DIR")) c.run_dir = *v;
  if (auto v = get("FAULTLINE_DRY_RUN")) c.dry_run = *v == "1" || *v == "true";
  if (auto v = get("FAULTLINE_SEED")) {
    if (auto s = ParseUint(*v, UINT64_MAX)) {
      c.seed = *s;
    } else {
      warn("FAULTLINE_SEED", *v, "an unsigned integer");
    }
  }
  if (auto v = get("FAULTLINE_WATCH_INTERVAL_MS")) {
    if (auto ms = ParseUint(*v, 3'600'000); ms && *ms > 0) {
      c.watch_interval = std::chrono::milliseconds(*ms);
    } else {
      warn("FAULTLINE_WATCH_INTERVAL_MS", *v, "milliseconds in 1..3600000");
    }
  }
  if (auto v = get("FAULTLINE_STARTUP_DELAY")) {
    auto ns = ParseDuration(*v);
    if (ns.ok() && *ns <= std::int64_t{900} * 1'000'000'000) {
      c.startup_delay = std::chrono::milliseconds(*ns / 1'000'000);
    } else {
      warn("FAULTLINE_STARTUP_DELAY", *v, "a duration up to 15m (\"250ms\", \"2s\")");
    }
  }
  for (const auto& [k, v] : env) {
    if (k.starts_with("CHAOS_EXTENSION__")) c.chaos_env[k] = v;
  }
  return c;
}

std::string PortFilePath(const ExtensionConfig& config, std::string_view what) {
  std::string key = config.runtime_api;
  for (char& ch : key) {
    if (ch == ':' || ch == '/') ch = '_';
  }
  return fmt::format("{}/faultline-{}-{}", config.run_dir, what, key);
}

struct Extension::Impl {
  ExtensionConfig config;
  LogFn log_fn;
  std::mutex log_mu;
  // Every rule as loaded (file, environment, control endpoint): GET /rules.
  // It decides nothing; SyncRules copies its rules, split by phase, into
  // the engines that do (policy.h), so neither decision sees the other's.
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Engine> invoke_engine;  // the proxy's: every phase but init
  std::unique_ptr<Engine> init_engine;    // the cold start's: phase init only
  std::mutex sync_mu;                     // one SyncRules at a time
  ActionCounts counts;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread;
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<http::Server> control;
  std::uint16_t proxy_port = 0;
  std::optional<std::uint16_t> control_port;
  std::string extension_id;
  http::Url api;  // the Extensions API (the real runtime API)
  // The rule file: a watcher once the file has loaded; until then, this
  // thread keeps trying (a file that is missing or bad at start may be fixed).
  std::unique_ptr<RuleFileWatcher> watcher;
  std::thread watch_starter;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::vector<std::string> port_files;

  void Log(std::string_view line) {
    std::lock_guard<std::mutex> lock(log_mu);
    if (log_fn) log_fn(line);
  }
  // After every change of engine's rules, from any thread.
  void SyncRules();
  // Counters of every rule, in engine's order, from the engine that decides it.
  std::vector<RuleCounters> Counters() const;
  // An injection carried out outside the proxy (the cold start's): counted
  // and EMF-logged as the proxy's are.
  void CountInjection(Action action, const InitPlan& plan);
  // POST /extension/init/error for an init error rule. REQUIRES: registered.
  // Returns why the extension stops (an Injected status), or the failure.
  Status ReportInitError(const InitPlan& plan);
  void LoadRules();
  void WatchFile();
  Task<Response> Control(Request& req);
  Status WritePortFile(std::string_view what, std::uint16_t port);
};

void Extension::Impl::SyncRules() {
  std::lock_guard<std::mutex> lock(sync_mu);
  const RuleSet all = engine->Rules();
  // Both subsets of rules the engine has accepted: they load.
  if (Status s = invoke_engine->Load(InvocationRules(all)); !s.ok()) Log(s.message());
  if (Status s = init_engine->Load(InitRules(all)); !s.ok()) Log(s.message());
}

std::vector<RuleCounters> Extension::Impl::Counters() const {
  std::map<std::string, RuleCounters> by_name;
  for (const Engine* e : {invoke_engine.get(), init_engine.get()}) {
    for (RuleCounters& c : e->Counters()) by_name[c.name] = std::move(c);
  }
  std::vector<RuleCounters> out;
  for (const Rule& r : engine->Rules().rules) {
    auto it = by_name.find(r.name);
    out.push_back(it != by_name.end() ? it->second : RuleCounters{r.name});
  }
  return out;
}

void Extension::Impl::CountInjection(Action action, const InitPlan& plan) {
  (action == Action::kError ? counts.error : counts.latency).fetch_add(1);
  if (!config.emf_namespace.empty()) {
    Log(EmfLine(config.emf_namespace, config.function, action, plan.rule, NowMs()));
  }
}

Status Extension::Impl::ReportInitError(const InitPlan& plan) {
  CountInjection(Action::kError, plan);
  Request req(bhttp::verb::post, "/2020-01-01/extension/init/error", 11);
  req.set("Lambda-Extension-Identifier", extension_id);
  req.set("Lambda-Extension-Function-Error-Type", plan.error.type);
  req.set(bhttp::field::content_type, "application/json");
  // Not ErrorBody: it would make the type a Function.* one.
  req.body() = json{{"errorMessage", plan.error.message},
                    {"errorType", plan.error.type},
                    {"stackTrace", json::array()}}
                   .dump(-1, ' ', false, json::error_handler_t::replace);
  http::Url url = api;
  url.target = "/2020-01-01/extension/init/error";
  auto res = http::FetchSync(url, std::move(req), std::chrono::seconds(10));
  if (!res.ok()) return res.status().WithContext("init/error");
  if (res->result() != bhttp::status::accepted) {
    return Status::Unavailable(
        fmt::format("init/error: HTTP {}: {}", res->result_int(), res->body().substr(0, 500)));
  }
  return Status::Injected(
      plan.error.type,
      fmt::format("init error injected by rule \"{}\" ({}: {}); the extension exits", plan.rule,
                  plan.error.type, plan.error.message));
}

void Extension::Impl::LoadRules() {
  if (!config.rules_file.empty()) {
    if (!config.rules_text.empty() || !config.compact.empty() || !config.chaos_env.empty()) {
      Log("faultline extension: FAULTLINE_RULES_FILE is set: FAULTLINE_RULES, FAULTLINE_FAULTS "
          "and CHAOS_EXTENSION__* are ignored");
    }
    WatchFile();
    return;
  }
  RuleSet all;
  auto add = [&](Result<RuleSet> r) {
    if (!r.ok()) {
      Log(fmt::format("faultline extension: {} (these rules are not used)", r.status().message()));
      return;
    }
    for (Rule& rule : r->rules) all.rules.push_back(std::move(rule));
  };
  if (!config.compact.empty()) add(ReadCompactRules(config.compact, "FAULTLINE_FAULTS"));
  if (!config.rules_text.empty()) add(ParseRules(config.rules_text, "FAULTLINE_RULES"));
  if (!config.chaos_env.empty())
    add(ReadChaosLambdaExtensionEnv(config.chaos_env, config.function));
  if (all.rules.empty()) return;
  if (Status s = engine->Load(all); !s.ok()) {
    Log(fmt::format("faultline extension: {} (no rules are used)", s.message()));
  }
  SyncRules();
}

void Extension::Impl::WatchFile() {
  auto try_start = [this]() -> bool {
    WatchOptions w;
    w.path = config.rules_file;
    w.engine = engine.get();
    w.interval = config.watch_interval;
    w.on_event = [this](const Status& s) {
      if (s.ok()) SyncRules();
      Log(s.ok() ? fmt::format("faultline extension: rules loaded from {}", config.rules_file)
                 : fmt::format("faultline extension: {} (the previous rules stay)", s.message()));
    };
    auto started = RuleFileWatcher::Start(std::move(w));
    if (!started.ok()) return false;
    SyncRules();
    std::lock_guard<std::mutex> lock(stop_mu);
    watcher = std::move(*started);
    return true;
  };
  if (try_start()) {
    Log(fmt::format("faultline extension: rules loaded from {}", config.rules_file));
    return;
  }
  auto first = LoadRuleFile(config.rules_file);
  Log(fmt::format("faultline extension: {} (no rules until the file is fixed)",
                  first.ok() ? "cannot watch " + config.rules_file : first.status().message()));
  watch_starter = std::thread([this, try_start] {
    std::unique_lock<std::mutex> lock(stop_mu);
    while (!stopping) {
      stop_cv.wait_for(lock, config.watch_interval);
      if (stopping) break;
      lock.unlock();
      const bool ok = try_start();
      lock.lock();
      if (ok) {
        Log(fmt::format("faultline extension: rules loaded from {}", config.rules_file));
        break;
      }
    }
  });
}

// The control endpoint: GET/PUT/DELETE /rules, GET /counters.
Task<Response> Extension::Impl::Control(Request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const auto verb = req.method();
  auto answer = [&](bhttp::status status, const json& body) {
    return http::MakeResponse(req, status,
                              body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  };
  if (target == "/rules" || target == "/faults") {
    if (verb == bhttp::verb::get) {
      co_return http::MakeResponse(req, bhttp::status::ok, ToYaml(engine->Rules()),
                                   "application/yaml");
    }
    if (verb == bhttp::verb::put || verb == bhttp::verb::post) {
      auto parsed = ParseRules(req.body(), fmt::format("PUT {}", target));
      if (!parsed.ok()) {
        co_return answer(bhttp::status::bad_request, {{"message", parsed.status().message()}});
      }
      if (Status s = engine->Load(*parsed); !s.ok()) {
        co_return answer(bhttp::status::bad_request, {{"message", s.message()}});
      }
      SyncRules();
      Log(fmt::format("faultline extension: {} rule(s) loaded through the control endpoint",
                      parsed->rules.size()));
      co_return answer(bhttp::status::ok, {{"rules", parsed->rules.size()}});
    }
    if (verb == bhttp::verb::delete_) {
      engine->Clear();
      SyncRules();
      Log("faultline extension: rules cleared through the control endpoint");
      co_return answer(bhttp::status::ok, {{"rules", 0}});
    }
    co_return answer(bhttp::status::method_not_allowed,
                     {{"message", "use GET, PUT or DELETE on /rules"}});
  }
  if (target == "/counters" && verb == bhttp::verb::get) {
    json rules = json::array();
    for (const RuleCounters& c : Counters()) {
      rules.push_back(json{{"name", c.name},
                           {"matched", c.matched},
                           {"injected", c.injected},
                           {"skipped", c.skipped}});
    }
    json actions = {{"latency", counts.latency.load()},
                    {"error", counts.error.load()},
                    {"status", counts.status.load()},
                    {"body", counts.body.load()},
                    {"timeout", counts.timeout.load()}};
    co_return answer(bhttp::status::ok,
                     {{"function", config.function}, {"rules", rules}, {"actions", actions}});
  }
  co_return answer(bhttp::status::not_found,
                   {{"message", fmt::format("no such endpoint: {} {}",
                                            std::string(req.method_string()), target)},
                    {"endpoints", {"GET /rules", "PUT /rules", "DELETE /rules", "GET /counters"}}});
}

Status Extension::Impl::WritePortFile(std::string_view what, std::uint16_t port) {
  if (config.runtime_api.empty()) return Status::Ok();
  const std::string path = PortFilePath(config, what);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "127.0.0.1:" << port << "\n";
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError("cannot write " + path);
  port_files.push_back(path);
  return Status::Ok();
}

Result<std::unique_ptr<Extension>> Extension::Start(ExtensionConfig config, LogFn log) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->log_fn = std::move(log);
  const ExtensionConfig& c = impl->config;
  const std::string upstream = c.upstream.empty() ? c.runtime_api : c.upstream;
  auto up = SplitHostPort(upstream);
  if (!up) {
    return Status::InvalidArgument(
        fmt::format("the Runtime API to forward to: expected HOST:PORT (AWS_LAMBDA_RUNTIME_API or "
                    "FAULTLINE_UPSTREAM / --upstream), got \"{}\"",
                    upstream));
  }
  if (auto api = SplitHostPort(c.runtime_api)) {
    impl->api = http::Url{api->first, api->second, "/"};
  } else {
    impl->api = http::Url{up->first, up->second, "/"};
  }
  Impl* self = impl.get();
  EngineOptions eo;
  eo.seed = c.seed;
  eo.dry_run = c.dry_run;
  eo.log_sink = [self](std::string_view line) { self->Log(line); };
  impl->engine = std::make_unique<Engine>(eo);
  eo.seed = impl->engine->seed();  // one seed (logged) for every decision
  impl->invoke_engine = std::make_unique<Engine>(eo);
  impl->init_engine = std::make_unique<Engine>(eo);
  impl->LoadRules();

  ProxyOptions po;
  po.port = c.proxy_port;
  po.upstream_host = up->first;
  po.upstream_port = up->second;
  po.engine = impl->invoke_engine.get();
  po.function = c.function;
  po.counts = &impl->counts;
  po.log = [self](std::string_view line) { self->Log(line); };
  if (!c.emf_namespace.empty()) {
    po.on_injection = [self](Action a, std::string_view rule) {
      self->Log(EmfLine(self->config.emf_namespace, self->config.function, a, rule, NowMs()));
    };
  }
  // A busy port (another environment's proxy, when several run on one
  // machine as in the emulator) is no reason to fail the function's init:
  // any free port serves, the port file tells the wrapper which.
  const std::uint16_t wanted_proxy_port = po.port;
  ProxyOptions retry = po;
  auto proxy = Proxy::Start(impl->io, std::move(po));
  if (!proxy.ok() && wanted_proxy_port != 0) {
    impl->Log(fmt::format("faultline extension: {}; using a free port instead",
                          proxy.status().message()));
    retry.port = 0;
    proxy = Proxy::Start(impl->io, std::move(retry));
  }
  if (!proxy.ok()) return proxy.status();
  impl->proxy = std::move(*proxy);
  impl->proxy_port = impl->proxy->port();
  if (c.control_port) {
    http::ServerOptions so;
    so.port = *c.control_port;
    so.body_limit = 1024 * 1024;
    auto control_handler = [self](Request& req) { return self->Control(req); };
    auto control = http::Server::Listen(impl->io, so, control_handler);
    if (!control.ok() && so.port != 0) {
      impl->Log(fmt::format("faultline extension: {}; control endpoint on a free port instead",
                            control.status().message()));
      so.port = 0;
      control = http::Server::Listen(impl->io, std::move(so), control_handler);
    }
    if (control.ok()) {
      impl->control = std::move(*control);
      impl->control_port = impl->control->port();
    } else {
      impl->Log(
          fmt::format("faultline extension: no control endpoint: {}", control.status().message()));
    }
  }
  impl->work.emplace(impl->io.get_executor());
  impl->io_thread = std::thread([self] { self->io.run(); });
  for (auto [what, port] :
       {std::pair<std::string_view, std::optional<std::uint16_t>>{"proxy", impl->proxy_port},
        {"control", impl->control_port}}) {
    if (!port) continue;
    if (Status s = impl->WritePortFile(what, *port); !s.ok()) {
      impl->Log(fmt::format("faultline extension: {}", s.message()));
    }
  }
  impl->Log(fmt::format(
      "faultline extension: proxy on 127.0.0.1:{} -> {}, control on {}, function {}, seed {}",
      impl->proxy_port, upstream,
      impl->control_port ? fmt::format("127.0.0.1:{}", *impl->control_port) : "(off)", c.function,
      impl->engine->seed()));
  return std::unique_ptr<Extension>(new Extension(std::move(impl)));
}

Extension::Extension(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Extension::~Extension() { Stop(); }

Status Extension::Register() {
  Impl& m = *impl_;
  // The cold start is decided once, from the init rules only; the
  // FAULTLINE_STARTUP_DELAY shorthand adds to an init latency rule's delay.
  InitPlan plan = ToInitPlan(m.init_engine->Decide(m.config.function));
  plan.delay += m.config.startup_delay;
  if (plan.delay.count() > 0) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(plan.delay);
    m.Log(fmt::format("faultline extension: startup delay {} ms", ms.count()));
    if (plan.delay > m.config.startup_delay) m.CountInjection(Action::kLatency, plan);
    std::unique_lock<std::mutex> lock(m.stop_mu);
    m.stop_cv.wait_for(lock, ms, [&] { return m.stopping; });
  }
  Request req(bhttp::verb::post, "/2020-01-01/extension/register", 11);
  req.set("Lambda-Extension-Name", m.config.name);
  req.set(bhttp::field::content_type, "application/json");
  req.body() = R"({"events":["INVOKE","SHUTDOWN"]})";
  http::Url url = m.api;
  url.target = "/2020-01-01/extension/register";
  auto res = http::FetchSync(url, std::move(req), std::chrono::seconds(10));
  if (!res.ok()) return res.status().WithContext("register");
  if (res->result() != bhttp::status::ok) {
    return Status::Unavailable(
        fmt::format("register: HTTP {}: {}", res->result_int(), res->body().substr(0, 500)));
  }
  m.extension_id = std::string((*res)["Lambda-Extension-Identifier"]);
  if (m.extension_id.empty()) {
    return Status::Unavailable("register: no Lambda-Extension-Identifier in the answer");
  }
  if (plan.fail) return m.ReportInitError(plan);
  return Status::Ok();
}

Status Extension::RunEvents() {
  Impl& m = *impl_;
  int failures = 0;
  // One kept-alive connection for the loop's lifetime: the poll goes out
  // again while the event is on its way to the runtime, so a new
  // connection (and io_context) per event would compete with it for the
  // CPU. After a failure the client reconnects on the next Send.
  http::KeepAliveClient events(m.api.host, m.api.port);
  Request next(bhttp::verb::get, "/2020-01-01/extension/event/next", 11);
  next.set("Lambda-Extension-Identifier", m.extension_id);
  for (;;) {
    // A long poll: it may rightly wait as long as the environment lives.
    auto res = events.Send(next, http::KeepAliveClient::kNoTimeout);
    if (!res.ok() || res->result() != bhttp::status::ok) {
      if (++failures >= 3) {
        return Status::Unavailable(fmt::format(
            "event/next: {}",
            res.ok() ? fmt::format("HTTP {}: {}", res->result_int(), res->body().substr(0, 300))
                     : res.status().message()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    failures = 0;
    // Only a SHUTDOWN event needs reading (an INVOKE is just acknowledged by
    // the next poll); it cannot be one without the word.
    if (res->body().find("SHUTDOWN") == std::string::npos) continue;
    const json event = json::parse(res->body(), nullptr, false);
    if (event.is_object() && event.value("eventType", "") == "SHUTDOWN") {
      m.Log(fmt::format("faultline extension: shutdown ({})", event.value("shutdownReason", "")));
      return Status::Ok();
    }
  }
}

void Extension::Stop() {
  if (!impl_) return;
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.stop_mu);
    if (m.stopping) return;
    m.stopping = true;
  }
  m.stop_cv.notify_all();
  if (m.watch_starter.joinable()) m.watch_starter.join();
  m.watcher.reset();
  for (const std::string& f : m.port_files) std::remove(f.c_str());
  asio::post(m.io, [&m] {
    m.proxy->Stop();
    if (m.control) m.control->Stop();
    m.work.reset();
    m.io.stop();  // long polls still wait upstream: abandon them
  });
  if (m.io_thread.joinable()) m.io_thread.join();
}

std::uint16_t Extension::proxy_port() const { return impl_->proxy_port; }
std::optional<std::uint16_t> Extension::control_port() const { return impl_->control_port; }
Engine& Extension::engine() { return *impl_->engine; }

}  // namespace faultline::extension
