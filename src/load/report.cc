#include "load/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace faultline::load {
namespace {

constexpr std::array<std::string_view, kErrorKinds> kErrorNames = {
    "connect_refused", "connect", "timeout", "closed", "bad_response", "other"};

double Ms(std::int64_t us) { return static_cast<double>(us) / 1000.0; }
double Ms(double us) { return us / 1000.0; }

// Milliseconds with three decimals (microsecond resolution) for JSON.
double RoundMs(double ms) { return std::round(ms * 1000.0) / 1000.0; }

nlohmann::json LatencyJson(const Histogram::Stats& s) {
  return {{"count", s.count},
          {"min", RoundMs(Ms(s.min_us))},
          {"mean", RoundMs(Ms(s.mean_us))},
          {"stddev", RoundMs(Ms(s.stddev_us))},
          {"p50", RoundMs(Ms(s.p50_us))},
          {"p75", RoundMs(Ms(s.p75_us))},
          {"p90", RoundMs(Ms(s.p90_us))},
          {"p99", RoundMs(Ms(s.p99_us))},
          {"p99_9", RoundMs(Ms(s.p99_9_us))},
          {"p99_99", RoundMs(Ms(s.p99_99_us))},
          {"max", RoundMs(Ms(s.max_us))}};
}

std::string Bytes(std::uint64_t n) {
  const auto v = static_cast<double>(n);
  if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", v / (1024.0 * 1024 * 1024));
  if (v >= 1024.0 * 1024) return fmt::format("{:.2f} MiB", v / (1024.0 * 1024));
  if (v >= 1024.0) return fmt::format("{:.2f} KiB", v / 1024.0);
  return fmt::format("{} B", n);
}

// Milliseconds for people: 3 significant digits or so.
std::string HumanMs(double us) {
  const double ms = us / 1000.0;
  if (ms < 1) return fmt::format("{:.3f}ms", ms);
  if (ms < 100) return fmt::format("{:.2f}ms", ms);
  if (ms < 10000) return fmt::format("{:.0f}ms", ms);
  return fmt::format("{:.2f}s", ms / 1000.0);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  return kErrorNames[static_cast<std::size_t>(kind)];
}

std::uint64_t Tally::error_count() const {
  std::uint64_t n = 0;
  for (auto e : errors) n += e;
  return n;
}

std::uint64_t Tally::http_error_count() const {
  std::uint64_t n = 0;
  for (std::size_t code = 0; code < statuses.size(); ++code) {
    if (code < 100 || code >= 400) n += statuses[code];
  }
  return n;
}

void Tally::Merge(const Tally& other) {
  latency.Merge(other.latency);
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += other.errors[i];
  for (std::size_t i = 0; i < statuses.size(); ++i) statuses[i] += other.statuses[i];
  responses += other.responses;
  bytes_read += other.bytes_read;
  bytes_written += other.bytes_written;
  unfinished += other.unfinished;
}

void SeriesAggregator::Report(std::int64_t second, const Histogram& latency, std::uint64_t errors,
                              std::uint64_t http_errors) {
  std::lock_guard<std::mutex> lock(mu_);
  Pending& p = pending_[second];
  p.latency.Merge(latency);
  p.errors += errors;
  p.http_errors += http_errors;
  if (++p.reports >= reporters_) {
    Complete(second, p);
    pending_.erase(second);
  }
}

void SeriesAggregator::Complete(std::int64_t second, const Pending& p) {
  done_.push_back(SecondStats{.second = second,
                              .responses = p.latency.count(),
                              .errors = p.errors,
                              .http_errors = p.http_errors,
                              .latency = p.latency.Summarize()});
}

std::vector<SecondStats> SeriesAggregator::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [second, p] : pending_) Complete(second, p);
  pending_.clear();
  std::sort(done_.begin(), done_.end(),
            [](const SecondStats& a, const SecondStats& b) { return a.second < b.second; });
  std::vector<SecondStats> out;
  for (const SecondStats& s : done_) {
    while (static_cast<std::int64_t>(out.size()) < s.second) {
      out.push_back(SecondStats{.second = static_cast<std::int64_t>(out.size())});
    }
    out.push_back(s);
  }
  done_.clear();
  return out;
}

void SeriesRecorder::MoveTo(std::int64_t at_ns) {
  const std::int64_t second = std::max<std::int64_t>(0, at_ns / 1'000'000'000);
  while (second_ < second) {
    aggregator_->Report(second_, latency_, errors_, http_errors_);
    latency_.Reset();
    errors_ = 0;
    http_errors_ = 0;
    ++second_;
  }
}

void SeriesRecorder::Response(std::int64_t at_ns, std::chrono::nanoseconds latency,
                              bool http_error) {
  MoveTo(at_ns);
  latency_.Record(latency);
  if (http_error) ++http_errors_;
}

void SeriesRecorder::Error(std::int64_t at_ns) {
  MoveTo(at_ns);
  ++errors_;
}

void SeriesRecorder::Finish() { aggregator_->Report(second_, latency_, errors_, http_errors_); }

std::int64_t IntendedSendNs(std::uint64_t index, double rate) {
  return std::llround(static_cast<double>(index) * 1e9 / rate);
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  auto fail = [&] {
    return Status::InvalidArgument(
        fmt::format("expected a positive duration such as 10, 10s, 500ms or 2m, got \"{}\"", text));
  };
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || !std::isfinite(value)) return fail();
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  double seconds = 0;
  if (unit.empty() || unit == "s") {
    seconds = value;
  } else if (unit == "ms") {
    seconds = value / 1000.0;
  } else if (unit == "us") {
    seconds = value / 1e6;
  } else if (unit == "m") {
    seconds = value * 60.0;
  } else if (unit == "h") {
    seconds = value * 3600.0;
  } else {
    return fail();
  }
  // Up to ten years: anything longer is a typo (and would overflow).
  if (!(seconds > 0) || seconds > 10.0 * 365 * 24 * 3600) return fail();
  const auto ns = static_cast<std::int64_t>(std::llround(seconds * 1e9));
  if (ns <= 0) return fail();
  return std::chrono::nanoseconds(ns);
}

bool IsHttpToken(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

Result<std::pair<std::string, std::string>> ParseHeader(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("header \"{}\": expected \"Name: value\" (no colon)", text));
  }
  const std::string_view name = text.substr(0, colon);
  if (!IsHttpToken(name)) {
    return Status::InvalidArgument(fmt::format(
        "header \"{}\": expected \"Name: value\", and \"{}\" is not a header name", text, name));
  }
  const std::string_view value = Trim(text.substr(colon + 1));
  if (value.find_first_of("\r\n") != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("header \"{}\": the value has a line break", name));
  }
  return std::pair<std::string, std::string>(std::string(name), std::string(value));
}

nlohmann::json ToJson(const LoadResult& r) {
  using nlohmann::json;
  const Tally& t = r.tally;
  const std::uint64_t errors = t.error_count();
  const std::uint64_t http_errors = t.http_error_count();
  const std::uint64_t total = t.responses + errors;
  const double elapsed = r.elapsed_s > 0 ? r.elapsed_s : 1e-9;

  json by_class = json::object();
  json by_status = json::object();
  for (std::size_t code = 0; code < t.statuses.size(); ++code) {
    if (t.statuses[code] == 0) continue;
    by_status[std::to_string(code)] = t.statuses[code];
    const std::string cls = fmt::format("{}xx", code / 100);
    by_class[cls] = by_class.value(cls, std::uint64_t{0}) + t.statuses[code];
  }
  json error_kinds = json::object();
  for (std::size_t i = 0; i < kErrorKinds; ++i) error_kinds[kErrorNames[i]] = t.errors[i];

  json series = json::array();
  for (const SecondStats& s : r.series) {
    series.push_back({{"second", s.second},
                      {"responses", s.responses},
                      {"errors", s.errors},
                      {"http_errors", s.http_errors},
                      {"latency_ms", LatencyJson(s.latency)}});
  }
  const auto opt = [](const auto& o) -> json { return o ? json(*o) : json(nullptr); };
  const Histogram::Stats lat = t.latency.Summarize();
  return {
      {"version", kJsonVersion},
      {"url", r.url},
      {"options",
       {{"method", r.method},
        {"connections", r.connections},
        {"threads", r.threads},
        {"requests", opt(r.requests_limit)},
        {"duration_s", opt(r.duration_limit_s)},
        {"rate", opt(r.rate)},
        {"timeout_s", r.timeout_s}}},
      {"started_at", r.started_at},
      {"elapsed_s", r.elapsed_s},
      {"interrupted", r.interrupted.empty() ? json(nullptr) : json(r.interrupted)},
      {"coordinated_omission_corrected", r.rate.has_value()},
      {"requests",
       {{"total", total},
        {"responses", t.responses},
        {"ok", t.responses - http_errors},
        {"failed", errors + http_errors},
        {"unfinished", t.unfinished},
        {"per_second", static_cast<double>(total) / elapsed}}},
      {"error_rate",
       total == 0 ? 0.0 : static_cast<double>(errors + http_errors) / static_cast<double>(total)},
      {"errors", {{"total", errors}, {"by_kind", error_kinds}}},
      {"responses", {{"by_class", by_class}, {"by_status", by_status}}},
      {"latency_ms", LatencyJson(lat)},
      {"latency_out_of_range", t.latency.out_of_range()},
      {"transfer",
       {{"bytes_read", t.bytes_read},
        {"bytes_written", t.bytes_written},
        {"read_bytes_per_second", static_cast<double>(t.bytes_read) / elapsed}}},
      {"series", series},
  };
}

std::string FormatSummary(const LoadResult& r) {
  const Tally& t = r.tally;
  const std::uint64_t errors = t.error_count();
  const std::uint64_t http_errors = t.http_error_count();
  const std::uint64_t total = t.responses + errors;
  const double elapsed = r.elapsed_s > 0 ? r.elapsed_s : 1e-9;
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  std::string limit;
  if (r.requests_limit) {
    limit = fmt::format("{} request{}", *r.requests_limit, *r.requests_limit == 1 ? "" : "s");
  }
  if (r.duration_limit_s) limit = fmt::format("{:g}s", *r.duration_limit_s);
  if (r.rate) limit += fmt::format(" at {:g} req/s", *r.rate);
  line(fmt::format("{} {}: {} connection{}, {} thread{}, {}", r.method, r.url, r.connections,
                   r.connections == 1 ? "" : "s", r.threads, r.threads == 1 ? "" : "s", limit));
  if (!r.interrupted.empty()) {
    line(fmt::format("  Interrupted by {} after {:.2f}s: the figures are what was measured so far",
                     r.interrupted, r.elapsed_s));
  }
  line(fmt::format("  Requests:   {} in {:.2f}s, {:.1f} req/s", total, r.elapsed_s,
                   static_cast<double>(total) / elapsed));
  line(fmt::format(
      "  Succeeded:  {}   Failed: {} ({:.2f}%)", t.responses - http_errors, errors + http_errors,
      total == 0 ? 0.0
                 : 100.0 * static_cast<double>(errors + http_errors) / static_cast<double>(total)));
  std::string statuses;
  for (std::size_t code = 0; code < t.statuses.size(); ++code) {
    if (t.statuses[code] != 0) statuses += fmt::format("  {}: {}", code, t.statuses[code]);
  }
  line(fmt::format("  Responses: {}", statuses.empty() ? std::string("  none") : statuses));
  std::string kinds;
  for (std::size_t i = 0; i < kErrorKinds; ++i) {
    if (t.errors[i] != 0) kinds += fmt::format("  {}: {}", kErrorNames[i], t.errors[i]);
  }
  line(fmt::format("  Errors:    {}", kinds.empty() ? std::string("  none") : kinds));
  if (t.unfinished != 0) {
    line(fmt::format("  Unfinished: {} (in flight when {}; not counted)", t.unfinished,
                     r.interrupted.empty() ? "the time was up" : "interrupted"));
  }
  const Histogram::Stats s = t.latency.Summarize();
  line(fmt::format("  Latency{}:", r.rate ? " (corrected for coordinated omission)" : ""));
  line(fmt::format("    min {}  mean {}  stddev {}  max {}", HumanMs(static_cast<double>(s.min_us)),
                   HumanMs(s.mean_us), HumanMs(s.stddev_us),
                   HumanMs(static_cast<double>(s.max_us))));
  line(fmt::format("    p50 {}  p90 {}  p99 {}  p99.9 {}", HumanMs(static_cast<double>(s.p50_us)),
                   HumanMs(static_cast<double>(s.p90_us)), HumanMs(static_cast<double>(s.p99_us)),
                   HumanMs(static_cast<double>(s.p99_9_us))));
  if (t.latency.out_of_range() != 0) {
    line(fmt::format("    {} latencies over 60s were counted as 60s", t.latency.out_of_range()));
  }
  line(fmt::format("  Transfer:   read {} ({}/s), written {}", Bytes(t.bytes_read),
                   Bytes(static_cast<std::uint64_t>(static_cast<double>(t.bytes_read) / elapsed)),
                   Bytes(t.bytes_written)));
  return out;
}

}  // namespace faultline::load
