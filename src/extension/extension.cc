#include "extension/extension.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
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

// Rule sets put through the control endpoint: larger bodies get 413.
constexpr std::uint64_t kControlBodyLimit = 1024 * 1024;

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

std::string PortFileName(const ExtensionConfig& config, std::string_view what) {
  std::string key = config.runtime_api.empty() ? config.upstream : config.runtime_api;
  for (char& ch : key) {
    if (ch == ':' || ch == '/') ch = '_';
  }
  return fmt::format("faultline-{}-{}", what, key);
}

std::string PortFilePath(const ExtensionConfig& config, std::string_view what) {
  return fmt::format("{}/{}", config.run_dir, PortFileName(config, what));
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
  // Where the port and token files go; null when the directory was refused.
  std::unique_ptr<RunDir> run_dir;
  std::vector<std::string> written;  // names in run_dir, removed at Stop
  std::string token;                 // of the control endpoint; empty: none

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
  // Logs each rule of `source` that is loaded already expired.
  void LogExpired(std::string_view source);
  // The run directory and the control token; false when there can be no
  // control endpoint (logged).
  bool PrepareFiles();
  void StartControl();
  // Whether `req` carries the control token.
  bool Authorized(const Request& req) const;
  Task<Response> Control(Request& req);
  Response PutRules(Request& req, std::string_view target);
  json CountersJson() const;
  Status WriteFile(std::string_view what, std::string_view content);
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
  if (!config.chaos_env.empty()) {
    std::vector<std::string> warnings;
    add(ReadChaosLambdaExtensionEnv(config.chaos_env, config.function, &warnings));
    for (const std::string& w : warnings) Log("faultline extension: " + w);
  }
  if (all.rules.empty()) return;
  if (Status s = engine->Load(all); !s.ok()) {
    Log(fmt::format("faultline extension: {} (no rules are used)", s.message()));
  }
  SyncRules();
  LogExpired("the environment");
}

void Extension::Impl::LogExpired(std::string_view source) {
  const TimeNs now = engine->clock()->Now();
  for (const Rule& r : engine->Rules().rules) {
    if (std::string note = ExpiredNote(r, now); !note.empty()) {
      Log(fmt::format("faultline extension: rule \"{}\" of {}: {}; it is not applied", r.name,
                      source, note));
    }
  }
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
      if (s.ok()) LogExpired(config.rules_file);
    };
    auto started = RuleFileWatcher::Start(std::move(w));
    if (!started.ok()) return false;
    SyncRules();
    LogExpired(config.rules_file);
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

bool Extension::Impl::Authorized(const Request& req) const {
  const auto header = req[bhttp::field::authorization];
  const auto given = BearerToken(std::string_view(header.data(), header.size()));
  return given && TokenEquals(*given, token);
}

Response Extension::Impl::PutRules(Request& req, std::string_view target) {
  auto answer = [&](bhttp::status status, const json& body) {
    return http::MakeResponse(req, status,
                              body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  };
  const std::string source = fmt::format("PUT {}", target);
  auto parsed = ParseRules(req.body(), source);
  if (!parsed.ok()) {
    return answer(bhttp::status::bad_request, {{"message", parsed.status().message()}});
  }
  // A ttl counts from now, in this process and in every engine loaded from
  // these rules; rules already expired (an armed_at or expires_at in the
  // past) are refused rather than kept as dead rules.
  const TimeNs now = engine->clock()->Now();
  ArmRules(&*parsed, now);
  Status s = CheckNotExpired(*parsed, now, source);
  if (s.ok()) s = engine->Load(*parsed);
  if (!s.ok()) return answer(bhttp::status::bad_request, {{"message", s.message()}});
  SyncRules();
  Log(fmt::format("faultline extension: {} rule(s) loaded through the control endpoint",
                  parsed->rules.size()));
  return answer(bhttp::status::ok, {{"rules", parsed->rules.size()}});
}

json Extension::Impl::CountersJson() const {
  const TimeNs now = engine->clock()->Now();
  const RuleSet all = engine->Rules();
  json rules = json::array();
  std::size_t i = 0;
  for (const RuleCounters& c : Counters()) {
    json one = {
        {"name", c.name}, {"matched", c.matched}, {"injected", c.injected}, {"skipped", c.skipped}};
    if (i < all.rules.size()) {
      const Rule& r = all.rules[i++];
      if (auto at = ExpiryOf(r, now)) {
        one["expires_at"] = FormatTimestamp(*at);
        one["expired"] = now >= *at;
      }
    }
    rules.push_back(std::move(one));
  }
  json actions = {{"latency", counts.latency.load()},
                  {"error", counts.error.load()},
                  {"status", counts.status.load()},
                  {"body", counts.body.load()},
                  {"timeout", counts.timeout.load()}};
  return {{"function", config.function}, {"rules", rules}, {"actions", actions}};
}

// The control endpoint: GET/PUT/DELETE /rules, GET /counters; every request
// with the token.
Task<Response> Extension::Impl::Control(Request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const auto verb = req.method();
  auto answer = [&](bhttp::status status, const json& body) {
    return http::MakeResponse(req, status,
                              body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  };
  if (!Authorized(req)) {
    Response res =
        answer(bhttp::status::unauthorized,
               {{"message",
                 fmt::format("the control endpoint needs its token: send \"Authorization: Bearer "
                             "<token>\", the token being in {} (readable only by the extension's "
                             "user; `faultline faults list|set|clear` find it there)",
                             run_dir ? run_dir->PathOf(PortFileName(config, "token"))
                                     : PortFilePath(config, "token"))}});
    res.set(bhttp::field::www_authenticate, "Bearer realm=\"faultline\"");
    co_return res;
  }
  if (target == "/rules" || target == "/faults") {
    if (verb == bhttp::verb::get) {
      co_return http::MakeResponse(req, bhttp::status::ok,
                                   ToYaml(engine->Rules(), engine->clock()->Now()),
                                   "application/yaml");
    }
    if (verb == bhttp::verb::put || verb == bhttp::verb::post) co_return PutRules(req, target);
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
    co_return answer(bhttp::status::ok, CountersJson());
  }
  co_return answer(bhttp::status::not_found,
                   {{"message", fmt::format("no such endpoint: {} {}",
                                            std::string(req.method_string()), target)},
                    {"endpoints", {"GET /rules", "PUT /rules", "DELETE /rules", "GET /counters"}}});
}

Status Extension::Impl::WriteFile(std::string_view what, std::string_view content) {
  if (!run_dir) return Status::Ok();
  const std::string name = PortFileName(config, what);
  if (Status s = run_dir->WriteFile(name, content); !s.ok()) return s;
  written.push_back(name);
  return Status::Ok();
}

bool Extension::Impl::PrepareFiles() {
  auto dir = RunDir::Open(config.run_dir);
  if (!dir.ok()) {
    Log(fmt::format(
        "faultline extension: {}; no port or token file is written, so the wrapper starts the "
        "runtime unproxied and there is no control endpoint (FAULTLINE_RUN_DIR must be a "
        "directory of this user that others cannot write to)",
        dir.status().message()));
    return false;
  }
  run_dir = std::move(*dir);
  if (!config.control_port) return false;
  auto t = NewToken();
  Status s = t.ok() ? WriteFile("token", *t + "\n") : t.status();
  if (!s.ok()) {
    Log(fmt::format("faultline extension: no control endpoint: its token: {}", s.message()));
    return false;
  }
  token = std::move(*t);
  return true;
}

// The control endpoint, on a free port if its own is busy. Bodies (rule
// sets) are limited to kControlBodyLimit.
void Extension::Impl::StartControl() {
  http::ServerOptions so;
  so.port = *config.control_port;
  so.body_limit = kControlBodyLimit;
  so.too_large = [](const Request& req) {
    return http::MakeResponse(
        req, bhttp::status::payload_too_large,
        json{{"message", fmt::format("{} {}: the body is over the limit of {} bytes (1 MiB)",
                                     std::string(req.method_string()), std::string(req.target()),
                                     kControlBodyLimit)}}
                .dump() +
            "\n");
  };
  auto handler = [this](Request& req) { return Control(req); };
  auto listening = http::Server::Listen(io, so, handler);
  if (!listening.ok() && so.port != 0) {
    Log(fmt::format("faultline extension: {}; control endpoint on a free port instead",
                    listening.status().message()));
    so.port = 0;
    listening = http::Server::Listen(io, std::move(so), handler);
  }
  if (!listening.ok()) {
    Log(fmt::format("faultline extension: no control endpoint: {}", listening.status().message()));
    return;
  }
  control = std::move(*listening);
  control_port = control->port();
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
  // The token file is written before the control endpoint listens, and
  // its port file after: whoever finds the port file finds the token.
  if (impl->PrepareFiles()) impl->StartControl();
  impl->work.emplace(impl->io.get_executor());
  impl->io_thread = std::thread([self] { self->io.run(); });
  for (auto [what, port] :
       {std::pair<std::string_view, std::optional<std::uint16_t>>{"proxy", impl->proxy_port},
        {"control", impl->control_port}}) {
    if (!port) continue;
    if (Status s = impl->WriteFile(what, fmt::format("127.0.0.1:{}\n", *port)); !s.ok()) {
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
  for (const std::string& name : m.written) m.run_dir->Remove(name);
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
const std::string& Extension::control_token() const { return impl_->token; }
Engine& Extension::engine() { return *impl_->engine; }

}  // namespace faultline::extension
