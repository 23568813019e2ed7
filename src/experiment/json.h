// The value type of experiments: nlohmann's ordered_json, so that an
// experiment's keys keep the order they were written in (the journal holds
// the experiment as loaded, as chaostoolkit's does: Python dicts keep
// insertion order).
//
// Internal to faultline.
#ifndef FAULTLINE_EXPERIMENT_JSON_H_
#define FAULTLINE_EXPERIMENT_JSON_H_

#include <nlohmann/json.hpp>

namespace faultline::experiment {

using json = nlohmann::ordered_json;

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_JSON_H_
