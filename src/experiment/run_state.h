// RunState: what the parts of one run share — the experiment, its resolved
// context, the journal and the switches that end the run early — and the
// two steps every phase is made of: playing one activity (activity.cc) and
// checking the steady-state hypothesis once (hypothesis.cc).
//
// Internal to the runner (runner.cc, activity.cc, hypothesis.cc).
//
// Thread-safety: the method's thread, background activities' threads and
// the continuous hypothesis's thread share one RunState; `mu` guards the
// journal, the atomics are read without it.
#ifndef FAULTLINE_EXPERIMENT_RUN_STATE_H_
#define FAULTLINE_EXPERIMENT_RUN_STATE_H_

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "experiment/context.h"
#include "experiment/json.h"
#include "experiment/provider.h"
#include "experiment/runner.h"

namespace faultline::experiment::internal {

struct RunState {
  json experiment;  // as loaded (title substituted), with "dry"
  Context ctx;
  Dry dry = Dry::kNone;
  RunObserver* observer = nullptr;  // never null (a do-nothing one at least)
  Clock* clock = nullptr;
  std::function<ProviderResult(const json& activity, const Context& ctx)> provider;
  // Activities by name, for refs: the method's, then the hypothesis's
  // probes (a later one of the same name wins), as chaoslib's cache.
  std::map<std::string, json> by_name;

  std::mutex mu;  // guards journal
  json journal;
  // Why the run stopped early, once it did: "failed" (fail-fast, a failed
  // action with --fail-on-action-failure), "aborted", "interrupted".
  // Set once, under mu, also written to journal["status"].
  std::atomic<bool> stopping{false};
  std::string abort_message;         // under mu: why the run was aborted
  json stop_checks = json::array();  // under mu: each stop-condition check

  // Marks the run `status` ("failed", "aborted", "interrupted") unless it is
  // already stopped: the first reason wins. Returns whether it was the first.
  bool Stop(std::string_view status, std::string_view message = "");
  // journal["status"] (null while the run goes on), under mu.
  std::string Status();
};

// One activity, as chaoslib's execute_activity plays it: a ref resolved,
// pauses.before (cut short when `waiter` is cancelled), the provider unless
// the dry mode skips it, pauses.after; the journal entry is appended to
// `runs` (a path into the journal: "run", "rollbacks"; nullopt: not
// recorded, as for hypothesis probes) when the activity starts. Returns the
// entry; nullopt when the activity did not start (the pause before was cut
// short) or could not (a ref to nothing, a pause that is not a number:
// the run is aborted then).
//
// `begun`, when given, is called once the activity has either recorded its
// entry or begun its pause before (or ended early): a background activity's
// starter waits for it, so that entries keep the order of the method as
// chaos's thread pool gives it.
std::optional<json> PlayActivity(RunState& run, const json& activity, Waiter* waiter,
                                 std::optional<std::string_view> runs,
                                 const std::function<void()>& begun = nullptr);

// One check of the steady-state hypothesis (chaoslib's
// run_steady_state_hypothesis): {"steady_state_met", "probes": [...]}, the
// probes up to the first that fails or misses; null when the experiment
// has no hypothesis. A tolerance that cannot be evaluated aborts the run.
json CheckHypothesis(RunState& run, Waiter* waiter);

// Whether a probe's journal entry is within the probe's tolerance;
// nullopt when the tolerance cannot be evaluated (the run is aborted then).
std::optional<bool> ProbeMet(RunState& run, const json& probe, const json& entry);

// faultline's stop conditions (experiment["x-faultline"]["stop-conditions"]):
// each probe checked on the grid t0 + k·period until `waiter` is cancelled
// or the run stops. The first that fails or misses its tolerance stops the
// run as "aborted", saying which and why, and calls `on_stop` (which ends
// the method at once). Each check is recorded in run.stop_checks.
void WatchStopConditions(RunState& run, Waiter* waiter, std::chrono::nanoseconds period,
                         const std::function<void()>& on_stop);

// The next start on the grid t0 + k·period still ahead of `now`, after
// slot `k` (a check that overran skips the slots it covered).
std::int64_t NextSlot(TimeNs t0, std::int64_t k, TimeNs now, std::chrono::nanoseconds period);

// The continuous hypothesis: checks at t0, t0 + period, t0 + 2·period, ...
// (a check that overruns its slot makes the next start at the next slot
// still ahead) until `waiter` is cancelled or the run stops; each state is
// appended to steady_states.during. With `fail_fast` the first deviation
// stops the run as "failed" and calls `on_fail_fast`.
void RunHypothesisContinuously(RunState& run, Waiter* waiter, std::chrono::nanoseconds period,
                               bool fail_fast, const std::function<void()>& on_fail_fast);

}  // namespace faultline::experiment::internal

#endif  // FAULTLINE_EXPERIMENT_RUN_STATE_H_
