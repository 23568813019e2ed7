// Emulator: the local Lambda platform behind `faultline lambda serve`.
//
//   caller --Invoke API--> Emulator --assign--> Environment (processes)
//                             |                    ^   |
//                             |   Runtime API 2018-06-01 on its own port:
//                             |   /next (long poll), /response, /error;
//                             |   Extensions API 2020-01-01 on the same port
//                             +-- management API, /metrics
//
// Each function has execution environments: processes started from its
// command with AWS_LAMBDA_RUNTIME_API pointing at a Runtime API of their
// own, and the function's external extensions, started first (the runtime
// starts once every one of them has registered). A runtime's streamed
// response goes on to the caller as it arrives (InvokeWithResponseStream:
// AWS event stream messages). An invocation completes when the runtime has
// answered and every extension has called event/next after its INVOKE event; a stopping
// environment sends SHUTDOWN to its extensions and kills every process after
// the shutdown budget. A warm idle environment is reused; otherwise one is cold-started, up
// to the function's reserved concurrency (or the account's); beyond that an
// invocation is throttled (429). A timeout or a crash stops the environment
// and answers as AWS does; the next invocation starts a new one.
//
// Thread-safety: everything runs on the io_context given to Start; create,
// use and destroy the Emulator on that thread (or before it runs).
#ifndef FAULTLINE_LAMBDA_EMULATOR_H_
#define FAULTLINE_LAMBDA_EMULATOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/sigv4.h"
#include "faultline/clock.h"
#include "faultline/status.h"
#include "http/asio.h"
#include "lambda/config.h"

namespace faultline::lambda {

class Platform;  // internal: platform.h

struct EmulatorOptions {
  EmulatorConfig config;
  std::string host = "127.0.0.1";  // of the Invoke API; Runtime APIs are always loopback
  std::uint16_t port = 0;          // 0: any free port (see Emulator::port())
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Every line the functions print, and the platform's START / END / REPORT
  // lines, prefixed "[function] ". Called on the io thread. Empty: dropped.
  std::function<void(std::string_view line)> log;
  // How long an environment may take from start to its first /next.
  std::chrono::milliseconds init_timeout{10000};
  // When set, every request to the Invoke and management APIs must carry an
  // AWS Signature Version 4 made with these credentials (boto3, the aws CLI
  // and the SDKs sign every request); others get AWS's 403. /metrics and
  // /metrics.json (read-only) and function URLs of AuthType NONE are open.
  // Unset: nothing is checked (`lambda serve --no-auth`, in-process tests).
  std::optional<aws::Credentials> credentials;
  // Where sink destinations (file:// URLs, SQS/SNS/EventBridge/S3 ARNs as
  // <sinks_dir>/<name>.jsonl) are written; created 0700 when first needed.
  std::string sinks_dir = "sinks";
  // The seed of the platform's own random choices (the version a weighted
  // alias routes to), so that a run can be replayed; 0: a random one
  // (Emulator::seed() says which).
  std::uint64_t seed = 0;
  // The time signatures are checked against (AWS allows 5 minutes either way).
  Clock* clock = SystemClock::Default();
};

class Emulator {
 public:
  static Result<std::unique_ptr<Emulator>> Start(http::asio::io_context& io,
                                                 EmulatorOptions options);
  // Stop(); then, when the io_context is not running on this thread (its
  // run() has returned), runs it for at most about 700 ms so that
  // extensions get their SHUTDOWN event and act on it; kills and reaps every
  // process that is left.
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // The Invoke / management API port.
  std::uint16_t port() const;
  // The seed of the platform's random choices (EmulatorOptions::seed, or
  // the one drawn when that was 0).
  std::uint64_t seed() const;
  // What a graceful shutdown could not finish.
  struct ShutdownReport {
    // Invocations still running when the grace period ended: answered with
    // AWS's error shape (Runtime.ExitError "the emulator is shutting down").
    int cut_off = 0;
    // Accepted Event invocations that never ran (or never ran to their
    // end): function name and request id.
    std::vector<std::pair<std::string, std::string>> events_not_run;
  };
  // A graceful stop, as `lambda serve` does on SIGINT/SIGTERM: stops
  // accepting (the Invoke API and every function URL), lets the running
  // invocations and the Event invocations that may run now finish for at
  // most `grace`, then Stop()s and calls `done` with what was left. Call on
  // the io thread.
  void Shutdown(std::chrono::milliseconds grace, std::function<void(ShutdownReport)> done);
  // Stops the Invoke API and every environment: invocations in flight fail;
  // extensions subscribed to SHUTDOWN get it and at most 500 ms (while the
  // io_context runs) before SIGKILL; environments without are killed (every
  // process group) and reaped at once. Idempotent.
  void Stop();

 private:
  explicit Emulator(std::shared_ptr<Platform> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Platform> impl_;
};

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_EMULATOR_H_
