// SafetyNet: the "faultline" provider of one run, with a state file under
// it, so that nothing the run changes outlives it.
//
//   activity ──► NativeProvider ──► record_undo ──► StateFile (fsync'd)
//                                                      │ then the change
//   end of run ──► Settle: PlanSettle(pending) ──► Undo each ──► done lines
//                  (after the rollbacks, whatever the status)   file removed
//   kill -9 ──► `faultline rollback STATE` ──► RollBack: the same, from the file
//
// Every rule it arms carries a ttl no longer than the time the experiment
// may still take (EstimateRunTime) plus kTtlMargin, so even a run whose
// state file is lost leaves no fault armed for long.
//
// Thread-safety: Run and Interrupt from any thread; Settle once, after the
// run.
#ifndef FAULTLINE_EXPERIMENT_SAFETY_NET_H_
#define FAULTLINE_EXPERIMENT_SAFETY_NET_H_

#include <chrono>
#include <memory>
#include <string>

#include "experiment/json.h"
#include "experiment/native.h"
#include "experiment/provider.h"
#include "experiment/state_file.h"
#include "faultline/clock.h"
#include "faultline/status.h"

namespace faultline::experiment {

inline constexpr std::chrono::seconds kTtlMargin{60};

// An upper bound on how long `experiment` runs: its pauses, its providers'
// timeouts (30 s for a provider without one), its load probes' durations,
// the hypothesis counted twice.
std::chrono::nanoseconds EstimateRunTime(const json& experiment);

class SafetyNet {
 public:
  // Opens a state file at `state_path` for a run of `experiment` (its file
  // name, for the header). Refuses (FailedPrecondition-like InvalidArgument
  // naming the file and `faultline rollback`) when the file holds changes
  // an earlier run did not undo; a settled leftover is replaced.
  static Result<std::unique_ptr<SafetyNet>> Open(const std::string& state_path,
                                                 const std::string& experiment_file,
                                                 const json& experiment, Clock* clock);
  ~SafetyNet();

  // For RunOptions::faultline.
  ProviderResult Run(const json& provider, const Context& ctx);
  void Interrupt();

  // Puts back whatever the run changed and did not put back itself: one
  // undo per thing changed, to the value it had before the run. Returns one
  // {"what", "result"} per step, for the journal. The state file is removed
  // when everything was put back; otherwise it stays for `faultline
  // rollback`, and *settled is false.
  json Settle(bool* settled);

  const std::string& state_path() const { return state_->path(); }

 private:
  SafetyNet() = default;
  Clock* clock_ = nullptr;
  TimeNs deadline_ = 0;
  std::unique_ptr<StateFile> state_;
  std::unique_ptr<NativeProvider> native_;
};

// `faultline rollback`: settles the state file at `path` with a fresh
// NativeProvider (the process's environment and credentials). Returns the
// steps as Settle does; NotFound when there is no state file.
Result<json> RollBack(const std::string& path, Clock* clock, bool* settled);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_SAFETY_NET_H_
