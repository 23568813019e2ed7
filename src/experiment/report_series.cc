// What the report plots: the numeric fields of probe outputs over time,
// the per-second series of `faultline load --json` results, and the
// downsampling that bounds both.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

// A string output larger than this is not parsed as JSON: the journal is
// bounded, but parsing is the costly part.
constexpr std::size_t kMaxEmbeddedJson = std::size_t{4} << 20;
// Nested objects deeper than this are not searched for numbers.
constexpr int kMaxDepth = 3;

std::optional<double> Number(const json* v) {
  if (v == nullptr || !v->is_number()) return std::nullopt;
  const double d = v->get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

const json* Find(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json* FindPath(const json& j, const char* a, const char* b) {
  const json* first = Find(j, a);
  return first == nullptr ? nullptr : Find(*first, b);
}

json ParseEmbedded(const json& s) {
  if (!s.is_string() || s.get_ref<const std::string&>().size() > kMaxEmbeddedJson) {
    return json(json::value_t::discarded);
  }
  return json::parse(s.get_ref<const std::string&>(), nullptr, false);
}

using Fields = std::vector<std::pair<std::string, double>>;

std::string Dotted(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// The figures of a load result worth a line each.
void LoadFields(const json& v, const std::string& prefix, Fields* out) {
  static constexpr std::array<std::pair<const char*, const char*>, 4> kPaths = {{
      {"latency_ms", "p50"},
      {"latency_ms", "p99"},
      {"requests", "per_second"},
      {"error_rate", nullptr},
  }};
  for (const auto& [a, b] : kPaths) {
    const json* f = b == nullptr ? Find(v, a) : FindPath(v, a, b);
    if (auto d = Number(f)) {
      out->emplace_back(Dotted(prefix, b == nullptr ? a : std::string(a) + "." + b), *d);
    }
  }
}

void NumericFields(const json& v, const std::string& prefix, int depth, Fields* out) {
  if (auto d = Number(&v)) {
    out->emplace_back(prefix.empty() ? "value" : prefix, *d);
  } else if (v.is_boolean() && depth == 0) {
    out->emplace_back(prefix.empty() ? "value" : prefix, v.get<bool>() ? 1.0 : 0.0);
  } else if (IsLoadResult(v)) {
    LoadFields(v, prefix, out);
  } else if (v.is_object() && depth < kMaxDepth) {
    for (const auto& [key, item] : v.items()) {
      const std::string name = Dotted(prefix, key);
      if (item.is_string() && (key == "stdout" || key == "body")) {
        const json inner = ParseEmbedded(item);
        if (!inner.is_discarded()) NumericFields(inner, name, depth + 1, out);
      } else if (item.is_number() || item.is_object()) {
        NumericFields(item, name, depth + 1, out);
      }
    }
  }
}

std::string PointLabel(const ActivityRun& r, const std::string& field, double t, double v) {
  std::string label = fmt::format("{} ({}) at +{}: {} = {}", r.name, PhaseName(r.phase),
                                  FormatSeconds(t), field, FormatNumber(v));
  if (r.outcome == Outcome::kMissed) label += " (tolerance not met)";
  return label;
}

Point LoadPoint(const LoadRun& run, double t, const char* what, double v, const char* unit) {
  return Point{t, v, false,
               fmt::format("{} ({}) at +{}: {} {}{}", run.probe, PhaseName(run.phase),
                           FormatSeconds(t), what, FormatNumber(v), unit)};
}

// `elapsed`: how long the load ran (its "elapsed_s"), if known.
void AddSecond(const json& s, std::optional<double> elapsed, LoadRun* run) {
  const auto second = Number(Find(s, "second"));
  if (!second) return;
  // The last second is usually cut short: its counts are of that part, so
  // per second they are counts / part (a sliver is too noisy to show).
  double part = 1;
  if (elapsed && *elapsed > *second && *elapsed < *second + 1) part = *elapsed - *second;
  if (part < 0.05) return;
  // A second's figures are of the whole second: plot them at its middle.
  const double t = run->start + *second + part / 2;
  const std::array<std::pair<const char*, std::vector<Point>*>, 4> latencies = {
      {{"p50", &run->p50}, {"p90", &run->p90}, {"p99", &run->p99}, {"max", &run->max}}};
  for (const auto& [key, line] : latencies) {
    if (auto v = Number(FindPath(s, "latency_ms", key))) {
      line->push_back(LoadPoint(*run, t, key, *v, " ms"));
    }
  }
  if (auto v = Number(Find(s, "responses"))) {
    run->responses.push_back(LoadPoint(*run, t, "responses", *v / part, "/s"));
  }
  const double failures =
      Number(Find(s, "errors")).value_or(0) + Number(Find(s, "http_errors")).value_or(0);
  run->failures.push_back(LoadPoint(*run, t, "failures", failures / part, "/s"));
}

}  // namespace

bool IsLoadResult(const json& value) {
  const json* series = Find(value, "series");
  if (series == nullptr || !series->is_array()) return false;
  if (series->empty()) return Find(value, "latency_ms") != nullptr;
  const json& first = series->front();
  return Find(first, "second") != nullptr && Find(first, "latency_ms") != nullptr;
}

json FindLoadResult(const json& output) {
  if (IsLoadResult(output)) return output;
  for (const char* key : {"stdout", "body"}) {
    const json* f = Find(output, key);
    if (f == nullptr) continue;
    if (IsLoadResult(*f)) return *f;
    json inner = ParseEmbedded(*f);
    if (!inner.is_discarded() && IsLoadResult(inner)) return inner;
  }
  return json(json::value_t::discarded);
}

std::vector<Series> ProbeSeries(const ReportModel& model, std::size_t max_fields) {
  std::vector<Series> all;
  std::map<std::string, std::vector<std::size_t>> by_probe;  // name -> indices into all
  for (const ActivityRun& r : model.runs) {
    if (r.type != "probe" || r.output == nullptr) continue;
    const std::optional<double> t = r.end ? r.end : r.start;
    if (!t) continue;
    Fields fields;
    NumericFields(*r.output, "", 0, &fields);
    std::vector<std::size_t>& mine = by_probe[r.name];
    for (const auto& [field, v] : fields) {
      auto it = std::find_if(mine.begin(), mine.end(),
                             [&, &f = field](std::size_t i) { return all[i].field == f; });
      if (it == mine.end()) {
        if (mine.size() >= max_fields) continue;
        all.push_back(Series{r.name, field, {}});
        it = mine.insert(mine.end(), all.size() - 1);
      }
      all[*it].points.push_back(
          Point{*t, v, r.outcome == Outcome::kMissed, PointLabel(r, field, *t, v)});
    }
  }
  for (Series& s : all) {
    std::stable_sort(s.points.begin(), s.points.end(),
                     [](const Point& a, const Point& b) { return a.t < b.t; });
  }
  return all;
}

std::vector<LoadRun> LoadRuns(const ReportModel& model) {
  std::vector<LoadRun> runs;
  for (const ActivityRun& r : model.runs) {
    if (r.type != "probe" || r.output == nullptr || !r.start) continue;
    const json result = FindLoadResult(*r.output);
    if (result.is_discarded()) continue;
    LoadRun run;
    run.probe = r.name;
    run.phase = r.phase;
    run.start = *r.start;
    const std::optional<double> elapsed = Number(Find(result, "elapsed_s"));
    for (const json& s : *Find(result, "series")) AddSecond(s, elapsed, &run);
    runs.push_back(std::move(run));
  }
  std::stable_sort(runs.begin(), runs.end(),
                   [](const LoadRun& a, const LoadRun& b) { return a.start < b.start; });
  return runs;
}

std::vector<Point> Downsample(const std::vector<Point>& points, std::size_t max) {
  max = std::max<std::size_t>(max, 2);
  if (points.size() <= max) return points;
  std::vector<Point> out;
  out.reserve(max);
  out.push_back(points.front());
  const std::size_t inner = points.size() - 2;
  const std::size_t buckets = (max - 2) / 2;
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t lo = 1 + b * inner / buckets;
    const std::size_t hi = 1 + (b + 1) * inner / buckets;
    std::size_t min_i = lo, max_i = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      if (points[i].v < points[min_i].v) min_i = i;
      if (points[i].v > points[max_i].v) max_i = i;
    }
    // Both extremes, in time order; a bucket that is flat still gives two
    // points, so every chart of a long series has the same count.
    if (min_i == max_i) max_i = min_i == lo ? hi - 1 : lo;
    out.push_back(points[std::min(min_i, max_i)]);
    out.push_back(points[std::max(min_i, max_i)]);
  }
  out.push_back(points.back());
  return out;
}

}  // namespace faultline::experiment
