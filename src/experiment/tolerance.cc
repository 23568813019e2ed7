// within_tolerance is a functools.singledispatch on the tolerance's Python
// type: bool is looked up before int (bool is a subclass of int), and a
// type with no registration (float, None) falls to the base function,
// which returns None: "not met". A dict is dispatched again on its "type";
// an unknown type also returns None.
//
// Where Python raises, the error names what could not be compared and
// why, in Python's words where they help ("'<=' not supported between
// instances of 'int' and 'str'").
#include "experiment/tolerance.h"

#include <fmt/format.h>

#include <string>

#include "experiment/jsonpath.h"
#include "experiment/tolerance_decimal.h"
#include "experiment/tolerance_python.h"
#include "experiment/tolerance_regex.h"

namespace faultline::experiment {
namespace {

// For messages: a value as JSON, cut short.
std::string Show(const json& value) {
  std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

Status Failed(std::string_view kind, const std::string& why) {
  return Status::InvalidArgument(fmt::format("{} tolerance: {}", kind, why));
}

bool Contains(const json& list, const json& value) {
  for (const json& item : list) {
    if (PythonEquals(item, value)) return true;
  }
  return false;
}

const json* StatusOf(const json& value) {
  if (!value.is_object()) return nullptr;
  auto it = value.find("status");
  return it == value.end() ? nullptr : &*it;
}

Result<bool> ListTolerance(const json& tolerance, const json& value) {
  if (const json* status = StatusOf(value)) return Contains(tolerance, *status);
  if (tolerance.size() != 2) return Contains(tolerance, value);
  // tolerance[0] <= value <= tolerance[1], which stops at the first False.
  auto why = [&](const Status& s) {
    return Failed("range", fmt::format("{} cannot be compared with the probe's output {}: {}",
                                       Show(tolerance), Show(value), s.message()));
  };
  auto low = PythonLessEqual(tolerance[0], value);
  if (!low.ok()) return why(low.status());
  if (!*low) return false;
  auto high = PythonLessEqual(value, tolerance[1]);
  if (!high.ok()) return why(high.status());
  return *high;
}

// value.get(target, value) when the tolerance has a truthy "target".
Result<const json*> Target(std::string_view kind, const json& tolerance, const json& value) {
  auto it = tolerance.find("target");
  if (it == tolerance.end() || !PythonTruthy(*it)) return &value;
  if (!value.is_object()) {
    return Failed(kind, fmt::format("target {} needs the probe's output to be a dict, got a {} "
                                    "('{}' object has no attribute 'get')",
                                    Show(*it), PythonTypeName(value), PythonTypeName(value)));
  }
  if (it->is_structured()) {
    return Failed(kind, fmt::format("target {} is not a key (unhashable type: '{}')", Show(*it),
                                    PythonTypeName(*it)));
  }
  if (!it->is_string()) return &value;
  auto found = value.find(it->get<std::string>());
  return found == value.end() ? &value : &*found;
}

json Field(const json& tolerance, const char* key) {
  auto it = tolerance.find(key);
  return it == tolerance.end() ? json() : *it;
}

Result<bool> RegexTolerance(const json& tolerance, const json& value, const Context& ctx) {
  json pattern = Substitute(Field(tolerance, "pattern"), ctx);
  if (!pattern.is_string()) {
    return Failed("regex", fmt::format("the pattern must be a string, got {} {}",
                                       PythonTypeName(pattern), Show(pattern)));
  }
  const auto& text = pattern.get_ref<const std::string&>();
  if (auto t = TranslatePythonRegex(text); !t.ok()) return Failed("regex", t.status().message());
  auto subject = Target("regex", tolerance, value);
  if (!subject.ok()) return subject.status();
  if (!(*subject)->is_string()) {
    return Failed("regex", fmt::format("cannot search the probe's output {}: expected string or "
                                       "bytes-like object, got '{}'",
                                       Show(**subject), PythonTypeName(**subject)));
  }
  auto found = PythonRegexSearch(text, (*subject)->get_ref<const std::string&>());
  if (!found.ok()) return Failed("regex", found.status().message());
  return *found;
}

Result<bool> JsonPathTolerance(const json& tolerance, const json& value, const Context& ctx) {
  json path = Substitute(Field(tolerance, "path"), ctx);
  if (!path.is_string()) {
    return Failed("jsonpath", fmt::format("the path must be a string, got {} {}",
                                          PythonTypeName(path), Show(path)));
  }
  auto px = JsonPath::Parse(path.get_ref<const std::string&>());
  if (!px.ok()) return Failed("jsonpath", px.status().message());
  auto subject = Target("jsonpath", tolerance, value);
  if (!subject.ok()) return subject.status();
  json doc = **subject;
  if (doc.is_string()) {
    // json.loads when it can; Python also reads NaN and Infinity, which
    // stay strings here.
    json parsed = json::parse(doc.get_ref<const std::string&>(), nullptr, false);
    if (!parsed.is_discarded()) doc = std::move(parsed);
  }
  auto values = px->Evaluate(doc);
  if (!values.ok()) return Failed("jsonpath", values.status().message());
  bool result = !values->empty();
  json count = Field(tolerance, "count");
  if (!count.is_null()) result = PythonEquals(json(values->size()), count);
  if (tolerance.contains("expect")) {
    json expect = Substitute(tolerance["expect"], ctx);
    json found(*values);
    result = expect.is_array() ? PythonEquals(found, expect)
                               : PythonEquals(found, json::array({expect}));
  }
  return result;
}

Result<bool> RangeTolerance(const json& tolerance, const json& value) {
  auto subject = Target("range", tolerance, value);
  if (!subject.ok()) return subject.status();
  auto d = ToDecimal(**subject);
  if (!d.ok()) return Failed("range", d.status().message());
  if (!d->has_value()) return false;  // "range check expects a number value"
  json range = Field(tolerance, "range");
  if (!range.is_array() || range.size() < 2) {
    return Failed("range", fmt::format("range must be a list of two numbers, got {}", Show(range)));
  }
  // Decimal(lo) <= value <= Decimal(hi): hi is only read when lo <= value.
  for (size_t i = 0; i < 2; ++i) {
    auto bound = ToDecimal(range[i]);
    if (!bound.ok() || !bound->has_value()) {
      return Failed("range", fmt::format("bound {} is not a number{}", Show(range[i]),
                                         bound.ok() ? "" : ": " + bound.status().message()));
    }
    auto le = i == 0 ? DecimalLessEqual(**bound, **d) : DecimalLessEqual(**d, **bound);
    if (!le.ok()) {
      return Failed("range", fmt::format("cannot compare {} with {}: {}", Show(**subject),
                                         Show(range), le.status().message()));
    }
    if (!*le) return false;
  }
  return true;
}

Result<bool> ProbeTolerance(const json& tolerance, const json& value,
                            const ToleranceProbe& run_probe) {
  json activity = tolerance;
  auto provider = activity.find("provider");
  if (provider == activity.end() || !provider->is_object()) {
    return Failed("probe", "the tolerance has no provider object");
  }
  auto arguments = provider->find("arguments");
  if (arguments == provider->end() || !arguments->is_object()) {
    // chaoslib does tolerance["provider"]["arguments"]["value"] = value.
    return Failed("probe",
                  arguments == provider->end()
                      ? "the provider has no \"arguments\" to receive the value (KeyError)"
                      : fmt::format("the provider's arguments are a {}, not a dict, and cannot "
                                    "receive the value",
                                    PythonTypeName(*arguments)));
  }
  (*arguments)["value"] = value;
  if (!run_probe) return Status::Internal("probe tolerance: no way to run the probe");
  auto output = run_probe(activity);
  return output.ok() && PythonTruthy(*output);
}

Result<bool> DictTolerance(const json& tolerance, const json& value, const Context& ctx,
                           const ToleranceProbe& run_probe) {
  json type = Field(tolerance, "type");
  if (type == "probe") return ProbeTolerance(tolerance, value, run_probe);
  if (type == "regex") return RegexTolerance(tolerance, value, ctx);
  if (type == "jsonpath") return JsonPathTolerance(tolerance, value, ctx);
  if (type == "range") return RangeTolerance(tolerance, value);
  return false;
}

Result<bool> Dispatch(const json& tolerance, const json& value, const Context& ctx,
                      const ToleranceProbe& run_probe) {
  switch (tolerance.type()) {
    case json::value_t::boolean:
    case json::value_t::string:
      return PythonEquals(value, tolerance);
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: {
      const json* status = StatusOf(value);
      return PythonEquals(status ? *status : value, tolerance);
    }
    case json::value_t::array:
      return ListTolerance(tolerance, value);
    case json::value_t::object:
      return DictTolerance(tolerance, value, ctx, run_probe);
    default:
      return false;  // float, None: no registration, the base returns None
  }
}

}  // namespace

Result<bool> WithinTolerance(const json& tolerance, const json& value, const Context& ctx,
                             const ToleranceProbe& run_probe) {
  // The hypothesis substitutes a string tolerance before dispatching, and
  // "${n}" may bring back an int, a list or a dict.
  if (tolerance.is_string()) return Dispatch(Substitute(tolerance, ctx), value, ctx, run_probe);
  return Dispatch(tolerance, value, ctx, run_probe);
}

}  // namespace faultline::experiment
