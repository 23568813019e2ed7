// Asynchronous invocation end to end, with AWS's timing scaled down
// (time_scale 0.001: a one-minute retry after 60 ms): retries, the event
// invoke configuration, destinations (a sink file, another function) and a
// dead-letter target.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;
namespace fs = std::filesystem;

class AsyncTest : public EmulatorFixture {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("faultline-async-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    EmulatorFixture::TearDown();
    fs::remove_all(dir_);
  }
  void StartFast(std::vector<FunctionConfig> functions) {
    Start(std::move(functions), [this](EmulatorOptions& o) {
      o.config.time_scale = 0.001;
      o.sinks_dir = (dir_ / "sinks").string();
    });
  }
  void Configure(const std::string& fn, const std::string& body,
                 const std::string& method = "PUT") {
    auto res = Call(method == "PUT" ? bhttp::verb::put : bhttp::verb::post,
                    "/2019-09-25/functions/" + fn + "/event-invoke-config", body);
    ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  }
  std::string Event(const std::string& fn, const std::string& payload) {
    auto res = Invoke(fn, payload, {{"X-Amz-Invocation-Type", "Event"}});
    EXPECT_EQ(res.result(), bhttp::status::accepted) << res.body();
    return std::string(res["X-Amzn-RequestId"]);
  }
  // The lines of a sink file once it has `n` (bounded: 10 s).
  std::vector<json> Lines(const fs::path& file, std::size_t n = 1) {
    std::vector<json> out;
    for (int i = 0; i < 1000; ++i, std::this_thread::sleep_for(10ms)) {
      out.clear();
      std::ifstream in(file);
      for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
      if (out.size() >= n) break;
    }
    return out;
  }
  static constexpr const char* kFailures = "arn:aws:sqs:us-east-1:000000000000:failures";
  fs::path dir_;
};

TEST_F(AsyncTest, AFailedEventIsTriedThreeTimesThenGoesToOnFailure) {
  StartFast({ExampleFunction("fail", "fail")});
  Configure("fail",
            json{{"DestinationConfig", {{"OnFailure", {{"Destination", kFailures}}}}}}.dump());
  const std::string id = Event("fail", R"({"n": 1})");
  const auto lines = Lines(dir_ / "sinks" / "failures.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  const json& r = lines[0];
  EXPECT_EQ(r["version"], "1.0");
  EXPECT_EQ(r["requestContext"]["requestId"], id);
  EXPECT_EQ(r["requestContext"]["condition"], "RetriesExhausted");
  EXPECT_EQ(r["requestContext"]["approximateInvokeCount"], 3);
  EXPECT_EQ(r["requestContext"]["functionArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:fail:$LATEST");
  EXPECT_EQ(r["requestPayload"], json::parse(R"({"n": 1})"));
  EXPECT_EQ(r["responseContext"]["functionError"], "Unhandled");
  EXPECT_EQ(r["responsePayload"]["errorType"], "Function.Boom");
  EXPECT_EQ(Metrics("fail")["Invocations"], 3);
  EXPECT_EQ(LogCount("START RequestId: " + id), 3);  // one request id for every attempt
  const auto mode = fs::status(dir_ / "sinks" / "failures.jsonl").permissions();
  EXPECT_EQ(mode & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
}

TEST_F(AsyncTest, NoRetriesAndADeadLetterFile) {
  FunctionConfig fail = ExampleFunction("fail", "fail");
  StartFast({fail});
  Configure("fail", R"({"MaximumRetryAttempts": 0})");
  const std::string dlq = "file://" + (dir_ / "dlq.jsonl").string();
  auto updated = Call(bhttp::verb::put, "/2015-03-31/functions/fail/configuration",
                      json{{"DeadLetterConfig", {{"TargetArn", dlq}}}}.dump());
  ASSERT_EQ(updated.result(), bhttp::status::ok) << updated.body();
  EXPECT_EQ(json::parse(updated.body())["DeadLetterConfig"]["TargetArn"], dlq);
  const std::string id = Event("fail", R"({"order": 7})");
  const auto lines = Lines(dir_ / "dlq.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["body"], R"({"order": 7})");  // the event itself, as AWS's DLQ message
  EXPECT_EQ(lines[0]["messageAttributes"]["RequestID"], id);
  EXPECT_NE(lines[0]["messageAttributes"]["ErrorMessage"].get<std::string>().find("Boom"),
            std::string::npos);
  EXPECT_EQ(Metrics("fail")["Invocations"], 1);
}

TEST_F(AsyncTest, OnSuccessToAnotherFunction) {
  StartFast({ExampleFunction("echo", "echo"), ExampleFunction("audit", "echo")});
  Configure("echo", R"({"DestinationConfig": {"OnSuccess": {"Destination":
                       "arn:aws:lambda:us-east-1:000000000000:function:audit"}}})");
  Configure("audit",
            json{{"DestinationConfig", {{"OnSuccess", {{"Destination", kFailures}}}}}}.dump());
  Event("echo", R"({"hello": "world"})");
  // audit ran with echo's record as its event, and its own record of that
  // (whose responsePayload is what audit answered: the record) is in the sink.
  const auto lines = Lines(dir_ / "sinks" / "failures.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  const json& echoed = lines[0]["responsePayload"];
  EXPECT_EQ(echoed["requestContext"]["condition"], "Success");
  EXPECT_EQ(echoed["requestPayload"], json::parse(R"({"hello": "world"})"));
  EXPECT_EQ(echoed["responsePayload"], json::parse(R"({"hello": "world"})"));
  EXPECT_EQ(Metrics("audit")["Invocations"], 1);
}

TEST_F(AsyncTest, ThrottledEventsAgeOut) {
  StartFast({ExampleFunction("echo", "echo")});
  ASSERT_EQ(Call(bhttp::verb::put, "/2017-10-31/functions/echo/concurrency",
                 R"({"ReservedConcurrentExecutions": 0})")
                .result(),
            bhttp::status::ok);
  Configure("echo", json{{"MaximumEventAgeInSeconds", 60},  // 60 ms here
                         {"DestinationConfig", {{"OnFailure", {{"Destination", kFailures}}}}}}
                        .dump());
  Event("echo", "{}");
  const auto lines = Lines(dir_ / "sinks" / "failures.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["requestContext"]["condition"], "EventAgeExceeded");
  EXPECT_EQ(lines[0]["requestContext"]["approximateInvokeCount"], 0);
  EXPECT_FALSE(lines[0].contains("responseContext"));
  EXPECT_EQ(Metrics("echo")["Invocations"], 0);
  EXPECT_GE(Metrics("echo")["Throttles"], 1);
}

TEST_F(AsyncTest, WhatNoDestinationTakesIsCountedAndLogged) {
  StartFast({ExampleFunction("fail", "fail")});
  Configure("fail", R"({"MaximumRetryAttempts": 0})");
  const std::string id = Event("fail", "{}");
  ASSERT_TRUE(WaitForLog("RequestId: " + id + " the Event invocation was given up"));
  const json m = Metrics("fail");
  EXPECT_EQ(m["AsyncEventsReceived"], 1);
  EXPECT_EQ(m["AsyncEventsDropped"], 1);
  EXPECT_NE(Call(bhttp::verb::get, "/metrics")
                .body()
                .find("faultline_lambda_async_events_dropped_total{function=\"fail\"} 1"),
            std::string::npos);
}

TEST_F(AsyncTest, TheConfigurationApi) {
  StartFast({ExampleFunction("echo", "echo")});
  auto none = Call(bhttp::verb::get, "/2019-09-25/functions/echo/event-invoke-config");
  EXPECT_EQ(none.result(), bhttp::status::not_found);
  EXPECT_EQ(json::parse(none.body())["Message"],
            "The function arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST doesn't "
            "have an EventInvokeConfig");
  EXPECT_EQ(Call(bhttp::verb::post, "/2019-09-25/functions/echo/event-invoke-config",
                 R"({"MaximumRetryAttempts": 1})")
                .result(),
            bhttp::status::not_found);  // Update needs one to update
  auto bad = Call(bhttp::verb::put, "/2019-09-25/functions/echo/event-invoke-config",
                  R"({"MaximumRetryAttempts": 5})");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_EQ(bad["x-amzn-ErrorType"], "ValidationException");
  Configure("echo", R"({"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 100})");
  Configure("echo", R"({"MaximumRetryAttempts": 0})", "POST");  // merges
  const json got =
      json::parse(Call(bhttp::verb::get, "/2019-09-25/functions/echo/event-invoke-config").body());
  EXPECT_EQ(got["MaximumRetryAttempts"], 0);
  EXPECT_EQ(got["MaximumEventAgeInSeconds"], 100);
  Configure("echo", R"({"MaximumRetryAttempts": 2})");  // Put replaces
  EXPECT_FALSE(
      json::parse(Call(bhttp::verb::get, "/2019-09-25/functions/echo/event-invoke-config").body())
          .contains("MaximumEventAgeInSeconds"));
  EXPECT_EQ(
      json::parse(Call(bhttp::verb::get, "/2019-09-25/functions/echo/event-invoke-config/list")
                      .body())["FunctionEventInvokeConfigs"]
          .size(),
      1u);
  EXPECT_EQ(Call(bhttp::verb::delete_, "/2019-09-25/functions/echo/event-invoke-config").result(),
            bhttp::status::no_content);
  EXPECT_EQ(
      Call(bhttp::verb::get, "/2019-09-25/functions/echo/event-invoke-config?Qualifier=9").result(),
      bhttp::status::not_found);
}

}  // namespace
}  // namespace faultline::lambda
