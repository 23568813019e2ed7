// CheckFaultlineProvider: a faultline provider's shape, before a run.
//
//   provider ─► func known? ─► arguments a mapping ─► each argument: known,
//   of its type (or text with "$": substitution decides) ─► required ones
//   there ─► rules parsed by the core parser, its field mapped onto the
//   experiment's path ("arguments.rules.faults[0].action")
#include <fmt/format.h>

#include <span>
#include <string>
#include <vector>

#include "core/text.h"
#include "experiment/document.h"
#include "experiment/native.h"
#include "experiment/native_internal.h"
#include "faultline/rules.h"

namespace faultline::experiment {

namespace {

using validate_internal::Describe;

enum class Kind { kString, kInt, kNumber, kDuration, kBool, kMapping, kRules, kAny };

struct ArgSpec {
  std::string_view name;
  Kind kind;
  bool required = false;
};

struct FuncSpec {
  std::string_view name;
  std::span<const ArgSpec> args;
};

constexpr ArgSpec kArm[] = {{"endpoint", Kind::kString},
                            {"token", Kind::kString},
                            {"rules", Kind::kRules},
                            {"file", Kind::kString},
                            {"ttl", Kind::kDuration}};
constexpr ArgSpec kClear[] = {{"endpoint", Kind::kString}, {"token", Kind::kString}};
constexpr ArgSpec kPut[] = {
    {"endpoint", Kind::kString}, {"function", Kind::kString, true}, {"reserved", Kind::kInt, true}};
constexpr ArgSpec kDelete[] = {{"endpoint", Kind::kString}, {"function", Kind::kString, true}};
constexpr ArgSpec kUpdate[] = {{"endpoint", Kind::kString},
                               {"function", Kind::kString, true},
                               {"timeout", Kind::kInt},
                               {"memory_size", Kind::kInt},
                               {"environment", Kind::kMapping}};
constexpr ArgSpec kMetrics[] = {{"endpoint", Kind::kString}, {"function", Kind::kString}};
constexpr ArgSpec kLoad[] = {
    {"url", Kind::kString, true}, {"connections", Kind::kInt},  {"duration", Kind::kDuration},
    {"rate", Kind::kNumber},      {"method", Kind::kString},    {"headers", Kind::kMapping},
    {"body", Kind::kAny},         {"timeout", Kind::kDuration}, {"check_reachable", Kind::kBool}};

constexpr FuncSpec kSpecs[] = {
    {"arm", kArm},
    {"clear", kClear},
    {"put-function-concurrency", kPut},
    {"delete-function-concurrency", kDelete},
    {"update-function-configuration", kUpdate},
    {"metrics", kMetrics},
    {"load", kLoad},
};

struct Out {
  std::vector<Problem>* problems;
  void Add(std::string path, std::string message) const {
    problems->push_back(Problem{std::move(path), std::move(message)});
  }
};

bool Substituted(const json& v) {
  return v.is_string() && v.get<std::string>().find('$') != std::string::npos;
}

std::string_view Expected(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string";
    case Kind::kInt:
      return "an integer";
    case Kind::kNumber:
      return "a number";
    case Kind::kDuration:
      return "a duration (\"30s\", \"5m\") or a number of seconds";
    case Kind::kBool:
      return "true or false";
    case Kind::kMapping:
      return "a mapping";
    case Kind::kRules:
      return "a rule set ({faults: [...]}), a list of rules or YAML text";
    case Kind::kAny:
      break;
  }
  return "a value";
}

bool HasKind(const json& v, Kind kind) {
  switch (kind) {
    case Kind::kString:
      return v.is_string();
    case Kind::kInt:
      return v.is_number_integer();
    case Kind::kNumber:
      return v.is_number();
    case Kind::kDuration:
      return (v.is_number() && v.get<double>() > 0) ||
             (v.is_string() && ParseDuration(v.get<std::string>()).ok());
    case Kind::kBool:
      return v.is_boolean();
    case Kind::kMapping:
      return v.is_object();
    case Kind::kRules:
      return v.is_object() || v.is_array() || v.is_string();
    case Kind::kAny:
      break;
  }
  return true;
}

void CheckRules(const Out& out, const json& rules, const std::string& at) {
  Result<RuleSet> parsed = native_internal::ParseInlineRules(rules, at);
  // Text substituted at run time may be what makes it parse.
  if (parsed.ok() || rules.dump().find('$') != std::string::npos) return;
  // "PATH: message" (PATH under `at`), or for text "AT:L:C: field: message".
  std::string_view m(parsed.status().message());
  if (rules.is_string()) {
    if (m.starts_with(at + ":")) m.remove_prefix(at.size() + 1);
    return out.Add(at, std::string(m));
  }
  const std::size_t sep = m.find(": ");
  if (sep == std::string_view::npos) return out.Add(at, std::string(m));
  out.Add(std::string(m.substr(0, sep)), std::string(m.substr(sep + 2)));
}

void CheckRuleFile(const Out& out, const std::string& file, const std::string& at) {
  if (file.find('$') != std::string::npos) return;
  Result<std::string> text = internal::ReadWholeFile(file);
  Result<RuleSet> parsed = text.ok() ? ParseRuleFile(*text, file) : Result<RuleSet>(text.status());
  if (!parsed.ok()) out.Add(at, parsed.status().message());
}

void CheckArg(const Out& out, const ArgSpec& spec, const json& value, const std::string& at) {
  if (value.is_null() || (Substituted(value) && spec.kind != Kind::kRules)) return;
  if (!HasKind(value, spec.kind)) {
    return out.Add(at, fmt::format("expected {}, got {}", Expected(spec.kind), Describe(value)));
  }
  if (spec.kind == Kind::kInt && value.get<std::int64_t>() < 0) {
    out.Add(at, "expected 0 or more, got " + Describe(value));
  } else if (spec.kind == Kind::kRules) {
    CheckRules(out, value, at);
  } else if (spec.name == "file") {
    CheckRuleFile(out, value.get<std::string>(), at);
  }
}

void CheckRequired(const Out& out, const FuncSpec& spec, const json& args, const std::string& at) {
  const auto given = [&](std::string_view key) {
    return args.contains(key) && !args[std::string(key)].is_null();
  };
  for (const ArgSpec& a : spec.args) {
    if (a.required && !given(a.name)) {
      out.Add(at, fmt::format("{} needs the argument \"{}\"", spec.name, a.name));
    }
  }
  if (spec.name == "arm" && given("rules") == given("file")) {
    out.Add(at, "arm needs either \"rules\" (inline) or \"file\" (a rule file), not both");
  }
  if (spec.name == "update-function-configuration" && !given("timeout") && !given("memory_size") &&
      !given("environment")) {
    out.Add(at, "update-function-configuration needs timeout, memory_size or environment");
  }
}

void CheckArguments(const Out& out, const FuncSpec& spec, const json& args, const std::string& at) {
  std::vector<std::string_view> known;
  for (const ArgSpec& a : spec.args) known.push_back(a.name);
  for (const auto& [key, value] : args.items()) {
    const ArgSpec* found = nullptr;
    for (const ArgSpec& a : spec.args) found = a.name == key ? &a : found;
    if (found != nullptr) {
      CheckArg(out, *found, value, ChildPath(at, key));
      continue;
    }
    const std::string_view guess = internal::Suggest(key, known);
    out.Add(
        ChildPath(at, key),
        fmt::format("{} has no argument {}{}; its arguments: {}", spec.name, internal::Quote(key),
                    guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess),
                    internal::JoinKeys(known)));
  }
  CheckRequired(out, spec, args, at);
}

}  // namespace

void CheckFaultlineProvider(const json& provider, const std::string& path,
                            std::vector<Problem>* problems) {
  const Out out{problems};
  const json* func = native_internal::Arg(provider, "func");
  std::vector<std::string_view> names;
  for (const FuncSpec& s : kSpecs) names.push_back(s.name);
  const std::string func_path = ChildPath(path, "func");
  if (func == nullptr || !func->is_string()) {
    return out.Add(func_path,
                   fmt::format("a faultline provider needs a func ({}), got {}",
                               internal::JoinKeys(names), Describe(func ? *func : json())));
  }
  const std::string name = func->get<std::string>();
  const FuncSpec* spec = nullptr;
  for (const FuncSpec& s : kSpecs) spec = s.name == name ? &s : spec;
  if (spec == nullptr) {
    const std::string_view guess = internal::Suggest(name, names);
    return out.Add(
        func_path,
        fmt::format("unknown func {}{}; the faultline provider has: {}", internal::Quote(name),
                    guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess),
                    internal::JoinKeys(names)));
  }
  const json* args = native_internal::Arg(provider, "arguments");
  const std::string args_path = ChildPath(path, "arguments");
  if (args != nullptr && !args->is_object()) {
    return out.Add(args_path, "expected a mapping, got " + Describe(*args));
  }
  CheckArguments(out, *spec, args != nullptr ? *args : json::object(), args_path);
}

}  // namespace faultline::experiment
