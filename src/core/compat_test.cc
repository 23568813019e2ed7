#include "faultline/compat.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <string>

namespace faultline {
namespace {

using Env = std::map<std::string, std::string>;

// The rules, or a test failure carrying the error message.
RuleSet Ok(const Result<RuleSet>& r) {
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : RuleSet{};
}

// The error message, or a test failure.
std::string Err(const Result<RuleSet>& r) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.ok() ? std::string() : r.status().message();
}

// --- failure-lambda 0.x -------------------------------------------------------

TEST(FailureLambdaClassic, Latency) {
  RuleSet rs = Ok(ReadFailureLambda(
      R"({"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 100,
          "maxLatency": 400})",
      "failure.json"));
  ASSERT_EQ(rs.rules.size(), 1u);
  const Rule& r = rs.rules[0];
  EXPECT_EQ(r.name, "failure-lambda-latency");
  EXPECT_EQ(r.target, "*");
  EXPECT_EQ(r.action, Action::kLatency);
  EXPECT_EQ(r.latency.shape, LatencySpec::Shape::kUniform);
  EXPECT_EQ(r.latency.min_ms, 100);
  EXPECT_EQ(r.latency.max_ms, 400);
  EXPECT_EQ(r.probability, 1);
  EXPECT_TRUE(r.enabled);
}

// failure-lambda's README example carries every mode's field at once; only
// the chosen mode's are read.
constexpr const char* kClassicAll =
    R"({"isEnabled": true, "failureMode": "%s", "rate": 0.25, "minLatency": 100,
        "maxLatency": 400, "exceptionMsg": "Exception message!", "statusCode": 404,
        "diskSpace": 100, "denylist": ["s3.*.amazonaws.com", "dynamodb.*.amazonaws.com"]})";

std::string Classic(const std::string& mode) {
  std::string s = kClassicAll;
  s.replace(s.find("%s"), 2, mode);
  return s;
}

TEST(FailureLambdaClassic, Exception) {
  RuleSet rs = Ok(ReadFailureLambda(Classic("exception"), "p", "my-function"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].name, "failure-lambda-exception");
  EXPECT_EQ(rs.rules[0].target, "my-function");
  EXPECT_EQ(rs.rules[0].action, Action::kError);
  EXPECT_EQ(rs.rules[0].error.type, "Function.InjectedFault");
  EXPECT_EQ(rs.rules[0].error.message, "Exception message!");
  EXPECT_EQ(rs.rules[0].probability, 0.25);
}

TEST(FailureLambdaClassic, StatusDiskSpaceDenylist) {
  RuleSet status = Ok(ReadFailureLambda(Classic("statuscode"), "p"));
  ASSERT_EQ(status.rules.size(), 1u);
  EXPECT_EQ(status.rules[0].action, Action::kStatus);
  EXPECT_EQ(status.rules[0].response.code, 404);

  RuleSet disk = Ok(ReadFailureLambda(Classic("diskspace"), "p"));
  ASSERT_EQ(disk.rules.size(), 1u);
  EXPECT_EQ(disk.rules[0].action, Action::kDiskSpace);
  EXPECT_EQ(disk.rules[0].diskspace_mb, 100u);

  RuleSet deny = Ok(ReadFailureLambda(Classic("denylist"), "p"));
  ASSERT_EQ(deny.rules.size(), 1u);
  EXPECT_EQ(deny.rules[0].action, Action::kDenylist);
  EXPECT_EQ(deny.rules[0].denylist,
            (std::vector<std::string>{"s3.*.amazonaws.com", "dynamodb.*.amazonaws.com"}));
}

TEST(FailureLambdaClassic, DisabledKeepsTheRuleDisabled) {
  RuleSet rs = Ok(
      ReadFailureLambda(R"({"isEnabled": false, "failureMode": "statuscode", "rate": 0.5})", "p"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_FALSE(rs.rules[0].enabled);
  EXPECT_EQ(rs.rules[0].probability, 0.5);
  EXPECT_EQ(rs.rules[0].response.code, 500);  // no statusCode: the 1.x default
}

TEST(FailureLambdaClassic, RateMustBeANumber) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"failureMode": "latency", "rate": "high"})", "failure.json")),
            R"(failure.json:1:36: rate: expected a number in [0, 1], got "high")");
}

TEST(FailureLambdaClassic, EnabledWithoutRateIsAnError) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"isEnabled": true, "failureMode": "exception"})", "p")),
            "p:1:1: rate: expected a number in [0, 1] (failure-lambda 0.x never injects without "
            "it), got nothing");
}

TEST(FailureLambdaClassic, UnknownModeListsTheValidOnes) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"isEnabled": true, "failureMode": "chaos", "rate": 1})",
                                  "ssm:/fl")),
            "ssm:/fl:1:36: failureMode: expected one of latency, exception, statuscode, "
            "diskspace, denylist, got \"chaos\"");
  EXPECT_NE(Err(ReadFailureLambda(R"({"failureMode": "timeout"})", "p"))
                .find("exist only in the failure-lambda 1.x"),
            std::string::npos);
}

TEST(FailureLambdaClassic, LatencyBounds) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"isEnabled": true, "failureMode": "latency", "rate": 1,
                                      "minLatency": 400, "maxLatency": 100})",
                                  "p")),
            "p:2:72: maxLatency: expected a number >= minLatency (400), got 100");
  EXPECT_NE(
      Err(ReadFailureLambda(
              R"({"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1})", "p"))
          .find("maxLatency: expected a number of milliseconds, got nothing"),
      std::string::npos);
}

TEST(FailureLambdaClassic, UnknownFieldIsAnError) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"failureMode": "latency", "minLatencyy": 1})", "p")),
            "p:1:28: minLatencyy: unknown field; expected one of isEnabled, failureMode, rate, "
            "minLatency, maxLatency, exceptionMsg, statusCode, diskSpace, denylist");
}

// --- failure-lambda 1.x -------------------------------------------------------

// The README's configuration, every flag off.
constexpr const char* kFlagsReadme = R"({
  "latency": { "enabled": false, "percentage": 100, "min_latency": 100, "max_latency": 400 },
  "exception": { "enabled": false, "percentage": 100, "exception_msg": "Exception message!" },
  "statuscode": { "enabled": false, "percentage": 100, "status_code": 404 },
  "diskspace": { "enabled": false, "percentage": 100, "disk_space": 100 },
  "denylist": { "enabled": false, "percentage": 50, "deny_list": ["s3.*.amazonaws.com"] },
  "timeout": { "enabled": false, "percentage": 100, "timeout_buffer_ms": 500 },
  "corruption": { "enabled": false, "percentage": 30, "body": "{\"error\": \"corrupted\"}" }
})";

TEST(FailureLambdaFlags, ReadmeConfigInInjectionOrder) {
  RuleSet rs = Ok(ReadFailureLambda(kFlagsReadme, "p"));
  std::vector<std::string> names;
  for (const Rule& r : rs.rules) {
    names.push_back(r.name);
    EXPECT_FALSE(r.enabled) << r.name;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"failure-lambda-latency", "failure-lambda-timeout",
                                      "failure-lambda-diskspace", "failure-lambda-denylist",
                                      "failure-lambda-statuscode", "failure-lambda-exception",
                                      "failure-lambda-corruption"}));
  ASSERT_EQ(rs.rules.size(), 7u);
  EXPECT_EQ(rs.rules[1].action, Action::kTimeout);
  EXPECT_EQ(rs.rules[1].timeout_buffer_ms, 500);
  EXPECT_EQ(rs.rules[3].probability, 0.5);
  EXPECT_EQ(rs.rules[4].response.code, 404);
  EXPECT_EQ(rs.rules[6].action, Action::kBody);
  EXPECT_EQ(rs.rules[6].response.body, R"({"error": "corrupted"})");
  EXPECT_EQ(rs.rules[6].probability, 0.3);
}

TEST(FailureLambdaFlags, EnabledLatencyWithPercentage) {
  RuleSet rs = Ok(ReadFailureLambda(
      R"({"latency": {"enabled": true, "percentage": 50, "min_latency": 200, "max_latency": 500}})",
      "p", "fn"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_TRUE(rs.rules[0].enabled);
  EXPECT_EQ(rs.rules[0].probability, 0.5);
  EXPECT_EQ(rs.rules[0].latency.min_ms, 200);
  EXPECT_EQ(rs.rules[0].latency.max_ms, 500);
  EXPECT_EQ(rs.rules[0].target, "fn");
}

TEST(FailureLambdaFlags, DefaultsOfFailureLambda) {
  RuleSet rs = Ok(ReadFailureLambda(
      R"({"exception": {"enabled": true}, "statuscode": {"enabled": true},
          "diskspace": {"enabled": true}, "timeout": {"enabled": true},
          "latency": {"enabled": true}})",
      "p"));
  ASSERT_EQ(rs.rules.size(), 5u);
  EXPECT_EQ(rs.rules[0].latency.max_ms, 0);                    // latency
  EXPECT_EQ(rs.rules[1].timeout_buffer_ms, 0);                 // timeout
  EXPECT_EQ(rs.rules[2].diskspace_mb, 100u);                   // diskspace
  EXPECT_EQ(rs.rules[3].response.code, 500);                   // statuscode
  EXPECT_EQ(rs.rules[4].error.message, "Injected exception");  // exception
  for (const Rule& r : rs.rules) EXPECT_EQ(r.probability, 1);
}

TEST(FailureLambdaFlags, RateFromPreReleasesButNotBoth) {
  RuleSet rs = Ok(ReadFailureLambda(R"({"exception": {"enabled": true, "rate": 0.2}})", "p"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].probability, 0.2);
  EXPECT_EQ(Err(ReadFailureLambda(
                R"({"exception": {"enabled": true, "rate": 0.2, "percentage": 20}})", "p")),
            "p:1:41: exception.rate: expected percentage or rate, not both, got 0.2");
  EXPECT_EQ(Err(ReadFailureLambda(R"({"exception": {"enabled": true, "percentage": 12.5}})", "p")),
            "p:1:47: exception.percentage: expected an integer in [0, 100], got 12.5");
}

TEST(FailureLambdaFlags, EnabledIsRequired) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"latency": {"min_latency": 1}})", "p")),
            "p:1:13: latency.enabled: expected true or false, got nothing");
  EXPECT_EQ(Err(ReadFailureLambda(R"({"latency": {"enabled": "yes"}})", "p")),
            "p:1:25: latency.enabled: expected true or false, got \"yes\"");
}

TEST(FailureLambdaFlags, UnknownModeAndFieldAreErrors) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"latncy": {"enabled": true}})", "p")),
            "p:1:2: latncy: unknown field; expected one of latency, timeout, diskspace, "
            "denylist, statuscode, exception, corruption");
  EXPECT_EQ(Err(ReadFailureLambda(R"({"statuscode": {"enabled": true, "statusCode": 404}})", "p")),
            "p:1:34: statuscode.statusCode: unknown field; expected one of enabled, percentage, "
            "rate, match, status_code");
  EXPECT_EQ(Err(ReadFailureLambda(R"({"latency": true})", "p")),
            "p:1:13: latency: expected an object, got true");
}

TEST(FailureLambdaFlags, MatchConditionsBecomeTags) {
  RuleSet rs = Ok(ReadFailureLambda(
      R"({"corruption": {"enabled": true, "percentage": 30, "body": "x", "match": [
           {"path": "requestContext.http.method", "value": "GET"},
           {"path": "requestContext.stage", "operator": "eq", "value": "prod"}]}})",
      "p"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].tags,
            (std::map<std::string, std::string>{{"event.requestContext.http.method", "GET"},
                                                {"event.requestContext.stage", "prod"}}));
  EXPECT_EQ(Err(ReadFailureLambda(
                R"({"latency": {"enabled": true, "match": [{"path": "a", "operator": "regex",
                    "value": "^G"}]}})",
                "p")),
            "p:1:67: latency.match[0].operator: expected \"eq\" (faultline matches tags by "
            "equality; exists, startsWith and regex have no equivalent), got \"regex\"");
}

TEST(FailureLambdaFlags, CorruptionNeedsABodyWhenEnabled) {
  EXPECT_EQ(Err(ReadFailureLambda(R"({"corruption": {"enabled": true}})", "p")),
            "p:1:16: corruption.body: expected the replacement body (faultline cannot mangle a "
            "body), got nothing");
  RuleSet rs = Ok(ReadFailureLambda(R"({"corruption": {"enabled": false}})", "p"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_FALSE(rs.rules[0].enabled);
}

TEST(FailureLambdaFlags, DenylistWithoutPatterns) {
  // Disabled and empty: nothing to say, no rule.
  EXPECT_TRUE(Ok(ReadFailureLambda(R"({"denylist": {"enabled": false}})", "p")).rules.empty());
  EXPECT_EQ(Err(ReadFailureLambda(R"({"denylist": {"enabled": true, "deny_list": []}})", "p")),
            "p:1:45: denylist.deny_list: expected a non-empty array of host regexes, got []");
  EXPECT_EQ(
      Err(ReadFailureLambda(R"({"denylist": {"enabled": true, "deny_list": ["a", 3]}})", "p")),
      "p:1:51: denylist.deny_list[1]: expected a string, got 3");
}

TEST(FailureLambdaFlags, SemanticChecksAreValidateRules) {
  // A bad regex is caught by ValidateRules, and reported like any rule file.
  std::string msg =
      Err(ReadFailureLambda(R"({"denylist": {"enabled": true, "deny_list": ["("]}})", "ssm:/p"));
  EXPECT_EQ(msg.rfind("ssm:/p: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("denylist[0]"), std::string::npos) << msg;
}

TEST(FailureLambdaFlags, EmptyObjectHasNoRules) {
  EXPECT_TRUE(Ok(ReadFailureLambda("{}", "p")).rules.empty());
}

// --- JSON errors ----------------------------------------------------------------

TEST(CompatJson, SyntaxErrorHasLineAndColumn) {
  std::string msg = Err(ReadFailureLambda("{\n  \"latency\": {\"enabled\": tru }\n}", "f.json"));
  EXPECT_EQ(msg.rfind("f.json:2:", 0), 0u) << msg;
  EXPECT_NE(msg.find("expected JSON: syntax error"), std::string::npos) << msg;
}

TEST(CompatJson, NestedFieldErrorPointsAtTheValue) {
  EXPECT_EQ(Err(ReadFailureLambda("{\"latency\": {\"enabled\": true,\n  \"min_latency\": \"x\"}}",
                                  "f.json")),
            "f.json:2:18: latency.min_latency: expected a number in [0, 86400000], got \"x\"");
}

TEST(CompatJson, RootMustBeAnObject) {
  EXPECT_EQ(Err(ReadFailureLambda("  [1]", "f.json")),
            "f.json:1:3: expected a JSON object, got [1]");
  EXPECT_EQ(Err(ReadChaosLambda("", "c.json")).rfind("c.json:1:1: expected JSON:", 0), 0u);
}

TEST(CompatJson, HostileInputIsAnErrorNotACrash) {
  EXPECT_FALSE(
      ReadFailureLambda(R"({"latency": {"enabled": true, "max_latency": 1e999}})", "p").ok());
  EXPECT_FALSE(ReadFailureLambda(std::string(100000, '['), "p").ok());
  EXPECT_FALSE(ReadChaosLambda(
                   R"({"is_enabled": true, "fault_type": "status_code", "error_code": 1e300})", "p")
                   .ok());
  EXPECT_FALSE(ReadFailureLambda(std::string("{\"a\0\": 1}", 9), "p").ok());
}

// --- chaos_lambda -------------------------------------------------------------

TEST(ChaosLambda, ReadmeExceptionConfig) {
  RuleSet rs = Ok(ReadChaosLambda(
      R"({"fault_type": "exception", "delay": 400, "is_enabled": true, "error_code": 404,
          "exception_msg": "This is chaos", "rate": 1})",
      "chaoslambda.config"));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].name, "chaos-lambda-exception");
  EXPECT_EQ(rs.rules[0].action, Action::kError);
  EXPECT_EQ(rs.rules[0].error.type, "Function.InjectedFault");
  EXPECT_EQ(rs.rules[0].error.message, "This is chaos");
  EXPECT_EQ(rs.rules[0].probability, 1);
}

TEST(ChaosLambda, LatencyAndStatusCode) {
  RuleSet lat = Ok(ReadChaosLambda(
      R"({"is_enabled": true, "fault_type": "latency", "delay": 400, "rate": 0.5})", "p"));
  ASSERT_EQ(lat.rules.size(), 1u);
  EXPECT_EQ(lat.rules[0].action, Action::kLatency);
  EXPECT_EQ(lat.rules[0].latency.shape, LatencySpec::Shape::kFixed);
  EXPECT_EQ(lat.rules[0].latency.ms, 400);
  EXPECT_EQ(lat.rules[0].probability, 0.5);

  RuleSet st = Ok(ReadChaosLambda(
      R"({"is_enabled": true, "fault_type": "status_code", "error_code": 404})", "p", "fn"));
  ASSERT_EQ(st.rules.size(), 1u);
  EXPECT_EQ(st.rules[0].name, "chaos-lambda-status_code");
  EXPECT_EQ(st.rules[0].action, Action::kStatus);
  EXPECT_EQ(st.rules[0].response.code, 404);
  EXPECT_EQ(st.rules[0].probability, 1);  // the documented default rate
  EXPECT_EQ(st.rules[0].target, "fn");
}

TEST(ChaosLambda, UnknownFaultTypeListsTheValidOnes) {
  EXPECT_EQ(Err(ReadChaosLambda(R"({"is_enabled": true, "fault_type": "statuscode"})", "p")),
            "p:1:36: fault_type: expected one of latency, exception, status_code, got "
            "\"statuscode\"");
  EXPECT_EQ(Err(ReadChaosLambda(R"({"is_enabled": true})", "p")),
            "p:1:1: fault_type: expected one of latency, exception, status_code, got nothing");
}

TEST(ChaosLambda, EnabledFlag) {
  EXPECT_EQ(Err(ReadChaosLambda(R"({"fault_type": "latency", "delay": 1})", "p")),
            "p:1:1: is_enabled: expected true or false, got nothing");
  RuleSet old = Ok(ReadChaosLambda(R"({"isEnabled": false, "fault_type": "latency"})", "p"));
  ASSERT_EQ(old.rules.size(), 1u);
  EXPECT_FALSE(old.rules[0].enabled);
  EXPECT_FALSE(ReadChaosLambda(R"({"isEnabled": true, "is_enabled": true, "fault_type": "latency",
                          "delay": 1})",
                               "p")
                   .ok());
}

TEST(ChaosLambda, FieldsOfTheChosenFaultAreRequiredAndTyped) {
  EXPECT_EQ(
      Err(ReadChaosLambda(R"({"is_enabled": true, "fault_type": "latency", "delay": 1.5})", "p")),
      "p:1:56: delay: expected an integer in [0, 86400000], got 1.5");
  EXPECT_EQ(Err(ReadChaosLambda(R"({"is_enabled": true, "fault_type": "exception"})", "p")),
            "p:1:1: exception_msg: expected a string, got nothing");
  EXPECT_EQ(Err(ReadChaosLambda(R"({"is_enabled": true, "fault_type": "latency", "delay": 1,
                                    "rate": 2})",
                                "p")),
            "p:2:45: rate: expected a number in [0, 1], got 2");
  // Fields of other faults are ignored, as chaos_lambda does.
  EXPECT_TRUE(ReadChaosLambda(R"({"is_enabled": true, "fault_type": "latency", "delay": 1,
                                  "error_code": "x"})",
                              "p")
                  .ok());
}

// --- chaos-lambda-extension ---------------------------------------------------

TEST(ChaosLambdaExtension, NothingSetNoRules) {
  EXPECT_TRUE(Ok(ReadChaosLambdaExtensionEnv(Env{{"PATH", "/bin"}})).rules.empty());
}

TEST(ChaosLambdaExtension, Latency) {
  RuleSet rs =
      Ok(ReadChaosLambdaExtensionEnv(Env{{"CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY", "true"},
                                         {"CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE", "2"},
                                         {"CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY", "0.5"}},
                                     "my-function"));
  ASSERT_EQ(rs.rules.size(), 1u);
  const Rule& r = rs.rules[0];
  EXPECT_EQ(r.name, "chaos-lambda-extension-latency");
  EXPECT_EQ(r.target, "my-function");
  EXPECT_EQ(r.action, Action::kLatency);
  EXPECT_EQ(r.latency.ms, 2000);
  EXPECT_EQ(r.probability, 0.5);
  EXPECT_TRUE(r.enabled);
}

TEST(ChaosLambdaExtension, DefaultsOfTheExtension) {
  RuleSet rs = Ok(ReadChaosLambdaExtensionEnv(
      Env{{"CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY", "TRUE"},
          {"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY", "true"}}));
  ASSERT_EQ(rs.rules.size(), 2u);
  EXPECT_EQ(rs.rules[0].latency.ms, 900000);
  EXPECT_EQ(rs.rules[0].probability, 0.9);
  const Rule& body = rs.rules[1];
  EXPECT_EQ(body.name, "chaos-lambda-extension-response");
  EXPECT_EQ(body.action, Action::kBody);
  EXPECT_TRUE(body.enabled);
  EXPECT_EQ(body.probability, 0.9);
  // Its json!({"statusCode": 500, "body": "hello, Chaos!!!"}) as serde_json
  // prints it: keys sorted. (Before v0.1.6 the body was {"message": ...}.)
  EXPECT_EQ(body.response.body, R"({"body":"hello, Chaos!!!","statusCode":500})");
}

TEST(ChaosLambdaExtension, ResponseBodyVerbatim) {
  RuleSet rs = Ok(ReadChaosLambdaExtensionEnv(
      Env{{"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY", "true"},
          {"CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY", "1"},
          {"CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE", R"({"statusCode": 503})"}}));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_TRUE(rs.rules[0].enabled);
  EXPECT_EQ(rs.rules[0].response.body, R"({"statusCode": 503})");
  EXPECT_EQ(rs.rules[0].probability, 1);
}

// The misspelled name of releases up to v0.1.6 switches nothing on (the
// extension's current code does not read it), but is never ignored
// silently: a warning names it, and a disabled rule shows the response
// fault that it meant.
TEST(ChaosLambdaExtension, TheOldMisspelledNameIsIgnoredWithAWarning) {
  std::vector<std::string> warnings;
  RuleSet rs = Ok(ReadChaosLambdaExtensionEnv(
      Env{{"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY", "true"}}, "fn", &warnings));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].name, "chaos-lambda-extension-response");
  EXPECT_FALSE(rs.rules[0].enabled);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY=\"true\": ignored: the "
            "misspelled name that chaos-lambda-extension read up to v0.1.6; its current code (and "
            "faultline) reads CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY, which is "
            "not set: the response rule is disabled");
}

TEST(ChaosLambdaExtension, WithBothSpellingsTheCurrentOneDecides) {
  std::vector<std::string> warnings;
  RuleSet rs = Ok(ReadChaosLambdaExtensionEnv(
      Env{{"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY", "true"},
          {"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY", "false"}},
      "fn", &warnings));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_TRUE(rs.rules[0].enabled);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("ENABLE_CHANGE_RESPONSE_BODY, which is set (true)"), std::string::npos)
      << warnings[0];
  // Nobody listening for warnings: the same rules.
  EXPECT_EQ(Ok(ReadChaosLambdaExtensionEnv(
                   Env{{"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY", "true"},
                       {"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY", "false"}},
                   "fn"))
                .rules,
            rs.rules);
  // A malformed old value is no error: the variable is not read.
  warnings.clear();
  EXPECT_TRUE(
      ReadChaosLambdaExtensionEnv(
          Env{{"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY", "yes"}}, "fn", &warnings)
          .ok());
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(ChaosLambdaExtension, NoWarningsWithoutTheOldName) {
  std::vector<std::string> warnings;
  Ok(ReadChaosLambdaExtensionEnv(
      Env{{"CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY", "true"},
          {"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY", "true"}},
      "fn", &warnings));
  EXPECT_TRUE(warnings.empty());
}

TEST(ChaosLambdaExtension, DisabledFeatureIsADisabledRule) {
  RuleSet rs =
      Ok(ReadChaosLambdaExtensionEnv(Env{{"CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE", "3"}}));
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_FALSE(rs.rules[0].enabled);
  EXPECT_EQ(rs.rules[0].latency.ms, 3000);
}

TEST(ChaosLambdaExtension, BadValuesNameTheVariable) {
  EXPECT_EQ(
      Err(ReadChaosLambdaExtensionEnv(Env{{"CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY", "yes"}})),
      "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY: expected true or false, got \"yes\"");
  EXPECT_EQ(
      Err(ReadChaosLambdaExtensionEnv(Env{{"CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE", "1.5"}})),
      "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE: expected whole seconds in [0, 86400], got "
      "\"1.5\"");
  EXPECT_EQ(Err(ReadChaosLambdaExtensionEnv(
                Env{{"CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY", "90%"}})),
            "CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY: expected a number in [0, 1], got "
            "\"90%\"");
  EXPECT_NE(Err(ReadChaosLambdaExtensionEnv(Env{{"CHAOS_EXTENSION__LAMBDA__LATENCY", "1"}}))
                .find("CHAOS_EXTENSION__LAMBDA__LATENCY: unknown chaos-lambda-extension "
                      "variable; expected one of CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY"),
            std::string::npos);
}

TEST(ChaosLambdaExtension, ReadsTheProcessEnvironment) {
  ASSERT_EQ(setenv("CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY", "true", 1), 0);
  ASSERT_EQ(setenv("CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE", "+7", 1), 0);
  Result<RuleSet> r = ReadChaosLambdaExtensionEnv("fn");
  unsetenv("CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY");
  unsetenv("CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE");
  RuleSet rs = Ok(r);
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].latency.ms, 7000);
  EXPECT_EQ(rs.rules[0].target, "fn");
}

// --- all readers ----------------------------------------------------------------

// What the readers produce is an ordinary rule set: it survives the rule file
// format (docs/compat.md shows readers' output as YAML).
TEST(CompatReaders, OutputRoundTripsThroughTheRuleFormat) {
  std::vector<RuleSet> sets = {
      Ok(ReadFailureLambda(kFlagsReadme, "p", "fn")),
      Ok(ReadFailureLambda(Classic("denylist"), "p")),
      Ok(ReadChaosLambda(R"({"is_enabled": true, "fault_type": "exception", "rate": 0.5,
                             "exception_msg": "This is chaos"})",
                         "p")),
      Ok(ReadChaosLambdaExtensionEnv(
          Env{{"CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY", "true"},
              {"CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY", "true"}})),
      Ok(ReadCompactRules("a=20%3*error(T: m)->2*status(503)->latency(1-2);b=2*off->timeout(5)",
                          "s")),
  };
  for (const RuleSet& rs : sets) {
    std::string yaml = ToYaml(rs);
    Result<RuleSet> back = ParseRules(yaml, "yaml");
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << yaml;
    EXPECT_EQ(back->rules, rs.rules) << yaml;
  }
}

// --- compact form -------------------------------------------------------------

TEST(CompactRules, DesignExample) {
  RuleSet rs = Ok(ReadCompactRules("redis.get=20%3*error(Conn refused);http:upstream=latency(250)",
                                   "FAULTLINE_FAULTS"));
  ASSERT_EQ(rs.rules.size(), 2u);
  const Rule& err = rs.rules[0];
  EXPECT_EQ(err.name, "redis.get");
  EXPECT_EQ(err.target, "redis.get");
  EXPECT_EQ(err.action, Action::kError);
  EXPECT_EQ(err.error.type, "Function.InjectedFault");
  EXPECT_EQ(err.error.message, "Conn refused");
  EXPECT_DOUBLE_EQ(err.probability, 0.2);
  EXPECT_EQ(err.limit, 3u);
  const Rule& lat = rs.rules[1];
  EXPECT_EQ(lat.name, "http:upstream");
  EXPECT_EQ(lat.action, Action::kLatency);
  EXPECT_EQ(lat.latency.shape, LatencySpec::Shape::kFixed);
  EXPECT_EQ(lat.latency.ms, 250);
  EXPECT_EQ(lat.probability, 1);
  EXPECT_EQ(lat.limit, 0u);
}

TEST(CompactRules, ChainsBecomeSuccessiveRules) {
  RuleSet rs = Ok(ReadCompactRules("db.*=5*status(503)->50%timeout(200)->drop", "s"));
  ASSERT_EQ(rs.rules.size(), 3u);
  EXPECT_EQ(rs.rules[0].name, "db.*/1");
  EXPECT_EQ(rs.rules[0].target, "db.*");
  EXPECT_EQ(rs.rules[0].action, Action::kStatus);
  EXPECT_EQ(rs.rules[0].response.code, 503);
  EXPECT_EQ(rs.rules[0].limit, 5u);
  EXPECT_EQ(rs.rules[1].name, "db.*/2");
  EXPECT_EQ(rs.rules[1].action, Action::kTimeout);
  EXPECT_EQ(rs.rules[1].timeout_buffer_ms, 200);
  EXPECT_EQ(rs.rules[1].probability, 0.5);
  EXPECT_EQ(rs.rules[2].name, "db.*/3");
  EXPECT_EQ(rs.rules[2].action, Action::kDrop);
}

TEST(CompactRules, LatencyForms) {
  RuleSet rs =
      Ok(ReadCompactRules("a=latency(100-400);b=latency(1.5s);c=sleep(20ms);d=delay(0)", "s"));
  ASSERT_EQ(rs.rules.size(), 4u);
  EXPECT_EQ(rs.rules[0].latency.shape, LatencySpec::Shape::kUniform);
  EXPECT_EQ(rs.rules[0].latency.min_ms, 100);
  EXPECT_EQ(rs.rules[0].latency.max_ms, 400);
  EXPECT_EQ(rs.rules[1].latency.ms, 1500);
  EXPECT_EQ(rs.rules[2].latency.ms, 20);
  EXPECT_EQ(rs.rules[3].latency.ms, 0);
}

TEST(CompactRules, ErrorTypeAndMessage) {
  RuleSet rs =
      Ok(ReadCompactRules("a=error(ConnectionRefused: no route);b=error(failed: disk full);c=error;"
                          "d=return(Function.Timeout: late);e=error(x;y->z=w)",
                          "s"));
  ASSERT_EQ(rs.rules.size(), 5u);
  EXPECT_EQ(rs.rules[0].error.type, "ConnectionRefused");
  EXPECT_EQ(rs.rules[0].error.message, "no route");
  EXPECT_EQ(rs.rules[1].error.type, "Function.InjectedFault");
  EXPECT_EQ(rs.rules[1].error.message, "failed: disk full");
  EXPECT_EQ(rs.rules[2].error, ErrorSpec{});
  EXPECT_EQ(rs.rules[3].error.type, "Function.Timeout");
  EXPECT_EQ(rs.rules[3].error.message, "late");
  EXPECT_EQ(rs.rules[4].error.message, "x;y->z=w");
}

TEST(CompactRules, ArgumentlessActions) {
  RuleSet rs = Ok(ReadCompactRules(" a = 50% reset ; b=throttle; c = timeout ;;", "s"));
  ASSERT_EQ(rs.rules.size(), 3u);
  EXPECT_EQ(rs.rules[0].action, Action::kReset);
  EXPECT_EQ(rs.rules[0].probability, 0.5);
  EXPECT_EQ(rs.rules[1].action, Action::kThrottle);
  EXPECT_EQ(rs.rules[2].action, Action::kTimeout);
  EXPECT_EQ(Err(ReadCompactRules("a=drop(1)", "s")), "s:1:7: a: drop: expected no argument");
}

TEST(CompactRules, Off) {
  EXPECT_TRUE(Ok(ReadCompactRules("a=off", "s")).rules.empty());
  RuleSet skip = Ok(ReadCompactRules("a=2*off->1*off->error(x)->latency(5)->off", "s"));
  ASSERT_EQ(skip.rules.size(), 2u);
  EXPECT_EQ(skip.rules[0].name, "a/1");
  EXPECT_EQ(skip.rules[0].skip, 3u);
  EXPECT_EQ(skip.rules[1].skip, 3u);
  EXPECT_EQ(Err(ReadCompactRules("a=50%off->error", "s")),
            "s:1:3: a: expected off without a probability (faultline cannot express a random "
            "off)");
  EXPECT_EQ(Err(ReadCompactRules("a=off->error", "s")),
            "s:1:8: a: expected nothing after an unconditional off (it would never run)");
  EXPECT_EQ(Err(ReadCompactRules("a=error->off->drop", "s")),
            "s:1:10: a: expected off only at the start or the end of a chain");
}

TEST(CompactRules, ErrorsGiveTheColumn) {
  EXPECT_EQ(Err(ReadCompactRules("redis.get=20%3*explode(x)", "FAULTLINE_FAULTS")),
            "FAULTLINE_FAULTS:1:16: redis.get: expected an action, one of latency, error, "
            "status, timeout, drop, reset, throttle, off (or sleep, delay, return), got "
            "\"explode\"");
  EXPECT_EQ(Err(ReadCompactRules("a=drop;b=200%drop", "s")),
            "s:1:10: b: probability: expected a percentage in [0, 100], got \"200%\"");
  EXPECT_EQ(Err(ReadCompactRules("a=0*drop", "s")),
            "s:1:3: a: count: expected a whole number >= 1, got \"0*\"");
  EXPECT_EQ(Err(ReadCompactRules("a=status(99)", "s")),
            "s:1:10: a: status: expected a status code in [100, 599], got \"99\"");
  EXPECT_EQ(Err(ReadCompactRules("a=status", "s")),
            "s:1:9: a: status: expected a status code in [100, 599], got nothing");
  EXPECT_EQ(Err(ReadCompactRules("a=latency(400-100)", "s")),
            "s:1:11: a: latency: expected milliseconds or a range min-max (at most 86400000 ms, "
            "min <= max), got \"400-100\"");
}

TEST(CompactRules, StructuralErrors) {
  EXPECT_EQ(Err(ReadCompactRules("a=drop;latency(5)", "s")),
            "s:1:8: expected point=actions, got \"latency(5)\"");
  EXPECT_EQ(Err(ReadCompactRules("=drop", "s")),
            "s:1:1: expected an injection point name before '='");
  EXPECT_EQ(Err(ReadCompactRules("a=error(x", "s")), "s:1:8: expected a ')' to close this '('");
  EXPECT_EQ(Err(ReadCompactRules("a=error)x", "s")),
            "s:1:8: expected no ')' without a matching '('");
  EXPECT_EQ(Err(ReadCompactRules("a=error(x)y", "s")),
            "s:1:11: a: expected nothing after ')', got \"y\"");
  EXPECT_EQ(Err(ReadCompactRules("a=drop->", "s")), "s:1:9: a: expected an action, got nothing");
  EXPECT_EQ(Err(ReadCompactRules("a=drop;b=reset;a=throttle", "s")),
            "s:1:16: a: already configured at 1:1; chain its actions with ->");
  EXPECT_EQ(Err(ReadCompactRules("my point=drop", "s")),
            "s:1:3: my point: expected an injection point name without spaces");
}

TEST(CompactRules, EmptySpecAndLines) {
  EXPECT_TRUE(Ok(ReadCompactRules("", "s")).rules.empty());
  EXPECT_TRUE(Ok(ReadCompactRules(" ; ;\n", "s")).rules.empty());
  EXPECT_EQ(Err(ReadCompactRules("a=drop;\nb=bad", "faults.txt")).rfind("faults.txt:2:3: b: ", 0),
            0u);
}

}  // namespace
}  // namespace faultline
