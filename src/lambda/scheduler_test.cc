// The scheduler end to end: reserved concurrency applies at once, whatever
// environments are warm (the platform experiment AWS's chaos demos run).
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;

class SchedulerTest : public EmulatorFixture {
 protected:
  // Starts `n` invocations of `ms` each and waits (bounded) until `running`
  // (default: n) invocations run.
  std::vector<std::future<http::Response>> Busy(int n, int ms, int running = 0) {
    if (running == 0) running = n;
    std::vector<std::future<http::Response>> calls;
    for (int i = 0; i < n; ++i) {
      calls.push_back(std::async(std::launch::async, [this, ms] {
        return Invoke("slow", json{{"ms", ms}}.dump());
      }));
    }
    for (int i = 0; i < 1000 && Metrics("slow")["ConcurrentExecutions"] != running; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(Metrics("slow")["ConcurrentExecutions"], running);
    return calls;
  }
  void Reserve(int n) {
    ASSERT_EQ(Call(bhttp::verb::put, "/2017-10-31/functions/slow/concurrency",
                   json{{"ReservedConcurrentExecutions", n}}.dump())
                  .result(),
              bhttp::status::ok);
  }
  static std::string Reason(const http::Response& res) {
    return json::parse(res.body()).value("Reason", "");
  }
};

TEST_F(SchedulerTest, ZeroThrottlesAWarmFunction) {
  Start({ExampleFunction("slow", "sleep")});
  for (auto& c : Busy(3, 300)) EXPECT_EQ(c.get().result(), bhttp::status::ok);
  EXPECT_EQ(Metrics("slow")["ColdStarts"], 3);  // three warm, idle environments
  Reserve(0);
  for (int i = 0; i < 3; ++i) {
    auto res = Invoke("slow", R"({"ms": 1})");
    EXPECT_EQ(res.result(), bhttp::status::too_many_requests);
    EXPECT_EQ(Reason(res), "ReservedFunctionConcurrentInvocationLimitExceeded");
  }
  EXPECT_EQ(Metrics("slow")["Throttles"], 3);
  ASSERT_EQ(Call(bhttp::verb::delete_, "/2017-10-31/functions/slow/concurrency").result(),
            bhttp::status::no_content);
  EXPECT_EQ(Invoke("slow", R"({"ms": 1})").result(), bhttp::status::ok);  // lifted at once
  EXPECT_EQ(Metrics("slow")["ColdStarts"], 3);                            // and still warm
}

TEST_F(SchedulerTest, OneRunsOneAtATimeHoweverManyAreWarm) {
  Start({ExampleFunction("slow", "sleep", /*timeout_s=*/10)});
  for (auto& c : Busy(3, 300)) EXPECT_EQ(c.get().result(), bhttp::status::ok);
  Reserve(1);
  auto running = Busy(1, 3000);  // holds the one slot
  for (int i = 0; i < 3; ++i) {
    auto res = Invoke("slow", R"({"ms": 1})");
    EXPECT_EQ(res.result(), bhttp::status::too_many_requests) << "warm environments are idle";
    EXPECT_EQ(Reason(res), "ReservedFunctionConcurrentInvocationLimitExceeded");
  }
  EXPECT_EQ(Metrics("slow")["ConcurrentExecutions"], 1);
  ASSERT_EQ(Call(bhttp::verb::delete_, "/2017-10-31/functions/slow/concurrency").result(),
            bhttp::status::no_content);
  // Lifted while one runs: the idle warm environments take the next ones.
  auto more = Busy(3, 200, /*running=*/4);
  for (auto& c : more) EXPECT_EQ(c.get().result(), bhttp::status::ok);
  EXPECT_EQ(running[0].get().result(), bhttp::status::ok);
  EXPECT_EQ(Metrics("slow")["ColdStarts"], 4);
}

TEST_F(SchedulerTest, ThrottledEventsWaitAndRunWhenCapacityReturns) {
  Start({ExampleFunction("slow", "sleep")});
  Reserve(0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Invoke("slow", R"({"ms": 1})", {{"X-Amz-Invocation-Type", "Event"}}).result(),
              bhttp::status::accepted);
  }
  EXPECT_EQ(Metrics("slow")["Invocations"], 0);
  ASSERT_EQ(Call(bhttp::verb::delete_, "/2017-10-31/functions/slow/concurrency").result(),
            bhttp::status::no_content);
  for (int i = 0; i < 1000 && Metrics("slow")["Invocations"] != 5; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Metrics("slow")["Invocations"], 5);
  EXPECT_EQ(Metrics("slow")["Errors"], 0);
}

TEST_F(SchedulerTest, AReservationKeepsAwsUnreservedMinimum) {
  Start({ExampleFunction("slow", "sleep")});
  auto res = Call(bhttp::verb::put, "/2017-10-31/functions/slow/concurrency",
                  R"({"ReservedConcurrentExecutions": 901})");
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
  EXPECT_EQ(res["x-amzn-ErrorType"], "InvalidParameterValueException");
  EXPECT_EQ(json::parse(res.body())["message"],
            "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100].");
  Reserve(900);
  json settings = json::parse(Call(bhttp::verb::get, "/2016-08-19/account-settings/").body());
  EXPECT_EQ(settings["AccountLimit"]["ConcurrentExecutions"], 1000);
  EXPECT_EQ(settings["AccountLimit"]["UnreservedConcurrentExecutions"], 100);
  EXPECT_EQ(settings["AccountUsage"]["FunctionCount"], 1);
}

}  // namespace
}  // namespace faultline::lambda
