// StateFile: what a run changed and how to undo it, written down before each
// change, so that a run killed with -9 can still be undone by
// `faultline rollback`.
//
//   {"faultline-state": 1, "run": ID, "experiment": FILE, "started": ISO, "pid": N}   header
//   {"id": "1", "at": ISO, "what": "...", "undo": {...}}                               before a
//   change
//   {"done": "1", "at": ISO, "result": "undone" | "failed: ..."}                       after its
//   undo
//
// One JSON object per line, each appended with one write(2) and fsync'd
// before Record returns: a change is made only once its undo is on disk. A
// torn last line (a crash mid-write) is ignored when reading. The file is
// 0600 and close-on-exec. An entry is pending until a "done" line says it
// was undone; a run whose every entry was undone removes its file.
//
// Thread-safety: Record and Done may be called from several threads (the
// method's, background activities'); they serialise on a mutex.
#ifndef FAULTLINE_EXPERIMENT_STATE_FILE_H_
#define FAULTLINE_EXPERIMENT_STATE_FILE_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "experiment/json.h"
#include "faultline/clock.h"
#include "faultline/status.h"

namespace faultline::experiment {

inline constexpr const char* kDefaultStatePath = "faultline-state.jsonl";

struct StateEntry {
  std::string id;
  std::string what;  // "arm 2 rules on http://127.0.0.1:9101"
  json undo;         // what native.h's Undo carries out
};

class StateFile {
 public:
  // Creates `path` for a new run (O_EXCL: refuses to overwrite a file that
  // exists; the caller checks Pending first). IoError naming the path.
  static Result<std::unique_ptr<StateFile>> Create(const std::string& path,
                                                   const std::string& experiment, Clock* clock);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Appends an undo and syncs it; returns its id. The change may be made
  // only when this is OK.
  Result<std::string> Record(const json& undo, std::string_view what);
  // Appends that entry `id` was undone (`result` "undone", or why not).
  Status Done(const std::string& id, std::string_view result);
  // Entries recorded and not done, in the order they were recorded.
  std::vector<StateEntry> Pending() const;
  // Removes the file when nothing is pending; false when something is.
  bool RemoveIfSettled();
  const std::string& path() const { return path_; }

 private:
  StateFile(std::string path, int fd, Clock* clock)
      : path_(std::move(path)), fd_(fd), clock_(clock) {}
  Status Append(const json& line);

  std::string path_;
  int fd_;
  Clock* clock_;
  mutable std::mutex mu_;
  int next_id_ = 1;
  std::vector<StateEntry> pending_;  // under mu_
};

// The pending entries of the state file at `path`, oldest first; NotFound
// when there is no such file. Lines that do not parse (a torn last line)
// are skipped; a file that is not a faultline state file is InvalidArgument.
Result<std::vector<StateEntry>> ReadPending(const std::string& path);

// What puts everything back as it was before the run: one undo per thing
// changed (an endpoint's rules, a function's concurrency, a function's
// configuration), the oldest value of each — so that a change made and
// then reverted during the run (a rollback that clears the rules it armed)
// is not replayed on the way back. Configuration undos of one function are
// merged key by key, the oldest value of each key winning. In the order the
// things were first changed, newest first.
struct SettleStep {
  json undo;
  std::vector<std::string> ids;  // the entries this step settles
  std::string what;              // the oldest entry's description
};
std::vector<SettleStep> PlanSettle(const std::vector<StateEntry>& pending);

// Appends "done" lines to an existing state file (`faultline rollback`).
Status MarkDone(const std::string& path, const std::string& id, std::string_view result,
                Clock* clock);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_STATE_FILE_H_
