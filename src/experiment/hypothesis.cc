// The steady-state hypothesis: one check (chaoslib/hypothesis.py
// run_steady_state_hypothesis) and the continuous check on a strict grid.
#include <fmt/format.h>

#include "experiment/run_state.h"
#include "experiment/tolerance.h"

namespace faultline::experiment::internal {
namespace {

// A probe used as a tolerance runs through the provider, unrecorded.
ToleranceProbe ToleranceProber(RunState& run) {
  return [&run](const json& activity) -> Result<json> {
    ProviderResult r = run.provider(activity, run.ctx);
    if (!r.ok) return Status::Unavailable(r.error);
    return std::move(r.output);
  };
}

}  // namespace

std::optional<bool> ProbeMet(RunState& run, const json& probe, const json& entry) {
  // As written: WithinTolerance substitutes where chaoslib does (a string
  // tolerance once, keeping the type of an exact "${name}").
  const json tolerance = probe.value("tolerance", json(nullptr));
  Result<bool> met = WithinTolerance(tolerance, entry["output"], run.ctx, ToleranceProber(run));
  if (!met.ok()) {
    run.Stop("aborted",
             fmt::format("probe '{}': its tolerance cannot be evaluated: {}",
                         probe.value("name", probe.value("ref", "")), met.status().message()));
    return std::nullopt;
  }
  return *met;
}

std::int64_t NextSlot(TimeNs t0, std::int64_t k, TimeNs now, std::chrono::nanoseconds period) {
  const std::int64_t p = period.count();
  const std::int64_t ahead = (now - t0) / p + ((now - t0) % p != 0 ? 1 : 0);
  return std::max(k + 1, ahead);
}

json CheckHypothesis(RunState& run, Waiter* waiter) {
  const json& hypo = run.experiment.value("steady-state-hypothesis", json(nullptr));
  if (!hypo.is_object() || hypo.empty()) return nullptr;
  json state = {{"steady_state_met", nullptr}, {"probes", json::array()}};
  const json probes = hypo.value("probes", json::array());
  for (const json& probe : probes) {
    std::optional<json> entry = PlayActivity(run, probe, waiter, std::nullopt);
    if (!entry) {  // cut short or aborted: what was checked so far
      state["steady_state_met"] = false;
      return state;
    }
    if ((*entry)["status"] == "failed") {
      (*entry)["tolerance_met"] = false;
      state["probes"].push_back(std::move(*entry));
      state["steady_state_met"] = false;
      return state;
    }
    (*entry)["tolerance_met"] = true;
    if (run.dry == Dry::kProbes || run.dry == Dry::kActivities) {
      state["probes"].push_back(std::move(*entry));
      continue;
    }
    const std::optional<bool> met = ProbeMet(run, probe, *entry);
    if (!met || !*met) (*entry)["tolerance_met"] = false;
    state["probes"].push_back(std::move(*entry));
    if (!met || !*met) {
      state["steady_state_met"] = false;
      return state;
    }
  }
  state["steady_state_met"] = true;
  return state;
}

void RunHypothesisContinuously(RunState& run, Waiter* waiter, std::chrono::nanoseconds period,
                               bool fail_fast, const std::function<void()>& on_fail_fast) {
  const TimeNs t0 = run.clock->Now();
  for (std::int64_t k = 0; !waiter->cancelled() && !run.stopping.load(); ++k) {
    json state = CheckHypothesis(run, waiter);
    {
      std::lock_guard lock(run.mu);
      run.journal["steady_states"]["during"].push_back(state);
    }
    run.observer->HypothesisChecked("during", state);
    if (state.is_object() && state["steady_state_met"] == false && fail_fast &&
        !waiter->cancelled()) {
      if (run.Stop("failed", "the steady state deviated during the method (--fail-fast)")) {
        on_fail_fast();
      }
      return;
    }
    // A check that overran skips the slots it covered instead of drifting.
    k = NextSlot(t0, k, run.clock->Now(), period) - 1;
    if (!waiter->WaitUntil(t0 + (k + 1) * period.count())) return;
  }
}

}  // namespace faultline::experiment::internal
