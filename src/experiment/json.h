// The value type of experiments: nlohmann's ordered_json, so that an
// experiment's keys keep the order they were written in (the journal holds
// the experiment as loaded, as chaostoolkit's does: Python dicts keep
// insertion order).
//
// And Python's truthiness of such a value, which chaoslib's `if x:` applies
// everywhere (validation, providers, tolerances): one definition for all.
//
// Internal to faultline.
#ifndef FAULTLINE_EXPERIMENT_JSON_H_
#define FAULTLINE_EXPERIMENT_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace faultline::experiment {

using json = nlohmann::ordered_json;

// Python's truthiness: null, false, 0, 0.0, -0.0, "", [] and {} are false;
// everything else (NaN included, as in Python) is true.
inline bool PythonTruthy(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return false;
    case json::value_t::boolean:
      return v.get<bool>();
    case json::value_t::number_integer:
      return v.get<std::int64_t>() != 0;
    case json::value_t::number_unsigned:
      return v.get<std::uint64_t>() != 0;
    case json::value_t::number_float:
      return v.get<double>() != 0.0;  // NaN != 0.0: true
    case json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    default:  // array, object, binary
      return !v.empty();
  }
}

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_JSON_H_
