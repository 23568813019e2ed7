// Python's decimal.Decimal, as far as chaoslib's range tolerance uses it:
// Decimal(value) from a JSON value, exactly (a float is its exact binary
// value, as Decimal(0.1) is 0.1000000000000000055511151231257827...), and
// the ordering of two of them.
//
// Strings as Decimal reads them: surrounding whitespace, underscores
// anywhere, a sign, digits with an optional point and exponent,
// "inf"/"infinity"/"nan"/"snan" in any case. Not here: non-ASCII digits
// (Decimal("١٢") is 12 in Python) and the (sign, digits, exponent) tuple
// form of a three-element list; exponents beyond ±10^17 are clamped.
//
// Thread-safety: values and pure functions.
#ifndef FAULTLINE_EXPERIMENT_TOLERANCE_DECIMAL_H_
#define FAULTLINE_EXPERIMENT_TOLERANCE_DECIMAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

struct Decimal {
  enum class Kind { kFinite, kInfinity, kNaN };
  Kind kind = Kind::kFinite;
  bool negative = false;
  std::string digits;    // significant digits, no leading or trailing zeros; "" is zero
  int64_t exponent = 0;  // value = digits * 10^exponent
};

// Decimal(text); nullopt where Python raises InvalidOperation.
std::optional<Decimal> ParseDecimal(std::string_view text);

// Decimal(value): nullopt for a string Decimal cannot read (Python's
// InvalidOperation); InvalidArgument where Python raises TypeError or
// ValueError ("conversion from NoneType to Decimal is not supported").
Result<std::optional<Decimal>> ToDecimal(const json& value);

// a <= b; InvalidArgument when either is a NaN (Python raises
// InvalidOperation on an ordering comparison with a NaN).
Result<bool> DecimalLessEqual(const Decimal& a, const Decimal& b);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_TOLERANCE_DECIMAL_H_
