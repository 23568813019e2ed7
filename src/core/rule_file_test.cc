// Rule files: a file that says nothing is refused, a file's ttls count from
// its modification time, and a file over the size limit is refused unread.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "faultline/rules.h"

namespace faultline {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::string FileErr(std::string_view text, const std::string& path = "f.yaml") {
  Result<RuleSet> r = ParseRuleFile(text, path);
  EXPECT_FALSE(r.ok()) << "parsed, but should not have:\n" << text;
  return r.ok() ? "" : r.status().message();
}

TEST(ParseRuleFileTest, AFileThatSaysNothingIsRefused) {
  EXPECT_EQ(FileErr(""),
            "f.yaml: no rules and no list (the file is empty): a rule file that says nothing is "
            "refused, as a file caught half-written would be; write \"faults: []\" for no rules");
  for (const char* text : {"\n  \n", "# nothing yet\n", "faults:\n", "faults: # soon\n", "{}"}) {
    EXPECT_NE(FileErr(text).find("only blanks, comments or \"faults:\" alone"), std::string::npos)
        << text;
  }
  EXPECT_EQ(FileErr("", "f.json").rfind("f.json:1:1: invalid JSON", 0), 0u);
  // ParseRules itself, for text that is not a file, still reads these as no rules.
  EXPECT_TRUE(ParseRules("", "FAULTLINE_RULES")->rules.empty());
}

TEST(ParseRuleFileTest, AnExplicitEmptyListMeansNoRules) {
  for (const char* text : {"faults: []\n", "[]", "# none\nfaults: []\n"}) {
    Result<RuleSet> r = ParseRuleFile(text, "f.yaml");
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_TRUE(r->rules.empty());
  }
  EXPECT_TRUE(ParseRuleFile(R"({"faults": []})", "f.json").ok());
  EXPECT_EQ(ParseRuleFile("faults: [{name: a, action: drop}]", "f.yaml")->rules.size(), 1u);
  // A file that does not parse says so as ParseRules does.
  EXPECT_NE(FileErr("faults: [").find("f.yaml:1:"), std::string::npos);
}

class RuleFileLoadTest : public ::testing::Test {
 protected:
  RuleFileLoadTest() {
    char tmpl[] = "/tmp/faultline_rule_file_test.XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/faults.yaml";
  }
  ~RuleFileLoadTest() override { std::filesystem::remove_all(dir_); }

  std::string dir_, path_;
};

TEST_F(RuleFileLoadTest, TtlsCountFromTheFilesModificationTime) {
  std::ofstream(path_) << "faults:\n"
                          "  - {name: brief, action: drop, ttl: 2s}\n"
                          "  - {name: pinned, action: drop, ttl: 2s, armed_at: "
                          "2026-11-25T10:00:00Z}\n"
                          "  - {name: forever, action: drop}\n";
  const timespec times[2] = {{1'795'600'000, 0}, {1'795'600'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  Result<RuleSet> r = LoadRuleFile(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rules[0].armed_at, 1'795'600'000 * kSec);
  EXPECT_EQ(r->rules[1].armed_at, 1'795'600'800 * kSec);  // the file's own word wins
  EXPECT_EQ(r->rules[2].armed_at, std::nullopt);
  EXPECT_EQ(ExpiredNote(r->rules[0], 1'795'600'010 * kSec),
            "expired at 2026-11-25T09:46:42Z (ttl 2s from 2026-11-25T09:46:40Z)");
}

TEST_F(RuleFileLoadTest, AnEmptyFileIsRefused) {
  std::ofstream(path_) << "";
  Result<RuleSet> r = LoadRuleFile(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(path_ + ": no rules and no list", 0), 0u)
      << r.status().message();
}

// A sparse file: refused by its size, unread (quick).
TEST_F(RuleFileLoadTest, AFileOverSixteenMibIsRefusedUnread) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 17 * 1024 * 1024), 0);
  ::close(fd);
  Result<RuleSet> r = LoadRuleFile(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path_ +
                ": 17825792 bytes (17.0 MiB) is over the limit of 16777216 bytes (16.0 MiB) "
                "for a rule or configuration file");
}

}  // namespace
}  // namespace faultline
