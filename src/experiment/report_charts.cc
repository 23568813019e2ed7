// The chart sections: the probe values (one chart per field that changed,
// the fields of one nested object together; the values that never changed
// in a table) and the load probes' per-second latency and throughput.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

constexpr std::array<std::string_view, 6> kPalette = {"#0969da", "#8250df", "#bf3989",
                                                      "#1a7f37", "#953800", "#0a6e78"};
// Fields of one probe output searched for numbers, at most.
constexpr std::size_t kFieldsPerProbe = 32;  // a function's metrics object has ~16

std::pair<double, double> Padded(double t0, double t1) {
  const double pad = std::max((t1 - t0) * 0.02, 1e-3);
  return {t0 - pad, t1 + pad};
}

bool Constant(const Series& s) {
  for (const Point& p : s.points) {
    if (p.v != s.points.front().v) return false;
  }
  return true;
}

bool EndsWith(std::string_view s, std::string_view end) {
  return s.size() >= end.size() && s.substr(s.size() - end.size()) == end;
}

// The object a field is in, when its siblings belong on the same chart:
// "stdout.latency_ms" for "stdout.latency_ms.p99"; "" for a top-level
// field, or one at the top of a stdout or body document.
std::string Parent(const std::string& field) {
  const std::size_t dot = field.rfind('.');
  if (dot == std::string::npos) return "";
  std::string parent = field.substr(0, dot);
  return parent == "stdout" || parent == "body" ? "" : parent;
}

std::string Leaf(const std::string& field) {
  const std::size_t dot = field.rfind('.');
  return dot == std::string::npos ? field : field.substr(dot + 1);
}

// A unit for the y axis, from the field's name.
std::string UnitOf(const std::string& field) {
  if (field.find("latency_ms") != std::string::npos || EndsWith(field, "_ms")) return "ms";
  if (EndsWith(field, "per_second")) return "/s";
  if (EndsWith(field, "_s")) return "s";
  return "";
}

struct Chart {
  std::string probe;
  std::string subject;  // the field, or the object whose fields it draws
  std::vector<const Series*> members;
};

// Which series get a chart: those that changed; and for a probe none of
// whose fields changed, its first field read more than once.
std::vector<bool> Charted(const std::vector<Series>& series) {
  std::set<std::string> changing, shown;
  for (const Series& s : series) {
    if (!Constant(s)) changing.insert(s.probe);
  }
  std::vector<bool> charted;
  for (const Series& s : series) {
    const bool flat_probe = changing.count(s.probe) == 0;
    charted.push_back(!Constant(s) ||
                      (flat_probe && s.points.size() >= 2 && shown.insert(s.probe).second));
  }
  return charted;
}

std::vector<Chart> Group(const std::vector<Series>& series, const std::vector<bool>& charted) {
  std::vector<Chart> charts;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (!charted[i]) continue;
    const Series& s = series[i];
    const std::string parent = Parent(s.field);
    const std::string subject = parent.empty() ? s.field : parent;
    auto [it, fresh] = index.try_emplace({s.probe, subject}, charts.size());
    if (fresh) charts.push_back(Chart{s.probe, subject, {}});
    charts[it->second].members.push_back(&s);
  }
  // What changed first: that is what a reader looks for.
  std::stable_partition(charts.begin(), charts.end(), [](const Chart& c) {
    return std::any_of(c.members.begin(), c.members.end(),
                       [](const Series* s) { return !Constant(*s); });
  });
  return charts;
}

std::string DrawChart(const Chart& c, std::size_t colour, const ReportModel& m,
                      const ReportOptions& o) {
  const auto [t0, t1] = Padded(0, std::max(m.span_end, 1e-3));
  const std::string& subject = c.members.size() == 1 ? c.members[0]->field : c.subject;
  ChartSpec spec;
  spec.title = c.probe + " \xC2\xB7 " + subject;
  spec.unit = UnitOf(subject);
  spec.t0 = t0;
  spec.t1 = t1;
  spec.faults = m.faults;
  spec.width = 520;
  spec.height = 190;
  spec.max_points = o.max_points;
  for (std::size_t i = 0; i < c.members.size(); ++i) {
    const Series& s = *c.members[i];
    const std::size_t k = c.members.size() > 1 ? i : colour;
    spec.lines.push_back(Line{c.members.size() > 1 ? Leaf(s.field) : s.field,
                              std::string(kPalette[k % kPalette.size()]), s.points});
  }
  return LineChart(spec);
}

std::string SteadyTable(const std::vector<Series>& series, const std::vector<bool>& charted,
                        std::size_t max_rows) {
  std::string rows;
  std::size_t n = 0, hidden = 0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (charted[i]) continue;
    const Series& s = series[i];
    if (n++ >= max_rows) {
      ++hidden;
      continue;
    }
    const auto missed =
        std::count_if(s.points.begin(), s.points.end(), [](const Point& p) { return p.bad; });
    const std::string note =
        missed == 0 ? ""
                    : fmt::format("<span class=\"st warn\">{} of {} missed the tolerance</span>",
                                  missed, s.points.size());
    rows += fmt::format(
        "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}"
        "</td><td class=\"num\">{}</td><td>{}</td></tr>",
        Escape(s.probe), Escape(s.field), Escape(FormatNumber(s.points.front().v)), s.points.size(),
        OffsetText(s.points.front().t), note);
  }
  if (rows.empty()) return "";
  std::string more;
  if (hidden > 0) more = fmt::format("<p class=\"muted\">\xE2\x80\xA6 and {} more.</p>", hidden);
  return "<h3>Values that did not change</h3><table class=\"values\"><thead><tr><th>Probe</th>"
         "<th>Field</th><th>Value</th><th>Readings</th><th>First read</th><th></th></tr></thead>"
         "<tbody>" +
         rows + "</tbody></table>" + more;
}

std::string LoadCharts(const std::string& probe, const std::vector<const LoadRun*>& runs,
                       const ReportModel& m, const ReportOptions& o) {
  double lo = runs.front()->start, hi = lo;
  ChartSpec lat{"latency per second", "ms", 0, 1, {}, m.faults, 1000, 250, o.max_points, true};
  ChartSpec rate{
      "responses and failures per second", "/s", 0, 1, {}, m.faults, 1000, 190, o.max_points, true};
  for (const LoadRun* r : runs) {
    for (const auto* pts : {&r->p50, &r->responses}) {
      if (!pts->empty()) hi = std::max(hi, pts->back().t + 0.5);
    }
    // A line per run: the gaps between runs stay gaps.
    lat.lines.push_back(Line{"p50", "#0969da", r->p50});
    lat.lines.push_back(Line{"p90", "#8250df", r->p90});
    lat.lines.push_back(Line{"p99", "#d1242f", r->p99});
    lat.lines.push_back(Line{"max", "#8c959f", r->max, true});
    rate.lines.push_back(Line{"responses", "#1a7f37", r->responses});
    rate.lines.push_back(Line{"failures", "#cf222e", r->failures});
  }
  std::tie(lat.t0, lat.t1) = Padded(lo, hi);
  rate.t0 = lat.t0;
  rate.t1 = lat.t1;
  std::string phases;
  for (const LoadRun* r : runs) {
    phases += (phases.empty() ? "" : ", ") + std::string(PhaseName(r->phase));
  }
  return fmt::format(
      "<div class=\"load\"><h3>{}</h3><p class=\"hint\">{} run{} of the load ({})</p>"
      "<div class=\"stack\">{}{}</div></div>",
      Escape(probe), runs.size(), runs.size() == 1 ? "" : "s", Escape(Cut(phases, 200)),
      LineChart(lat), LineChart(rate));
}

}  // namespace

std::string ProbeSection(const ReportModel& m, const ReportOptions& o) {
  const std::vector<Series> series = ProbeSeries(m, kFieldsPerProbe);
  const std::vector<bool> charted = Charted(series);
  const std::vector<Chart> charts = Group(series, charted);
  std::string body;
  std::map<std::string, std::size_t> colour;  // one colour per probe
  for (std::size_t i = 0; i < charts.size() && i < o.max_charts; ++i) {
    const std::size_t c = colour.emplace(charts[i].probe, colour.size()).first->second;
    body += DrawChart(charts[i], c, m, o);
  }
  if (!body.empty()) body = "<div class=\"charts\">" + body + "</div>";
  if (charts.size() > o.max_charts) {
    body += fmt::format("<p class=\"muted\">\xE2\x80\xA6 and {} more charts, not drawn.</p>",
                        charts.size() - o.max_charts);
  }
  body += SteadyTable(series, charted, o.max_charts * 4);
  if (series.empty()) body = "<p class=\"muted\">No probe returned a number to plot.</p>";
  return "<section id=\"probes\"><h2>Probe values</h2><p class=\"hint\">The numbers in each "
         "probe's output, from every reading (before, during and after the method); red points "
         "missed their tolerance; shaded: fault windows.</p>" +
         body + "</section>";
}

std::string LoadSection(const ReportModel& m, const ReportOptions& o) {
  const std::vector<LoadRun> runs = LoadRuns(m);
  if (runs.empty()) return "";
  std::vector<std::string> order;
  std::map<std::string, std::vector<const LoadRun*>> by_probe;
  for (const LoadRun& r : runs) {
    auto [it, fresh] = by_probe.try_emplace(r.probe);
    if (fresh) order.push_back(r.probe);
    it->second.push_back(&r);
  }
  std::string body;
  for (std::size_t i = 0; i < order.size() && i < o.max_load_charts; ++i) {
    body += LoadCharts(order[i], by_probe[order[i]], m, o);
  }
  return "<section id=\"load\"><h2>Load</h2><p class=\"hint\">Probes that ran <code>faultline "
         "load --json</code>: latency percentiles and throughput, second by second.</p>" +
         body + "</section>";
}

}  // namespace faultline::experiment
