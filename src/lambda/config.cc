// The functions.yaml reader.
//
//   text ──► yaml-cpp: one-document check, then the node tree
//        ──► ConfigReader: types, ranges, positions, paths resolved
//        ──► ValidateEmulatorConfig ──► EmulatorConfig
//
// The reading shares core/yaml_read.h with src/core/rules.cc: every value
// keeps its yaml-cpp mark so that each error says
// "source:line:col: field.path: expected X, got Y". yaml-cpp's exceptions
// stop here.
#include "lambda/config.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <span>
#include <system_error>
#include <utility>

#include "core/text.h"
#include "core/yaml_read.h"
#include "faultline/rules.h"

namespace faultline::lambda {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTopKeys[] = {"account_concurrency", "unreserved_minimum",
                                         "idle_timeout", "time_scale", "functions"};
constexpr std::string_view kFunctionKeys[] = {
    "name",
    "command",
    "handler",
    "runtime",
    "timeout",
    "memory",
    "reserved_concurrency",
    "environment",
    "working_dir",
    "extensions",
    "exec_wrapper",
    "dead_letter",
};

using internal::kTopLevel;  // the path of the document itself
constexpr std::string_view kExecWrapperVariable = "AWS_LAMBDA_EXEC_WRAPPER";

constexpr std::string_view kCommandExpected =
    "a command: a non-empty string (run by /bin/sh -c) or a non-empty list (the argv)";
constexpr std::string_view kDurationExpected =
    "a duration like \"30s\", \"10m\", \"1h30m\" or a number of seconds";

using internal::AllDigits;
using internal::IsDigit;
using internal::IsLetter;
using internal::IsSpace;
using internal::Quote;

// --- Checks shared by the reader and ValidateFunctionConfig ------------------
//
// Each returns what was expected, or "" when the value is fine.

std::string CheckName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxFunctionNameLength &&
            std::all_of(name.begin(), name.end(),
                        [](char c) { return IsLetter(c) || IsDigit(c) || c == '-' || c == '_'; });
  return ok ? "" : "a function name of 1 to 64 letters, digits, '-' or '_'";
}

std::string CheckHandler(std::string_view handler) {
  bool ok = !handler.empty() && handler.size() <= kMaxHandlerLength &&
            std::none_of(handler.begin(), handler.end(), IsSpace);
  return ok ? "" : "a handler of 1 to 128 characters without whitespace";
}

std::string CheckRuntime(std::string_view runtime) {
  bool ok = !runtime.empty() && runtime.size() <= 64 && runtime[0] >= 'a' && runtime[0] <= 'z' &&
            std::all_of(runtime.begin(), runtime.end(),
                        [](char c) { return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '.'; });
  return ok ? ""
            : "a runtime identifier like \"provided.al2023\", \"python3.12\" or \"nodejs22.x\"";
}

std::string TimeoutExpected() {
  return fmt::format("an integer number of seconds in [{}, {}]", kMinTimeout.count() / 1000,
                     kMaxTimeout.count() / 1000);
}

std::string MemoryExpected() {
  return fmt::format("an integer number of MB in [{}, {}]", kMinMemoryMb, kMaxMemoryMb);
}

std::string ReservedExpected(int account_concurrency) {
  return fmt::format("an integer in [0, {}] (account_concurrency)", account_concurrency);
}

std::string CheckEnvironmentKey(std::string_view key) {
  bool ok = key.size() >= 2 && IsLetter(key[0]) && std::all_of(key.begin(), key.end(), [](char c) {
              return IsLetter(c) || IsDigit(c) || c == '_';
            });
  return ok ? "" : "a variable name matching [a-zA-Z][a-zA-Z0-9_]+";
}

// The key of functions.yaml that sets a reserved variable, or "".
std::string_view ReservedKeyHint(std::string_view key) {
  if (key == "_HANDLER") return "handler";
  if (key == "AWS_LAMBDA_FUNCTION_NAME") return "name";
  if (key == "AWS_LAMBDA_FUNCTION_MEMORY_SIZE") return "memory";
  if (key == "AWS_EXECUTION_ENV") return "runtime";
  if (key == "LAMBDA_TASK_ROOT") return "working_dir";
  return "";
}

bool IsReservedKey(std::string_view key) {
  const auto& reserved = ReservedEnvironmentKeys();
  return std::find(reserved.begin(), reserved.end(), key) != reserved.end();
}

std::string ReservedKeyMessage(std::string_view key) {
  std::string_view hint = ReservedKeyHint(key);
  return fmt::format("{} is reserved for the emulator, as on AWS{}", key,
                     hint.empty() ? "" : fmt::format(" (set the {} key instead)", hint));
}

std::size_t EnvironmentBytes(const std::map<std::string, std::string>& env) {
  std::size_t n = 0;
  for (const auto& [k, v] : env) n += k.size() + v.size();
  return n;
}

std::string EnvironmentSizeExpected() {
  return fmt::format("at most {} bytes of names and values (AWS's limit)", kMaxEnvironmentBytes);
}

// "" if `argv` can be started: not empty, and argv[0] not empty.
std::string CheckArgv(const std::vector<std::string>& argv) {
  return !argv.empty() && !argv[0].empty() ? "" : std::string(kCommandExpected);
}

// --- Paths ------------------------------------------------------------------

// `p` normalised, without a trailing '/' (unless it is the root).
std::string Normal(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (!n.has_filename() && n.has_parent_path() && n != n.root_path()) n = n.parent_path();
  return n.string();
}

// `dir` made absolute against the current directory.
std::string AbsoluteDir(const std::string& dir) {
  fs::path p = dir.empty() ? fs::path(".") : fs::path(dir);
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  return Normal(ec ? p : absolute);
}

// `p` resolved against `base` (absolute).
std::string Resolve(const std::string& base, const std::string& p) {
  fs::path path(p);
  return Normal(path.is_absolute() ? path : fs::path(base) / path);
}

// A program name is a path when it has a '/'; else it is found on PATH.
std::string ResolveProgram(const std::string& base, const std::string& program) {
  return program.find('/') == std::string::npos ? program : Resolve(base, program);
}

// --- Reading the tree -------------------------------------------------------

using Kind = internal::YamlKind;
using internal::Field;
using internal::KindOf;
using internal::Mapping;
using internal::MarkOr;

class ConfigReader : public internal::YamlReader {
 public:
  ConfigReader(std::string_view source, std::string base_dir)
      : YamlReader(source), base_dir_(std::move(base_dir)) {}

  Status ReadDocument(const YAML::Node& root, EmulatorConfig* out) const;

 private:
  Status Missing(const Mapping& m, std::string_view path, std::string_view key,
                 std::string_view why) const {
    return Error(m.mark(), fmt::format("{}: missing key \"{}\" ({})", path, key, why));
  }

  Status ReadInt(const Field& f, int lo, int hi, std::string_view expected, int* out) const;
  Status ReadDuration(const Field& f, std::chrono::milliseconds* out) const;
  Status ReadCommand(const Field& f, std::vector<std::string>* out) const;

  Status ReadFunctions(const Field& list, int account_concurrency,
                       std::vector<FunctionConfig>* out) const;
  // Also returns the fields the whole-list checks point at.
  Status ReadFunction(const Field& f, int account_concurrency, FunctionConfig* out,
                      Field* name_field, std::optional<Field>* reserved_field) const;
  Status ReadFunctionScalars(const Mapping& m, int account_concurrency, FunctionConfig* out) const;
  Status ReadEnvironment(const Field& f, std::map<std::string, std::string>* out) const;
  Status ReadExtensions(const Field& f, std::vector<std::vector<std::string>>* out) const;
  Status ReadExecWrapper(const Mapping& m, FunctionConfig* out) const;

  std::string base_dir_;
};

Status ConfigReader::ReadInt(const Field& f, int lo, int hi, std::string_view expected,
                             int* out) const {
  if (KindOf(f.node) != Kind::kNumber) return Expected(f, expected);
  std::string_view s = f.node.Scalar();
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (!AllDigits(s)) return Expected(f, expected);
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    return Expected(f, expected);
  }
  *out = v;
  return Status::Ok();
}

Status ConfigReader::ReadDuration(const Field& f, std::chrono::milliseconds* out) const {
  Kind kind = KindOf(f.node);
  if (kind != Kind::kString && kind != Kind::kNumber) return Expected(f, kDurationExpected);
  Result<std::int64_t> ns = ParseDuration(f.node.Scalar());
  if (!ns.ok()) return Error(f.mark, fmt::format("{}: {}", f.path, ns.status().message()));
  if (*ns < 1'000'000) return Expected(f, "a duration of at least 1ms");
  *out = std::chrono::milliseconds(*ns / 1'000'000);
  return Status::Ok();
}

Status ConfigReader::ReadCommand(const Field& f, std::vector<std::string>* out) const {
  Kind kind = KindOf(f.node);
  if (kind == Kind::kString) {
    const std::string& s = f.node.Scalar();
    if (std::all_of(s.begin(), s.end(), IsSpace)) return Expected(f, kCommandExpected);
    *out = {"/bin/sh", "-c", s};
    return Status::Ok();
  }
  if (kind != Kind::kList || f.node.size() == 0) return Expected(f, kCommandExpected);
  std::vector<std::string> argv;
  for (std::size_t i = 0; i < f.node.size(); ++i) {
    YAML::Node n = f.node[i];
    Field item{n, MarkOr(n, f.mark), fmt::format("{}[{}]", f.path, i)};
    std::string arg;
    if (i == 0) {
      if (KindOf(n) != Kind::kString || n.Scalar().empty()) {
        return Expected(item, "a program: a path or a name to look up on PATH");
      }
      arg = ResolveProgram(base_dir_, n.Scalar());
    } else if (Status s = ReadScalarText(item, &arg); !s.ok()) {
      return s;
    }
    argv.push_back(std::move(arg));
  }
  *out = std::move(argv);
  return Status::Ok();
}

Status ConfigReader::ReadDocument(const YAML::Node& root, EmulatorConfig* out) const {
  constexpr std::string_view kWhat = "a mapping with key \"functions\" (a list of functions)";
  Field doc{root, root.Mark(), std::string(kTopLevel)};
  Mapping top;
  if (Status s = ReadMapping(doc, kTopKeys, kWhat, &top); !s.ok()) return s;
  EmulatorConfig config;
  if (auto f = top.Get("account_concurrency")) {
    std::string what = fmt::format("an integer in [1, {}]", kMaxAccountConcurrency);
    if (Status s = ReadInt(*f, 1, kMaxAccountConcurrency, what, &config.account_concurrency);
        !s.ok()) {
      return s;
    }
  }
  if (auto f = top.Get("unreserved_minimum")) {
    int minimum = 0;
    std::string what =
        fmt::format("an integer in [0, {}] (account_concurrency)", config.account_concurrency);
    if (Status s = ReadInt(*f, 0, config.account_concurrency, what, &minimum); !s.ok()) return s;
    config.unreserved_minimum = minimum;
  }
  if (auto f = top.Get("idle_timeout")) {
    if (Status s = ReadDuration(*f, &config.idle_timeout); !s.ok()) return s;
  }
  if (auto f = top.Get("time_scale")) {
    constexpr std::string_view kScale = "a number in (0, 1] (1: AWS's timing)";
    if (KindOf(f->node) != Kind::kNumber) return Expected(*f, kScale);
    double scale = 0;
    try {
      scale = f->node.as<double>();
    } catch (const YAML::Exception&) {
      return Expected(*f, kScale);
    }
    if (!(scale > 0 && scale <= 1)) return Expected(*f, kScale);
    config.time_scale = scale;
  }
  std::optional<Field> functions = top.Get("functions");
  if (!functions) return Missing(top, kTopLevel, "functions", "a list of functions");
  if (Status s = ReadFunctions(*functions, config.account_concurrency, &config.functions);
      !s.ok()) {
    return s;
  }
  *out = std::move(config);
  return Status::Ok();
}

Status ConfigReader::ReadFunctions(const Field& list, int account_concurrency,
                                   std::vector<FunctionConfig>* out) const {
  if (list.node.IsNull()) return Status::Ok();  // "functions:" with nothing after it
  if (!list.node.IsSequence()) return Expected(list, "a list of functions");
  std::vector<FunctionConfig> functions;
  std::map<std::string, std::size_t> names;
  int reserved_total = 0;
  for (std::size_t i = 0; i < list.node.size(); ++i) {
    YAML::Node n = list.node[i];
    Field f{n, MarkOr(n, list.mark), fmt::format("functions[{}]", i)};
    FunctionConfig function;
    Field name;
    std::optional<Field> reserved;
    if (Status s = ReadFunction(f, account_concurrency, &function, &name, &reserved); !s.ok()) {
      return s;
    }
    auto [first, inserted] = names.emplace(function.name, i);
    if (!inserted) {
      return Expected(name, fmt::format("a unique name (functions[{}] has it too)", first->second));
    }
    // As on AWS, reserved concurrency comes out of the account's pool.
    int r = function.reserved_concurrency.value_or(0);
    if (reserved && reserved_total + r > account_concurrency) {
      return Expected(*reserved, fmt::format("at most {} (account_concurrency {} minus {} "
                                             "reserved by the functions before)",
                                             account_concurrency - reserved_total,
                                             account_concurrency, reserved_total));
    }
    reserved_total += r;
    functions.push_back(std::move(function));
  }
  *out = std::move(functions);
  return Status::Ok();
}

Status ConfigReader::ReadFunction(const Field& f, int account_concurrency, FunctionConfig* out,
                                  Field* name_field, std::optional<Field>* reserved_field) const {
  Mapping m;
  if (Status s = ReadMapping(f, kFunctionKeys, "a mapping (a function)", &m); !s.ok()) return s;
  FunctionConfig function;
  function.working_dir = base_dir_;
  std::optional<Field> name = m.Get("name");
  if (!name) return Missing(m, f.path, "name", "the function's name");
  if (Status s = ReadString(*name, &function.name); !s.ok()) return s;
  if (std::string e = CheckName(function.name); !e.empty()) return Expected(*name, e);
  *name_field = *name;
  std::optional<Field> command = m.Get("command");
  if (!command) return Missing(m, f.path, "command", kCommandExpected);
  if (Status s = ReadCommand(*command, &function.command); !s.ok()) return s;
  if (Status s = ReadFunctionScalars(m, account_concurrency, &function); !s.ok()) return s;
  if (auto e = m.Get("environment")) {
    if (Status s = ReadEnvironment(*e, &function.environment); !s.ok()) return s;
  }
  if (auto e = m.Get("extensions")) {
    if (Status s = ReadExtensions(*e, &function.extensions); !s.ok()) return s;
  }
  if (Status s = ReadExecWrapper(m, &function); !s.ok()) return s;
  *reserved_field = m.Get("reserved_concurrency");
  *out = std::move(function);
  return Status::Ok();
}

Status ConfigReader::ReadFunctionScalars(const Mapping& m, int account_concurrency,
                                         FunctionConfig* out) const {
  if (auto f = m.Get("handler")) {
    if (Status s = ReadString(*f, &out->handler); !s.ok()) return s;
    if (std::string e = CheckHandler(out->handler); !e.empty()) return Expected(*f, e);
  }
  if (auto f = m.Get("runtime")) {
    if (Status s = ReadString(*f, &out->runtime); !s.ok()) return s;
    if (std::string e = CheckRuntime(out->runtime); !e.empty()) return Expected(*f, e);
  }
  if (auto f = m.Get("timeout")) {
    int seconds = 0;
    if (Status s =
            ReadInt(*f, static_cast<int>(kMinTimeout.count() / 1000),
                    static_cast<int>(kMaxTimeout.count() / 1000), TimeoutExpected(), &seconds);
        !s.ok()) {
      return s;
    }
    out->timeout = std::chrono::seconds(seconds);
  }
  if (auto f = m.Get("memory")) {
    if (Status s = ReadInt(*f, kMinMemoryMb, kMaxMemoryMb, MemoryExpected(), &out->memory_mb);
        !s.ok()) {
      return s;
    }
  }
  if (auto f = m.Get("reserved_concurrency")) {
    int r = 0;
    if (Status s = ReadInt(*f, 0, account_concurrency, ReservedExpected(account_concurrency), &r);
        !s.ok()) {
      return s;
    }
    out->reserved_concurrency = r;
  }
  if (auto f = m.Get("working_dir")) {
    std::string dir;
    if (Status s = ReadNonEmptyString(*f, &dir); !s.ok()) return s;
    out->working_dir = Resolve(base_dir_, dir);
  }
  if (auto f = m.Get("dead_letter")) {
    if (Status s = ReadNonEmptyString(*f, &out->dead_letter_target); !s.ok()) return s;
    if (std::string e = CheckDeadLetter(out->dead_letter_target); !e.empty()) {
      return Expected(*f, e);
    }
  }
  return Status::Ok();
}

Status ConfigReader::ReadEnvironment(const Field& f,
                                     std::map<std::string, std::string>* out) const {
  if (f.node.IsNull()) return Status::Ok();
  if (!f.node.IsMap()) return Expected(f, "a mapping of variable names to values");
  std::map<std::string, std::string> env;
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    Field key{it->first, it->first.Mark(), f.path};
    std::string name;
    if (Status s = ReadScalarText(key, &name); !s.ok()) return s;
    if (IsReservedKey(name)) {
      return Error(key.mark, fmt::format("{}: {}", f.path, ReservedKeyMessage(name)));
    }
    if (std::string e = CheckEnvironmentKey(name); !e.empty()) return Expected(key, e);
    if (env.count(name) != 0) {
      return Error(key.mark, fmt::format("{}: duplicate key {}", f.path, Quote(name)));
    }
    YAML::Node v = it->second;
    Field value{v, MarkOr(v, key.mark), fmt::format("{}.{}", f.path, name)};
    if (Status s = ReadScalarText(value, &env[name]); !s.ok()) return s;
  }
  if (std::size_t bytes = EnvironmentBytes(env); bytes > kMaxEnvironmentBytes) {
    return Error(f.mark, fmt::format("{}: expected {}, got {} bytes", f.path,
                                     EnvironmentSizeExpected(), bytes));
  }
  *out = std::move(env);
  return Status::Ok();
}

Status ConfigReader::ReadExtensions(const Field& f,
                                    std::vector<std::vector<std::string>>* out) const {
  if (f.node.IsNull()) return Status::Ok();
  if (!f.node.IsSequence()) return Expected(f, "a list of commands");
  if (f.node.size() > kMaxExtensions) {
    return Error(f.mark, fmt::format("{}: expected at most {} extensions (AWS's limit), got {}",
                                     f.path, kMaxExtensions, f.node.size()));
  }
  std::vector<std::vector<std::string>> extensions;
  for (std::size_t i = 0; i < f.node.size(); ++i) {
    YAML::Node n = f.node[i];
    Field item{n, MarkOr(n, f.mark), fmt::format("{}[{}]", f.path, i)};
    std::vector<std::string> argv;
    if (Status s = ReadCommand(item, &argv); !s.ok()) return s;
    extensions.push_back(std::move(argv));
  }
  *out = std::move(extensions);
  return Status::Ok();
}

// exec_wrapper, or AWS's way of saying the same: the environment variable.
Status ConfigReader::ReadExecWrapper(const Mapping& m, FunctionConfig* out) const {
  std::optional<Field> f = m.Get("exec_wrapper");
  auto from_env = out->environment.find(std::string(kExecWrapperVariable));
  if (from_env != out->environment.end()) {
    if (f) {
      return Error(f->mark, fmt::format("{}: given twice: also as environment.{}; keep one",
                                        f->path, kExecWrapperVariable));
    }
    std::string wrapper = std::move(from_env->second);
    out->environment.erase(from_env);
    if (wrapper.empty()) return Status::Ok();
    out->exec_wrapper = ResolveProgram(base_dir_, wrapper);
    return Status::Ok();
  }
  if (!f) return Status::Ok();
  std::string wrapper;
  if (Status s = ReadNonEmptyString(*f, &wrapper); !s.ok()) return s;
  out->exec_wrapper = ResolveProgram(base_dir_, wrapper);
  return Status::Ok();
}

Result<EmulatorConfig> ParseTree(std::string_view text, std::string_view source,
                                 const std::string& base_dir) {
  YAML::Node root;
  if (Status s = internal::LoadOneDocument(text, source, &root); !s.ok()) return s;
  EmulatorConfig config;
  ConfigReader reader(source, AbsoluteDir(base_dir));
  if (Status s = reader.ReadDocument(root, &config); !s.ok()) return s;
  // The reader checked everything already; this keeps the two in step.
  if (Status s = ValidateEmulatorConfig(config); !s.ok()) return s.WithContext(source);
  return config;
}

std::string FunctionLabel(const FunctionConfig& f, std::size_t i) {
  if (f.name.empty()) return fmt::format("functions[{}]", i);
  return fmt::format("functions[{}] ({})", i, Quote(f.name));
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

const std::vector<std::string_view>& ReservedEnvironmentKeys() {
  static const std::vector<std::string_view> kKeys = {
      "_HANDLER",
      "_X_AMZN_TRACE_ID",
      "AWS_EXECUTION_ENV",
      "AWS_LAMBDA_FUNCTION_NAME",
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
      "AWS_LAMBDA_FUNCTION_VERSION",
      "AWS_LAMBDA_INITIALIZATION_TYPE",
      "AWS_LAMBDA_LOG_GROUP_NAME",
      "AWS_LAMBDA_LOG_STREAM_NAME",
      "AWS_LAMBDA_RUNTIME_API",
      "LAMBDA_TASK_ROOT",
      "LAMBDA_RUNTIME_DIR",
      "_FAULTLINE_ENVIRONMENT",  // tags an environment's processes (environment_pool.cc)
  };
  return kKeys;
}

Status ValidateFunctionConfig(const FunctionConfig& function, int account_concurrency) {
  auto bad = [](std::string_view key, std::string_view expected, std::string_view got) {
    return Status::InvalidArgument(fmt::format("{}: expected {}, got {}", key, expected, got));
  };
  const FunctionConfig& f = function;
  if (std::string e = CheckName(f.name); !e.empty()) return bad("name", e, Quote(f.name));
  if (std::string e = CheckArgv(f.command); !e.empty()) {
    return bad("command", e, f.command.empty() ? "an empty list" : "an empty program");
  }
  if (!f.handler.empty()) {
    if (std::string e = CheckHandler(f.handler); !e.empty()) {
      return bad("handler", e, Quote(f.handler));
    }
  }
  if (std::string e = CheckRuntime(f.runtime); !e.empty()) {
    return bad("runtime", e, Quote(f.runtime));
  }
  if (f.timeout < kMinTimeout || f.timeout > kMaxTimeout || f.timeout.count() % 1000 != 0) {
    return bad("timeout", TimeoutExpected(), fmt::format("{}ms", f.timeout.count()));
  }
  if (f.memory_mb < kMinMemoryMb || f.memory_mb > kMaxMemoryMb) {
    return bad("memory", MemoryExpected(), std::to_string(f.memory_mb));
  }
  if (f.reserved_concurrency &&
      (*f.reserved_concurrency < 0 || *f.reserved_concurrency > account_concurrency)) {
    return bad("reserved_concurrency", ReservedExpected(account_concurrency),
               std::to_string(*f.reserved_concurrency));
  }
  for (const auto& [key, value] : f.environment) {
    if (IsReservedKey(key)) {
      return Status::InvalidArgument(fmt::format("environment: {}", ReservedKeyMessage(key)));
    }
    if (std::string e = CheckEnvironmentKey(key); !e.empty()) {
      return bad("environment", e, Quote(key));
    }
  }
  if (std::size_t bytes = EnvironmentBytes(f.environment); bytes > kMaxEnvironmentBytes) {
    return bad("environment", EnvironmentSizeExpected(), fmt::format("{} bytes", bytes));
  }
  if (f.extensions.size() > kMaxExtensions) {
    return bad("extensions", fmt::format("at most {} extensions (AWS's limit)", kMaxExtensions),
               std::to_string(f.extensions.size()));
  }
  for (std::size_t i = 0; i < f.extensions.size(); ++i) {
    if (std::string e = CheckArgv(f.extensions[i]); !e.empty()) {
      return bad(fmt::format("extensions[{}]", i), e,
                 f.extensions[i].empty() ? "an empty list" : "an empty program");
    }
  }
  return Status::Ok();
}

int UnreservedMinimum(const EmulatorConfig& config) {
  return config.unreserved_minimum.value_or(std::min(100, config.account_concurrency));
}

std::string CheckDeadLetter(const std::string& target) {
  if (target.starts_with("file:///")) return "";
  for (std::string_view service : {"sqs", "sns", "lambda"}) {
    if (target.starts_with("arn:aws:" + std::string(service) + ":")) return "";
  }
  return "a dead-letter target: an SQS queue or SNS topic ARN (written to the sinks "
         "directory), a function's ARN, or a file:///absolute/path.jsonl";
}

Status ValidateEmulatorConfig(const EmulatorConfig& config) {
  if (config.account_concurrency < 1 || config.account_concurrency > kMaxAccountConcurrency) {
    return Status::InvalidArgument(
        fmt::format("account_concurrency: expected an integer in [1, {}], got {}",
                    kMaxAccountConcurrency, config.account_concurrency));
  }
  if (config.unreserved_minimum &&
      (*config.unreserved_minimum < 0 || *config.unreserved_minimum > config.account_concurrency)) {
    return Status::InvalidArgument(
        fmt::format("unreserved_minimum: expected an integer in [0, {}] (account_concurrency), "
                    "got {}",
                    config.account_concurrency, *config.unreserved_minimum));
  }
  if (!(config.time_scale > 0 && config.time_scale <= 1)) {
    return Status::InvalidArgument(
        fmt::format("time_scale: expected a number in (0, 1], got {}", config.time_scale));
  }
  if (config.idle_timeout < std::chrono::milliseconds(1)) {
    return Status::InvalidArgument(
        fmt::format("idle_timeout: expected a duration of at least 1ms, got {}ms",
                    config.idle_timeout.count()));
  }
  std::map<std::string_view, std::size_t> names;
  long long reserved = 0;
  for (std::size_t i = 0; i < config.functions.size(); ++i) {
    const FunctionConfig& f = config.functions[i];
    Status s = ValidateFunctionConfig(f, config.account_concurrency);
    if (s.ok() && !names.emplace(f.name, i).second) {
      s =
          Status::InvalidArgument(fmt::format("name: expected a unique name, got {} (also the "
                                              "name of functions[{}])",
                                              Quote(f.name), names[f.name]));
    }
    reserved += f.reserved_concurrency.value_or(0);
    if (s.ok() && reserved > config.account_concurrency) {
      s = Status::InvalidArgument(
          fmt::format("reserved_concurrency: expected the functions' total to be at most "
                      "account_concurrency ({}), got {}",
                      config.account_concurrency, reserved));
    }
    if (!s.ok()) return s.WithContext(FunctionLabel(f, i));
  }
  return Status::Ok();
}

Result<EmulatorConfig> ParseEmulatorConfig(std::string_view yaml, std::string_view source,
                                           const std::string& base_dir) {
  try {
    return ParseTree(yaml, source, base_dir);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: cannot read: {}", source, e.what()));
  } catch (...) {
    return Status::InvalidArgument(fmt::format("{}: cannot read", source));
  }
}

Result<EmulatorConfig> LoadEmulatorConfig(const std::string& path) {
  Result<std::string> text = internal::ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParseEmulatorConfig(*text, path, fs::path(path).parent_path().string());
}

bool IsOsOnlyRuntime(std::string_view runtime) { return runtime.starts_with("provided"); }

std::vector<std::string> LaunchArgv(const FunctionConfig& function) {
  if (function.exec_wrapper.empty() || IsOsOnlyRuntime(function.runtime)) return function.command;
  std::vector<std::string> argv;
  argv.reserve(function.command.size() + 1);
  argv.push_back(function.exec_wrapper);
  argv.insert(argv.end(), function.command.begin(), function.command.end());
  return argv;
}

std::optional<std::string> FindExecutable(const std::string& program,
                                          std::string_view search_path) {
  if (program.empty()) return std::nullopt;
  if (program.find('/') != std::string::npos) {
    if (IsExecutableFile(program)) return program;
    return std::nullopt;
  }
  if (search_path.empty()) return std::nullopt;
  std::size_t start = 0;
  while (start <= search_path.size()) {
    std::size_t end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    std::string_view dir = search_path.substr(start, end - start);
    std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, program);
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace faultline::lambda
