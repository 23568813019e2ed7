// The pieces of the faultline provider (native.h) that its files share:
// the state of one NativeProvider, reading arguments, recording undos, and
// the one HTTP call everything goes through (native_http.cc, the only file
// on Asio, so that clang-tidy checks the others).
//
//   native.cc          Run: substitute, dispatch by func; Undo: by kind
//   native_control.cc  arm, clear, undo of rules
//   native_lambda.cc   concurrency, configuration, metrics, their undos
//   native_load.cc     load
//   native_validate.cc CheckFaultlineProvider
//   native_http.cc     Send (Beast, SigV4)
//
// Internal to the faultline provider.
//
// Thread-safety: Shared's mutable parts are guarded by its mutex; the free
// functions keep no state.
#ifndef FAULTLINE_EXPERIMENT_NATIVE_INTERNAL_H_
#define FAULTLINE_EXPERIMENT_NATIVE_INTERNAL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/sigv4.h"
#include "experiment/json.h"
#include "experiment/native.h"
#include "experiment/provider.h"
#include "faultline/rules.h"
#include "faultline/status.h"

namespace faultline::load {
class LoadRun;
}

namespace faultline::experiment {

struct NativeProvider::Shared {
  explicit Shared(NativeOptions o) : options(std::move(o)) {}
  const NativeOptions options;

  std::mutex mu;  // guards what follows
  // Control tokens given as `token` arguments, by endpoint (for Undo; never
  // written into an undo).
  std::map<std::string, std::string> tokens;
  // Loads in progress (Interrupt stops them); each is removed, under mu,
  // before it is destroyed.
  std::set<load::LoadRun*> loads;
  bool interrupted = false;
};

namespace native_internal {

using Shared = NativeProvider::Shared;

// ---- HTTP (native_http.cc) ----

struct Signing {
  aws::Credentials credentials;
  std::string region;
  TimeNs now = 0;
};

struct HttpCall {
  std::string method;    // GET, PUT, POST, DELETE
  std::string endpoint;  // http://HOST:PORT[/BASE]
  std::string path;      // appended to the endpoint's path: "/rules"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  std::optional<Signing> sign;  // SigV4 for the "lambda" service
};

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string error_type;  // x-amzn-ErrorType, for AWS's errors
};

// Sends one request. kInvalidArgument for an endpoint that is not an
// http:// URL (the message names it); kUnavailable when it cannot be
// reached or does not answer in time.
Result<HttpAnswer> Send(const HttpCall& call);
// The port of an http:// URL (for finding a control token file).
Result<std::uint16_t> EndpointPort(std::string_view endpoint);

// ---- arguments (native.cc) ----

// The value of `key` in `args`, or nullptr when absent or null.
const json* Arg(const json& args, std::string_view key);
// A string argument; `fallback` when absent (nullopt: required).
Result<std::string> StringArg(const json& args, std::string_view key,
                              std::optional<std::string> fallback = std::nullopt);
// An integer argument (a string of digits is accepted: substitution into a
// longer string gives text); `fallback` when absent (nullopt: required).
Result<std::int64_t> IntArg(const json& args, std::string_view key,
                            std::optional<std::int64_t> fallback = std::nullopt);
// A number (or numeric string); nullopt when absent.
Result<std::optional<double>> NumberArg(const json& args, std::string_view key);
// A duration: a number of seconds or a rule-file duration ("30s", "5m");
// nullopt when absent.
Result<std::optional<std::chrono::nanoseconds>> DurationArg(const json& args, std::string_view key);

// "FUNC: ENDPOINT: WHAT" as a failed ProviderResult.
ProviderResult Failure(std::string_view func, std::string_view endpoint, std::string_view what);
// A successful ProviderResult with `output`.
ProviderResult Output(json output);
// An answer body as JSON when it is JSON, else as text (null when empty).
json BodyJson(const std::string& body);
// "answered 404 ResourceNotFoundException: Function not found: ..."
std::string Refused(const HttpAnswer& answer);

// Records `undo` through the options' record_undo (REQUIRES: nothing is
// changed yet); its error says the change was not made.
Status RecordUndo(const Shared& shared, const json& undo, std::string_view description);

// ---- control endpoints (native_control.cc) ----
ProviderResult Arm(Shared& shared, const json& args);
ProviderResult Clear(Shared& shared, const json& args);
// An inline rule set: an object ({faults: [...]}), a list of rules, or
// YAML/JSON text; errors as the core parser gives them, under `source`.
Result<RuleSet> ParseInlineRules(const json& value, std::string_view source);
Status UndoRules(Shared& shared, const json& undo);

// ---- Lambda API (native_lambda.cc) ----
ProviderResult PutConcurrency(Shared& shared, const json& args);
ProviderResult DeleteConcurrency(Shared& shared, const json& args);
ProviderResult UpdateConfiguration(Shared& shared, const json& args);
ProviderResult Metrics(Shared& shared, const json& args);
Status UndoConcurrency(Shared& shared, const json& undo);
Status UndoConfiguration(Shared& shared, const json& undo);

// ---- load (native_load.cc) ----
ProviderResult Load(Shared& shared, const json& args);
// Stops every load in progress (under shared.mu).
void StopLoads(Shared& shared);

}  // namespace native_internal
}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_NATIVE_INTERNAL_H_
