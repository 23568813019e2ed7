#include "experiment/state_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "experiment/file_write.h"
#include "experiment/journal.h"

namespace faultline::experiment {
namespace {

Status WriteLine(int fd, const json& line, const std::string& path) {
  const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  // O_APPEND: one write(2) lands whole at the end; a crash mid-write leaves
  // a torn last line, which readers skip.
  if (Status s = WriteAll(fd, text, path); !s.ok()) return s;
  if (::fsync(fd) != 0) {
    return Status::IoError(fmt::format("{}: cannot sync: {}", path, std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<StateFile>> StateFile::Create(const std::string& path,
                                                     const std::string& experiment, Clock* clock) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError(
        fmt::format("{}: cannot create the state file: {}", path, std::strerror(errno)));
  }
  std::unique_ptr<StateFile> f(new StateFile(path, fd, clock));
  const json header = {{"faultline-state", 1},
                       {"experiment", experiment},
                       {"started", IsoTime(clock->Now())},
                       {"pid", static_cast<long>(::getpid())}};
  if (Status s = f->Append(header); !s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  return f;
}

StateFile::~StateFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status StateFile::Append(const json& line) { return WriteLine(fd_, line, path_); }

Result<std::string> StateFile::Record(const json& undo, std::string_view what) {
  std::lock_guard lock(mu_);
  const std::string id = std::to_string(next_id_++);
  const json line = {{"id", id}, {"at", IsoTime(clock_->Now())}, {"what", what}, {"undo", undo}};
  if (Status s = Append(line); !s.ok()) return s;
  pending_.push_back({id, std::string(what), undo});
  return id;
}

Status StateFile::Done(const std::string& id, std::string_view result) {
  std::lock_guard lock(mu_);
  const json line = {{"done", id}, {"at", IsoTime(clock_->Now())}, {"result", result}};
  if (Status s = Append(line); !s.ok()) return s;
  if (result == "undone") {
    std::erase_if(pending_, [&id](const StateEntry& e) { return e.id == id; });
  }
  return Status::Ok();
}

std::vector<StateEntry> StateFile::Pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

bool StateFile::RemoveIfSettled() {
  std::lock_guard lock(mu_);
  if (!pending_.empty()) return false;
  ::unlink(path_.c_str());
  return true;
}

Result<std::vector<StateEntry>> ReadPending(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: no such state file", path));
  std::vector<StateEntry> entries;
  std::string line;
  bool header = false;
  for (int n = 1; std::getline(in, line); ++n) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // a torn line
    if (!header) {
      if (!j.contains("faultline-state")) {
        return Status::InvalidArgument(
            fmt::format("{}:{}: not a faultline state file (no faultline-state header)", path, n));
      }
      header = true;
      continue;
    }
    if (j.contains("done") && j.value("result", "") == "undone") {
      const std::string id = j["done"].is_string() ? j["done"].get<std::string>() : "";
      std::erase_if(entries, [&id](const StateEntry& e) { return e.id == id; });
    } else if (j.contains("id") && j.contains("undo")) {
      entries.push_back(
          {j["id"].is_string() ? j["id"].get<std::string>() : "", j.value("what", ""), j["undo"]});
    }
  }
  if (!header) {
    return Status::InvalidArgument(fmt::format("{}: not a faultline state file (empty)", path));
  }
  return entries;
}

namespace {

// What an undo restores: its kind, endpoint and function.
std::string ResourceOf(const json& undo) {
  return undo.value("kind", "") + "\n" + undo.value("endpoint", "") + "\n" +
         undo.value("function", "");
}

}  // namespace

std::vector<SettleStep> PlanSettle(const std::vector<StateEntry>& pending) {
  std::vector<SettleStep> steps;
  std::map<std::string, size_t> by_resource;
  for (const StateEntry& e : pending) {
    const std::string key = ResourceOf(e.undo);
    auto it = by_resource.find(key);
    if (it == by_resource.end()) {
      by_resource[key] = steps.size();
      steps.push_back({e.undo, {e.id}, e.what});
      continue;
    }
    SettleStep& step = steps[it->second];
    step.ids.push_back(e.id);
    const json& later = e.undo.value("configuration", json(nullptr));
    if (step.undo.value("kind", "") == "function-configuration" && later.is_object()) {
      for (const auto& [k, v] : later.items()) {
        if (!step.undo["configuration"].contains(k)) step.undo["configuration"][k] = v;
      }
    }
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
}

Status MarkDone(const std::string& path, const std::string& id, std::string_view result,
                Clock* clock) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return Status::IoError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  const json line = {{"done", id}, {"at", IsoTime(clock->Now())}, {"result", result}};
  Status s = WriteLine(fd, line, path);
  ::close(fd);
  return s;
}

}  // namespace faultline::experiment
