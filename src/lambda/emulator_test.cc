// The emulator end to end: real function processes (the C++ examples, a
// Python script) behind the real Invoke and Runtime APIs, on loopback.
#include "lambda/emulator.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "http/client.h"
#include "http/encoding.h"
#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;

FunctionConfig Fn(std::string name, std::string binary, int timeout_s = 3) {
  return ExampleFunction(std::move(name), std::move(binary), timeout_s);
}

class EmulatorTest : public EmulatorFixture {};

TEST_F(EmulatorTest, EchoRunsAndItsEnvironmentStaysWarm) {
  Start({Fn("echo", "echo")});
  auto first = Invoke("echo", R"({"hello":"world"})");
  EXPECT_EQ(first.result(), bhttp::status::ok);
  EXPECT_EQ(first.body(), R"({"hello":"world"})");
  EXPECT_EQ(first["X-Amz-Executed-Version"], "$LATEST");
  EXPECT_TRUE(first["X-Amz-Function-Error"].empty());
  auto second = Invoke("echo", "[1, 2]");  // any JSON, not only objects
  EXPECT_EQ(second.body(), "[1, 2]");
  json m = Metrics("echo");
  EXPECT_EQ(m["Invocations"], 2);
  EXPECT_EQ(m["ColdStarts"], 1);
  EXPECT_EQ(m["Errors"], 0);
}

TEST_F(EmulatorTest, ReportLinesAndTailLog) {
  Start({Fn("echo", "echo")});
  auto res = Invoke("echo", "{}", {{"X-Amz-Log-Type", "Tail"}});
  const std::string id(res["X-Amzn-RequestId"]);
  ASSERT_FALSE(id.empty());
  auto log = http::Base64Decode(std::string(res["X-Amz-Log-Result"]));
  ASSERT_TRUE(log.has_value());
  EXPECT_NE(log->find("START RequestId: " + id + " Version: $LATEST"), std::string::npos) << *log;
  EXPECT_NE(log->find("END RequestId: " + id), std::string::npos);
  EXPECT_NE(log->find("REPORT RequestId: " + id + "\tDuration: "), std::string::npos);
  EXPECT_NE(log->find("Billed Duration: "), std::string::npos);
  EXPECT_NE(log->find("Memory Size: 128 MB\tMax Memory Used: "), std::string::npos);
  EXPECT_NE(log->find("Init Duration: "), std::string::npos);  // a cold start
  auto warm = http::Base64Decode(
      std::string(Invoke("echo", "{}", {{"X-Amz-Log-Type", "Tail"}})["X-Amz-Log-Result"]));
  EXPECT_EQ(warm->find("Init Duration"), std::string::npos);
  EXPECT_TRUE(LogHas("[echo] REPORT RequestId: " + id));
}

TEST_F(EmulatorTest, TimeoutAnswersAsAwsAndReplacesTheEnvironment) {
  Start({Fn("slow", "sleep", /*timeout_s=*/1)});
  auto res = Invoke("slow", R"({"ms": 2000})");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  json body = json::parse(res.body());
  EXPECT_EQ(body["errorType"], "Sandbox.Timedout");
  EXPECT_NE(body["errorMessage"].get<std::string>().find("Task timed out after 1.00 seconds"),
            std::string::npos)
      << body;
  auto next = Invoke("slow", R"({"ms": 10})");
  EXPECT_EQ(json::parse(next.body())["slept_ms"], 10);
  json m = Metrics("slow");
  EXPECT_EQ(m["Timeouts"], 1);
  EXPECT_EQ(m["Errors"], 1);
  EXPECT_EQ(m["ColdStarts"], 2);
}

TEST_F(EmulatorTest, CrashIsRuntimeExitErrorWithTheStatus) {
  Start({Fn("crash", "crash")});
  auto res = Invoke("crash");
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  json body = json::parse(res.body());
  EXPECT_EQ(body["errorType"], "Runtime.ExitError");
  EXPECT_NE(body["errorMessage"].get<std::string>().find("exit status 3"), std::string::npos);
}

TEST_F(EmulatorTest, FunctionErrorPassesThrough) {
  Start({Fn("fail", "fail")});
  auto res = Invoke("fail");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  EXPECT_EQ(json::parse(res.body())["errorType"], "Function.Boom");
  EXPECT_EQ(Metrics("fail")["Errors"], 1);
}

TEST_F(EmulatorTest, MissingCommandFailsTheInvocationClearly) {
  FunctionConfig argv = Fn("argv", "does-not-exist");
  FunctionConfig shell = Fn("shell", "x");
  shell.command = {"/bin/sh", "-c", "./no-such-bootstrap"};
  Start({argv, shell});
  json a = json::parse(Invoke("argv").body());
  EXPECT_EQ(a["errorType"], "Runtime.InvalidEntrypoint");
  EXPECT_NE(a["errorMessage"].get<std::string>().find("does-not-exist"), std::string::npos) << a;
  json s = json::parse(Invoke("shell").body());
  EXPECT_EQ(s["errorType"], "Runtime.ExitError");
  EXPECT_NE(s["errorMessage"].get<std::string>().find("the command was not found"),
            std::string::npos)
      << s;
}

TEST_F(EmulatorTest, ApiErrorsHaveAwsShapes) {
  Start({Fn("echo", "echo")});
  auto missing = Invoke("nope");
  EXPECT_EQ(missing.result(), bhttp::status::not_found);
  EXPECT_EQ(missing["x-amzn-ErrorType"], "ResourceNotFoundException");
  EXPECT_NE(json::parse(missing.body())["Message"].get<std::string>().find(":function:nope"),
            std::string::npos);
  auto big = Invoke("echo", std::string(6 * 1024 * 1024 + 1, 'x'));
  EXPECT_EQ(big.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(big["x-amzn-ErrorType"], "RequestEntityTooLargeException");
  auto bad_type = Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "Sometimes"}});
  EXPECT_EQ(bad_type.result(), bhttp::status::bad_request);
  auto by_arn = Invoke("arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho", "1");
  EXPECT_EQ(by_arn.body(), "1");
}

TEST_F(EmulatorTest, DryRunAndEventInvocations) {
  Start({Fn("echo", "echo")});
  EXPECT_EQ(Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "DryRun"}}).result(),
            bhttp::status::no_content);
  for (int i = 0; i < 20; ++i) {
    auto res = Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "Event"}});
    ASSERT_EQ(res.result(), bhttp::status::accepted);
    EXPECT_FALSE(res["X-Amzn-RequestId"].empty());
  }
  // Accepted now, run soon: wait for them (bounded).
  for (int i = 0; i < 500 && Metrics("echo")["Invocations"] != 20; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Metrics("echo")["Invocations"], 20);
}

// Regression: Event invocations dispatched together must each get an
// environment of their own, within the reserved concurrency, and all run.
TEST_F(EmulatorTest, ManyEventInvocationsAllRunWithinTheReservedConcurrency) {
  FunctionConfig echo = Fn("echo", "echo");
  echo.reserved_concurrency = 2;
  Start({echo});
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "Event"}}).result(),
              bhttp::status::accepted);
  }
  for (int i = 0; i < 1000 && Metrics("echo")["Invocations"] != 200; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  json m = Metrics("echo");
  EXPECT_EQ(m["Invocations"], 200);
  EXPECT_EQ(m["Errors"], 0);
  EXPECT_EQ(m["Timeouts"], 0);
  EXPECT_LE(m["ColdStarts"], 2);
  EXPECT_LE(m["MaxConcurrentExecutions"], 2);
  for (int i = 0; i < 500 && Metrics("echo")["ConcurrentExecutions"] != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Metrics("echo")["ConcurrentExecutions"], 0);
}

TEST_F(EmulatorTest, ReservedConcurrencyThrottles) {
  FunctionConfig slow = Fn("slow", "sleep");
  slow.reserved_concurrency = 1;
  Start({slow});
  std::vector<std::future<http::Response>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(
        std::async(std::launch::async, [this] { return Invoke("slow", R"({"ms": 700})"); }));
  }
  int ok = 0, throttled = 0;
  for (auto& c : calls) {
    http::Response res = c.get();
    if (res.result() == bhttp::status::ok) ++ok;
    if (res.result() == bhttp::status::too_many_requests) {
      ++throttled;
      EXPECT_EQ(res["x-amzn-ErrorType"], "TooManyRequestsException");
      EXPECT_EQ(json::parse(res.body())["Reason"],
                "ReservedFunctionConcurrentInvocationLimitExceeded");
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(throttled, 1);
  EXPECT_EQ(ok + throttled, 4);
  json m = Metrics("slow");
  EXPECT_EQ(m["Throttles"], throttled);
  EXPECT_EQ(m["MaxConcurrentExecutions"], 1);
  EXPECT_NE(
      Call(bhttp::verb::get, "/metrics")
          .body()
          .find("faultline_lambda_throttles_total{function=\"slow\"} " + std::to_string(throttled)),
      std::string::npos);
}

TEST_F(EmulatorTest, ZeroReservedConcurrencyThrottlesEverything) {
  Start({Fn("echo", "echo")});
  EXPECT_EQ(Call(bhttp::verb::put, "/2017-10-31/functions/echo/concurrency",
                 R"({"ReservedConcurrentExecutions": 0})")
                .result(),
            bhttp::status::ok);
  EXPECT_EQ(Invoke("echo").result(), bhttp::status::too_many_requests);
  EXPECT_EQ(json::parse(Call(bhttp::verb::get, "/2019-09-30/functions/echo/concurrency").body()),
            json::parse(R"({"ReservedConcurrentExecutions": 0})"));
  EXPECT_EQ(Call(bhttp::verb::delete_, "/2017-10-31/functions/echo/concurrency").result(),
            bhttp::status::no_content);
  EXPECT_EQ(Call(bhttp::verb::get, "/2019-09-30/functions/echo/concurrency").body(), "{}");
  EXPECT_EQ(Invoke("echo").result(), bhttp::status::ok);
  auto bad = Call(bhttp::verb::put, "/2017-10-31/functions/echo/concurrency",
                  R"({"ReservedConcurrentExecutions": 5000})");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_EQ(bad["x-amzn-ErrorType"], "InvalidParameterValueException");
}

TEST_F(EmulatorTest, ConfigurationChangesApplyToNewEnvironments) {
  Start({Fn("env", "env")});
  json before = json::parse(Invoke("env").body());
  EXPECT_EQ(before["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
  auto updated = Call(bhttp::verb::put, "/2015-03-31/functions/env/configuration",
                      R"({"MemorySize": 512, "Timeout": 7, "Handler": "h.x",
                          "Environment": {"Variables": {"COLOUR": "blue"}}})");
  ASSERT_EQ(updated.result(), bhttp::status::ok) << updated.body();
  json config =
      json::parse(Call(bhttp::verb::get, "/2015-03-31/functions/env/configuration").body());
  EXPECT_EQ(config["MemorySize"], 512);
  EXPECT_EQ(config["Timeout"], 7);
  EXPECT_EQ(config["Handler"], "h.x");
  EXPECT_EQ(config["Environment"]["Variables"]["COLOUR"], "blue");
  EXPECT_EQ(config["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:env");
  json after = json::parse(Invoke("env", R"({"name": "COLOUR"})").body());
  EXPECT_EQ(after["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
  EXPECT_EQ(after["_HANDLER"], "h.x");
  EXPECT_EQ(Metrics("env")["ColdStarts"], 2);
  auto bad =
      Call(bhttp::verb::put, "/2015-03-31/functions/env/configuration", R"({"Timeout": 5000})");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  // A bad key refuses the whole change, naming the key; nothing is applied.
  for (const auto& [body, named] : std::vector<std::pair<std::string, std::string>>{
           {R"({"MemorySize": 1024, "Description": 5})", "Description: wrong type"},
           {R"({"MemorySize": 1024, "DeadLetterConfig": {"TargetArn": 7}})",
            "DeadLetterConfig.TargetArn: expected a string"},
           {R"({"MemorySize": 1024, "Environment": {"Variables": {"A": 1}}})",
            "Environment.Variables.A: expected a string"},
           {R"({"MemorySize": 1024, "Layers": []})", "Layers: not supported"}}) {
    auto refused = Call(bhttp::verb::put, "/2015-03-31/functions/env/configuration", body);
    EXPECT_EQ(refused.result(), bhttp::status::bad_request) << body;
    EXPECT_NE(refused.body().find(named), std::string::npos) << refused.body();
  }
  EXPECT_EQ(
      json::parse(
          Call(bhttp::verb::get, "/2015-03-31/functions/env/configuration").body())["MemorySize"],
      512);
  json list = json::parse(Call(bhttp::verb::get, "/2015-03-31/functions/").body());
  ASSERT_EQ(list["Functions"].size(), 1u);
  EXPECT_EQ(list["Functions"][0]["FunctionName"], "env");
  json get = json::parse(Call(bhttp::verb::get, "/2015-03-31/functions/env").body());
  EXPECT_EQ(get["Configuration"]["MemorySize"], 512);
}

// A runtime that breaks the protocol gets AWS's errors, and the emulator
// goes on. The function is a Python script speaking the Runtime API by hand.
TEST_F(EmulatorTest, ProtocolViolationsGetRuntimeApiErrors) {
  const std::string script = ::testing::TempDir() + "/faultline_bad_runtime.py";
  std::ofstream(script) << R"PY(
import os, urllib.request, urllib.error
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
def post(path, body=b"{}"):
    try:
        return urllib.request.urlopen(urllib.request.Request(api + path, data=body, method="POST")).status
    except urllib.error.HTTPError as e:
        return "%d %s" % (e.code, e.read().decode())
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
    print("wrong id:", post("not-" + rid + "/response"), flush=True)
    print("first:", post(rid + "/response", b'"answered"'), flush=True)
    print("twice:", post(rid + "/response"), flush=True)
)PY";
  FunctionConfig f = Fn("bad", "x");
  f.command = {"python3", script};
  Start({f});
  EXPECT_EQ(Invoke("bad").body(), "\"answered\"");
  for (int i = 0; i < 500 && !LogHas("twice:"); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(
      LogHas("[bad] wrong id: 400 {\"errorMessage\":\"Invalid request ID\","
             "\"errorType\":\"InvalidRequestID\"}"));
  EXPECT_TRUE(LogHas("[bad] first: 202"));
  EXPECT_TRUE(LogHas("[bad] twice: 403"));
  EXPECT_TRUE(LogHas("InvalidStateTransition"));
  EXPECT_EQ(Invoke("bad").body(), "\"answered\"");  // still serving
}

// AWS_LAMBDA_EXEC_WRAPPER: applied on managed runtimes, ignored (with a
// log line saying why) on OS-only ones, the default runtime included.
TEST_F(EmulatorTest, ExecWrapperOnlyOnManagedRuntimes) {
  const std::string wrapper = ::testing::TempDir() + "/faultline_wrapper.sh";
  std::ofstream(wrapper) << "#!/bin/sh\necho \"wrapped: $*\"\nexec \"$@\"\n";
  ASSERT_EQ(::chmod(wrapper.c_str(), 0755), 0);
  FunctionConfig managed = Fn("managed", "echo");
  managed.runtime = "python3.13";
  managed.exec_wrapper = wrapper;
  FunctionConfig os_only = Fn("osonly", "echo");
  os_only.exec_wrapper = wrapper;  // runtime: the default, provided.al2023
  Start({managed, os_only});
  EXPECT_EQ(Invoke("managed", "1").body(), "1");
  EXPECT_EQ(Invoke("osonly", "2").body(), "2");
  EXPECT_TRUE(LogHas("[managed] wrapped: " + Example("echo"))) << LogText();
  EXPECT_FALSE(LogHas("[osonly] wrapped"));
  EXPECT_TRUE(LogHas("[osonly] exec_wrapper " + wrapper +
                     " ignored: AWS ignores AWS_LAMBDA_EXEC_WRAPPER on OS-only runtimes "
                     "(runtime provided.al2023)"))
      << LogText();
}

}  // namespace
}  // namespace faultline::lambda
