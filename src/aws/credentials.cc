#include "aws/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/text.h"

namespace faultline::aws {
namespace {

constexpr std::string_view kFileName = "credentials";
constexpr std::size_t kMaxFileSize = std::size_t{64} * 1024;

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status Errno(std::string_view what, const std::string& path) {
  return Status::IoError(fmt::format("{}: {}: {}", path, what, std::strerror(errno)));
}

// Refuses what another user could have planted or can read.
Status CheckOwnedAndPrivate(const struct stat& st, const std::string& path, bool want_dir) {
  const bool is_dir = S_ISDIR(st.st_mode);
  if (want_dir ? !is_dir : !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(fmt::format("{}: refusing to use it: not a {}", path,
                                               want_dir ? "directory" : "regular file"));
  }
  if (st.st_uid != ::geteuid()) {
    return Status::InvalidArgument(
        fmt::format("{}: refusing to use it: owned by uid {}, not by you (uid {}); remove it or "
                    "run as its owner",
                    path, st.st_uid, ::geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument(fmt::format(
        "{}: refusing to use it: group or others can access it (mode {:04o}); run chmod {} {}",
        path, st.st_mode & 07777, want_dir ? "700" : "600", path));
  }
  return Status::Ok();
}

// Opens `dir` (creating it and its missing parents, mode 0700) without
// following a symbolic link at its last component, and checks it.
Result<int> OpenPrivateDir(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("credentials directory: empty path");
  for (std::size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    const std::string prefix = dir.substr(0, i);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", prefix);
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) {
      struct stat st {};
      if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        return Status::InvalidArgument(
            fmt::format("{}: refusing to use it: it is a symbolic link", dir));
      }
      return Status::InvalidArgument(fmt::format("{}: refusing to use it: not a directory", dir));
    }
    return Errno("open", dir);
  }
  struct stat st {};
  Status checked = ::fstat(fd, &st) != 0 ? Errno("fstat", dir)
                                         : CheckOwnedAndPrivate(st, dir, /*want_dir=*/true);
  if (!checked.ok()) {
    ::close(fd);
    return checked;
  }
  return fd;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && internal::IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && internal::IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The [faultline] profile of an AWS shared-credentials (INI) file.
Result<Credentials> ParseCredentials(std::string_view text, const std::string& path) {
  Credentials creds;
  bool in_profile = false, seen_profile = false;
  int line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = std::min(text.find('\n'), text.size());
    const std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(std::min(nl + 1, text.size()));
    ++line_no;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      in_profile = Trim(line.substr(1, line.find(']') - 1)) == kProfile;
      seen_profile = seen_profile || in_profile;
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: expected 'key = value' or '[profile]', got {}", path, line_no,
                      internal::Quote(line)));
    }
    if (!in_profile) continue;
    const std::string_view key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") creds.access_key_id = std::string(value);
    if (key == "aws_secret_access_key") creds.secret_access_key = std::string(value);
    if (key == "aws_session_token") creds.session_token = std::string(value);
  }
  if (!seen_profile) {
    return Status::InvalidArgument(fmt::format("{}: no [{}] profile", path, kProfile));
  }
  for (const auto& [field, value] :
       {std::pair<std::string_view, const std::string*>{"aws_access_key_id", &creds.access_key_id},
        {"aws_secret_access_key", &creds.secret_access_key}}) {
    if (value->empty()) {
      return Status::InvalidArgument(
          fmt::format("{}: profile [{}] has no {}", path, kProfile, field));
    }
  }
  return creds;
}

// Reads the credentials file at `dirfd`/credentials; kNotFound if absent.
Result<Credentials> ReadCredentials(int dirfd, const std::string& path) {
  const int fd = ::openat(dirfd, std::string(kFileName).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    if (errno == ELOOP) {
      return Status::InvalidArgument(
          fmt::format("{}: refusing to use it: it is a symbolic link", path));
    }
    return Errno("open", path);
  }
  Fd guard(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("fstat", path);
  if (Status s = CheckOwnedAndPrivate(st, path, /*want_dir=*/false); !s.ok()) return s;
  if (static_cast<std::size_t>(st.st_size) > kMaxFileSize) {
    return Status::InvalidArgument(
        fmt::format("{}: {} bytes, more than the {} a credentials file may have", path, st.st_size,
                    kMaxFileSize));
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return ParseCredentials(text, path);
}

// `n` characters of `alphabet` (its size a divisor of 256 or not: bytes
// past the largest multiple of its size are drawn again, so none is
// likelier than another).
Result<std::string> RandomString(const RandomBytes& random, std::string_view alphabet,
                                 std::size_t n) {
  const std::size_t limit = 256 - 256 % alphabet.size();
  std::string out;
  std::array<unsigned char, 64> buf{};
  for (int rounds = 0; out.size() < n && rounds < 64; ++rounds) {
    if (Status s = random(buf); !s.ok()) return s.WithContext("generating credentials");
    for (unsigned char b : buf) {
      if (b < limit && out.size() < n) out += alphabet[b % alphabet.size()];
    }
  }
  if (out.size() < n) return Status::Internal("generating credentials: the random source is stuck");
  return out;
}

Result<Credentials> NewCredentials(const RandomBytes& random) {
  static constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static constexpr std::string_view kSecret =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Result<std::string> id = RandomString(random, kUpperAlnum, 16);
  if (!id.ok()) return id.status();
  Result<std::string> secret = RandomString(random, kSecret, 40);
  if (!secret.ok()) return secret.status();
  return Credentials{.access_key_id = "AKIA" + *id, .secret_access_key = *secret};
}

std::string FileText(const Credentials& c) {
  return fmt::format(
      "# faultline's local Lambda emulator: use with\n"
      "#   AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE={0}\n"
      "# These keys work only against faultline; keep the file private (mode 0600).\n"
      "[{0}]\n"
      "aws_access_key_id = {1}\n"
      "aws_secret_access_key = {2}\n",
      kProfile, c.access_key_id, c.secret_access_key);
}

Status WriteAll(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) return Errno("fsync", path);
  return Status::Ok();
}

// Writes `creds` to a new temporary file beside the credentials file and
// moves it into place unless one appeared meanwhile. Returns true if this
// call's file is the one in place, false if another process's is.
Result<bool> Publish(int dirfd, const std::string& dir, const Credentials& creds,
                     const RandomBytes& random) {
  Result<std::string> suffix = RandomString(random, "0123456789abcdef", 12);
  if (!suffix.ok()) return suffix.status();
  const std::string tmp_name = fmt::format(".{}.tmp.{}.{}", kFileName, ::getpid(), *suffix);
  const std::string tmp_path = dir + "/" + tmp_name;
  const int fd =
      ::openat(dirfd, tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp_path);
  Status written = [&] {
    Fd guard(fd);
    if (::fchmod(fd, 0600) != 0) return Errno("fchmod", tmp_path);
    return WriteAll(fd, FileText(creds), tmp_path);
  }();
  if (!written.ok()) {
    ::unlinkat(dirfd, tmp_name.c_str(), 0);
    return written;
  }
  const std::string name(kFileName);
  if (::renameat2(dirfd, tmp_name.c_str(), dirfd, name.c_str(), RENAME_NOREPLACE) == 0) {
    ::fsync(dirfd);
    return true;
  }
  const int err = errno;
  ::unlinkat(dirfd, tmp_name.c_str(), 0);
  if (err == EEXIST) return false;
  errno = err;
  return Errno("rename into place", dir + "/" + name);
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string RegionAndEndpoint(std::string_view region, std::string_view endpoint_url) {
  std::string out =
      fmt::format("export AWS_DEFAULT_REGION={0}\nexport AWS_REGION={0}\n", ShellQuote(region));
  if (!endpoint_url.empty()) {
    out += fmt::format("export AWS_ENDPOINT_URL_LAMBDA={}\n", ShellQuote(endpoint_url));
  }
  return out;
}

}  // namespace

Status SystemRandomBytes(std::span<unsigned char> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::getrandom(out.data() + got, out.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(fmt::format("getrandom: {}", std::strerror(errno)));
    got += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> DefaultCredentialsDir(const GetEnv& getenv) {
  const char* xdg = getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/faultline";
  const char* home = getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.config/faultline";
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr && found->pw_dir[0] == '/') {
    return std::string(found->pw_dir) + "/.config/faultline";
  }
  return Status::NotFound(
      "no directory for faultline's credentials: XDG_CONFIG_HOME and HOME are unset and the "
      "password database has no home directory for this user");
}

std::string CredentialsFilePath(const std::string& dir) {
  return dir + "/" + std::string(kFileName);
}

Result<Credentials> LoadOrCreateCredentials(const std::string& dir,
                                            const CredentialsOptions& options) {
  Result<int> dirfd = OpenPrivateDir(dir);
  if (!dirfd.ok()) return dirfd.status();
  Fd guard(*dirfd);
  const std::string path = CredentialsFilePath(dir);
  Result<Credentials> existing = ReadCredentials(*dirfd, path);
  if (existing.ok() || existing.status().code() != Status::Code::kNotFound) return existing;
  Result<Credentials> fresh = NewCredentials(options.random);
  if (!fresh.ok()) return fresh;
  Result<bool> mine = Publish(*dirfd, dir, *fresh, options.random);
  if (!mine.ok()) return mine.status();
  if (*mine) return fresh;
  return ReadCredentials(*dirfd, path);  // another process created it first
}

std::string RenderKeyExports(const Credentials& credentials, std::string_view region,
                             std::string_view endpoint_url) {
  std::string out =
      fmt::format("export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\n",
                  ShellQuote(credentials.access_key_id), ShellQuote(credentials.secret_access_key));
  if (!credentials.session_token.empty()) {
    out += fmt::format("export AWS_SESSION_TOKEN={}\n", ShellQuote(credentials.session_token));
  }
  return out + RegionAndEndpoint(region, endpoint_url);
}

std::string RenderProfileExports(std::string_view credentials_file, std::string_view region,
                                 std::string_view endpoint_url) {
  return fmt::format("export AWS_SHARED_CREDENTIALS_FILE={}\nexport AWS_PROFILE={}\n",
                     ShellQuote(credentials_file), ShellQuote(kProfile)) +
         RegionAndEndpoint(region, endpoint_url);
}

}  // namespace faultline::aws
