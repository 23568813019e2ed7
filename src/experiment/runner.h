// Runner: one run of an experiment, as chaostoolkit-lib's Runner plays it
// (chaoslib/run.py), with the same statuses, deviated flag and journal, and
// a schedule that holds.
//
//   configuration, secrets ──► before-hypothesis ──► method ──► after-hypothesis ──► rollbacks
//                                 (gate: not met,       │  ▲       (not met:           (by
//                                 strategy)
//                                  method skipped)      │  │        deviated)
//                                                       ▼  │
//                                     continuous hypothesis on a strict grid
//                                     (t0 + k·frequency), --fail-fast stops the
//                                     method at once: no further activity, a
//                                     pause in progress cut short
//
// Statuses: completed, failed, aborted, interrupted. Differences from chaos,
// each kept to what chaos would have decided: the continuous hypothesis
// does not drift; fail-fast and an interrupt also end a pause; a tolerance
// chaos would crash on (a TypeError in Python) aborts the run with a
// message instead; --fail-on-action-failure (faultline's) makes a failed
// action fail the run.
//
// Thread-safety: Run is called once, from one thread; Interrupt from any
// thread (a signal-watching thread) while Run runs.
#ifndef FAULTLINE_EXPERIMENT_RUNNER_H_
#define FAULTLINE_EXPERIMENT_RUNNER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "experiment/context.h"
#include "experiment/document.h"
#include "experiment/json.h"
#include "experiment/provider.h"
#include "faultline/clock.h"

namespace faultline::experiment {

enum class Dry { kNone, kProbes, kActions, kActivities, kPause };
enum class HypothesisStrategy {
  kDefault,
  kBeforeMethodOnly,
  kAfterMethodOnly,
  kDuringMethodOnly,
  kContinuously,
};
enum class RollbackStrategy { kDefault, kAlways, kNever, kDeviated };

// The names chaos uses ("probes", "continuously", "deviated", ...), and back.
std::string_view Name(Dry d);
std::string_view Name(HypothesisStrategy s);
std::string_view Name(RollbackStrategy s);
std::optional<Dry> ParseDry(std::string_view s);
// "continously" (chaos's old spelling) is accepted too.
std::optional<HypothesisStrategy> ParseHypothesisStrategy(std::string_view s);
std::optional<RollbackStrategy> ParseRollbackStrategy(std::string_view s);

// A wait that can be cut short (pauses, the continuous hypothesis's
// schedule). The seam for time: tests pass one over a FakeClock.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Waits until clock time `deadline`, or until Cancel(); false when
  // cancelled (also when it already was).
  virtual bool WaitUntil(TimeNs deadline) = 0;
  virtual void Cancel() = 0;
  virtual bool cancelled() const = 0;
  virtual Clock* clock() = 0;
  // A fresh waiter on the same clock (each part of a run that can be cut
  // short on its own has one).
  virtual std::unique_ptr<Waiter> Make() = 0;
};

// Waits on the real clock with a condition variable.
std::unique_ptr<Waiter> RealWaiter();
// Moves a FakeClock to each deadline instead of waiting; records them.
class FakeWaiter final : public Waiter {
 public:
  explicit FakeWaiter(FakeClock* clock) : clock_(clock) {}
  bool WaitUntil(TimeNs deadline) override;
  void Cancel() override { cancelled_ = true; }
  bool cancelled() const override { return cancelled_; }
  Clock* clock() override { return clock_; }
  std::unique_ptr<Waiter> Make() override { return std::make_unique<FakeWaiter>(clock_); }

 private:
  FakeClock* clock_;
  std::atomic<bool> cancelled_{false};
};

// What the runner tells whoever shows the run (the terminal view).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // A phase begins: "before", "method", "after", "rollbacks".
  virtual void Phase(std::string_view /*name*/) {}
  virtual void ActivityStarted(const json& /*activity*/) {}
  // The journal entry of an activity that ended.
  virtual void ActivityEnded(const json& /*run*/) {}
  // One check of the hypothesis (before, during or after): its state.
  virtual void HypothesisChecked(std::string_view /*when*/, const json& /*state*/) {}
  virtual void Message(std::string_view /*line*/) {}
};

struct RunOptions {
  Dry dry = Dry::kNone;
  // nullopt: the experiment's runtime section, else default.
  std::optional<HypothesisStrategy> hypothesis_strategy;
  std::optional<RollbackStrategy> rollback_strategy;
  // Seconds between two starts of the continuous hypothesis.
  double hypothesis_frequency_s = 1.0;
  bool fail_fast = false;
  // faultline's: an action that fails makes the run "failed" and ends the
  // method (chaos records it and goes on).
  bool fail_on_action_failure = false;
  // Recorded in the journal; passed to every fault the runner arms.
  std::uint64_t seed = 0;
  Variables vars;
  EnvLookup env = ProcessEnv();
  // Carries out one activity's provider; nullptr: a Providers of the
  // runner's own (process, http, python).
  std::function<ProviderResult(const json& activity, const Context& ctx)> run_provider;
  // Ends what run_provider is doing (called on Interrupt).
  std::function<void()> interrupt_provider;
  // The "faultline" provider, for the runner's own Providers (see
  // Providers::Options::faultline); nullptr: not available.
  std::function<ProviderResult(const json& provider, const Context& ctx)> faultline;
  // nullptr: RealWaiter() on the system clock.
  Waiter* waiter = nullptr;
  RunObserver* observer = nullptr;
};

class Runner {
 public:
  Runner(const Document& doc, RunOptions options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Plays the experiment and returns its journal (status, deviated, ...).
  // REQUIRES: doc is valid (Validate found nothing), or the user said
  // --no-validation (then what is missing fails the run as chaos would).
  json Run();

  // Interrupts the run as SIGINT does chaos: status interrupted, what runs
  // is ended, pauses cut short; `rollbacks` false (SIGUSR2) skips the
  // rollbacks whatever the strategy. `why` is recorded ("SIGINT").
  void Interrupt(std::string why, bool rollbacks = true);

  // Exit code chaos gives a journal: 0 when completed and not deviated.
  static int ExitCode(const json& journal);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_RUNNER_H_
