// The experiment as a whole: chaoslib's experiment.py
// ensure_experiment_is_valid (title, description, tags, extensions,
// configuration and secrets, hypothesis, method, refs, rollbacks,
// controls) plus faultline's runtime checks, every problem collected.
#include "experiment/validate.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>

namespace faultline::experiment {
namespace {

using validate_internal::CheckActivity;
using validate_internal::CheckControls;
using validate_internal::Checker;
using validate_internal::CheckTolerance;
using validate_internal::Describe;

const json* Get(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

void CheckRequired(const Checker& c, const json& e, const char* key) {
  const json* v = Get(e, key);
  if (!v) return c.Add(key, std::string("missing: an experiment requires a ") + key);
  if (!PythonTruthy(*v))
    c.Add(key, "expected a non-empty " + std::string(key) + ", got " + Describe(*v));
}

void CheckTags(const Checker& c, const json& e) {
  const json* tags = Get(e, "tags");
  if (!tags || !PythonTruthy(*tags)) return;
  // chaos iterates whatever it is given: a string's characters pass.
  if (tags->is_string()) return;
  if (!tags->is_array()) return c.Add("tags", "expected a list of strings, got " + Describe(*tags));
  for (std::size_t i = 0; i < tags->size(); ++i) {
    const json& t = (*tags)[i];
    if (!t.is_string() || t.get_ref<const std::string&>().empty()) {
      c.Add(ChildPath("tags", i), "expected a non-empty string, got " + Describe(t));
    }
  }
}

void CheckExtensions(const Checker& c, const json& e) {
  const json* ext = Get(e, "extensions");
  if (!ext || !PythonTruthy(*ext)) return;
  if (!ext->is_array()) {
    return c.Add("extensions", "expected a list of extensions, got " + Describe(*ext));
  }
  for (std::size_t i = 0; i < ext->size(); ++i) {
    const json& x = (*ext)[i];
    const std::string at = ChildPath("extensions", i);
    if (!x.is_object()) {
      c.Add(at, "expected an extension (a mapping with a name), got " + Describe(x));
      continue;
    }
    const json name = x.value("name", json());
    const bool blank = !name.is_string() || name.get<std::string>().find_first_not_of(
                                                " \t\r\n\f\v") == std::string::npos;
    if (blank) c.Add(ChildPath(at, "name"), "expected a non-empty name, got " + Describe(name));
  }
}

// Splits ResolveContext's "path: message".
void AddStatus(const Checker& c, const Status& s) {
  const std::string& m = s.message();
  const std::size_t colon = m.find(": ");
  if (colon == std::string::npos) return c.Add("", m);
  c.Add(m.substr(0, colon), m.substr(colon + 2));
}

// Each entry on its own, so that every bad entry is reported.
void CheckConfiguration(const Checker& c, const json& e) {
  const ProbeRunner no_probes;
  for (const char* section : {"configuration", "secrets"}) {
    const json* v = Get(e, section);
    if (!v || v->is_null()) continue;
    if (!v->is_object()) {
      c.Add(section, "expected a mapping, got " + Describe(*v));
      continue;
    }
    for (const auto& [key, value] : v->items()) {
      json one = json::object();
      one[section][key] = value;
      Result<Context> r = ResolveContext(one, c.options.vars, c.options.env, no_probes);
      if (!r.ok()) AddStatus(c, r.status());
      const bool dynamic = std::string(section) == "configuration" && value.is_object() &&
                           value.value("type", json()) == "probe";
      const json provider = dynamic ? value.value("provider", json()) : json::object();
      if (dynamic && (!provider.is_object() || !provider.value("type", json()).is_string())) {
        c.Add(ChildPath(ChildPath(section, key), "provider"),
              "a dynamic configuration probe needs a provider with a type, got " +
                  Describe(provider));
      }
    }
  }
}

// Names a ref may point at: chaoslib caches the method's and the
// hypothesis probes' names.
std::set<std::string> ActivityNames(const json& e) {
  std::set<std::string> names;
  auto collect = [&](const json* list) {
    if (!list || !list->is_array()) return;
    for (const json& a : *list) {
      if (a.is_object() && a.value("name", json()).is_string()) names.insert(a["name"]);
    }
  };
  collect(Get(e, "method"));
  if (const json* h = Get(e, "steady-state-hypothesis"); h && h->is_object()) {
    collect(Get(*h, "probes"));
  }
  return names;
}

void CheckHypothesis(const Checker& c, const json& e) {
  const json* h = Get(e, "steady-state-hypothesis");
  const std::string at = "steady-state-hypothesis";
  if (!h || h->is_null()) return;
  if (!h->is_object()) return c.Add(at, "expected a mapping (title, probes), got " + Describe(*h));
  const json* title = Get(*h, "title");
  if (!title || !PythonTruthy(*title)) {
    c.Add(ChildPath(at, "title"),
          "a hypothesis requires a title, got " + Describe(title ? *title : json()));
  }
  CheckControls(c, *h, at);
  const json* probes = Get(*h, "probes");
  if (!probes || !PythonTruthy(*probes)) return;
  const std::string pat = ChildPath(at, "probes");
  if (!probes->is_array()) return c.Add(pat, "expected a list of probes, got " + Describe(*probes));
  for (std::size_t i = 0; i < probes->size(); ++i) {
    const json& p = (*probes)[i];
    const std::string ppath = ChildPath(pat, i);
    CheckActivity(c, p, ppath);
    if (!p.is_object()) continue;
    if (const json* t = Get(p, "tolerance")) {
      CheckTolerance(c, *t, ChildPath(ppath, "tolerance"));
    } else {
      c.Add(ChildPath(ppath, "tolerance"), "missing: a hypothesis probe needs a tolerance");
    }
  }
}

void CheckActivities(const Checker& c, const json& e, const char* key, bool required) {
  const json* list = Get(e, key);
  if (!list || list->is_null()) {
    if (required) {
      c.Add(key, "missing: an experiment requires a method (it may be an empty list)");
    } else if (list) {
      c.Add(key, "expected a list of activities, got null");
    }
    return;
  }
  if (!list->is_array()) {
    if (PythonTruthy(*list)) c.Add(key, "expected a list of activities, got " + Describe(*list));
    return;
  }
  const std::set<std::string> names = required ? ActivityNames(e) : std::set<std::string>{};
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& a = (*list)[i];
    const std::string at = ChildPath(key, i);
    CheckActivity(c, a, at);
    if (!required || !a.is_object()) continue;
    const json ref = a.value("ref", json());
    if (ref.is_string() && !ref.get<std::string>().empty() &&
        !names.count(ref.get<std::string>())) {
      c.Add(ChildPath(at, "ref"),
            "no activity named " + Describe(ref) + " in the method or the hypothesis probes");
    }
  }
}

void CheckStrategy(const Checker& c, const json& runtime, const char* section,
                   std::initializer_list<const char*> allowed) {
  const json* s = Get(runtime, section);
  const std::string at = ChildPath("runtime", section);
  if (!s || s->is_null()) return;
  if (!s->is_object()) return c.Add(at, "expected a mapping (strategy), got " + Describe(*s));
  const json* v = Get(*s, "strategy");
  if (!v) return;
  std::string list;
  for (const char* a : allowed) {
    if (*v == a) return;
    list += list.empty() ? a : std::string(", ") + a;
  }
  c.Add(ChildPath(at, "strategy"), "expected one of " + list + ", got " + Describe(*v));
}

void CheckRuntime(const Checker& c, const json& e) {
  const json* r = Get(e, "runtime");
  if (!r || !PythonTruthy(*r)) return;
  if (!r->is_object()) return c.Add("runtime", "expected a mapping, got " + Describe(*r));
  CheckStrategy(c, *r, "rollbacks", {"default", "always", "never", "deviated"});
  CheckStrategy(c, *r, "hypothesis",
                {"default", "before-method-only", "after-method-only", "during-method-only",
                 "continuously", "continously", "skip"});
}

// faultline's own key: {"stop-conditions": [probe with a tolerance, ...],
// "stop-condition-frequency": seconds}.
void CheckFaultlineKey(const Checker& c, const json& e) {
  const json* x = Get(e, "x-faultline");
  if (!x) return;
  const std::string at = "x-faultline";
  if (!x->is_object()) {
    return c.Add(
        at, "expected a mapping (stop-conditions, stop-condition-frequency), got " + Describe(*x));
  }
  for (const auto& [k, v] : x->items()) {
    if (k != "stop-conditions" && k != "stop-condition-frequency") {
      c.Add(ChildPath(at, k), "unknown key: expected stop-conditions or stop-condition-frequency");
    }
  }
  if (const json* f = Get(*x, "stop-condition-frequency");
      f && (!f->is_number() || f->is_boolean() || f->get<double>() <= 0)) {
    c.Add(ChildPath(at, "stop-condition-frequency"),
          "expected a number of seconds above 0, got " + Describe(*f));
  }
  const json* list = Get(*x, "stop-conditions");
  if (!list) return;
  const std::string lat = ChildPath(at, "stop-conditions");
  if (!list->is_array()) return c.Add(lat, "expected a list of probes, got " + Describe(*list));
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& p = (*list)[i];
    const std::string ppath = ChildPath(lat, i);
    CheckActivity(c, p, ppath);
    if (!p.is_object()) continue;
    if (p.value("type", "") != "probe") {
      c.Add(ChildPath(ppath, "type"),
            "a stop condition is a probe, got " + Describe(p.value("type", json())));
    }
    if (const json* t = Get(p, "tolerance")) {
      CheckTolerance(c, *t, ChildPath(ppath, "tolerance"));
    } else {
      c.Add(ChildPath(ppath, "tolerance"),
            "missing: a stop condition needs a tolerance (the run stops when it is not met)");
    }
  }
}

}  // namespace

std::vector<Problem> Validate(const Document& doc, const ValidateOptions& options) {
  std::vector<Problem> problems;
  const Checker c{options, &problems};
  const json& e = doc.value;
  if (!e.is_object() || e.empty()) {
    c.Add("", "an empty experiment is not an experiment");
    return problems;
  }
  CheckRequired(c, e, "title");
  CheckRequired(c, e, "description");
  CheckTags(c, e);
  CheckExtensions(c, e);
  CheckConfiguration(c, e);
  CheckHypothesis(c, e);
  CheckActivities(c, e, "method", /*required=*/true);
  CheckActivities(c, e, "rollbacks", /*required=*/false);
  CheckRuntime(c, e);
  CheckFaultlineKey(c, e);
  CheckControls(c, e, "");
  std::stable_sort(problems.begin(), problems.end(), [&](const Problem& a, const Problem& b) {
    const Position pa = doc.Find(a.path);
    const Position pb = doc.Find(b.path);
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  return problems;
}

std::string FormatProblem(const Document& doc, const Problem& problem) {
  if (problem.path.empty()) return doc.Where("") + ": " + problem.message;
  return doc.Where(problem.path) + ": " + problem.path + ": " + problem.message;
}

}  // namespace faultline::experiment
