// The rule-file reader and writer.
//
//   text ──► (JSON only) nlohmann SAX syntax check
//        ──► yaml-cpp: one-document check, then the node tree
//        ──► RuleReader: types, ranges, positions ──► ValidateRules ──► RuleSet
//
// JSON is checked by nlohmann first because its error offsets are exact for
// JSON; the structure of both formats is then read through yaml-cpp (YAML is a
// superset of JSON), whose marks give every error its line and column.
// Exceptions from both libraries stop here and become a Status.
#include "faultline/rules.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <span>
#include <system_error>
#include <utility>

#include "core/text.h"
#include "core/yaml_read.h"

namespace faultline {

namespace {

constexpr std::array<std::string_view, 11> kActionNameTable = {
    "none", "latency", "error",    "status",    "body",     "timeout",
    "drop", "reset",   "throttle", "diskspace", "denylist",
};

std::optional<Phase> PhaseFromName(std::string_view name) {
  if (name == "before") return Phase::kBefore;
  if (name == "after") return Phase::kAfter;
  if (name == "init") return Phase::kInit;
  return std::nullopt;
}

// Why `action` cannot have `phase`. REQUIRES: !PhaseAllowed(action, phase).
std::string PhaseMismatch(Action action, Phase phase) {
  return fmt::format(
      "phase {} is not for action {} (phase init takes latency or error; before and after take "
      "any action)",
      PhaseName(phase), ActionName(action));
}

constexpr std::string_view kRuleKeys[] = {
    "name",  "target", "tags",  "action",  "phase",      "enabled",  "probability",
    "every", "skip",   "limit", "ttl",     "expires_at", "armed_at", "latency",
    "error", "status", "body",  "timeout", "diskspace",  "denylist",
};
constexpr std::string_view kLatencyKeys[] = {"ms",     "jitter_ms", "min_ms",
                                             "max_ms", "mean_ms",   "stddev_ms"};
constexpr std::string_view kErrorKeys[] = {"type", "message"};
constexpr std::string_view kStatusKeys[] = {"code", "headers", "content_type", "body"};
constexpr std::string_view kTimeoutKeys[] = {"buffer_ms"};
constexpr std::string_view kDiskSpaceKeys[] = {"mb"};
constexpr std::string_view kTopKeys[] = {"faults"};

constexpr std::string_view kDurationExpected =
    "a duration like \"250ms\", \"30s\", \"5m\", \"1h30m\", \"1.5s\" or a number of seconds";
constexpr std::string_view kTimestampExpected =
    "an ISO-8601 UTC time like \"2026-11-25T10:00:00Z\"";
constexpr std::string_view kLatencyShapes =
    "{ms[, jitter_ms]}, {min_ms, max_ms} or {mean_ms, stddev_ms}";

// Patterns longer than this, or that would compile to more states than
// kMaxRegexStates, are refused: libstdc++ compiles std::regex recursively
// and expands counted repetition, so hostile patterns would exhaust the
// stack or the heap.
constexpr std::size_t kMaxRegexLength = 1024;
constexpr std::uint64_t kMaxRegexStates = 20000;

// --- Text helpers -----------------------------------------------------------

using internal::AllDigits;
using internal::IsDecimal;
using internal::IsDigit;
using internal::Quote;
using internal::Suggest;

// --- Durations and times ----------------------------------------------------

__extension__ using Int128 = __int128;  // g++ and clang++ both have it

constexpr std::int64_t kNsPerUs = 1000;
constexpr std::int64_t kNsPerMs = 1000 * kNsPerUs;
constexpr std::int64_t kNsPerSec = 1000 * kNsPerMs;
constexpr std::int64_t kNsPerMin = 60 * kNsPerSec;
constexpr std::int64_t kNsPerHour = 60 * kNsPerMin;

// Reads "12", "12.5", ".5" or "12." at s[*i]; false if there is no digit.
bool ReadDecimalParts(std::string_view s, std::size_t* i, std::string_view* whole,
                      std::string_view* fraction) {
  std::size_t start = *i;
  while (*i < s.size() && IsDigit(s[*i])) ++*i;
  *whole = s.substr(start, *i - start);
  *fraction = {};
  if (*i < s.size() && s[*i] == '.') {
    std::size_t fstart = ++*i;
    while (*i < s.size() && IsDigit(s[*i])) ++*i;
    *fraction = s.substr(fstart, *i - fstart);
  }
  return !whole->empty() || !fraction->empty();
}

// whole.fraction * unit in nanoseconds, truncated; false on overflow.
bool ScaleDecimal(std::string_view whole, std::string_view fraction, std::int64_t unit,
                  std::int64_t* out) {
  std::uint64_t w = 0;
  if (!whole.empty()) {
    auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
    if (ec != std::errc() || ptr != whole.data() + whole.size()) return false;
  }
  std::int64_t total = 0;
  if (w > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
      __builtin_mul_overflow(static_cast<std::int64_t>(w), unit, &total)) {
    return false;
  }
  // The fraction: at most 18 digits matter at nanosecond resolution.
  fraction = fraction.substr(0, std::min<std::size_t>(fraction.size(), 18));
  if (!fraction.empty()) {
    std::uint64_t f = 0;
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), f);
    Int128 scale = 1;
    for (std::size_t k = 0; k < fraction.size(); ++k) scale *= 10;
    auto part = static_cast<std::int64_t>(static_cast<Int128>(f) * unit / scale);
    if (__builtin_add_overflow(total, part, &total)) return false;
  }
  *out = total;
  return true;
}

std::string DurationError(std::string_view text) {
  return fmt::format("expected {}, got {}", kDurationExpected, Quote(text));
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

unsigned DaysInMonth(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at s[*i].
bool ReadFixedDigits(std::string_view s, std::size_t* i, std::size_t n, unsigned* out) {
  if (*i + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = s[*i + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, std::size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

std::string FormatNumber(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "0";
  return std::string(buf, ptr);
}

std::string DurationText(std::int64_t ns) {
  if (ns == 0) return "0s";
  struct Unit {
    std::int64_t size;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{kNsPerHour, "h"}, {kNsPerMin, "m"}, {kNsPerSec, "s"},
                                    {kNsPerMs, "ms"},  {kNsPerUs, "us"}, {1, "ns"}};
  for (const Unit& u : kUnits) {
    if (ns % u.size == 0) return fmt::format("{}{}", ns / u.size, u.suffix);
  }
  return fmt::format("{}ns", ns);
}

// --- Regex safety -----------------------------------------------------------

std::uint64_t SatAdd(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}
std::uint64_t SatMul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}

// A generous estimate of the NFA states std::regex builds for `p`: counted
// repetition copies its atom, so "(a{100}){100}" costs 10,000.
std::uint64_t EstimateRegexStates(std::string_view p) {
  struct Group {
    std::uint64_t total = 0;
    std::uint64_t last = 0;  // the size of the last atom, for a quantifier
  };
  std::vector<Group> stack(1);
  auto atom = [&](std::uint64_t size) {
    stack.back().total = SatAdd(stack.back().total, size);
    stack.back().last = size;
  };
  auto multiply = [&](std::uint64_t factor) {
    Group& g = stack.back();
    std::uint64_t grown = SatMul(g.last, factor);
    g.total = SatAdd(g.total - g.last, grown);
    g.last = grown;
  };
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      ++i;
      atom(1);
    } else if (c == '[') {
      std::size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      i = j;
      atom(1);
    } else if (c == '(') {
      stack.emplace_back();
    } else if (c == ')') {
      if (stack.size() > 1) {
        std::uint64_t size = SatAdd(stack.back().total, 2);
        stack.pop_back();
        atom(size);
      }
    } else if (c == '*' || c == '+' || c == '?') {
      multiply(2);
    } else if (c == '{') {
      // {n}, {n,} or {n,m}: the atom is copied about max(n, m) times.
      std::uint64_t bound = 0;
      std::uint64_t number = 0;
      std::size_t j = i + 1;
      for (; j < p.size() && (IsDigit(p[j]) || p[j] == ','); ++j) {
        number = IsDigit(p[j]) ? SatAdd(SatMul(number, 10), static_cast<unsigned>(p[j] - '0')) : 0;
        bound = std::max(bound, number);
      }
      multiply(SatAdd(bound, 1));
      i = j;
    } else {
      atom(1);
    }
  }
  std::uint64_t total = 0;
  for (const Group& g : stack) total = SatAdd(total, g.total);
  return total;
}

// Empty if `pattern` is a usable host regex, else what was expected instead.
std::string CheckRegex(std::string_view pattern) {
  if (pattern.empty()) return "a non-empty regular expression";
  if (pattern.size() > kMaxRegexLength) {
    return fmt::format("a regular expression of at most {} characters", kMaxRegexLength);
  }
  if (EstimateRegexStates(pattern) > kMaxRegexStates) {
    return "a simpler regular expression (this one repeats too much)";
  }
  try {
    std::regex re(pattern.begin(), pattern.end(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fmt::format("an ECMAScript regular expression ({})", e.what());
  } catch (const std::exception& e) {
    return fmt::format("a simpler regular expression ({})", e.what());
  }
  return {};
}

// --- Glob -------------------------------------------------------------------

// Whether the class at pattern[p] == '[' is closed; if so, sets *end past it
// and *matched to whether `c` is in it.
bool MatchClass(std::string_view pattern, std::size_t p, char c, bool* matched, std::size_t* end) {
  std::size_t i = p + 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool found = false;
  auto uc = static_cast<unsigned char>(c);
  for (bool first = true; i < pattern.size(); first = false) {
    if (pattern[i] == ']' && !first) {
      *matched = found != negate;
      *end = i + 1;
      return true;
    }
    unsigned char lo;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      lo = static_cast<unsigned char>(pattern[i + 1]);
      i += 2;
    } else {
      lo = static_cast<unsigned char>(pattern[i]);
      i += 1;
    }
    unsigned char hi = lo;
    if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
      if (pattern[i + 1] == '\\' && i + 2 < pattern.size()) {
        hi = static_cast<unsigned char>(pattern[i + 2]);
        i += 3;
      } else {
        hi = static_cast<unsigned char>(pattern[i + 1]);
        i += 2;
      }
    }
    if (lo <= uc && uc <= hi) found = true;
  }
  return false;  // no closing ']': the '[' is an ordinary character
}

// Matches the single-character unit at pattern[p] (not '*') against `c`;
// returns the index after the unit.
std::size_t MatchUnit(std::string_view pattern, std::size_t p, char c, bool* matched) {
  char pc = pattern[p];
  if (pc == '?') {
    *matched = true;
    return p + 1;
  }
  if (pc == '\\' && p + 1 < pattern.size()) {
    *matched = pattern[p + 1] == c;
    return p + 2;
  }
  if (pc == '[') {
    std::size_t end;
    if (MatchClass(pattern, p, c, matched, &end)) return end;
  }
  *matched = pc == c;
  return p + 1;
}

// --- Reading the tree -------------------------------------------------------

using Kind = internal::YamlKind;
using internal::Describe;
using internal::Field;
using internal::KindOf;
using internal::Mapping;

class RuleReader : public internal::YamlReader {
 public:
  explicit RuleReader(std::string_view source) : YamlReader(source) {}

  Status ReadDocument(const YAML::Node& root, RuleSet* out);

 private:
  Status Missing(const Mapping& m, std::string_view path, std::string_view key,
                 std::string_view why) const {
    return Error(m.mark(), fmt::format("{}: missing key \"{}\"{}", path, key, why));
  }

  Status ReadBool(const Field& f, bool* out) const;
  Status ReadNumber(const Field& f, double* out) const;
  Status ReadUint(const Field& f, std::uint64_t* out) const;
  Status ReadStringMap(const Field& f, std::map<std::string, std::string>* out) const;

  // Also sets *name_field to the rule's name, for duplicate names.
  Status ReadRule(const Field& f, Rule* rule, Field* name_field) const;
  Status ReadCommon(const Mapping& m, Rule* rule) const;
  Status ReadAction(const Field& f, Action* out) const;
  // REQUIRES: rule->name and rule->action read.
  Status ReadPhase(const Field& f, Rule* rule) const;
  Status ReadProbability(const Field& f, double* out) const;
  Status ReadTtl(const Field& f, std::optional<std::int64_t>* out) const;
  Status ReadExpiresAt(const Field& f, std::optional<TimeNs>* out) const;
  Status ReadParameters(const Mapping& m, const std::string& path, Rule* rule) const;
  Status ReadLatency(const Field& f, LatencySpec* out) const;
  Status ReadError(const Field& f, ErrorSpec* out) const;
  Status ReadStatus(const Field& f, ResponseSpec* out) const;
  Status ReadTimeout(const Field& f, double* out) const;
  Status ReadDiskSpace(const Field& f, std::uint64_t* out) const;
  Status ReadDenylist(const Field& f, std::vector<std::string>* out) const;
};

Status RuleReader::ReadBool(const Field& f, bool* out) const {
  if (KindOf(f.node) != Kind::kBool) return Expected(f, "true or false");
  *out = *internal::BoolText(f.node.Scalar());
  return Status::Ok();
}

Status RuleReader::ReadNumber(const Field& f, double* out) const {
  constexpr std::string_view kWhat = "a number >= 0";
  if (KindOf(f.node) != Kind::kNumber) return Expected(f, kWhat);
  std::string_view s = f.node.Scalar();
  if (!IsDecimal(s)) return Expected(f, kWhat);
  if (s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v) || v < 0) {
    return Expected(f, kWhat);
  }
  *out = v;
  return Status::Ok();
}

Status RuleReader::ReadUint(const Field& f, std::uint64_t* out) const {
  constexpr std::string_view kWhat = "a non-negative integer";
  if (KindOf(f.node) != Kind::kNumber) return Expected(f, kWhat);
  std::string_view s = f.node.Scalar();
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (!AllDigits(s)) return Expected(f, kWhat);
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return Expected(f, "a non-negative integer of at most 18446744073709551615");
  }
  *out = v;
  return Status::Ok();
}

Status RuleReader::ReadStringMap(const Field& f, std::map<std::string, std::string>* out) const {
  if (!f.node.IsMap()) return Expected(f, "a mapping of names to strings");
  std::map<std::string, std::string> result;
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    Field key{it->first, it->first.Mark(), f.path};
    std::string name;
    if (Status s = ReadScalarText(key, &name); !s.ok()) return s;
    if (result.count(name) != 0) {
      return Error(key.mark, fmt::format("{}: duplicate key {}", f.path, Quote(name)));
    }
    YAML::Node v = it->second;
    Field value{v, v.IsNull() ? key.mark : v.Mark(), fmt::format("{}.{}", f.path, name)};
    if (Status s = ReadScalarText(value, &result[name]); !s.ok()) return s;
  }
  *out = std::move(result);
  return Status::Ok();
}

Status RuleReader::ReadDocument(const YAML::Node& root, RuleSet* out) {
  Field list{root, root.Mark(), "faults"};
  if (root.IsNull()) return Status::Ok();  // an empty document: no rules
  if (root.IsMap()) {
    Mapping top;
    Field doc{root, root.Mark(), std::string(internal::kTopLevel)};
    if (Status s =
            ReadMapping(doc, kTopKeys, "a mapping with key \"faults\" or a list of rules", &top);
        !s.ok()) {
      return s;
    }
    std::optional<Field> faults = top.Get("faults");
    if (!faults) return Status::Ok();
    list = *faults;
    list.path = "faults";
    if (list.node.IsNull()) return Status::Ok();  // "faults:" with nothing after it
  } else if (!root.IsSequence()) {
    return Expected(Field{root, root.Mark(), std::string(internal::kTopLevel)},
                    "a mapping with key \"faults\" or a list of rules");
  }
  if (!list.node.IsSequence()) return Expected(list, "a list of rules");
  std::vector<Rule> rules;
  std::map<std::string, std::size_t> names;
  std::size_t i = 0;
  for (auto it = list.node.begin(); it != list.node.end(); ++it, ++i) {
    YAML::Node n = *it;
    Field f{n, n.IsNull() || n.Mark().is_null() ? list.mark : n.Mark(),
            fmt::format("faults[{}]", i)};
    Rule rule;
    Field name;
    if (Status s = ReadRule(f, &rule, &name); !s.ok()) return s;
    auto [first, inserted] = names.emplace(rule.name, i);
    if (!inserted) {
      return Expected(name, fmt::format("a unique name (faults[{}] has it too)", first->second));
    }
    rules.push_back(std::move(rule));
  }
  out->rules = std::move(rules);
  return Status::Ok();
}

Status RuleReader::ReadRule(const Field& f, Rule* rule, Field* name_field) const {
  Mapping m;
  if (Status s = ReadMapping(f, kRuleKeys, "a mapping (a rule)", &m); !s.ok()) return s;
  std::optional<Field> name = m.Get("name");
  if (!name) return Missing(m, f.path, "name", "");
  if (Status s = ReadNonEmptyString(*name, &rule->name); !s.ok()) return s;
  *name_field = *name;
  std::optional<Field> action = m.Get("action");
  if (!action) {
    return Missing(m, f.path, "action", fmt::format(" (one of {})", ActionNames()));
  }
  if (Status s = ReadAction(*action, &rule->action); !s.ok()) return s;
  if (Status s = ReadCommon(m, rule); !s.ok()) return s;
  return ReadParameters(m, f.path, rule);
}

Status RuleReader::ReadCommon(const Mapping& m, Rule* rule) const {
  Status s;
  if (auto f = m.Get("target")) s = ReadNonEmptyString(*f, &rule->target);
  if (!s.ok()) return s;
  if (auto f = m.Get("tags")) s = ReadStringMap(*f, &rule->tags);
  if (!s.ok()) return s;
  if (auto f = m.Get("phase")) s = ReadPhase(*f, rule);
  if (!s.ok()) return s;
  if (auto f = m.Get("enabled")) s = ReadBool(*f, &rule->enabled);
  if (!s.ok()) return s;
  if (auto f = m.Get("probability")) s = ReadProbability(*f, &rule->probability);
  if (!s.ok()) return s;
  if (auto f = m.Get("every")) s = ReadUint(*f, &rule->every);
  if (!s.ok()) return s;
  if (auto f = m.Get("skip")) s = ReadUint(*f, &rule->skip);
  if (!s.ok()) return s;
  if (auto f = m.Get("limit")) s = ReadUint(*f, &rule->limit);
  if (!s.ok()) return s;
  if (auto f = m.Get("ttl")) s = ReadTtl(*f, &rule->ttl_ns);
  if (!s.ok()) return s;
  if (auto f = m.Get("expires_at")) s = ReadExpiresAt(*f, &rule->expires_at);
  if (!s.ok()) return s;
  if (auto f = m.Get("armed_at")) s = ReadExpiresAt(*f, &rule->armed_at);
  return s;
}

Status RuleReader::ReadPhase(const Field& f, Rule* rule) const {
  const std::optional<Phase> phase =
      KindOf(f.node) == Kind::kString ? PhaseFromName(f.node.Scalar()) : std::nullopt;
  if (!phase) {
    return Error(f.mark, fmt::format("{}: rule {}: expected {}, got {}", f.path, Quote(rule->name),
                                     PhaseNames(), Describe(f.node)));
  }
  if (!PhaseAllowed(rule->action, *phase)) {
    return Error(f.mark, fmt::format("{}: rule {}: {}", f.path, Quote(rule->name),
                                     PhaseMismatch(rule->action, *phase)));
  }
  rule->phase = *phase;
  return Status::Ok();
}

Status RuleReader::ReadAction(const Field& f, Action* out) const {
  std::string expected = fmt::format("one of {}", ActionNames());
  if (KindOf(f.node) != Kind::kString) return Expected(f, expected);
  std::optional<Action> a = ActionFromName(f.node.Scalar());
  if (!a || *a == Action::kNone) {
    std::string_view guess = Suggest(f.node.Scalar(), std::span(kActionNameTable).subspan(1));
    if (!guess.empty()) expected = fmt::format("{} (did you mean \"{}\"?)", expected, guess);
    return Expected(f, expected);
  }
  *out = *a;
  return Status::Ok();
}

Status RuleReader::ReadProbability(const Field& f, double* out) const {
  constexpr std::string_view kWhat = "a number in [0, 1] or a percentage like \"20%\"";
  Kind kind = KindOf(f.node);
  std::string_view s = f.node.IsScalar() ? std::string_view(f.node.Scalar()) : "";
  double scale = 1;
  if (kind == Kind::kString && !s.empty() && s.back() == '%') {
    s.remove_suffix(1);
    scale = 100;
  } else if (kind != Kind::kNumber) {
    return Expected(f, kWhat);
  }
  if (!IsDecimal(s)) return Expected(f, kWhat);
  if (s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !(v >= 0 && v <= scale)) {
    return Expected(f, kWhat);
  }
  *out = scale == 1 ? v : v / scale;
  return Status::Ok();
}

Status RuleReader::ReadTtl(const Field& f, std::optional<std::int64_t>* out) const {
  Kind kind = KindOf(f.node);
  if (kind != Kind::kString && kind != Kind::kNumber) {
    return Expected(f, fmt::format("{} (> 0)", kDurationExpected));
  }
  Result<std::int64_t> d = ParseDuration(f.node.Scalar());
  if (!d.ok()) return Error(f.mark, fmt::format("{}: {}", f.path, d.status().message()));
  if (*d <= 0) return Expected(f, "a duration > 0");
  *out = *d;
  return Status::Ok();
}

Status RuleReader::ReadExpiresAt(const Field& f, std::optional<TimeNs>* out) const {
  if (KindOf(f.node) != Kind::kString) return Expected(f, kTimestampExpected);
  Result<TimeNs> t = ParseTimestamp(f.node.Scalar());
  if (!t.ok()) return Error(f.mark, fmt::format("{}: {}", f.path, t.status().message()));
  *out = *t;
  return Status::Ok();
}

Status RuleReader::ReadParameters(const Mapping& m, const std::string& path, Rule* rule) const {
  std::string_view action = ActionName(rule->action);
  for (Action a : {Action::kLatency, Action::kError, Action::kStatus, Action::kBody,
                   Action::kTimeout, Action::kDiskSpace, Action::kDenylist}) {
    std::optional<Field> f = m.Get(ActionName(a));
    if (f && a != rule->action) {
      return Error(f->mark, fmt::format("{}: given but action is {}", f->path, action));
    }
  }
  auto required = [&](std::string_view what) {
    return Missing(m, path, action, fmt::format(" (required for action {}: {})", action, what));
  };
  std::optional<Field> f = m.Get(action);
  switch (rule->action) {
    case Action::kLatency:
      if (!f) return required(fmt::format("a number of ms or one of {}", kLatencyShapes));
      return ReadLatency(*f, &rule->latency);
    case Action::kError:
      return f ? ReadError(*f, &rule->error) : Status::Ok();
    case Action::kStatus:
      if (!f) return required("{code[, headers, content_type, body]}");
      return ReadStatus(*f, &rule->response);
    case Action::kBody:
      return f ? ReadString(*f, &rule->response.body) : Status::Ok();
    case Action::kTimeout:
      return f ? ReadTimeout(*f, &rule->timeout_buffer_ms) : Status::Ok();
    case Action::kDiskSpace:
      if (!f) return required("{mb}");
      return ReadDiskSpace(*f, &rule->diskspace_mb);
    case Action::kDenylist:
      if (!f) return required("a list of host regular expressions");
      return ReadDenylist(*f, &rule->denylist);
    default:
      return Status::Ok();
  }
}

Status RuleReader::ReadLatency(const Field& f, LatencySpec* out) const {
  LatencySpec spec;
  if (KindOf(f.node) == Kind::kNumber) {
    if (Status s = ReadNumber(f, &spec.ms); !s.ok()) return s;
    *out = spec;
    return Status::Ok();
  }
  Mapping m;
  std::string expected = fmt::format("a number of ms or one of {}", kLatencyShapes);
  if (Status s = ReadMapping(f, kLatencyKeys, expected, &m); !s.ok()) return s;
  bool fixed = m.Has("ms") || m.Has("jitter_ms");
  bool uniform = m.Has("min_ms") || m.Has("max_ms");
  bool normal = m.Has("mean_ms") || m.Has("stddev_ms");
  if (fixed + uniform + normal != 1) {
    std::string given;
    for (std::string_view k : kLatencyKeys) {
      if (m.Has(k)) given += fmt::format("{}{}", given.empty() ? "" : ", ", k);
    }
    return Error(f.mark, fmt::format("{}: expected exactly one of {}, got {}", f.path,
                                     kLatencyShapes, given.empty() ? "an empty mapping" : given));
  }
  // Every key of the chosen shape is required, except jitter_ms.
  struct Key {
    const char* name;
    double* value;
    bool required;
  };
  std::vector<Key> keys;
  if (fixed) {
    spec.shape = LatencySpec::Shape::kFixed;
    keys = {{"ms", &spec.ms, true}, {"jitter_ms", &spec.jitter_ms, false}};
  } else if (uniform) {
    spec.shape = LatencySpec::Shape::kUniform;
    keys = {{"min_ms", &spec.min_ms, true}, {"max_ms", &spec.max_ms, true}};
  } else {
    spec.shape = LatencySpec::Shape::kNormal;
    keys = {{"mean_ms", &spec.mean_ms, true}, {"stddev_ms", &spec.stddev_ms, true}};
  }
  for (const Key& k : keys) {
    std::optional<Field> v = m.Get(k.name);
    if (!v && k.required) return Missing(m, f.path, k.name, "");
    if (!v) continue;
    if (Status s = ReadNumber(*v, k.value); !s.ok()) return s;
  }
  if (uniform && spec.max_ms < spec.min_ms) {
    return Expected(*m.Get("max_ms"),
                    fmt::format("a number >= min_ms ({})", FormatNumber(spec.min_ms)));
  }
  *out = spec;
  return Status::Ok();
}

Status RuleReader::ReadError(const Field& f, ErrorSpec* out) const {
  Mapping m;
  if (Status s = ReadMapping(f, kErrorKeys, "a mapping {type, message}", &m); !s.ok()) return s;
  ErrorSpec spec;
  if (auto t = m.Get("type")) {
    if (Status s = ReadNonEmptyString(*t, &spec.type); !s.ok()) return s;
  }
  if (auto msg = m.Get("message")) {
    if (Status s = ReadString(*msg, &spec.message); !s.ok()) return s;
  }
  *out = std::move(spec);
  return Status::Ok();
}

Status RuleReader::ReadStatus(const Field& f, ResponseSpec* out) const {
  Mapping m;
  if (Status s = ReadMapping(f, kStatusKeys, "a mapping {code[, headers, content_type, body]}", &m);
      !s.ok()) {
    return s;
  }
  ResponseSpec spec;
  std::optional<Field> code = m.Get("code");
  if (!code) return Missing(m, f.path, "code", " (an HTTP status code in [100, 599])");
  std::uint64_t c = 0;
  Status s = ReadUint(*code, &c);
  if (!s.ok() || c < 100 || c > 599) return Expected(*code, "an integer in [100, 599]");
  spec.code = static_cast<int>(c);
  if (auto h = m.Get("headers")) s = ReadStringMap(*h, &spec.headers);
  if (!s.ok()) return s;
  if (auto ct = m.Get("content_type")) s = ReadString(*ct, &spec.content_type);
  if (!s.ok()) return s;
  if (auto b = m.Get("body")) s = ReadString(*b, &spec.body);
  if (!s.ok()) return s;
  *out = std::move(spec);
  return Status::Ok();
}

Status RuleReader::ReadTimeout(const Field& f, double* out) const {
  Mapping m;
  if (Status s = ReadMapping(f, kTimeoutKeys, "a mapping {buffer_ms}", &m); !s.ok()) return s;
  double v = 0;
  if (auto b = m.Get("buffer_ms")) {
    if (Status s = ReadNumber(*b, &v); !s.ok()) return s;
  }
  *out = v;
  return Status::Ok();
}

Status RuleReader::ReadDiskSpace(const Field& f, std::uint64_t* out) const {
  Mapping m;
  if (Status s = ReadMapping(f, kDiskSpaceKeys, "a mapping {mb}", &m); !s.ok()) return s;
  std::optional<Field> mb = m.Get("mb");
  if (!mb) return Missing(m, f.path, "mb", " (megabytes to fill, > 0)");
  std::uint64_t v = 0;
  if (Status s = ReadUint(*mb, &v); !s.ok() || v == 0) return Expected(*mb, "an integer > 0");
  *out = v;
  return Status::Ok();
}

Status RuleReader::ReadDenylist(const Field& f, std::vector<std::string>* out) const {
  if (!f.node.IsSequence() || f.node.size() == 0) {
    return Expected(f, "a non-empty list of host regular expressions");
  }
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < f.node.size(); ++i) {
    YAML::Node n = f.node[i];
    Field item{n, n.IsNull() || n.Mark().is_null() ? f.mark : n.Mark(),
               fmt::format("{}[{}]", f.path, i)};
    std::string pattern;
    if (Status s = ReadString(item, &pattern); !s.ok()) return s;
    if (std::string problem = CheckRegex(pattern); !problem.empty()) return Expected(item, problem);
    hosts.push_back(std::move(pattern));
  }
  *out = std::move(hosts);
  return Status::Ok();
}

// --- JSON syntax ------------------------------------------------------------

// Accepts every JSON event and remembers the first syntax error.
class JsonSyntaxCheck final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    failed_ = true;
    // `position` counts the characters read: the last one is where the
    // lexer gave up (nlohmann's own line and column point there too).
    position_ = position > 0 ? position - 1 : 0;
    message_ = ex.what();
    return false;
  }

  bool failed() const { return failed_; }
  // 0-based byte offset of the character where the parser gave up.
  std::size_t position() const { return position_; }
  // nlohmann's message without its "[json.exception...] parse error at
  // line L, column C: " prefix (we report the position ourselves).
  std::string message() const {
    std::size_t at = message_.find("column ");
    std::size_t colon = at == std::string::npos ? at : message_.find(": ", at);
    return colon == std::string::npos ? message_ : message_.substr(colon + 2);
  }

 private:
  bool failed_ = false;
  std::size_t position_ = 0;
  std::string message_;
};

Status CheckJsonSyntax(std::string_view text, std::string_view source) {
  JsonSyntaxCheck check;
  try {
    nlohmann::json::sax_parse(text.begin(), text.end(), &check);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
  if (!check.failed()) return Status::Ok();
  std::size_t offset = std::min(check.position(), text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return Status::InvalidArgument(fmt::format("{}:{}:{}: invalid JSON: {}", source, line,
                                             offset - line_start + 1, check.message()));
}

Format DetectFormat(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t i = text.find_first_not_of(" \t\r\n");
  if (i != std::string_view::npos && (text[i] == '{' || text[i] == '[')) return Format::kJson;
  return Format::kYaml;
}

Result<RuleSet> ParseTree(std::string_view text, std::string_view source) {
  YAML::Node root;
  if (Status s = internal::LoadOneDocument(text, source, &root); !s.ok()) return s;
  RuleSet rules;
  RuleReader reader(source);
  if (Status s = reader.ReadDocument(root, &rules); !s.ok()) return s;
  if (Status s = ValidateRules(rules, source); !s.ok()) return s;
  return rules;
}

// --- Validation -------------------------------------------------------------

std::string RuleLabel(const Rule& r, std::size_t i) {
  if (r.name.empty()) return fmt::format("faults[{}]", i);
  return fmt::format("faults[{}] ({})", i, Quote(r.name));
}

bool NonNegative(double v) { return std::isfinite(v) && v >= 0; }

// Empty if the parameters of the rule's action are sane, else "field:
// expected ..., got ...".
std::string CheckParameters(const Rule& r) {
  const LatencySpec& l = r.latency;
  auto bad = [](std::string_view field, std::string_view expected, std::string_view got) {
    return fmt::format("{}: expected {}, got {}", field, expected, got);
  };
  switch (r.action) {
    case Action::kLatency: {
      const std::pair<const char*, double> fields[] = {
          {"latency.ms", l.ms},           {"latency.jitter_ms", l.jitter_ms},
          {"latency.min_ms", l.min_ms},   {"latency.max_ms", l.max_ms},
          {"latency.mean_ms", l.mean_ms}, {"latency.stddev_ms", l.stddev_ms}};
      for (const auto& [name, v] : fields) {
        if (!NonNegative(v)) return bad(name, "a number >= 0", FormatNumber(v));
      }
      if (l.shape != LatencySpec::Shape::kFixed && l.shape != LatencySpec::Shape::kUniform &&
          l.shape != LatencySpec::Shape::kNormal) {
        return bad("latency", "a fixed, uniform or normal shape",
                   std::to_string(static_cast<int>(l.shape)));
      }
      if (l.shape == LatencySpec::Shape::kUniform && l.max_ms < l.min_ms) {
        return bad("latency.max_ms", fmt::format("a number >= min_ms ({})", FormatNumber(l.min_ms)),
                   FormatNumber(l.max_ms));
      }
      return {};
    }
    case Action::kError:
      return r.error.type.empty() ? bad("error.type", "a non-empty string", "\"\"") : "";
    case Action::kStatus:
      if (r.response.code < 100 || r.response.code > 599) {
        return bad("status.code", "an integer in [100, 599]", std::to_string(r.response.code));
      }
      return {};
    case Action::kTimeout:
      if (!NonNegative(r.timeout_buffer_ms)) {
        return bad("timeout.buffer_ms", "a number >= 0", FormatNumber(r.timeout_buffer_ms));
      }
      return {};
    case Action::kDiskSpace:
      return r.diskspace_mb == 0 ? bad("diskspace.mb", "an integer > 0", "0") : "";
    case Action::kDenylist:
      if (r.denylist.empty()) {
        return bad("denylist", "a non-empty list of host regular expressions", "an empty list");
      }
      for (std::size_t i = 0; i < r.denylist.size(); ++i) {
        if (std::string problem = CheckRegex(r.denylist[i]); !problem.empty()) {
          return fmt::format("denylist[{}]: expected {}, got {}", i, problem, Quote(r.denylist[i]));
        }
      }
      return {};
    default:
      return {};
  }
}

// Empty if `r` (apart from its name's uniqueness) is sane.
std::string CheckRule(const Rule& r) {
  if (r.name.empty()) return "name: expected a non-empty string, got \"\"";
  auto index = static_cast<std::size_t>(r.action);
  if (r.action == Action::kNone || index >= kActionNameTable.size()) {
    return fmt::format("action: expected one of {}, got {}", ActionNames(),
                       r.action == Action::kNone ? "none" : std::to_string(index));
  }
  if (!(r.probability >= 0 && r.probability <= 1)) {
    return fmt::format("probability: expected a number in [0, 1], got {}",
                       FormatNumber(r.probability));
  }
  if (r.ttl_ns && *r.ttl_ns <= 0) {
    return fmt::format("ttl: expected a duration > 0, got {}ns", *r.ttl_ns);
  }
  if (r.armed_at && !r.ttl_ns) {
    return fmt::format("armed_at: expected only with a ttl (it says when the ttl starts), got {}",
                       FormatTimestamp(*r.armed_at));
  }
  if (r.phase != Phase::kDefault && !PhaseFromName(PhaseName(r.phase))) {
    return fmt::format("phase: expected {}, got {}", PhaseNames(), static_cast<int>(r.phase));
  }
  if (!PhaseAllowed(r.action, r.phase)) return "phase: " + PhaseMismatch(r.action, r.phase);
  return CheckParameters(r);
}

// Writes YAML in the one layout ToYaml uses: block mappings, every string
// double-quoted so that it reads back as a string.
class YamlWriter {
 public:
  void Key(int indent, std::string_view key) {
    out_.append(static_cast<std::size_t>(indent), ' ');
    out_ += key;
    out_ += ':';
  }
  void Line(int indent, std::string_view key, std::string_view value) {
    Key(indent, key);
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void String(int indent, std::string_view key, std::string_view value) {
    Line(indent, key, Escape(value));
  }
  void Map(int indent, std::string_view key, const std::map<std::string, std::string>& m) {
    Key(indent, key);
    out_ += '\n';
    for (const auto& [k, v] : m) Line(indent + 2, Escape(k), Escape(v));
  }
  void Raw(std::string_view s) { out_ += s; }
  std::string Take() { return std::move(out_); }

  // A YAML double-quoted scalar that reads back as exactly `s`.
  static std::string Escape(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          if (u < 0x20 || u == 0x7F) {
            out += fmt::format("\\x{:02x}", u);
          } else {
            out += c;
          }
      }
    }
    out += '"';
    return out;
  }

 private:
  std::string out_;
};

void WriteParameters(const Rule& r, YamlWriter* w) {
  constexpr int kIn = 4;
  constexpr int kIn2 = 6;
  const LatencySpec& l = r.latency;
  switch (r.action) {
    case Action::kLatency:
      w->Key(kIn, "latency");
      w->Raw("\n");
      if (l.shape == LatencySpec::Shape::kUniform) {
        w->Line(kIn2, "min_ms", FormatNumber(l.min_ms));
        w->Line(kIn2, "max_ms", FormatNumber(l.max_ms));
      } else if (l.shape == LatencySpec::Shape::kNormal) {
        w->Line(kIn2, "mean_ms", FormatNumber(l.mean_ms));
        w->Line(kIn2, "stddev_ms", FormatNumber(l.stddev_ms));
      } else {
        w->Line(kIn2, "ms", FormatNumber(l.ms));
        if (l.jitter_ms != 0) w->Line(kIn2, "jitter_ms", FormatNumber(l.jitter_ms));
      }
      break;
    case Action::kError: {
      const ErrorSpec defaults;
      if (r.error == defaults) break;
      w->Key(kIn, "error");
      w->Raw("\n");
      if (r.error.type != defaults.type) w->String(kIn2, "type", r.error.type);
      if (r.error.message != defaults.message) w->String(kIn2, "message", r.error.message);
      break;
    }
    case Action::kStatus:
      w->Key(kIn, "status");
      w->Raw("\n");
      w->Line(kIn2, "code", std::to_string(r.response.code));
      if (!r.response.headers.empty()) w->Map(kIn2, "headers", r.response.headers);
      if (!r.response.content_type.empty()) {
        w->String(kIn2, "content_type", r.response.content_type);
      }
      if (!r.response.body.empty()) w->String(kIn2, "body", r.response.body);
      break;
    case Action::kBody:
      if (!r.response.body.empty()) w->String(kIn, "body", r.response.body);
      break;
    case Action::kTimeout:
      if (r.timeout_buffer_ms != 0) {
        w->Key(kIn, "timeout");
        w->Raw("\n");
        w->Line(kIn2, "buffer_ms", FormatNumber(r.timeout_buffer_ms));
      }
      break;
    case Action::kDiskSpace:
      w->Key(kIn, "diskspace");
      w->Raw("\n");
      w->Line(kIn2, "mb", std::to_string(r.diskspace_mb));
      break;
    case Action::kDenylist:
      w->Key(kIn, "denylist");
      w->Raw(r.denylist.empty() ? " []\n" : "\n");
      for (const std::string& host : r.denylist) {
        w->Raw("      - ");
        w->Raw(YamlWriter::Escape(host));
        w->Raw("\n");
      }
      break;
    default:
      break;
  }
}

void WriteRule(const Rule& r, std::optional<TimeNs> now, YamlWriter* w) {
  constexpr int kIn = 4;
  const Rule defaults;
  w->Raw("  - ");
  w->String(0, "name", r.name);
  if (now) {
    if (std::string note = ExpiredNote(r, *now); !note.empty()) {
      w->Raw(fmt::format("    # {}\n", note));
    }
  }
  if (r.target != defaults.target) w->String(kIn, "target", r.target);
  if (!r.tags.empty()) w->Map(kIn, "tags", r.tags);
  w->Line(kIn, "action", ActionName(r.action));
  if (r.phase != Phase::kDefault) w->Line(kIn, "phase", PhaseName(r.phase));
  WriteParameters(r, w);
  if (!r.enabled) w->Line(kIn, "enabled", "false");
  if (r.probability != defaults.probability) {
    w->Line(kIn, "probability", FormatNumber(r.probability));
  }
  if (r.every != 0) w->Line(kIn, "every", std::to_string(r.every));
  if (r.skip != 0) w->Line(kIn, "skip", std::to_string(r.skip));
  if (r.limit != 0) w->Line(kIn, "limit", std::to_string(r.limit));
  if (r.ttl_ns) w->String(kIn, "ttl", DurationText(*r.ttl_ns));
  if (r.expires_at) w->String(kIn, "expires_at", FormatTimestamp(*r.expires_at));
  if (r.armed_at) w->String(kIn, "armed_at", FormatTimestamp(*r.armed_at));
}

}  // namespace

// --- Public API -------------------------------------------------------------

std::string_view ActionName(Action a) {
  auto i = static_cast<std::size_t>(a);
  return i < kActionNameTable.size() ? kActionNameTable[i] : "unknown";
}

std::optional<Action> ActionFromName(std::string_view name) {
  for (std::size_t i = 0; i < kActionNameTable.size(); ++i) {
    if (kActionNameTable[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kBefore:
      return "before";
    case Phase::kAfter:
      return "after";
    case Phase::kInit:
      return "init";
    default:
      return "default";
  }
}

std::string_view PhaseNames() { return "before, after or init"; }

bool PhaseAllowed(Action action, Phase phase) {
  return phase != Phase::kInit || action == Action::kLatency || action == Action::kError;
}

std::string_view ActionNames() {
  return "latency, error, status, body, timeout, drop, reset, throttle, diskspace, denylist";
}

Result<RuleSet> ParseRules(std::string_view text, std::string_view source, Format format) {
  try {
    if (format == Format::kAuto) format = DetectFormat(text);
    if (format == Format::kJson) {
      if (Status s = CheckJsonSyntax(text, source); !s.ok()) return s;
    }
    return ParseTree(text, source);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: cannot read rules: {}", source, e.what()));
  } catch (...) {
    return Status::InvalidArgument(fmt::format("{}: cannot read rules", source));
  }
}

Format FormatOfPath(std::string_view path) {
  if (path.ends_with(".json")) return Format::kJson;
  if (path.ends_with(".yaml") || path.ends_with(".yml")) return Format::kYaml;
  return Format::kAuto;
}

Status ValidateRules(const RuleSet& rules, std::string_view source) {
  std::map<std::string_view, std::size_t> names;
  for (std::size_t i = 0; i < rules.rules.size(); ++i) {
    const Rule& r = rules.rules[i];
    std::string problem = CheckRule(r);
    if (problem.empty() && !names.emplace(r.name, i).second) {
      problem = fmt::format("name: expected a unique name, got {} (also the name of faults[{}])",
                            Quote(r.name), names[r.name]);
    }
    if (!problem.empty()) {
      return Status::InvalidArgument(fmt::format("{}: {}: {}", source, RuleLabel(r, i), problem));
    }
  }
  return Status::Ok();
}

std::string ToYaml(const RuleSet& rules, std::optional<TimeNs> now) {
  if (rules.rules.empty()) return "faults: []\n";
  YamlWriter w;
  w.Raw("faults:\n");
  for (const Rule& r : rules.rules) WriteRule(r, now, &w);
  return w.Take();
}

Result<std::int64_t> ParseDuration(std::string_view text) {
  std::size_t i = 0;
  std::string_view whole, fraction;
  if (!ReadDecimalParts(text, &i, &whole, &fraction)) {
    return Status::InvalidArgument(DurationError(text));
  }
  std::int64_t total = 0;
  if (i == text.size()) {  // a plain number of seconds
    if (!ScaleDecimal(whole, fraction, kNsPerSec, &total)) {
      return Status::InvalidArgument(DurationError(text));
    }
    return total;
  }
  i = 0;
  while (i < text.size()) {
    if (!ReadDecimalParts(text, &i, &whole, &fraction)) {
      return Status::InvalidArgument(DurationError(text));
    }
    std::string_view rest = text.substr(i);
    std::int64_t unit = 0;
    std::size_t len = 0;
    if (rest.starts_with("ns")) {
      unit = 1, len = 2;
    } else if (rest.starts_with("us")) {
      unit = kNsPerUs, len = 2;
    } else if (rest.starts_with("ms")) {
      unit = kNsPerMs, len = 2;
    } else if (rest.starts_with("s")) {
      unit = kNsPerSec, len = 1;
    } else if (rest.starts_with("m")) {
      unit = kNsPerMin, len = 1;
    } else if (rest.starts_with("h")) {
      unit = kNsPerHour, len = 1;
    } else {
      return Status::InvalidArgument(DurationError(text));
    }
    i += len;
    std::int64_t part = 0;
    if (!ScaleDecimal(whole, fraction, unit, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return Status::InvalidArgument(
          fmt::format("expected a duration of at most 292 years, got {}", Quote(text)));
    }
  }
  return total;
}

std::string FormatDuration(std::int64_t ns) { return DurationText(ns); }

Result<TimeNs> ParseTimestamp(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("expected {}{}, got {}", kTimestampExpected, why, Quote(text)));
  };
  std::size_t i = 0;
  unsigned year, month, day, hour, minute, second;
  if (!ReadFixedDigits(text, &i, 4, &year) || !Expect(text, &i, '-') ||
      !ReadFixedDigits(text, &i, 2, &month) || !Expect(text, &i, '-') ||
      !ReadFixedDigits(text, &i, 2, &day) || !(Expect(text, &i, 'T') || Expect(text, &i, 't')) ||
      !ReadFixedDigits(text, &i, 2, &hour) || !Expect(text, &i, ':') ||
      !ReadFixedDigits(text, &i, 2, &minute) || !Expect(text, &i, ':') ||
      !ReadFixedDigits(text, &i, 2, &second)) {
    return fail("");
  }
  std::int64_t nanos = 0;
  if (Expect(text, &i, '.')) {
    std::size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    std::size_t digits = i - start;
    if (digits == 0 || digits > 9) return fail(" (1 to 9 digits after the point)");
    for (std::size_t k = 0; k < 9; ++k) {
      nanos = nanos * 10 + (k < digits ? text[start + k] - '0' : 0);
    }
  }
  std::string_view zone = text.substr(i);
  if (zone != "Z" && zone != "z" && zone != "+00:00") return fail(" (ending in Z or +00:00)");
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return fail(" (a date and time that exist)");
  }
  // In 128 bits: the earliest TimeNs has a negative whole second part that
  // alone would not fit.
  const Int128 ns = (static_cast<Int128>(DaysFromCivil(year, month, day)) * 86400 +
                     static_cast<Int128>(hour) * 3600 + static_cast<Int128>(minute) * 60 + second) *
                        kNsPerSec +
                    nanos;
  if (ns < std::numeric_limits<TimeNs>::min() || ns > std::numeric_limits<TimeNs>::max()) {
    return fail(" (between 1677 and 2262)");
  }
  return static_cast<TimeNs>(ns);
}

std::string FormatTimestamp(TimeNs t) {
  // Floor division, so that times before 1970 format correctly.
  std::int64_t seconds = t / kNsPerSec;
  std::int64_t nanos = t % kNsPerSec;
  if (nanos < 0) {
    nanos += kNsPerSec;
    --seconds;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  std::int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", year, month, day,
                                rest / 3600, rest / 60 % 60, rest % 60);
  if (nanos != 0) {
    std::string frac = fmt::format("{:09}", nanos);
    frac.erase(frac.find_last_not_of('0') + 1);
    out += '.';
    out += frac;
  }
  out += 'Z';
  return out;
}

bool GlobMatch(std::string_view pattern, std::string_view name) {
  // Two pointers; on a mismatch, go back to just after the last '*' and let
  // it swallow one more character. Earlier stars never need revisiting, so
  // this is O(|pattern| * |name|) at worst, with no recursion.
  std::size_t p = 0;
  std::size_t n = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_n = n;
      continue;
    }
    if (p < pattern.size()) {
      bool matched = false;
      std::size_t next = MatchUnit(pattern, p, name[n], &matched);
      if (matched) {
        p = next;
        ++n;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace faultline
