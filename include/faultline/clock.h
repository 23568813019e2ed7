// Clock: the one source of time for faultline's logic, and FakeClock for tests.
//
// Everything that reads the time or waits (rule expiry, injected latency)
// goes through a Clock passed in an options struct, never the wall clock
// directly, so tests advance a FakeClock instead of sleeping.
//
// Thread-safety: SystemClock and FakeClock are safe to use from any thread.
#ifndef FAULTLINE_CLOCK_H_
#define FAULTLINE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace faultline {

// Nanoseconds since the Unix epoch (wall time, so that `expires_at` in a rule
// file means what it says).
using TimeNs = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall time.
  virtual TimeNs Now() = 0;
  // Blocks the calling thread for `d` (a FakeClock advances instead).
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;
};

// The real clock. SystemClock::Default() lives for the whole process.
class SystemClock final : public Clock {
 public:
  static SystemClock* Default();
  TimeNs Now() override;
  void SleepFor(std::chrono::nanoseconds d) override;
};

// A clock that moves only when told to. SleepFor advances it by the amount
// and records the request, so a test can assert "slept 100 ms" exactly.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeNs start = 1'700'000'000'000'000'000) : now_(start) {}

  TimeNs Now() override { return now_.load(std::memory_order_acquire); }
  void SleepFor(std::chrono::nanoseconds d) override;
  void Advance(std::chrono::nanoseconds d) { now_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void Set(TimeNs t) { now_.store(t, std::memory_order_release); }

  // Every SleepFor so far, in order.
  std::vector<std::chrono::nanoseconds> sleeps() const;
  // The sum of every SleepFor so far.
  std::chrono::nanoseconds total_slept() const;

 private:
  std::atomic<TimeNs> now_;
  mutable std::mutex mu_;
  std::vector<std::chrono::nanoseconds> sleeps_;
};

}  // namespace faultline

#endif  // FAULTLINE_CLOCK_H_
