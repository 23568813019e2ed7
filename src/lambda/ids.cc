#include "lambda/ids.h"

#include <fmt/format.h>

#include <algorithm>

#include "faultline/rules.h"

namespace faultline::lambda {

namespace {

// `digits` lower-case hex digits of `v` (zero-padded, the low ones) at `out`.
void PutHex(char* out, std::uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = "0123456789abcdef"[v & 0xf];
}

}  // namespace

std::string NewRequestId(Random& rng) {
  const std::uint64_t a = rng.Next(), b = rng.Next();
  std::string id(36, '-');
  char* p = id.data();
  PutHex(p, a >> 32, 8);
  PutHex(p + 9, (a >> 16) & 0xffff, 4);
  p[14] = '4';
  PutHex(p + 15, a & 0xfff, 3);
  PutHex(p + 19, 0x8000 | (b >> 48 & 0x3fff), 4);
  PutHex(p + 24, b & 0xffffffffffffULL, 12);
  return id;
}

std::string NewTraceId(Random& rng) {
  const auto seconds = static_cast<std::uint32_t>(EpochMs() / 1000);
  const std::uint64_t root = rng.Next() >> 16, parent = rng.Next();
  std::string id = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0";
  PutHex(id.data() + 7, seconds, 8);
  PutHex(id.data() + 24, root, 16);  // the last 16 of the 24 digits (root < 2^48)
  PutHex(id.data() + 48, parent, 16);
  return id;
}

std::string TraceIdFrom(std::string_view given, Random& rng) {
  if (given.find("Root=1-") == std::string_view::npos) return NewTraceId(rng);
  std::string trace(given);
  if (trace.find("Parent=") == std::string::npos) {
    const std::string fresh = NewTraceId(rng);  // Root=...;Parent=<16 hex>;Sampled=0
    trace += ";" + fresh.substr(fresh.find("Parent="), 23);
  }
  if (trace.find("Sampled=") == std::string::npos) trace += ";Sampled=0";
  return trace;
}

std::string LogStreamName(std::string_view version, Random& rng) {
  std::string date = IsoNow().substr(0, 10);  // 2026-11-25
  std::replace(date.begin(), date.end(), '-', '/');
  return fmt::format("{}/[{}]{:016x}{:016x}", date, version, rng.Next(), rng.Next());
}

std::int64_t EpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string Seconds(std::chrono::milliseconds d) {
  return fmt::format("{:.2f}", static_cast<double>(d.count()) / 1000.0);
}

std::string IsoNow() {
  const std::int64_t ms = EpochMs();
  std::string t = FormatTimestamp(ms * 1'000'000);  // ...:29Z or ...:29.544Z
  if (t.size() > 1) t.pop_back();
  if (t.find('.') == std::string::npos) t += ".000";
  while (t.size() - t.find('.') < 4) t += '0';
  return t + "Z";
}

std::string LastModifiedNow() {
  std::string t = IsoNow();
  t.pop_back();  // the Z
  return t + "+0000";
}

}  // namespace faultline::lambda
