// Extension: `faultline extension`, the runtime API proxy run as an external
// Lambda extension.
//
//   Start: engine <- rules (file, watched | env) ; proxy on :9100 ; control
//          on :9101 ; port files for the wrapper
//   Register (after the startup delay: init rules, FAULTLINE_STARTUP_DELAY)
//            -> Extensions API, INVOKE + SHUTDOWN (or init/error: init rules)
//   RunEvents: event/next until SHUTDOWN
//
// Configuration comes from environment variables (ConfigFromEnv), which
// command-line flags may override. A bad value never breaks the function:
// it is logged and its default (or no rules) used instead.
//
// Thread-safety: Start, Register, RunEvents and Stop from one thread; the
// proxy and the control endpoint run on a thread of their own; the log
// function is called from any of them (serialised by Extension).
#ifndef FAULTLINE_EXTENSION_EXTENSION_H_
#define FAULTLINE_EXTENSION_EXTENSION_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extension/run_dir.h"
#include "faultline/engine.h"
#include "faultline/status.h"

namespace faultline::extension {

struct ExtensionConfig {
  std::string name = "faultline";                    // Lambda-Extension-Name
  std::string runtime_api;                           // AWS_LAMBDA_RUNTIME_API (host:port)
  std::string upstream;                              // FAULTLINE_UPSTREAM; empty: runtime_api
  std::uint16_t proxy_port = 9100;                   // FAULTLINE_PROXY_PORT (0: any free port)
  std::optional<std::uint16_t> control_port = 9101;  // FAULTLINE_CONTROL_PORT ("off": none)
  std::string rules_file;                            // FAULTLINE_RULES_FILE: watched
  std::string rules_text;                            // FAULTLINE_RULES: YAML or JSON rules
  std::string compact;                               // FAULTLINE_FAULTS: compact form
  std::string function = "function";                 // AWS_LAMBDA_FUNCTION_NAME: rules' target
  std::string emf_namespace = "faultline";        // FAULTLINE_EMF_NAMESPACE ("" or "off": no EMF)
  std::chrono::milliseconds startup_delay{0};     // FAULTLINE_STARTUP_DELAY (duration)
  std::chrono::milliseconds watch_interval{100};  // FAULTLINE_WATCH_INTERVAL_MS
  std::string run_dir = DefaultRunDir();          // FAULTLINE_RUN_DIR: port and token files
  std::uint64_t seed = 0;                         // FAULTLINE_SEED (0: random, logged)
  bool dry_run = false;                           // FAULTLINE_DRY_RUN=1
  // The CHAOS_EXTENSION__* variables, read with ReadChaosLambdaExtensionEnv.
  std::map<std::string, std::string> chaos_env;
};

// Reads `env` (name -> value). Bad values are reported in `warnings` (one
// line each, naming the variable) and leave the default.
ExtensionConfig ConfigFromEnv(const std::map<std::string, std::string>& env,
                              std::vector<std::string>* warnings);
// The process environment.
std::map<std::string, std::string> ProcessEnv();

// The name of the file the proxy (or control) address, or the control
// token, is written to, for the wrapper and `faultline faults`:
// faultline-<what>-<key>, key being runtime_api (else upstream) with ':'
// and '/' as '_'. `what`: "proxy", "control" or "token".
std::string PortFileName(const ExtensionConfig& config, std::string_view what);
// <run_dir>/PortFileName(config, what).
std::string PortFilePath(const ExtensionConfig& config, std::string_view what);

class Extension {
 public:
  using LogFn = std::function<void(std::string_view line)>;
  // Builds the engine and loads the rules, starts the proxy and the control
  // endpoint, writes the control token and the port files (RunDir). A busy
  // port gives way to a free one (logged). A run directory that is refused
  // (RunDir::Open) is logged and means no files, hence no control endpoint:
  // the wrapper starts the runtime unproxied. Fails only when the proxy
  // cannot listen at all or there is no Runtime API to forward to.
  static Result<std::unique_ptr<Extension>> Start(ExtensionConfig config, LogFn log);
  ~Extension();
  Extension(const Extension&) = delete;
  Extension& operator=(const Extension&) = delete;

  // The init phase (the cold start), decided once from the rules of phase
  // init: waits the startup delay (an init latency rule's, plus
  // FAULTLINE_STARTUP_DELAY), then registers with the Extensions API. When
  // an init error rule fires it then reports the init error
  // (POST /extension/init/error, Lambda-Extension-Function-Error-Type
  // Extension.*) and returns an Injected status: the caller must exit, as
  // Lambda expects of an extension that failed its init.
  Status Register();
  // Polls event/next until SHUTDOWN (OK) or the Extensions API fails.
  Status RunEvents();
  // Stops everything, removes the port files. Idempotent.
  void Stop();

  std::uint16_t proxy_port() const;
  std::optional<std::uint16_t> control_port() const;
  // What every control request must send (`Authorization: Bearer <token>`):
  // new at each start, in the run directory's token file (mode 0600). Empty
  // when there is no control endpoint.
  const std::string& control_token() const;
  // Every rule as loaded (what GET /rules shows). It decides nothing itself:
  // loading rules here does not reach the proxy (use the control endpoint).
  Engine& engine();

  struct Impl;  // internal

 private:
  explicit Extension(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::extension

#endif  // FAULTLINE_EXTENSION_EXTENSION_H_
