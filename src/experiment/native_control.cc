// arm and clear: the /rules of a control endpoint (`faultline extension`'s,
// docs/extension.md), and putting back what was there.
//
//   arm:   rules (inline or file) ─► ttl capped at max_ttl ─► GET /rules
//          ─► record_undo({kind: rules, rules: <what was there> | null})
//          ─► PUT /rules (YAML, as the core writes it)
//   clear: GET /rules ─► record_undo ─► DELETE /rules
//   undo:  PUT the recorded rules (those expired meanwhile left out), or
//          DELETE /rules when there were none
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "core/text.h"
#include "experiment/native_internal.h"
#include "extension/run_dir.h"
#include "faultline/rules.h"

namespace faultline::experiment::native_internal {

namespace {

using std::chrono::nanoseconds;

// A rule that would expire within this much of an undo is left out of it:
// the endpoint refuses a rule already expired on arrival.
constexpr nanoseconds kUndoExpiryMargin = std::chrono::seconds(1);

// One control endpoint and the token for it.
struct Control {
  std::string endpoint;
  std::string token;
  std::string where;  // where the token came from, or where it was looked for
};

std::string Env(const Shared& shared, const std::string& name) {
  return shared.options.env ? shared.options.env(name).value_or("") : "";
}

// The token: `given` (and remembered for Undo), else one given earlier for
// this endpoint, else FAULTLINE_CONTROL_TOKEN, else the run directory's file.
Result<Control> Connect(Shared& shared, std::string endpoint, const std::string& given) {
  Result<std::uint16_t> port = EndpointPort(endpoint);
  if (!port.ok()) return port.status();
  extension::TokenSource source;
  source.given = given;
  source.given_name = "the token argument";
  {
    std::lock_guard lock(shared.mu);
    if (!given.empty()) {
      shared.tokens[endpoint] = given;
    } else if (auto it = shared.tokens.find(endpoint); it != shared.tokens.end()) {
      source.given = it->second;
    }
  }
  source.env = Env(shared, "FAULTLINE_CONTROL_TOKEN");
  source.run_dir = Env(shared, "FAULTLINE_RUN_DIR");
  Control c;
  c.token = extension::ControlToken(source, *port, &c.where);
  c.endpoint = std::move(endpoint);
  return c;
}

// One request to /rules; a non-2xx answer is an error saying why.
Result<HttpAnswer> Call(const Shared& shared, const Control& c, std::string method,
                        std::string body = "") {
  HttpCall call;
  call.method = std::move(method);
  call.endpoint = c.endpoint;
  call.path = "/rules";
  call.body = std::move(body);
  call.timeout = shared.options.request_timeout;
  if (!c.token.empty()) call.headers.emplace_back("Authorization", "Bearer " + c.token);
  if (!call.body.empty()) call.headers.emplace_back("Content-Type", "application/yaml");
  const std::string what = call.method + " /rules";
  Result<HttpAnswer> answer = Send(call);
  if (!answer.ok()) return answer.status().WithContext(what);
  if (answer->status >= 200 && answer->status < 300) return answer;
  std::string hint;
  if (answer->status == 401) {
    hint = c.token.empty() ? fmt::format(
                                 " (no token sent: {}; give the token argument, set "
                                 "FAULTLINE_CONTROL_TOKEN or FAULTLINE_RUN_DIR)",
                                 c.where)
                           : fmt::format(" (token from {})", c.where);
  }
  return Status::Unavailable(fmt::format("{} {}{}", what, Refused(*answer), hint));
}

// The rules the endpoint has now, as text and parsed.
struct Current {
  std::string text;
  RuleSet rules;
};

Result<Current> ReadCurrent(const Shared& shared, const Control& c) {
  Result<HttpAnswer> got = Call(shared, c, "GET");
  if (!got.ok()) return got.status();
  Result<RuleSet> rules = ParseRules(got->body, "GET /rules");
  if (!rules.ok()) return Status::Unavailable("the endpoint's rules: " + rules.status().message());
  return Current{std::move(got->body), std::move(*rules)};
}

// The undo of a change to `c`'s rules, recorded.
Status RecordRulesUndo(const Shared& shared, const Control& c, const Current& current) {
  json undo = {{"kind", "rules"}, {"endpoint", c.endpoint}, {"rules", nullptr}};
  std::string description = fmt::format("clear the rules of {} (none were armed)", c.endpoint);
  if (!current.rules.rules.empty()) {
    undo["rules"] = current.text;
    const std::size_t n = current.rules.rules.size();
    description =
        fmt::format("restore the {} rule{} armed at {}", n, n == 1 ? "" : "s", c.endpoint);
  }
  return RecordUndo(shared, undo, description);
}

// Every rule ends within `max` of `now`: a rule without a ttl gets
// `fallback` (capped), a longer one is shortened.
void CapTtls(RuleSet* rules, std::optional<nanoseconds> fallback, nanoseconds max, TimeNs now) {
  for (Rule& r : rules->rules) {
    if (!r.ttl_ns) {
      r.ttl_ns = std::min(fallback.value_or(max), max).count();
      r.armed_at.reset();  // counts from the PUT
    } else if (r.armed_at) {
      *r.ttl_ns = std::min<std::int64_t>(*r.ttl_ns, now + max.count() - *r.armed_at);
    } else {
      *r.ttl_ns = std::min<std::int64_t>(*r.ttl_ns, max.count());
    }
  }
}

nanoseconds MaxTtl(const Shared& shared) {
  const nanoseconds max =
      shared.options.max_ttl ? shared.options.max_ttl() : NativeProvider::kDefaultMaxTtl;
  return std::max(max, nanoseconds(std::chrono::milliseconds(1)));
}

// The rules of `rules` (inline) or `file`.
Result<RuleSet> RulesOf(const json& args) {
  const json* inline_rules = Arg(args, "rules");
  Result<std::string> file = StringArg(args, "file", "");
  if (!file.ok()) return file.status();
  if ((inline_rules != nullptr) == !file->empty()) {
    return Status::InvalidArgument("expected either arguments.rules or arguments.file");
  }
  if (inline_rules != nullptr) return ParseInlineRules(*inline_rules, "arguments.rules");
  Result<std::string> text = internal::ReadWholeFile(*file);
  if (!text.ok()) return text.status();
  return ParseRuleFile(*text, *file);
}

// The core parser's "SOURCE:L:C: faults[0].action: expected ..." about the
// JSON it was given, as "SOURCE.faults[0].action: expected ..." (or
// "SOURCE[0].action" for a list): the line of that JSON means nothing to
// the reader, the field's path in the experiment does.
Status AtField(std::string_view source, const json& value, const Status& parsed) {
  std::string_view m(parsed.message());
  if (m.starts_with(source) && m.substr(source.size()).starts_with(":")) {
    m.remove_prefix(source.size() + 1);
  }
  for (int i = 0; i < 2 && !m.empty() && internal::IsDigit(m.front()); ++i) {
    const std::size_t colon = m.find(':');
    if (colon == std::string_view::npos || !internal::AllDigits(m.substr(0, colon))) break;
    m.remove_prefix(colon + 1);
  }
  while (m.starts_with(" ")) m.remove_prefix(1);
  const std::size_t sep = m.find(": ");
  const std::string_view field = m.substr(0, sep);
  std::string at(source);
  if (sep != std::string_view::npos && field.starts_with("faults[") &&
      field.find(' ') == std::string_view::npos) {
    at += value.is_array() ? std::string(field.substr(6)) : "." + std::string(field);
    m.remove_prefix(sep + 2);
  }
  return Status::InvalidArgument(fmt::format("{}: {}", at, m));
}

ProviderResult Fail(std::string_view func, std::string_view endpoint, const Status& s) {
  return Failure(func, endpoint, s.message());
}

}  // namespace

Result<RuleSet> ParseInlineRules(const json& value, std::string_view source) {
  if (value.is_string()) return ParseRules(value.get<std::string>(), source);
  if (!value.is_object() && !value.is_array()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a rule set ({{faults: [...]}}), a list of rules or YAML text, "
                    "got {}",
                    source, value.dump()));
  }
  Result<RuleSet> rules = ParseRules(value.dump(), source, faultline::Format::kJson);
  if (!rules.ok()) return AtField(source, value, rules.status());
  return rules;
}

ProviderResult Arm(Shared& shared, const json& args) {
  constexpr std::string_view kFunc = "arm";
  Result<std::string> endpoint =
      StringArg(args, "endpoint", std::string(NativeProvider::kDefaultControlEndpoint));
  if (!endpoint.ok()) return Fail(kFunc, "", endpoint.status());
  Result<std::string> token = StringArg(args, "token", "");
  Result<RuleSet> rules = RulesOf(args);
  Result<std::optional<nanoseconds>> ttl = DurationArg(args, "ttl");
  for (const Status* s : {&token.status(), &rules.status(), &ttl.status()}) {
    if (!s->ok()) return Fail(kFunc, *endpoint, *s);
  }
  const TimeNs now = shared.options.clock->Now();
  CapTtls(&*rules, *ttl, MaxTtl(shared), now);
  if (Status s = CheckNotExpired(*rules, now, "arguments.rules"); !s.ok()) {
    return Fail(kFunc, *endpoint, s);
  }
  Result<Control> c = Connect(shared, *endpoint, *token);
  if (!c.ok()) return Fail(kFunc, *endpoint, c.status());
  Result<Current> current = ReadCurrent(shared, *c);
  if (!current.ok()) return Fail(kFunc, *endpoint, current.status());
  if (Status s = RecordRulesUndo(shared, *c, *current); !s.ok()) return Fail(kFunc, *endpoint, s);
  Result<HttpAnswer> put = Call(shared, *c, "PUT", ToYaml(*rules));
  if (!put.ok()) return Fail(kFunc, *endpoint, put.status());
  return Output(BodyJson(put->body));
}

ProviderResult Clear(Shared& shared, const json& args) {
  constexpr std::string_view kFunc = "clear";
  Result<std::string> endpoint =
      StringArg(args, "endpoint", std::string(NativeProvider::kDefaultControlEndpoint));
  if (!endpoint.ok()) return Fail(kFunc, "", endpoint.status());
  Result<std::string> token = StringArg(args, "token", "");
  if (!token.ok()) return Fail(kFunc, *endpoint, token.status());
  Result<Control> c = Connect(shared, *endpoint, *token);
  if (!c.ok()) return Fail(kFunc, *endpoint, c.status());
  Result<Current> current = ReadCurrent(shared, *c);
  if (!current.ok()) return Fail(kFunc, *endpoint, current.status());
  if (Status s = RecordRulesUndo(shared, *c, *current); !s.ok()) return Fail(kFunc, *endpoint, s);
  Result<HttpAnswer> cleared = Call(shared, *c, "DELETE");
  if (!cleared.ok()) return Fail(kFunc, *endpoint, cleared.status());
  return Output(BodyJson(cleared->body));
}

Status UndoRules(Shared& shared, const json& undo) {
  Result<std::string> endpoint = StringArg(undo, "endpoint");
  if (!endpoint.ok())
    return Status::InvalidArgument("undo of rules: " + endpoint.status().message());
  const auto failed = [&](const Status& s) {
    return s.WithContext(fmt::format("undo of the rules at {}", *endpoint));
  };
  RuleSet kept;
  if (const json* text = Arg(undo, "rules")) {
    if (!text->is_string()) return failed(Status::InvalidArgument("rules: expected YAML text"));
    Result<RuleSet> rules = ParseRules(text->get<std::string>(), "the recorded rules");
    if (!rules.ok()) return failed(rules.status());
    const TimeNs soon = shared.options.clock->Now() + kUndoExpiryMargin.count();
    for (Rule& r : rules->rules) {
      if (ExpiredNote(r, soon).empty()) kept.rules.push_back(std::move(r));
    }
  }
  Result<Control> c = Connect(shared, *endpoint, "");
  if (!c.ok()) return failed(c.status());
  Result<HttpAnswer> done =
      kept.rules.empty() ? Call(shared, *c, "DELETE") : Call(shared, *c, "PUT", ToYaml(kept));
  return done.ok() ? Status::Ok() : failed(done.status());
}

}  // namespace faultline::experiment::native_internal
