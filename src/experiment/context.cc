// Configuration, secrets and substitution, as chaoslib's configuration.py,
// secret.py and __init__.py (substitute, convert_vars, merge_vars) do them.
#include "experiment/context.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <system_error>

#include "core/text.h"
#include "experiment/document.h"

namespace faultline::experiment {
namespace {

bool IsIdentStart(char c) { return internal::IsLetter(c) || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || internal::IsDigit(c); }

// Python's repr() of a str: single quotes unless the text holds a single
// quote and no double quote.
std::string PythonRepr(std::string_view s) {
  const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == q || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += q;
  return out;
}

// Python's repr() of a float: the shortest digits that round-trip, in
// fixed notation when the decimal point falls within 16 digits of them
// (Python's float_repr_style "short", mode 'r').
std::string PythonFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // "-1.2345e+16"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const std::size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  const int exp = std::atoi(sci.c_str() + e + 1);
  const int decpt = exp + 1;  // value = 0.DIGITS * 10^decpt
  if (decpt <= -4 || decpt > 16) {
    std::string mant = digits.substr(0, 1);
    if (digits.size() > 1) mant += "." + digits.substr(1);
    return fmt::format("{}{}e{}{:02d}", sign, mant, exp < 0 ? '-' : '+', std::abs(exp));
  }
  if (decpt <= 0) return sign + "0." + std::string(-decpt, '0') + digits;
  if (static_cast<std::size_t>(decpt) >= digits.size()) {
    return sign + digits + std::string(decpt - digits.size(), '0') + ".0";
  }
  return sign + digits.substr(0, decpt) + "." + digits.substr(decpt);
}

std::string PythonReprValue(const json& v) {
  return v.is_string() ? PythonRepr(v.get_ref<const std::string&>()) : PythonStr(v);
}

// The value of `name`: configuration first, then each secret scope (a
// ChainMap in chaoslib).
const json* Lookup(std::string_view name, const Context& ctx) {
  const std::string key(name);
  if (ctx.configuration.is_object()) {
    if (auto it = ctx.configuration.find(key); it != ctx.configuration.end()) return &*it;
  }
  if (!ctx.secrets.is_object()) return nullptr;
  for (const auto& [scope, values] : ctx.secrets.items()) {
    if (!values.is_object()) continue;
    if (auto it = values.find(key); it != values.end()) return &*it;
  }
  return nullptr;
}

// The name in "${name}" when `text` is exactly that, else empty.
std::string_view ExactBraced(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 2) != "${" || text.back() != '}') return {};
  std::string_view name = text.substr(2, text.size() - 3);
  if (!IsIdentStart(name[0])) return {};
  for (char c : name) {
    if (!IsIdentChar(c)) return {};
  }
  return name;
}

json SubstituteValue(const std::string& text, const Context& ctx) {
  if (std::string_view name = ExactBraced(text); !name.empty()) {
    if (const json* v = Lookup(name, ctx)) return *v;
  }
  return SubstituteString(text, ctx);
}

}  // namespace

std::string PythonStr(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "None";
    case json::value_t::boolean:
      return value.get<bool>() ? "True" : "False";
    case json::value_t::number_integer:
      return std::to_string(value.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(value.get<std::uint64_t>());
    case json::value_t::number_float:
      return PythonFloat(value.get<double>());
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < value.size(); ++i) {
        out += (i ? ", " : "") + PythonReprValue(value[i]);
      }
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        out += (first ? "" : ", ") + PythonRepr(k) + ": " + PythonReprValue(v);
        first = false;
      }
      return out + "}";
    }
    default:
      return value.dump();
  }
}

// Template.safe_substitute: "$$" -> "$", "$name" and "${name}" replaced when
// known, every other "$" kept as written.
std::string SubstituteString(std::string_view text, const Context& ctx) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos || dollar + 1 == text.size()) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    std::size_t p = dollar + 1;
    if (text[p] == '$') {
      out += '$';
      i = p + 1;
      continue;
    }
    const bool braced = text[p] == '{';
    const std::size_t start = braced ? p + 1 : p;
    std::size_t end = start;
    if (end < text.size() && IsIdentStart(text[end])) {
      while (end < text.size() && IsIdentChar(text[end])) ++end;
    }
    if (end == start || (braced && (end == text.size() || text[end] != '}'))) {
      out += '$';  // an ill-formed delimiter stays
      i = p;
      continue;
    }
    const std::size_t next = braced ? end + 1 : end;
    if (const json* v = Lookup(text.substr(start, end - start), ctx)) {
      out += PythonStr(*v);
    } else {
      out.append(text.substr(dollar, next - dollar));
    }
    i = next;
  }
  return out;
}

json Substitute(const json& value, const Context& ctx) {
  switch (value.type()) {
    case json::value_t::string:
      return SubstituteValue(value.get_ref<const std::string&>(), ctx);
    case json::value_t::array: {
      json out = json::array();
      for (const json& item : value) out.push_back(Substitute(item, ctx));
      return out;
    }
    case json::value_t::object: {
      json out = json::object();
      for (const auto& [k, v] : value.items()) out[k] = Substitute(v, ctx);
      return out;
    }
    default:
      return value;
  }
}

// ---- Variables and resolution ---------------------------------------------

namespace {

std::string_view StripSpace(std::string_view s) {
  while (!s.empty() && internal::IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && internal::IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Python's int(s): whitespace around, a sign, digits with single
// underscores between them.
Result<json> PythonInt(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("invalid literal for int() with base 10: {}", PythonRepr(text)));
  };
  std::string_view s = StripSpace(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string digits;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && internal::IsDigit(s[i - 1]) &&
        internal::IsDigit(s[i + 1])) {
      continue;
    }
    if (!internal::IsDigit(s[i])) return bad();
    digits += s[i];
  }
  if (digits.empty()) return bad();
  if (negative) digits.insert(0, "-");
  std::int64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec != std::errc()) {
    return Status::InvalidArgument(fmt::format("{} is too large for faultline", PythonRepr(text)));
  }
  return json(v);
}

// Python's float(s): decimal notation with underscores between digits,
// inf, infinity and nan in any case, signed, whitespace around.
Result<json> PythonFloatOf(std::string_view text) {
  std::string_view s = StripSpace(text);
  std::string clean;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && internal::IsDigit(s[i - 1]) &&
        internal::IsDigit(s[i + 1])) {
      continue;
    }
    clean += s[i];
  }
  std::string_view c = clean;
  bool negative = false;
  if (!c.empty() && (c[0] == '+' || c[0] == '-')) {
    negative = c[0] == '-';
    c.remove_prefix(1);
  }
  double d = 0;
  auto r = std::from_chars(c.data(), c.data() + c.size(), d);
  const bool sign_again = !c.empty() && (c[0] == '+' || c[0] == '-');
  if (c.empty() || sign_again || r.ptr != c.data() + c.size() ||
      (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) {
    return Status::InvalidArgument(
        fmt::format("could not convert string to float: {}", PythonRepr(text)));
  }
  if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(c).c_str(), nullptr);
  return json(negative ? -d : d);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// chaoslib's convert_to_type on a string value.
Result<json> ConvertString(std::string_view type, const std::string& value) {
  if (type == "str" || type == "string" || type == "bytes") return json(value);
  if (type == "int" || type == "integer") return PythonInt(value);
  if (type == "float" || type == "number") return PythonFloatOf(value);
  if (type == "bool") {
    const std::string l = Lower(value);
    return json(!(l == "false" || l == "0" || l == "no"));
  }
  if (type == "json") {
    if (value.empty()) return json(value);
    json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return Status::InvalidArgument(fmt::format("{} is not JSON", PythonRepr(value)));
    }
    return parsed;
  }
  return Status::InvalidArgument(
      fmt::format("unknown type {}: the type can only be bool, str, int, float, bytes or json",
                  PythonRepr(type)));
}

// convert_to_type on any value: a default that is not a string is kept by
// str, json and bool-of-a-bool, converted by int and float.
Result<json> Convert(const json& type, const json& value) {
  if (type.is_null()) return value;
  if (!type.is_string()) {
    return Status::InvalidArgument(
        fmt::format("env_var_type: expected a string, got {}", type.dump()));
  }
  const auto& t = type.get_ref<const std::string&>();
  if (value.is_string()) return ConvertString(t, value.get_ref<const std::string&>());
  if (t == "str" || t == "string" || t == "json" || t == "bytes") return value;
  if (t == "bool" && value.is_boolean()) return value;
  if ((t == "int" || t == "integer") && value.is_number()) {
    return json(static_cast<std::int64_t>(value.get<double>()));
  }
  if ((t == "float" || t == "number") && value.is_number()) return json(value.get<double>());
  return Status::InvalidArgument(
      fmt::format("cannot convert {} to {}", PythonStr(value), PythonRepr(t)));
}

struct EnvView {
  const Variables& vars;
  const EnvLookup& env;
  std::optional<std::string> Get(const std::string& name) const {
    if (auto it = vars.env.find(name); it != vars.env.end()) return it->second;
    return env ? env(name) : std::nullopt;
  }
};

Status EntryError(std::string_view path, std::string_view message) {
  return Status::InvalidArgument(fmt::format("{}: {}", path, message));
}

// One configuration entry of type env.
Result<json> ResolveEnvEntry(const json& entry, const std::string& path, const EnvView& env) {
  auto key = entry.find("key");
  if (key == entry.end() || !key->is_string()) {
    return EntryError(path, "an env entry needs a \"key\" string naming the variable");
  }
  const auto& name = key->get_ref<const std::string&>();
  std::optional<std::string> value = env.Get(name);
  auto def = entry.find("default");
  if (!value && def == entry.end()) {
    return EntryError(path, fmt::format("the environment variable {} is not set and the entry "
                                        "has no default",
                                        name));
  }
  const json raw = value ? json(*value) : *def;
  auto type = entry.find("env_var_type");
  Result<json> converted = Convert(type == entry.end() ? json() : *type, raw);
  if (!converted.ok()) return EntryError(path, converted.status().message());
  return converted;
}

Result<json> LoadConfiguration(const json& info, const Variables& vars, const EnvView& env) {
  json conf = json::object();
  if (info.is_null()) return conf;
  if (!info.is_object()) return EntryError("configuration", "expected a mapping");
  for (const auto& [key, declared] : info.items()) {
    auto over = vars.configuration.find(key);
    const json& value = over != vars.configuration.end() ? *over : declared;
    if (value.is_object() && value.value("type", json()) == "env") {
      Result<json> v = ResolveEnvEntry(value, "configuration." + key, env);
      if (!v.ok()) return v.status();
      conf[key] = std::move(*v);
    } else {
      conf[key] = value;
    }
  }
  return conf;
}

// chaoslib's load_secrets, recursive: an object is replaced by its
// override, read from the environment (type env), or walked.
Result<json> LoadSecrets(const json& info, const json& extra, const std::string& path,
                         const EnvView& env) {
  json out = json::object();
  for (const auto& [key, value] : info.items()) {
    const std::string p = ChildPath(path, key);
    if (!value.is_object()) {
      out[key] = value;
      continue;
    }
    const json* over = nullptr;
    if (extra.is_object()) {
      if (auto it = extra.find(key); it != extra.end() && !it->is_null()) over = &*it;
    }
    const json type = value.value("type", json());
    if (over) {
      out[key] = *over;
    } else if (type == "env") {
      auto k = value.find("key");
      if (k == value.end() || !k->is_string())
        return EntryError(p, "an env secret needs a \"key\"");
      std::optional<std::string> v = env.Get(k->get<std::string>());
      if (!v) {
        return EntryError(p, fmt::format("the environment variable {} is not set (secrets have "
                                         "no default)",
                                         k->get<std::string>()));
      }
      out[key] = *v;
    } else if (type == "vault") {
      return EntryError(p, "vault secrets are not supported by faultline");
    } else {
      const json sub_extra = extra.is_object() ? extra.value(key, json()) : json();
      Result<json> sub = LoadSecrets(value, sub_extra, p, env);
      if (!sub.ok()) return sub.status();
      out[key] = std::move(*sub);
    }
  }
  return out;
}

// What a dynamic entry's probe gives, per provider type; nullopt: the
// entry is left out.
std::optional<json> DynamicValue(const std::string& provider_type, const json& output) {
  if (provider_type == "process") {
    if (!output.is_object() || output.value("status", json()) != 0) return std::nullopt;
    const json out = output.value("stdout", json(""));
    if (!out.is_string()) return out;
    return json(std::string(StripSpace(out.get_ref<const std::string&>())));
  }
  if (provider_type == "http") return output.is_object() ? output.value("body", json()) : json();
  if (provider_type == "python" || provider_type == "faultline") return output;
  return std::nullopt;
}

bool IsDynamic(const json& v) { return v.is_object() && v.value("type", json()) == "probe"; }

json ResolveDynamic(const json& conf, const json& secrets, const ProbeRunner& run_probe) {
  Context so_far;
  so_far.secrets = secrets;
  for (const auto& [key, value] : conf.items()) {
    if (!IsDynamic(value)) {
      so_far.configuration[key] = value;
      continue;
    }
    const json provider = value.value("provider", json::object());
    const std::string type =
        provider.is_object() && provider.value("type", json()).is_string() ? provider["type"] : "";
    if (!run_probe) continue;
    Result<json> output = run_probe(Substitute(value, so_far));
    if (!output.ok()) continue;
    if (std::optional<json> v = DynamicValue(type, *output)) so_far.configuration[key] = *v;
  }
  return std::move(so_far.configuration);
}

// A .env file: KEY=VALUE lines (the line stripped, not its parts), blank
// lines and "#" comments skipped.
Status ReadEnvFile(std::string_view text, const std::string& path, Variables* vars) {
  int line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    ++line_no;
    std::string_view line = StripSpace(text.substr(start, nl - start));
    start = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: expected NAME=VALUE, got {}", path, line_no, internal::Quote(line)));
    }
    vars->env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return Status::Ok();
}

Status MergeSection(const Document& doc, const char* name, json* into) {
  auto it = doc.value.find(name);
  if (it == doc.value.end()) return Status::Ok();
  if (!it->is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: {}: expected a mapping, got {}", doc.Where(name), name, PythonStr(*it)));
  }
  for (const auto& [k, v] : it->items()) (*into)[k] = v;
  return Status::Ok();
}

Status MergeVarDocument(const Document& doc, Variables* vars) {
  if (Status s = MergeSection(doc, "configuration", &vars->configuration); !s.ok()) return s;
  return MergeSection(doc, "secrets", &vars->secrets);
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Context> ResolveContext(const json& experiment, const Variables& vars, const EnvLookup& env,
                               const ProbeRunner& run_probe) {
  const EnvView view{vars, env};
  const json none;
  auto conf_it = experiment.find("configuration");
  Result<json> conf = LoadConfiguration(conf_it == experiment.end() ? none : *conf_it, vars, view);
  if (!conf.ok()) return conf.status();
  Context ctx;
  auto sec_it = experiment.find("secrets");
  if (sec_it != experiment.end() && !sec_it->is_null()) {
    if (!sec_it->is_object()) return EntryError("secrets", "expected a mapping");
    Result<json> secrets = LoadSecrets(*sec_it, vars.secrets, "secrets", view);
    if (!secrets.ok()) return secrets.status();
    ctx.secrets = std::move(*secrets);
  }
  ctx.configuration = ResolveDynamic(*conf, ctx.secrets, run_probe);
  return ctx;
}

Status ParseVar(std::string_view arg, Variables* vars) {
  auto fail = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("--var {}: {}", PythonRepr(arg), why));
  };
  const std::size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return fail("expected name[:type]=value");
  std::string_view key = arg.substr(0, eq);
  const std::string value(arg.substr(eq + 1));
  std::string_view type = "str";
  if (const std::size_t colon = key.rfind(':'); colon != std::string_view::npos) {
    type = key.substr(colon + 1);
    key = key.substr(0, colon);
  }
  Result<json> v = ConvertString(type, value);
  if (!v.ok()) return fail(v.status().message());
  vars->configuration[std::string(key)] = std::move(*v);
  return Status::Ok();
}

Status ReadVarFile(const std::string& path, Variables* vars) {
  Result<std::string> text = internal::ReadWholeFile(path);
  if (!text.ok()) return text.status();
  if (text->empty()) return Status::Ok();
  Result<Format> format = FormatOf(path);
  if (format.ok()) {
    Result<Document> doc = ParseDocument(*text, path, *format);
    if (!doc.ok()) return doc.status();
    return MergeVarDocument(*doc, vars);
  }
  return ReadEnvFile(*text, path, vars);
}

}  // namespace faultline::experiment
