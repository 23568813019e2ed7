#include "extension/policy.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

namespace faultline::extension {

using json = nlohmann::json;

namespace {

// The string at `ptr` in `doc`, if there is one.
const std::string* StringAt(const json& doc, const json::json_pointer& ptr) {
  if (!doc.contains(ptr)) return nullptr;
  const json& v = doc.at(ptr);
  return v.is_string() ? v.get_ptr<const std::string*>() : nullptr;
}

void AddFirst(const json& doc, OwnedTags& out, const char* key,
              std::initializer_list<const char*> pointers) {
  for (const char* p : pointers) {
    if (const std::string* v = StringAt(doc, json::json_pointer(p))) {
      out.emplace_back(key, *v);
      return;
    }
  }
}

}  // namespace

OwnedTags EventTags(std::string_view event) {
  OwnedTags tags;
  const json doc = json::parse(event, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return tags;
  AddFirst(doc, tags, "path", {"/rawPath", "/path"});
  AddFirst(doc, tags, "method", {"/requestContext/http/method", "/httpMethod"});
  AddFirst(doc, tags, "resource", {"/resource", "/routeKey"});
  AddFirst(doc, tags, "source", {"/Records/0/eventSource", "/source"});
  return tags;
}

std::vector<Tag> TagViews(const OwnedTags& tags) {
  std::vector<Tag> views;
  views.reserve(tags.size());
  for (const auto& [k, v] : tags) views.push_back(Tag{k, v});
  return views;
}

Phase EffectivePhase(Action action, Phase phase) {
  if (phase != Phase::kDefault) return phase;
  return action == Action::kBody ? Phase::kAfter : Phase::kBefore;
}

InvocationPlan ToInvocationPlan(const Plan& plan) {
  InvocationPlan out;
  if (plan.empty()) return out;
  const Plan::Details& d = plan.details();
  out.delay_after = d.delay_after;
  out.delay_before = plan.delay() - d.delay_after;
  out.rule = d.rule;
  switch (plan.action()) {
    case Action::kError:
      out.error = d.error;
      break;
    case Action::kStatus:
    case Action::kBody:
      out.response = d.response;
      break;
    case Action::kTimeout:
      out.timeout_buffer_ms = d.timeout_buffer_ms;
      break;
    default:
      return out;  // latency only, or an action with no Runtime API meaning
  }
  out.action = plan.action();
  out.phase = EffectivePhase(plan.action(), d.phase);
  return out;
}

namespace {
RuleSet RulesWhere(const RuleSet& rules, bool init) {
  RuleSet out;
  for (const Rule& r : rules.rules) {
    if ((r.phase == Phase::kInit) == init) out.rules.push_back(r);
  }
  return out;
}
}  // namespace

RuleSet InvocationRules(const RuleSet& rules) { return RulesWhere(rules, false); }
RuleSet InitRules(const RuleSet& rules) { return RulesWhere(rules, true); }

InitPlan ToInitPlan(const Plan& plan) {
  InitPlan out;
  if (plan.empty()) return out;
  out.delay = plan.delay();
  out.rule = plan.details().rule;
  if (plan.action() == Action::kError) {
    out.fail = true;
    out.error = plan.details().error;
    out.error.type = ExtensionErrorType(out.error.type);
  }
  return out;
}

std::string ExtensionErrorType(std::string_view type) {
  static const std::regex kValid("(Extension|Runtime|Function)\\.([A-Z][a-zA-Z]+)");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_match(type.begin(), type.end(), m, kValid)) return "Extension." + m[2].str();
  return "Extension.InjectedFault";
}

std::string LambdaErrorType(std::string_view type) {
  static const std::regex kValid("(Runtime|Function)\\.[A-Z][a-zA-Z]+");
  if (std::regex_match(type.begin(), type.end(), kValid)) return std::string(type);
  return "Function.InjectedFault";
}

std::string ErrorBody(const ErrorSpec& error) {
  return json{{"errorMessage", error.message},
              {"errorType", LambdaErrorType(error.type)},
              {"stackTrace", json::array()}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string StatusBody(const ResponseSpec& response) {
  json headers = json::object();
  for (const auto& [k, v] : response.headers) headers[k] = v;
  if (!headers.contains("Content-Type")) {
    headers["Content-Type"] =
        response.content_type.empty() ? "application/json" : response.content_type;
  }
  return json{{"statusCode", response.code},
              {"headers", headers},
              {"body", response.body},
              {"isBase64Encoded", false}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ReplaceBody(std::string_view original, const std::string& body) {
  if (original.empty()) {
    return json{{"statusCode", 200}, {"body", body}}.dump(-1, ' ', false,
                                                          json::error_handler_t::replace);
  }
  json doc = json::parse(original, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("statusCode")) return body;
  doc["body"] = body;
  doc["isBase64Encoded"] = false;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::chrono::milliseconds TimeoutWait(std::int64_t deadline_ms, std::int64_t now_ms,
                                      double buffer_ms) {
  if (deadline_ms <= 0) return std::chrono::milliseconds(0);
  // No buffer: the platform's timeout must come first, so hold past the
  // deadline (the platform may notice it a little late).
  const double until = buffer_ms > 0 ? static_cast<double>(deadline_ms - now_ms) - buffer_ms
                                     : static_cast<double>(deadline_ms - now_ms + kPastDeadlineMs);
  if (until <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(until)));
}

std::string EmfLine(std::string_view ns, std::string_view function, Action action,
                    std::string_view rule, std::int64_t timestamp_ms) {
  json metric = {{"Namespace", ns},
                 {"Dimensions", json::array({json::array({"FunctionName", "Action"})})},
                 {"Metrics", json::array({{{"Name", "Injections"}, {"Unit", "Count"}}})}};
  json line = {
      {"_aws", {{"Timestamp", timestamp_ms}, {"CloudWatchMetrics", json::array({metric})}}},
      {"FunctionName", function},
      {"Action", ActionName(action)},
      {"Rule", rule},
      {"Injections", 1}};
  return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace faultline::extension
