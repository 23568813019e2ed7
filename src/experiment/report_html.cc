// The page: the verdict first (what happened and what the exit code
// means), then the timeline, the probe values, the load, the rollbacks and
// every activity. Inline CSS only; the Content-Security-Policy forbids
// every fetch and every script.
#include <fmt/format.h>

#include <array>
#include <ctime>
#include <map>
#include <tuple>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

constexpr std::string_view kCss = R"css(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eef1f4;--bg:#f6f8fa;
--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--accent:#8c959f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
.kicker{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);margin:0}
header.verdict,section{background:#fff;border:1px solid var(--line);border-radius:12px;
margin:0 0 20px;padding:18px 22px}
header.verdict{border-top:6px solid var(--accent);padding-top:20px}
.ok{--accent:#1a7f37}.bad{--accent:#cf222e}.warn{--accent:#d4a72c}
h1{font-size:28px;line-height:1.2;margin:6px 0 8px;overflow-wrap:anywhere}
h2{font-size:19px;margin:0 0 4px}
.desc{color:var(--muted);margin:0 0 16px;max-width:85ch;overflow-wrap:anywhere}
.banner{display:flex;align-items:center;gap:14px;flex-wrap:wrap;margin:0 0 18px;padding:12px 16px;
border-radius:10px;background:color-mix(in srgb,var(--accent) 9%,#fff)}
.pill{background:var(--accent);color:#fff;font-weight:700;letter-spacing:.06em;font-size:14px;
padding:4px 14px;border-radius:999px;white-space:nowrap}
.warn .pill{color:#1f2328}
.headline{font-size:17px;font-weight:600;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px 28px;margin:0}
dl.facts div{min-width:0}
dt{font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
dd{margin:0;overflow-wrap:anywhere}
dd.wide{grid-column:1/-1}
.hint{color:var(--muted);font-size:13.5px;margin:0 0 12px}
.keys{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:13px;color:var(--muted);margin:0 0 10px}
.keys span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px}
.sw.fault{background:rgba(251,143,68,.28);border-left:2px dashed #fb8f44}
svg{display:block;max-width:100%;height:auto;
font:12px system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,sans-serif}
svg .tick,svg .legend{fill:var(--muted)}
svg .grid{stroke:var(--soft)}svg .axis{stroke:#8c959f}svg .sep{stroke:var(--line)}
svg .fault{fill:#fb8f44;fill-opacity:.15}
svg .fault-edge{stroke:#fb8f44;stroke-width:1.5;stroke-dasharray:3 3}
svg .label{fill:var(--fg)}svg .phase{fill:var(--muted);font-size:11px;font-weight:700;letter-spacing:.06em;text-transform:uppercase}
svg .note{fill:var(--muted);font-size:11.5px}svg .note.bad{fill:var(--bad);font-weight:600}
svg .note.inside{fill:#fff;font-weight:600}
svg .chart-title{fill:var(--fg);font-weight:600;font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:14px 18px}
.charts svg{border:1px solid var(--soft);border-radius:8px}
.load{margin:14px 0 0}h3{font-size:15px;margin:18px 0 6px}
table.values{max-width:760px}
.stack{display:grid;gap:10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th{text-align:left;font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;
border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--soft);padding:7px 8px;vertical-align:top;overflow-wrap:anywhere}
tr.row-bad td{background:#fff5f5}
td.num,td.nowrap{white-space:nowrap}td.num{font-variant-numeric:tabular-nums}
td.out{max-width:440px}
.sub{color:var(--muted);font-size:12.5px;margin-top:2px}
.st{font-weight:600}.st.ok{color:var(--ok)}.st.bad{color:var(--bad)}.st.warn{color:var(--warn)}
code,pre{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code.bad,summary.bad{color:var(--bad)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);border:1px solid var(--soft);
padding:8px 10px;border-radius:6px;max-height:340px;overflow:auto;margin:6px 0 0}
summary{cursor:pointer}
.muted{color:var(--muted)}.warn-text{color:var(--warn);font-weight:600}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:8px}
@media print{body{background:#fff}main{padding:0}section,header.verdict{break-inside:avoid}}
)css";

const json* Find(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string Str(const json& j, const char* key) {
  const json* f = Find(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

std::optional<bool> Met(const json& journal, const char* when) {
  const json* ss = Find(journal, "steady_states");
  const json* state = ss == nullptr ? nullptr : Find(*ss, when);
  const json* met = state == nullptr ? nullptr : Find(*state, "steady_state_met");
  if (met == nullptr || !met->is_boolean()) return std::nullopt;
  return met->get<bool>();
}

struct Verdict {
  std::string cls;       // "ok", "bad", "warn": a fixed word
  std::string pill;      // unescaped
  std::string headline;  // unescaped
  std::string exit;      // unescaped
};

const ActivityRun* FirstRun(const ReportModel& m, bool (*pred)(const ActivityRun&)) {
  for (const ActivityRun& r : m.runs) {
    if (pred(r)) return &r;
  }
  return nullptr;
}

std::string Blame(const ReportModel& m) {
  const ActivityRun* r =
      FirstRun(m, [](const ActivityRun& a) { return a.outcome == Outcome::kFailed; });
  if (r == nullptr) return "";
  return fmt::format("the {} '{}' ({}) failed{}", r->type.empty() ? "activity" : r->type, r->name,
                     PhaseName(r->phase), r->error.empty() ? "" : ": " + r->error);
}

std::string DuringDeviation(const ReportModel& m) {
  const ActivityRun* r = FirstRun(m, [](const ActivityRun& a) {
    return a.phase == Phase::kDuring && a.outcome != Outcome::kOk;
  });
  if (r == nullptr) return "";
  return fmt::format(" It already deviated during the method (check {}, at +{}).", r->check + 1,
                     FormatSeconds(r->start.value_or(0)));
}

// " ('p99' missed its tolerance)": the after-hypothesis probe that decided.
std::string AfterMiss(const ReportModel& m) {
  const ActivityRun* r = FirstRun(m, [](const ActivityRun& a) {
    return a.phase == Phase::kAfter && a.outcome != Outcome::kOk;
  });
  if (r == nullptr) return "";
  return fmt::format(" ('{}' {})", r->name,
                     r->outcome == Outcome::kMissed ? "missed its tolerance" : "failed");
}

Verdict Completed(const json& journal, const ReportModel& m) {
  const std::optional<bool> before = Met(journal, "before");
  const json* ss = Find(journal, "steady_states");
  const bool after_run =
      ss != nullptr && Find(*ss, "after") != nullptr && (*ss)["after"].is_object();
  if (before.has_value() && !*before) {
    return {"warn", "COMPLETED",
            "The steady state did not hold before the method, so the method "
            "was not run: fix the system (or the hypothesis) first.",
            "0 \xE2\x80\x94 completed (the method was skipped)"};
  }
  std::string headline;
  if (Met(journal, "after").value_or(false)) {
    headline = "The steady state held after the method: the system withstood the experiment.";
  } else if (before.value_or(false) && !after_run) {
    headline = "The steady state held before the method; it was not checked after it.";
  } else if (FirstRun(m, [](const ActivityRun& a) { return a.type == "probe"; }) == nullptr) {
    headline =
        "The method ran to its end. The experiment has no steady-state hypothesis, so "
        "nothing was checked.";
  } else {
    headline = "The run completed.";
  }
  return {"ok", "COMPLETED", headline,
          "0 \xE2\x80\x94 the run completed and the steady state held"};
}

Verdict Judge(const json& journal, const ReportModel& m) {
  const std::string status = Str(journal, "status");
  const json* dev = Find(journal, "deviated");
  const bool deviated = dev != nullptr && dev->is_boolean() && dev->get<bool>();
  const json* fl = Find(journal, "faultline");
  const std::string reason = fl == nullptr ? "" : Str(*fl, "reason");
  const std::string why = !reason.empty() ? reason : Blame(m);
  if (status == "completed" && !deviated) return Completed(journal, m);
  if (status == "completed") {
    return {"bad", "DEVIATED",
            "The steady state did not hold after the method" + AfterMiss(m) +
                ": the system did not withstand the experiment." + DuringDeviation(m),
            "1 \xE2\x80\x94 the run deviated from the steady state"};
  }
  if (status == "failed" || status == "aborted") {
    std::string headline = fmt::format("The run {}{}.", status, why.empty() ? "" : ": " + why);
    if (why.empty() && !DuringDeviation(m).empty()) headline += DuringDeviation(m);
    return {"bad", status == "failed" ? "FAILED" : "ABORTED", headline,
            fmt::format("1 \xE2\x80\x94 the run {}", status)};
  }
  if (status == "interrupted") {
    return {"warn", "INTERRUPTED",
            "The run was interrupted before its end" + (reason.empty() ? "." : ": " + reason + "."),
            "1 \xE2\x80\x94 the run was interrupted"};
  }
  return {"warn", status.empty() ? "UNFINISHED" : Cut(status, 24),
          "The journal has no final status: the run may still be going on, or it died.",
          "unknown (no final status)"};
}

std::string UtcText(const std::string& iso) {
  const std::optional<std::int64_t> us = ParseIsoTime(iso);
  if (!us) return iso;
  const auto secs = static_cast<std::time_t>(*us / 1'000'000 - (*us % 1'000'000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string MetText(const json& journal, const char* when) {
  const std::optional<bool> met = Met(journal, when);
  if (!met) return "not checked";
  return *met ? "met" : "NOT met";
}

std::string Fact(std::string_view name, const std::string& value, bool wide = false) {
  return fmt::format("<div{}><dt>{}</dt><dd>{}</dd></div>", wide ? " class=\"wide\"" : "", name,
                     Escape(value));
}

std::string ScalarText(const json& v) {
  return v.is_string() ? v.get<std::string>()
                       : v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Facts(const json& journal, const ReportModel& m, const Verdict& v) {
  std::string out = "<dl class=\"facts\">" + Fact("Exit code", v.exit);
  const json* d = Find(journal, "duration");
  if (d != nullptr && d->is_number()) {
    out += Fact("Duration", FormatSeconds(d->get<double>()));
  } else if (m.has_times) {
    out += Fact("Duration", FormatSeconds(m.span_end) + " (from the timestamps)");
  }
  if (!Str(journal, "start").empty()) out += Fact("Started", UtcText(Str(journal, "start")));
  if (!Str(journal, "end").empty()) out += Fact("Ended", UtcText(Str(journal, "end")));
  const json* experiment = Find(journal, "experiment");
  const json* ssh = experiment == nullptr ? nullptr : Find(*experiment, "steady-state-hypothesis");
  if (ssh != nullptr) {
    const std::string title = Str(*ssh, "title");
    out += Fact("Steady state", fmt::format("{}{}before: {}, after: {}", title,
                                            title.empty() ? "" : " \xE2\x80\x94 ",
                                            MetText(journal, "before"), MetText(journal, "after")));
  } else {
    out += Fact("Steady state", "none: the experiment has no hypothesis");
  }
  const json* fl = Find(journal, "faultline");
  if (const json* seed = fl == nullptr ? nullptr : Find(*fl, "seed")) {
    out += Fact("Seed", ScalarText(*seed));
  }
  if (fl != nullptr && !Str(*fl, "reason").empty()) out += Fact("Reason", Str(*fl, "reason"), true);
  const json* tags = experiment == nullptr ? nullptr : Find(*experiment, "tags");
  if (tags != nullptr && tags->is_array() && !tags->empty()) {
    std::string text;
    for (const json& t : *tags) text += (text.empty() ? "" : ", ") + ScalarText(t);
    out += Fact("Tags", text);
  }
  std::string where = Str(journal, "node");
  if (!Str(journal, "platform").empty())
    where += (where.empty() ? "" : " \xC2\xB7 ") + Str(journal, "platform");
  if (!where.empty()) out += Fact("Ran on", where);
  if (!Str(journal, "chaoslib-version").empty()) {
    out += Fact("chaoslib semantics", Str(journal, "chaoslib-version"));
  }
  return out + "</dl>";
}

std::string Header(const json& journal, const ReportModel& m) {
  const Verdict v = Judge(journal, m);
  const json* experiment = Find(journal, "experiment");
  std::string title = experiment == nullptr ? "" : Str(*experiment, "title");
  if (title.empty()) title = "(untitled experiment)";
  const std::string desc = experiment == nullptr ? "" : Str(*experiment, "description");
  return fmt::format(
      "<header class=\"verdict {}\"><p class=\"kicker\">Chaos experiment report</p><h1>{}</h1>{}"
      "<div class=\"banner\"><span class=\"pill\">{}</span><span class=\"headline\">{}</span>"
      "</div>{}</header>",
      v.cls, Escape(title), desc.empty() ? "" : "<p class=\"desc\">" + Escape(desc) + "</p>",
      Escape(v.pill), Escape(v.headline), Facts(journal, m, v));
}

std::string Keys() {
  return "<div class=\"keys\"><span><i class=\"sw\" style=\"background:#0969da\"></i>action"
         "</span><span><i class=\"sw\" style=\"background:#2da44e\"></i>probe</span><span>"
         "<i class=\"sw\" style=\"background:#d4a72c\"></i>tolerance not met</span><span><i "
         "class=\"sw\" style=\"background:#cf222e\"></i>failed</span><span><i class=\"sw\" "
         "style=\"background:#8c959f\"></i>no status</span><span><i class=\"sw fault\"></i>fault "
         "window: from a method action to the first rollback (or the method's end)</span></div>";
}

std::string TimelineSection(const ReportModel& m, const ReportOptions& o) {
  std::string svg = m.has_times ? TimelineSvg(m, o.max_timeline_rows) : "";
  if (svg.empty()) {
    svg = m.runs.empty() ? "<p class=\"muted\">No activity ran.</p>"
                         : "<p class=\"muted\">The journal has no timestamps to draw.</p>";
  } else {
    svg = Keys() + svg;
  }
  return "<section id=\"timeline\"><h2>Timeline</h2><p class=\"hint\">Every activity from the "
         "run's start; hover a bar for its details. Pauses are the gaps between bars.</p>" +
         svg + "</section>";
}

std::size_t DeclaredRollbacks(const json& journal) {
  const json* e = Find(journal, "experiment");
  const json* r = e == nullptr ? nullptr : Find(*e, "rollbacks");
  return r != nullptr && r->is_array() ? r->size() : 0;
}

}  // namespace

std::string RenderPage(const json& journal, const ReportModel& model,
                       const ReportOptions& options) {
  const json* experiment = Find(journal, "experiment");
  const std::string title = experiment == nullptr ? "" : Str(*experiment, "title");
  const Verdict v = Judge(journal, model);
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  page += fmt::format("<title>{} \xC2\xB7 {} \xE2\x80\x94 faultline report</title>", Escape(v.pill),
                      Escape(title.empty() ? "experiment" : Cut(title, 120)));
  page += "<style>" + std::string(kCss) + "</style></head><body><main>\n";
  page += Header(journal, model) + "\n";
  page += TimelineSection(model, options) + "\n";
  page += ProbeSection(model, options) + "\n";
  page += LoadSection(model, options) + "\n";
  page += "<section id=\"rollbacks\"><h2>Rollbacks</h2>" +
          RollbackTable(model, DeclaredRollbacks(journal), options) + "</section>\n";
  page +=
      "<section id=\"activities\"><h2>Every activity</h2><p class=\"hint\">In the journal's "
      "order; open an output for all of it.</p>" +
      ActivityTable(model, options) + "</section>\n";
  page += "<footer>Written by <code>faultline report</code>";
  if (!options.source.empty()) page += " from <code>" + Escape(options.source) + "</code>";
  return page + ". Times are from the run's start.</footer></main></body></html>\n";
}

}  // namespace faultline::experiment
