#include "experiment/safety_net.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace faultline::experiment {
namespace {

constexpr double kUnboundedActivityS = 30;

double Seconds(const json& v, double otherwise) {
  if (v.is_number()) return v.get<double>();
  if (v.is_array()) {
    double sum = 0;
    for (const json& x : v) sum += x.is_number() ? x.get<double>() : 0;
    return sum;
  }
  return otherwise;
}

// How long one activity may take, pauses included.
double ActivitySeconds(const json& a) {
  if (!a.is_object()) return kUnboundedActivityS;
  double s = 0;
  const json pauses = a.value("pauses", json::object());
  if (pauses.is_object()) {
    s += Seconds(pauses.value("before", json(0)), 0) + Seconds(pauses.value("after", json(0)), 0);
  }
  const json p = a.value("provider", json::object());
  if (!p.is_object()) return s + kUnboundedActivityS;
  if (p.value("type", "") == "faultline" && p.value("func", "") == "load") {
    const json args = p.value("arguments", json::object());
    return s + Seconds(args.is_object() ? args.value("duration", json(10)) : json(10), 10) + 5;
  }
  return s + Seconds(p.value("timeout", json(nullptr)), kUnboundedActivityS);
}

double ListSeconds(const json& list) {
  double s = 0;
  if (list.is_array()) {
    for (const json& a : list) s += ActivitySeconds(a);
  }
  return s;
}

}  // namespace

std::chrono::nanoseconds EstimateRunTime(const json& experiment) {
  const json hypo = experiment.value("steady-state-hypothesis", json::object());
  const double probes = hypo.is_object() ? ListSeconds(hypo.value("probes", json::array())) : 0;
  const double total = 2 * probes + ListSeconds(experiment.value("method", json::array())) +
                       ListSeconds(experiment.value("rollbacks", json::array()));
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(total));
}

Result<std::unique_ptr<SafetyNet>> SafetyNet::Open(const std::string& state_path,
                                                   const std::string& experiment_file,
                                                   const json& experiment, Clock* clock) {
  Result<std::vector<StateEntry>> left = ReadPending(state_path);
  if (left.ok() && !left->empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: {} change{} of an earlier run {} not undone (the first: {}); run `faultline "
        "rollback {}` first",
        state_path, left->size(), left->size() == 1 ? "" : "s", left->size() == 1 ? "was" : "were",
        (*left)[0].what, state_path));
  }
  if (!left.ok() && left.status().code() != Status::Code::kNotFound) {
    return left.status();  // a file that is not a state file: left alone
  }
  if (left.ok()) ::unlink(state_path.c_str());  // an earlier run's, settled: replaced
  Result<std::unique_ptr<StateFile>> state = StateFile::Create(state_path, experiment_file, clock);
  if (!state.ok()) return state.status();
  std::unique_ptr<SafetyNet> net(new SafetyNet());
  net->clock_ = clock;
  net->deadline_ = clock->Now() + EstimateRunTime(experiment).count();
  net->state_ = std::move(*state);
  NativeOptions o;
  o.clock = clock;
  StateFile* file = net->state_.get();
  o.record_undo = [file](const json& undo, std::string_view what) -> Status {
    Result<std::string> id = file->Record(undo, what);
    return id.ok() ? Status::Ok() : id.status();
  };
  SafetyNet* self = net.get();
  o.max_ttl = [self]() {
    const TimeNs left_ns = std::max<TimeNs>(self->deadline_ - self->clock_->Now(), 0);
    return std::chrono::nanoseconds(left_ns) + std::chrono::nanoseconds(kTtlMargin);
  };
  net->native_ = std::make_unique<NativeProvider>(std::move(o));
  return net;
}

SafetyNet::~SafetyNet() = default;

ProviderResult SafetyNet::Run(const json& provider, const Context& ctx) {
  return native_->Run(provider, ctx);
}

void SafetyNet::Interrupt() { native_->Interrupt(); }

namespace {

// Carries out each step with `undo`, marking its entries done through `mark`.
json Apply(const std::vector<SettleStep>& plan, const std::function<Status(const json&)>& undo,
           const std::function<void(const std::string&, std::string_view)>& mark, bool* settled) {
  json steps = json::array();
  *settled = true;
  for (const SettleStep& step : plan) {
    const Status s = undo(step.undo);
    const std::string result = s.ok() ? "undone" : "failed: " + s.message();
    for (const std::string& id : step.ids) mark(id, result);
    if (!s.ok()) *settled = false;
    steps.push_back({{"what", step.what}, {"result", result}});
  }
  return steps;
}

}  // namespace

json SafetyNet::Settle(bool* settled) {
  const std::vector<SettleStep> plan = PlanSettle(state_->Pending());
  json steps = Apply(
      plan, [this](const json& u) { return native_->Undo(u); },
      [this](const std::string& id, std::string_view r) { (void)state_->Done(id, r); }, settled);
  if (*settled) state_->RemoveIfSettled();
  return steps;
}

Result<json> RollBack(const std::string& path, Clock* clock, bool* settled) {
  Result<std::vector<StateEntry>> pending = ReadPending(path);
  if (!pending.ok()) return pending.status();
  json steps = Apply(
      PlanSettle(*pending), [](const json& u) { return Undo(u); },
      [&path, clock](const std::string& id, std::string_view r) {
        (void)MarkDone(path, id, r, clock);
      },
      settled);
  if (*settled) ::unlink(path.c_str());
  return steps;
}

}  // namespace faultline::experiment
