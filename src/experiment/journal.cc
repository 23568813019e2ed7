#include "experiment/journal.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <ctime>

#include "experiment/file_write.h"

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
  return ReplaceFile(path, text, 0644);
}

}  // namespace faultline::experiment
