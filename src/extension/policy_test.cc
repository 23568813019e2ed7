// The proxy's policy with no sockets: event tags, plans, answer bodies, EMF.
#include "extension/policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace faultline::extension {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(EventTagsTest, ApiGatewayHttpApiAndRestAndOthers) {
  OwnedTags http = EventTags(
      R"({"rawPath":"/checkout/pay","routeKey":"POST /checkout/{x}",
          "requestContext":{"http":{"method":"POST"}}})");
  EXPECT_EQ(http, (OwnedTags{{"path", "/checkout/pay"},
                             {"method", "POST"},
                             {"resource", "POST /checkout/{x}"}}));
  OwnedTags rest = EventTags(R"({"path":"/cart","httpMethod":"GET","resource":"/cart"})");
  EXPECT_EQ(rest, (OwnedTags{{"path", "/cart"}, {"method", "GET"}, {"resource", "/cart"}}));
  EXPECT_EQ(EventTags(R"({"Records":[{"eventSource":"aws:sqs"}]})"),
            (OwnedTags{{"source", "aws:sqs"}}));
  EXPECT_TRUE(EventTags("not json").empty());
  EXPECT_TRUE(EventTags(R"([1,2])").empty());
  EXPECT_TRUE(EventTags(R"({"path":42})").empty());
}

TEST(PlanTest, DefaultsAndPhases) {
  EXPECT_EQ(EffectivePhase(Action::kError, Phase::kDefault), Phase::kBefore);
  EXPECT_EQ(EffectivePhase(Action::kBody, Phase::kDefault), Phase::kAfter);
  EXPECT_EQ(EffectivePhase(Action::kError, Phase::kAfter), Phase::kAfter);

  FakeClock clock;
  Engine engine(EngineOptions{.clock = &clock, .seed = 1});
  auto rules = ParseRules(R"(
faults:
  - {name: slow, target: "fn", action: latency, latency: 300}
  - {name: slower-after, target: "fn", action: latency, latency: 20, phase: after}
  - {name: boom, target: "fn", action: error, phase: after,
     error: {type: Function.Boom, message: "no"}, tags: {path: "/checkout*"}}
)",
                          "t.yaml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  ASSERT_TRUE(engine.Load(*rules).ok());
  const OwnedTags tags = EventTags(R"({"rawPath":"/checkout"})");
  InvocationPlan p = ToInvocationPlan(engine.Decide("fn", TagViews(tags)));
  EXPECT_EQ(p.delay_before, 300ms);
  EXPECT_EQ(p.delay_after, 20ms);
  EXPECT_EQ(p.action, Action::kError);
  EXPECT_EQ(p.phase, Phase::kAfter);
  EXPECT_EQ(p.error.type, "Function.Boom");
  EXPECT_TRUE(p.has_after());
  InvocationPlan other = ToInvocationPlan(engine.Decide("fn", TagViews(EventTags("{}"))));
  EXPECT_EQ(other.action, Action::kNone);
  EXPECT_EQ(other.delay_before, 300ms);
  EXPECT_TRUE(ToInvocationPlan(engine.Decide("other-fn")).empty());
}

TEST(PlanTest, ActionsWithNoRuntimeApiMeaningBecomeNone) {
  Engine engine(EngineOptions{.seed = 1});
  auto rules = ParseRules("faults: [{name: d, action: drop}]", "t.yaml");
  ASSERT_TRUE(engine.Load(*rules).ok());
  EXPECT_EQ(ToInvocationPlan(engine.Decide("fn")).action, Action::kNone);
}

TEST(BodiesTest, ErrorTypesAreValidLambdaTypes) {
  EXPECT_EQ(LambdaErrorType("Function.InjectedFault"), "Function.InjectedFault");
  EXPECT_EQ(LambdaErrorType("Runtime.Crash"), "Runtime.Crash");
  EXPECT_EQ(LambdaErrorType("MyError"), "Function.InjectedFault");
  EXPECT_EQ(LambdaErrorType("Function.bad"), "Function.InjectedFault");
  const json e = json::parse(ErrorBody(ErrorSpec{"Function.Boom", "it broke"}));
  EXPECT_EQ(e, (json{{"errorMessage", "it broke"},
                     {"errorType", "Function.Boom"},
                     {"stackTrace", json::array()}}));
}

TEST(BodiesTest, StatusInProxyIntegrationShape) {
  ResponseSpec r;
  r.code = 503;
  r.headers = {{"Retry-After", "5"}};
  r.body = "busy";
  const json s = json::parse(StatusBody(r));
  EXPECT_EQ(s["statusCode"], 503);
  EXPECT_EQ(s["headers"]["Retry-After"], "5");
  EXPECT_EQ(s["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(s["body"], "busy");
  EXPECT_EQ(s["isBase64Encoded"], false);
  r.content_type = "text/plain";
  EXPECT_EQ(json::parse(StatusBody(r))["headers"]["Content-Type"], "text/plain");
}

TEST(BodiesTest, ReplaceBody) {
  EXPECT_EQ(
      json::parse(ReplaceBody(R"({"statusCode":201,"body":"old","headers":{"a":"b"}})", "new")),
      (json{{"statusCode", 201},
            {"body", "new"},
            {"headers", {{"a", "b"}}},
            {"isBase64Encoded", false}}));
  EXPECT_EQ(ReplaceBody(R"({"hello":1})", "plain"), "plain");
  EXPECT_EQ(json::parse(ReplaceBody("", "x")), (json{{"statusCode", 200}, {"body", "x"}}));
}

TEST(TimeoutTest, WaitsUntilTheBufferBeforeTheDeadline) {
  EXPECT_EQ(TimeoutWait(10'000, 7'000, 100), 2900ms);
  EXPECT_EQ(TimeoutWait(10'000, 7'000, 0.5), 3000ms);  // rounded up, never early
  // No buffer: past the deadline, so the platform's timeout comes first.
  EXPECT_EQ(TimeoutWait(10'000, 7'000, 0), 3000ms + std::chrono::milliseconds(kPastDeadlineMs));
  EXPECT_EQ(TimeoutWait(10'000, 10'100, 0), std::chrono::milliseconds(kPastDeadlineMs - 100));
  EXPECT_EQ(TimeoutWait(10'000, 11'000, 0), 0ms);
  EXPECT_EQ(TimeoutWait(10'000, 9'950, 100), 0ms);
  EXPECT_EQ(TimeoutWait(0, 11'000, 0), 0ms);
}

TEST(EmfTest, OneCountPerInjection) {
  const json line = json::parse(EmfLine("chaos", "checkout", Action::kLatency, "slow", 1234));
  EXPECT_EQ(line["_aws"]["Timestamp"], 1234);
  const json& m = line["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(m["Namespace"], "chaos");
  EXPECT_EQ(m["Dimensions"], json::array({json::array({"FunctionName", "Action"})}));
  EXPECT_EQ(m["Metrics"][0]["Name"], "Injections");
  EXPECT_EQ(line["FunctionName"], "checkout");
  EXPECT_EQ(line["Action"], "latency");
  EXPECT_EQ(line["Injections"], 1);
  EXPECT_EQ(line["Rule"], "slow");
}

// Init rules and per-invocation rules go to engines of their own: a cold
// start is decided once from the init rules only, an invocation from the
// others only, with the engine's usual probability / limit / ttl.
TEST(InitPlanTest, InitRulesDecideTheColdStartAndNothingElse) {
  auto rules = ParseRules(R"(
faults:
  - {name: before, target: fn, action: error}
  - {name: slow-start, target: fn, action: latency, phase: init, latency: 1500, ttl: 1m}
  - {name: slow-call, target: fn, action: latency, latency: 40}
  - {name: cold-fail, target: fn, action: error, phase: init, limit: 1,
     error: {type: Function.DependencyDown, message: "no config"}}
  - {name: other, target: other-fn, action: latency, phase: init, latency: 5}
)",
                          "t.yaml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  ASSERT_EQ(InitRules(*rules).rules.size(), 3u);
  ASSERT_EQ(InvocationRules(*rules).rules.size(), 2u);

  FakeClock clock;
  std::vector<std::string> logged;
  Engine init(EngineOptions{
      .clock = &clock, .seed = 7, .log_sink = [&](std::string_view l) { logged.emplace_back(l); }});
  ASSERT_TRUE(init.Load(InitRules(*rules)).ok());
  InitPlan cold = ToInitPlan(init.Decide("fn"));
  EXPECT_EQ(cold.delay, 1500ms);  // slow-start only: slow-call is per invocation
  EXPECT_TRUE(cold.fail);         // the "before" error rule is not an init rule
  EXPECT_EQ(cold.rule, "cold-fail");
  EXPECT_EQ(cold.error.type, "Extension.DependencyDown");
  EXPECT_EQ(cold.error.message, "no config");
  ASSERT_EQ(logged.size(), 2u);  // each injection logged, as everywhere
  EXPECT_EQ(json::parse(logged[1])["rule"], "cold-fail");
  // limit: 1 -> the next decision only delays; past the ttl, nothing.
  InitPlan again = ToInitPlan(init.Decide("fn"));
  EXPECT_FALSE(again.fail);
  EXPECT_EQ(again.rule, "slow-start");
  EXPECT_EQ(again.delay, 1500ms);
  clock.Advance(2min);
  EXPECT_TRUE(ToInitPlan(init.Decide("fn")).empty());
  EXPECT_TRUE(ToInitPlan(init.Decide("unrelated")).empty());

  Engine invoke(EngineOptions{.clock = &clock, .seed = 7});
  ASSERT_TRUE(invoke.Load(InvocationRules(*rules)).ok());
  InvocationPlan p = ToInvocationPlan(invoke.Decide("fn"));
  EXPECT_EQ(p.delay_before, 0ms);  // slow-call comes after the error rule
  EXPECT_EQ(p.action, Action::kError);
  EXPECT_EQ(p.rule, "before");
  EXPECT_TRUE(ToInvocationPlan(invoke.Decide("other-fn")).empty());
}

TEST(InitPlanTest, ExtensionErrorTypes) {
  EXPECT_EQ(ExtensionErrorType("Extension.ConfigInvalid"), "Extension.ConfigInvalid");
  EXPECT_EQ(ExtensionErrorType("Function.InjectedFault"), "Extension.InjectedFault");
  EXPECT_EQ(ExtensionErrorType("Runtime.Boom"), "Extension.Boom");
  EXPECT_EQ(ExtensionErrorType("oops"), "Extension.InjectedFault");
  EXPECT_EQ(ExtensionErrorType("Extension.lower"), "Extension.InjectedFault");
  InitPlan slow = ToInitPlan(Plan());
  EXPECT_TRUE(slow.empty());
}

}  // namespace
}  // namespace faultline::extension
