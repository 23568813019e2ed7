#include "cli/demo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"
#include "faultline/clock.h"

namespace faultline::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const Scenario& Named(std::string_view name) {
  for (const Scenario& s : Scenarios()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no scenario " << name;
  return Scenarios().front();
}

// Runs `name` on a FakeClock, so that injected latency takes no time.
std::string RunOnFakeClock(std::string_view name, bool* passed, FakeClock* clock) {
  std::ostringstream out;
  *passed = RunScenario(Named(name), DemoOptions{.clock = clock, .seed = 42}, out);
  return out.str();
}

TEST(DemoTest, CacheFallback) {
  FakeClock clock;
  bool passed = false;
  std::string out = RunOnFakeClock("cache-fallback", &passed, &clock);
  EXPECT_TRUE(passed) << out;
  EXPECT_THAT(out, StartsWith("== cache-fallback (DESIGN.md scenario 1)"));
  EXPECT_THAT(out, HasSubstr("injecting      examples/rules/cache-fallback.yaml"));
  EXPECT_THAT(out, HasSubstr("target: \"redis.*\""));
  EXPECT_THAT(out, HasSubstr("naive answered 0/10 (first error: Redis.ConnectionError: "
                             "connection refused)"));
  EXPECT_THAT(out, HasSubstr("redis-down fired on 30 of 30 matching calls"));
  EXPECT_THAT(out, HasSubstr("PASS cache-fallback: naive version failed 10/10 invocations under "
                             "injected Redis errors; fixed version answered 10/10\n"));
}

TEST(DemoTest, InconsistentWrites) {
  FakeClock clock;
  bool passed = false;
  std::string out = RunOnFakeClock("inconsistent-writes", &passed, &clock);
  EXPECT_TRUE(passed) << out;
  EXPECT_THAT(out, HasSubstr("naive: 0/10 grants succeeded, 10 items inconsistent"));
  EXPECT_THAT(out, HasSubstr("fixed: 0/10 grants succeeded, 0 items inconsistent"));
  EXPECT_THAT(out, HasSubstr("PASS inconsistent-writes: naive version left 10/10 items"));
}

TEST(DemoTest, SessionLatencyAddsTwoCacheCallsOfLatencyPerRequest) {
  FakeClock clock;
  bool passed = false;
  std::string out = RunOnFakeClock("session-latency", &passed, &clock);
  EXPECT_TRUE(passed) << out;
  // 5 requests x 2 cache calls x 100 ms, on the fake clock.
  EXPECT_EQ(clock.total_slept(), std::chrono::milliseconds(1000));
  EXPECT_THAT(out, HasSubstr("mean 200.0 ms: +200.0 ms per request"));
  EXPECT_THAT(out, HasSubstr("6/6 pages answered; recommendations missing on requests 2, 4, 6"));
  EXPECT_THAT(out, HasSubstr("PASS session-latency: 100 ms per cache call added 200.0 ms per "
                             "request (2 calls); failing every other cache read dropped "
                             "recommendations on 3/6 requests while 6/6 pages answered\n"));
}

TEST(DemoTest, VerbosePrintsTheInjectionLog) {
  FakeClock clock;
  std::ostringstream out;
  EXPECT_TRUE(RunScenario(Named("cache-fallback"),
                          DemoOptions{.clock = &clock, .seed = 42, .verbose = true}, out));
  EXPECT_THAT(out.str(), HasSubstr("   log            {"));
  EXPECT_THAT(out.str(), HasSubstr("redis-down"));
}

struct Ran {
  int code;
  std::string out;
  std::string err;
};

Ran RunCli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = Main(Commands(), args, out, err);
  return Ran{code, out.str(), err.str()};
}

TEST(DemoCommandTest, ListsTheScenarios) {
  Ran r = RunCli({"demo", "--list"});
  EXPECT_EQ(r.code, kExitOk);
  for (const Scenario& s : Scenarios()) EXPECT_THAT(r.out, HasSubstr(std::string(s.name)));
}

TEST(DemoCommandTest, UnknownScenarioIsAUsageError) {
  Ran r = RunCli({"demo", "cache-fallbak"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "faultline demo: no scenario 'cache-fallbak'. Did you mean 'cache-fallback'? The "
            "scenarios are: cache-fallback, inconsistent-writes, session-latency.\n");
}

TEST(DemoCommandTest, RunsAScenarioAndSaysItRunsInProcess) {
  Ran r = RunCli({"demo", "inconsistent-writes", "--seed", "5"});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith("faultline demo: runs in-process"));
  EXPECT_THAT(r.out, HasSubstr("Seed 5 (replay: --seed 5)"));
  EXPECT_THAT(r.out, HasSubstr("1/1 verdicts as expected\n"));
}

}  // namespace
}  // namespace faultline::cli
