// Asynchronous invocation's policy, as pure functions: when a failed or
// throttled Event invocation is tried again, when it is given up, what is
// sent where (AWS's destination record), and the event invoke
// configuration's rules.
//
//   failed (function error, timeout, crash) --AfterFailure--> retry in 1 min,
//     then 2 min (AWS), at most MaximumRetryAttempts; then RetriesExhausted
//   throttled --AfterThrottle--> again in 1 s, 2 s, 4 s ... 5 min (capped),
//     not counted as an attempt; until MaximumEventAgeInSeconds: EventAgeExceeded
//
// Every delay and age is multiplied by `time_scale` (functions.yaml's
// time_scale: 1 is AWS's timing; an experiment may take 0.001 and see a
// retry after 60 ms). Decided here, carried out by async_delivery.cc.
//
// Thread-safety: pure functions and plain values.
#ifndef FAULTLINE_LAMBDA_ASYNC_POLICY_H_
#define FAULTLINE_LAMBDA_ASYNC_POLICY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace faultline::lambda {

// AWS's defaults and limits.
inline constexpr int kDefaultRetryAttempts = 2;                    // 0..2
inline constexpr std::chrono::seconds kDefaultMaxEventAge{21600};  // 6 hours
inline constexpr std::chrono::seconds kMinEventAge{60};
inline constexpr std::chrono::seconds kMaxThrottleBackoff{300};  // 5 minutes

// Put/UpdateFunctionEventInvokeConfig's settings for one qualifier.
struct EventInvokeConfig {
  std::optional<int> maximum_retry_attempts;
  std::optional<int> maximum_event_age_s;
  std::string on_success;  // destination: a function's ARN, a sink (see Sink)
  std::string on_failure;
  double last_modified = 0;  // epoch seconds, with milliseconds
};

struct RetryPolicy {
  int max_retries = kDefaultRetryAttempts;
  std::chrono::milliseconds max_age = kDefaultMaxEventAge;
  double time_scale = 1.0;
};
RetryPolicy PolicyOf(const EventInvokeConfig* config, double time_scale);

enum class Condition { kRetry, kSuccess, kRetriesExhausted, kEventAgeExceeded };
std::string_view ConditionName(Condition c);  // "Success", "RetriesExhausted", ...

struct Decision {
  Condition condition;
  std::chrono::milliseconds delay{0};  // with kRetry
};
// After the `attempts`-th attempt (1 = the first run) failed, the event
// being `age` old.
Decision AfterFailure(int attempts, std::chrono::milliseconds age, const RetryPolicy& policy);
// After the `throttles`-th throttle (1 = the first).
Decision AfterThrottle(int throttles, std::chrono::milliseconds age, const RetryPolicy& policy);

// Where a destination (or a dead-letter target) delivers.
struct FunctionTarget {
  std::string name;
};
// A JSON-lines file: `file:///abs/path.jsonl`, or an SQS queue / SNS topic /
// EventBridge bus / S3 bucket ARN, written to <sinks_dir>/<resource>.jsonl.
struct SinkTarget {
  std::string path;
};
using Target = std::variant<FunctionTarget, SinkTarget>;
// The target `destination` names, or nullopt when it is not one Lambda
// accepts (a Lambda function, SQS, SNS, EventBridge, S3) or a file:// URL.
std::optional<Target> TargetOf(std::string_view destination, const std::string& sinks_dir);

// Reads a Put (`current` null: what is not given is unset) or Update (over
// `current`) body; on failure AWS's message, and whether it is a
// ValidationException. `function_exists` tells a destination function apart.
struct EventConfigError {
  bool validation = false;
  std::string message;
};
std::variant<EventInvokeConfig, EventConfigError> ReadEventInvokeConfig(
    const nlohmann::json& body, const EventInvokeConfig* current, const std::string& self_arn,
    const std::function<bool(std::string_view arn)>& function_exists);

nlohmann::json EventInvokeConfigJson(const EventInvokeConfig& c, const std::string& function_arn);

// What one delivery reports: AWS's invocation record.
struct RecordFields {
  std::string request_id;
  std::string function_arn;  // qualified (:$LATEST, :1, :alias)
  Condition condition = Condition::kSuccess;
  int approximate_invoke_count = 1;
  std::string request_payload;
  bool invoked = true;           // false: aged out before any attempt
  std::string executed_version;  // with `invoked`
  bool function_error = false;
  std::string response_payload;
  std::string timestamp;  // "2019-11-14T18:16:05.568Z"
};
nlohmann::json DestinationRecord(const RecordFields& f);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_ASYNC_POLICY_H_
