#include "extension/run_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace faultline::extension {

namespace {

std::string Errno(int err) { return std::strerror(err); }

// Why the directory open as `fd` cannot be trusted; empty if it can.
std::string Untrusted(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fmt::format("cannot stat it: {}", Errno(errno));
  if (!S_ISDIR(st.st_mode)) return "it is not a directory";
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return fmt::format("it is owned by uid {}, not by this user (uid {})", st.st_uid, me);
  }
  const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (others_write && (st.st_mode & S_ISVTX) == 0) {
    return fmt::format("group or others can write to it (mode {:04o}, no sticky bit)",
                       st.st_mode & 07777);
  }
  return {};
}

int OpenDir(const std::string& path) {
  return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// 8 random hex digits, for temporary names no one can guess ahead.
std::string RandomSuffix() {
  std::array<unsigned char, 4> bytes{};
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return fmt::format("{}", ::getpid());
  }
  return fmt::format("{:02x}{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2], bytes[3]);
}

// Writes all of `content` to `fd`.
bool WriteAll(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string DefaultRunDir() { return fmt::format("/tmp/faultline-{}", ::geteuid()); }

Result<std::unique_ptr<RunDir>> RunDir::Open(const std::string& path) {
  auto refuse = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("run directory {}: refused: {}", path, why));
  };
  int fd = OpenDir(path);
  if (fd < 0 && errno == ENOENT) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return refuse(fmt::format("cannot create it: {}", Errno(errno)));
    }
    fd = OpenDir(path);
  }
  if (fd < 0) {
    const int err = errno;
    struct stat st {};
    // O_NOFOLLOW with O_DIRECTORY says ENOTDIR or ELOOP for a link.
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return refuse("it is a symbolic link");
    }
    if (err == ENOTDIR) return refuse("it is not a directory");
    return refuse(fmt::format("cannot open it: {}", Errno(err)));
  }
  if (std::string why = Untrusted(fd); !why.empty()) {
    ::close(fd);
    return refuse(why);
  }
  return std::unique_ptr<RunDir>(new RunDir(path, fd));
}

RunDir::~RunDir() { ::close(fd_); }

std::string RunDir::PathOf(std::string_view name) const {
  return fmt::format("{}/{}", path_, name);
}

Status RunDir::WriteFile(std::string_view name, std::string_view content) const {
  const std::string final_name(name);
  const std::string tmp = fmt::format(".{}.tmp-{}-{}", name, ::getpid(), RandomSuffix());
  const int fd =
      ::openat(fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError(fmt::format("{}: cannot create: {}", PathOf(tmp), Errno(errno)));
  }
  const bool written = WriteAll(fd, content);
  const int write_err = errno;
  if (::close(fd) != 0 || !written) {
    ::unlinkat(fd_, tmp.c_str(), 0);
    return Status::IoError(fmt::format("{}: cannot write: {}", PathOf(tmp), Errno(write_err)));
  }
  // rename replaces whatever is at the name (a planted link included)
  // without following it.
  if (::renameat(fd_, tmp.c_str(), fd_, final_name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(fd_, tmp.c_str(), 0);
    return Status::IoError(fmt::format("{}: cannot write: {}", PathOf(name), Errno(err)));
  }
  return Status::Ok();
}

void RunDir::Remove(std::string_view name) const { ::unlinkat(fd_, std::string(name).c_str(), 0); }

Result<std::string> NewToken() {
  std::array<unsigned char, 32> bytes{};
  std::size_t have = 0;
  while (have < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + have, bytes.size() - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IoError(fmt::format("getrandom: {}", Errno(errno)));
    have += static_cast<std::size_t>(n);
  }
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

bool TokenEquals(std::string_view given, std::string_view token) {
  // Every byte of the longer one is looked at, whatever matches.
  const std::size_t n = std::max(given.size(), token.size());
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto a = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    const auto b = static_cast<unsigned char>(i < token.size() ? token[i] : 0);
    diff |= static_cast<unsigned char>(a ^ b);
  }
  return diff == 0 && !token.empty();
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != kScheme[i]) return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

Result<std::string> ReadTokenFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Status::IoError(
        fmt::format("{}: cannot read the control token: {}", path, Errno(errno)));
  }
  struct stat st {};
  std::string text(1025, '\0');
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::read(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n < 0) return Status::IoError(fmt::format("{}: cannot read: {}", path, Errno(err)));
  if (n > 1024) return Status::InvalidArgument(fmt::format("{}: not a token (over 1 KiB)", path));
  text.resize(static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.empty()) return Status::InvalidArgument(fmt::format("{}: empty token file", path));
  return text;
}

std::optional<std::string> FindTokenFile(const std::string& run_dir, std::uint16_t port) {
  constexpr std::string_view kControl = "faultline-control-";
  const std::string want = fmt::format("127.0.0.1:{}", port);
  DIR* dir = ::opendir(run_dir.c_str());
  if (dir == nullptr) return std::nullopt;
  std::optional<std::string> found;
  while (dirent* e = ::readdir(dir)) {
    const std::string_view name(e->d_name);
    if (!name.starts_with(kControl)) continue;
    Result<std::string> address = ReadTokenFile(fmt::format("{}/{}", run_dir, name));
    if (!address.ok() || *address != want) continue;
    found = fmt::format("{}/faultline-token-{}", run_dir, name.substr(kControl.size()));
    break;
  }
  ::closedir(dir);
  return found;
}

std::string ControlToken(const TokenSource& source, std::uint16_t port, std::string* where) {
  if (!source.given.empty()) {
    *where = source.given_name;
    return source.given;
  }
  if (!source.env.empty()) {
    *where = "FAULTLINE_CONTROL_TOKEN";
    return source.env;
  }
  const std::string dir = source.run_dir.empty() ? DefaultRunDir() : source.run_dir;
  const std::optional<std::string> file = FindTokenFile(dir, port);
  if (!file) {
    *where = fmt::format("no faultline-control-* file in {} that this user can read names port {}",
                         dir, port);
    return "";
  }
  Result<std::string> token = ReadTokenFile(*file);
  *where = token.ok() ? *file : token.status().message();
  return token.ok() ? *token : "";
}

}  // namespace faultline::extension
