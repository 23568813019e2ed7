// Tolerances: whether a probe's output is within a hypothesis probe's
// tolerance, exactly as chaostoolkit-lib's within_tolerance decides
// (chaoslib/hypothesis.py), Python's comparison rules included (True == 1,
// 1 == 1.0, a dict with "status" compared by its status).
//
//   bool, str      equality (Python ==); a string is substituted first, and
//                  "${n}" may turn it into an int, a list or a dict
//   int            a dict with "status": its status; else equality
//   float, null    never met (no singledispatch registration: None)
//   list           a dict with "status": membership of the status; else a
//                  two-element list is an inclusive range (Python <=, which
//                  raises between a number and a string), any other length
//                  membership
//   {"type":"regex","pattern","target"?}      re.search (tolerance_regex.h)
//   {"type":"jsonpath","path","target"?,"expect"?,"count"?}   jsonpath2
//                  semantics (jsonpath.h); a string is JSON-parsed first
//   {"type":"range","range":[lo,hi],"target"?} inclusive, through Decimal
//                  (tolerance_decimal.h): "3" is 3, "abc" is not met
//   {"type":"probe", ...}  a copy of the probe run with
//                  provider.arguments.value = output; met when it succeeds
//                  with a truthy output (chaoslib sets the value on the
//                  experiment's own dict; here the tolerance is unchanged)
//   other dicts    never met
//
// Thread-safety: no shared state.
#ifndef FAULTLINE_EXPERIMENT_TOLERANCE_H_
#define FAULTLINE_EXPERIMENT_TOLERANCE_H_

#include <functional>
#include <string>

#include "experiment/context.h"
#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

// Runs a probe used as a tolerance (the activity, arguments.value already
// set) and returns its output; a failure means "not met".
using ToleranceProbe = std::function<Result<json>(const json& activity)>;

// Whether `value` is within `tolerance`, substituted here where chaoslib
// substitutes (a string tolerance, with its type; a regex pattern; a
// jsonpath path and expect): pass the tolerance as written, not already
// substituted. Not OK where Python would raise (a range of strings compared
// with a number, a regex against a dict, a target on a non-dict, a probe
// tolerance without provider.arguments): InvalidArgument saying what could
// not be compared, which the runner reports on the probe. `run_probe` is
// called only for probe tolerances.
Result<bool> WithinTolerance(const json& tolerance, const json& value, const Context& ctx,
                             const ToleranceProbe& run_probe);

// Python's == on JSON values: bools are 0 and 1, ints equal floats of the
// same value, lists and objects element-wise.
bool PythonEquals(const json& a, const json& b);

// PythonTruthy (Python's truthiness) is in experiment/json.h.

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_TOLERANCE_H_
