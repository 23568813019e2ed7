// The YAML half of the experiment loader: a yaml-cpp tree turned into json
// with scalars resolved as PyYAML's yaml.safe_load resolves them (chaoslib
// loads experiments and var files with safe_load), so that a file means
// here what it means to chaos:
//
//   plain yes/no/on/off/true/false (any case form PyYAML knows)  bool
//   ~, null, Null, NULL, empty                                   null
//   12, 0x1f, 017 (octal), 0b101, 1_000, 1:30 (sexagesimal)      int
//   1.5, 1.0e+5, .5, .inf, -.Inf, .nan, 1:30.5                   float
//   1e5, 1.0e5 (no dot / no exponent sign), 0o17, dates          string
//   quoted, literal and folded scalars, !!str                    string
//   "<<" merge keys (a mapping or a list of mappings)            merged
//
// Keys that resolve to something other than a string are written as JSON
// writes them (true, 1, null), as the journal of chaos would.
//
// Internal to the experiment module. Thread-safety: no shared state.
#ifndef FAULTLINE_EXPERIMENT_DOCUMENT_YAML_H_
#define FAULTLINE_EXPERIMENT_DOCUMENT_YAML_H_

#include <map>
#include <string>
#include <string_view>

#include "experiment/document.h"
#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

// Parses one YAML document into *value and the position of every value by
// path into *positions. InvalidArgument "source:line:col: ..." for a syntax
// error, a tag safe_load does not know, nesting deeper than `max_depth`, or
// aliases that expand to more values than the text has bytes (at least
// 100000).
Status ParseYamlValue(std::string_view text, std::string_view source, int max_depth, json* value,
                      std::map<std::string, Position>* positions);

// The value of a plain scalar as PyYAML's implicit resolvers read it.
// InvalidArgument when it looks like a number PyYAML cannot construct
// ("0b_") or one too large for a 64-bit integer.
Result<json> ResolvePlainScalar(const std::string& text);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_DOCUMENT_YAML_H_
