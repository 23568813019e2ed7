#include "faultline/clock.h"

#include <thread>

namespace faultline {

SystemClock* SystemClock::Default() {
  static SystemClock clock;
  return &clock;
}

TimeNs SystemClock::Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SystemClock::SleepFor(std::chrono::nanoseconds d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

void FakeClock::SleepFor(std::chrono::nanoseconds d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d);
  }
  if (d.count() > 0) Advance(d);
}

std::vector<std::chrono::nanoseconds> FakeClock::sleeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

std::chrono::nanoseconds FakeClock::total_slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::chrono::nanoseconds total{0};
  for (auto d : sleeps_) total += d;
  return total;
}

}  // namespace faultline
