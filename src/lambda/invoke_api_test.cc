// The Invoke API's input and answers as AWS gives them: payloads that are
// not JSON refused before anything runs, a request id on every answer, the
// caller's trace id passed on, AWS's payload limits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace bhttp = http::bhttp;

class InvokeApiTest : public EmulatorFixture {};

TEST_F(InvokeApiTest, APayloadThatIsNotJsonIsRefusedBeforeAnythingRuns) {
  Start({ExampleFunction("echo", "echo")});
  for (const char* payload : {"not json at all", "{\"a\":", "{} trailing"}) {
    auto res = Invoke("echo", payload);
    EXPECT_EQ(res.result(), bhttp::status::bad_request) << payload;
    EXPECT_EQ(res["x-amzn-ErrorType"], "InvalidRequestContentException");
    EXPECT_FALSE(res["x-amzn-RequestId"].empty());
    const std::string message = json::parse(res.body())["message"];
    EXPECT_TRUE(message.starts_with("Could not parse request body into json: ")) << message;
  }
  auto event = Invoke("echo", "nope", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(event.result(), bhttp::status::bad_request);
  const json m = Metrics("echo");
  EXPECT_EQ(m["Invocations"], 0);
  EXPECT_EQ(m["ColdStarts"], 0);  // no function ran, none started
  // An empty body is {} on AWS.
  EXPECT_EQ(Invoke("echo", "").body(), "{}");
}

TEST_F(InvokeApiTest, EveryAnswerCarriesARequestId) {
  Start({ExampleFunction("echo", "echo")});
  const std::vector<http::Response> answers = {
      Invoke("echo"),
      Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "DryRun"}}),
      Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "Event"}}),
      Invoke("missing"),
      Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "Sometimes"}}),
      Call(bhttp::verb::get, "/2015-03-31/functions/echo/configuration"),
      Call(bhttp::verb::get, "/2015-03-31/functions/missing/configuration"),
      Call(bhttp::verb::get, "/no/such/operation"),
  };
  std::set<std::string> ids;
  for (const auto& res : answers) {
    const std::string id(res["x-amzn-RequestId"]);
    EXPECT_EQ(id.size(), 36u) << res;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), answers.size());  // each its own
  EXPECT_EQ(answers[1].result(), bhttp::status::no_content);
}

TEST_F(InvokeApiTest, TheCallersTraceIdReachesTheFunction) {
  Start({ExampleFunction("env", "env")});
  const std::string root = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700";
  auto res =
      Invoke("env", "{}", {{"X-Amzn-Trace-Id", root + ";Parent=9a9197af755a6419;Sampled=1"}});
  EXPECT_EQ(json::parse(res.body())["_X_AMZN_TRACE_ID"],
            root + ";Parent=9a9197af755a6419;Sampled=1");
  // Only a Root: Lambda adds a Parent and Sampled.
  const std::string given =
      json::parse(Invoke("env", "{}", {{"X-Amzn-Trace-Id", root}}).body())["_X_AMZN_TRACE_ID"];
  EXPECT_TRUE(given.starts_with(root + ";Parent=")) << given;
  EXPECT_NE(given.find(";Sampled=0"), std::string::npos) << given;
  // None: a new one.
  const std::string fresh = json::parse(Invoke("env").body())["_X_AMZN_TRACE_ID"];
  EXPECT_TRUE(fresh.starts_with("Root=1-")) << fresh;
  EXPECT_EQ(fresh.find(root), std::string::npos);
}

TEST_F(InvokeApiTest, TheXRayVariablesAreSet) {
  Start({ExampleFunction("env", "env")});
  auto var = [&](const char* name) {
    return json::parse(Invoke("env", json{{"var", name}}.dump()).body())[name];
  };
  EXPECT_EQ(var("AWS_XRAY_CONTEXT_MISSING"), "LOG_ERROR");
  EXPECT_EQ(var("AWS_XRAY_DAEMON_ADDRESS"), "127.0.0.1:2000");
  EXPECT_EQ(var("_AWS_XRAY_DAEMON_ADDRESS"), "127.0.0.1");
  EXPECT_EQ(var("_AWS_XRAY_DAEMON_PORT"), "2000");
  const std::string stream = var("AWS_LAMBDA_LOG_STREAM_NAME");
  ASSERT_EQ(stream.size(), 10 + 10 + 32) << stream;  // 2026/11/25/[$LATEST]<32 hex>
  EXPECT_EQ(stream[4], '/');
  EXPECT_EQ(stream.substr(10, 10), "/[$LATEST]");
}

TEST_F(InvokeApiTest, PayloadLimitsAreAws) {
  Start({ExampleFunction("echo", "echo")});
  const std::string big = "\"" + std::string(1024 * 1024, 'x') + "\"";  // > 1 MB, < 6 MB
  auto event = Invoke("echo", big, {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(event.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(event["x-amzn-ErrorType"], "RequestEntityTooLargeException");
  EXPECT_NE(json::parse(event.body())["message"].get<std::string>().find(
                "byte payload is too large for the Event invocation type (limit 1048576 bytes)"),
            std::string::npos);
  EXPECT_EQ(Invoke("echo", big).body(), big);                     // synchronously: fine
  auto huge = Invoke("echo", std::string(8 * 1024 * 1024, ' '));  // past what is read at all
  EXPECT_EQ(huge.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(huge["x-amzn-ErrorType"], "RequestEntityTooLargeException");
  EXPECT_FALSE(huge["x-amzn-RequestId"].empty());
}

}  // namespace
}  // namespace faultline::lambda
