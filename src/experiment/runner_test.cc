// The runner's decisions (statuses, deviated, which phases and rollbacks
// run, fail-fast, the continuous schedule) with a provider seam and a fake
// clock: no process, no sleep. The providers themselves are tested with
// real processes, servers and python in provider_test.cc, and whole runs
// against the real `chaos` in tests/experiment/.
#include "experiment/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

#include "experiment/run_state.h"

namespace faultline::experiment {
namespace {

using ::testing::ElementsAre;

// A provider whose probes answer from a script: each activity's name maps to
// the outputs of its successive calls (the last one repeats); a name in
// `fail` fails. Every call is recorded with the clock's time.
struct ScriptedProvider {
  FakeClock* clock;
  std::map<std::string, std::vector<json>> outputs;
  std::set<std::string> fail;
  std::map<std::string, std::chrono::nanoseconds> takes;  // advances the clock
  std::mutex mu;
  std::vector<std::string> calls;
  std::vector<TimeNs> times;
  std::map<std::string, size_t> count;

  ProviderResult operator()(const json& activity, const Context&) {
    const std::string name = activity.value("name", "");
    std::unique_lock lock(mu);
    calls.push_back(name);
    times.push_back(clock->Now());
    const size_t n = count[name]++;
    const auto it = outputs.find(name);
    const json out = it == outputs.end() || it->second.empty()
                         ? json(nullptr)
                         : it->second[std::min(n, it->second.size() - 1)];
    lock.unlock();
    if (const auto t = takes.find(name); t != takes.end()) clock->Advance(t->second);
    if (fail.contains(name)) return {false, nullptr, "boom", {}};
    return {true, out, "", {}};
  }
};

json Probe(const std::string& name, json tolerance) {
  return {{"type", "probe"},
          {"name", name},
          {"tolerance", tolerance},
          {"provider", {{"type", "process"}, {"path", "true"}}}};
}
json Action(const std::string& name) {
  return {
      {"type", "action"}, {"name", name}, {"provider", {{"type", "process"}, {"path", "true"}}}};
}

Document Experiment(json probes, json method, json rollbacks = json::array()) {
  Document d;
  d.source = "test.json";
  d.value = {{"title", "t"}, {"description", "d"}};
  if (!probes.empty()) d.value["steady-state-hypothesis"] = {{"title", "h"}, {"probes", probes}};
  d.value["method"] = method;
  d.value["rollbacks"] = rollbacks;
  return d;
}

class RunnerTest : public ::testing::Test {
 protected:
  json Run(const Document& doc, RunOptions o = {}) {
    o.run_provider = [this](const json& a, const Context& c) { return provider_(a, c); };
    o.waiter = &waiter_;
    o.env = [](const std::string&) { return std::nullopt; };
    Runner runner(doc, std::move(o));
    return runner.Run();
  }
  FakeClock clock_;
  FakeWaiter waiter_{&clock_};
  ScriptedProvider provider_{&clock_};
};

TEST_F(RunnerTest, MetHypothesisCompletesAndRollsBack) {
  provider_.outputs["p"] = {true};
  json j = Run(Experiment({Probe("p", true)}, {Action("a")}, {Action("r")}));
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["deviated"], false);
  EXPECT_EQ(Runner::ExitCode(j), 0);
  EXPECT_THAT(provider_.calls, ElementsAre("p", "a", "p", "r"));
  EXPECT_EQ(j["steady_states"]["before"]["steady_state_met"], true);
  EXPECT_EQ(j["steady_states"]["after"]["probes"][0]["tolerance_met"], true);
  EXPECT_EQ(j["run"][0]["status"], "succeeded");
  EXPECT_EQ(j["rollbacks"][0]["activity"]["name"], "r");
  EXPECT_EQ(j["experiment"]["dry"], nullptr);
}

TEST_F(RunnerTest, GateNotMetSkipsTheMethodButStillRollsBack) {
  provider_.outputs["p"] = {false};
  json j = Run(Experiment({Probe("p", true)}, {Action("a")}, {Action("r")}));
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["deviated"], false);
  EXPECT_EQ(Runner::ExitCode(j), 0);
  EXPECT_THAT(provider_.calls, ElementsAre("p", "r"));
  EXPECT_TRUE(j["steady_states"]["after"].is_null());
}

TEST_F(RunnerTest, AFailingGateProbeFailsTheRunAndSkipsDefaultRollbacks) {
  provider_.fail = {"p"};
  json j = Run(Experiment({Probe("p", true)}, {Action("a")}, {Action("r")}));
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(Runner::ExitCode(j), 1);
  EXPECT_THAT(provider_.calls, ElementsAre("p"));
  EXPECT_EQ(j["steady_states"]["before"]["probes"][0]["tolerance_met"], false);
  EXPECT_EQ(j["steady_states"]["before"]["probes"][0]["exception"].back(),
            "chaoslib.exceptions.ActivityFailed: boom\n");
}

TEST_F(RunnerTest, AlwaysRollsBackAfterAFailure) {
  provider_.fail = {"p"};
  RunOptions o;
  o.rollback_strategy = RollbackStrategy::kAlways;
  json j = Run(Experiment({Probe("p", true)}, {Action("a")}, {Action("r")}), std::move(o));
  EXPECT_EQ(j["status"], "failed");
  EXPECT_THAT(provider_.calls, ElementsAre("p", "r"));
}

TEST_F(RunnerTest, AfterNotMetDeviates) {
  provider_.outputs["p"] = {true, false};
  json j = Run(Experiment({Probe("p", true)}, {Action("a")}, {Action("r")}));
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["deviated"], true);
  EXPECT_EQ(Runner::ExitCode(j), 1);
  EXPECT_THAT(provider_.calls, ElementsAre("p", "a", "p", "r"));
}

TEST_F(RunnerTest, DeviatedStrategyRollsBackOnlyWhenDeviated) {
  provider_.outputs["p"] = {true};
  RunOptions o;
  o.rollback_strategy = RollbackStrategy::kDeviated;
  Run(Experiment({Probe("p", true)}, {Action("a")}, {Action("r")}), std::move(o));
  EXPECT_THAT(provider_.calls, ElementsAre("p", "a", "p"));
}

TEST_F(RunnerTest, AFailedActionIsRecordedAndTheMethodGoesOn) {
  provider_.fail = {"a"};
  json j = Run(Experiment({}, {Action("a"), Action("b")}));
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(Runner::ExitCode(j), 0);
  EXPECT_EQ(j["run"][0]["status"], "failed");
  EXPECT_TRUE(j["run"][0]["output"].is_null());
  EXPECT_THAT(provider_.calls, ElementsAre("a", "b"));
}

TEST_F(RunnerTest, FailOnActionFailureEndsTheMethod) {
  provider_.fail = {"a"};
  RunOptions o;
  o.fail_on_action_failure = true;
  json j = Run(Experiment({}, {Action("a"), Action("b")}, {Action("r")}), std::move(o));
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(Runner::ExitCode(j), 1);
  EXPECT_THAT(provider_.calls, ElementsAre("a"));
}

TEST_F(RunnerTest, PausesAreOutsideTheDurationAndDryPauseSkipsThem) {
  json a = Action("a");
  a["pauses"] = {{"before", 5}, {"after", 2}};
  provider_.takes["a"] = std::chrono::milliseconds(250);
  const TimeNs t0 = clock_.Now();
  json j = Run(Experiment({}, {a}));
  EXPECT_EQ(j["run"][0]["duration"], 0.25);
  EXPECT_EQ(clock_.Now() - t0, 7'250'000'000);
  RunOptions o;
  o.dry = Dry::kPause;
  const TimeNs t1 = clock_.Now();
  j = Run(Experiment({}, {a}), std::move(o));
  EXPECT_EQ(clock_.Now() - t1, 250'000'000);
  EXPECT_EQ(j["experiment"]["dry"], "pause");
}

TEST_F(RunnerTest, DryActionsRecordsActionsWithoutRunningThem) {
  RunOptions o;
  o.dry = Dry::kActions;
  json j = Run(Experiment({}, {Action("a")}), std::move(o));
  EXPECT_TRUE(provider_.calls.empty());
  EXPECT_EQ(j["run"][0]["status"], "succeeded");
}

TEST_F(RunnerTest, ABackgroundActivityIsRecordedAtItsStartAndAwaited) {
  json bg = Action("bg");
  bg["background"] = true;
  json j = Run(Experiment({}, {bg, Action("fg")}));
  ASSERT_EQ(j["run"].size(), 2u);
  std::set<std::string> names;
  for (const json& r : j["run"]) {
    names.insert(r["activity"]["name"].get<std::string>());
    EXPECT_EQ(r["status"], "succeeded");
  }
  EXPECT_EQ(names, (std::set<std::string>{"bg", "fg"}));
}

TEST_F(RunnerTest, ARefPlaysTheActivityItNames) {
  json j = Run(Experiment({}, {Action("a")}, {{{"ref", "a"}}}));
  EXPECT_THAT(provider_.calls, ElementsAre("a", "a"));
  EXPECT_EQ(j["rollbacks"][0]["activity"]["name"], "a");
}

TEST_F(RunnerTest, ARefToNothingAbortsTheRun) {
  json j = Run(Experiment({}, {{{"ref", "nope"}}, Action("b")}));
  EXPECT_EQ(j["status"], "aborted");
  EXPECT_THAT(j["faultline"]["reason"].get<std::string>(), ::testing::HasSubstr("'nope'"));
  EXPECT_TRUE(provider_.calls.empty());
}

TEST_F(RunnerTest, TheRuntimeSectionChoosesTheStrategies) {
  provider_.fail = {"p"};
  Document d = Experiment({Probe("p", true)}, {Action("a")}, {Action("r")});
  d.value["runtime"] = {{"rollbacks", {{"strategy", "always"}}}};
  Run(d);
  EXPECT_THAT(provider_.calls, ElementsAre("p", "r"));
}

// The continuous hypothesis on its own: a strict grid, whatever a check takes.
class ContinuousTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_.experiment = Experiment({Probe("p", true)}, json::array()).value;
    run_.clock = &clock_;
    static RunObserver quiet;
    run_.observer = &quiet;
    run_.journal = {{"status", nullptr}, {"steady_states", {{"during", json::array()}}}};
    run_.provider = [this](const json& a, const Context& c) { return provider_(a, c); };
  }
  FakeClock clock_;
  FakeWaiter waiter_{&clock_};
  ScriptedProvider provider_{&clock_};
  internal::RunState run_;
};

TEST_F(ContinuousTest, ChecksStartOnAGridThatDoesNotDrift) {
  provider_.outputs["p"] = {true, true, true, false};
  provider_.takes["p"] = std::chrono::milliseconds(300);
  bool cut = false;
  const TimeNs t0 = clock_.Now();
  internal::RunHypothesisContinuously(run_, &waiter_, std::chrono::seconds(1), true,
                                      [&cut] { cut = true; });
  EXPECT_TRUE(cut);
  EXPECT_EQ(run_.journal["status"], "failed");
  ASSERT_EQ(provider_.times.size(), 4u);
  for (size_t k = 0; k < 4; ++k) EXPECT_EQ(provider_.times[k] - t0, k * 1'000'000'000LL) << k;
  EXPECT_EQ(run_.journal["steady_states"]["during"].size(), 4u);
}

TEST_F(ContinuousTest, ACheckThatOverrunsSkipsToTheNextSlot) {
  provider_.outputs["p"] = {true, true, false};
  provider_.takes["p"] = std::chrono::milliseconds(1500);
  const TimeNs t0 = clock_.Now();
  internal::RunHypothesisContinuously(run_, &waiter_, std::chrono::seconds(1), true, [] {});
  ASSERT_EQ(provider_.times.size(), 3u);
  EXPECT_EQ(provider_.times[1] - t0, 2'000'000'000);
  EXPECT_EQ(provider_.times[2] - t0, 4'000'000'000);
}

TEST_F(ContinuousTest, WithoutFailFastADeviationIsRecordedAndChecksGoOn) {
  provider_.outputs["p"] = {false};
  int checks = 0;
  run_.observer = nullptr;
  struct Counter : RunObserver {
    int* n;
    Waiter* w;
    void HypothesisChecked(std::string_view, const json&) override {
      if (++*n == 3) w->Cancel();
    }
  } counter;
  counter.n = &checks;
  counter.w = &waiter_;
  run_.observer = &counter;
  internal::RunHypothesisContinuously(run_, &waiter_, std::chrono::seconds(1), false, [] {});
  EXPECT_EQ(checks, 3);
  EXPECT_TRUE(run_.journal["status"].is_null());
}

// A waiter that really blocks until it is cancelled (or 10 s pass): the
// method's pause, which the continuous hypothesis's fail-fast must cut short.
class BlockingWaiter final : public Waiter {
 public:
  explicit BlockingWaiter(FakeClock* c) : clock_(c) {}
  bool WaitUntil(TimeNs) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return cancelled_; });
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
  Clock* clock() override { return clock_; }
  std::unique_ptr<Waiter> Make() override;

 private:
  FakeClock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

// The root hands the method a blocking waiter and everything else a fake
// one that moves the clock.
class SplitWaiter final : public Waiter {
 public:
  explicit SplitWaiter(FakeClock* c) : clock_(c), fake_(c) {}
  bool WaitUntil(TimeNs d) override { return fake_.WaitUntil(d); }
  void Cancel() override { fake_.Cancel(); }
  bool cancelled() const override { return fake_.cancelled(); }
  Clock* clock() override { return clock_; }
  std::unique_ptr<Waiter> Make() override {
    if (made_++ == 0) return std::make_unique<BlockingWaiter>(clock_);  // method_wait
    return std::make_unique<FakeWaiter>(clock_);
  }

 private:
  FakeClock* clock_;
  FakeWaiter fake_;
  int made_ = 0;
};

std::unique_ptr<Waiter> BlockingWaiter::Make() { return std::make_unique<BlockingWaiter>(clock_); }

TEST_F(RunnerTest, FailFastCutsAPauseShortAndNoFurtherActivityStarts) {
  provider_.outputs["p"] = {true, true, false, false};
  json slow = Action("slow");
  slow["pauses"] = {{"after", 3600}};
  RunOptions o;
  o.hypothesis_strategy = HypothesisStrategy::kContinuously;
  o.fail_fast = true;
  o.run_provider = [this](const json& a, const Context& c) { return provider_(a, c); };
  SplitWaiter split(&clock_);
  o.waiter = &split;
  o.env = [](const std::string&) { return std::nullopt; };
  Runner runner(Experiment({Probe("p", true)}, {slow, Action("next")}, {Action("r")}),
                std::move(o));
  json j = runner.Run();
  // before (met), during: met, deviated -> fail-fast; after: deviated again.
  EXPECT_EQ(std::count(provider_.calls.begin(), provider_.calls.end(), "next"), 0);
  EXPECT_EQ(j["deviated"], true);
  EXPECT_EQ(j["status"], "completed");  // the after-hypothesis decides, as chaos
  EXPECT_EQ(j["steady_states"]["during"].back()["steady_state_met"], false);
  EXPECT_EQ(std::count(provider_.calls.begin(), provider_.calls.end(), "r"), 1);
}

TEST_F(RunnerTest, AStopConditionThatFailsAbortsTheMethodAtOnceAndRollsBack) {
  provider_.outputs["p"] = {true};
  provider_.outputs["throttles"] = {0, 0, 12};
  json slow = Action("slow");
  slow["pauses"] = {{"after", 3600}};
  Document d = Experiment({Probe("p", true)}, {slow, Action("next")}, {Action("r")});
  json condition = Probe("throttles", {{"type", "range"}, {"range", {0, 5}}});
  d.value["x-faultline"] = {{"stop-conditions", {condition}}, {"stop-condition-frequency", 0.5}};
  RunOptions o;
  o.run_provider = [this](const json& a, const Context& c) { return provider_(a, c); };
  bool interrupted = false;
  o.interrupt_provider = [&interrupted] { interrupted = true; };
  SplitWaiter split(&clock_);
  o.waiter = &split;
  o.env = [](const std::string&) { return std::nullopt; };
  Runner runner(d, std::move(o));
  json j = runner.Run();
  EXPECT_EQ(j["status"], "aborted");
  EXPECT_THAT(j["faultline"]["reason"].get<std::string>(),
              ::testing::HasSubstr("stop condition 'throttles' was not met"));
  EXPECT_TRUE(interrupted) << "what runs is ended";
  EXPECT_EQ(std::count(provider_.calls.begin(), provider_.calls.end(), "next"), 0);
  EXPECT_TRUE(j["steady_states"]["after"].is_null());
  EXPECT_EQ(std::count(provider_.calls.begin(), provider_.calls.end(), "r"), 1);
  ASSERT_EQ(j["faultline"]["stop_conditions"].size(), 3u);
  EXPECT_EQ(j["faultline"]["stop_conditions"][2]["tolerance_met"], false);
  EXPECT_EQ(j["faultline"]["stop_conditions"][2]["output"], 12);
  EXPECT_EQ(Runner::ExitCode(j), 1);
}

// A provider whose "hold" blocks until interrupt_provider is called, as a
// process runs until the interrupt kills it.
struct HoldingProvider {
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false, released = false;
  std::vector<std::string> calls;
  ProviderResult operator()(const json& a, const Context&) {
    std::unique_lock lock(mu);
    calls.push_back(a.value("name", ""));
    if (a.value("name", "") != "hold") return {true, nullptr, "", {}};
    holding = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [this] { return released; });
    return {false, nullptr, "killed", {}};
  }
  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
};

json RunInterrupted(HoldingProvider& p, std::optional<RollbackStrategy> strategy) {
  RunOptions o;
  o.run_provider = [&p](const json& a, const Context& c) { return p(a, c); };
  o.interrupt_provider = [&p] { p.Release(); };
  o.rollback_strategy = strategy;
  o.env = [](const std::string&) { return std::nullopt; };
  Runner runner(Experiment({}, {Action("hold"), Action("never")}, {Action("r")}), std::move(o));
  json j;
  std::thread t([&] { j = runner.Run(); });
  {
    std::unique_lock lock(p.mu);
    p.cv.wait_for(lock, std::chrono::seconds(10), [&p] { return p.holding; });
  }
  runner.Interrupt("SIGINT");
  t.join();
  return j;
}

TEST(RunnerInterruptTest, AnInterruptEndsTheActivityAndSkipsDefaultRollbacks) {
  HoldingProvider p;
  json j = RunInterrupted(p, std::nullopt);
  EXPECT_EQ(j["status"], "interrupted");
  EXPECT_EQ(Runner::ExitCode(j), 1);
  EXPECT_EQ(p.calls, (std::vector<std::string>{"hold"}));
  EXPECT_EQ(j["run"][0]["status"], "failed");
  EXPECT_EQ(j["faultline"]["reason"], "interrupted by SIGINT");
}

TEST(RunnerInterruptTest, AlwaysPlaysTheRollbacksAfterAnInterrupt) {
  HoldingProvider p;
  json j = RunInterrupted(p, RollbackStrategy::kAlways);
  EXPECT_EQ(j["status"], "interrupted");
  EXPECT_EQ(p.calls, (std::vector<std::string>{"hold", "r"}));
  EXPECT_EQ(j["rollbacks"][0]["status"], "succeeded");
}

TEST(RunnerNames, RoundTrip) {
  for (auto s : {HypothesisStrategy::kDefault, HypothesisStrategy::kContinuously,
                 HypothesisStrategy::kDuringMethodOnly}) {
    EXPECT_EQ(ParseHypothesisStrategy(Name(s)), s);
  }
  EXPECT_EQ(ParseHypothesisStrategy("continously"), HypothesisStrategy::kContinuously);
  EXPECT_EQ(ParseRollbackStrategy("deviated"), RollbackStrategy::kDeviated);
  EXPECT_EQ(ParseDry("pause"), Dry::kPause);
  EXPECT_FALSE(ParseDry("everything").has_value());
}

}  // namespace
}  // namespace faultline::experiment
