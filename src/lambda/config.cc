// The functions.yaml reader.
//
//   text ──► yaml-cpp: one-document check, then the node tree
//        ──► ConfigReader: types, ranges, positions, paths resolved
//        ──► ValidateEmulatorConfig ──► EmulatorConfig
//
// The reading follows src/core/rules.cc (whose helpers are private to it):
// every value keeps its yaml-cpp mark so that each error says
// "source:line:col: field.path: expected X, got Y". yaml-cpp's exceptions
// stop here.
#include "lambda/config.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>

#include "faultline/rules.h"

namespace faultline::lambda {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTopKeys[] = {"account_concurrency", "idle_timeout", "functions"};
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
};

constexpr std::string_view kTopLevel = "top level";  // the path of the document itself
constexpr std::string_view kExecWrapperVariable = "AWS_LAMBDA_EXEC_WRAPPER";

constexpr std::string_view kCommandExpected =
    "a command: a non-empty string (run by /bin/sh -c) or a non-empty list (the argv)";
constexpr std::string_view kDurationExpected =
    "a duration like \"30s\", \"10m\", \"1h30m\" or a number of seconds";

// --- Text helpers -----------------------------------------------------------

// `s` in double quotes, escaped and shortened, for "got ..." in messages.
std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 60;
  bool cut = false;
  if (s.size() > kMax) {
    std::size_t n = kMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
    cut = true;
  }
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  out += '"';
  return out;
}

std::string JoinKeys(std::span<const std::string_view> keys) {
  std::string out;
  for (std::string_view k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

// Levenshtein distance, for "did you mean"; only called on short strings.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string_view Suggest(std::string_view key, std::span<const std::string_view> known) {
  if (key.size() > 64) return {};
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view k : known) {
    std::size_t d = EditDistance(key, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// A decimal number as YAML 1.2's core schema writes it.
bool IsDecimal(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t whole = digits();
  std::size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits();
  }
  if (whole == 0 && fraction == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// .inf, .nan, 0x1f, 0o17: numbers to YAML, so "got" reports them as such.
bool IsOtherYamlNumber(std::string_view s) {
  static constexpr std::string_view kSpecial[] = {".inf",  ".Inf",  ".INF",  "+.inf",
                                                  "+.Inf", "+.INF", "-.inf", "-.Inf",
                                                  "-.INF", ".nan",  ".NaN",  ".NAN"};
  if (std::find(std::begin(kSpecial), std::end(kSpecial), s) != std::end(kSpecial)) return true;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    return std::all_of(s.begin() + 2, s.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  }
  return false;
}

bool IsBoolText(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

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

enum class Kind { kNull, kBool, kNumber, kString, kMapping, kList };

Kind KindOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return Kind::kMapping;
    case YAML::NodeType::Sequence:
      return Kind::kList;
    case YAML::NodeType::Scalar:
      break;
    default:
      return Kind::kNull;
  }
  // Quoted scalars ("!") and explicit !!str are strings; plain ones resolve
  // as YAML 1.2's core schema says.
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return Kind::kString;
  const std::string& s = n.Scalar();
  if (IsBoolText(s)) return Kind::kBool;
  if (IsDecimal(s) || IsOtherYamlNumber(s)) return Kind::kNumber;
  return Kind::kString;
}

// What was found, for "got ...".
std::string Describe(const YAML::Node& n) {
  switch (KindOf(n)) {
    case Kind::kNull:
      return "null";
    case Kind::kMapping:
      return n.size() == 0 ? "an empty mapping" : "a mapping";
    case Kind::kList:
      return n.size() == 0 ? "an empty list" : "a list";
    case Kind::kString:
      return Quote(n.Scalar());
    case Kind::kBool:
    case Kind::kNumber:
      break;
  }
  return n.Scalar();
}

// One value in the document: the node, where it is and its field path.
struct Field {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;
};

// The mark of `n`, or `fallback` when `n` has none (an empty value).
YAML::Mark MarkOr(const YAML::Node& n, const YAML::Mark& fallback) {
  return n.IsNull() || n.Mark().is_null() ? fallback : n.Mark();
}

// The entries of a mapping whose keys were checked: strings, known, unique.
class Mapping {
 public:
  std::optional<Field> Get(std::string_view key) const {
    for (const auto& [k, f] : entries_) {
      if (k == key) return f;
    }
    return std::nullopt;
  }
  void Add(std::string key, Field f) { entries_.emplace_back(std::move(key), std::move(f)); }
  const YAML::Mark& mark() const { return mark_; }
  void set_mark(const YAML::Mark& m) { mark_ = m; }

 private:
  std::vector<std::pair<std::string, Field>> entries_;
  YAML::Mark mark_;
};

class ConfigReader {
 public:
  ConfigReader(std::string_view source, std::string base_dir)
      : source_(source), base_dir_(std::move(base_dir)) {}

  Status ReadDocument(const YAML::Node& root, EmulatorConfig* out) const;

 private:
  Status Error(const YAML::Mark& mark, std::string_view message) const;
  Status Expected(const Field& f, std::string_view expected) const {
    return Error(f.mark,
                 fmt::format("{}: expected {}, got {}", f.path, expected, Describe(f.node)));
  }
  Status Missing(const Mapping& m, std::string_view path, std::string_view key,
                 std::string_view why) const {
    return Error(m.mark(), fmt::format("{}: missing key \"{}\" ({})", path, key, why));
  }

  Status ReadMapping(const Field& f, std::span<const std::string_view> known,
                     std::string_view expected, Mapping* out) const;
  Status ReadString(const Field& f, std::string* out) const;
  Status ReadNonEmptyString(const Field& f, std::string* out) const;
  Status ReadScalarText(const Field& f, std::string* out) const;
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

  std::string_view source_;
  std::string base_dir_;
};

Status ConfigReader::Error(const YAML::Mark& mark, std::string_view message) const {
  if (mark.is_null() || mark.line < 0) {
    return Status::InvalidArgument(fmt::format("{}: {}", source_, message));
  }
  return Status::InvalidArgument(
      fmt::format("{}:{}:{}: {}", source_, mark.line + 1, mark.column + 1, message));
}

Status ConfigReader::ReadMapping(const Field& f, std::span<const std::string_view> known,
                                 std::string_view expected, Mapping* out) const {
  if (!f.node.IsMap()) return Expected(f, expected);
  out->set_mark(f.mark);
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    Kind kind = KindOf(key);
    if (kind == Kind::kNull || kind == Kind::kMapping || kind == Kind::kList) {
      return Error(key.Mark(), fmt::format("{}: expected a key ({}), got {}", f.path,
                                           JoinKeys(known), Describe(key)));
    }
    const std::string& name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string_view guess = Suggest(name, known);
      std::string hint = guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess);
      return Error(key.Mark(), fmt::format("{}: unknown key {}{}; known keys: {}", f.path,
                                           Quote(name), hint, JoinKeys(known)));
    }
    if (std::optional<Field> first = out->Get(name)) {
      return Error(key.Mark(), fmt::format("{}: duplicate key {} (first given at line {})", f.path,
                                           Quote(name), first->mark.line + 1));
    }
    std::string path = f.path == kTopLevel ? name : fmt::format("{}.{}", f.path, name);
    out->Add(name, Field{value, MarkOr(value, key.Mark()), std::move(path)});
  }
  return Status::Ok();
}

Status ConfigReader::ReadString(const Field& f, std::string* out) const {
  if (KindOf(f.node) != Kind::kString) return Expected(f, "a string");
  *out = f.node.Scalar();
  return Status::Ok();
}

Status ConfigReader::ReadNonEmptyString(const Field& f, std::string* out) const {
  if (KindOf(f.node) != Kind::kString || f.node.Scalar().empty()) {
    return Expected(f, "a non-empty string");
  }
  *out = f.node.Scalar();
  return Status::Ok();
}

Status ConfigReader::ReadScalarText(const Field& f, std::string* out) const {
  Kind kind = KindOf(f.node);
  if (kind != Kind::kString && kind != Kind::kNumber && kind != Kind::kBool) {
    return Expected(f, "a string, number or bool");
  }
  *out = f.node.Scalar();
  return Status::Ok();
}

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
  if (auto f = top.Get("idle_timeout")) {
    if (Status s = ReadDuration(*f, &config.idle_timeout); !s.ok()) return s;
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

// --- Documents --------------------------------------------------------------

// Sees where each YAML document starts, for CheckOneDocument.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  const std::vector<YAML::Mark>& starts() const { return starts_; }

 private:
  std::vector<YAML::Mark> starts_;
};

std::string Where(std::string_view source, const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return std::string(source);
  return fmt::format("{}:{}:{}", source, m.line + 1, m.column + 1);
}

// At most one document. yaml-cpp 0.7's LoadAll never returns on some inputs
// (a stray ',' at the top level gives the same empty document forever), so
// walk the documents ourselves and stop at the second (as rules.cc does).
Status CheckOneDocument(const std::string& text, std::string_view source) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (starts.starts().size() < 2 && parser.HandleNextDocument(starts)) {
  }
  const std::vector<YAML::Mark>& s = starts.starts();
  if (s.size() < 2) return Status::Ok();
  if (s[1].pos == s[0].pos) {
    std::string found = s[1].pos >= 0 && static_cast<std::size_t>(s[1].pos) < text.size()
                            ? Quote(std::string_view(text).substr(s[1].pos, 1))
                            : "the end of the input";
    return Status::InvalidArgument(
        fmt::format("{}: invalid YAML: unexpected {}", Where(source, s[1]), found));
  }
  return Status::InvalidArgument(
      fmt::format("{}: expected one YAML document, got a second one", Where(source, s[1])));
}

Result<EmulatorConfig> ParseTree(std::string_view text, std::string_view source,
                                 const std::string& base_dir) {
  const std::string copy(text);
  YAML::Node root;
  try {
    if (Status s = CheckOneDocument(copy, source); !s.ok()) return s;
    root = YAML::Load(copy);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message here is "bad file".
    return Status::InvalidArgument(fmt::format("{}: invalid YAML: nested too deeply ({} levels)",
                                               Where(source, e.mark), e.depth()));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        fmt::format("{}: invalid YAML: {}", Where(source, e.mark), e.msg));
  }
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

Status ValidateEmulatorConfig(const EmulatorConfig& config) {
  if (config.account_concurrency < 1 || config.account_concurrency > kMaxAccountConcurrency) {
    return Status::InvalidArgument(
        fmt::format("account_concurrency: expected an integer in [1, {}], got {}",
                    kMaxAccountConcurrency, config.account_concurrency));
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
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::IoError(fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  std::string text;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) text.append(buf, n);
  bool failed = std::ferror(file) != 0;
  int err = errno;
  std::fclose(file);
  if (failed) return Status::IoError(fmt::format("{}: cannot read: {}", path, std::strerror(err)));
  return ParseEmulatorConfig(text, path, fs::path(path).parent_path().string());
}

std::vector<std::string> LaunchArgv(const FunctionConfig& function) {
  if (function.exec_wrapper.empty()) return function.command;
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
