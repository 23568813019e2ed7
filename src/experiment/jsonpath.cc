// The JSONPath evaluator: walks the parsed path (jsonpath_ast.h) over a
// value depth-first, handing each match to a visitor that may stop the
// walk. jsonpath2 evaluates lazily with generators; the visitor reproduces
// its order and its short-circuits (a filter's "or" stops at the first
// true branch, an existence test at the first match), which decide whether
// an error further on is ever reached, as in Python.
#include "experiment/jsonpath.h"

#include <fmt/format.h>

#include <functional>
#include <string>
#include <utility>

#include "experiment/jsonpath_ast.h"
#include "experiment/tolerance.h"
#include "experiment/tolerance_python.h"

namespace faultline::experiment {
namespace {

using jsonpath_ast::CompareOp;
using jsonpath_ast::Expr;
using jsonpath_ast::Function;
using jsonpath_ast::Operand;
using jsonpath_ast::Path;
using jsonpath_ast::Step;
using jsonpath_ast::Subscript;

// Called with each match; returns false to stop the walk.
using Visit = std::function<bool(const json&)>;

// Byte offsets of each code point of a UTF-8 string, and its size last:
// jsonpath2's functions index Python strings, by code point.
std::vector<size_t> CodePoints(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}

// Python's s[a:b] bounds for a sequence of n.
int64_t SliceBound(int64_t i, int64_t n) {
  if (i < 0) i = std::max<int64_t>(i + n, 0);
  return std::min(i, n);
}

bool TestPair(CompareOp op, const json& l, const json& r) {
  if (op == CompareOp::kEq) return PythonEquals(l, r);
  if (op == CompareOp::kNe) return !PythonEquals(l, r);
  if (!IsPythonNumber(l) || !IsPythonNumber(r)) return false;
  int c = CompareNumbers(l, r);
  if (c == 2) return false;
  switch (op) {
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    default:
      return c >= 0;
  }
}

class Evaluator {
 public:
  explicit Evaluator(const json& root) : root_(root) {}

  // false when the visitor stopped the walk or an error occurred (status()).
  bool Run(const Path& path, const json& current, const Visit& visit) {
    return Steps(path.steps, 0, path.from_root ? root_ : current, visit);
  }

  const Status& status() const { return status_; }

 private:
  class Depth {
   public:
    explicit Depth(Evaluator* e) : e_(e) { ++e_->depth_; }
    ~Depth() { --e_->depth_; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;
    bool ok() const { return e_->depth_ <= kMaxJsonPathDepth || e_->Fail(kTooDeep); }

   private:
    Evaluator* e_;
  };
  static constexpr std::string_view kTooDeep =
      "the value is nested too deeply to evaluate this JSONPath on it";

  bool Fail(std::string_view message) {
    if (status_.ok()) status_ = Status::InvalidArgument(std::string(message));
    return false;
  }

  bool Steps(const std::vector<Step>& steps, size_t i, const json& current, const Visit& visit) {
    Depth depth(this);
    if (!depth.ok()) return false;
    if (i == steps.size()) return visit(current);
    Visit next = [&](const json& v) { return Steps(steps, i + 1, v, visit); };
    if (steps[i].descent) return Descend(steps[i].subscripts, current, next);
    for (const Subscript& s : steps[i].subscripts) {
      if (!Apply(s, current, next)) return false;
    }
    return true;
  }

  // The subscripts here, then the same below each child, in pre-order.
  bool Descend(const std::vector<Subscript>& subscripts, const json& current, const Visit& next) {
    Depth depth(this);
    if (!depth.ok()) return false;
    for (const Subscript& s : subscripts) {
      if (!Apply(s, current, next)) return false;
    }
    if (!current.is_structured()) return true;
    for (const json& child : current) {
      if (!Descend(subscripts, child, next)) return false;
    }
    return true;
  }

  static bool Key(const json& current, const std::string& key, const Visit& visit) {
    if (!current.is_object()) return true;
    auto it = current.find(key);
    return it == current.end() || visit(*it);
  }

  static bool Index(const json& current, int64_t index, const Visit& visit) {
    if (!current.is_array()) return true;
    auto n = static_cast<int64_t>(current.size());
    if (index < 0) index += n;
    return index < 0 || index >= n || visit(current[static_cast<size_t>(index)]);
  }

  bool Apply(const Subscript& s, const json& current, const Visit& visit) {
    switch (s.kind) {
      case Subscript::Kind::kKey:
        return Key(current, s.key, visit);
      case Subscript::Kind::kIndex:
        return Index(current, s.index, visit);
      case Subscript::Kind::kSlice:
        return Slice(s, current, visit);
      case Subscript::Kind::kWildcard:
        if (!current.is_structured()) return true;
        for (const json& child : current) {
          if (!visit(child)) return false;
        }
        return true;
      case Subscript::Kind::kFilter: {
        bool holds = Holds(*s.filter, current);
        if (!status_.ok()) return false;
        return !holds || visit(current);
      }
      case Subscript::Kind::kNode:
        return Run(*s.node, current, [&](const json& m) {
          if (auto i = PythonInt(m)) return Index(current, *i, visit);
          if (m.is_string()) return Key(current, m.get_ref<const std::string&>(), visit);
          return true;
        });
      case Subscript::Kind::kCall:
        return Call(s, current, visit);
    }
    return true;
  }

  // jsonpath2's slice: a negative start counts from the end but never
  // below 0, a negative end counts from the end, an absent start is 0 even
  // for a negative step; each index of range(start, end, step) is then an
  // index subscript (negative ones from the end again). Indices that select
  // nothing are skipped without being enumerated.
  bool Slice(const Subscript& s, const json& current, const Visit& visit) {
    if (!current.is_array()) return true;
    auto n = static_cast<int64_t>(current.size());
    int64_t step = s.step.value_or(1);
    if (step == 0)
      return Fail("JSONPath slice step cannot be zero (range() arg 3 must not be zero)");
    int64_t start = 0;
    if (s.start) start = *s.start >= 0 ? *s.start : (-*s.start < n ? *s.start + n : 0);
    int64_t end = s.end ? (*s.end < 0 ? *s.end + n : *s.end) : n;
    if (step > 0) {
      for (int64_t k = start; k < std::min(end, n); k += step) {
        if (!Index(current, k, visit)) return false;
      }
      return true;
    }
    if (start >= n) start -= ((start - (n - 1)) + (-step) - 1) / (-step) * (-step);
    for (int64_t k = start; k > std::max(end, -n - 1); k += step) {
      if (!Index(current, k, visit)) return false;
    }
    return true;
  }

  bool Call(const Subscript& s, const json& current, const Visit& visit) {
    // itertools.product over each argument's values, the last varying
    // fastest.
    std::vector<std::vector<json>> values;
    for (const Operand& arg : s.args) {
      std::vector<json>& v = values.emplace_back();
      if (!arg.path) {
        v.push_back(arg.value);
        continue;
      }
      Run(*arg.path, current, [&](const json& m) {
        v.push_back(m);
        return true;
      });
      if (!status_.ok()) return false;
      if (v.empty()) return true;
    }
    std::vector<size_t> at(values.size(), 0);
    while (true) {
      std::vector<const json*> args;
      for (size_t i = 0; i < values.size(); ++i) args.push_back(&values[i][at[i]]);
      if (!CallOnce(s.function, args, current, visit)) return false;
      size_t i = values.size();
      while (i > 0 && ++at[i - 1] == values[i - 1].size()) at[--i] = 0;
      if (i == 0) return true;
    }
  }

  static bool CallOnce(Function f, const std::vector<const json*>& args, const json& current,
                       const Visit& visit) {
    if (f == Function::kCharAt || f == Function::kSubstring) {
      return StringCall(f, args, current, visit);
    }
    if (!args.empty()) return true;
    if (f == Function::kLength) {
      if (current.is_array()) return visit(json(current.size()));
      if (current.is_string()) {
        return visit(json(CodePoints(current.get_ref<const std::string&>()).size() - 1));
      }
      return true;
    }
    if (!current.is_structured()) return true;
    if (f == Function::kValues && current.is_array()) return visit(current);
    json out = json::array();
    size_t i = 0;
    for (const auto& [key, value] : current.items()) {
      json k = current.is_array() ? json(i++) : json(key);
      if (f == Function::kKeys) out.push_back(k);
      if (f == Function::kValues) out.push_back(value);
      if (f == Function::kEntries) out.push_back(json::array({k, value}));
    }
    return visit(out);
  }

  static bool StringCall(Function f, const std::vector<const json*>& args, const json& current,
                         const Visit& visit) {
    if (!current.is_string() || args.empty() || args.size() > 2) return true;
    std::optional<int64_t> a = PythonInt(*args[0]);
    std::optional<int64_t> b = args.size() == 2 ? PythonInt(*args[1]) : std::nullopt;
    if (!a || (args.size() == 2 && !b)) return true;
    const auto& s = current.get_ref<const std::string&>();
    std::vector<size_t> cp = CodePoints(s);
    auto n = static_cast<int64_t>(cp.size() - 1);
    if (f == Function::kCharAt) {
      if (args.size() != 1) return true;
      int64_t i = *a < 0 ? *a + n : *a;
      if (i < 0 || i >= n) return true;
      auto u = static_cast<size_t>(i);
      return visit(json(s.substr(cp[u], cp[u + 1] - cp[u])));
    }
    auto from = static_cast<size_t>(SliceBound(*a, n));
    auto to = static_cast<size_t>(b ? SliceBound(*b, n) : n);
    if (from >= to) return visit(json(""));
    return visit(json(s.substr(cp[from], cp[to] - cp[from])));
  }

  // Whether the filter holds for `current`; check status() after.
  bool Holds(const Expr& e, const json& current) {
    switch (e.kind) {
      case Expr::Kind::kAnd:
        for (const Expr& c : e.children) {
          if (!Holds(c, current)) return false;
        }
        return true;
      case Expr::Kind::kOr:
        for (const Expr& c : e.children) {
          if (Holds(c, current)) return true;
          if (!status_.ok()) return false;
        }
        return false;
      case Expr::Kind::kNot:
        return !Holds(e.children[0], current) && status_.ok();
      case Expr::Kind::kSome:
        return Some(e.left, current);
      case Expr::Kind::kCompare:
        return Compare(e, current);
    }
    return false;
  }

  bool Some(const Operand& operand, const json& current) {
    if (!operand.path) return PythonTruthy(operand.value);
    bool found = false;
    Run(*operand.path, current, [&](const json&) {
      found = true;
      return false;
    });
    return found;
  }

  // any(op(l, r) for l in left for r in right): when right is a path, it
  // is a generator, exhausted by the first l, so the later ones meet no r
  // (but are still enumerated).
  bool Compare(const Expr& e, const json& current) {
    bool found = false;
    bool first = true;
    Visit against_right = [&](const json& l) {
      if (!e.right.path) {
        found = TestPair(e.op, l, e.right.value);
        return !found;
      }
      if (!first) return true;
      first = false;
      Run(*e.right.path, current, [&](const json& r) {
        found = TestPair(e.op, l, r);
        return !found;
      });
      return !found && status_.ok();
    };
    if (e.left.path) {
      Run(*e.left.path, current, against_right);
    } else {
      against_right(e.left.value);
    }
    return found && status_.ok();
  }

  const json& root_;
  Status status_;
  int depth_ = 0;
};

}  // namespace

JsonPath::JsonPath(std::unique_ptr<Node> root) : root_(std::move(root)) {}
JsonPath::JsonPath(JsonPath&&) noexcept = default;
JsonPath& JsonPath::operator=(JsonPath&&) noexcept = default;
JsonPath::~JsonPath() = default;

Result<JsonPath> JsonPath::Parse(std::string_view expression) {
  auto path = jsonpath_ast::ParsePath(expression);
  if (!path.ok()) return path.status();
  auto node = std::make_unique<Node>();
  node->path = std::move(path).value();
  return JsonPath(std::move(node));
}

Result<std::vector<json>> JsonPath::Evaluate(const json& value) const {
  std::vector<json> matches;
  Evaluator evaluator(value);
  evaluator.Run(*root_->path, value, [&](const json& m) {
    matches.push_back(m);
    return true;
  });
  if (!evaluator.status().ok()) return evaluator.status();
  return matches;
}

std::vector<json> JsonPath::Match(const json& value) const {
  auto matches = Evaluate(value);
  return matches.ok() ? std::move(matches).value() : std::vector<json>{};
}

}  // namespace faultline::experiment
