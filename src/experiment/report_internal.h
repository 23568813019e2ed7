// The report's pieces, shared by report_*.cc and their test; not an API.
//
//   journal --BuildModel--> ReportModel: activity runs (with times relative
//     |                     to the run's start), fault windows
//     |-- ProbeSeries --> numeric fields of probe outputs --> LineChart
//     |-- LoadRuns -----> `faultline load --json` results --> LineChart
//     \-- Timeline ----------------------------------------> TimelineSvg
//
// Thread-safety: values and pure functions.
#ifndef FAULTLINE_EXPERIMENT_REPORT_INTERNAL_H_
#define FAULTLINE_EXPERIMENT_REPORT_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "experiment/json.h"
#include "experiment/report.h"

namespace faultline::experiment {

// --- Model (report_model.cc) -----------------------------------------------

// Microseconds since the Unix epoch of an ISO-8601 time as Python writes
// it ("2026-12-02T16:36:22.593824+00:00", "...Z", no fraction, any
// offset); nullopt when `s` is not one.
std::optional<std::int64_t> ParseIsoTime(std::string_view s);

enum class Phase { kBefore, kMethod, kDuring, kAfter, kRollback };
// "before", "method", "during", "after", "rollback".
std::string_view PhaseName(Phase p);

// How one activity ended, as the page colours it.
enum class Outcome {
  kOk,      // succeeded (and, for a hypothesis probe, met its tolerance)
  kMissed,  // succeeded, but the tolerance was not met
  kFailed,  // status "failed"
  kOther,   // no or an unknown status (a run cut short)
};

// One entry of the journal's steady states, run or rollbacks.
struct ActivityRun {
  Phase phase = Phase::kMethod;
  int check = 0;         // kDuring: which check (0-based); else 0
  std::string name;      // activity.name, or "(unnamed)"
  std::string type;      // activity.type: "probe", "action", or as written
  std::string provider;  // "process: rm -f x", "http: GET url", "python: mod.func"
  bool background = false;
  // Seconds since the report's origin (ReportModel::origin_us).
  std::optional<double> start;
  std::optional<double> end;
  std::string status;  // as written ("succeeded", "failed")
  std::optional<bool> tolerance_met;
  Outcome outcome = Outcome::kOther;
  std::string error;                // the exception's last line, "" when none
  const json* output = nullptr;     // into the journal; null when absent
  const json* exception = nullptr;  // into the journal; null when absent
};

// When a method action's fault was in force: from the action's start to
// the first rollback's start, or the end of the method.
struct FaultWindow {
  std::string name;
  double start = 0;
  double end = 0;
  bool failed = false;  // the action itself failed
};

struct ReportModel {
  std::vector<ActivityRun> runs;  // before, method, during, after, rollbacks
  std::vector<FaultWindow> faults;
  std::int64_t origin_us = 0;  // the run's start: time 0 of every axis
  bool has_times = false;      // origin_us and the span are known
  double span_end = 0;         // seconds: the last time of the run
  int during_checks = 0;
};

// Reads `journal` (any shape: wrong types are treated as absent) into the
// model. Holds pointers into `journal`, which must outlive it.
ReportModel BuildModel(const json& journal);

// The last meaningful line of a journal "exception" (a string or a list of
// traceback lines), without chaoslib's exception class prefix.
std::string ErrorLine(const json& exception);

// --- Series (report_series.cc) ---------------------------------------------

struct Point {
  double t = 0;  // seconds since the origin
  double v = 0;
  bool bad = false;   // the probe missed its tolerance here
  std::string label;  // what the tooltip says of this point
};

// One numeric field of one probe's outputs, over time.
struct Series {
  std::string probe;  // the probe's name
  std::string field;  // "value", "status", "latency_ms.p99", ...
  std::vector<Point> points;
};

// Every probe's numeric output fields: a number (or a bool, as 0/1) is
// "value"; an object gives its numeric fields (nested ones dotted, arrays
// skipped), and a "stdout" or "body" string holding JSON is read as such;
// a `faultline load --json` result gives its latency, rate and error rate.
// Grouped by probe name, at most `max_fields` per probe, in first-seen order.
std::vector<Series> ProbeSeries(const ReportModel& model, std::size_t max_fields);

// One run of a probe whose output is a `faultline load --json` result.
struct LoadRun {
  std::string probe;
  Phase phase = Phase::kMethod;
  double start = 0;  // seconds since the origin
  // Per second of the load: p50/p90/p99/max latency (ms), responses and
  // failures (errors + http_errors) per second. x is seconds since the origin.
  std::vector<Point> p50, p90, p99, max, responses, failures;
};

// The load result in a probe output, if any: the output itself, or its
// "stdout" / "body" as JSON. nullopt-like: a discarded json when none.
json FindLoadResult(const json& output);
bool IsLoadResult(const json& value);

// Every load result of the model's probes, in time order.
std::vector<LoadRun> LoadRuns(const ReportModel& model);

// At most `max` points (max >= 2) of `points` (sorted by t), in order: the
// first and the last, and of each bucket of the rest its lowest and its
// highest, so spikes and dips survive. `points` itself when it is small.
std::vector<Point> Downsample(const std::vector<Point>& points, std::size_t max);

// --- Drawing (report_svg.cc) -----------------------------------------------

// `s` with &, <, >, " and ' as entities, invalid UTF-8 and control
// characters (but tab and newline) as U+FFFD: safe in text and in quoted
// attributes of HTML and SVG.
std::string Escape(std::string_view s);

// At most `n` bytes of `s` (never cutting a UTF-8 sequence), "…" added
// when cut; CutTail keeps the end instead.
std::string Cut(std::string_view s, std::size_t n);
std::string CutTail(std::string_view s, std::size_t n);

// "2.8 ms", "1.02 s", "2 min 5 s".
std::string FormatSeconds(double s);
// A number for a label: "12", "0.25", "1.5e+06".
std::string FormatNumber(double v);

// About `target` round values ("1-2-5" steps) covering [lo, hi]: the
// first <= lo, the last >= hi. REQUIRES: lo < hi.
std::vector<double> NiceTicks(double lo, double hi, int target);

// Maps a time (seconds since the origin) on [t0, t1] to x on [x0, x1].
struct TimeScale {
  double t0 = 0, t1 = 1, x0 = 0, x1 = 1;
  double X(double t) const;
};

// The fault windows as shaded <rect>s (class "fault", each with a <title>)
// from y0 to y1, clipped to the scale's range.
std::string FaultRects(const std::vector<FaultWindow>& faults, const TimeScale& scale, double y0,
                       double y1);

// A time axis at y: a tick label every NiceTicks value, and (grid_top <
// y) light vertical grid lines from grid_top down to y.
std::string TimeAxis(const TimeScale& scale, double y, double grid_top);

struct Line {
  std::string name;
  std::string colour;  // a CSS colour of the fixed palette, never input
  std::vector<Point> points;
  bool dashed = false;
};

struct ChartSpec {
  std::string title;      // drawn above the plot (escaped)
  std::string unit;       // of the y axis: "ms", "/s", "" (escaped)
  double t0 = 0, t1 = 1;  // the x axis, seconds since the origin
  std::vector<Line> lines;
  std::vector<FaultWindow> faults;  // shaded where they cross [t0, t1]
  int width = 960;
  int height = 220;
  std::size_t max_points = 400;  // per line, see Downsample
  bool y_from_zero = false;
};

// An inline <svg> line chart: the fault windows shaded, each line a
// <polyline> (class "series", data-points = its number of points), small
// charts marked with circles whose <title> is the point's label, points
// that missed their tolerance marked red. Lines with no points are left out.
std::string LineChart(const ChartSpec& spec);

// The inline <svg> timeline: one row per activity (the during checks on one
// row), a bar from start to end coloured by outcome, the fault windows
// shaded, a time axis. At most `max_rows` rows.
std::string TimelineSvg(const ReportModel& model, std::size_t max_rows);

// --- Tables (report_table.cc) ----------------------------------------------

// "+1.02 s" after the origin, or "—" when unknown.
std::string OffsetText(const std::optional<double>& t);

// The <table> of every activity (at most options.max_table_rows rows):
// phase, name, when, how long, result, and the output or error in a
// <details> (at most options.max_output_chars characters).
std::string ActivityTable(const ReportModel& model, const ReportOptions& options);

// The <table> of the rollbacks played, or a sentence saying why there is
// none (`declared`: how many the experiment has).
std::string RollbackTable(const ReportModel& model, std::size_t declared,
                          const ReportOptions& options);

// --- Chart sections (report_charts.cc) -------------------------------------

// The "Probe values" <section>: a chart per probe field that changed (the
// fields of one nested object, like latency_ms, share a chart), and a
// table of the values that did not.
std::string ProbeSection(const ReportModel& model, const ReportOptions& options);

// The "Load" <section> (latency and throughput per second of each load
// probe), or "" when no probe output is a load result.
std::string LoadSection(const ReportModel& model, const ReportOptions& options);

// --- The page (report_html.cc) ---------------------------------------------

std::string RenderPage(const json& journal, const ReportModel& model, const ReportOptions& options);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_REPORT_INTERNAL_H_
