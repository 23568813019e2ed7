// JsonPath: JSONPath expressions as chaostoolkit-lib's jsonpath tolerance
// evaluates them, with the semantics of the jsonpath2 package (0.4.5),
// quirks included:
//
//   $  .name  ["name"]     root, member (double quotes only; escapes are
//                          not decoded: ["a\"b"] is the key a\"b)
//   [n] [-n] [a:b:c]       element, from the end, slice (jsonpath2's own
//                          arithmetic: [::-1] selects nothing)
//   * ..  [a,b]            wildcard, recursive descent (pre-order), union
//   [?(expr)]              the current value itself when expr holds: filter
//                          an array's elements with [*][?(...)]
//   [@.x] [$.x]            each match used as an index (int) or a key (str)
//   length() keys() values() entries() charAt(i) substring(a[,b])
//
// Filters: =, !=, <, <=, >, >= (true when some pair of values compares
// true; < and friends only between numbers), existence [?(@.x)], a literal's
// truthiness, not, and, or — where "and" binds looser than "or"
// (a or b and c is (a or b) and c) and, when the right side is a path, only
// the first value of the left side is compared, both as in jsonpath2.
//
// Differences: integers beyond 64 bits are doubles here; jsonpath2 keeps
// them exact and takes forever on slices like [0:10**20], which are clipped
// here.
//
// Thread-safety: a parsed JsonPath is immutable; Match may be called from
// any thread.
#ifndef FAULTLINE_EXPERIMENT_JSONPATH_H_
#define FAULTLINE_EXPERIMENT_JSONPATH_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

class JsonPath {
 public:
  // InvalidArgument naming the expression, the column and what was
  // expected when `expression` is not a JSONPath jsonpath2 accepts
  // ("invalid JSONPath '$.and': column 3: expected a name or '*' after '.',
  // got 'and'").
  static Result<JsonPath> Parse(std::string_view expression);

  // The values `value` has at this path, in jsonpath2's order. Where
  // jsonpath2 raises (a slice step of 0 applied to an array) or the value
  // is nested too deeply to walk (kMaxJsonPathDepth), an InvalidArgument
  // saying so.
  Result<std::vector<json>> Evaluate(const json& value) const;

  // Evaluate, with nothing for an error.
  std::vector<json> Match(const json& value) const;

  JsonPath(JsonPath&&) noexcept;
  JsonPath& operator=(JsonPath&&) noexcept;
  ~JsonPath();

  struct Node;  // the parsed expression (jsonpath_ast.h)

 private:
  explicit JsonPath(std::unique_ptr<Node> root);
  std::unique_ptr<Node> root_;
};

// How deep the evaluation may go (steps, nested filters and levels of the
// document together) before Evaluate gives up.
inline constexpr int kMaxJsonPathDepth = 512;

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_JSONPATH_H_
