// The faultline provider's entry points: Run substitutes the arguments and
// dispatches by func, Undo by kind; and the argument readers every function
// shares.
#include "experiment/native.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <utility>

#include "experiment/native_internal.h"
#include "faultline/rules.h"

namespace faultline::experiment {

namespace native_internal {

namespace {

using Func = ProviderResult (*)(Shared&, const json&);

struct FuncEntry {
  std::string_view name;
  Func run;
};

constexpr FuncEntry kFuncs[] = {
    {"arm", Arm},
    {"clear", Clear},
    {"put-function-concurrency", PutConcurrency},
    {"delete-function-concurrency", DeleteConcurrency},
    {"update-function-configuration", UpdateConfiguration},
    {"metrics", Metrics},
    {"load", Load},
};

std::string TypeName(const json& v) {
  if (v.is_string()) return fmt::format("\"{}\"", v.get<std::string>());
  return v.dump();
}

Status BadArg(std::string_view key, std::string_view expected, const json& got) {
  return Status::InvalidArgument(
      fmt::format("arguments.{}: expected {}, got {}", key, expected, TypeName(got)));
}

// A whole-number string ("42", "-1"), as substitution into text gives one.
std::optional<std::int64_t> IntText(const std::string& s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> NumberText(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

const json* Arg(const json& args, std::string_view key) {
  if (!args.is_object()) return nullptr;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> StringArg(const json& args, std::string_view key,
                              std::optional<std::string> fallback) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (fallback) return *std::move(fallback);
    return Status::InvalidArgument(fmt::format("arguments.{}: missing", key));
  }
  if (!v->is_string()) return BadArg(key, "a string", *v);
  return v->get<std::string>();
}

Result<std::int64_t> IntArg(const json& args, std::string_view key,
                            std::optional<std::int64_t> fallback) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return Status::InvalidArgument(fmt::format("arguments.{}: missing", key));
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_string()) {
    if (auto n = IntText(v->get<std::string>())) return *n;
  }
  return BadArg(key, "an integer", *v);
}

Result<std::optional<double>> NumberArg(const json& args, std::string_view key) {
  const json* v = Arg(args, key);
  if (v == nullptr) return std::optional<double>();
  if (v->is_number()) return std::optional<double>(v->get<double>());
  if (v->is_string()) {
    if (auto n = NumberText(v->get<std::string>())) return std::optional<double>(*n);
  }
  return BadArg(key, "a number", *v);
}

Result<std::optional<std::chrono::nanoseconds>> DurationArg(const json& args,
                                                            std::string_view key) {
  using Out = std::optional<std::chrono::nanoseconds>;
  const json* v = Arg(args, key);
  if (v == nullptr) return Out();
  if (v->is_number()) {
    const double s = v->get<double>();
    if (!(s > 0) || s > 1e9) return BadArg(key, "a positive number of seconds", *v);
    return Out(std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9))));
  }
  if (!v->is_string()) return BadArg(key, "a duration (\"30s\", \"5m\", or seconds)", *v);
  Result<std::int64_t> ns = ParseDuration(v->get<std::string>());
  if (!ns.ok())
    return Status::InvalidArgument(fmt::format("arguments.{}: {}", key, ns.status().message()));
  return Out(std::chrono::nanoseconds(*ns));
}

ProviderResult Failure(std::string_view func, std::string_view endpoint, std::string_view what) {
  ProviderResult r;
  r.ok = false;
  r.error = endpoint.empty() ? fmt::format("{}: {}", func, what)
                             : fmt::format("{}: {}: {}", func, endpoint, what);
  return r;
}

ProviderResult Output(json output) {
  ProviderResult r;
  r.output = std::move(output);
  return r;
}

json BodyJson(const std::string& body) {
  if (body.empty()) return nullptr;
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return body;
  return parsed;
}

std::string Refused(const HttpAnswer& answer) {
  std::string body = answer.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  if (body.size() > 1000) body = body.substr(0, 1000) + "...";
  return fmt::format("answered {}{}{}", answer.status,
                     answer.error_type.empty() ? "" : " " + answer.error_type,
                     body.empty() ? "" : ": " + body);
}

Status RecordUndo(const Shared& shared, const json& undo, std::string_view description) {
  if (!shared.options.record_undo) {
    return Status::Internal(
        fmt::format("nowhere to record how to undo it ({}), so nothing was changed", description));
  }
  Status s = shared.options.record_undo(undo, description);
  if (!s.ok()) {
    return Status::IoError(fmt::format(
        "could not record how to undo it ({}): {}; nothing was changed", description, s.message()));
  }
  return Status::Ok();
}

ProviderResult RunFunc(Shared& shared, const json& provider, const Context& ctx) {
  const json* func = Arg(provider, "func");
  if (func == nullptr || !func->is_string()) {
    return Failure("faultline provider", "", "func: expected a string");
  }
  const std::string name = func->get<std::string>();
  const json* raw = Arg(provider, "arguments");
  const json args = raw == nullptr ? json::object() : Substitute(*raw, ctx);
  if (!args.is_object()) return Failure(name, "", "arguments: expected a mapping");
  for (const FuncEntry& f : kFuncs) {
    if (f.name == name) return f.run(shared, args);
  }
  return Failure("faultline provider", "", fmt::format("unknown func \"{}\"", name));
}

Status RunUndo(Shared& shared, const json& undo) {
  const json* kind = Arg(undo, "kind");
  if (kind == nullptr || !kind->is_string()) {
    return Status::InvalidArgument("undo: no kind in " + undo.dump());
  }
  const std::string k = kind->get<std::string>();
  if (k == "rules") return UndoRules(shared, undo);
  if (k == "function-concurrency") return UndoConcurrency(shared, undo);
  if (k == "function-configuration") return UndoConfiguration(shared, undo);
  return Status::InvalidArgument(fmt::format("undo: unknown kind \"{}\"", k));
}

}  // namespace native_internal

NativeProvider::NativeProvider(NativeOptions options)
    : shared_(std::make_unique<Shared>(std::move(options))) {}

NativeProvider::~NativeProvider() { Interrupt(); }

ProviderResult NativeProvider::Run(const json& provider, const Context& ctx) {
  return native_internal::RunFunc(*shared_, provider, ctx);
}

Status NativeProvider::Undo(const json& undo) { return native_internal::RunUndo(*shared_, undo); }

void NativeProvider::Interrupt() { native_internal::StopLoads(*shared_); }

Status Undo(const json& undo) {
  NativeProvider::Shared shared{NativeOptions{}};
  return native_internal::RunUndo(shared, undo);
}

std::vector<std::string_view> NativeFunctions() {
  std::vector<std::string_view> out;
  for (const auto& f : native_internal::kFuncs) out.push_back(f.name);
  return out;
}

}  // namespace faultline::experiment
