// Activities, providers and tolerances: chaoslib's activity.py
// ensure_activity_is_valid, provider/{process,http,python}.py validate_*
// and hypothesis.py's tolerance checks, every problem collected.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/text.h"
#include "experiment/validate.h"

namespace faultline::experiment::validate_internal {
namespace {

using internal::Quote;

const json* Get(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool IsNonEmptyString(const json* v) {
  return v && v->is_string() && !v->get<std::string>().empty();
}

std::string ExpandHome(const std::string& path) {
  if (path.empty() || path[0] != '~' || (path.size() > 1 && path[1] != '/')) return path;
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + path.substr(1) : path;
}

// shutil.which: a path with a '/' is checked itself, a bare name in PATH.
bool ExecutableInPath(const std::string& path) {
  if (path.find('/') != std::string::npos) return ::access(path.c_str(), X_OK) == 0;
  const char* env = std::getenv("PATH");
  std::string dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    std::string dir = dirs.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    std::string full = std::move(dir);
    full += '/';
    full += path;
    if (::access(full.c_str(), X_OK) == 0) return true;
    start = colon + 1;
  }
  return false;
}

void CheckProcess(const Checker& c, const json& provider, const std::string& path) {
  const json* p = Get(provider, "path");
  const std::string at = ChildPath(path, "path");
  if (!p || !PythonTruthy(*p))
    return c.Add(at, "a process provider needs a path, got " + Describe(p ? *p : json()));
  if (!p->is_string()) return c.Add(at, "expected a string, got " + Describe(*p));
  const std::string file = ExpandHome(p->get<std::string>());
  const bool exists =
      c.options.executable_exists ? c.options.executable_exists(file) : ExecutableInPath(file);
  if (!exists) {
    c.Add(at, "expected an executable file or a command in PATH, got " +
                  Quote(p->get<std::string>()) + " (chaos does not substitute a process path)");
  }
  const json* args = Get(provider, "arguments");
  if (args && !args->is_null() && !args->is_string() && !args->is_array() && !args->is_object()) {
    c.Add(ChildPath(path, "arguments"), "expected a string or a list, got " + Describe(*args));
  }
}

void CheckHttp(const Checker& c, const json& provider, const std::string& path) {
  const json* url = Get(provider, "url");
  if (!url || !PythonTruthy(*url)) {
    c.Add(ChildPath(path, "url"),
          "an http provider needs a url, got " + Describe(url ? *url : json()));
  } else if (!url->is_string()) {
    c.Add(ChildPath(path, "url"), "expected a string, got " + Describe(*url));
  }
  const json* headers = Get(provider, "headers");
  if (headers && PythonTruthy(*headers) && !headers->is_object()) {
    c.Add(ChildPath(path, "headers"), "expected a mapping, got " + Describe(*headers));
  }
}

void CheckPython(const Checker& c, const json& provider, const std::string& path) {
  const json* module = Get(provider, "module");
  const json* func = Get(provider, "func");
  bool shaped = true;
  if (!IsNonEmptyString(module)) {
    c.Add(ChildPath(path, "module"),
          "a python provider needs a module, got " + Describe(module ? *module : json()));
    shaped = false;
  }
  if (!IsNonEmptyString(func)) {
    c.Add(ChildPath(path, "func"),
          "a python provider needs a function name, got " + Describe(func ? *func : json()));
    shaped = false;
  }
  const json* args = Get(provider, "arguments");
  if (args && !args->is_null() && !args->is_object()) {
    c.Add(ChildPath(path, "arguments"), "expected a mapping, got " + Describe(*args));
  }
  if (shaped && c.options.check_python) {
    std::string why = c.options.check_python(module->get<std::string>(), func->get<std::string>());
    if (!why.empty()) c.Add(path, why);
  }
}

void CheckProvider(const Checker& c, const json& provider, const std::string& path) {
  const json* type = Get(provider, "type");
  if (!type || !PythonTruthy(*type)) {
    return c.Add(ChildPath(path, "type"),
                 "a provider needs a type (python, process or http), got " +
                     Describe(type ? *type : json()));
  }
  if (*type == "process") return CheckProcess(c, provider, path);
  if (*type == "http") return CheckHttp(c, provider, path);
  if (*type == "python") return CheckPython(c, provider, path);
  if (*type == "faultline") {
    if (c.options.check_faultline) return c.options.check_faultline(provider, path, c.out);
    return c.Add(path, "the faultline provider is not available");
  }
  c.Add(ChildPath(path, "type"),
        "expected python, process, http or faultline, got " + Describe(*type));
}

void CheckPause(const Checker& c, const json& pause, const std::string& path) {
  if (pause.is_null() || pause.is_number()) return;
  if (pause.is_string()) {
    const auto& s = pause.get_ref<const std::string&>();
    if (s.size() >= 3 && s.rfind("${", 0) == 0 && s.back() == '}') return;
  }
  c.Add(path, "expected a number of seconds or a ${name} pattern, got " + Describe(pause));
}

void CheckActivityFields(const Checker& c, const json& a, const std::string& path) {
  const json* timeout = Get(a, "timeout");
  if (timeout && !timeout->is_null() && !timeout->is_number() && !timeout->is_boolean()) {
    c.Add(ChildPath(path, "timeout"), "expected a number, got " + Describe(*timeout));
  }
  if (const json* pauses = Get(a, "pauses"); pauses && !pauses->is_null()) {
    const std::string at = ChildPath(path, "pauses");
    if (!pauses->is_object()) {
      c.Add(at, "expected a mapping (before, after), got " + Describe(*pauses));
    } else {
      if (const json* b = Get(*pauses, "before")) CheckPause(c, *b, ChildPath(at, "before"));
      if (const json* b = Get(*pauses, "after")) CheckPause(c, *b, ChildPath(at, "after"));
    }
  }
  if (const json* bg = Get(a, "background"); bg && !bg->is_boolean()) {
    c.Add(ChildPath(path, "background"), "expected a bool, got " + Describe(*bg));
  }
}

// Without Python's re: brackets and parentheses balance and a quantifier
// follows something, the errors re.compile gives most often.
std::string BasicRegexCheck(const std::string& p) {
  int depth = 0;
  bool prev_atom = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char ch = p[i];
    if (ch == '\\') {
      if (++i == p.size()) return "bad escape (end of pattern)";
      prev_atom = true;
    } else if (ch == '[') {
      std::size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      if (j >= p.size()) return "unterminated character set at position " + std::to_string(i);
      i = j;
      prev_atom = true;
    } else if (ch == '(') {
      ++depth;
      prev_atom = false;
      if (i + 1 < p.size() && p[i + 1] == '?') ++i;
    } else if (ch == ')') {
      if (--depth < 0) return "unbalanced parenthesis at position " + std::to_string(i);
      prev_atom = true;
    } else if (ch == '*' || ch == '+' || ch == '?' || ch == '{') {
      if (!prev_atom && ch != '{') return "nothing to repeat at position " + std::to_string(i);
      if (ch != '{') prev_atom = i + 1 < p.size() && p[i + 1] == '?' ? (++i, false) : false;
    } else {
      prev_atom = ch != '|';
    }
  }
  return depth > 0 ? "missing ), unterminated subpattern" : "";
}

void CheckRegexTolerance(const Checker& c, const json& t, const std::string& path) {
  const json* pattern = Get(t, "pattern");
  const std::string at = ChildPath(path, "pattern");
  if (!pattern) return c.Add(at, "a regex tolerance needs a pattern");
  if (!pattern->is_string()) return c.Add(at, "expected a string, got " + Describe(*pattern));
  const std::string& text = pattern->get_ref<const std::string&>();
  std::string why = c.options.check_regex ? c.options.check_regex(text) : BasicRegexCheck(text);
  if (!why.empty()) c.Add(at, "the pattern " + Quote(text) + " is invalid: " + why);
}

void CheckJsonPathTolerance(const Checker& c, const json& t, const std::string& path) {
  const json* p = Get(t, "path");
  const std::string at = ChildPath(path, "path");
  if (!p) return c.Add(at, "a jsonpath tolerance needs a path");
  if (!p->is_string()) return c.Add(at, "expected a string, got " + Describe(*p));
  const std::string text = p->get<std::string>();
  std::size_t b = text.find_first_not_of(" \t\r\n\f\v");
  if (b == std::string::npos) return c.Add(at, "expected a JSON path, got an empty string");
  if (c.options.check_jsonpath) {
    std::string why =
        c.options.check_jsonpath(text.substr(b, text.find_last_not_of(" \t\r\n\f\v") - b + 1));
    if (!why.empty()) c.Add(at, why);
  }
}

void CheckRangeTolerance(const Checker& c, const json& t, const std::string& path) {
  const json* r = Get(t, "range");
  const std::string at = ChildPath(path, "range");
  if (!r) return c.Add(at, "a range tolerance needs a range");
  if (!r->is_array() || r->size() != 2) {
    return c.Add(at, "expected a list of two values [lower, upper], got " + Describe(*r));
  }
}

}  // namespace

std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::string:
      return Quote(v.get_ref<const std::string&>());
    case json::value_t::array:
      return v.empty() ? "an empty list" : "a list";
    case json::value_t::object:
      return v.empty() ? "an empty mapping" : "a mapping";
    default:
      return v.dump();
  }
}

void CheckActivity(const Checker& c, const json& a, const std::string& path) {
  if (!PythonTruthy(a)) return c.Add(path, "expected an activity, got " + Describe(a));
  if (!a.is_object()) return c.Add(path, "expected an activity (a mapping), got " + Describe(a));
  if (const json* ref = Get(a, "ref"); ref && !ref->is_null()) {
    if (!IsNonEmptyString(ref)) {
      c.Add(ChildPath(path, "ref"), "expected the name of an activity, got " + Describe(*ref));
    }
    return;
  }
  const json* type = Get(a, "type");
  if (!type || !PythonTruthy(*type)) {
    c.Add(ChildPath(path, "type"),
          "an activity needs a type (probe or action), got " + Describe(type ? *type : json()));
  } else if (*type != "probe" && *type != "action") {
    c.Add(ChildPath(path, "type"), "expected probe or action, got " + Describe(*type));
  }
  const json* name = Get(a, "name");
  if (!name || !PythonTruthy(*name)) {
    c.Add(ChildPath(path, "name"),
          "an activity needs a name, got " + Describe(name ? *name : json()));
  }
  const json* provider = Get(a, "provider");
  if (!provider || !PythonTruthy(*provider)) {
    c.Add(ChildPath(path, "provider"),
          "an activity needs a provider, got " + Describe(provider ? *provider : json()));
  } else if (!provider->is_object()) {
    c.Add(ChildPath(path, "provider"), "expected a mapping, got " + Describe(*provider));
  } else {
    CheckProvider(c, *provider, ChildPath(path, "provider"));
  }
  CheckActivityFields(c, a, path);
  CheckControls(c, a, path);
}

void CheckTolerance(const Checker& c, const json& t, const std::string& path) {
  const bool scalar = t.is_boolean() || t.is_number_integer() || t.is_number_unsigned() ||
                      t.is_string() || t.is_array();
  if (scalar) return;
  if (!t.is_object()) {
    return c.Add(path,
                 "expected a bool, an int, a string, a list or a tolerance object (regex, "
                 "jsonpath, range, probe), got " +
                     Describe(t));
  }
  const json* type = Get(t, "type");
  const json kind = type ? *type : json();
  if (kind == "probe") return CheckActivity(c, t, path);
  if (kind == "regex") return CheckRegexTolerance(c, t, path);
  if (kind == "jsonpath") return CheckJsonPathTolerance(c, t, path);
  if (kind == "range") return CheckRangeTolerance(c, t, path);
  c.Add(ChildPath(path, "type"), "expected regex, jsonpath, range or probe, got " + Describe(kind));
}

void CheckControls(const Checker& c, const json& owner, const std::string& owner_path) {
  const json* controls = Get(owner, "controls");
  if (!controls || controls->is_null()) return;
  const std::string at = ChildPath(owner_path, "controls");
  if (!controls->is_array())
    return c.Add(at, "expected a list of controls, got " + Describe(*controls));
  for (std::size_t i = 0; i < controls->size(); ++i) {
    const json& ctl = (*controls)[i];
    std::string name = ctl.is_object() && ctl.value("name", json()).is_string()
                           ? ctl["name"].get<std::string>()
                           : "";
    std::string module;
    if (ctl.is_object() && ctl.value("provider", json()).is_object()) {
      const json m = ctl["provider"].value("module", json());
      if (m.is_string()) module = " (provider module " + m.get<std::string>() + ")";
    }
    c.Add(ChildPath(at, i), "the control " + Quote(name) + module +
                                " is not supported by faultline; remove it or run with chaos");
  }
}

}  // namespace faultline::experiment::validate_internal
