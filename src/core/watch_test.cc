#include "faultline/watch.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace faultline {
namespace {

namespace fs = std::filesystem;

class WatchTest : public ::testing::Test {
 protected:
  WatchTest() : engine_(EngineOptions{.clock = &clock_, .seed = 1}) {
    dir_ = fs::temp_directory_path() /
           ("faultline-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "faults.yaml").string();
  }
  ~WatchTest() override { fs::remove_all(dir_); }

  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::unique_ptr<RuleFileWatcher> StartWatcher(std::chrono::milliseconds interval = {}) {
    auto w = RuleFileWatcher::Start(
        WatchOptions{.path = path_,
                     .engine = &engine_,
                     .interval = interval,
                     .on_event = [this](const Status& s) { events_.push_back(s); }});
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  FakeClock clock_;
  Engine engine_;
  fs::path dir_;
  std::string path_;
  std::vector<Status> events_;
};

constexpr const char* kError = R"(faults:
  - name: down
    target: "redis.*"
    action: error
)";
constexpr const char* kLatency = R"(faults:
  - name: slow
    target: "redis.*"
    action: latency
    latency: {ms: 40}
)";

TEST_F(WatchTest, LoadsTheFileAtStart) {
  Write(kError);
  auto w = StartWatcher();
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
  EXPECT_EQ(w->reloads(), 1);
}

TEST_F(WatchTest, AppliesAChange) {
  Write(kError);
  auto w = StartWatcher();
  Write(kLatency);
  EXPECT_TRUE(w->CheckNow().ok());
  Plan p = engine_.Decide("redis.get");
  EXPECT_EQ(p.action(), Action::kLatency);
  EXPECT_EQ(p.delay(), std::chrono::milliseconds(40));
  EXPECT_EQ(w->reloads(), 2);
  EXPECT_TRUE(w->CheckNow().ok());  // unchanged: no reload
  EXPECT_EQ(w->reloads(), 2);
}

TEST_F(WatchTest, RejectsABadFileAndKeepsTheOldRules) {
  Write(kError);
  auto w = StartWatcher();
  Write("faults:\n  - name: bad\n    action: latency\n    latency: {ms: fast}\n");
  Status s = w->CheckNow();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path_ + ":4:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("previous rules stay active"), std::string::npos);
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
  EXPECT_FALSE(w->CheckNow().ok());
  ASSERT_EQ(events_.size(), 1u);  // reported once, not at every check
  EXPECT_FALSE(events_[0].ok());

  Write(kLatency);  // fixed: applied
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kLatency);
}

TEST_F(WatchTest, AMissingFileKeepsTheOldRules) {
  Write(kError);
  auto w = StartWatcher();
  fs::remove(path_);
  EXPECT_EQ(w->CheckNow().code(), Status::Code::kNotFound);
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
}

TEST_F(WatchTest, StartFailsOnABadFile) {
  Write("faults: [");
  auto w = RuleFileWatcher::Start(WatchOptions{.path = path_, .engine = &engine_});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find(path_), std::string::npos) << w.status().message();
  EXPECT_TRUE(engine_.Decide("redis.get").empty());
}

TEST_F(WatchTest, StartFailsOnAMissingFile) {
  auto w = RuleFileWatcher::Start(WatchOptions{.path = path_, .engine = &engine_});
  EXPECT_EQ(w.status().code(), Status::Code::kNotFound);
}

// The watcher's own thread picks a change up; bounded wait for the event.
TEST_F(WatchTest, BackgroundThreadReloads) {
  Write(kError);
  auto w = StartWatcher(std::chrono::milliseconds(5));
  Write(kLatency);
  for (int i = 0; i < 2000 && w->reloads() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(w->reloads(), 2);
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kLatency);
}

}  // namespace
}  // namespace faultline
