#include "lambda/async_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace faultline::lambda {

using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

milliseconds Scaled(milliseconds d, double scale) {
  return milliseconds(
      static_cast<std::int64_t>(std::llround(static_cast<double>(d.count()) * scale)));
}

}  // namespace

RetryPolicy PolicyOf(const EventInvokeConfig* config, double time_scale) {
  RetryPolicy p;
  p.time_scale = time_scale;
  if (config && config->maximum_retry_attempts) p.max_retries = *config->maximum_retry_attempts;
  if (config && config->maximum_event_age_s) {
    p.max_age = std::chrono::seconds(*config->maximum_event_age_s);
  }
  return p;
}

std::string_view ConditionName(Condition c) {
  switch (c) {
    case Condition::kSuccess:
      return "Success";
    case Condition::kRetriesExhausted:
      return "RetriesExhausted";
    case Condition::kEventAgeExceeded:
      return "EventAgeExceeded";
    case Condition::kRetry:
      break;
  }
  return "Retry";
}

Decision AfterFailure(int attempts, milliseconds age, const RetryPolicy& policy) {
  if (attempts > policy.max_retries) return {Condition::kRetriesExhausted};
  // AWS: one minute before the first retry, two before the second.
  const milliseconds delay = Scaled(std::chrono::minutes(attempts), policy.time_scale);
  if (age + delay > Scaled(policy.max_age, policy.time_scale)) {
    return {Condition::kEventAgeExceeded};
  }
  return {Condition::kRetry, delay};
}

Decision AfterThrottle(int throttles, milliseconds age, const RetryPolicy& policy) {
  const int doublings = std::min(throttles - 1, 16);
  const milliseconds backoff =
      std::min<milliseconds>(std::chrono::seconds(1) * (1LL << doublings), kMaxThrottleBackoff);
  const milliseconds delay = Scaled(backoff, policy.time_scale);
  if (age + delay > Scaled(policy.max_age, policy.time_scale)) {
    return {Condition::kEventAgeExceeded};
  }
  return {Condition::kRetry, delay};
}

std::optional<Target> TargetOf(std::string_view destination, const std::string& sinks_dir) {
  if (destination.starts_with("file://")) {
    std::string path(destination.substr(7));
    if (path.empty() || path.front() != '/') return std::nullopt;
    return SinkTarget{path};
  }
  // arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE
  if (!destination.starts_with("arn:aws:")) return std::nullopt;
  std::string_view rest = destination.substr(8);
  const std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view service = rest.substr(0, colon);
  std::string_view resource = rest.substr(colon + 1);
  for (int i = 0; i < 2; ++i) {  // region, account
    const std::size_t c = resource.find(':');
    if (c == std::string_view::npos) return std::nullopt;
    resource.remove_prefix(c + 1);
  }
  if (service == "lambda") {
    if (!resource.starts_with("function:") || resource.size() <= 9) return std::nullopt;
    std::string_view name = resource.substr(9);
    return FunctionTarget{std::string(name.substr(0, name.find(':')))};
  }
  if (service != "sqs" && service != "sns" && service != "events" && service != "s3") {
    return std::nullopt;
  }
  std::string name(
      resource.substr(resource.rfind('/') == std::string_view::npos ? 0 : resource.rfind('/') + 1));
  if (name.empty() || name.find_first_of("/\\:") != std::string::npos || name == "." ||
      name == "..") {
    return std::nullopt;
  }
  return SinkTarget{sinks_dir + "/" + name + ".jsonl"};
}

namespace {

EventConfigError Validation(std::string m) { return {true, std::move(m)}; }
EventConfigError Invalid(std::string m) { return {false, std::move(m)}; }

std::optional<EventConfigError> ReadInt(const json& body, const char* key, const char* field,
                                        int lo, int hi, std::optional<int>* out) {
  if (!body.contains(key)) return std::nullopt;
  const json& v = body[key];
  if (!v.is_number_integer() || v.get<long>() < lo || v.get<long>() > hi) {
    return Validation(fmt::format(
        "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member "
        "must have value {} {}",
        v.dump(), field,
        v.is_number_integer() && v.get<long>() < lo ? "greater than or equal to"
                                                    : "less than or equal to",
        v.is_number_integer() && v.get<long>() < lo ? lo : hi));
  }
  *out = v.get<int>();
  return std::nullopt;
}

std::optional<EventConfigError> ReadDestination(
    const json& config, const char* key, const std::string& self_arn,
    const std::function<bool(std::string_view)>& function_exists, std::string* out) {
  if (!config.contains(key)) return std::nullopt;
  const json& d = config[key];
  if (!d.is_object())
    return Invalid(std::string("DestinationConfig.") + key + ": expected an object");
  if (!d.contains("Destination")) {
    out->clear();
    return std::nullopt;
  }
  if (!d["Destination"].is_string()) {
    return Invalid(std::string("DestinationConfig.") + key + ".Destination: expected a string");
  }
  const std::string arn = d["Destination"];
  if (arn.empty()) {
    out->clear();
    return std::nullopt;
  }
  if (arn == self_arn || arn.starts_with(self_arn + ":")) {
    return Invalid("You can't specify the function as a destination for itself.");
  }
  const std::optional<Target> target = TargetOf(arn, "/");
  if (!target) {
    return Invalid(
        fmt::format("The provided destination config DestinationConfig({}={}) is "
                    "invalid.",
                    key, arn));
  }
  if (std::holds_alternative<FunctionTarget>(*target) && !function_exists(arn)) {
    return Invalid(fmt::format("The destination ARN {} is invalid.", arn));
  }
  *out = arn;
  return std::nullopt;
}

}  // namespace

std::variant<EventInvokeConfig, EventConfigError> ReadEventInvokeConfig(
    const json& body, const EventInvokeConfig* current, const std::string& self_arn,
    const std::function<bool(std::string_view arn)>& function_exists) {
  if (!body.is_object()) return Invalid("request body: expected a JSON object");
  const bool any = body.contains("MaximumRetryAttempts") ||
                   body.contains("MaximumEventAgeInSeconds") || body.contains("DestinationConfig");
  if (!any)
    return Invalid("You must specify at least one of error handling or destination setting.");
  EventInvokeConfig out = current ? *current : EventInvokeConfig{};
  if (auto e = ReadInt(body, "MaximumRetryAttempts", "maximumRetryAttempts", 0, 2,
                       &out.maximum_retry_attempts)) {
    return *e;
  }
  if (auto e = ReadInt(body, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds",
                       static_cast<int>(kMinEventAge.count()),
                       static_cast<int>(kDefaultMaxEventAge.count()), &out.maximum_event_age_s)) {
    return *e;
  }
  if (body.contains("DestinationConfig")) {
    const json& d = body["DestinationConfig"];
    if (!d.is_object()) return Invalid("DestinationConfig: expected an object");
    if (auto e = ReadDestination(d, "OnSuccess", self_arn, function_exists, &out.on_success)) {
      return *e;
    }
    if (auto e = ReadDestination(d, "OnFailure", self_arn, function_exists, &out.on_failure)) {
      return *e;
    }
  }
  return out;
}

json EventInvokeConfigJson(const EventInvokeConfig& c, const std::string& function_arn) {
  json out{{"FunctionArn", function_arn},
           {"LastModified", c.last_modified},
           {"DestinationConfig", {{"OnSuccess", json::object()}, {"OnFailure", json::object()}}}};
  if (c.maximum_retry_attempts) out["MaximumRetryAttempts"] = *c.maximum_retry_attempts;
  if (c.maximum_event_age_s) out["MaximumEventAgeInSeconds"] = *c.maximum_event_age_s;
  if (!c.on_success.empty()) out["DestinationConfig"]["OnSuccess"]["Destination"] = c.on_success;
  if (!c.on_failure.empty()) out["DestinationConfig"]["OnFailure"]["Destination"] = c.on_failure;
  return out;
}

json DestinationRecord(const RecordFields& f) {
  // A payload that is JSON goes in as JSON; anything else as a string.
  auto value = [](const std::string& text) {
    json v = json::parse(text, nullptr, false);
    return v.is_discarded() ? json(text) : v;
  };
  json record{{"version", "1.0"},
              {"timestamp", f.timestamp},
              {"requestContext",
               {{"requestId", f.request_id},
                {"functionArn", f.function_arn},
                {"condition", ConditionName(f.condition)},
                {"approximateInvokeCount", f.approximate_invoke_count}}},
              {"requestPayload", value(f.request_payload)}};
  if (f.invoked) {
    record["responseContext"] = {{"statusCode", 200}, {"executedVersion", f.executed_version}};
    if (f.function_error) record["responseContext"]["functionError"] = "Unhandled";
    record["responsePayload"] = value(f.response_payload);
  }
  return record;
}

}  // namespace faultline::lambda
