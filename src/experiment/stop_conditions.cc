// faultline's stop conditions: probes checked on a schedule while the
// method runs; the first that does not hold ends the run (FIS's idea).
#include <fmt/format.h>

#include "experiment/run_state.h"

namespace faultline::experiment::internal {
namespace {

constexpr std::size_t kMaxRecordedChecks = 10000;

// Records one check; returns whether the condition held.
bool Check(RunState& run, const json& condition, Waiter* waiter, std::string* why) {
  const std::string name = condition.value("name", condition.value("ref", ""));
  std::optional<json> entry = PlayActivity(run, condition, waiter, std::nullopt);
  if (!entry) return true;  // cut short: the run is ending anyway
  const std::string returned = (*entry)["output"].dump();
  bool met = false;
  if ((*entry)["status"] == "failed") {
    const json& e = (*entry)["exception"];
    *why = fmt::format("stop condition '{}' failed: {}", name,
                       e.empty() ? "" : e.back().get<std::string>());
  } else {
    const std::optional<bool> m = ProbeMet(run, condition, *entry);
    if (!m) return false;  // aborted with the tolerance's message
    met = *m;
    if (!met) {
      const std::string tolerance = condition.value("tolerance", json(nullptr)).dump();
      *why = fmt::format("stop condition '{}' was not met: tolerance {} on {}{}", name,
                         tolerance.substr(0, 120), returned.substr(0, 160),
                         returned.size() > 160 ? "..." : "");
    }
  }
  std::lock_guard lock(run.mu);
  if (run.stop_checks.size() < kMaxRecordedChecks) {
    // A probe's journal entry, as the hypothesis's are (the report charts
    // it beside them).
    json recorded = std::move(*entry);
    recorded["tolerance_met"] = met;
    run.stop_checks.push_back(std::move(recorded));
  }
  return met;
}

}  // namespace

void WatchStopConditions(RunState& run, Waiter* waiter, std::chrono::nanoseconds period,
                         const std::function<void()>& on_stop) {
  const json x = run.experiment.value("x-faultline", json::object());
  const json conditions = x.is_object() ? x.value("stop-conditions", json::array()) : json();
  if (!conditions.is_array() || conditions.empty()) return;
  const TimeNs t0 = run.clock->Now();
  for (std::int64_t k = 0; !waiter->cancelled() && !run.stopping.load(); ++k) {
    for (const json& c : conditions) {
      std::string why;
      if (Check(run, c, waiter, &why)) continue;
      if (!why.empty() && run.Stop("aborted", why)) run.observer->Message(why);
      if (run.Status() == "aborted") on_stop();
      return;
    }
    k = NextSlot(t0, k, run.clock->Now(), period) - 1;
    if (!waiter->WaitUntil(t0 + (k + 1) * period.count())) return;
  }
}

}  // namespace faultline::experiment::internal
