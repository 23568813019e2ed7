// Report: a journal (chaostoolkit-lib's format, as `faultline run` and
// `chaos run` write it) drawn as ONE self-contained HTML page, for
// `faultline report JOURNAL -o report.html`.
//
//   journal.json --ReadJournalFile (<= 64 MiB)--> json --RenderReport--> html --WriteReport--> file
//                                                   |
//                  model: activities, fault windows, probe values, load series
//                  (report_model.cc)  --> inline SVG charts (report_svg.cc)
//                                     --> the page: verdict, timeline, charts, tables
//                                         (report_html.cc)
//
// The page loads nothing: inline CSS, inline SVG, no script at all (SVG
// <title> elements give the tooltips), and a Content-Security-Policy that
// forbids every fetch and every script, so that even a bug in the escaping
// could not run anything. Every string of the journal is user input and is
// escaped; the output is bounded (points per chart, rows, characters of an
// output) whatever the journal's size.
//
// Thread-safety: the functions keep no state; call them from any thread.
#ifndef FAULTLINE_EXPERIMENT_REPORT_H_
#define FAULTLINE_EXPERIMENT_REPORT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

// The largest journal ReadJournalFile reads: a journal is records of
// activities, not data; one this large is a mistake, and parsing it would
// take gigabytes.
inline constexpr std::size_t kMaxJournalBytes = std::size_t{64} << 20;

struct ReportOptions {
  // Where the journal came from ("run/journal.json"), shown in the footer.
  // Default: empty, not shown.
  std::string source;
  // At most this many points per line of a chart; a longer series is
  // downsampled to the minimum and maximum of each bucket, so spikes stay.
  // Default 400. REQUIRES: >= 2.
  std::size_t max_points = 400;
  // At most this many probe-value charts (one per numeric field of a
  // probe's output). Default 24.
  std::size_t max_charts = 24;
  // At most this many load probes get latency charts. Default 6.
  std::size_t max_load_charts = 6;
  // At most this many rows (activities) in the timeline. Default 120.
  std::size_t max_timeline_rows = 120;
  // At most this many rows in the activity table. Default 1000.
  std::size_t max_table_rows = 1000;
  // At most this many characters of one activity's output or error in the
  // table. Default 2000.
  std::size_t max_output_chars = 2000;
};

// Reads and parses the journal at `path`. NotFound when it cannot be read;
// InvalidArgument when it is larger than `max_bytes` (checked before
// reading), is not JSON, or is not a JSON object. Messages name the path.
Result<json> ReadJournalFile(const std::string& path, std::size_t max_bytes = kMaxJournalBytes);

// The HTML page for `journal`. InvalidArgument when `journal` is not a
// journal (not an object, or none of "run", "steady_states", "status");
// a journal of any run otherwise, finished or not: no hypothesis, an empty
// method, aborted or interrupted, missing or malformed timestamps.
Result<std::string> RenderReport(const json& journal, const ReportOptions& options);

// Writes `html` to `path` through a temporary file in the same directory
// renamed over it, mode 0644: a reader never sees half a report. IoError
// naming the path.
Status WriteReport(const std::string& path, std::string_view html);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_REPORT_H_
