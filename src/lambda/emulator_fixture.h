// Test fixture shared by the emulator's end-to-end tests: an Emulator on its
// own io thread, on loopback, with its log captured; helpers to call its
// APIs and wait (bounded) for log lines; TearDown stops it the way
// `faultline lambda serve` does and asserts that no child process is left.
// Test-only.
#ifndef FAULTLINE_LAMBDA_EMULATOR_FIXTURE_H_
#define FAULTLINE_LAMBDA_EMULATOR_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "lambda/emulator.h"

namespace faultline::lambda {

inline std::string Example(const std::string& name) {
  return std::string(FAULTLINE_EXAMPLES_BIN_DIR) + "/" + name;
}

// A function running the example binary `binary`.
inline FunctionConfig ExampleFunction(std::string name, std::string binary, int timeout_s = 3) {
  FunctionConfig f;
  f.name = std::move(name);
  f.command = {Example(binary)};
  f.timeout = std::chrono::seconds(timeout_s);
  f.working_dir = "/tmp";
  return f;
}

class EmulatorFixture : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  // Starts the emulator with `functions`; `tweak` may change other options.
  void Start(std::vector<FunctionConfig> functions,
             const std::function<void(EmulatorOptions&)>& tweak = {}) {
    EmulatorOptions options;
    options.config.functions = std::move(functions);
    options.log = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    if (tweak) tweak(options);
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

  http::Response Call(http::bhttp::verb verb, const std::string& target, std::string body = "",
                      const std::map<std::string, std::string>& headers = {}) {
    http::Request req(verb, target, 11);
    req.body() = std::move(body);
    for (const auto& [k, v] : headers) req.set(k, v);
    auto res = http::FetchSync(url_, std::move(req), std::chrono::seconds(30));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(*res) : http::Response();
  }
  http::Response Invoke(const std::string& name, std::string payload = "{}",
                        const std::map<std::string, std::string>& headers = {}) {
    return Call(http::bhttp::verb::post, "/2015-03-31/functions/" + name + "/invocations",
                std::move(payload), headers);
  }
  json Metrics(const std::string& name) {
    return json::parse(Call(http::bhttp::verb::get, "/metrics.json").body())["functions"][name];
  }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
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
    for (int i = 0; i < 1000 && LogCount(needle) < times; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
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

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_EMULATOR_FIXTURE_H_
