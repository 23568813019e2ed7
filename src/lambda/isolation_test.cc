// A function cannot touch another function's sockets: a function process
// holds its stdio and its own connection to its Runtime API, nothing of the
// emulator's (the Invoke listener, other environments' Runtime APIs, the
// callers' connections).
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <set>

#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace bhttp = http::bhttp;

class IsolationTest : public EmulatorFixture {};

TEST_F(IsolationTest, AFunctionHoldsOnlyItsOwnDescriptors) {
  // Another function with a warm environment (its Runtime API listening)
  // and a caller's connection open while `fds` runs.
  Start({ExampleFunction("fds", "fds"), ExampleFunction("slow", "sleep")});
  auto busy = std::async(std::launch::async, [this] { return Invoke("slow", R"({"ms": 1500})"); });
  for (int i = 0; i < 500 && Metrics("slow")["ConcurrentExecutions"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto res = Invoke("fds");
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  const json fds = json::parse(res.body())["fds"];
  ASSERT_TRUE(fds.is_array()) << res.body();
  std::set<int> numbers;
  int sockets = 0;
  for (const json& fd : fds) {
    numbers.insert(fd["fd"].get<int>());
    const std::string target = fd["target"];
    if (target.starts_with("socket:")) {
      ++sockets;
      EXPECT_TRUE(fd["cloexec"].get<bool>()) << "the runtime client's socket " << fd.dump();
    }
    EXPECT_TRUE(fd["fd"].get<int>() <= 2 || target.starts_with("socket:") ||
                target.starts_with("anon_inode:") || target.starts_with("pipe:"))
        << "unexpected descriptor " << fd.dump();
  }
  EXPECT_TRUE(numbers.count(0) && numbers.count(1) && numbers.count(2)) << res.body();
  // The runtime client's own connection to its Runtime API; nothing more.
  EXPECT_LE(sockets, 1) << res.body();
  EXPECT_EQ(busy.get().result(), bhttp::status::ok);
}

}  // namespace
}  // namespace faultline::lambda
