// The parsed form of a JSONPath (jsonpath.h), shared by its parser
// (jsonpath_parse.cc) and its evaluator (jsonpath.cc). It mirrors
// jsonpath2's parse tree: a path is "$" or "@" followed by steps; a step is
// one bracket (or dot) of subscripts, applied to the current value or, after
// "..", to it and to everything below it.
//
// Internal to the JSONPath implementation. Thread-safety: immutable values.
#ifndef FAULTLINE_EXPERIMENT_JSONPATH_AST_H_
#define FAULTLINE_EXPERIMENT_JSONPATH_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "experiment/json.h"
#include "experiment/jsonpath.h"
#include "faultline/status.h"

namespace faultline::experiment {

namespace jsonpath_ast {

struct Expr;
struct Path;

// A filter's or a function's operand: a path ("$..." or "@...") or a
// literal JSON value.
struct Operand {
  std::unique_ptr<Path> path;  // null: `value` is the literal
  json value;
};

enum class Function { kCharAt, kEntries, kKeys, kLength, kSubstring, kValues };

struct Subscript {
  enum class Kind {
    kKey,       // .name, ["name"]: an object member
    kIndex,     // [n]: an array element, negative from the end
    kSlice,     // [start:end:step], jsonpath2's own arithmetic
    kWildcard,  // .*, [*]: every member or element
    kFilter,    // [?(expr)]: the current value itself when expr holds
    kNode,      // [@.x], [$.x]: each match used as an index or a key
    kCall,      // .length(), [keys()]: a function of the current value
  };
  Kind kind = Kind::kKey;
  std::string key;  // kKey: the text between the quotes, escapes kept as written
  int64_t index = 0;
  std::optional<int64_t> start, end, step;  // kSlice
  std::unique_ptr<Expr> filter;             // kFilter
  std::unique_ptr<Path> node;               // kNode
  Function function = Function::kLength;    // kCall
  std::vector<Operand> args;                // kCall
};

struct Step {
  bool descent = false;  // "..": also every value below the current one
  std::vector<Subscript> subscripts;
};

struct Path {
  bool from_root = true;  // "$"; false: "@", the value being filtered
  std::vector<Step> steps;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

struct Expr {
  enum class Kind {
    kAnd,      // every child holds
    kOr,       // some child holds
    kNot,      // children[0] does not hold
    kCompare,  // some pair of values of left and right compares true
    kSome,     // left (a path) has a match, or left (a literal) is truthy
  };
  Kind kind = Kind::kSome;
  std::vector<Expr> children;
  CompareOp op = CompareOp::kEq;
  Operand left, right;
};

// Parses `expression` (see jsonpath.h for the error contract).
Result<std::unique_ptr<Path>> ParsePath(std::string_view expression);

}  // namespace jsonpath_ast

struct JsonPath::Node {
  std::unique_ptr<jsonpath_ast::Path> path;
};

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_JSONPATH_AST_H_
