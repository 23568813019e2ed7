// Compatibility readers; see include/faultline/compat.h and docs/compat.md.
//
// The JSON readers share one shape:
//
//   text --nlohmann::json::parse--> Json --Read*--> RuleSet --ValidateRules--> result
//     \--JsonLocator (byte offset of each value, for line:column in errors)
//
// nlohmann 3.11 does not report where a value sits, so JsonLocator re-scans
// the text (already known to be valid JSON) and records the offset of every
// value by path ("latency.match[0].path"). Positions are best-effort: when a
// path cannot be found the error simply has no line:column.

#include "faultline/compat.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

extern char** environ;  // NOLINT: POSIX declares it nowhere in C++ headers

namespace faultline {
namespace {

using Json = nlohmann::json;

// A day: longer waits are certainly typos, and bounding them keeps every
// conversion below well defined.
constexpr double kMaxLatencyMs = 86'400'000;
constexpr std::int64_t kMaxDiskSpaceMb = 10'240;  // Lambda's largest /tmp
constexpr std::string_view kInjectedErrorType = "Function.InjectedFault";

// ---------------------------------------------------------------------------
// Text helpers

struct LineCol {
  std::size_t line = 1;
  std::size_t col = 1;
};

// 1-based line and byte column of `offset` in `text`.
LineCol PositionOf(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  LineCol pos;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      line_start = i + 1;
    }
  }
  pos.col = offset - line_start + 1;
  return pos;
}

// `s` as a JSON string literal, cut to a readable length.
std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 60;
  bool cut = s.size() > kMax;
  std::string out =
      Json(std::string(s.substr(0, kMax))).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (cut) out.insert(out.size() - 1, "...");
  return out;
}

// What a JSON value was, for "got ..." in errors.
std::string Describe(const Json* v) {
  if (v == nullptr) return "nothing";
  if (v->is_string()) return Quote(v->get_ref<const std::string&>());
  std::string s = v->dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 60) + "...";
  return s;
}

using Names = std::vector<std::string_view>;

std::string JoinNames(const Names& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool Contains(const Names& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// "12", "12.5" (no sign, exponent, inf or nan).
std::optional<double> ParsePlainNumber(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return std::nullopt;
  if (std::count(s.begin(), s.end(), '.') > 1) return std::nullopt;
  for (char c : s) {
    if (c != '.' && (c < '0' || c > '9')) return std::nullopt;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Digits only, fits in uint64.
std::optional<std::uint64_t> ParseUnsigned(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

// ---------------------------------------------------------------------------
// JsonLocator: byte offset of each value in a valid JSON text, by path.

class JsonLocator {
 public:
  explicit JsonLocator(std::string_view text) : text_(text) {
    std::size_t i = 0;
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // nlohmann skips a BOM too
    Scan(i, "", 0);
  }

  // The offset of the value at `path`.
  std::optional<std::size_t> Find(const std::string& path) const { return Lookup(offsets_, path); }
  // The offset of the key of the member at `path`.
  std::optional<std::size_t> FindKey(const std::string& path) const {
    return Lookup(key_offsets_, path);
  }

 private:
  static constexpr int kMaxDepth = 8;  // deeper values are skipped, not indexed
  static constexpr std::size_t kEnd = std::string_view::npos;

  static std::optional<std::size_t> Lookup(const std::map<std::string, std::size_t>& m,
                                           const std::string& path) {
    auto it = m.find(path);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }

  std::size_t SkipWs(std::size_t i) const {
    while (i < text_.size() && IsSpace(text_[i])) ++i;
    return i;
  }

  // i at '"'; returns the index after the closing quote.
  std::size_t SkipString(std::size_t i) const {
    for (++i; i < text_.size(); ++i) {
      if (text_[i] == '\\') {
        ++i;
      } else if (text_[i] == '"') {
        return i + 1;
      }
    }
    return kEnd;
  }

  // i at '{' or '['; skips the whole value without recursion.
  std::size_t SkipNested(std::size_t i) const {
    int depth = 0;
    while (i < text_.size()) {
      char c = text_[i];
      if (c == '"') {
        i = SkipString(i);
        if (i == kEnd) return kEnd;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return kEnd;
  }

  std::size_t SkipScalar(std::size_t i) const {
    while (i < text_.size() && !IsSpace(text_[i]) && text_[i] != ',' && text_[i] != ']' &&
           text_[i] != '}') {
      ++i;
    }
    return i;
  }

  // The decoded key of the string at i (simple escapes only; \u stays raw,
  // so such keys just have no position).
  std::string Key(std::size_t begin, std::size_t end) const {
    std::string key;
    for (std::size_t i = begin + 1; i + 1 < end; ++i) {
      char c = text_[i];
      if (c == '\\' && i + 2 < end) {
        char e = text_[++i];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'u':
            key += '\\';
            c = 'u';
            break;
          default:
            c = e;
        }
      }
      key += c;
    }
    return key;
  }

  std::size_t Scan(std::size_t i, const std::string& path, int depth) {
    i = SkipWs(i);
    if (i >= text_.size()) return kEnd;
    offsets_[path] = i;
    char c = text_[i];
    if (c == '"') return SkipString(i);
    if (c != '{' && c != '[') return SkipScalar(i);
    if (depth >= kMaxDepth) return SkipNested(i);
    return c == '{' ? ScanObject(i, path, depth) : ScanArray(i, path, depth);
  }

  std::size_t ScanObject(std::size_t i, const std::string& path, int depth) {
    i = SkipWs(i + 1);
    if (i < text_.size() && text_[i] == '}') return i + 1;
    while (i < text_.size() && text_[i] == '"') {
      std::size_t key_end = SkipString(i);
      if (key_end == kEnd) return kEnd;
      std::string child = JoinPath(path, Key(i, key_end));
      key_offsets_[child] = i;
      i = SkipWs(key_end);
      if (i >= text_.size() || text_[i] != ':') return kEnd;
      i = Scan(i + 1, child, depth + 1);
      i = SkipWs(i == kEnd ? text_.size() : i);
      if (i >= text_.size()) return kEnd;
      if (text_[i] == '}') return i + 1;
      if (text_[i] != ',') return kEnd;
      i = SkipWs(i + 1);
    }
    return kEnd;
  }

  std::size_t ScanArray(std::size_t i, const std::string& path, int depth) {
    i = SkipWs(i + 1);
    if (i < text_.size() && text_[i] == ']') return i + 1;
    for (std::size_t index = 0; i < text_.size(); ++index) {
      i = Scan(i, fmt::format("{}[{}]", path, index), depth + 1);
      i = SkipWs(i == kEnd ? text_.size() : i);
      if (i >= text_.size()) return kEnd;
      if (text_[i] == ']') return i + 1;
      if (text_[i] != ',') return kEnd;
      ++i;
    }
    return kEnd;
  }

  std::string_view text_;
  std::map<std::string, std::size_t> offsets_;
  std::map<std::string, std::size_t> key_offsets_;
};

// ---------------------------------------------------------------------------
// JsonDoc: a parsed document, its source name and positions, and typed field
// readers that turn every mismatch into "source:line:col: path: expected X,
// got Y".

class JsonDoc {
 public:
  JsonDoc(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  // Parses the text; the root must be an object.
  Status Parse() {
    try {
      root_ = Json::parse(text_.begin(), text_.end());
    } catch (const Json::parse_error& e) {
      std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
      LineCol pos = PositionOf(text_, offset);
      return Status::InvalidArgument(
          fmt::format("{}:{}:{}: expected JSON: {}", source_, pos.line, pos.col, Detail(e.what())));
    } catch (const std::exception& e) {
      return Status::InvalidArgument(
          fmt::format("{}: expected JSON: {}", source_, Detail(e.what())));
    }
    locator_.emplace(text_);
    if (!root_.is_object()) return Error("", "expected a JSON object", &root_);
    return Status::Ok();
  }

  const Json& root() const { return root_; }

  // "source:line:col: path: what, got <got>"
  Status Error(const std::string& path, std::string_view what, const Json* got) const {
    return ErrorAt(path, fmt::format("{}, got {}", what, Describe(got)));
  }
  // at_key: point at the member's key rather than its value.
  Status ErrorAt(const std::string& path, std::string_view message, bool at_key = false) const {
    std::string where(source_);
    std::optional<std::size_t> offset = at_key && locator_ ? locator_->FindKey(path) : std::nullopt;
    if (!offset) offset = Locate(path);
    if (offset) {
      LineCol pos = PositionOf(text_, *offset);
      where += fmt::format(":{}:{}", pos.line, pos.col);
    }
    if (path.empty()) return Status::InvalidArgument(fmt::format("{}: {}", where, message));
    return Status::InvalidArgument(fmt::format("{}: {}: {}", where, path, message));
  }

 private:
  // The offset of `path`, or of its nearest located parent (so that a missing
  // field points at the object that lacks it).
  std::optional<std::size_t> Locate(std::string path) const {
    if (!locator_) return std::nullopt;
    while (true) {
      if (auto offset = locator_->Find(path)) return offset;
      if (path.empty()) return std::nullopt;
      std::size_t cut = path.find_last_of(".[");
      path = cut == std::string::npos ? "" : path.substr(0, cut);
    }
  }

  // nlohmann's message without its "[json.exception...] parse error at line
  // L, column C: " prefix (we print our own position).
  static std::string Detail(std::string_view what) {
    std::size_t column = what.find("column ");
    std::size_t colon = what.find(": ", column == std::string_view::npos ? 0 : column);
    if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
    std::size_t bracket = what.find("] ");
    if (bracket != std::string_view::npos) return std::string(what.substr(bracket + 2));
    return std::string(what);
  }

  std::string_view text_;
  std::string_view source_;
  Json root_;
  std::optional<JsonLocator> locator_;
};

// Typed access to the members of one JSON object at `path`.
class Fields {
 public:
  Fields(const JsonDoc& doc, const Json& object, std::string path)
      : doc_(doc), object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }
  const Json* Get(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  bool Has(std::string_view key) const { return Get(key) != nullptr; }

  Status Error(std::string_view key, std::string_view what) const {
    return doc_.Error(PathOf(key), what, Get(key));
  }

  // Every member must be one of `known`.
  Status CheckKeys(const Names& known) const {
    for (const auto& [key, value] : object_.items()) {
      if (!Contains(known, key)) {
        return doc_.ErrorAt(PathOf(key),
                            fmt::format("unknown field; expected one of {}", JoinNames(known)),
                            /*at_key=*/true);
      }
    }
    return Status::Ok();
  }

  Status Bool(std::string_view key, std::optional<bool>* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return Error(key, "expected true or false");
    *out = v->get<bool>();
    return Status::Ok();
  }

  Status String(std::string_view key, std::optional<std::string>* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return Error(key, "expected a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }

  Status Number(std::string_view key, double lo, double hi, std::optional<double>* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    double d = v->is_number() ? v->get<double>() : std::nan("");
    if (!(d >= lo && d <= hi)) {
      return Error(key, fmt::format("expected a number in [{}, {}]", lo, hi));
    }
    *out = d;
    return Status::Ok();
  }

  // An integer; 404.0 counts, 404.5 does not.
  Status Integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                 std::optional<std::int64_t>* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    double d = v->is_number() ? v->get<double>() : std::nan("");
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) {
      return Error(key, fmt::format("expected an integer in [{}, {}]", lo, hi));
    }
    *out = static_cast<std::int64_t>(d);
    return Status::Ok();
  }

  Status StringArray(std::string_view key, std::optional<std::vector<std::string>>* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return Error(key, "expected an array of strings");
    std::vector<std::string> items;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const Json& item = (*v)[i];
      if (!item.is_string()) {
        return doc_.Error(fmt::format("{}[{}]", PathOf(key), i), "expected a string", &item);
      }
      items.push_back(item.get<std::string>());
    }
    *out = std::move(items);
    return Status::Ok();
  }

  // Errors for a field a rule needs but the input lacks.
  Status Missing(std::string_view key, std::string_view what) const {
    return doc_.Error(PathOf(key), what, nullptr);
  }

 private:
  const JsonDoc& doc_;
  const Json& object_;
  std::string path_;
};

#define FAULTLINE_RETURN_IF_ERROR(expr) \
  do {                                  \
    Status _st = (expr);                \
    if (!_st.ok()) return _st;          \
  } while (0)

// Runs a reader body, turning any escaped exception into a Status: the
// adapter boundary of STYLE.md.
template <typename F>
Result<RuleSet> Guarded(std::string_view source, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", source, e.what()));
  } catch (...) {
    return Status::Internal(fmt::format("{}: unknown exception", source));
  }
}

Result<RuleSet> Validated(RuleSet rules, std::string_view source) {
  Status st = ValidateRules(rules, source);
  if (!st.ok()) return st;
  return rules;
}

Rule NewRule(std::string name, std::string_view target, Action action) {
  Rule r;
  r.name = std::move(name);
  r.target = std::string(target);
  r.action = action;
  return r;
}

// ---------------------------------------------------------------------------
// failure-lambda

// 1.x evaluates its flags in this order (src/types.ts FAILURE_MODE_ORDER);
// the engine takes rules in order too.
const Names kFlagModes = {"latency",    "timeout",   "diskspace", "denylist",
                          "statuscode", "exception", "corruption"};
const Names kClassicModes = {"latency", "exception", "statuscode", "diskspace", "denylist"};
constexpr std::string_view kDefaultExceptionMsg = "Injected exception";  // failure-lambda 1.x

// The mode-specific parameters of both formats, under their own key names.
struct ModeKeys {
  std::string_view min_latency, max_latency, exception_msg, status_code, disk_space, deny_list;
};
constexpr ModeKeys kClassicKeys = {"minLatency", "maxLatency", "exceptionMsg",
                                   "statusCode", "diskSpace",  "denylist"};
constexpr ModeKeys kFlagKeys = {"min_latency", "max_latency", "exception_msg",
                                "status_code", "disk_space",  "deny_list"};

Status ReadLatency(const Fields& f, const ModeKeys& k, bool required, Rule* rule) {
  std::optional<double> lo, hi;
  FAULTLINE_RETURN_IF_ERROR(f.Number(k.min_latency, 0, kMaxLatencyMs, &lo));
  FAULTLINE_RETURN_IF_ERROR(f.Number(k.max_latency, 0, kMaxLatencyMs, &hi));
  if (required && !lo) return f.Missing(k.min_latency, "expected a number of milliseconds");
  if (required && !hi) return f.Missing(k.max_latency, "expected a number of milliseconds");
  if (lo.value_or(0) > hi.value_or(0)) {
    return f.Error(k.max_latency,
                   fmt::format("expected a number >= {} ({})", k.min_latency, lo.value_or(0)));
  }
  rule->latency.shape = LatencySpec::Shape::kUniform;
  rule->latency.min_ms = lo.value_or(0);
  rule->latency.max_ms = hi.value_or(0);
  return Status::Ok();
}

Status ReadException(const Fields& f, const ModeKeys& k, Rule* rule) {
  std::optional<std::string> msg;
  FAULTLINE_RETURN_IF_ERROR(f.String(k.exception_msg, &msg));
  rule->error.type = std::string(kInjectedErrorType);
  rule->error.message = msg.value_or(std::string(kDefaultExceptionMsg));
  return Status::Ok();
}

Status ReadStatusCode(const Fields& f, const ModeKeys& k, bool required, Rule* rule) {
  std::optional<std::int64_t> code;
  FAULTLINE_RETURN_IF_ERROR(f.Integer(k.status_code, 100, 599, &code));
  if (required && !code) return f.Missing(k.status_code, "expected an integer in [100, 599]");
  rule->response.code = static_cast<int>(code.value_or(500));
  return Status::Ok();
}

Status ReadDiskSpace(const Fields& f, const ModeKeys& k, bool required, Rule* rule) {
  std::optional<std::int64_t> mb;
  FAULTLINE_RETURN_IF_ERROR(f.Integer(k.disk_space, 1, kMaxDiskSpaceMb, &mb));
  if (required && !mb) {
    return f.Missing(k.disk_space, fmt::format("expected an integer in [1, {}]", kMaxDiskSpaceMb));
  }
  rule->diskspace_mb = static_cast<std::uint64_t>(mb.value_or(100));
  return Status::Ok();
}

Status ReadDenylist(const Fields& f, const ModeKeys& k, bool enabled, Rule* rule) {
  std::optional<std::vector<std::string>> hosts;
  FAULTLINE_RETURN_IF_ERROR(f.StringArray(k.deny_list, &hosts));
  if (enabled && (!hosts || hosts->empty())) {
    return f.Error(k.deny_list, "expected a non-empty array of host regexes");
  }
  rule->denylist = hosts.value_or(std::vector<std::string>{});
  return Status::Ok();
}

// Reads the parameters of `mode` into `rule`. `required`: whether the
// parameters without a failure-lambda default must be present.
Status ReadModeParams(const Fields& f, const ModeKeys& k, std::string_view mode, bool required,
                      bool enabled, Rule* rule) {
  if (mode == "latency") return ReadLatency(f, k, required, rule);
  if (mode == "exception") return ReadException(f, k, rule);
  if (mode == "statuscode") return ReadStatusCode(f, k, required, rule);
  if (mode == "diskspace") return ReadDiskSpace(f, k, required, rule);
  if (mode == "denylist") return ReadDenylist(f, k, enabled, rule);
  if (mode == "timeout") {
    std::optional<double> buffer;
    FAULTLINE_RETURN_IF_ERROR(f.Number("timeout_buffer_ms", 0, kMaxLatencyMs, &buffer));
    rule->timeout_buffer_ms = buffer.value_or(0);
    return Status::Ok();
  }
  // corruption: failure-lambda mangles the body when none is given; faultline
  // can only replace it.
  std::optional<std::string> body;
  FAULTLINE_RETURN_IF_ERROR(f.String("body", &body));
  if (enabled && !body) {
    return f.Missing("body", "expected the replacement body (faultline cannot mangle a body)");
  }
  rule->response.body = body.value_or("");
  return Status::Ok();
}

// A disabled denylist mode without patterns ({"enabled": false}) has nothing
// to say, and a rule with an empty denylist is invalid: it yields no rule.
bool IsEmptyDenylist(const Rule& rule) {
  return rule.action == Action::kDenylist && rule.denylist.empty();
}

Action ActionOfMode(std::string_view mode) {
  if (mode == "latency") return Action::kLatency;
  if (mode == "exception") return Action::kError;
  if (mode == "statuscode") return Action::kStatus;
  if (mode == "diskspace") return Action::kDiskSpace;
  if (mode == "denylist") return Action::kDenylist;
  if (mode == "timeout") return Action::kTimeout;
  return Action::kBody;  // corruption
}

Result<RuleSet> ReadFailureLambdaClassic(const JsonDoc& doc, std::string_view target) {
  Fields f(doc, doc.root(), "");
  FAULTLINE_RETURN_IF_ERROR(
      f.CheckKeys({"isEnabled", "failureMode", "rate", "minLatency", "maxLatency", "exceptionMsg",
                   "statusCode", "diskSpace", "denylist"}));
  std::optional<bool> enabled;
  std::optional<std::string> mode;
  std::optional<double> rate;
  FAULTLINE_RETURN_IF_ERROR(f.Bool("isEnabled", &enabled));
  FAULTLINE_RETURN_IF_ERROR(f.String("failureMode", &mode));
  if (!mode || !Contains(kClassicModes, *mode)) {
    std::string hint = mode && Contains(kFlagModes, *mode)
                           ? " (timeout and corruption exist only in the failure-lambda 1.x "
                             "per-flag format)"
                           : "";
    return f.Error("failureMode",
                   fmt::format("expected one of {}{}", JoinNames(kClassicModes), hint));
  }
  FAULTLINE_RETURN_IF_ERROR(f.Number("rate", 0, 1, &rate));
  // failure-lambda 0.x injects when Math.random() < rate: without a rate it
  // never does. Say so rather than guess.
  if (enabled.value_or(false) && !rate) {
    return f.Missing("rate",
                     "expected a number in [0, 1] (failure-lambda 0.x never injects "
                     "without it)");
  }
  Rule rule = NewRule("failure-lambda-" + *mode, target, ActionOfMode(*mode));
  rule.enabled = enabled.value_or(false);
  rule.probability = rate.value_or(0);
  FAULTLINE_RETURN_IF_ERROR(
      ReadModeParams(f, kClassicKeys, *mode, rule.enabled, rule.enabled, &rule));
  RuleSet rules;
  if (!IsEmptyDenylist(rule)) rules.rules.push_back(std::move(rule));
  return rules;
}

// `match` conditions -> tags "event.<path>" = value (eq only).
Status ReadMatch(const JsonDoc& doc, const Fields& flag, Rule* rule) {
  const Json* match = flag.Get("match");
  if (match == nullptr) return Status::Ok();
  if (!match->is_array()) return flag.Error("match", "expected an array of match conditions");
  for (std::size_t i = 0; i < match->size(); ++i) {
    const Json& cond = (*match)[i];
    std::string path = fmt::format("{}[{}]", flag.PathOf("match"), i);
    if (!cond.is_object()) return doc.Error(path, "expected an object", &cond);
    Fields c(doc, cond, path);
    FAULTLINE_RETURN_IF_ERROR(c.CheckKeys({"path", "value", "operator"}));
    std::optional<std::string> event_path, value, op;
    FAULTLINE_RETURN_IF_ERROR(c.String("path", &event_path));
    FAULTLINE_RETURN_IF_ERROR(c.String("value", &value));
    FAULTLINE_RETURN_IF_ERROR(c.String("operator", &op));
    if (op && *op != "eq") {
      return c.Error("operator",
                     "expected \"eq\" (faultline matches tags by equality; exists, "
                     "startsWith and regex have no equivalent)");
    }
    if (!event_path || event_path->empty()) return c.Error("path", "expected an event path");
    if (!value) return c.Missing("value", "expected a string");
    std::string tag = "event." + *event_path;
    auto [it, inserted] = rule->tags.emplace(tag, *value);
    if (!inserted && it->second != *value) {
      return c.Error("value", fmt::format("expected {} (an earlier condition on the same path "
                                          "can never match together with this one)",
                                          Quote(it->second)));
    }
  }
  return Status::Ok();
}

// The keys a 1.x flag of `mode` may have.
Names FlagKeys(std::string_view mode) {
  Names keys = {"enabled", "percentage", "rate", "match"};
  const ModeKeys& k = kFlagKeys;
  if (mode == "latency") {
    keys.insert(keys.end(), {k.min_latency, k.max_latency});
  } else if (mode == "exception") {
    keys.push_back(k.exception_msg);
  } else if (mode == "statuscode") {
    keys.push_back(k.status_code);
  } else if (mode == "diskspace") {
    keys.push_back(k.disk_space);
  } else if (mode == "denylist") {
    keys.push_back(k.deny_list);
  } else if (mode == "timeout") {
    keys.push_back("timeout_buffer_ms");
  } else {
    keys.push_back("body");
  }
  return keys;
}

// percentage (0-100, failure-lambda 1.0) or rate (0-1, its pre-releases).
Status ReadFlagProbability(const Fields& f, double* probability) {
  std::optional<std::int64_t> percentage;
  std::optional<double> rate;
  FAULTLINE_RETURN_IF_ERROR(f.Integer("percentage", 0, 100, &percentage));
  FAULTLINE_RETURN_IF_ERROR(f.Number("rate", 0, 1, &rate));
  if (percentage && rate) return f.Error("rate", "expected percentage or rate, not both");
  *probability = percentage ? static_cast<double>(*percentage) / 100 : rate.value_or(1);
  return Status::Ok();
}

Result<Rule> ReadFlag(const JsonDoc& doc, std::string_view mode, const Json& value,
                      std::string_view target) {
  std::string path(mode);
  if (!value.is_object()) return doc.Error(path, "expected an object", &value);
  Fields f(doc, value, path);
  FAULTLINE_RETURN_IF_ERROR(f.CheckKeys(FlagKeys(mode)));
  std::optional<bool> enabled;
  FAULTLINE_RETURN_IF_ERROR(f.Bool("enabled", &enabled));
  if (!enabled) return f.Missing("enabled", "expected true or false");
  Rule rule = NewRule("failure-lambda-" + path, target, ActionOfMode(mode));
  rule.enabled = *enabled;
  FAULTLINE_RETURN_IF_ERROR(ReadFlagProbability(f, &rule.probability));
  // 1.x gives every parameter a default, so none is required.
  FAULTLINE_RETURN_IF_ERROR(ReadModeParams(f, kFlagKeys, mode, false, rule.enabled, &rule));
  FAULTLINE_RETURN_IF_ERROR(ReadMatch(doc, f, &rule));
  return rule;
}

Result<RuleSet> ReadFailureLambdaFlags(const JsonDoc& doc, std::string_view target) {
  Fields f(doc, doc.root(), "");
  FAULTLINE_RETURN_IF_ERROR(f.CheckKeys(kFlagModes));
  RuleSet rules;
  for (std::string_view mode : kFlagModes) {
    const Json* value = f.Get(mode);
    if (value == nullptr) continue;
    Result<Rule> rule = ReadFlag(doc, mode, *value, target);
    if (!rule.ok()) return rule.status();
    if (!IsEmptyDenylist(*rule)) rules.rules.push_back(std::move(rule).value());
  }
  return rules;
}

// ---------------------------------------------------------------------------
// chaos_lambda

const Names kChaosLambdaFaults = {"latency", "exception", "status_code"};

Status ReadChaosLambdaParams(const Fields& f, std::string_view fault, Rule* rule) {
  bool required = rule->enabled;
  if (fault == "latency") {
    std::optional<std::int64_t> delay;
    FAULTLINE_RETURN_IF_ERROR(
        f.Integer("delay", 0, static_cast<std::int64_t>(kMaxLatencyMs), &delay));
    if (required && !delay) return f.Missing("delay", "expected an integer number of ms");
    rule->latency.ms = static_cast<double>(delay.value_or(0));
    return Status::Ok();
  }
  if (fault == "exception") {
    std::optional<std::string> msg;
    FAULTLINE_RETURN_IF_ERROR(f.String("exception_msg", &msg));
    if (required && !msg) return f.Missing("exception_msg", "expected a string");
    rule->error.type = std::string(kInjectedErrorType);
    if (msg) rule->error.message = *msg;
    return Status::Ok();
  }
  std::optional<std::int64_t> code;
  FAULTLINE_RETURN_IF_ERROR(f.Integer("error_code", 100, 599, &code));
  if (required && !code) return f.Missing("error_code", "expected an integer in [100, 599]");
  rule->response.code = static_cast<int>(code.value_or(500));
  return Status::Ok();
}

Result<RuleSet> ReadChaosLambdaDoc(const JsonDoc& doc, std::string_view target) {
  Fields f(doc, doc.root(), "");
  FAULTLINE_RETURN_IF_ERROR(f.CheckKeys(
      {"is_enabled", "isEnabled", "fault_type", "delay", "error_code", "exception_msg", "rate"}));
  // chaos_lambda < 0.3 spelled it isEnabled.
  std::optional<bool> enabled, enabled_old;
  FAULTLINE_RETURN_IF_ERROR(f.Bool("is_enabled", &enabled));
  FAULTLINE_RETURN_IF_ERROR(f.Bool("isEnabled", &enabled_old));
  if (enabled && enabled_old)
    return f.Error("isEnabled", "expected is_enabled or isEnabled, not both");
  if (!enabled) enabled = enabled_old;
  if (!enabled) return f.Missing("is_enabled", "expected true or false");
  std::optional<std::string> fault;
  FAULTLINE_RETURN_IF_ERROR(f.String("fault_type", &fault));
  if (!fault || !Contains(kChaosLambdaFaults, *fault)) {
    return f.Error("fault_type", fmt::format("expected one of {}", JoinNames(kChaosLambdaFaults)));
  }
  std::optional<double> rate;
  FAULTLINE_RETURN_IF_ERROR(f.Number("rate", 0, 1, &rate));
  Action action = *fault == "latency"     ? Action::kLatency
                  : *fault == "exception" ? Action::kError
                                          : Action::kStatus;
  Rule rule = NewRule("chaos-lambda-" + *fault, target, action);
  rule.enabled = *enabled;
  rule.probability = rate.value_or(1);  // chaos_lambda's documented default
  FAULTLINE_RETURN_IF_ERROR(ReadChaosLambdaParams(f, *fault, &rule));
  RuleSet rules;
  rules.rules.push_back(std::move(rule));
  return rules;
}

// ---------------------------------------------------------------------------
// chaos-lambda-extension (names and defaults from its src/routes.rs, as of
// its latest commit, 2b12cd9 of 2023-11-30)

constexpr std::string_view kExtPrefix = "CHAOS_EXTENSION__";
constexpr std::string_view kExtEnableLatency = "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY";
constexpr std::string_view kExtLatencyValue = "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE";
constexpr std::string_view kExtLatencyProbability = "CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY";
constexpr std::string_view kExtEnableResponse =
    "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY";
// The spelling its code read up to release v0.1.6 (2b12cd9, "Typo in env
// name", made it read the one above): ignored, with a warning.
constexpr std::string_view kExtEnableResponseMisspelled =
    "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY";
constexpr std::string_view kExtResponseProbability =
    "CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY";
constexpr std::string_view kExtDefaultResponse = "CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE";
// serde_json's to_string of its json! default {"statusCode": 500, "body":
// "hello, Chaos!!!"} (since v0.1.6): compact, keys sorted, as its serde_json
// has no preserve_order.
constexpr std::string_view kExtDefaultBody = R"({"body":"hello, Chaos!!!","statusCode":500})";

using Env = std::map<std::string, std::string>;

const std::string* EnvGet(const Env& env, std::string_view name) {
  auto it = env.find(std::string(name));
  return it == env.end() ? nullptr : &it->second;
}

Status EnvError(std::string_view name, std::string_view what, std::string_view got) {
  return Status::InvalidArgument(fmt::format("{}: {}, got {}", name, what, Quote(got)));
}

// "true" / "false", any case (Rust's str_to_bool after to_lowercase).
Status EnvBool(const Env& env, std::string_view name, std::optional<bool>* out) {
  const std::string* v = EnvGet(env, name);
  if (v == nullptr) return Status::Ok();
  std::string lower = *v;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower != "true" && lower != "false") return EnvError(name, "expected true or false", *v);
  *out = lower == "true";
  return Status::Ok();
}

// Rust's f64 parse accepts a leading '+'.
std::string_view StripPlus(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return s;
}

Status EnvProbability(const Env& env, std::string_view name, double* out) {
  const std::string* v = EnvGet(env, name);
  if (v == nullptr) return Status::Ok();
  std::string_view s = StripPlus(*v);
  double d = std::nan("");
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !(d >= 0 && d <= 1)) {
    return EnvError(name, "expected a number in [0, 1]", *v);
  }
  *out = d;
  return Status::Ok();
}

Status EnvSeconds(const Env& env, std::string_view name, double* out_ms) {
  const std::string* v = EnvGet(env, name);
  if (v == nullptr) return Status::Ok();
  std::optional<std::uint64_t> secs = ParseUnsigned(StripPlus(*v));
  if (!secs || static_cast<double>(*secs) * 1000 > kMaxLatencyMs) {
    return EnvError(name,
                    fmt::format("expected whole seconds in [0, {}]",
                                static_cast<std::uint64_t>(kMaxLatencyMs / 1000)),
                    *v);
  }
  *out_ms = static_cast<double>(*secs) * 1000;
  return Status::Ok();
}

Status CheckExtNames(const Env& env) {
  const Names known = {kExtEnableLatency,
                       kExtLatencyValue,
                       kExtLatencyProbability,
                       kExtEnableResponse,
                       kExtEnableResponseMisspelled,
                       kExtResponseProbability,
                       kExtDefaultResponse};
  for (const auto& [name, value] : env) {
    if (name.compare(0, kExtPrefix.size(), kExtPrefix) != 0) continue;
    if (!Contains(known, name)) {
      return Status::InvalidArgument(
          fmt::format("{}: unknown chaos-lambda-extension variable; expected one of {}", name,
                      JoinNames(known)));
    }
  }
  return Status::Ok();
}

bool AnySet(const Env& env, const Names& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return EnvGet(env, n) != nullptr; });
}

Status ReadExtLatency(const Env& env, std::string_view target, RuleSet* rules) {
  if (!AnySet(env, {kExtEnableLatency, kExtLatencyValue, kExtLatencyProbability})) {
    return Status::Ok();
  }
  std::optional<bool> enabled;
  Rule rule = NewRule("chaos-lambda-extension-latency", target, Action::kLatency);
  rule.latency.ms = 900'000;  // its default: 900 s
  rule.probability = 0.9;
  FAULTLINE_RETURN_IF_ERROR(EnvBool(env, kExtEnableLatency, &enabled));
  FAULTLINE_RETURN_IF_ERROR(EnvSeconds(env, kExtLatencyValue, &rule.latency.ms));
  FAULTLINE_RETURN_IF_ERROR(EnvProbability(env, kExtLatencyProbability, &rule.probability));
  rule.enabled = enabled.value_or(false);
  rules->rules.push_back(std::move(rule));
  return Status::Ok();
}

// The old spelling still counts as "the response fault is configured" (so
// a disabled rule shows it), but never enables it.
Status ReadExtResponse(const Env& env, std::string_view target, RuleSet* rules,
                       std::vector<std::string>* warnings) {
  if (!AnySet(env, {kExtEnableResponse, kExtEnableResponseMisspelled, kExtResponseProbability,
                    kExtDefaultResponse})) {
    return Status::Ok();
  }
  std::optional<bool> enabled;
  FAULTLINE_RETURN_IF_ERROR(EnvBool(env, kExtEnableResponse, &enabled));
  if (const std::string* old = EnvGet(env, kExtEnableResponseMisspelled);
      old != nullptr && warnings != nullptr) {
    warnings->push_back(fmt::format(
        "{}={}: ignored: the misspelled name that chaos-lambda-extension read up to v0.1.6; its "
        "current code (and faultline) reads {}{}",
        kExtEnableResponseMisspelled, Quote(*old), kExtEnableResponse,
        enabled ? fmt::format(", which is set ({})", *enabled ? "true" : "false")
                : ", which is not set: the response rule is disabled"));
  }
  Rule rule = NewRule("chaos-lambda-extension-response", target, Action::kBody);
  rule.enabled = enabled.value_or(false);
  rule.probability = 0.9;
  FAULTLINE_RETURN_IF_ERROR(EnvProbability(env, kExtResponseProbability, &rule.probability));
  const std::string* body = EnvGet(env, kExtDefaultResponse);
  // Verbatim, as the extension does. No content_type: a body rule carries
  // the body only (rules.h), and the Runtime API response has none to set.
  rule.response.body = body ? *body : std::string(kExtDefaultBody);
  rules->rules.push_back(std::move(rule));
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The compact failpoint-style form.
//
//   spec  := entry (';' entry)*
//   entry := point '=' term ('->' term)*
//   term  := [P '%'] [N '*'] action ['(' arg ')']
//
// ';', '->' and '=' inside parentheses belong to the argument.

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;  // exclusive
  std::size_t size() const { return end - begin; }
};

struct Term {
  Span span;
  std::string_view action;  // canonical name; "off" too
  Rule rule;                // action and parameters; probability, limit
  bool has_probability = false;
};

class CompactParser {
 public:
  CompactParser(std::string_view spec, std::string_view source) : spec_(spec), source_(source) {}

  Result<RuleSet> Parse() {
    FAULTLINE_RETURN_IF_ERROR(CheckParens());
    RuleSet rules;
    std::map<std::string, std::size_t, std::less<>> seen;  // point -> offset
    for (Span entry : SplitTopLevel(Span{0, spec_.size()}, ";")) {
      entry = TrimSpan(entry);
      if (entry.size() == 0) continue;
      FAULTLINE_RETURN_IF_ERROR(ParseEntry(entry, &seen, &rules));
    }
    return rules;
  }

 private:
  std::string_view Text(Span s) const { return spec_.substr(s.begin, s.size()); }

  Status Error(std::size_t offset, std::string_view message) const {
    LineCol pos = PositionOf(spec_, offset);
    return Status::InvalidArgument(
        fmt::format("{}:{}:{}: {}", source_, pos.line, pos.col, message));
  }

  Span TrimSpan(Span s) const {
    while (s.begin < s.end && IsSpace(spec_[s.begin])) ++s.begin;
    while (s.end > s.begin && IsSpace(spec_[s.end - 1])) --s.end;
    return s;
  }

  Status CheckParens() const {
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < spec_.size(); ++i) {
      if (spec_[i] == '(') open.push_back(i);
      if (spec_[i] == ')') {
        if (open.empty()) return Error(i, "expected no ')' without a matching '('");
        open.pop_back();
      }
    }
    if (!open.empty()) return Error(open.back(), "expected a ')' to close this '('");
    return Status::Ok();
  }

  // Splits `s` at `sep` outside parentheses.
  std::vector<Span> SplitTopLevel(Span s, std::string_view sep) const {
    std::vector<Span> parts;
    int depth = 0;
    std::size_t start = s.begin;
    for (std::size_t i = s.begin; i < s.end; ++i) {
      char c = spec_[i];
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (depth == 0 && spec_.compare(i, sep.size(), sep) == 0 && i + sep.size() <= s.end) {
        parts.push_back(Span{start, i});
        start = i + sep.size();
        i += sep.size() - 1;
      }
    }
    parts.push_back(Span{start, s.end});
    return parts;
  }

  Status ParseEntry(Span entry, std::map<std::string, std::size_t, std::less<>>* seen,
                    RuleSet* rules) {
    std::string_view text = Text(entry);
    std::size_t eq = text.find('=');
    std::size_t paren = text.find('(');
    if (eq == std::string_view::npos || (paren != std::string_view::npos && paren < eq)) {
      return Error(entry.begin, fmt::format("expected point=actions, got {}", Quote(text)));
    }
    Span point_span = TrimSpan(Span{entry.begin, entry.begin + eq});
    std::string point(Text(point_span));
    if (point.empty()) return Error(entry.begin, "expected an injection point name before '='");
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (IsSpace(point[i])) {
        return Error(point_span.begin + i,
                     fmt::format("{}: expected an injection point name without spaces", point));
      }
    }
    if (auto it = seen->find(point); it != seen->end()) {
      LineCol first = PositionOf(spec_, it->second);
      return Error(point_span.begin,
                   fmt::format("{}: already configured at {}:{}; chain its actions with ->", point,
                               first.line, first.col));
    }
    (*seen)[point] = point_span.begin;
    std::vector<Term> terms;
    for (Span t : SplitTopLevel(Span{entry.begin + eq + 1, entry.end}, "->")) {
      Span term = TrimSpan(t);
      if (term.size() == 0) {
        return Error(t.begin, fmt::format("{}: expected an action, got nothing", point));
      }
      Result<Term> parsed = ParseTerm(point, term);
      if (!parsed.ok()) return parsed.status();
      terms.push_back(std::move(parsed).value());
    }
    return EmitChain(point, terms, rules);
  }

  // off: a leading N*off lets the first N calls through (skip N on every
  // later term); a trailing off does nothing; a lone off disables the point.
  // Elsewhere fail-rs's off would need conditional probabilities, so refuse.
  Status EmitChain(const std::string& point, std::vector<Term>& terms, RuleSet* rules) {
    std::uint64_t skip = 0;
    std::size_t first = 0;
    while (first < terms.size() && terms[first].action == "off") {
      const Term& off = terms[first];
      if (off.has_probability) {
        return Error(off.span.begin,
                     fmt::format("{}: expected off without a probability (faultline cannot "
                                 "express a random off)",
                                 point));
      }
      if (off.rule.limit == 0) {
        if (first + 1 < terms.size()) {
          return Error(terms[first + 1].span.begin,
                       fmt::format("{}: expected nothing after an unconditional off (it would "
                                   "never run)",
                                   point));
        }
        return Status::Ok();
      }
      skip += off.rule.limit;
      ++first;
    }
    std::size_t last = terms.size();
    if (last > first && terms[last - 1].action == "off") --last;  // a no-op
    for (std::size_t i = first; i < last; ++i) {
      if (terms[i].action == "off") {
        return Error(
            terms[i].span.begin,
            fmt::format("{}: expected off only at the start or the end of a chain", point));
      }
    }
    for (std::size_t i = first; i < last; ++i) {
      Rule rule = std::move(terms[i].rule);
      rule.name = last - first == 1 ? point : fmt::format("{}/{}", point, i - first + 1);
      rule.target = point;
      rule.skip = skip;
      rules->rules.push_back(std::move(rule));
    }
    return Status::Ok();
  }

  Result<Term> ParseTerm(const std::string& point, Span term) {
    Term t;
    t.span = term;
    Span head = term;
    std::optional<Span> arg;
    std::string_view text = Text(term);
    if (std::size_t open = text.find('('); open != std::string_view::npos) {
      std::size_t close = MatchingParen(term.begin + open);
      if (close + 1 != term.end) {
        return Error(close + 1, fmt::format("{}: expected nothing after ')', got {}", point,
                                            Quote(Text(Span{close + 1, term.end}))));
      }
      head = Span{term.begin, term.begin + open};
      arg = Span{term.begin + open + 1, close};
    }
    FAULTLINE_RETURN_IF_ERROR(ParseModifiers(point, &head, &t));
    FAULTLINE_RETURN_IF_ERROR(ParseAction(point, head, arg, &t));
    return t;
  }

  std::size_t MatchingParen(std::size_t open) const {
    int depth = 0;
    for (std::size_t i = open; i < spec_.size(); ++i) {
      if (spec_[i] == '(') ++depth;
      if (spec_[i] == ')' && --depth == 0) return i;
    }
    return spec_.size();  // CheckParens rules this out
  }

  // [P%][N*] at the start of `head`; leaves the action name in `head`.
  Status ParseModifiers(const std::string& point, Span* head, Term* t) {
    std::string_view text = Text(*head);
    if (std::size_t pct = text.find('%'); pct != std::string_view::npos) {
      std::optional<double> p = ParsePlainNumber(text.substr(0, pct));
      if (!p || *p > 100) {
        return Error(head->begin,
                     fmt::format("{}: probability: expected a percentage in [0, 100], got {}",
                                 point, Quote(text.substr(0, pct + 1))));
      }
      t->rule.probability = *p / 100;
      t->has_probability = true;
      head->begin += pct + 1;
      text = Text(*head);
    }
    if (std::size_t star = text.find('*'); star != std::string_view::npos) {
      std::optional<std::uint64_t> n = ParseUnsigned(text.substr(0, star));
      if (!n || *n == 0) {
        return Error(head->begin, fmt::format("{}: count: expected a whole number >= 1, got {}",
                                              point, Quote(text.substr(0, star + 1))));
      }
      t->rule.limit = *n;
      head->begin += star + 1;
    }
    return Status::Ok();
  }

  Status ParseAction(const std::string& point, Span head, std::optional<Span> arg, Term* t) {
    head = TrimSpan(head);
    std::string_view name = Text(head);
    static const Names kActions = {"latency", "error", "status",   "timeout",
                                   "drop",    "reset", "throttle", "off"};
    // failpoint spellings: sleep/delay wait, return fails the call.
    std::string_view canonical = name == "sleep" || name == "delay" ? "latency"
                                 : name == "return"                 ? "error"
                                                                    : name;
    if (!Contains(kActions, canonical)) {
      return Error(head.begin,
                   fmt::format("{}: expected an action, one of {} (or sleep, delay, return), "
                               "got {}",
                               point, JoinNames(kActions), Quote(name)));
    }
    t->action = canonical;
    std::string field = fmt::format("{}: {}", point, name);
    if (canonical == "latency") return ParseLatency(field, head, arg, &t->rule);
    if (canonical == "error") return ParseError(arg, &t->rule);
    if (canonical == "status") return ParseStatus(field, head, arg, &t->rule);
    if (canonical == "timeout") return ParseTimeout(field, arg, &t->rule);
    if (arg) return Error(arg->begin - 1, fmt::format("{}: expected no argument", field));
    t->rule.action = canonical == "drop"       ? Action::kDrop
                     : canonical == "reset"    ? Action::kReset
                     : canonical == "throttle" ? Action::kThrottle
                                               : Action::kNone;  // off
    return Status::Ok();
  }

  // "250", "250ms", "1.5s" -> milliseconds.
  static std::optional<double> ParseMs(std::string_view s) {
    double scale = 1;
    if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
      s.remove_suffix(2);
    } else if (s.size() > 1 && s.back() == 's') {
      s.remove_suffix(1);
      scale = 1000;
    }
    std::optional<double> v = ParsePlainNumber(s);
    if (!v || *v * scale > kMaxLatencyMs) return std::nullopt;
    return *v * scale;
  }

  Status ParseLatency(const std::string& field, Span head, std::optional<Span> arg, Rule* rule) {
    constexpr std::string_view kExpected = "expected milliseconds or a range min-max";
    if (!arg) return Error(head.end, fmt::format("{}: {}, got nothing", field, kExpected));
    std::string_view text = Trim(Text(*arg));
    rule->action = Action::kLatency;
    std::size_t dash = text.find('-');
    std::optional<double> lo = ParseMs(Trim(text.substr(0, dash)));
    std::optional<double> hi =
        dash == std::string_view::npos ? lo : ParseMs(Trim(text.substr(dash + 1)));
    if (!lo || !hi || *lo > *hi) {
      return Error(arg->begin, fmt::format("{}: {} (at most {} ms, min <= max), got {}", field,
                                           kExpected, kMaxLatencyMs, Quote(text)));
    }
    if (dash == std::string_view::npos) {
      rule->latency.ms = *lo;
    } else {
      rule->latency.shape = LatencySpec::Shape::kUniform;
      rule->latency.min_ms = *lo;
      rule->latency.max_ms = *hi;
    }
    return Status::Ok();
  }

  // "message" or "Type: message"; a type is a dotted identifier starting
  // with a capital letter (Function.InjectedFault, ConnectionRefused).
  static bool IsErrorType(std::string_view s) {
    if (s.empty() || s.front() < 'A' || s.front() > 'Z' || s.back() == '.') return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.';
    });
  }

  Status ParseError(std::optional<Span> arg, Rule* rule) {
    rule->action = Action::kError;
    rule->error.type = std::string(kInjectedErrorType);
    if (!arg) return Status::Ok();
    std::string_view text = Trim(Text(*arg));
    std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && IsErrorType(text.substr(0, colon))) {
      rule->error.type = std::string(text.substr(0, colon));
      text = Trim(text.substr(colon + 1));
    }
    if (!text.empty()) rule->error.message = std::string(text);
    return Status::Ok();
  }

  Status ParseStatus(const std::string& field, Span head, std::optional<Span> arg, Rule* rule) {
    std::string_view text = arg ? Trim(Text(*arg)) : std::string_view();
    std::optional<std::uint64_t> code = ParseUnsigned(text);
    if (!code || *code < 100 || *code > 599) {
      return Error(arg ? arg->begin : head.end,
                   fmt::format("{}: expected a status code in [100, 599], got {}", field,
                               arg ? Quote(text) : "nothing"));
    }
    rule->action = Action::kStatus;
    rule->response.code = static_cast<int>(*code);
    return Status::Ok();
  }

  Status ParseTimeout(const std::string& field, std::optional<Span> arg, Rule* rule) {
    rule->action = Action::kTimeout;
    if (!arg) return Status::Ok();
    std::string_view text = Trim(Text(*arg));
    std::optional<double> buffer = ParseMs(text);
    if (!buffer) {
      return Error(arg->begin, fmt::format("{}: expected the buffer before the deadline in ms, "
                                           "got {}",
                                           field, Quote(text)));
    }
    rule->timeout_buffer_ms = *buffer;
    return Status::Ok();
  }

  std::string_view spec_;
  std::string_view source_;
};

Result<RuleSet> ReadJson(std::string_view json, std::string_view source,
                         Result<RuleSet> (*read)(const JsonDoc&, std::string_view),
                         std::string_view target) {
  return Guarded(source, [&]() -> Result<RuleSet> {
    JsonDoc doc(json, source);
    FAULTLINE_RETURN_IF_ERROR(doc.Parse());
    Result<RuleSet> rules = read(doc, target);
    if (!rules.ok()) return rules;
    return Validated(std::move(rules).value(), source);
  });
}

Result<RuleSet> ReadFailureLambdaDoc(const JsonDoc& doc, std::string_view target) {
  const Json& root = doc.root();
  bool classic = root.contains("isEnabled") || root.contains("failureMode");
  return classic ? ReadFailureLambdaClassic(doc, target) : ReadFailureLambdaFlags(doc, target);
}

}  // namespace

Result<RuleSet> ReadFailureLambda(std::string_view json, std::string_view source,
                                  std::string_view target) {
  return ReadJson(json, source, &ReadFailureLambdaDoc, target);
}

Result<RuleSet> ReadChaosLambda(std::string_view json, std::string_view source,
                                std::string_view target) {
  return ReadJson(json, source, &ReadChaosLambdaDoc, target);
}

Result<RuleSet> ReadChaosLambdaExtensionEnv(const std::map<std::string, std::string>& env,
                                            std::string_view target,
                                            std::vector<std::string>* warnings) {
  return Guarded("chaos-lambda-extension environment", [&]() -> Result<RuleSet> {
    FAULTLINE_RETURN_IF_ERROR(CheckExtNames(env));
    RuleSet rules;
    FAULTLINE_RETURN_IF_ERROR(ReadExtLatency(env, target, &rules));
    FAULTLINE_RETURN_IF_ERROR(ReadExtResponse(env, target, &rules, warnings));
    return Validated(std::move(rules), "chaos-lambda-extension environment");
  });
}

Result<RuleSet> ReadChaosLambdaExtensionEnv(std::string_view target,
                                            std::vector<std::string>* warnings) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, kExtPrefix.size()) != kExtPrefix) continue;
    std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return ReadChaosLambdaExtensionEnv(env, target, warnings);
}

Result<RuleSet> ReadCompactRules(std::string_view spec, std::string_view source) {
  return Guarded(source, [&]() -> Result<RuleSet> {
    Result<RuleSet> rules = CompactParser(spec, source).Parse();
    if (!rules.ok()) return rules;
    return Validated(std::move(rules).value(), source);
  });
}

}  // namespace faultline
