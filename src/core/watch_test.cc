#include "faultline/watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

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

// An empty file is what a reader sees of a file truncated to be rewritten:
// it is refused and the rules stay; an explicit empty list clears them.
TEST_F(WatchTest, AnEmptyFileKeepsThePreviousRulesAndAnEmptyListClears) {
  Write(kError);
  auto w = StartWatcher();
  Write("");
  Status s = w->CheckNow();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path_ + ": no rules and no list (the file is empty)"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("the previous rules stay active"), std::string::npos);
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
  Write("faults:\n");  // the first line of a rewrite
  EXPECT_FALSE(w->CheckNow().ok());
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
  ASSERT_EQ(events_.size(), 2u);
  Write("faults: []\n");
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_TRUE(engine_.Decide("redis.get").empty());
  EXPECT_TRUE(engine_.Rules().rules.empty());
}

TEST_F(WatchTest, AnEmptyFileAtStartIsRefused) {
  Write("");
  auto w = RuleFileWatcher::Start(WatchOptions{.path = path_, .engine = &engine_});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("no rules and no list"), std::string::npos);
}

// The file's time is set on the fake clock's scale: the engine reads only
// that clock.
void SetMtime(const std::string& path, TimeNs t) {
  const timespec times[2] = {{t / 1'000'000'000, t % 1'000'000'000},
                             {t / 1'000'000'000, t % 1'000'000'000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

constexpr const char* kBrief = R"(faults:
  - name: brief
    target: "redis.*"
    action: error
    ttl: 2s
)";

// A new process that loads an old rule file sees its ttl already spent.
TEST_F(WatchTest, ATtlCountsFromTheFilesModificationTime) {
  Write(kBrief);
  const TimeNs written = clock_.Now() - 10'000'000'000;  // 10 s ago
  SetMtime(path_, written);
  auto w = StartWatcher();
  ASSERT_EQ(engine_.Rules().rules.size(), 1u);
  EXPECT_EQ(engine_.Rules().rules[0].armed_at, written);
  EXPECT_TRUE(engine_.Decide("redis.get").empty());
  EXPECT_NE(ExpiredNote(engine_.Rules().rules[0], clock_.Now()).find("(ttl 2s from "),
            std::string::npos);
}

// Rewriting the file (even with the same text) arms it again.
TEST_F(WatchTest, RewritingTheFileReArmsItsTtl) {
  Write(kBrief);
  SetMtime(path_, clock_.Now());
  auto w = StartWatcher();
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
  clock_.Advance(std::chrono::seconds(3));
  EXPECT_TRUE(engine_.Decide("redis.get").empty());
  EXPECT_TRUE(w->CheckNow().ok());  // unchanged: still expired
  EXPECT_EQ(w->reloads(), 1);
  SetMtime(path_, clock_.Now());
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_EQ(w->reloads(), 2);
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
}

TEST_F(WatchTest, AFileOverTheSizeLimitKeepsThePreviousRules) {
  Write(kError);
  auto w = StartWatcher();
  fs::resize_file(path_, 17 * 1024 * 1024);  // sparse: quick
  Status s = w->CheckNow();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("17825792 bytes (17.0 MiB) is over the limit of 16777216 bytes"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(engine_.Decide("redis.get").action(), Action::kError);
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
