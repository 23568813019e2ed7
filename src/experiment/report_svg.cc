// Drawing: escaping, number and time labels, axes, the fault windows and
// the line charts, as inline SVG. Every string that reaches the output
// goes through Escape; colours and classes come from fixed tables only.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence at s[i] (2 to 4), 0 if invalid.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  }
  if (n == 0 || i + n > s.size() || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  // C1 controls (U+0080..U+009F) are no text either.
  if (c == 0xC2 && b(1) < 0xA0) return 0;
  return n;
}

void EscapeAscii(char c, std::string* out) {
  switch (c) {
    case '&':
      *out += "&amp;";
      break;
    case '<':
      *out += "&lt;";
      break;
    case '>':
      *out += "&gt;";
      break;
    case '"':
      *out += "&quot;";
      break;
    case '\'':
      *out += "&#39;";
      break;
    case '\t':
    case '\n':
    case '\r':
      *out += c;
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        *out += kReplacement;
      } else {
        *out += c;
      }
  }
}

// Approximate width in pixels of `s` at the charts' 12 px font.
double TextWidth(std::string_view s) { return static_cast<double>(s.size()) * 6.6; }

struct YScale {
  double v0 = 0, v1 = 1, y0 = 0, y1 = 1;  // v0 at y0 (the bottom)
  double Y(double v) const { return y0 + (v - v0) / (v1 - v0) * (y1 - y0); }
};

// The value range of `lines`, widened so that it is never empty.
std::pair<double, double> Range(const std::vector<Line>& lines, bool from_zero) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Line& l : lines) {
    for (const Point& p : l.points) {
      lo = std::min(lo, p.v);
      hi = std::max(hi, p.v);
    }
  }
  if (lo > hi) {
    lo = 0;
    hi = 1;
  }
  if (from_zero) lo = std::min(lo, 0.0);
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::abs(hi) * 0.1, 1.0);
    // A count, a status or a latency is never negative: no axis below 0.
    lo = lo >= 0 ? std::max(lo - pad, 0.0) : lo - pad;
    hi += pad;
  }
  return {lo, hi};
}

std::string Legend(const std::vector<Line>& lines, double right, double y) {
  std::string out;
  std::set<std::string> seen;
  double x = right;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->points.empty() || !seen.insert(it->name).second) continue;
    x -= TextWidth(it->name);
    out += fmt::format("<text class=\"legend\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>", x, y,
                       Escape(it->name));
    x -= 16;
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
        "stroke-width=\"3\"{}/>",
        x, y - 4, x + 12, y - 4, it->colour, it->dashed ? " stroke-dasharray=\"4 3\"" : "");
    x -= 14;
  }
  return out;
}

std::string YAxis(const YScale& ys, const std::vector<double>& ticks, double x0, double x1,
                  const std::string& unit) {
  std::string out;
  for (double v : ticks) {
    const double y = ys.Y(v);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}{}</text>",
        x0, y, x1, y, x0 - 6, y + 4, FormatNumber(v), unit.empty() ? "" : " " + Escape(unit));
  }
  return out;
}

// Markers on small series (hover: the point's label), and on every point
// that missed its tolerance.
std::string Markers(const Line& line, const std::vector<Point>& pts, const TimeScale& xs,
                    const YScale& ys) {
  constexpr std::size_t kMarkAll = 60;
  std::string out;
  for (const Point& p : pts) {
    if (!p.bad && pts.size() > kMarkAll) continue;
    out += fmt::format(
        "<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"><title>{}</title>"
        "</circle>",
        p.bad ? "point bad" : "point", xs.X(p.t), ys.Y(p.v), p.bad ? 4.5 : 3,
        p.bad ? "#cf222e" : line.colour, Escape(p.label));
  }
  return out;
}

std::string Polyline(const Line& line, const std::vector<Point>& pts, const TimeScale& xs,
                     const YScale& ys) {
  std::string coords;
  for (const Point& p : pts) {
    if (!coords.empty()) coords += ' ';
    coords += fmt::format("{:.1f},{:.1f}", xs.X(p.t), ys.Y(p.v));
  }
  return fmt::format(
      "<polyline class=\"series\" data-points=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
      "stroke-width=\"2\" stroke-linejoin=\"round\"{}><title>{}</title></polyline>",
      pts.size(), coords, line.colour, line.dashed ? " stroke-dasharray=\"5 4\"" : "",
      Escape(line.name));
}

}  // namespace

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      EscapeAscii(s[i++], &out);
      continue;
    }
    const std::size_t n = Utf8Length(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string Cut(std::string_view s, std::size_t n) {
  if (s.size() <= n) return std::string(s);
  std::size_t k = n;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  return std::string(s.substr(0, k)) + "\xE2\x80\xA6";
}

std::string CutTail(std::string_view s, std::size_t n) {
  if (s.size() <= n) return std::string(s);
  std::size_t k = s.size() - n;
  while (k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) ++k;
  return "\xE2\x80\xA6" + std::string(s.substr(k));
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "?";
  const double a = std::abs(v);
  if (a >= 1e15) return fmt::format("{:.3g}", v);
  if (a >= 100 || v == std::round(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::string FormatSeconds(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 0) return "-" + FormatSeconds(-s);
  if (s == 0) return "0 s";
  if (s < 1) return fmt::format("{:.3g} ms", s * 1000);
  if (s < 60) return fmt::format("{:.3g} s", s);
  const auto total = static_cast<long long>(std::llround(s));
  if (total < 3600) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} h {} min", total / 3600, total % 3600 / 60);
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (int i = 0; i < 100; ++i) {
    const double t = first + i * step;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

double TimeScale::X(double t) const {
  const double span = t1 - t0 > 0 ? t1 - t0 : 1;
  return x0 + (t - t0) / span * (x1 - x0);
}

std::string FaultRects(const std::vector<FaultWindow>& faults, const TimeScale& scale, double y0,
                       double y1) {
  std::string out;
  for (const FaultWindow& f : faults) {
    const double a = std::max(f.start, scale.t0), b = std::min(f.end, scale.t1);
    if (b < a) continue;
    const double xa = scale.X(a), xb = std::max(scale.X(b), xa + 2);
    out += fmt::format(
        "<rect class=\"fault\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">"
        "<title>fault window: {}{}, from +{} to +{}</title></rect>",
        xa, y0, xb - xa, y1 - y0, Escape(f.name), f.failed ? " (the action failed)" : "",
        FormatSeconds(f.start), FormatSeconds(f.end));
    if (f.start >= scale.t0) {
      out += fmt::format(
          "<line class=\"fault-edge\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
          xa, y0, xa, y1);
    }
  }
  return out;
}

std::string TimeAxis(const TimeScale& scale, double y, double grid_top) {
  std::string out;
  const int target = std::max(3, static_cast<int>((scale.x1 - scale.x0) / 95));
  for (double t : NiceTicks(scale.t0, scale.t1, target)) {
    if (t < scale.t0 - 1e-9 || t > scale.t1 + 1e-9) continue;
    const double x = scale.X(t);
    if (grid_top < y) {
      out += fmt::format(
          "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", x,
          grid_top, x, y);
    }
    out += fmt::format(
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}"
        "</text>",
        x, y + 16, FormatSeconds(t));
  }
  return out;
}

std::string LineChart(const ChartSpec& spec) {
  constexpr double kLeft = 64, kRight = 16, kTop = 38, kBottom = 28;
  const double w = spec.width, h = spec.height;
  const TimeScale xs{spec.t0, spec.t1, kLeft, w - kRight};
  std::vector<Line> lines;
  for (const Line& l : spec.lines) {
    if (l.points.empty()) continue;
    lines.push_back(l);
    lines.back().points = Downsample(l.points, spec.max_points);
  }
  auto [lo, hi] = Range(lines, spec.y_from_zero);
  const std::vector<double> ticks = NiceTicks(lo, hi, 4);
  const YScale ys{ticks.front(), ticks.back(), h - kBottom, kTop};
  std::string out = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">",
      spec.width, spec.height, spec.width, spec.height, Escape(spec.title));
  out += fmt::format("<text class=\"chart-title\" x=\"{}\" y=\"18\">{}</text>", kLeft,
                     Escape(Cut(spec.title, static_cast<std::size_t>(w / 9))));
  std::set<std::string> names;
  for (const Line& l : lines) names.insert(l.name);
  if (names.size() > 1) out += Legend(lines, w - kRight, 18);
  out += FaultRects(spec.faults, xs, kTop, h - kBottom);
  out += YAxis(ys, ticks, kLeft, w - kRight, spec.unit);
  out += TimeAxis(xs, h - kBottom, h - kBottom);
  out += fmt::format("<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", kLeft,
                     h - kBottom, w - kRight, h - kBottom);
  for (const Line& l : lines) out += Polyline(l, l.points, xs, ys);
  for (const Line& l : lines) out += Markers(l, l.points, xs, ys);
  return out + "</svg>";
}

}  // namespace faultline::experiment
