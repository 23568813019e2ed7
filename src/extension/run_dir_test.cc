#include "extension/run_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace faultline::extension {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

class RunDirTest : public ::testing::Test {
 protected:
  RunDirTest() {
    char tmpl[] = "/tmp/faultline_run_dir_test.XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  ~RunDirTest() override { fs::remove_all(base_); }

  std::string RefusedBecause(const std::string& path) {
    auto d = RunDir::Open(path);
    EXPECT_FALSE(d.ok()) << path << " was not refused";
    return d.ok() ? "" : d.status().message();
  }

  std::string base_;
};

TEST_F(RunDirTest, CreatesAMissingDirectoryForThisUserOnly) {
  const std::string path = base_ + "/run";
  auto d = RunDir::Open(path);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(ModeOf(path) & 07777, 0700u);
  EXPECT_EQ((*d)->path(), path);
  EXPECT_TRUE(RunDir::Open(path).ok());  // and opens it again
}

TEST_F(RunDirTest, DefaultIsPerUser) {
  EXPECT_EQ(DefaultRunDir(), "/tmp/faultline-" + std::to_string(::geteuid()));
}

TEST_F(RunDirTest, RefusesALink) {
  const std::string real = base_ + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  const std::string link = base_ + "/link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  EXPECT_EQ(RefusedBecause(link), "run directory " + link + ": refused: it is a symbolic link");
}

TEST_F(RunDirTest, RefusesADirectoryOthersCanWriteTo) {
  const std::string path = base_ + "/open";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);
  EXPECT_EQ(RefusedBecause(path), "run directory " + path +
                                      ": refused: group or others can write to it (mode 0777, "
                                      "no sticky bit)");
  ASSERT_EQ(::chmod(path.c_str(), 0770), 0);
  EXPECT_NE(RefusedBecause(path).find("mode 0770"), std::string::npos);
  // Sticky (as /tmp): others cannot replace this user's files in it.
  ASSERT_EQ(::chmod(path.c_str(), 01777), 0);
  EXPECT_TRUE(RunDir::Open(path).ok());
}

TEST_F(RunDirTest, RefusesADirectoryOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const std::string path = base_ + "/theirs";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chown(path.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  EXPECT_EQ(RefusedBecause(path), fmt::format("run directory {}: refused: it is owned by uid {}, "
                                              "not by this user (uid 0)",
                                              path, nobody->pw_uid));
}

TEST_F(RunDirTest, RefusesAFile) {
  const std::string path = base_ + "/file";
  std::ofstream(path) << "x";
  EXPECT_NE(RefusedBecause(path).find("not a directory"), std::string::npos);
}

TEST_F(RunDirTest, WritesFilesOnlyThisUserCanReadInOneRename) {
  auto d = RunDir::Open(base_);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->WriteFile("faultline-proxy-x", "127.0.0.1:1\n").ok());
  const std::string path = base_ + "/faultline-proxy-x";
  EXPECT_EQ(Read(path), "127.0.0.1:1\n");
  EXPECT_TRUE(S_ISREG(ModeOf(path)));
  EXPECT_EQ(ModeOf(path) & 07777, 0600u);
  ASSERT_TRUE((*d)->WriteFile("faultline-proxy-x", "127.0.0.1:2\n").ok());
  EXPECT_EQ(Read(path), "127.0.0.1:2\n");
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(base_)) names.insert(e.path().filename());
  EXPECT_EQ(names, std::set<std::string>{"faultline-proxy-x"});  // no temporary left
  (*d)->Remove("faultline-proxy-x");
  EXPECT_FALSE(fs::exists(path));
}

// A link planted where a file goes is replaced, not followed: what it
// points at is untouched.
TEST_F(RunDirTest, APlantedLinkIsNotFollowed) {
  const std::string target = base_ + "/precious";
  std::ofstream(target) << "keep me";
  ASSERT_EQ(::chmod(target.c_str(), 0644), 0);
  const std::string run = base_ + "/run";
  auto d = RunDir::Open(run);
  ASSERT_TRUE(d.ok());
  const std::string planted = run + "/faultline-token-x";
  ASSERT_EQ(::symlink(target.c_str(), planted.c_str()), 0);
  ASSERT_TRUE((*d)->WriteFile("faultline-token-x", "secret\n").ok());
  EXPECT_EQ(Read(target), "keep me");
  EXPECT_EQ(ModeOf(target) & 07777, 0644u);
  EXPECT_TRUE(S_ISREG(ModeOf(planted)));
  EXPECT_EQ(Read(planted), "secret\n");
}

TEST(TokenTest, NewTokensAre256RandomBitsInHex) {
  auto a = NewToken();
  auto b = NewToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos) << *a;
  EXPECT_NE(*a, *b);
}

TEST(TokenTest, EqualsOnlyTheSameToken) {
  EXPECT_TRUE(TokenEquals("abc123", "abc123"));
  EXPECT_FALSE(TokenEquals("abc124", "abc123"));
  EXPECT_FALSE(TokenEquals("abc12", "abc123"));
  EXPECT_FALSE(TokenEquals("abc1234", "abc123"));
  EXPECT_FALSE(TokenEquals("", "abc123"));
  EXPECT_FALSE(TokenEquals("", ""));  // no token: nothing matches
}

TEST(TokenTest, BearerTokenOfAnAuthorizationValue) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(BearerToken(""), std::nullopt);
}

TEST_F(RunDirTest, FindsTheTokenFileNextToTheControlPortFile) {
  auto d = RunDir::Open(base_);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->WriteFile("faultline-control-127.0.0.1_9001", "127.0.0.1:9101\n").ok());
  ASSERT_TRUE((*d)->WriteFile("faultline-token-127.0.0.1_9001", "t1\n").ok());
  ASSERT_TRUE((*d)->WriteFile("faultline-control-127.0.0.1_9002", "127.0.0.1:9102\n").ok());
  ASSERT_TRUE((*d)->WriteFile("faultline-token-127.0.0.1_9002", "t2\n").ok());
  const auto found = FindTokenFile(base_, 9102);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, base_ + "/faultline-token-127.0.0.1_9002");
  EXPECT_EQ(ReadTokenFile(*found).value(), "t2");
  EXPECT_EQ(FindTokenFile(base_, 9103), std::nullopt);
  EXPECT_EQ(FindTokenFile(base_ + "/nope", 9102), std::nullopt);
}

TEST_F(RunDirTest, ReadTokenFileFollowsNoLink) {
  const std::string real = base_ + "/real";
  std::ofstream(real) << "tok\n";
  const std::string link = base_ + "/link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  EXPECT_EQ(ReadTokenFile(real).value(), "tok");
  EXPECT_FALSE(ReadTokenFile(link).ok());
}

}  // namespace
}  // namespace faultline::extension
