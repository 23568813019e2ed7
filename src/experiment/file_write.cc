#include "experiment/file_write.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace faultline::experiment {
namespace {

Status Failed(const std::string& path, const char* what) {
  return Status::IoError(fmt::format("{}: cannot {}: {}", path, what, std::strerror(errno)));
}

std::string Directory(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Base(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Status WriteAll(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Failed(path, "write");
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Status ReplaceFile(const std::string& path, std::string_view text, mode_t mode) {
  std::string tmp = Directory(path) + "/." + Base(path) + ".XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Failed(path, "write");
  Status s = ::fchmod(fd, mode) == 0 ? WriteAll(fd, text, path) : Failed(path, "set the mode of");
  if (s.ok() && ::fsync(fd) != 0) s = Failed(path, "sync");
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Failed(path, "write");
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace faultline::experiment
