// Native: faultline's own provider for experiments,
// {"type": "faultline", "func": F, "arguments": {...}}, and the undoing of
// what it changed.
//
//   Run(provider, ctx) ─► Substitute(arguments, ctx) ─► func:
//     arm, clear                      the /rules of a control endpoint
//                                     (Bearer token)        native_control.cc
//     put-function-concurrency,       the Lambda API, SigV4-signed
//     delete-function-concurrency,    with the emulator's    native_lambda.cc
//     update-function-configuration   credentials
//     metrics                         GET /metrics.json      native_lambda.cc
//     load                            the load generator, in-process
//                                                            native_load.cc
//   ─► ProviderResult {ok, output | error naming the function and endpoint}
//
// Arguments (a string with "${...}" is substituted first; a number may come
// as its text):
//   arm       endpoint (default kDefaultControlEndpoint), token, rules (an
//             object {faults: [...]}, a list of rules or YAML text) or file
//             (a rule file), ttl (for rules without one: "30s", or seconds)
//             -> the endpoint's answer, {"rules": N}
//   clear     endpoint, token -> {"rules": 0}
//   put-function-concurrency     endpoint (default: AWS_ENDPOINT_URL_LAMBDA,
//             AWS_ENDPOINT_URL, kDefaultLambdaEndpoint), function,
//             reserved (>= 0) -> {"ReservedConcurrentExecutions": N}
//   delete-function-concurrency  endpoint, function -> null
//   update-function-configuration endpoint, function, any of timeout,
//             memory_size, environment (a mapping; replaces the function's
//             variables, as AWS's Environment does) -> the configuration
//   metrics   endpoint, function (optional) -> that function's object of
//             /metrics.json ({"Invocations", "Errors", ...}), or all of it
//   load      url, connections (4), duration (10 s), rate (requests/s;
//             none: closed loop), method (GET), headers (a mapping), body (a
//             string, or JSON), timeout (10 s), check_reachable (false: a
//             server that is down gives errors, not a failure)
//             -> {"requests", "errors" (no answer), "http_errors" (>= 400),
//                 "error_rate" (both over requests; 0 with no requests),
//                 "p50_ms", "p90_ms", "p99_ms" (0 with no answers), "rps",
//                 "report": the --json document of docs/load.md}
//
// Every function that changes something does it in three steps, so that a
// run that crashes half-way can always be put back (`faultline rollback`):
//
//   read the current value ─► record_undo(undo) ─► change
//                              (fails: nothing is changed, the activity
//                               fails with its message)
//
// An undo is a self-contained JSON object (the endpoint, the function, the
// value to restore) that Undo() carries out, in this process or another:
//
//   {"kind": "rules", "endpoint": E, "rules": "<YAML>" | null}
//       PUT the rules back (those expired meanwhile left out), or DELETE
//       /rules when there were none (null)
//   {"kind": "function-concurrency", "endpoint": E, "function": F,
//    "reserved": N | null}
//       PutFunctionConcurrency N, or DeleteFunctionConcurrency (null: the
//       function had no reservation)
//   {"kind": "function-configuration", "endpoint": E, "function": F,
//    "configuration": {"Timeout": 3, "MemorySize": 128,
//                      "Environment": {"Variables": {...}}}}
//       UpdateFunctionConfiguration with the keys that were changed, as
//       they were
//
// No secret is written into an undo: a control token given as the `token`
// argument is remembered by this NativeProvider (for its own Undo) and is
// otherwise found again as the CLI finds it (FAULTLINE_CONTROL_TOKEN, the
// token file in FAULTLINE_RUN_DIR); Lambda credentials likewise.
//
// ttl: every rule `arm` puts gets a ttl no longer than max_ttl(), so rules
// armed by a runner that crashed expire by themselves. Seeds: a rule set
// has no seed of its own (include/faultline/rules.h): the extension's
// engine takes it from FAULTLINE_SEED when it starts, so `arm` cannot pass
// the run's seed on.
//
// Interrupt: the runner calls Interrupt() from its RunOptions::
// interrupt_provider (with Providers::Interrupt). It stops a `load` in
// progress at once (the activity fails with "interrupted") and refuses the
// loads that come after; the other functions, each one short request
// bounded by request_timeout, still run, so that rollbacks (which clear
// faults) work after an interrupt.
//
// Thread-safety: Run, Undo and Interrupt may be called from several threads
// at once; CheckFaultlineProvider and the free Undo keep no state.
#ifndef FAULTLINE_EXPERIMENT_NATIVE_H_
#define FAULTLINE_EXPERIMENT_NATIVE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "experiment/context.h"
#include "experiment/json.h"
#include "experiment/provider.h"
#include "experiment/validate.h"
#include "faultline/clock.h"
#include "faultline/status.h"

namespace faultline::experiment {

struct NativeOptions {
  // Called with each undo (see the top of this file) and a one-line
  // description of it ("restore the 2 rules armed at http://..."), before
  // the change is made; the runner writes it to its state file. A failure
  // (or nullptr) means the change is not made and the activity fails.
  std::function<Status(const json& undo, std::string_view description)> record_undo;
  // The longest ttl a rule may be armed with: the runner passes the time
  // its run still has plus a margin. Asked at each `arm`. nullptr:
  // kDefaultMaxTtl.
  std::function<std::chrono::nanoseconds()> max_ttl;
  // Environment variables: AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL (the
  // Lambda endpoint), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
  // AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION,
  // FAULTLINE_CONTROL_TOKEN, FAULTLINE_RUN_DIR.
  EnvLookup env = ProcessEnv();
  // Where the emulator's credentials are, when AWS_ACCESS_KEY_ID and
  // AWS_SECRET_ACCESS_KEY are not both set; "": aws::DefaultCredentialsDir()
  // (as `faultline lambda invoke`).
  std::string credentials_dir;
  // The time requests are signed at and ttls count from.
  Clock* clock = SystemClock::Default();
  // Bounds each request to a control endpoint or the Lambda API.
  std::chrono::milliseconds request_timeout{10000};
};

class NativeProvider {
 public:
  // The longest ttl of an armed rule when NativeOptions::max_ttl is unset.
  static constexpr std::chrono::nanoseconds kDefaultMaxTtl = std::chrono::minutes(15);
  // Where `arm` and `clear` go without an endpoint: the extension's default
  // control port.
  static constexpr std::string_view kDefaultControlEndpoint = "http://127.0.0.1:9101";
  // Where the Lambda functions go without an endpoint and without
  // AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL: `faultline lambda serve`'s
  // default port.
  static constexpr std::string_view kDefaultLambdaEndpoint = "http://127.0.0.1:3001";

  explicit NativeProvider(NativeOptions options);
  ~NativeProvider();  // stops a load in progress
  NativeProvider(const NativeProvider&) = delete;
  NativeProvider& operator=(const NativeProvider&) = delete;

  // Runs `provider` (the provider object, REQUIRES: type "faultline"; its
  // arguments are substituted with `ctx` here). For
  // Providers::Options::faultline.
  ProviderResult Run(const json& provider, const Context& ctx);

  // Carries out one recorded undo, with this provider's options and the
  // tokens its `arm` and `clear` were given. Errors name the endpoint.
  Status Undo(const json& undo);

  // See the top of this file.
  void Interrupt();

  struct Shared;  // internal: native_internal.h

 private:
  std::unique_ptr<Shared> shared_;
};

// Undo with NativeOptions{} (the process's environment, the default
// credentials): for `faultline rollback` after a crash.
Status Undo(const json& undo);

// The names F of the functions, in the order above.
std::vector<std::string_view> NativeFunctions();

// Checks a faultline provider (the object at `path`) as far as it can
// before substitution: a known func ("did you mean"), arguments a mapping
// with known keys of the right types (a string with "$" in it stands for
// any type: substitution decides), required arguments present, an inline
// rule set (or a rule file) that parses, with the parser's message. Each
// problem's path is under `path` ("method[0].provider.arguments.ttl").
// For ValidateOptions::check_faultline.
void CheckFaultlineProvider(const json& provider, const std::string& path,
                            std::vector<Problem>* out);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_NATIVE_H_
