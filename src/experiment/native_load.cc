// load: the load generator (src/load/engine.h) run in-process for the
// probe's duration; its --json document (docs/load.md) under "report", and
// the figures a tolerance looks at most, flat.
//
//   arguments ─► LoadOptions ─► load::Start ─► registered in Shared::loads
//             ─► Wait (Interrupt: Stop) ─► {requests, errors, http_errors,
//                error_rate, p50_ms, p90_ms, p99_ms, rps, report}
#include <fmt/format.h>
#include <strings.h>

#include <string>
#include <utility>

#include "experiment/native_internal.h"
#include "load/engine.h"
#include "load/report.h"

namespace faultline::experiment::native_internal {

namespace {

constexpr std::string_view kFunc = "load";

Status HeadersArg(const json& args, load::LoadOptions* o) {
  const json* headers = Arg(args, "headers");
  if (headers == nullptr) return Status::Ok();
  if (!headers->is_object()) {
    return Status::InvalidArgument("arguments.headers: expected a mapping of names to values");
  }
  for (const auto& [name, value] : headers->items()) {
    if (!value.is_string() && !value.is_number() && !value.is_boolean()) {
      return Status::InvalidArgument(
          fmt::format("arguments.headers.{}: expected a string, got {}", name, value.dump()));
    }
    o->headers.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return Status::Ok();
}

// A string body is sent as it is; any other value as JSON.
void BodyArg(const json& args, load::LoadOptions* o) {
  const json* body = Arg(args, "body");
  if (body == nullptr) return;
  if (body->is_string()) {
    o->body = body->get<std::string>();
    return;
  }
  o->body = body->dump();
  bool typed = false;
  for (const auto& [name, value] : o->headers) {
    typed = typed || (name.size() == 12 && strcasecmp(name.c_str(), "content-type") == 0);
  }
  if (!typed) o->content_type = "application/json";
}

Result<load::LoadOptions> Options(const json& args) {
  load::LoadOptions o;
  Result<std::string> url = StringArg(args, "url");
  Result<std::int64_t> connections = IntArg(args, "connections", 4);
  Result<std::optional<std::chrono::nanoseconds>> duration = DurationArg(args, "duration");
  Result<std::optional<std::chrono::nanoseconds>> timeout = DurationArg(args, "timeout");
  Result<std::optional<double>> rate = NumberArg(args, "rate");
  Result<std::string> method = StringArg(args, "method", "GET");
  for (const Status* s : {&url.status(), &connections.status(), &duration.status(),
                          &timeout.status(), &rate.status(), &method.status()}) {
    if (!s->ok()) return *s;
  }
  if (*connections < 1 || *connections > 10000) {
    return Status::InvalidArgument("arguments.connections: expected 1 to 10000");
  }
  if (Status s = HeadersArg(args, &o); !s.ok()) return s;
  if (const json* check = Arg(args, "check_reachable")) {
    if (!check->is_boolean())
      return Status::InvalidArgument("arguments.check_reachable: expected a boolean");
    o.check_reachable = check->get<bool>();
  } else {
    o.check_reachable = false;  // a probe measures an outage too
  }
  o.url = *url;
  o.connections = static_cast<int>(*connections);
  o.duration = duration->value_or(std::chrono::seconds(10));
  o.timeout = timeout->value_or(std::chrono::seconds(10));
  o.rate = rate->value_or(0);
  o.method = *method;
  BodyArg(args, &o);
  if (Status s = load::Validate(o); !s.ok()) return s;
  return o;
}

// Runs `run` to its end, or until Interrupt stops it; whether it was.
bool WaitRegistered(Shared& shared, load::LoadRun* run) {
  bool stop_now = false;
  {
    std::lock_guard lock(shared.mu);
    stop_now = shared.interrupted;
    if (!stop_now) shared.loads.insert(run);
  }
  if (stop_now) run->Stop();  // interrupted while it started
  run->Wait();
  std::lock_guard lock(shared.mu);
  shared.loads.erase(run);
  return shared.interrupted;
}

json Summary(const load::LoadResult& result) {
  const json report = json(load::ToJson(result));
  const json& latency = report["latency_ms"];
  const auto at = [](const json& j, const char* key) { return j.contains(key) ? j[key] : json(); };
  return {{"requests", report["requests"]["total"]},
          {"errors", report["errors"]["total"]},
          {"http_errors", result.tally.http_error_count()},
          {"error_rate", report["error_rate"]},
          {"p50_ms", at(latency, "p50")},
          {"p90_ms", at(latency, "p90")},
          {"p99_ms", at(latency, "p99")},
          {"rps", report["requests"]["per_second"]},
          {"report", report}};
}

}  // namespace

ProviderResult Load(Shared& shared, const json& args) {
  const std::string url = Arg(args, "url") != nullptr && Arg(args, "url")->is_string()
                              ? Arg(args, "url")->get<std::string>()
                              : "";
  Result<load::LoadOptions> options = Options(args);
  if (!options.ok()) return Failure(kFunc, url, options.status().message());
  {
    std::lock_guard lock(shared.mu);
    if (shared.interrupted) return Failure(kFunc, url, "interrupted");
  }
  Result<std::unique_ptr<load::LoadRun>> run = load::Start(*options);
  if (!run.ok()) return Failure(kFunc, url, run.status().message());
  const bool interrupted = WaitRegistered(shared, run->get());
  const Result<load::LoadResult>& result = (*run)->Wait();
  if (!result.ok()) return Failure(kFunc, url, result.status().message());
  if (interrupted) {
    return Failure(kFunc, url, fmt::format("interrupted after {:.1f} s", result->elapsed_s));
  }
  return Output(Summary(*result));
}

void StopLoads(Shared& shared) {
  std::lock_guard lock(shared.mu);
  shared.interrupted = true;
  for (load::LoadRun* run : shared.loads) run->Stop();
}

}  // namespace faultline::experiment::native_internal
