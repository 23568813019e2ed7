// Metrics: Lambda's CloudWatch metrics for each function, as Prometheus
// text (/metrics) and JSON (/metrics.json).
#include <fmt/format.h>

#include "lambda/platform.h"

namespace faultline::lambda {

Response Platform::MetricsText(const Request& req) const {
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    out += fmt::format("# HELP faultline_lambda_{} {}\n# TYPE faultline_lambda_{} {}\n", name, help,
                       name, type);
    for (const auto& [fname, fn] : functions) {
      out += fmt::format("faultline_lambda_{}{{function=\"{}\"}} {}\n", name, fname, value(*fn));
    }
  };
  family("invocations_total", "counter", "Invocations (Lambda's Invocations metric).",
         [](const Function& f) { return f.metrics.invocations; });
  family("errors_total", "counter", "Invocations that ended in an error.",
         [](const Function& f) { return f.metrics.errors; });
  family("throttles_total", "counter", "Invocations refused with 429.",
         [](const Function& f) { return f.metrics.throttles; });
  family("timeouts_total", "counter", "Invocations that timed out.",
         [](const Function& f) { return f.metrics.timeouts; });
  family("async_events_received_total", "counter", "Event invocations accepted.",
         [](const Function& f) { return f.metrics.async_received; });
  family("async_events_dropped_total", "counter",
         "Event invocations given up that no destination took.",
         [](const Function& f) { return f.metrics.async_dropped; });
  family("destination_delivery_failures_total", "counter", "Records a destination could not take.",
         [](const Function& f) { return f.metrics.destination_failures; });
  family("dead_letter_errors_total", "counter", "Events the dead-letter target could not take.",
         [](const Function& f) { return f.metrics.dead_letter_errors; });
  family("cold_starts_total", "counter", "Execution environments started.",
         [](const Function& f) { return f.metrics.cold_starts; });
  family("concurrent_executions", "gauge", "Invocations running now.",
         [](const Function& f) { return f.metrics.concurrent; });
  out +=
      "# HELP faultline_lambda_duration_ms Duration of the latest invocations.\n"
      "# TYPE faultline_lambda_duration_ms summary\n";
  for (const auto& [fname, fn] : functions) {
    for (double q : {0.5, 0.9, 0.99}) {
      out += fmt::format("faultline_lambda_duration_ms{{function=\"{}\",quantile=\"{}\"}} {:.3f}\n",
                         fname, q, fn->metrics.Percentile(q));
    }
    out += fmt::format("faultline_lambda_duration_ms_count{{function=\"{}\"}} {}\n", fname,
                       fn->metrics.durations.size());
  }
  return http::MakeResponse(req, bhttp::status::ok, out, "text/plain; version=0.0.4");
}

Response Platform::MetricsJson(const Request& req) const {
  json out = json::object();
  for (const auto& [name, fn] : functions) {
    const Metrics& m = fn->metrics;
    out[name] = {{"Invocations", m.invocations},
                 {"Errors", m.errors},
                 {"Throttles", m.throttles},
                 {"Timeouts", m.timeouts},
                 {"ColdStarts", m.cold_starts},
                 {"AsyncEventsReceived", m.async_received},
                 {"AsyncEventsDropped", m.async_dropped},
                 {"DestinationDeliveryFailures", m.destination_failures},
                 {"DeadLetterErrors", m.dead_letter_errors},
                 {"ConcurrentExecutions", m.concurrent},
                 {"MaxConcurrentExecutions", m.max_concurrent},
                 {"Duration",
                  {{"p50", m.Percentile(0.5)},
                   {"p90", m.Percentile(0.9)},
                   {"p99", m.Percentile(0.99)},
                   {"count", m.durations.size()}}}};
  }
  return http::MakeResponse(req, bhttp::status::ok, json{{"functions", out}}.dump());
}

}  // namespace faultline::lambda
