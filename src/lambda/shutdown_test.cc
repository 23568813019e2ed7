// Nothing lost on shutdown: a graceful stop lets running invocations finish
// (or answers them in AWS's shape), reports the Event invocations it could
// not run, and leaves no process behind, not even one a function started in
// a session of its own.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;

class ShutdownTest : public EmulatorFixture {
 protected:
  // Emulator::Shutdown on the io thread; its report once done (bounded: 30 s).
  Emulator::ShutdownReport Shutdown(std::chrono::milliseconds grace) {
    std::promise<Emulator::ShutdownReport> done;
    http::asio::post(io_, [&] {
      emulator_->Shutdown(grace, [&](Emulator::ShutdownReport r) { done.set_value(r); });
    });
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(30s), std::future_status::ready);
    return f.get();
  }
  void WaitRunning(const std::string& fn, int n) {
    for (int i = 0; i < 1000 && Metrics(fn)["ConcurrentExecutions"] != n; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(Metrics(fn)["ConcurrentExecutions"], n);
  }
};

TEST_F(ShutdownTest, ARunningInvocationFinishesWithinTheGrace) {
  Start({ExampleFunction("slow", "sleep", /*timeout_s=*/10)});
  auto call = std::async(std::launch::async, [this] { return Invoke("slow", R"({"ms": 600})"); });
  WaitRunning("slow", 1);
  const Emulator::ShutdownReport report = Shutdown(10s);
  const http::Response res = call.get();
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(json::parse(res.body())["slept_ms"], 600);
  EXPECT_EQ(report.cut_off, 0);
  EXPECT_TRUE(report.events_not_run.empty());
}

TEST_F(ShutdownTest, PastTheGraceAnAwsErrorAnswersIt) {
  Start({ExampleFunction("slow", "sleep", /*timeout_s=*/10)});
  auto call = std::async(std::launch::async, [this] { return Invoke("slow", R"({"ms": 5000})"); });
  WaitRunning("slow", 1);
  const Emulator::ShutdownReport report = Shutdown(200ms);
  const http::Response res = call.get();
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  const json error = json::parse(res.body());
  EXPECT_EQ(error["errorType"], "Runtime.ExitError");
  EXPECT_NE(error["errorMessage"].get<std::string>().find("shutting down"), std::string::npos);
  EXPECT_EQ(report.cut_off, 1);
}

TEST_F(ShutdownTest, EventInvocationsItCouldNotRunAreReported) {
  FunctionConfig echo = ExampleFunction("echo", "echo");
  echo.reserved_concurrency = 0;  // nothing can run
  Start({echo});
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto res = Invoke("echo", "{}", {{"X-Amz-Invocation-Type", "Event"}});
    ASSERT_EQ(res.result(), bhttp::status::accepted);
    ids.insert(std::string(res["X-Amzn-RequestId"]));
  }
  const Emulator::ShutdownReport report = Shutdown(100ms);
  std::set<std::string> reported;
  for (const auto& [fn, id] : report.events_not_run) {
    EXPECT_EQ(fn, "echo");
    reported.insert(id);
  }
  EXPECT_EQ(reported, ids);
  EXPECT_TRUE(LogHas("[echo] shutdown: 3 accepted Event invocations were not run: "));
}

// The process state of `pid` ('R', 'S', 'Z', ...), or 0 once it is gone.
char State(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const std::size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? 0 : line[paren + 2];
}

TEST_F(ShutdownTest, AProcessStartedInItsOwnSessionDoesNotOutliveItsEnvironment) {
  Start({ExampleFunction("daemon", "daemon")});
  const int pid = json::parse(Invoke("daemon").body())["pid"];
  ASSERT_GT(pid, 1);
  ASSERT_NE(State(pid), 0) << "the sleep runs, outside the environment's process group";
  EXPECT_NE(::getpgid(pid), ::getpgid(::getpid()));
  StopEmulator();
  // Killed with its environment: gone, or a zombie left for init to reap.
  for (int i = 0; i < 200 && State(pid) != 0 && State(pid) != 'Z'; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  const char state = State(pid);
  EXPECT_TRUE(state == 0 || state == 'Z') << "state " << state;
  if (state != 0 && state != 'Z') ::kill(pid, SIGKILL);
}

}  // namespace
}  // namespace faultline::lambda
