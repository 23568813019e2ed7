// The run's phases: chaoslib/run.py Runner._run and its helpers.
#include "experiment/runner.h"

#include <fmt/format.h>

#include <future>
#include <thread>
#include <vector>

#include "experiment/journal.h"
#include "experiment/run_state.h"

namespace faultline::experiment {

using internal::RunState;

namespace {

RunObserver* Quiet() {
  static RunObserver quiet;
  return &quiet;
}

// Python's `in` for the strategies' lists.
bool BeforeMethod(HypothesisStrategy s) {
  return s == HypothesisStrategy::kBeforeMethodOnly || s == HypothesisStrategy::kDefault ||
         s == HypothesisStrategy::kContinuously;
}
bool AfterMethod(HypothesisStrategy s) {
  return s == HypothesisStrategy::kAfterMethodOnly || s == HypothesisStrategy::kDefault ||
         s == HypothesisStrategy::kContinuously;
}
bool DuringMethod(HypothesisStrategy s) {
  return s == HypothesisStrategy::kDuringMethodOnly || s == HypothesisStrategy::kContinuously;
}

bool HasProbes(const json& experiment) {
  const json hypo = experiment.value("steady-state-hypothesis", json(nullptr));
  return hypo.is_object() && hypo.contains("probes") && hypo["probes"].is_array() &&
         !hypo["probes"].empty();
}

// The runtime section's strategy, as chaostoolkit reads it: a runtime
// object present without it means "default".
std::string RuntimeStrategy(const json& experiment, const char* section) {
  const json runtime = experiment.value("runtime", json(nullptr));
  if (!runtime.is_object() || runtime.empty()) return "";
  const json s = runtime.value(section, json::object());
  if (!s.is_object()) return "default";
  const json v = s.value("strategy", json("default"));
  return v.is_string() ? v.get<std::string>() : "default";
}

bool HasStopConditions(const json& experiment) {
  const json x = experiment.value("x-faultline", json::object());
  if (!x.is_object()) return false;
  const json c = x.value("stop-conditions", json::array());
  return c.is_array() && !c.empty();
}

std::chrono::nanoseconds StopPeriod(const json& experiment) {
  const json x = experiment.value("x-faultline", json::object());
  const json f = x.value("stop-condition-frequency", json(1.0));
  const double s = f.is_number() && f.get<double>() > 0 ? f.get<double>() : 1.0;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

std::map<std::string, json> ActivitiesByName(const json& experiment) {
  std::map<std::string, json> by_name;
  auto add = [&by_name](const json& list) {
    if (!list.is_array()) return;
    for (const json& a : list) {
      if (a.is_object() && a.contains("name") && a["name"].is_string()) {
        by_name[a["name"].get<std::string>()] = a;
      }
    }
  };
  add(experiment.value("method", json::array()));
  const json hypo = experiment.value("steady-state-hypothesis", json::object());
  if (hypo.is_object()) add(hypo.value("probes", json::array()));
  return by_name;
}

class RealWaiterImpl final : public Waiter {
 public:
  bool WaitUntil(TimeNs deadline) override {
    std::unique_lock lock(mu_);
    const auto tp = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(deadline)));
    cv_.wait_until(lock, tp, [this] { return cancelled_; });
    return !cancelled_;
  }
  void Cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool cancelled() const override {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  Clock* clock() override { return SystemClock::Default(); }
  std::unique_ptr<Waiter> Make() override { return std::make_unique<RealWaiterImpl>(); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

}  // namespace

std::unique_ptr<Waiter> RealWaiter() { return std::make_unique<RealWaiterImpl>(); }

bool FakeWaiter::WaitUntil(TimeNs deadline) {
  if (cancelled_) return false;
  if (clock_->Now() < deadline) clock_->Set(deadline);
  return !cancelled_;
}

namespace internal {

bool RunState::Stop(std::string_view status, std::string_view message) {
  std::lock_guard lock(mu);
  if (stopping.load()) return false;
  stopping.store(true);
  journal["status"] = std::string(status);
  abort_message = std::string(message);
  return true;
}

std::string RunState::Status() {
  std::lock_guard lock(mu);
  const json& s = journal["status"];
  return s.is_string() ? s.get<std::string>() : "";
}

}  // namespace internal

struct Runner::State {
  RunState run;
  RunOptions options;
  HypothesisStrategy hypothesis = HypothesisStrategy::kDefault;
  RollbackStrategy rollback = RollbackStrategy::kDefault;
  std::unique_ptr<Waiter> own_waiter;
  Waiter* root = nullptr;               // the run's clock and factory
  std::unique_ptr<Waiter> method_wait;  // pauses of the method (fail-fast, interrupt)
  std::unique_ptr<Waiter> during_wait;  // the continuous hypothesis's schedule
  std::unique_ptr<Waiter> rollback_wait;
  std::unique_ptr<Waiter> hypothesis_wait;  // pauses of the before and after checks
  std::unique_ptr<Waiter> stop_wait;        // the stop conditions' schedule
  bool providers_interrupted = false;       // under interrupt_mu
  bool in_rollbacks = false;                // under interrupt_mu
  // An interrupt came while the rollbacks played: the rest are skipped (an
  // interrupt before them leaves them to the strategy, as chaos does).
  std::atomic<bool> stop_rollbacks{false};
  std::unique_ptr<Providers> providers;
  std::mutex interrupt_mu;
  bool interrupted = false;
  bool play_rollbacks_on_interrupt = true;

  void Method();
  // A stop condition fired: the method ends at once, what runs is ended.
  void EndMethodNow();
  void Before(bool* go_on);
  void After();
  void Rollbacks();
  // Plays experiment[key], recording each activity in journal[record].
  void PlayList(const char* key, const char* record, Waiter* waiter, bool stop_on_failure);
  bool ShouldRollBack();
  ProviderResult Provide(const json& activity, const Context& ctx);
  Providers::Options ProviderOptions() const {
    Providers::Options o;
    o.faultline = options.faultline;
    return o;
  }
};

ProviderResult Runner::State::Provide(const json& activity, const Context& ctx) {
  if (options.run_provider) return options.run_provider(activity, ctx);
  return providers->Run(activity, ctx);
}

void Runner::State::PlayList(const char* key, const char* record, Waiter* waiter,
                             bool stop_on_failure) {
  std::vector<std::thread> background;
  const json list = run.experiment.value(key, json::array());
  for (const json& activity : list.is_array() ? list : json::array()) {
    if (stop_on_failure && run.stopping.load()) break;
    if (!stop_on_failure && stop_rollbacks.load()) break;
    if (activity.is_object() && activity.value("background", false) == true) {
      // Started, it records its entry before the next activity starts.
      auto begun = std::make_shared<std::promise<void>>();
      std::future<void> recorded = begun->get_future();
      background.emplace_back([this, activity, waiter, record, begun] {
        internal::PlayActivity(run, activity, waiter, record, [&begun] { begun->set_value(); });
      });
      recorded.wait();
      continue;
    }
    std::optional<json> entry = internal::PlayActivity(run, activity, waiter, record);
    if (entry && stop_on_failure && options.fail_on_action_failure &&
        (*entry)["status"] == "failed" && activity.value("type", "") == "action") {
      if (run.Stop("failed", fmt::format("action '{}' failed (--fail-on-action-failure)",
                                         activity.value("name", "")))) {
        waiter->Cancel();
      }
    }
  }
  for (std::thread& t : background) t.join();
}

void Runner::State::Before(bool* go_on) {
  run.observer->Phase("before");
  json state = internal::CheckHypothesis(run, hypothesis_wait.get());
  std::lock_guard lock(run.mu);
  if (interrupted || run.journal["status"] == "aborted") {
    *go_on = false;
    return;
  }
  run.journal["steady_states"]["before"] = state;
  run.observer->HypothesisChecked("before", state);
  if (state.is_object() && state["steady_state_met"] == false) {
    bool failed = false;
    for (const json& p : state["probes"]) failed = failed || p["status"] != "succeeded";
    run.journal["status"] = failed ? "failed" : "completed";
    *go_on = false;
  }
}

void Runner::State::Method() {
  run.observer->Phase("method");
  std::thread during;
  if (HasProbes(run.experiment) && DuringMethod(hypothesis)) {
    const auto period = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(options.hypothesis_frequency_s));
    during = std::thread([this, period] {
      internal::RunHypothesisContinuously(run, during_wait.get(), period, options.fail_fast,
                                          [this] { method_wait->Cancel(); });
    });
  }
  std::thread stops;
  if (HasStopConditions(run.experiment)) {
    stops = std::thread([this] {
      internal::WatchStopConditions(run, stop_wait.get(), StopPeriod(run.experiment),
                                    [this] { EndMethodNow(); });
    });
  }
  PlayList("method", "run", method_wait.get(), true);
  during_wait->Cancel();
  stop_wait->Cancel();
  if (during.joinable()) during.join();
  if (stops.joinable()) stops.join();
}

void Runner::State::EndMethodNow() {
  method_wait->Cancel();
  std::lock_guard lock(interrupt_mu);
  providers_interrupted = true;
  if (options.interrupt_provider) options.interrupt_provider();
  if (providers) providers->Interrupt();
}

void Runner::State::After() {
  run.observer->Phase("after");
  json state = internal::CheckHypothesis(run, hypothesis_wait.get());
  std::lock_guard lock(run.mu);
  if (interrupted || run.journal["status"] == "aborted") return;
  run.journal["steady_states"]["after"] = state;
  run.observer->HypothesisChecked("after", state);
  if (state.is_object() && state["steady_state_met"] == false) {
    run.journal["deviated"] = true;
    bool failed = false;
    for (const json& p : state["probes"]) failed = failed || p["status"] != "succeeded";
    run.journal["status"] = failed ? "failed" : "completed";
  }
}

bool Runner::State::ShouldRollBack() {
  std::lock_guard lock(run.mu);
  const json& status = run.journal["status"];
  const bool deviated = run.journal["deviated"] == true;
  switch (rollback) {
    case RollbackStrategy::kAlways:
      return true;
    case RollbackStrategy::kNever:
      return false;
    case RollbackStrategy::kDeviated:
      return deviated;
    case RollbackStrategy::kDefault:
      return status != "failed" && status != "interrupted";
  }
  return false;
}

void Runner::State::Rollbacks() {
  if (!ShouldRollBack()) return;
  {
    std::lock_guard lock(interrupt_mu);
    if (interrupted && !play_rollbacks_on_interrupt) return;
    // What an interrupt or a stop condition ended cannot run the
    // rollbacks: fresh providers, and a fresh wait for their pauses.
    if ((interrupted || providers_interrupted) && !options.run_provider) {
      providers = std::make_unique<Providers>(ProviderOptions());
    }
    rollback_wait = root->Make();
    in_rollbacks = true;
  }
  run.observer->Phase("rollbacks");
  PlayList("rollbacks", "rollbacks", rollback_wait.get(), false);
}

Runner::Runner(const Document& doc, RunOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  s.run.experiment = doc.value;
  s.run.dry = s.options.dry;
  s.run.observer = s.options.observer ? s.options.observer : Quiet();
  if (!s.options.waiter) s.own_waiter = RealWaiter();
  s.root = s.options.waiter ? s.options.waiter : s.own_waiter.get();
  s.run.clock = s.root->clock();
  s.method_wait = s.root->Make();
  s.during_wait = s.root->Make();
  s.rollback_wait = s.root->Make();
  s.hypothesis_wait = s.root->Make();
  s.stop_wait = s.root->Make();
  if (!s.options.run_provider) s.providers = std::make_unique<Providers>(s.ProviderOptions());
  s.run.provider = [&s](const json& a, const Context& c) { return s.Provide(a, c); };
  s.run.by_name = ActivitiesByName(s.run.experiment);
  const std::string hs = RuntimeStrategy(doc.value, "hypothesis");
  s.hypothesis = s.options.hypothesis_strategy.value_or(
      ParseHypothesisStrategy(hs).value_or(HypothesisStrategy::kDefault));
  const std::string rs = RuntimeStrategy(doc.value, "rollbacks");
  s.rollback = s.options.rollback_strategy.value_or(
      ParseRollbackStrategy(rs).value_or(RollbackStrategy::kDefault));
}

Runner::~Runner() = default;

json Runner::Run() {
  State& s = *state_;
  const TimeNs started = s.run.clock->Now();
  Result<Context> ctx = ResolveContext(s.run.experiment, s.options.vars, s.options.env,
                                       [&s](const json& activity) -> Result<json> {
                                         ProviderResult r = s.Provide(activity, Context{});
                                         if (!r.ok) return Status::Unavailable(r.error);
                                         return std::move(r.output);
                                       });
  if (ctx.ok()) s.run.ctx = std::move(*ctx);
  json& e = s.run.experiment;
  if (e.contains("title") && e["title"].is_string()) {
    e["title"] = SubstituteString(e["title"].get<std::string>(), s.run.ctx);
  }
  e["dry"] = s.run.dry == Dry::kNone ? json(nullptr) : json(std::string(Name(s.run.dry)));
  s.run.journal = NewJournal(e, started);
  if (!ctx.ok()) {
    s.run.Stop("aborted", ctx.status().message());
  } else {
    bool go_on = true;
    const bool with_ssh = HasProbes(e);
    if (with_ssh && BeforeMethod(s.hypothesis)) s.Before(&go_on);
    if (go_on) {
      s.Method();
      const std::string status = s.run.Status();
      if (with_ssh && status != "interrupted" && status != "aborted" && AfterMethod(s.hypothesis)) {
        s.After();
      }
    }
    s.Rollbacks();
  }
  std::lock_guard lock(s.run.mu);
  json& j = s.run.journal;
  if (!j["status"].is_string()) j["status"] = "completed";
  const TimeNs ended = s.run.clock->Now();
  j["end"] = IsoTime(ended);
  j["duration"] = static_cast<double>(ended - started) / 1e9;
  j["faultline"] = {{"seed", s.options.seed}};
  if (!s.run.stop_checks.empty()) j["faultline"]["stop_conditions"] = s.run.stop_checks;
  if (!s.run.abort_message.empty()) j["faultline"]["reason"] = s.run.abort_message;
  return j;
}

void Runner::Interrupt(std::string why, bool rollbacks) {
  State& s = *state_;
  {
    std::lock_guard lock(s.interrupt_mu);
    s.interrupted = true;
    s.providers_interrupted = true;
    s.play_rollbacks_on_interrupt = rollbacks;
    if (s.in_rollbacks) s.stop_rollbacks.store(true);
    std::lock_guard jl(s.run.mu);
    s.run.stopping.store(true);
    s.run.journal["status"] = "interrupted";
    s.run.abort_message = fmt::format("interrupted by {}", why);
  }
  s.method_wait->Cancel();
  s.during_wait->Cancel();
  s.hypothesis_wait->Cancel();
  s.stop_wait->Cancel();
  std::lock_guard lock(s.interrupt_mu);  // Rollbacks may replace these
  if (s.in_rollbacks) s.rollback_wait->Cancel();
  if (s.options.interrupt_provider) s.options.interrupt_provider();
  if (s.providers) s.providers->Interrupt();
}

int Runner::ExitCode(const json& journal) {
  const bool completed = journal.value("status", "") == "completed";
  const bool deviated = journal.value("deviated", false);
  return completed && !deviated ? 0 : 1;
}

std::string_view Name(Dry d) {
  switch (d) {
    case Dry::kProbes:
      return "probes";
    case Dry::kActions:
      return "actions";
    case Dry::kActivities:
      return "activities";
    case Dry::kPause:
      return "pause";
    case Dry::kNone:
      break;
  }
  return "";
}

std::string_view Name(HypothesisStrategy s) {
  switch (s) {
    case HypothesisStrategy::kBeforeMethodOnly:
      return "before-method-only";
    case HypothesisStrategy::kAfterMethodOnly:
      return "after-method-only";
    case HypothesisStrategy::kDuringMethodOnly:
      return "during-method-only";
    case HypothesisStrategy::kContinuously:
      return "continuously";
    case HypothesisStrategy::kDefault:
      break;
  }
  return "default";
}

std::string_view Name(RollbackStrategy s) {
  switch (s) {
    case RollbackStrategy::kAlways:
      return "always";
    case RollbackStrategy::kNever:
      return "never";
    case RollbackStrategy::kDeviated:
      return "deviated";
    case RollbackStrategy::kDefault:
      break;
  }
  return "default";
}

std::optional<Dry> ParseDry(std::string_view s) {
  for (Dry d : {Dry::kProbes, Dry::kActions, Dry::kActivities, Dry::kPause}) {
    if (Name(d) == s) return d;
  }
  return std::nullopt;
}

std::optional<HypothesisStrategy> ParseHypothesisStrategy(std::string_view s) {
  if (s == "continously") return HypothesisStrategy::kContinuously;
  for (HypothesisStrategy h :
       {HypothesisStrategy::kDefault, HypothesisStrategy::kBeforeMethodOnly,
        HypothesisStrategy::kAfterMethodOnly, HypothesisStrategy::kDuringMethodOnly,
        HypothesisStrategy::kContinuously}) {
    if (Name(h) == s) return h;
  }
  return std::nullopt;
}

std::optional<RollbackStrategy> ParseRollbackStrategy(std::string_view s) {
  for (RollbackStrategy r : {RollbackStrategy::kDefault, RollbackStrategy::kAlways,
                             RollbackStrategy::kNever, RollbackStrategy::kDeviated}) {
    if (Name(r) == s) return r;
  }
  return std::nullopt;
}

}  // namespace faultline::experiment
