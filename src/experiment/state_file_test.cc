#include "experiment/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace faultline::experiment {
namespace {

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/state_file_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/faultline-state.jsonl";
  }
  std::string dir_, path_;
  FakeClock clock_;
};

TEST_F(StateFileTest, PendingUntilDoneAndReadableByAnotherProcessAfterACrash) {
  auto f = StateFile::Create(path_, "e.json", &clock_);
  ASSERT_TRUE(f.ok()) << f.status().message();
  Result<std::string> a = (*f)->Record({{"kind", "rules"}, {"endpoint", "x"}}, "arm on x");
  Result<std::string> b = (*f)->Record({{"kind", "concurrency"}}, "reserve 1");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*f)->Done(*a, "undone").ok());
  EXPECT_EQ((*f)->Pending().size(), 1u);
  // What `faultline rollback` reads, as if the runner had been killed now.
  Result<std::vector<StateEntry>> pending = ReadPending(path_);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].what, "reserve 1");
  EXPECT_EQ((*pending)[0].undo["kind"], "concurrency");
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileTest, AFailedUndoStaysPendingAndMarkDoneSettlesIt) {
  auto f = StateFile::Create(path_, "e.json", &clock_);
  ASSERT_TRUE(f.ok());
  Result<std::string> a = (*f)->Record({{"kind", "rules"}}, "arm");
  ASSERT_TRUE((*f)->Done(*a, "failed: connection refused").ok());
  EXPECT_FALSE((*f)->RemoveIfSettled());
  EXPECT_EQ(ReadPending(path_)->size(), 1u);
  ASSERT_TRUE(MarkDone(path_, *a, "undone", &clock_).ok());
  EXPECT_TRUE(ReadPending(path_)->empty());
}

TEST_F(StateFileTest, ATornLastLineIsIgnored) {
  {
    auto f = StateFile::Create(path_, "e.json", &clock_);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Record({{"kind", "rules"}}, "arm").ok());
  }
  std::ofstream(path_, std::ios::app) << R"({"id": "2", "undo": {"ki)";
  Result<std::vector<StateEntry>> pending = ReadPending(path_);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 1u);
}

TEST_F(StateFileTest, RefusesToOverwriteAndToReadSomethingElse) {
  ASSERT_TRUE(StateFile::Create(path_, "e.json", &clock_).ok());
  Result<std::unique_ptr<StateFile>> again = StateFile::Create(path_, "e.json", &clock_);
  EXPECT_FALSE(again.ok());
  const std::string other = dir_ + "/other.jsonl";
  std::ofstream(other) << "{\"title\": \"not a state file\"}\n";
  Result<std::vector<StateEntry>> r = ReadPending(other);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a faultline state file"), std::string::npos);
  EXPECT_EQ(ReadPending(dir_ + "/none").status().code(), Status::Code::kNotFound);
}

TEST_F(StateFileTest, RemovedOnceEverythingIsUndone) {
  auto f = StateFile::Create(path_, "e.json", &clock_);
  Result<std::string> a = (*f)->Record({{"kind", "rules"}}, "arm");
  ASSERT_TRUE((*f)->Done(*a, "undone").ok());
  EXPECT_TRUE((*f)->RemoveIfSettled());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST(PlanSettleTest, TheOldestValueOfEachThingNewestThingFirst) {
  const json arm = {{"kind", "rules"}, {"endpoint", "e1"}, {"rules", nullptr}};
  const json clear = {{"kind", "rules"}, {"endpoint", "e1"}, {"rules", "faults: [...]"}};
  const json c1 = {{"kind", "function-configuration"},
                   {"endpoint", "l"},
                   {"function", "f"},
                   {"configuration", {{"Timeout", 3}}}};
  const json c2 = {{"kind", "function-configuration"},
                   {"endpoint", "l"},
                   {"function", "f"},
                   {"configuration", {{"Timeout", 10}, {"MemorySize", 128}}}};
  const json conc = {{"kind", "function-concurrency"},
                     {"endpoint", "l"},
                     {"function", "f"},
                     {"reserved", nullptr}};
  std::vector<SettleStep> plan = PlanSettle({{"1", "arm", arm},
                                             {"2", "timeout", c1},
                                             {"3", "clear", clear},
                                             {"4", "both", c2},
                                             {"5", "reserve", conc}});
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].undo, conc);
  EXPECT_EQ(plan[1].undo["configuration"],
            (json{{"Timeout", 3}, {"MemorySize", 128}}));  // the oldest Timeout
  EXPECT_EQ(plan[1].ids, (std::vector<std::string>{"2", "4"}));
  EXPECT_EQ(plan[2].undo, arm);  // not the clear's "restore the rules"
  EXPECT_EQ(plan[2].ids, (std::vector<std::string>{"1", "3"}));
}

}  // namespace
}  // namespace faultline::experiment
