#include "experiment/tolerance_decimal.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "experiment/tolerance_python.h"

namespace faultline::experiment {
namespace {

constexpr int64_t kExponentLimit = int64_t{1} << 56;

bool IsPythonSpace(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// [0-9]* ('.' [0-9]*)? with at least one digit, then ([eE] [+-]? [0-9]+)?.
std::optional<Decimal> ParseFinite(std::string_view s, bool negative) {
  size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view ex = s.substr(e + 1);
    bool neg = !ex.empty() && ex[0] == '-';
    if (!ex.empty() && (ex[0] == '-' || ex[0] == '+')) ex.remove_prefix(1);
    if (ex.empty() || !AllDigits(ex)) return std::nullopt;
    for (char c : ex) exponent = std::min(exponent * 10 + (c - '0'), kExponentLimit);
    if (neg) exponent = -exponent;
  }
  size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : mantissa.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  if (!AllDigits(whole) || !AllDigits(frac)) return std::nullopt;
  Decimal d;
  d.negative = negative;
  d.digits = std::string(whole) + std::string(frac);
  d.exponent = exponent - static_cast<int64_t>(frac.size());
  d.digits.erase(0, d.digits.find_first_not_of('0'));
  size_t last = d.digits.find_last_not_of('0');
  if (last == std::string::npos) {
    d.digits.clear();
    d.exponent = 0;
  } else {
    d.exponent += static_cast<int64_t>(d.digits.size() - last - 1);
    d.digits.erase(last + 1);
  }
  return d;
}

Decimal FromDouble(double v) {
  Decimal d;
  d.negative = std::signbit(v);
  if (std::isnan(v)) {
    d.kind = Decimal::Kind::kNaN;
    return d;
  }
  if (std::isinf(v)) {
    d.kind = Decimal::Kind::kInfinity;
    return d;
  }
  // glibc prints a double's exact decimal expansion; 767 significant
  // digits are the most one needs.
  char buf[900];
  std::snprintf(buf, sizeof buf, "%.800e", std::fabs(v));
  return *ParseFinite(buf, d.negative);
}

// The sign of a finite or infinite value: -1, 0, 1.
int Sign(const Decimal& d) {
  if (d.kind == Decimal::Kind::kFinite && d.digits.empty()) return 0;
  return d.negative ? -1 : 1;
}

int CompareMagnitude(const Decimal& a, const Decimal& b) {
  bool ia = a.kind == Decimal::Kind::kInfinity, ib = b.kind == Decimal::Kind::kInfinity;
  if (ia || ib) return ia == ib ? 0 : (ia ? 1 : -1);
  int64_t adj_a = a.exponent + static_cast<int64_t>(a.digits.size());
  int64_t adj_b = b.exponent + static_cast<int64_t>(b.digits.size());
  if (adj_a != adj_b) return adj_a < adj_b ? -1 : 1;
  int c = a.digits.compare(b.digits);  // same leading position: digit by digit
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

std::optional<Decimal> ParseDecimal(std::string_view text) {
  while (!text.empty() && IsPythonSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsPythonSpace(text.back())) text.remove_suffix(1);
  std::string s;
  for (char c : text) {
    if (c != '_') s += c;
  }
  bool negative = false;
  std::string_view rest = s;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  std::string lower = Lower(rest);
  Decimal d;
  d.negative = negative;
  if (lower == "inf" || lower == "infinity") {
    d.kind = Decimal::Kind::kInfinity;
    return d;
  }
  for (std::string_view nan : {"snan", "nan"}) {
    if (std::string_view(lower).substr(0, nan.size()) == nan &&
        AllDigits(std::string_view(lower).substr(nan.size()))) {
      d.kind = Decimal::Kind::kNaN;
      return d;
    }
  }
  return ParseFinite(rest, negative);
}

Result<std::optional<Decimal>> ToDecimal(const json& value) {
  if (value.is_string()) return ParseDecimal(value.get_ref<const std::string&>());
  if (value.is_number_float()) return std::optional<Decimal>(FromDouble(value.get<double>()));
  if (value.is_boolean() || value.is_number()) {
    std::string text = value.is_boolean() ? (value.get<bool>() ? "1" : "0") : value.dump();
    return ParseDecimal(text);
  }
  if (value.is_array()) {
    return Status::InvalidArgument(
        "cannot convert a list to Decimal (Python reads only a (sign, digits, exponent) "
        "triple, which faultline does not)");
  }
  return Status::InvalidArgument(
      fmt::format("conversion from {} to Decimal is not supported", PythonTypeName(value)));
}

Result<bool> DecimalLessEqual(const Decimal& a, const Decimal& b) {
  if (a.kind == Decimal::Kind::kNaN || b.kind == Decimal::Kind::kNaN) {
    return Status::InvalidArgument("cannot order a NaN (decimal.InvalidOperation)");
  }
  int sa = Sign(a), sb = Sign(b);
  if (sa != sb) return sa < sb;
  if (sa == 0) return true;
  int m = CompareMagnitude(a, b);
  return sa > 0 ? m <= 0 : m >= 0;
}

}  // namespace faultline::experiment
