// Invocation: one call of a function, from the Invoke API (or an Event
// queue, or a function URL) to its outcome.
//
//   created --Assign--> env->current --/next--> delivered --answer/timeout/crash--> outcome
//
// The caller's coroutine waits on `done`; the Runtime API, the timeout and
// the environment's death decide the outcome. Internal to the emulator.
//
// Thread-safety: the emulator's io thread only.
#ifndef FAULTLINE_LAMBDA_INVOCATION_H_
#define FAULTLINE_LAMBDA_INVOCATION_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/asio.h"

namespace faultline::lambda {

using Steady = std::chrono::steady_clock;

// AWS's limits: synchronous payloads 6 MB each way; the Runtime API allows a
// little framing on top (RIE: 6 MiB + 100 bytes).
inline constexpr std::size_t kMaxPayload = 6 * 1024 * 1024;
inline constexpr std::size_t kMaxRuntimeResponse = kMaxPayload + 100;
// A streamed response (InvokeWithResponseStream) may be larger: AWS's
// default maximum is 200 MB (it was a 20 MB soft limit until July 2025).
inline constexpr std::size_t kMaxStreamedResponse = 200 * 1024 * 1024;

struct Invocation {
  explicit Invocation(http::asio::any_io_executor ex) : done(ex) {}
  enum class Outcome { kPending, kSuccess, kFunctionError, kTimeout, kExited };

  std::string id;
  std::string version = "$LATEST";  // the version that runs it (X-Amz-Executed-Version)
  std::string invoked_arn;          // the ARN it was invoked by (an alias's, for an alias)
  std::string payload;
  std::string client_context;  // decoded JSON
  std::string trace_id;
  bool delivered = false;
  Steady::time_point delivered_at;
  Steady::time_point deadline;  // valid once delivered
  std::int64_t deadline_epoch_ms = 0;
  http::Event done;  // Set when outcome is final; Poke'd when delivered
  Outcome outcome = Outcome::kPending;
  std::string body;  // response payload or error JSON
  std::string content_type = "application/json";
  // Response streaming. The runtime answers in streaming mode (`streaming`)
  // or not; the caller gets the answer whole (Invoke) or as a stream
  // (InvokeWithResponseStream: `to_caller`, where streamed bytes wait in
  // `pending` until the caller's coroutine forwards them). `limit` is AWS's
  // response size limit for the kind of invocation.
  bool to_caller = false;
  bool streaming = false;
  std::string pending;
  std::size_t response_bytes = 0;
  std::size_t limit = kMaxRuntimeResponse;
  std::string error_type;  // for X-Amz-Function-Error / metrics
  bool tail = false;       // X-Amz-Log-Type: Tail: keep `log`
  std::string log;         // this invocation's log lines, for Tail
  double duration_ms = 0;  // the runtime's part, set with the outcome
  // REPORT's Status: "" (ended normally, a function error included),
  // "timeout", or "error" (the platform failed it: a crash, an init error).
  std::string report_status;

  bool answered() const {
    return outcome == Outcome::kSuccess || outcome == Outcome::kFunctionError;
  }
};

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_INVOCATION_H_
