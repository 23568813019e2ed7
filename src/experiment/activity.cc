// Playing one activity: chaoslib/activity.py execute_activity, with pauses
// that an interrupt or a fail-fast cuts short.
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "experiment/journal.h"
#include "experiment/run_state.h"

namespace faultline::experiment::internal {
namespace {

bool IsDry(Dry dry, const json& activity) {
  const std::string type = activity.value("type", "");
  switch (dry) {
    case Dry::kActions:
      return type == "action";
    case Dry::kProbes:
      return type == "probe";
    case Dry::kActivities:
      return true;
    default:
      return false;
  }
}

// A pause's seconds: a number, or nullopt (and the run aborted) for
// anything else; chaos would crash in time.sleep on it.
std::optional<double> PauseSeconds(RunState& run, const json& pause, std::string_view which,
                                   const json& activity) {
  if (pause.is_number()) return pause.get<double>();
  run.Stop("aborted", fmt::format("activity '{}': pauses.{} is {}, not a number of seconds",
                                  activity.value("name", ""), which, pause.dump()));
  return std::nullopt;
}

bool HasPause(const json& pauses, std::string_view which) {
  if (!pauses.is_object() || !pauses.contains(which)) return false;
  const json& p = pauses[std::string(which)];
  return !(p.is_null() || p == false || p == 0);
}

// Waits `pause` seconds unless the dry mode skips pauses; false when the
// wait was cut short or the pause is not a number.
bool Pause(RunState& run, const json& pauses, std::string_view which, const json& activity,
           bool is_dry, Waiter* waiter) {
  if (!HasPause(pauses, which)) return true;  // Python: falsy, no pause
  const json& p = pauses[std::string(which)];
  const std::optional<double> secs = PauseSeconds(run, p, which, activity);
  if (!secs) return false;
  if (run.dry == Dry::kPause || is_dry || *secs <= 0) return true;
  run.observer->Message(fmt::format("pausing {} '{}' for {}s",
                                    which == "before" ? "before" : "after",
                                    activity.value("name", ""), *secs));
  const auto d = std::chrono::duration<double>(*secs);
  return waiter->WaitUntil(run.clock->Now() +
                           std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// The activity a ref names; nullopt (and the run aborted) when none does.
std::optional<json> Resolve(RunState& run, const json& activity) {
  if (!activity.contains("ref")) return activity;
  const std::string ref = activity["ref"].is_string() ? activity["ref"].get<std::string>() : "";
  const auto it = run.by_name.find(ref);
  if (it == run.by_name.end()) {
    run.Stop("aborted", fmt::format("could not find referenced activity '{}'", ref));
    return std::nullopt;
  }
  return it->second;
}

// Appends `entry` to journal[runs] and returns its index.
size_t Record(RunState& run, std::string_view runs, const json& entry) {
  std::lock_guard lock(run.mu);
  json& list = run.journal[std::string(runs)];
  list.push_back(entry);
  return list.size() - 1;
}

void Finish(RunState& run, json& entry, const ProviderResult& r, TimeNs start) {
  entry["output"] = r.ok ? r.output : json(nullptr);
  entry["status"] = r.ok ? "succeeded" : "failed";
  if (!r.ok) {
    json lines = json::array();
    for (const std::string& line : r.exception) lines.push_back(line);
    if (lines.empty())
      lines.push_back(fmt::format("chaoslib.exceptions.ActivityFailed: {}\n", r.error));
    entry["exception"] = std::move(lines);
  }
  const TimeNs end = run.clock->Now();
  entry["end"] = IsoTime(end);
  entry["duration"] = static_cast<double>(end - start) / 1e9;
}

}  // namespace

std::optional<json> PlayActivity(RunState& run, const json& written, Waiter* waiter,
                                 std::optional<std::string_view> runs,
                                 const std::function<void()>& begun) {
  bool told = false;
  auto tell = [&begun, &told] {
    if (begun && !told) begun();
    told = true;
  };
  const std::optional<json> activity = Resolve(run, written);
  if (!activity) {
    tell();
    return std::nullopt;
  }
  const bool is_dry = IsDry(run.dry, *activity);
  const json pauses = Substitute(activity->value("pauses", json::object()), run.ctx);
  if (HasPause(pauses, "before")) tell();
  if (!Pause(run, pauses, "before", *activity, is_dry, waiter)) {
    tell();
    return std::nullopt;
  }

  const TimeNs start = run.clock->Now();
  json entry = {{"activity", *activity}, {"output", nullptr}, {"start", IsoTime(start)}};
  std::optional<size_t> index;
  if (runs) index = Record(run, *runs, entry);
  tell();
  run.observer->ActivityStarted(*activity);
  ProviderResult r;
  if (!is_dry) r = run.provider(*activity, run.ctx);
  Finish(run, entry, r, start);
  if (index) {
    std::lock_guard lock(run.mu);
    run.journal[std::string(*runs)][*index] = entry;
  }
  run.observer->ActivityEnded(entry);
  Pause(run, pauses, "after", *activity, is_dry, waiter);
  return entry;
}

}  // namespace faultline::experiment::internal
