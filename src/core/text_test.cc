#include "core/text.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace faultline::internal {
namespace {

namespace fs = std::filesystem;

class ReadFileTest : public ::testing::Test {
 protected:
  ReadFileTest() {
    char tmpl[] = "/tmp/faultline_text_test.XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  ~ReadFileTest() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST_F(ReadFileTest, ReadsTheWholeFileAndItsModificationTime) {
  const std::string path = Path("f.yaml");
  std::ofstream(path) << "faults: []\n";
  const timespec times[2] = {{1'700'000'000, 0}, {1'700'000'123, 456}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  Result<FileText> f = ReadFileText(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->text, "faults: []\n");
  EXPECT_EQ(f->mtime_ns, 1'700'000'123'000'000'456);
  EXPECT_EQ(ReadWholeFile(path).value(), "faults: []\n");
}

TEST_F(ReadFileTest, MissingFileIsNotFound) {
  Result<std::string> r = ReadWholeFile(Path("nope.yaml"));
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), Path("nope.yaml") + ": no such file");
}

// A sparse 17 MiB file: refused by its size, unread (so this is quick).
TEST_F(ReadFileTest, AFileOverTheLimitIsRefusedUnread) {
  const std::string path = Path("huge.yaml");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 17 * 1024 * 1024), 0);
  ::close(fd);
  Result<std::string> r = ReadWholeFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            path +
                ": 17825792 bytes (17.0 MiB) is over the limit of 16777216 bytes (16.0 MiB) "
                "for a rule or configuration file");
}

TEST_F(ReadFileTest, TheLimitItselfIsAllowed) {
  const std::string path = Path("ten.txt");
  std::ofstream(path) << "0123456789";
  EXPECT_TRUE(ReadFileText(path, 10).ok());
  Result<FileText> r = ReadFileText(path, 9);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("10 bytes"), std::string::npos) << r.status().message();
}

// A file with no size to check (a device, a pipe) is read up to the limit.
TEST_F(ReadFileTest, AnEndlessFileStopsAtTheLimit) {
  Result<FileText> r = ReadFileText("/dev/zero", 1024 * 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/dev/zero: more than 1048576 bytes (1.0 MiB) is over the limit of 1048576 bytes "
            "(1.0 MiB) for a rule or configuration file");
}

// The descriptor the file is read through is close-on-exec from the start:
// a FIFO holds the reader in read() while this thread looks at its fd.
TEST_F(ReadFileTest, ReadsThroughACloseOnExecDescriptor) {
  const std::string fifo = Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> done{false};
  std::string text;
  std::thread reader([&] {
    Result<std::string> r = ReadWholeFile(fifo);
    text = r.ok() ? *r : r.status().message();
    done = true;
  });
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // waits for the reader
  ASSERT_GE(writer, 0);
  // The reader's open returns just after this one: look until its
  // descriptor is there (it then waits in read() for the bytes below).
  int found = 0;
  int flags = -1;
  for (int attempt = 0; attempt < 2000 && found == 0; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
      const int fd = std::atoi(entry.path().filename().c_str());
      std::error_code ec;
      if (fd == writer || fs::read_symlink(entry.path(), ec) != fifo) continue;
      ++found;
      flags = ::fcntl(fd, F_GETFD);
    }
  }
  ASSERT_EQ(::write(writer, "faults: []\n", 11), 11);
  ::close(writer);
  reader.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(text, "faults: []\n");
  ASSERT_EQ(found, 1);
  EXPECT_NE(flags & FD_CLOEXEC, 0) << "the reader's descriptor is not close-on-exec";
}

}  // namespace
}  // namespace faultline::internal
