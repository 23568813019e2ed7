// Asynchronous invocation's policy (pure): AWS's retry schedule, throttle
// backoff, event age, destinations and the invocation record.
#include "lambda/async_policy.h"

#include <gtest/gtest.h>

namespace faultline::lambda {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(AfterFailure, OneMinuteThenTwoThenGivenUp) {
  const RetryPolicy aws;  // 2 retries, 6 hours, AWS's timing
  Decision d = AfterFailure(1, 0ms, aws);
  EXPECT_EQ(d.condition, Condition::kRetry);
  EXPECT_EQ(d.delay, 60s);
  d = AfterFailure(2, 60s, aws);
  EXPECT_EQ(d.condition, Condition::kRetry);
  EXPECT_EQ(d.delay, 120s);
  EXPECT_EQ(AfterFailure(3, 180s, aws).condition, Condition::kRetriesExhausted);
  const RetryPolicy none{.max_retries = 0};
  EXPECT_EQ(AfterFailure(1, 0ms, none).condition, Condition::kRetriesExhausted);
  // A retry that would come after the event's maximum age: aged out.
  const RetryPolicy short_lived{.max_retries = 2, .max_age = 90s};
  EXPECT_EQ(AfterFailure(1, 0ms, short_lived).condition, Condition::kRetry);
  EXPECT_EQ(AfterFailure(2, 60s, short_lived).condition, Condition::kEventAgeExceeded);
}

TEST(AfterFailure, TheTimeScaleScalesEveryDelayAndAge) {
  const RetryPolicy fast{.time_scale = 0.001};
  EXPECT_EQ(AfterFailure(1, 0ms, fast).delay, 60ms);
  EXPECT_EQ(AfterFailure(2, 60ms, fast).delay, 120ms);
  const RetryPolicy fast_short{.max_age = 60s, .time_scale = 0.001};  // 60 ms of age
  EXPECT_EQ(AfterFailure(1, 10ms, fast_short).condition, Condition::kEventAgeExceeded);
}

TEST(AfterThrottle, DoublesFromOneSecondToFiveMinutes) {
  const RetryPolicy aws;
  EXPECT_EQ(AfterThrottle(1, 0ms, aws).delay, 1s);
  EXPECT_EQ(AfterThrottle(2, 1s, aws).delay, 2s);
  EXPECT_EQ(AfterThrottle(5, 15s, aws).delay, 16s);
  EXPECT_EQ(AfterThrottle(12, 1h, aws).delay, 300s);  // capped
  EXPECT_EQ(AfterThrottle(40, 1h, aws).delay, 300s);
  EXPECT_EQ(AfterThrottle(3, 6h, aws).condition, Condition::kEventAgeExceeded);
}

TEST(PolicyOf, TheConfigurationOrAwsDefaults) {
  RetryPolicy p = PolicyOf(nullptr, 1.0);
  EXPECT_EQ(p.max_retries, 2);
  EXPECT_EQ(p.max_age, 6h);
  const EventInvokeConfig c{.maximum_retry_attempts = 0, .maximum_event_age_s = 60};
  p = PolicyOf(&c, 0.5);
  EXPECT_EQ(p.max_retries, 0);
  EXPECT_EQ(p.max_age, 60s);
  EXPECT_EQ(p.time_scale, 0.5);
}

TEST(TargetOf, FunctionsAndSinks) {
  auto fn = TargetOf("arn:aws:lambda:us-east-1:000000000000:function:audit", "/s");
  ASSERT_TRUE(fn && std::holds_alternative<FunctionTarget>(*fn));
  EXPECT_EQ(std::get<FunctionTarget>(*fn).name, "audit");
  auto q = TargetOf("arn:aws:sqs:us-east-1:000000000000:failures", "/s");
  ASSERT_TRUE(q && std::holds_alternative<SinkTarget>(*q));
  EXPECT_EQ(std::get<SinkTarget>(*q).path, "/s/failures.jsonl");
  EXPECT_EQ(std::get<SinkTarget>(*TargetOf("arn:aws:events:us-east-1:1:event-bus/bus", "/s")).path,
            "/s/bus.jsonl");
  EXPECT_EQ(std::get<SinkTarget>(*TargetOf("file:///tmp/x.jsonl", "/s")).path, "/tmp/x.jsonl");
  EXPECT_FALSE(TargetOf("file://relative", "/s"));
  EXPECT_FALSE(TargetOf("arn:aws:dynamodb:us-east-1:1:table/t", "/s"));
  EXPECT_FALSE(TargetOf("arn:aws:sqs:us-east-1:1:..", "/s"));  // no way out of the sinks
  EXPECT_FALSE(TargetOf("https://example.com", "/s"));
}

TEST(ReadEventInvokeConfig, AwsRules) {
  auto exists = [](std::string_view arn) { return arn.ends_with(":audit"); };
  const std::string self = "arn:aws:lambda:us-east-1:1:function:me";
  auto error = [&](const char* body) {
    auto r = ReadEventInvokeConfig(json::parse(body), nullptr, self, exists);
    EXPECT_TRUE(std::holds_alternative<EventConfigError>(r)) << body;
    return std::holds_alternative<EventConfigError>(r) ? std::get<EventConfigError>(r).message : "";
  };
  EXPECT_EQ(error("{}"), "You must specify at least one of error handling or destination setting.");
  EXPECT_NE(error(R"({"MaximumRetryAttempts": 3})").find("less than or equal to 2"),
            std::string::npos);
  EXPECT_NE(error(R"({"MaximumEventAgeInSeconds": 59})").find("greater than or equal to 60"),
            std::string::npos);
  EXPECT_EQ(error(R"({"DestinationConfig":{"OnFailure":{"Destination":
                     "arn:aws:lambda:us-east-1:1:function:me"}}})"),
            "You can't specify the function as a destination for itself.");
  EXPECT_EQ(error(R"({"DestinationConfig":{"OnFailure":{"Destination":
                     "arn:aws:lambda:us-east-1:1:function:nope"}}})"),
            "The destination ARN arn:aws:lambda:us-east-1:1:function:nope is invalid.");
  auto put = ReadEventInvokeConfig(json::parse(R"({"MaximumRetryAttempts": 1,
      "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:lambda:us-east-1:1:function:audit"}}})"),
                                   nullptr, self, exists);
  ASSERT_TRUE(std::holds_alternative<EventInvokeConfig>(put));
  const EventInvokeConfig c = std::get<EventInvokeConfig>(put);
  // Update merges: the destination stays.
  auto update =
      ReadEventInvokeConfig(json::parse(R"({"MaximumEventAgeInSeconds": 120})"), &c, self, exists);
  const json shown = EventInvokeConfigJson(std::get<EventInvokeConfig>(update), self + ":$LATEST");
  EXPECT_EQ(shown["MaximumRetryAttempts"], 1);
  EXPECT_EQ(shown["MaximumEventAgeInSeconds"], 120);
  EXPECT_EQ(shown["DestinationConfig"]["OnSuccess"]["Destination"],
            "arn:aws:lambda:us-east-1:1:function:audit");
  EXPECT_EQ(shown["DestinationConfig"]["OnFailure"], json::object());
}

TEST(DestinationRecord, AwsShape) {
  const json r = DestinationRecord({.request_id = "id",
                                    .function_arn = "arn:f:$LATEST",
                                    .condition = Condition::kRetriesExhausted,
                                    .approximate_invoke_count = 3,
                                    .request_payload = R"({"a":1})",
                                    .executed_version = "$LATEST",
                                    .function_error = true,
                                    .response_payload = R"({"errorType":"Boom"})",
                                    .timestamp = "2026-12-02T07:19:31.000Z"});
  EXPECT_EQ(r["version"], "1.0");
  EXPECT_EQ(r["requestContext"]["condition"], "RetriesExhausted");
  EXPECT_EQ(r["requestContext"]["approximateInvokeCount"], 3);
  EXPECT_EQ(r["requestPayload"], json::parse(R"({"a":1})"));
  EXPECT_EQ(r["responseContext"]["statusCode"], 200);
  EXPECT_EQ(r["responseContext"]["functionError"], "Unhandled");
  EXPECT_EQ(r["responsePayload"]["errorType"], "Boom");
  const json aged = DestinationRecord({.condition = Condition::kEventAgeExceeded,
                                       .approximate_invoke_count = 0,
                                       .request_payload = "{}",
                                       .invoked = false});
  EXPECT_FALSE(aged.contains("responseContext"));
}

}  // namespace
}  // namespace faultline::lambda
