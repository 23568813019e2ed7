#include "faultline/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace faultline {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

Rule MakeRule(std::string name, std::string target, Action action) {
  Rule r;
  r.name = std::move(name);
  r.target = std::move(target);
  r.action = action;
  if (action == Action::kLatency) r.latency.ms = 100;
  return r;
}

RuleSet Set(std::vector<Rule> rules) { return RuleSet{std::move(rules)}; }

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(EngineOptions{.clock = &clock_, .seed = 42}) {}

  void Load(std::vector<Rule> rules) { ASSERT_TRUE(engine_.Load(Set(std::move(rules))).ok()); }

  RuleCounters CountersOf(const std::string& name) {
    for (RuleCounters& c : engine_.Counters()) {
      if (c.name == name) return c;
    }
    ADD_FAILURE() << "no counters for " << name;
    return {};
  }

  FakeClock clock_;
  Engine engine_;
};

TEST_F(EngineTest, NoRulesMeansEmptyPlan) {
  Plan p = engine_.Decide("redis.get");
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p);
  EXPECT_EQ(p.action(), Action::kNone);
}

TEST_F(EngineTest, LiteralTargetMatchesOnlyThatPoint) {
  Load({MakeRule("r", "redis.get", Action::kLatency)});
  EXPECT_EQ(engine_.Decide("redis.get").delay(), milliseconds(100));
  EXPECT_TRUE(engine_.Decide("redis.set").empty());
  EXPECT_TRUE(engine_.Decide("redis.ge").empty());
}

TEST_F(EngineTest, GlobTargetMatchesByPattern) {
  Load({MakeRule("r", "redis.*", Action::kError)});
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
  EXPECT_EQ(engine_.Decide("redis.set").action(), Action::kError);
  EXPECT_TRUE(engine_.Decide("dynamodb.get_item").empty());
}

TEST_F(EngineTest, EveryTagMustMatch) {
  Rule r = MakeRule("r", "*", Action::kError);
  r.tags = {{"db", "redis"}, {"region", "eu"}};
  Load({r});
  EXPECT_TRUE(engine_.Decide("x", {{"db", "redis"}}).empty());
  EXPECT_TRUE(engine_.Decide("x", {{"db", "redis"}, {"region", "us"}}).empty());
  EXPECT_EQ(engine_.Decide("x", {{"region", "eu"}, {"db", "redis"}, {"extra", "1"}}).action(),
            Action::kError);
}

TEST_F(EngineTest, TagValuesAreGlobs) {
  Rule r = MakeRule("r", "*", Action::kError);
  r.tags = {{"path", "/checkout*"}};
  Load({r});
  EXPECT_EQ(engine_.Decide("fn", {{"path", "/checkout"}}).action(), Action::kError);
  EXPECT_EQ(engine_.Decide("fn", {{"path", "/checkout/pay"}}).action(), Action::kError);
  EXPECT_TRUE(engine_.Decide("fn", {{"path", "/cart"}}).empty());
  EXPECT_TRUE(engine_.Decide("fn").empty());
}

TEST_F(EngineTest, PlanCarriesPhaseAndTheAfterPartOfTheDelay) {
  Rule before = MakeRule("before", "p", Action::kLatency);
  Rule after = MakeRule("after", "p", Action::kLatency);
  after.phase = Phase::kAfter;
  after.latency.ms = 30;
  Rule fail = MakeRule("fail", "p", Action::kError);
  fail.phase = Phase::kBefore;
  Load({before, after, fail});
  Plan p = engine_.Decide("p");
  EXPECT_EQ(p.action(), Action::kError);
  EXPECT_EQ(p.delay(), milliseconds(130));
  EXPECT_EQ(p.details().delay_after, milliseconds(30));
  EXPECT_EQ(p.details().phase, Phase::kBefore);
}

TEST_F(EngineTest, FixedLatencyIsExact) {
  Load({MakeRule("r", "p", Action::kLatency)});
  Plan p = engine_.Decide("p");
  EXPECT_EQ(p.action(), Action::kLatency);
  EXPECT_EQ(p.delay(), milliseconds(100));
  EXPECT_EQ(p.details().rule, "r");
}

TEST_F(EngineTest, JitterStaysWithinBounds) {
  Rule r = MakeRule("r", "p", Action::kLatency);
  r.latency.jitter_ms = 20;
  Load({r});
  nanoseconds lo = milliseconds(1000), hi{0};
  for (int i = 0; i < 2000; ++i) {
    nanoseconds d = engine_.Decide("p").delay();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_GE(lo, milliseconds(80));
  EXPECT_LE(hi, milliseconds(120));
  EXPECT_LT(lo, milliseconds(85));  // the range is actually used
  EXPECT_GT(hi, milliseconds(115));
}

TEST_F(EngineTest, UniformLatencyCoversRange) {
  Rule r = MakeRule("r", "p", Action::kLatency);
  r.latency.shape = LatencySpec::Shape::kUniform;
  r.latency.min_ms = 10;
  r.latency.max_ms = 50;
  Load({r});
  double sum = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    nanoseconds d = engine_.Decide("p").delay();
    ASSERT_GE(d, milliseconds(10));
    ASSERT_LE(d, milliseconds(50));
    sum += static_cast<double>(d.count()) / 1e6;
  }
  EXPECT_NEAR(sum / n, 30.0, 1.0);
}

TEST_F(EngineTest, NormalLatencyHasMeanAndSpread) {
  Rule r = MakeRule("r", "p", Action::kLatency);
  r.latency.shape = LatencySpec::Shape::kNormal;
  r.latency.mean_ms = 200;
  r.latency.stddev_ms = 20;
  Load({r});
  const int n = 10000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    double ms = static_cast<double>(engine_.Decide("p").delay().count()) / 1e6;
    sum += ms;
    sq += ms * ms;
  }
  double mean = sum / n;
  double sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 200.0, 1.0);  // 5 standard errors
  EXPECT_NEAR(sd, 20.0, 1.0);
}

TEST_F(EngineTest, NormalLatencyNeverNegative) {
  Rule r = MakeRule("r", "p", Action::kLatency);
  r.latency.shape = LatencySpec::Shape::kNormal;
  r.latency.mean_ms = 1;
  r.latency.stddev_ms = 50;
  Load({r});
  for (int i = 0; i < 1000; ++i) ASSERT_GE(engine_.Decide("p").delay().count(), 0);
}

TEST_F(EngineTest, ErrorCarriesTypeAndMessage) {
  Rule r = MakeRule("boom", "p", Action::kError);
  r.error = {"Function.Unavailable", "cache down"};
  Load({r});
  Plan p = engine_.Decide("p");
  ASSERT_EQ(p.action(), Action::kError);
  EXPECT_EQ(p.delay().count(), 0);
  EXPECT_EQ(p.details().rule, "boom");
  EXPECT_EQ(p.details().error.type, "Function.Unavailable");
  EXPECT_EQ(p.details().error.message, "cache down");
}

TEST_F(EngineTest, StatusCarriesResponse) {
  Rule r = MakeRule("s", "p", Action::kStatus);
  r.response.code = 503;
  r.response.headers = {{"Retry-After", "1"}};
  r.response.body = "busy";
  r.response.content_type = "text/plain";
  Load({r});
  Plan p = engine_.Decide("p");
  ASSERT_EQ(p.action(), Action::kStatus);
  EXPECT_EQ(p.details().response, r.response);
}

TEST_F(EngineTest, OtherActionsCarryTheirParameters) {
  Rule disk = MakeRule("disk", "d", Action::kDiskSpace);
  disk.diskspace_mb = 64;
  Rule deny = MakeRule("deny", "n", Action::kDenylist);
  deny.denylist = {"s3\\..*"};
  Rule timeout = MakeRule("t", "t", Action::kTimeout);
  timeout.timeout_buffer_ms = 50;
  Load({disk, deny, timeout});
  EXPECT_EQ(engine_.Decide("d").details().diskspace_mb, 64u);
  EXPECT_EQ(engine_.Decide("n").details().denylist, deny.denylist);
  EXPECT_EQ(engine_.Decide("t").details().timeout_buffer_ms, 50);
  EXPECT_EQ(engine_.Decide("t").action(), Action::kTimeout);
}

TEST_F(EngineTest, LatencyRulesAddUpAndTheFirstOtherActionWins) {
  Rule l1 = MakeRule("l1", "p", Action::kLatency);
  Rule l2 = MakeRule("l2", "*", Action::kLatency);
  l2.latency.ms = 50;
  Rule e1 = MakeRule("e1", "p", Action::kError);
  Rule e2 = MakeRule("e2", "p", Action::kStatus);
  Load({l1, e1, l2, e2});
  Plan p = engine_.Decide("p");
  // l1 fires, e1 ends the evaluation: l2 and e2 are never looked at.
  EXPECT_EQ(p.delay(), milliseconds(100));
  EXPECT_EQ(p.action(), Action::kError);
  EXPECT_EQ(p.details().rule, "e1");
  EXPECT_EQ(CountersOf("l2").matched, 0u);
  EXPECT_EQ(CountersOf("e2").matched, 0u);

  Load({l1, l2});
  EXPECT_EQ(engine_.Decide("p").delay(), milliseconds(150));
}

TEST_F(EngineTest, ProbabilityZeroAndOne) {
  Rule never = MakeRule("never", "a", Action::kError);
  never.probability = 0;
  Rule always = MakeRule("always", "b", Action::kError);
  Load({never, always});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(engine_.Decide("a").empty());
    ASSERT_FALSE(engine_.Decide("b").empty());
  }
  EXPECT_EQ(CountersOf("never").skipped, 1000u);
  EXPECT_EQ(CountersOf("always").injected, 1000u);
}

TEST_F(EngineTest, ProbabilityIsHonouredStatistically) {
  for (double p : {0.05, 0.3, 0.5, 0.9}) {
    Rule r = MakeRule("r", "p", Action::kError);
    r.probability = p;
    Engine engine(EngineOptions{.clock = &clock_, .seed = 7});
    ASSERT_TRUE(engine.Load(Set({r})).ok());
    const int n = 20000;
    int fired = 0;
    for (int i = 0; i < n; ++i) fired += engine.Decide("p").empty() ? 0 : 1;
    const double sigma = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(fired, n * p, 4 * sigma) << "p=" << p;
  }
}

TEST_F(EngineTest, SameSeedSameDecisionsOtherSeedOthers) {
  Rule r = MakeRule("r", "p", Action::kLatency);
  r.probability = 0.5;
  r.latency.jitter_ms = 50;
  auto run = [&](std::uint64_t seed) {
    Engine engine(EngineOptions{.clock = &clock_, .seed = seed});
    EXPECT_TRUE(engine.Load(Set({r})).ok());
    std::vector<std::int64_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(engine.Decide("p").delay().count());
    return out;
  };
  EXPECT_EQ(run(1234), run(1234));
  EXPECT_NE(run(1234), run(1235));
}

TEST_F(EngineTest, RandomSeedIsChosenAndReported) {
  Engine a(EngineOptions{.clock = &clock_});
  Engine b(EngineOptions{.clock = &clock_});
  EXPECT_NE(a.seed(), 0u);
  EXPECT_NE(a.seed(), b.seed());
  EXPECT_EQ(engine_.seed(), 42u);
}

std::vector<int> FiringIndices(Engine& engine, int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i) {
    if (!engine.Decide("p").empty()) out.push_back(i);
  }
  return out;
}

TEST_F(EngineTest, EveryNthMatch) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.every = 3;
  Load({r});
  EXPECT_EQ(FiringIndices(engine_, 10), (std::vector<int>{3, 6, 9}));
  EXPECT_EQ(CountersOf("r").matched, 10u);
  EXPECT_EQ(CountersOf("r").injected, 3u);
  EXPECT_EQ(CountersOf("r").skipped, 7u);
}

TEST_F(EngineTest, SkipFirstN) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.skip = 2;
  Load({r});
  EXPECT_EQ(FiringIndices(engine_, 5), (std::vector<int>{3, 4, 5}));
}

TEST_F(EngineTest, SkipThenEvery) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.skip = 1;
  r.every = 2;
  Load({r});
  EXPECT_EQ(FiringIndices(engine_, 8), (std::vector<int>{3, 5, 7}));
}

TEST_F(EngineTest, LimitCapsInjections) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.limit = 2;
  Load({r});
  EXPECT_EQ(FiringIndices(engine_, 6), (std::vector<int>{1, 2}));
  EXPECT_EQ(CountersOf("r").injected, 2u);
  EXPECT_EQ(CountersOf("r").skipped, 4u);
}

TEST_F(EngineTest, TtlExpiresOnTheFakeClock) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.ttl_ns = std::chrono::nanoseconds(std::chrono::seconds(30)).count();
  Load({r});
  EXPECT_FALSE(engine_.Decide("p").empty());
  clock_.Advance(std::chrono::seconds(29));
  EXPECT_FALSE(engine_.Decide("p").empty());
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(engine_.Decide("p").empty());
  EXPECT_EQ(CountersOf("r").skipped, 1u);
}

TEST_F(EngineTest, ExpiresAtIsAbsolute) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.expires_at = clock_.Now() + 1'000'000;  // 1 ms from now
  Load({r});
  EXPECT_FALSE(engine_.Decide("p").empty());
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(engine_.Decide("p").empty());
}

TEST_F(EngineTest, TtlOfAnUnchangedRuleSurvivesReload) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.ttl_ns = std::chrono::nanoseconds(std::chrono::seconds(10)).count();
  Rule other = MakeRule("other", "q", Action::kError);
  Load({r});
  clock_.Advance(std::chrono::seconds(6));
  Load({r, other});  // r unchanged: its ttl still counts from the first load
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_TRUE(engine_.Decide("p").empty());
  EXPECT_FALSE(engine_.Decide("q").empty());
}

// A ttl counts from when the rule was armed, not from this engine's load:
// a rule armed 10 s ago with a ttl of 2 s is loaded already expired.
TEST_F(EngineTest, TtlArmedInThePastIsExpiredOnLoad) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.ttl_ns = nanoseconds(std::chrono::seconds(2)).count();
  r.armed_at = clock_.Now() - nanoseconds(std::chrono::seconds(10)).count();
  Load({r});
  EXPECT_TRUE(engine_.Decide("p").empty());
  EXPECT_EQ(CountersOf("r").skipped, 1u);
  r.armed_at = clock_.Now() - nanoseconds(std::chrono::seconds(1)).count();
  Load({r});  // re-armed: one second left
  EXPECT_FALSE(engine_.Decide("p").empty());
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(engine_.Decide("p").empty());
}

// Load arms a ttl that says no start, and Rules() says when: an engine
// loaded later from those rules expires them at the same time.
TEST_F(EngineTest, LoadArmsAnUnarmedTtlAndRulesShowsWhen) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.ttl_ns = nanoseconds(std::chrono::seconds(2)).count();
  const TimeNs t0 = clock_.Now();
  Load({r});
  ASSERT_EQ(engine_.Rules().rules.size(), 1u);
  EXPECT_EQ(engine_.Rules().rules[0].armed_at, t0);
  clock_.Advance(std::chrono::seconds(1));
  Engine later(EngineOptions{.clock = &clock_, .seed = 1});
  ASSERT_TRUE(later.Load(engine_.Rules()).ok());
  EXPECT_FALSE(later.Decide("p").empty());
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(later.Decide("p").empty());
  EXPECT_TRUE(engine_.Decide("p").empty());
  EXPECT_EQ(ExpiredNote(later.Rules().rules[0], clock_.Now()).rfind("expired at ", 0), 0u);
}

TEST_F(EngineTest, DisabledRuleNeverMatches) {
  Rule r = MakeRule("r", "p", Action::kError);
  r.enabled = false;
  Load({r});
  EXPECT_TRUE(engine_.Decide("p").empty());
  EXPECT_EQ(CountersOf("r").matched, 0u);
}

TEST_F(EngineTest, KillSwitch) {
  Load({MakeRule("r", "p", Action::kError)});
  engine_.SetEnabled(false);
  EXPECT_FALSE(engine_.enabled());
  EXPECT_TRUE(engine_.Decide("p").empty());
  engine_.SetEnabled(true);
  EXPECT_FALSE(engine_.Decide("p").empty());
}

TEST_F(EngineTest, KillSwitchFromEnvironment) {
  ::setenv("FAULTLINE_DISABLE", "1", 1);
  Engine engine(EngineOptions{.clock = &clock_, .seed = 1});
  ::unsetenv("FAULTLINE_DISABLE");
  ASSERT_TRUE(engine.Load(Set({MakeRule("r", "p", Action::kError)})).ok());
  EXPECT_FALSE(engine.enabled());
  EXPECT_TRUE(engine.Decide("p").empty());
}

TEST_F(EngineTest, InjectionLogLineHasRulePointActionAndSeed) {
  std::vector<std::string> lines;
  std::mutex mu;
  Engine engine(EngineOptions{.clock = &clock_, .seed = 99, .log_sink = [&](std::string_view l) {
                                std::lock_guard<std::mutex> lock(mu);
                                lines.emplace_back(l);
                              }});
  Rule lat = MakeRule("slow", "redis.*", Action::kLatency);
  Rule err = MakeRule("fail", "redis.*", Action::kError);
  err.error = {"Function.Redis", "refused \"now\""};
  ASSERT_TRUE(engine.Load(Set({lat, err})).ok());
  engine.Decide("redis.get");
  ASSERT_EQ(lines.size(), 2u);
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["rule"], "slow");
  EXPECT_EQ(first["point"], "redis.get");
  EXPECT_EQ(first["action"], "latency");
  EXPECT_EQ(first["delay_ms"], 100.0);
  EXPECT_EQ(first["seed"], 99);
  EXPECT_EQ(first["time"], FormatTimestamp(clock_.Now()));
  auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["action"], "error");
  EXPECT_EQ(second["error_type"], "Function.Redis");
  EXPECT_EQ(second["error_message"], "refused \"now\"");
}

TEST_F(EngineTest, DryRunLogsButInjectsNothing) {
  int logged = 0;
  Engine engine(EngineOptions{.clock = &clock_,
                              .seed = 1,
                              .log_sink =
                                  [&](std::string_view l) {
                                    ++logged;
                                    EXPECT_NE(l.find("\"dry_run\":true"), std::string_view::npos);
                                  },
                              .dry_run = true});
  ASSERT_TRUE(engine.Load(Set({MakeRule("r", "p", Action::kError)})).ok());
  EXPECT_TRUE(engine.Decide("p").empty());
  EXPECT_EQ(logged, 1);
  EXPECT_EQ(engine.Counters()[0].injected, 1u);  // what would have been injected
}

TEST_F(EngineTest, InvalidRulesAreRejectedAndTheOldOnesStay) {
  Load({MakeRule("r", "p", Action::kError)});
  Rule bad = MakeRule("bad", "p", Action::kLatency);
  bad.probability = 1.5;
  Status s = engine_.Load(Set({bad}));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("probability"), std::string::npos) << s.message();
  EXPECT_EQ(engine_.Decide("p").action(), Action::kError);
  ASSERT_EQ(engine_.Rules().rules.size(), 1u);
  EXPECT_EQ(engine_.Rules().rules[0].name, "r");
}

TEST_F(EngineTest, DuplicateNamesAreRejected) {
  EXPECT_FALSE(
      engine_.Load(Set({MakeRule("r", "a", Action::kError), MakeRule("r", "b", Action::kError)}))
          .ok());
}

TEST_F(EngineTest, ReloadKeepsProgressOfUnchangedRulesOnly) {
  Rule kept = MakeRule("kept", "a", Action::kError);
  kept.limit = 3;
  Rule changed = MakeRule("changed", "b", Action::kError);
  changed.limit = 3;
  Load({kept, changed});
  for (int i = 0; i < 3; ++i) {
    engine_.Decide("a");
    engine_.Decide("b");
  }
  changed.limit = 4;
  Load({kept, changed});
  EXPECT_TRUE(engine_.Decide("a").empty());   // limit already reached
  EXPECT_FALSE(engine_.Decide("b").empty());  // a new rule: new progress
  EXPECT_EQ(CountersOf("kept").matched, 4u);
  EXPECT_EQ(CountersOf("changed").matched, 1u);
}

TEST_F(EngineTest, ClearRemovesEverything) {
  Load({MakeRule("r", "*", Action::kError)});
  engine_.Clear();
  EXPECT_TRUE(engine_.Decide("p").empty());
  EXPECT_TRUE(engine_.Counters().empty());
}

TEST_F(EngineTest, ManyPointNamesBeyondTheMemo) {
  Load({MakeRule("r", "svc.*", Action::kError)});
  for (int i = 0; i < 10000; ++i) {
    ASSERT_FALSE(engine_.Decide("svc." + std::to_string(i)).empty());
    ASSERT_TRUE(engine_.Decide("other." + std::to_string(i)).empty());
  }
}

TEST_F(EngineTest, TwoEnginesInOneThreadStayApart) {
  std::vector<std::unique_ptr<Engine>> engines;
  for (int i = 0; i < 6; ++i) {  // more than a thread caches
    engines.push_back(std::make_unique<Engine>(EngineOptions{.clock = &clock_, .seed = 1}));
    ASSERT_TRUE(engines.back()
                    ->Load(Set({MakeRule("r" + std::to_string(i), "p" + std::to_string(i),
                                         Action::kError)}))
                    .ok());
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 6; ++i) {
      EXPECT_FALSE(engines[i]->Decide("p" + std::to_string(i)).empty());
      EXPECT_TRUE(engines[i]->Decide("p" + std::to_string((i + 1) % 6)).empty());
    }
  }
}

// Two threads inject while a third reloads; run under the tsan preset too.
TEST(EngineConcurrencyTest, ReloadWhileTwoThreadsInject) {
  FakeClock clock;
  Engine engine(EngineOptions{.clock = &clock, .seed = 5});
  Rule a = MakeRule("a", "p.*", Action::kError);
  Rule b = MakeRule("b", "p.*", Action::kLatency);
  b.every = 2;
  ASSERT_TRUE(engine.Load(Set({a})).ok());
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> seen_error{0}, seen_latency{0};
  auto injector = [&] {
    for (int i = 0; i < 200000 && !stop.load(); ++i) {
      Plan p = engine.Decide(i % 2 ? "p.get" : "p.set");
      if (p.action() == Action::kError) seen_error.fetch_add(1);
      if (p.action() == Action::kLatency) seen_latency.fetch_add(1);
      if (!p.empty()) {
        ASSERT_FALSE(p.details().rule.empty());
      }
    }
  };
  std::thread t1(injector), t2(injector);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(engine.Load(Set({i % 2 ? a : b})).ok());
    (void)engine.Counters();
    std::this_thread::yield();
  }
  stop.store(true);
  t1.join();
  t2.join();
  EXPECT_GT(seen_error.load() + seen_latency.load(), 0u);
}

TEST(EngineConcurrencyTest, CountersAddUpAcrossThreads) {
  FakeClock clock;
  Engine engine(EngineOptions{.clock = &clock, .seed = 5});
  Rule r = MakeRule("r", "p", Action::kError);
  r.limit = 1000;
  ASSERT_TRUE(engine.Load(Set({r})).ok());
  std::atomic<int> fired{0};
  auto injector = [&] {
    for (int i = 0; i < 5000; ++i) fired += engine.Decide("p").empty() ? 0 : 1;
  };
  std::thread t1(injector), t2(injector);
  t1.join();
  t2.join();
  EXPECT_EQ(fired.load(), 1000);  // limit holds across threads
  auto c = engine.Counters()[0];
  EXPECT_EQ(c.matched, 10000u);
  EXPECT_EQ(c.injected, 1000u);
  EXPECT_EQ(c.skipped, 9000u);
}

}  // namespace
}  // namespace faultline
