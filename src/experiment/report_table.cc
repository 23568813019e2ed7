// The report's tables: every activity, and the rollbacks. Outputs are
// shown as a one-line summary with the whole (bounded) value folded in a
// <details>, which needs no script.
#include <fmt/format.h>

#include <cmath>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

constexpr std::size_t kSummaryChars = 90;

std::string Dump(const json& v, int indent) {
  return v.dump(indent, ' ', false, json::error_handler_t::replace);
}

const json* Find(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string NumberAt(const json& j, const char* a, const char* b = nullptr) {
  const json* f = Find(j, a);
  if (f != nullptr && b != nullptr) f = Find(*f, b);
  return f != nullptr && f->is_number() ? FormatNumber(f->get<double>()) : "?";
}

std::string LoadSummary(const json& load) {
  const json* rate = Find(load, "error_rate");
  const double errors = rate != nullptr && rate->is_number() ? rate->get<double>() * 100 : NAN;
  return fmt::format("load: {} requests, p50 {} ms, p99 {} ms, {}% failed",
                     NumberAt(load, "requests", "total"), NumberAt(load, "latency_ms", "p50"),
                     NumberAt(load, "latency_ms", "p99"), FormatNumber(errors));
}

std::string FirstLine(std::string_view s) {
  const std::size_t start = s.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  s.remove_prefix(start);
  return std::string(s.substr(0, s.find('\n')));
}

// "exit 0 · up", "HTTP 503", "load: ...", or the value itself, cut.
std::string OutputSummary(const json& output) {
  const json load = FindLoadResult(output);
  const json* status = Find(output, "status");
  std::string s;
  if (status != nullptr && status->is_number() && Find(output, "stdout") != nullptr) {
    s = "exit " + Dump(*status, -1);
    const json* out = Find(output, "stdout");
    const std::string line = out->is_string() ? FirstLine(out->get<std::string>()) : "";
    if (!load.is_discarded()) {
      s += " \xC2\xB7 " + LoadSummary(load);
    } else if (!line.empty()) {
      s += " \xC2\xB7 " + line;
    }
  } else if (status != nullptr && status->is_number() && Find(output, "headers") != nullptr) {
    s = "HTTP " + Dump(*status, -1);
    if (!load.is_discarded()) s += " \xC2\xB7 " + LoadSummary(load);
  } else if (!load.is_discarded()) {
    s = LoadSummary(load);
  } else {
    s = Dump(output, -1);
  }
  return Cut(s, kSummaryChars);
}

std::string TracebackText(const json& exception) {
  if (exception.is_string()) return exception.get<std::string>();
  std::string text;
  if (exception.is_array()) {
    for (const json& line : exception) text += line.is_string() ? line.get<std::string>() : "";
  }
  return text.empty() ? Dump(exception, 2) : text;
}

std::string Folded(const std::string& summary, const std::string& full, bool bad) {
  if (full.size() <= summary.size() && full.find('\n') == std::string::npos) {
    return fmt::format("<code{}>{}</code>", bad ? " class=\"bad\"" : "", Escape(full));
  }
  return fmt::format("<details><summary{}>{}</summary><pre>{}</pre></details>",
                     bad ? " class=\"bad\"" : "", Escape(summary), Escape(full));
}

std::string OutputCell(const ActivityRun& r, const ReportOptions& o) {
  if (r.exception != nullptr) {
    // The end of a traceback says what went wrong: keep that.
    return Folded(r.error.empty() ? "error" : Cut(r.error, kSummaryChars),
                  CutTail(TracebackText(*r.exception), o.max_output_chars), true);
  }
  if (r.output == nullptr) return "<span class=\"muted\">\xE2\x80\x94</span>";
  return Folded(OutputSummary(*r.output), Cut(Dump(*r.output, 2), o.max_output_chars), false);
}

std::string ResultCell(const ActivityRun& r) {
  switch (r.outcome) {
    case Outcome::kOk:
      return r.tolerance_met ? "<span class=\"st ok\">\xE2\x9C\x93 tolerance met</span>"
                             : "<span class=\"st ok\">\xE2\x9C\x93 succeeded</span>";
    case Outcome::kMissed:
      return "<span class=\"st warn\">\xE2\x9A\xA0 tolerance not met</span>";
    case Outcome::kFailed:
      return "<span class=\"st bad\">\xE2\x9C\x95 failed</span>";
    case Outcome::kOther:
      break;
  }
  return fmt::format("<span class=\"st warn\">{}</span>",
                     r.status.empty() ? "no status" : Escape(r.status));
}

std::string PhaseCell(const ActivityRun& r) {
  if (r.phase == Phase::kDuring) return fmt::format("during, check {}", r.check + 1);
  return std::string(PhaseName(r.phase));
}

std::string TookText(const ActivityRun& r) {
  if (!r.start || !r.end) return "\xE2\x80\x94";
  return FormatSeconds(*r.end - *r.start);
}

std::string NameCell(const ActivityRun& r) {
  std::string out = fmt::format("<strong>{}</strong>", Escape(r.name));
  std::string sub = r.type;
  if (r.background) sub += ", background";
  if (!r.provider.empty()) sub += (sub.empty() ? "" : " \xC2\xB7 ") + r.provider;
  if (!sub.empty()) out += fmt::format("<div class=\"sub\">{}</div>", Escape(sub));
  return out;
}

}  // namespace

std::string OffsetText(const std::optional<double>& t) {
  return t ? "+" + FormatSeconds(*t) : "\xE2\x80\x94";
}

std::string ActivityTable(const ReportModel& model, const ReportOptions& options) {
  if (model.runs.empty()) return "<p class=\"muted\">The journal records no activity.</p>";
  std::string out =
      "<table class=\"activities\"><thead><tr><th>Phase</th><th>Activity</th><th>Started</th>"
      "<th>Took</th><th>Result</th><th>Output</th></tr></thead><tbody>";
  std::size_t n = 0;
  for (const ActivityRun& r : model.runs) {
    if (n++ == options.max_table_rows) break;
    out += fmt::format(
        "<tr class=\"{}\"><td class=\"nowrap\">{}</td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"out\">{}</td></tr>",
        r.outcome == Outcome::kFailed ? "row-bad" : "", PhaseCell(r), NameCell(r),
        OffsetText(r.start), TookText(r), ResultCell(r), OutputCell(r, options));
  }
  out += "</tbody></table>";
  if (model.runs.size() > options.max_table_rows) {
    out += fmt::format("<p class=\"muted\">\xE2\x80\xA6 and {} more activities, not shown.</p>",
                       model.runs.size() - options.max_table_rows);
  }
  return out;
}

std::string RollbackTable(const ReportModel& model, std::size_t declared,
                          const ReportOptions& options) {
  std::string rows;
  std::size_t played = 0;
  for (const ActivityRun& r : model.runs) {
    if (r.phase != Phase::kRollback) continue;
    if (++played > options.max_table_rows) continue;
    rows += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"nowrap\">{}</td><td class=\"out\">{}</td></tr>",
        r.outcome == Outcome::kFailed ? "row-bad" : "", NameCell(r), OffsetText(r.start),
        TookText(r), ResultCell(r), OutputCell(r, options));
  }
  if (played == 0) {
    if (declared == 0) return "<p class=\"muted\">The experiment has no rollbacks.</p>";
    return fmt::format(
        "<p class=\"warn-text\">The experiment declares {} rollback{}, and none was played: the "
        "rollback strategy and the run's outcome decided so. Whatever the method changed may "
        "still be in place.</p>",
        declared, declared == 1 ? "" : "s");
  }
  std::string more;
  if (played > options.max_table_rows) {
    more = fmt::format("<p class=\"muted\">\xE2\x80\xA6 and {} more rollbacks, not shown.</p>",
                       played - options.max_table_rows);
  }
  return "<table class=\"rollbacks\"><thead><tr><th>Rollback</th><th>Started</th><th>Took</th>"
         "<th>Result</th><th>Output</th></tr></thead><tbody>" +
         rows + "</tbody></table>" + more;
}

}  // namespace faultline::experiment
