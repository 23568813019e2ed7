// Python's value semantics on JSON values, as chaoslib's tolerances and
// jsonpath2's filters see them (json.loads gives None, bool, int, float,
// str, list, dict): equality and truthiness are in tolerance.h; here are
// ordering, type names and the integer view.
//
// Numbers compare exactly, as Python compares int and float (2**53 + 1 is
// not equal to 2.0**53), through long double, which holds every int64,
// uint64 and double exactly.
//
// Thread-safety: pure functions.
#ifndef FAULTLINE_EXPERIMENT_TOLERANCE_PYTHON_H_
#define FAULTLINE_EXPERIMENT_TOLERANCE_PYTHON_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

// "NoneType", "bool", "int", "float", "str", "list" or "dict".
std::string_view PythonTypeName(const json& value);

// isinstance(value, (int, float)): bools are numbers too.
bool IsPythonNumber(const json& value);

// isinstance(value, int): an integer or a bool, as an int64_t (clamped to
// the int64_t range); nullopt for anything else.
std::optional<int64_t> PythonInt(const json& value);

// -1, 0 or 1 as a < b, a == b, a > b; 2 when unordered (a NaN).
// REQUIRES: IsPythonNumber(a) && IsPythonNumber(b).
int CompareNumbers(const json& a, const json& b);

// Python's a <= b: numbers, strings (by code point), lists
// (lexicographically); InvalidArgument "'<=' not supported between
// instances of 'int' and 'str'" where Python raises TypeError.
Result<bool> PythonLessEqual(const json& a, const json& b);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_TOLERANCE_PYTHON_H_
