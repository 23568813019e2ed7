#include "experiment/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace faultline::experiment {
namespace {

// glibc's version as Python's platform.libc_ver() reports it ("2.36"), or
// "" when it cannot be told.
std::string GlibcVersion() {
  std::array<char, 64> buf{};
  const size_t n = confstr(_CS_GNU_LIBC_VERSION, buf.data(), buf.size());  // "glibc 2.36"
  if (n == 0 || n > buf.size()) return "";
  std::string s(buf.data());
  const auto space = s.find(' ');
  return space == std::string::npos ? "" : s.substr(space + 1);
}

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::IoError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string IsoTime(TimeNs t) {
  const std::time_t secs = static_cast<std::time_t>(t / 1'000'000'000);
  const long micros = static_cast<long>((t % 1'000'000'000) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

std::string PlatformName() {
  utsname u{};
  if (uname(&u) != 0) return "Linux";
  std::string name = fmt::format("{}-{}-{}", u.sysname, u.release, u.machine);
  const std::string glibc = GlibcVersion();
  if (!glibc.empty()) name += "-with-glibc" + glibc;
  return name;
}

std::string NodeName() {
  utsname u{};
  if (uname(&u) != 0) return "";
  return u.nodename;
}

json NewJournal(const json& experiment, TimeNs start) {
  json j = json::object();
  j["chaoslib-version"] = kChaoslibVersion;
  j["platform"] = PlatformName();
  j["node"] = NodeName();
  j["experiment"] = experiment;
  j["start"] = IsoTime(start);
  j["status"] = nullptr;
  j["deviated"] = false;
  j["steady_states"] = {{"before", nullptr}, {"after", nullptr}, {"during", json::array()}};
  j["run"] = json::array();
  j["rollbacks"] = json::array();
  return j;
}

Status WriteJournal(const std::string& path, const json& journal) {
  std::string text;
  try {
    text = journal.dump(2, ' ', false, json::error_handler_t::replace);
  } catch (const json::exception& e) {
    return Status::Internal(fmt::format("{}: cannot encode the journal: {}", path, e.what()));
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::IoError(fmt::format("{}: cannot write: {}", tmp, std::strerror(errno)));
  ::fchmod(fd, 0644);  // whatever the umask, not writable by others
  Status s = WriteAll(fd, text, tmp);
  if (s.ok() && ::fsync(fd) != 0) {
    s = Status::IoError(fmt::format("{}: cannot sync: {}", tmp, std::strerror(errno)));
  }
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IoError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<json> ReadJournal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: not a journal: expected a JSON object", path));
  }
  return j;
}

}  // namespace faultline::experiment
