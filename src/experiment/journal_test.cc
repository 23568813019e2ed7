#include "experiment/journal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace faultline::experiment {
namespace {

TEST(JournalTest, TimesAreWhatPythonsIsoformatWrites) {
  EXPECT_EQ(IsoTime(1'700'000'000'123'456'789), "2023-11-14T22:13:20.123456+00:00");
  EXPECT_EQ(IsoTime(1'700'000'000'000'000'000), "2023-11-14T22:13:20.000000+00:00");
}

TEST(JournalTest, ANewJournalHasChaosKeysInChaosOrder) {
  json j = NewJournal({{"title", "t"}}, 1'700'000'000'000'000'000);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"chaoslib-version", "platform", "node", "experiment", "start",
                                      "status", "deviated", "steady_states", "run", "rollbacks"}));
  EXPECT_TRUE(j["status"].is_null());
  EXPECT_EQ(j["steady_states"]["during"], json::array());
  EXPECT_EQ(j["platform"].get<std::string>().rfind("Linux-", 0), 0u);
}

TEST(JournalTest, WrittenWholeNotWritableByOthersAndReadBack) {
  const std::string dir = ::testing::TempDir() + "/journal_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/journal.json";
  const mode_t old = umask(0);
  const Status s = WriteJournal(path, NewJournal({{"title", "é"}}, 0));
  umask(old);
  ASSERT_TRUE(s.ok()) << s.message();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // Written whole: no temporary file stays beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::ifstream in(path);
  const json back = json::parse(in);
  EXPECT_EQ(back["experiment"]["title"], "é");
}

TEST(JournalTest, WritingWhereItCannotNamesThePath) {
  const Status s = WriteJournal("/nonexistent-dir/j.json", json::object());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/j.json"), std::string::npos);
}

}  // namespace
}  // namespace faultline::experiment
