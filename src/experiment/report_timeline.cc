// The timeline: every activity of the run as a bar on one time axis,
// grouped by phase, the during checks on one row, the fault windows shaded
// behind.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

constexpr double kWidth = 1040, kLabelX = 14, kPlotX0 = 270, kPlotX1 = kWidth - 24;
constexpr double kRowH = 24, kHeaderH = 26, kBarH = 14;
// The during row of a long continuous run: at most this many bars (every
// check that deviated is kept).
constexpr std::size_t kMaxCheckBars = 600;

struct Bar {
  double start = 0, end = 0;
  Outcome outcome = Outcome::kOther;
  bool action = false;
  std::string tip;   // the tooltip, unescaped
  std::string note;  // a few words beside the bar, unescaped
};

struct Row {
  Phase phase = Phase::kMethod;
  std::string label;  // unescaped
  std::vector<Bar> bars;
};

std::string_view Colour(Outcome o, bool action) {
  switch (o) {
    case Outcome::kOk:
      return action ? "#0969da" : "#2da44e";
    case Outcome::kMissed:
      return "#d4a72c";
    case Outcome::kFailed:
      return "#cf222e";
    case Outcome::kOther:
      break;
  }
  return "#8c959f";
}

std::string_view Header(Phase p) {
  static constexpr std::array<std::string_view, 5> kHeaders = {
      "Steady state before the method", "Method", "Steady state during the method",
      "Steady state after the method", "Rollbacks"};
  return kHeaders[static_cast<std::size_t>(p)];
}

std::string Verdict(const ActivityRun& r) {
  std::string v = r.status.empty() ? "no status" : r.status;
  if (r.tolerance_met) v += *r.tolerance_met ? ", tolerance met" : ", tolerance NOT met";
  if (!r.error.empty()) v += "\n" + r.error;
  return v;
}

Bar ActivityBar(const ActivityRun& r) {
  Bar b{*r.start, std::max(*r.end, *r.start), r.outcome, r.type == "action", "", ""};
  b.tip = fmt::format("{} ({}{})\n{}{}started at +{}, took {}\n{}", r.name, r.type,
                      r.background ? ", in the background" : "", r.provider,
                      r.provider.empty() ? "" : "\n", FormatSeconds(b.start),
                      FormatSeconds(b.end - b.start), Verdict(r));
  switch (r.outcome) {
    case Outcome::kFailed:
      b.note = "\xE2\x9C\x95 failed" + (r.error.empty() ? "" : ": " + Cut(r.error, 70));
      break;
    case Outcome::kMissed:
      b.note = "tolerance not met";
      break;
    default:
      b.note = FormatSeconds(b.end - b.start);
  }
  return b;
}

// One bar per during check: from its first probe's start to its last's end.
std::vector<Bar> CheckBars(const ReportModel& m) {
  std::vector<Bar> bars(static_cast<std::size_t>(m.during_checks));
  std::vector<bool> seen(bars.size(), false);
  for (const ActivityRun& r : m.runs) {
    if (r.phase != Phase::kDuring || !r.start) continue;
    Bar& b = bars[static_cast<std::size_t>(r.check)];
    if (!seen[static_cast<std::size_t>(r.check)])
      b = Bar{*r.start, *r.end, Outcome::kOk, false, "", ""};
    seen[static_cast<std::size_t>(r.check)] = true;
    b.start = std::min(b.start, *r.start);
    b.end = std::max(b.end, *r.end);
    if (r.outcome != Outcome::kOk && b.outcome == Outcome::kOk) b.outcome = r.outcome;
    b.tip += fmt::format("{}{}: {}", b.tip.empty() ? "" : "\n", r.name, Verdict(r));
  }
  std::vector<Bar> out;
  const std::size_t stride = bars.size() / kMaxCheckBars + 1;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    if (!seen[i] || (i % stride != 0 && bars[i].outcome == Outcome::kOk)) continue;
    bars[i].tip =
        fmt::format("check {} at +{}: steady state {}\n{}", i + 1, FormatSeconds(bars[i].start),
                    bars[i].outcome == Outcome::kOk ? "met" : "NOT met", bars[i].tip);
    out.push_back(std::move(bars[i]));
  }
  return out;
}

std::vector<Row> Rows(const ReportModel& m) {
  std::vector<Row> rows;
  bool during = false;
  for (const ActivityRun& r : m.runs) {
    if (!r.start) continue;
    if (r.phase == Phase::kDuring) {
      if (!during) {
        rows.push_back(
            Row{Phase::kDuring,
                fmt::format("{} check{}", m.during_checks, m.during_checks == 1 ? "" : "s"),
                CheckBars(m)});
      }
      during = true;
      continue;
    }
    rows.push_back(Row{r.phase, r.name + (r.background ? " (background)" : ""), {ActivityBar(r)}});
  }
  return rows;
}

struct NotePlace {
  double x = 0;
  std::string_view anchor = "start";
  bool inside = false;  // white on the bar
  std::string text;
};

// Beside a bar from xa to xb: right of it or left of it where the note
// fits; else inside it, or right of it, cut to the room there is.
NotePlace PlaceNote(const std::string& note, double xa, double xb) {
  constexpr double kCharW = 6.6;
  const auto fits = [&](double room) { return static_cast<double>(note.size()) * kCharW <= room; };
  const auto cut = [&](double room) { return Cut(note, static_cast<std::size_t>(room / kCharW)); };
  const double right = kPlotX1 + 20 - xb - 6, left = xa - 6 - kPlotX0, inside = xb - xa - 12;
  if (fits(right)) return {xb + 6, "start", false, note};
  if (fits(left)) return {xa - 6, "end", false, note};
  if (inside >= right && inside > 10 * kCharW) return {xa + 6, "start", true, cut(inside)};
  return {xb + 6, "start", false, cut(std::max(right, 0.0))};
}

std::string DrawBar(const Bar& b, const TimeScale& xs, double y, bool with_note) {
  const double xa = xs.X(b.start), xb = std::max(xs.X(b.end), xa + 3);
  std::string out = fmt::format(
      "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" rx=\"2\" "
      "fill=\"{}\"><title>{}</title></rect>",
      xa, y + (kRowH - kBarH) / 2, xb - xa, kBarH, Colour(b.outcome, b.action), Escape(b.tip));
  if (!with_note || b.note.empty()) return out;
  const bool bad = b.outcome == Outcome::kFailed || b.outcome == Outcome::kMissed;
  const NotePlace place = PlaceNote(b.note, xa, xb);
  return out + fmt::format(
                   "<text class=\"note{}\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{}</text>",
                   place.inside ? " inside"
                   : bad        ? " bad"
                                : "",
                   place.x, y + 16, place.anchor, Escape(place.text));
}

std::string DrawRow(const Row& row, const TimeScale& xs, double y) {
  std::string out =
      fmt::format("<text class=\"label\" x=\"{}\" y=\"{:.1f}\">{}<title>{}</title></text>",
                  kLabelX + 10, y + 16, Escape(Cut(row.label, 36)), Escape(row.label));
  for (const Bar& b : row.bars) out += DrawBar(b, xs, y, row.bars.size() == 1);
  return out;
}

}  // namespace

std::string TimelineSvg(const ReportModel& model, std::size_t max_rows) {
  std::vector<Row> rows = Rows(model);
  if (rows.empty()) return "";
  const std::size_t hidden = rows.size() > max_rows ? rows.size() - max_rows : 0;
  rows.resize(rows.size() - hidden);
  const TimeScale xs{0, std::max(model.span_end, 1e-3), kPlotX0, kPlotX1};
  std::string body;
  double y = 4;
  const double top = y;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || rows[i].phase != rows[i - 1].phase) {
      body += fmt::format(
          "<line class=\"sep\" x1=\"0\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>"
          "<text class=\"phase\" x=\"{}\" y=\"{:.1f}\">{}</text>",
          y + 0.5, kWidth, y + 0.5, kLabelX, y + 18, Header(rows[i].phase));
      y += kHeaderH;
    }
    body += DrawRow(rows[i], xs, y);
    y += kRowH;
  }
  if (hidden > 0) {
    body += fmt::format(
        "<text class=\"note\" x=\"{}\" y=\"{:.1f}\">\xE2\x80\xA6 and {} more "
        "activities, not drawn: see the table below</text>",
        kLabelX, y + 15, hidden);
    y += kRowH;
  }
  const double axis_y = y + 4;
  std::string out = fmt::format(
      "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {:.0f}\" "
      "width=\"{}\" height=\"{:.0f}\" role=\"img\" aria-label=\"timeline of the run\">",
      kWidth, axis_y + 26, kWidth, axis_y + 26);
  out += FaultRects(model.faults, xs, top, axis_y);
  out += TimeAxis(xs, axis_y, top);
  out += fmt::format("<line class=\"axis\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>",
                     kPlotX0, axis_y, kPlotX1, axis_y);
  return out + body + "</svg>";
}

}  // namespace faultline::experiment
