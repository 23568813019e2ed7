#include "cli/run_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace faultline::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace ex = faultline::experiment;

TEST(RenderLiveTest, PhaseActivityChecksAndWhatIsInForce) {
  LiveState s;
  s.title = "Throttling";
  s.started = 0;
  s.phase = "method";
  s.activity = "reserve";
  s.activity_type = "action";
  s.activity_started = 3'000'000'000;
  s.checks = 7;
  s.deviations = 1;
  s.last_check = "not met (no-throttles)";
  s.in_force["concurrency api"] = "reserve (reserved concurrency 1)";
  EXPECT_THAT(RenderLive(s, 4'250'000'000, 200),
              ElementsAre("── Throttling · 4.2 s", "method · action reserve · 1.2 s",
                          "hypothesis during the method: 7 checks, 1 deviated · last: not met "
                          "(no-throttles)",
                          "in force: reserve (reserved concurrency 1)"));
  s.checks = 0;
  s.in_force.clear();
  s.activity.clear();
  EXPECT_THAT(RenderLive(s, 4'250'000'000, 12), ElementsAre("── Thrott...", "method"));
}

TEST(TrackChangeTest, WhatTheFaultlineProviderLeavesInForce) {
  std::map<std::string, std::string> in_force;
  auto activity = [](const std::string& name, const std::string& func, ex::json args) {
    return ex::json{{"name", name},
                    {"provider", {{"type", "faultline"}, {"func", func}, {"arguments", args}}}};
  };
  TrackChange(
      activity("reserve", "put-function-concurrency", {{"function", "api"}, {"reserved", 1}}),
      &in_force);
  TrackChange(activity("arm", "arm", {{"endpoint", "http://127.0.0.1:9101"}}), &in_force);
  EXPECT_EQ(in_force.size(), 2u);
  EXPECT_EQ(in_force["concurrency api"], "reserve (reserved concurrency 1)");
  TrackChange(activity("lift", "delete-function-concurrency", {{"function", "api"}}), &in_force);
  TrackChange(activity("disarm", "clear", {{"endpoint", "http://127.0.0.1:9101"}}), &in_force);
  EXPECT_TRUE(in_force.empty());
  TrackChange({{"name", "p"}, {"provider", {{"type", "process"}, {"path", "true"}}}}, &in_force);
  EXPECT_TRUE(in_force.empty());
}

TEST(RunViewTest, PlainLinesOnlyWhenNotLive) {
  std::ostringstream out;
  FakeClock clock;
  {
    RunView view(out, /*live=*/false, "t", &clock);
    view.Phase("method");
    view.ActivityStarted({{"type", "action"}, {"name", "a"}});
    view.ActivityEnded({{"status", "failed"},
                        {"activity", {{"name", "a"}}},
                        {"exception", {"chaoslib.exceptions.ActivityFailed: boom\n"}}});
  }
  EXPECT_THAT(out.str(), HasSubstr("] Playing the experiment's method now...\n"));
  EXPECT_THAT(out.str(), HasSubstr("] Action: a\n"));
  EXPECT_THAT(out.str(), HasSubstr("] "
                                   "  => failed: chaoslib.exceptions.ActivityFailed: boom\n"));
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos) << "no escape codes in plain mode";
}

TEST(RunViewTest, LiveRedrawsTheBlockUnderTheLinesAndErasesItAtTheEnd) {
  std::ostringstream out;
  FakeClock clock;
  RunView view(out, /*live=*/true, "t", &clock);
  view.Phase("method");
  view.Line("a line");
  view.Finish();
  const std::string s = out.str();
  const auto line = s.find("a line\n");
  ASSERT_NE(line, std::string::npos);
  EXPECT_NE(s.find("── t", line), std::string::npos) << "the block is drawn under the line";
  EXPECT_NE(s.rfind("\x1b[J"), std::string::npos) << "and erased";
  EXPECT_GT(s.rfind("\x1b[J"), s.rfind("── t"));
}

}  // namespace
}  // namespace faultline::cli
