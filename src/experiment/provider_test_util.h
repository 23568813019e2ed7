// Helpers for the provider tests: a temporary directory removed at the
// end, files written into it, waiting (bounded) for something a child
// process does, and activities built from JSON text.
//
// Thread-safety: none needed; one test at a time.
#ifndef FAULTLINE_EXPERIMENT_PROVIDER_TEST_UTIL_H_
#define FAULTLINE_EXPERIMENT_PROVIDER_TEST_UTIL_H_

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "experiment/json.h"

namespace faultline::experiment::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "faultline_provider_XXXXXX");
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(File(name)) << text;
    return File(name);
  }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `done` until it holds or `limit` passes (a bound, not a delay
// being measured). Returns whether it held.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Whether `pid` is a live process (not gone, not a zombie).
inline bool Alive(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  const std::size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

inline json Activity(const std::string& provider_json) {
  json a = json::object();
  a["type"] = "action";
  a["name"] = "test";
  a["provider"] = json::parse(provider_json);
  return a;
}

}  // namespace faultline::experiment::testing

#endif  // FAULTLINE_EXPERIMENT_PROVIDER_TEST_UTIL_H_
