#include "aws/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>

namespace faultline::aws {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "faultline-creds-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = (fs::path(root_) / "config" / "faultline").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  static mode_t Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static void Write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  std::string File() const { return CredentialsFilePath(dir_); }

  std::string root_;
  std::string dir_;
};

TEST_F(CredentialsTest, CreatesPrivateFileAndDirectory) {
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(std::regex_match(c->access_key_id, std::regex("AKIA[A-Z0-9]{16}")))
      << c->access_key_id;
  EXPECT_TRUE(std::regex_match(c->secret_access_key, std::regex("[A-Za-z0-9+/]{40}")))
      << c->secret_access_key;
  EXPECT_TRUE(c->session_token.empty());
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode((fs::path(root_) / "config").string()), 0700u);
  EXPECT_EQ(Mode(File()), 0600u);
  // Nothing but the file is left behind (no temporary files).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(CredentialsTest, ReadsBackTheSameKeys) {
  Result<Credentials> first = LoadOrCreateCredentials(dir_);
  ASSERT_TRUE(first.ok());
  Result<Credentials> second = LoadOrCreateCredentials(dir_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->access_key_id, first->access_key_id);
  EXPECT_EQ(second->secret_access_key, first->secret_access_key);
}

TEST_F(CredentialsTest, KeysComeFromTheRandomSeamAndTheFileIsAnAwsProfile) {
  // Bytes 0, 1, 2, ...: each picks the next letter of the alphabet.
  unsigned char next = 0;
  CredentialsOptions options{.random = [&](std::span<unsigned char> out) {
    for (unsigned char& b : out) b = next++;
    return Status::Ok();
  }};
  Result<Credentials> c = LoadOrCreateCredentials(dir_, options);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIAABCDEFGHIJKLMNOP");
  // The secret draws from byte 64 on: 64 % 64 == 0 -> 'A'.
  EXPECT_EQ(c->secret_access_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn");
  std::ifstream in(File());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text,
              HasSubstr("[faultline]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n"
                        "aws_secret_access_key = ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn\n"));
}

TEST_F(CredentialsTest, RandomFailureLeavesNoFile) {
  CredentialsOptions options{
      .random = [](std::span<unsigned char>) { return Status::IoError("getrandom: no entropy"); }};
  Result<Credentials> c = LoadOrCreateCredentials(dir_, options);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("getrandom: no entropy"));
  EXPECT_FALSE(fs::exists(File()));
}

TEST_F(CredentialsTest, RefusesASymlinkInPlaceOfTheFile) {
  ASSERT_TRUE(LoadOrCreateCredentials(dir_).ok());
  fs::remove(File());
  const std::string elsewhere = root_ + "/elsewhere";
  Write(elsewhere, "[faultline]\naws_access_key_id = A\naws_secret_access_key = B\n", 0600);
  fs::create_symlink(elsewhere, File());
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr(File() + ": refusing to use it: it is a symbolic link"));
}

TEST_F(CredentialsTest, RefusesASymlinkInPlaceOfTheDirectory) {
  const std::string real = root_ + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  const std::string link = root_ + "/link";
  fs::create_symlink(real, link);
  Result<Credentials> c = LoadOrCreateCredentials(link);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr(link + ": refusing to use it: it is a symbolic link"));
  EXPECT_FALSE(fs::exists(real + "/credentials"));
}

TEST_F(CredentialsTest, RefusesAGroupWritableOrReadableFile) {
  ASSERT_TRUE(LoadOrCreateCredentials(dir_).ok());
  ASSERT_EQ(::chmod(File().c_str(), 0620), 0);
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr(File() +
                        ": refusing to use it: group or others can access it (mode "
                        "0620); run chmod 600 " +
                        File()));
  ASSERT_EQ(::chmod(File().c_str(), 0604), 0);
  EXPECT_FALSE(LoadOrCreateCredentials(dir_).ok());
}

TEST_F(CredentialsTest, RefusesAnOpenDirectory) {
  ASSERT_TRUE(LoadOrCreateCredentials(dir_).ok());
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("(mode 0755); run chmod 700 " + dir_));
}

TEST_F(CredentialsTest, RefusesAFileOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the file to nobody";
  ASSERT_TRUE(LoadOrCreateCredentials(dir_).ok());
  ASSERT_EQ(::chown(File().c_str(), kNobody, kNobody), 0);
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr(File() + ": refusing to use it: owned by uid 65534, not by you (uid 0)"));
  ASSERT_EQ(::chown(dir_.c_str(), kNobody, kNobody), 0);
  c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(dir_ + ": refusing to use it: owned by uid 65534"));
}

TEST_F(CredentialsTest, RefusesAFileWithoutTheProfileOrItsKeys) {
  ASSERT_TRUE(LoadOrCreateCredentials(dir_).ok());
  Write(File(), "[default]\naws_access_key_id = A\naws_secret_access_key = B\n", 0600);
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), File() + ": no [faultline] profile");
  Write(File(), "[faultline]\naws_access_key_id = A\n", 0600);
  c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), File() + ": profile [faultline] has no aws_secret_access_key");
  Write(File(), "[faultline]\naws_access_key_id A\n", 0600);
  c = LoadOrCreateCredentials(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            File() + ":2: expected 'key = value' or '[profile]', got \"aws_access_key_id A\"");
}

TEST_F(CredentialsTest, ReadsAHandWrittenFileWithOtherProfiles) {
  ASSERT_TRUE(LoadOrCreateCredentials(dir_).ok());
  Write(File(),
        "; comment\n[default]\naws_access_key_id = X\n\n[ faultline ]\n"
        "aws_access_key_id=AKIDEXAMPLE\n  aws_secret_access_key = s3cr3t  \n"
        "aws_session_token = tok\n[other]\naws_access_key_id = Y\n",
        0600);
  Result<Credentials> c = LoadOrCreateCredentials(dir_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c->secret_access_key, "s3cr3t");
  EXPECT_EQ(c->session_token, "tok");
}

TEST_F(CredentialsTest, ConcurrentFirstStartsAgree) {
  constexpr int kThreads = 8;
  std::vector<Result<Credentials>> results(kThreads, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = LoadOrCreateCredentials(dir_); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->access_key_id, results[0]->access_key_id);
    EXPECT_EQ(r->secret_access_key, results[0]->secret_access_key);
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST(DefaultCredentialsDirTest, XdgThenHomeThenPasswd) {
  std::map<std::string, std::string> env;
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  env = {{"XDG_CONFIG_HOME", "/x/config"}, {"HOME", "/home/u"}};
  EXPECT_EQ(*DefaultCredentialsDir(getenv), "/x/config/faultline");
  env = {{"XDG_CONFIG_HOME", "relative"}, {"HOME", "/home/u"}};
  EXPECT_EQ(*DefaultCredentialsDir(getenv), "/home/u/.config/faultline");
  env = {};
  Result<std::string> from_passwd = DefaultCredentialsDir(getenv);
  ASSERT_TRUE(from_passwd.ok()) << from_passwd.status().ToString();
  EXPECT_THAT(*from_passwd, ::testing::EndsWith("/.config/faultline"));
}

TEST(RenderExportsTest, KeyForm) {
  const Credentials c{.access_key_id = "AKIAABCDEFGHIJKLMNOP", .secret_access_key = "a+b/c"};
  EXPECT_EQ(RenderKeyExports(c, "us-east-1"),
            "export AWS_ACCESS_KEY_ID='AKIAABCDEFGHIJKLMNOP'\n"
            "export AWS_SECRET_ACCESS_KEY='a+b/c'\n"
            "export AWS_DEFAULT_REGION='us-east-1'\n"
            "export AWS_REGION='us-east-1'\n");
  const Credentials t{.access_key_id = "A", .secret_access_key = "B", .session_token = "T"};
  EXPECT_EQ(
      RenderKeyExports(t, "eu-west-1", "http://127.0.0.1:9001"),
      "export AWS_ACCESS_KEY_ID='A'\nexport AWS_SECRET_ACCESS_KEY='B'\n"
      "export AWS_SESSION_TOKEN='T'\nexport AWS_DEFAULT_REGION='eu-west-1'\n"
      "export AWS_REGION='eu-west-1'\nexport AWS_ENDPOINT_URL_LAMBDA='http://127.0.0.1:9001'\n");
}

TEST(RenderExportsTest, ProfileFormQuotesThePath) {
  EXPECT_EQ(RenderProfileExports("/home/o'brien/.config/faultline/credentials", "us-east-1"),
            "export AWS_SHARED_CREDENTIALS_FILE='/home/o'\\''brien/.config/faultline/credentials'\n"
            "export AWS_PROFILE='faultline'\n"
            "export AWS_DEFAULT_REGION='us-east-1'\n"
            "export AWS_REGION='us-east-1'\n");
}

// What a user's shell makes of the lines: eval them and print the values.
TEST(RenderExportsTest, ShellEvalGivesTheValuesBack) {
  const std::string lines = RenderProfileExports("/tmp/it's here/credentials", "us-east-1");
  const std::string script =
      lines + "printf '%s|%s' \"$AWS_SHARED_CREDENTIALS_FILE\" \"$AWS_PROFILE\"";
  std::string quoted = "'";
  for (char ch : script) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  quoted += "'";
  FILE* p = ::popen(("sh -c " + quoted).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256] = {};
  const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
  ::pclose(p);
  EXPECT_EQ(std::string(buf, n), "/tmp/it's here/credentials|faultline");
}

}  // namespace
}  // namespace faultline::aws
