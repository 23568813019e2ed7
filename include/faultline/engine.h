// Engine: decides, at an injection point, whether to inject a fault and which.
//
//   Load(rules) --compile--> Snapshot (immutable) --atomic swap--> current
//                                                        |
//   Decide("redis.get", {{"db","redis"}}) ---------------+--> Plan
//
// Decide is the hot path. With no rule armed it costs one relaxed atomic load
// and a branch. With rules armed, each thread reads the current snapshot
// through a thread-local cache (refreshed only when a new snapshot is
// published) and memoises which rules can match a point name. A reader takes
// a lock only once after each reload, for as long as it takes to copy a
// pointer (rules are compiled outside that lock), and writes no shared cache
// line except for the counters of rules that count globally (every / skip /
// limit) — the counters themselves are sharded per thread.
//
// Decide only decides: it returns a Plan ("wait 100 ms", "fail with
// Function.InjectedFault: ...") and the caller carries it out (see inject.h
// for the in-process helpers).
//
// Thread-safety: every method may be called from any thread at any time.
#ifndef FAULTLINE_ENGINE_H_
#define FAULTLINE_ENGINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/clock.h"
#include "faultline/rules.h"
#include "faultline/status.h"

namespace faultline {

struct Tag {
  std::string_view key;
  std::string_view value;
};

// What to do at an injection point. Empty (action == kNone, no delay) in the
// common case, which costs nothing to build or destroy.
//
// Several rules may match one point: rules are taken in file order; every
// latency rule that fires adds its delay, and the first rule with any other
// action that fires decides the action and ends the evaluation.
class Plan {
 public:
  struct Details {
    std::string rule;               // the rule that chose `action` (or the first latency rule)
    Phase phase = Phase::kDefault;  // of the rule that chose `action`
    // The part of delay() from latency rules with phase kAfter (a layer that
    // wraps a call waits delay() - delay_after before it and delay_after
    // after it; in-process injection waits delay() at once).
    std::chrono::nanoseconds delay_after{0};
    ErrorSpec error{{}, {}};            // kError (empty otherwise: no allocation)
    ResponseSpec response;              // kStatus, kBody
    double timeout_buffer_ms = 0;       // kTimeout
    std::uint64_t diskspace_mb = 0;     // kDiskSpace
    std::vector<std::string> denylist;  // kDenylist
  };

  Plan() = default;

  bool empty() const { return action_ == Action::kNone && delay_.count() == 0; }
  explicit operator bool() const { return !empty(); }

  // kNone, or the action to carry out after the delay. A plan with only a
  // delay has action() == kLatency.
  Action action() const { return action_; }
  std::chrono::nanoseconds delay() const { return delay_; }
  // REQUIRES: !empty()
  const Details& details() const { return *details_; }

 private:
  friend class Engine;
  Action action_ = Action::kNone;
  std::chrono::nanoseconds delay_{0};
  std::unique_ptr<Details> details_;
};

struct RuleCounters {
  std::string name;
  std::uint64_t matched = 0;   // target and tags matched, rule enabled
  std::uint64_t injected = 0;  // the rule fired (in a dry run: would have)
  std::uint64_t skipped = 0;   // matched but did not fire (probability, every,
                               // skip, limit, expired)
};

struct EngineOptions {
  // Time source for expiry and for the injection log. Not owned; must outlive
  // the engine. nullptr: SystemClock::Default().
  Clock* clock = nullptr;
  // Seed of every random decision. 0: a random seed (see Engine::seed()).
  std::uint64_t seed = 0;
  // Receives one JSON line (no trailing newline) per injection:
  // {"time":"...","rule":"...","point":"...","action":"latency","delay_ms":100,...}
  // Called on the injecting thread; must be thread-safe. Empty: no log.
  std::function<void(std::string_view line)> log_sink;
  // Log what would be injected, inject nothing.
  bool dry_run = false;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and compiles `rules`, then replaces the active rules in one
  // atomic step. On error the active rules stay as they were. Counters and
  // every/skip/limit progress carry over for rules whose definition is
  // unchanged. A ttl counts from the rule's armed_at; a rule with a ttl and
  // no armed_at is armed by this call (Rules() shows when), or keeps the
  // armed_at it had if it is unchanged otherwise.
  Status Load(const RuleSet& rules);
  // Removes every rule.
  void Clear();

  // The kill switch: while off, Decide returns an empty plan whatever the
  // rules say. On by default; the environment variable FAULTLINE_DISABLE=1
  // turns it off at construction.
  void SetEnabled(bool enabled);
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Whether Decide may return a non-empty plan (enabled and rules loaded):
  // lets a caller skip building tags when nothing is armed.
  bool armed() const { return armed_.load(std::memory_order_relaxed); }

  // The plan for one call at injection point `point` with `tags`.
  Plan Decide(std::string_view point, std::span<const Tag> tags = {}) {
    if (!armed_.load(std::memory_order_relaxed)) [[likely]] {
      return Plan();
    }
    return DecideArmed(point, tags);
  }
  Plan Decide(std::string_view point, std::initializer_list<Tag> tags) {
    return Decide(point, std::span<const Tag>(tags.begin(), tags.size()));
  }

  // Counters of the active rules, in rule order.
  std::vector<RuleCounters> Counters() const;
  // The active rules.
  RuleSet Rules() const;

  std::uint64_t seed() const { return seed_; }
  Clock* clock() const { return clock_; }

 private:
  struct CompiledRule;
  struct Snapshot;
  struct ThreadCache;
  Plan DecideArmed(std::string_view point, std::span<const Tag> tags);
  ThreadCache& CacheForThisThread();
  void Publish(std::shared_ptr<Snapshot> next);  // REQUIRES: mu_ held
  void Log(const CompiledRule& rule, std::string_view point, std::chrono::nanoseconds delay);

  Clock* clock_;
  std::uint64_t seed_;
  std::function<void(std::string_view)> log_sink_;
  bool dry_run_;
  const std::uint64_t id_;          // unique per engine in this process
  std::atomic<bool> armed_{false};  // enabled_ && rules not empty
  std::atomic<bool> enabled_{true};
  std::atomic<std::uint64_t> generation_{0};   // of current_, unique per process
  std::atomic<std::uint32_t> next_stream_{0};  // per-thread random streams

  std::mutex write_mu_;    // one Load / Clear at a time; readers never take it
  mutable std::mutex mu_;  // guards current_: held only to copy or swap the pointer
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace faultline

#endif  // FAULTLINE_ENGINE_H_
