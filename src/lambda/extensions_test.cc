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
  FunctionConfig f;
  f.name = std::move(name);
  f.command = {std::string(FAULTLINE_EXAMPLES_BIN_DIR) + "/" + binary};
  f.handler = "echo.handler";
  f.timeout = std::chrono::seconds(timeout_s);
  f.working_dir = "/tmp";
  f.extensions = {{"python3", ExtensionScript(), "logger"}};
  return f;
}

class ExtensionsTest : public ::testing::Test {
 protected:
  void Start(std::vector<FunctionConfig> functions,
             std::chrono::milliseconds idle_timeout = std::chrono::minutes(10)) {
    EmulatorOptions options;
    options.config.functions = std::move(functions);
    options.config.idle_timeout = idle_timeout;
    options.log = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    auto e = Emulator::Start(io_, std::move(options));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    emulator_ = std::move(*e);
    url_ = http::Url{"127.0.0.1", emulator_->port(), "/"};
    thread_ = std::thread([this] { io_.run(); });
  }

  // As `faultline lambda serve` on SIGTERM: Stop() on the io thread, the
  // io_context stopped, then the emulator destroyed.
  void StopEmulator() {
    if (emulator_) {
      std::promise<void> stopped;
      http::asio::post(io_, [&] {
        emulator_->Stop();
        stopped.set_value();
      });
      stopped.get_future().wait();
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    emulator_.reset();
  }

  void TearDown() override {
    StopEmulator();
    // Every runtime and extension was reaped: this process has no child left.
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }

  http::Response Call(bhttp::verb verb, const std::string& target, std::string body = "") {
    http::Request req(verb, target, 11);
    req.body() = std::move(body);
    auto res = http::FetchSync(url_, std::move(req), 30s);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(*res) : http::Response();
  }
  http::Response Invoke(const std::string& name, std::string payload = "{}") {
    return Call(bhttp::verb::post, "/2015-03-31/functions/" + name + "/invocations",
                std::move(payload));
  }
  json Metrics(const std::string& name) {
    return json::parse(Call(bhttp::verb::get, "/metrics.json").body())["functions"][name];
  }
  int LogCount(std::string_view needle) {
    std::lock_guard<std::mutex> lock(log_mu_);
    int n = 0;
    for (const std::string& l : log_) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  bool LogHas(std::string_view needle) { return LogCount(needle) > 0; }
  // Polls the log (bounded: 10 s) until `needle` appears `times` times.
  bool WaitForLog(std::string_view needle, int times = 1) {
    for (int i = 0; i < 1000 && LogCount(needle) < times; ++i) std::this_thread::sleep_for(10ms);
    return LogCount(needle) >= times;
  }
  std::string LogText() {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::string out;
    for (const std::string& l : log_) out += l + "\n";
    return out;
  }

  http::asio::io_context io_;
  std::optional<http::asio::executor_work_guard<http::asio::io_context::executor_type>> work_{
      http::asio::make_work_guard(io_)};
  std::unique_ptr<Emulator> emulator_;
  http::Url url_;
  std::thread thread_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
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

}  // namespace
}  // namespace faultline::lambda
