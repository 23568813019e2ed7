#include "experiment/tolerance_python.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string>

#include "experiment/tolerance.h"

namespace faultline::experiment {
namespace {

static_assert(std::numeric_limits<long double>::digits >= 64,
              "exact int/float comparison needs a 64-bit long double mantissa");

long double AsLongDouble(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_unsigned()) return static_cast<long double>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<long double>(v.get<int64_t>());
  return static_cast<long double>(v.get<double>());
}

bool EqualObjects(const json& a, const json& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a.items()) {
    auto it = b.find(key);
    if (it == b.end() || !PythonEquals(value, *it)) return false;
  }
  return true;
}

}  // namespace

std::string_view PythonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "NoneType";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float";
    case json::value_t::string:
      return "str";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "dict";
    default:
      return "bytes";
  }
}

bool IsPythonNumber(const json& value) { return value.is_boolean() || value.is_number(); }

std::optional<int64_t> PythonInt(const json& value) {
  if (value.is_boolean()) return value.get<bool>() ? 1 : 0;
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return static_cast<int64_t>(u > kMax ? kMax : u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

int CompareNumbers(const json& a, const json& b) {
  long double x = AsLongDouble(a);
  long double y = AsLongDouble(b);
  if (std::isnan(x) || std::isnan(y)) return 2;
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool PythonEquals(const json& a, const json& b) {
  if (IsPythonNumber(a) && IsPythonNumber(b)) return CompareNumbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!PythonEquals(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) return EqualObjects(a, b);
  return a == b;
}

Result<bool> PythonLessEqual(const json& a, const json& b) {
  if (IsPythonNumber(a) && IsPythonNumber(b)) {
    int c = CompareNumbers(a, b);
    return c == -1 || c == 0;
  }
  if (a.is_string() && b.is_string()) {
    // UTF-8 byte order is code point order.
    return a.get_ref<const std::string&>() <= b.get_ref<const std::string&>();
  }
  if (a.is_array() && b.is_array()) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (!PythonEquals(a[i], b[i])) return PythonLessEqual(a[i], b[i]);
    }
    return a.size() <= b.size();
  }
  return Status::InvalidArgument(
      fmt::format("'<=' not supported between instances of '{}' and '{}'", PythonTypeName(a),
                  PythonTypeName(b)));
}

}  // namespace faultline::experiment
