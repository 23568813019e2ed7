// RuleFileWatcher: keeps an Engine's rules in step with a rule file.
//
// The file is checked every `interval` (and whenever CheckNow is called). A
// changed file (text or modification time) is parsed whole (ParseRuleFile)
// and applied in one atomic Engine::Load, its ttls armed at its
// modification time; a file that does not parse, says nothing (empty: a
// file caught half-written; `faults: []` clears), is over 16 MiB or has
// gone, is reported through `on_event` and the rules already active stay
// active. Writers should still replace the file in one rename (write a
// temporary file in the same directory, then rename it over the rule file),
// so that no reader ever sees part of it (docs/rules.md).
//
// Thread-safety: CheckNow may be called from any thread; the watcher's own
// thread calls it too. Destruction stops the thread.
#ifndef FAULTLINE_WATCH_H_
#define FAULTLINE_WATCH_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "faultline/engine.h"
#include "faultline/status.h"

namespace faultline {

struct WatchOptions {
  std::string path;                         // the rule file
  Engine* engine = nullptr;                 // not owned; must outlive the watcher
  std::chrono::milliseconds interval{500};  // 0: no thread, CheckNow only
  // Told of every reload and every rejected file (`status` says why, with
  // the file's name and line:column). Called on the watcher's thread.
  std::function<void(const Status& status)> on_event;
};

class RuleFileWatcher {
 public:
  // Loads the file once and starts watching. Fails, starting nothing, when
  // the first load fails.
  static Result<std::unique_ptr<RuleFileWatcher>> Start(WatchOptions options);
  ~RuleFileWatcher();
  RuleFileWatcher(const RuleFileWatcher&) = delete;
  RuleFileWatcher& operator=(const RuleFileWatcher&) = delete;

  // Reloads now if the file changed. Returns OK when nothing changed or the
  // new rules were applied; the parse error otherwise (old rules kept).
  Status CheckNow();
  // How many times new rules were applied, the first load included.
  int reloads() const;

 private:
  explicit RuleFileWatcher(WatchOptions options);
  void Run();

  WatchOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string applied_;                  // content of the file as last applied
  std::int64_t applied_mtime_ = 0;       // and its modification time
  std::optional<std::string> rejected_;  // content last rejected (reported once)
  bool missing_reported_ = false;
  int reloads_ = 0;
  std::thread thread_;
};

}  // namespace faultline

#endif  // FAULTLINE_WATCH_H_
