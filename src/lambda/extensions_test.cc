// The Extensions API end to end: an external extension (a Python script
// speaking the API by hand) started in every execution environment of a C++
// function, behind the real Invoke, Runtime and Extensions APIs on loopback.
// The extension prints what it sees; the tests read it from the log.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/client.h"
#include "lambda/emulator.h"
#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;

// Registers (argv[1] is its name) for INVOKE and SHUTDOWN, tries the API's
// error cases once, then prints every event. With EXT_HOLD_FILE set it holds
// each INVOKE until that file exists; on SHUTDOWN it exits.
constexpr std::string_view kExtension = R"PY(
import json, os, sys, time, urllib.request, urllib.error
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
def call(method, path, headers, body=None):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()
name = sys.argv[1]
status, headers, body = call("POST", "register", {"Lambda-Extension-Name": name},
                             b'{"events": ["INVOKE", "SHUTDOWN"]}')
ext_id = headers.get("Lambda-Extension-Identifier", "")
print("ext register:", status, len(ext_id), body, flush=True)
status, _, body = call("GET", "event/next",
                       {"Lambda-Extension-Identifier": "00000000-0000-4000-8000-000000000000"})
print("ext unknown:", status, body, flush=True)
status, _, body = call("GET", "event/next", {})
print("ext missing:", status, body, flush=True)
hold = os.environ.get("EXT_HOLD_FILE")
late = False
while True:
    status, _, body = call("GET", "event/next", {"Lambda-Extension-Identifier": ext_id})
    event = json.loads(body)
    if event["eventType"] == "INVOKE":
        print("ext event: INVOKE", event["requestId"], event["invokedFunctionArn"],
              event["tracing"]["type"], event["deadlineMs"] > 0, flush=True)
        if not late:
            late = True
            status, _, body = call("POST", "register", {"Lambda-Extension-Name": name + "-late"},
                                   b'{"events": ["INVOKE"]}')
            print("ext late:", status, body, flush=True)
        if hold:
            while not os.path.exists(hold):
                time.sleep(0.01)
            print("ext released", event["requestId"], flush=True)
    else:
        print("ext event: SHUTDOWN", event["shutdownReason"], event["deadlineMs"] > 0, flush=True)
        sys.exit(0)
)PY";

std::string ExtensionScript() {
  const std::string path = ::testing::TempDir() + "/faultline_test_extension.py";
  std::ofstream(path) << kExtension;
  return path;
}

FunctionConfig Fn(std::string name, std::string binary, int timeout_s = 3) {
  FunctionConfig f = ExampleFunction(std::move(name), std::move(binary), timeout_s);
  f.handler = "echo.handler";
  f.extensions = {{"python3", ExtensionScript(), "logger"}};
  return f;
}

class ExtensionsTest : public EmulatorFixture {
 protected:
  using EmulatorFixture::Start;
  void Start(std::vector<FunctionConfig> functions, std::chrono::milliseconds idle_timeout) {
    Start(std::move(functions),
          [idle_timeout](EmulatorOptions& o) { o.config.idle_timeout = idle_timeout; });
  }
};

TEST_F(ExtensionsTest, RegistersSeesEveryInvocationAndShutdownOnStop) {
  Start({Fn("echo", "echo")});
  auto first = Invoke("echo", R"({"n": 1})");
  EXPECT_EQ(first.body(), R"({"n": 1})");
  // Complete (the extension called event/next again): the environment is free.
  EXPECT_TRUE(WaitForLog("[echo] REPORT RequestId: " + std::string(first["X-Amzn-RequestId"])));
  auto second = Invoke("echo", R"({"n": 2})");
  EXPECT_EQ(second.body(), R"({"n": 2})");
  const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:echo";
  for (const auto* res : {&first, &second}) {
    const std::string id(res->at("X-Amzn-RequestId"));
    EXPECT_TRUE(WaitForLog("[echo] ext event: INVOKE " + id + " " + arn + " X-Amzn-Trace-Id True"))
        << LogText();
  }
  EXPECT_TRUE(
      LogHas("[echo] ext register: 200 36 "
             R"({"functionName":"echo","functionVersion":"$LATEST","handler":"echo.handler"})"));
  EXPECT_TRUE(LogHas("[echo] EXTENSION\tName: logger\tState: Ready\tEvents: [INVOKE,SHUTDOWN]"));
  EXPECT_TRUE(
      LogHas("[echo] ext unknown: 403 {\"errorMessage\":\"Unknown extension "
             "00000000-0000-4000-8000-000000000000\",\"errorType\":\"Extension."
             "UnknownExtensionIdentifier\"}"));
  EXPECT_TRUE(LogHas(
      "[echo] ext missing: 403 {\"errorMessage\":\"Missing Lambda-Extension-Identifier header\","
      "\"errorType\":\"Extension.MissingExtensionIdentifier\"}"));
  EXPECT_TRUE(
      LogHas("[echo] ext late: 403 {\"errorMessage\":\"Extension registration closed "
             "already\",\"errorType\":\"Extension.RegistrationClosed\"}"));
  EXPECT_EQ(Metrics("echo")["ColdStarts"], 1);
  EXPECT_FALSE(LogHas("ext event: SHUTDOWN"));
  StopEmulator();
  EXPECT_TRUE(LogHas("[echo] ext event: SHUTDOWN spindown True")) << LogText();
}

TEST_F(ExtensionsTest, RecycledEnvironmentsSendShutdown) {
  Start({Fn("echo", "echo")}, /*idle_timeout=*/200ms);
  EXPECT_EQ(Invoke("echo", "1").body(), "1");
  EXPECT_TRUE(WaitForLog("[echo] ext event: SHUTDOWN spindown")) << LogText();
  // A configuration change recycles the (new) idle environment too.
  EXPECT_EQ(Invoke("echo", "2").body(), "2");
  EXPECT_EQ(
      Call(bhttp::verb::put, "/2015-03-31/functions/echo/configuration", R"({"MemorySize": 256})")
          .result(),
      bhttp::status::ok);
  EXPECT_TRUE(WaitForLog("[echo] ext event: SHUTDOWN spindown", 2)) << LogText();
  EXPECT_EQ(Metrics("echo")["ColdStarts"], 2);
}

TEST_F(ExtensionsTest, ABusyExtensionDelaysTheReportNotTheCaller) {
  const std::string hold = ::testing::TempDir() + "/faultline_extension_hold";
  std::remove(hold.c_str());
  FunctionConfig f = Fn("echo", "echo");
  f.environment["EXT_HOLD_FILE"] = hold;
  Start({f});
  auto res = Invoke("echo", "\"held\"");
  EXPECT_EQ(res.body(), "\"held\"");  // the caller has its answer
  const std::string id(res["X-Amzn-RequestId"]);
  ASSERT_TRUE(WaitForLog("[echo] ext event: INVOKE " + id)) << LogText();
  // The extension has not called event/next again: the invocation is not
  // complete and the environment is still busy.
  EXPECT_FALSE(LogHas("REPORT RequestId: " + id));
  EXPECT_EQ(Metrics("echo")["ConcurrentExecutions"], 1);
  std::ofstream(hold) << "go";
  EXPECT_TRUE(WaitForLog("[echo] REPORT RequestId: " + id)) << LogText();
  EXPECT_TRUE(LogHas("[echo] ext released " + id));
  EXPECT_EQ(Metrics("echo")["ConcurrentExecutions"], 0);
  EXPECT_EQ(Invoke("echo", "2").body(), "2");  // the same environment, warm again
  EXPECT_EQ(Metrics("echo")["ColdStarts"], 1);
  std::remove(hold.c_str());
}

TEST_F(ExtensionsTest, TimeoutSendsShutdownWithReasonTimeout) {
  Start({Fn("slow", "sleep", /*timeout_s=*/1)});
  auto res = Invoke("slow", R"({"ms": 2000})");
  EXPECT_EQ(json::parse(res.body())["errorType"], "Sandbox.Timedout");
  EXPECT_TRUE(WaitForLog("[slow] ext event: SHUTDOWN timeout True")) << LogText();
  EXPECT_EQ(json::parse(Invoke("slow", R"({"ms": 1})").body())["slept_ms"], 1);
}

// An extension that fails its Init in one way, chosen by argv[1]:
//   never:      never registers
//   init-error: registers, then calls init/error
//   exit-error: registers, calls exit/error, exits 1
//   crash:      registers, exits 1
constexpr std::string_view kFailingExtension = R"PY(
import os, sys, time, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
mode = sys.argv[1]
def post(path, headers, body=b"{}"):
    req = urllib.request.Request(base + path, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req) as r:
        return r.status, r.headers
if mode == "never":
    time.sleep(60)
status, headers = post("register", {"Lambda-Extension-Name": "failing"}, b'{"events": ["INVOKE"]}')
ext_id = headers["Lambda-Extension-Identifier"]
if mode == "init-error":
    status, _ = post("init/error", {"Lambda-Extension-Identifier": ext_id,
                                    "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"})
    print("ext init/error:", status, flush=True)
    time.sleep(60)
if mode == "exit-error":
    status, _ = post("exit/error", {"Lambda-Extension-Identifier": ext_id,
                                    "Lambda-Extension-Function-Error-Type": "Extension.Fatal"})
    print("ext exit/error:", status, flush=True)
sys.exit(1)
)PY";

class ExtensionLifecycleTest : public EmulatorFixture {
 protected:
  // A function whose runtime says when it starts, with one failing extension.
  FunctionConfig Failing(const std::string& mode) {
    const std::string script = ::testing::TempDir() + "/faultline_failing_extension.py";
    std::ofstream(script) << kFailingExtension;
    FunctionConfig f = ExampleFunction("fn", "echo");
    f.command = {"/bin/sh", "-c", "echo runtime-started; exec " + Example("echo")};
    f.extensions = {{"python3", script, mode}};
    return f;
  }
  json InvokeJson() { return json::parse(Invoke("fn").body()); }
};

// Init: the runtime starts only once every external extension has
// registered; one that never does fails Init with a timeout.
TEST_F(ExtensionLifecycleTest, TheRuntimeWaitsForEveryExtensionToRegister) {
  Start({Failing("never")}, [](EmulatorOptions& o) { o.init_timeout = 500ms; });
  const json error = InvokeJson();
  EXPECT_EQ(error["errorType"], "Sandbox.Timedout");
  EXPECT_NE(error["errorMessage"].get<std::string>().find("Task timed out after 0.50 seconds"),
            std::string::npos)
      << error;
  EXPECT_TRUE(LogHas("[fn] INIT_REPORT Init Duration: ")) << LogText();
  EXPECT_TRUE(LogHas("\tPhase: init\tStatus: timeout"));
  EXPECT_FALSE(LogHas("runtime-started"));  // never started
}

TEST_F(ExtensionLifecycleTest, InitErrorFailsTheInvocationWithExtensionInitError) {
  Start({Failing("init-error")});
  const json error = InvokeJson();
  EXPECT_EQ(error["errorType"], "Extension.InitError");
  EXPECT_NE(error["errorMessage"].get<std::string>().find("Extension.ConfigInvalid"),
            std::string::npos)
      << error;
  EXPECT_TRUE(
      LogHas("[fn] EXTENSION\tName: failing\tState: InitError\tError Type: "
             "Extension.ConfigInvalid"))
      << LogText();
  EXPECT_EQ(Metrics("fn")["Errors"], 1);
}

TEST_F(ExtensionLifecycleTest, ExitAfterExitErrorIsExtensionExitError) {
  Start({Failing("exit-error")});
  const json error = InvokeJson();
  EXPECT_EQ(error["errorType"], "Extension.ExitError") << error;
  EXPECT_NE(error["errorMessage"].get<std::string>().find("Extension.Fatal"), std::string::npos);
  EXPECT_TRUE(LogHas("[fn] ext exit/error: 202")) << LogText();
}

TEST_F(ExtensionLifecycleTest, AnExtensionCrashingDuringInitIsExtensionCrash) {
  Start({Failing("crash")});
  const json error = InvokeJson();
  EXPECT_EQ(error["errorType"], "Extension.Crash") << error;
  EXPECT_NE(error["errorMessage"].get<std::string>().find("exit status 1"), std::string::npos);
  // The next invocation gets a new environment, and fails the same way.
  EXPECT_EQ(InvokeJson()["errorType"], "Extension.Crash");
  EXPECT_EQ(Metrics("fn")["ColdStarts"], 2);
}

TEST_F(ExtensionLifecycleTest, AnExtensionThatCannotStartIsExtensionLaunchError) {
  FunctionConfig f = ExampleFunction("fn", "echo");
  f.extensions = {{"/nonexistent/faultline-extension"}};
  Start({f});
  const json error = InvokeJson();
  EXPECT_EQ(error["errorType"], "Extension.LaunchError") << error;
  EXPECT_NE(error["errorMessage"].get<std::string>().find("/nonexistent/faultline-extension"),
            std::string::npos);
}

// Internal extensions: registered by the runtime process itself (after the
// external ones, before its first /next); the environment waits for them
// like for any extension, and registration closes at the runtime's /next.
TEST_F(ExtensionLifecycleTest, TheRuntimeMayRegisterInternalExtensions) {
  const std::string script = ::testing::TempDir() + "/faultline_internal_extension.py";
  std::ofstream(script) << R"PY(
import json, os, threading, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
def call(method, path, headers={}, body=None):
    req = urllib.request.Request(api + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req) as r:
        return r.headers, r.read()
headers, _ = call("POST", "/2020-01-01/extension/register", {"Lambda-Extension-Name": "inside"},
                  b'{"events": ["INVOKE"]}')
ext_id = headers["Lambda-Extension-Identifier"]
def extension():
    while True:
        _, event = call("GET", "/2020-01-01/extension/event/next", {"Lambda-Extension-Identifier": ext_id})
        print("internal got", json.loads(event)["eventType"], flush=True)
threading.Thread(target=extension, daemon=True).start()
while True:
    headers, body = call("GET", "/2018-06-01/runtime/invocation/next")
    rid = headers["Lambda-Runtime-Aws-Request-Id"]
    call("POST", "/2018-06-01/runtime/invocation/" + rid + "/response", body=body)
)PY";
  FunctionConfig f = ExampleFunction("fn", "echo");
  f.command = {"python3", script};
  Start({f});
  auto res = Invoke("fn", R"({"x": 1})");
  EXPECT_EQ(res.body(), R"({"x": 1})");
  EXPECT_TRUE(WaitForLog("[fn] internal got INVOKE")) << LogText();
  EXPECT_TRUE(LogHas("[fn] EXTENSION\tName: inside\tState: Ready\tEvents: [INVOKE]"));
}

}  // namespace
}  // namespace faultline::lambda
