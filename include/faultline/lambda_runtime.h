// The C++ runtime client for Lambda functions: a handler in a few lines,
// talking to any Lambda Runtime API 2018-06-01 (faultline's emulator, AWS's
// Runtime Interface Emulator, AWS Lambda itself).
//
//   #include "faultline/lambda_runtime.h"
//   using namespace faultline::lambda;
//   int main() {
//     RunHandler([](const InvocationRequest& req) {
//       return InvocationResponse::Success(req.payload);
//     });
//   }
//
// One invocation at a time, over one keep-alive HTTP/1.1 connection:
//
//   GET /runtime/invocation/next ──> handler(request) ──> POST .../{id}/response
//        ^  (long poll, no timeout)                  └──> POST .../{id}/error
//        └─────────────────────────────────────────────────────┘
//
// Behaviour compared with AWS's C++ runtime (awslabs/aws-lambda-cpp):
//  - Same data: the same request fields, a deadline in epoch milliseconds,
//    RemainingTime() that goes negative once the deadline has passed (the
//    platform, not the runtime, enforces the timeout), the same error body
//    {"errorMessage","errorType","stackTrace":[]}.
//  - Unlike aws-lambda-cpp, an error post also carries the error type in the
//    Lambda-Runtime-Function-Error-Type header, as the Runtime API docs
//    describe, and the JSON escaping keeps UTF-8 intact.
//  - An exception escaping the handler: aws-lambda-cpp does not catch it, so
//    std::terminate aborts the process and the platform reports
//    Runtime.ExitError and cold-starts a new environment. Here RunHandler
//    catches it and posts an invocation error of type
//    "Runtime.HandlerException" whose message is what() (as the managed
//    Python, Node and Java runtimes do, the environment stays warm). A
//    function that wants AWS's C++ behaviour can call std::abort() itself.
//  - RunHandler sets _X_AMZN_TRACE_ID to each invocation's trace id, as the
//    custom runtime documentation asks.
//
// Thread-safety: a RuntimeClient is used by one thread at a time. The
// functions and value types here are safe to use from any thread.
#ifndef FAULTLINE_LAMBDA_RUNTIME_H_
#define FAULTLINE_LAMBDA_RUNTIME_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "faultline/status.h"

namespace faultline::lambda {

// One invocation event, from the body and headers of GET /next.
struct InvocationRequest {
  std::string payload;           // the event, opaque bytes (usually JSON)
  std::string request_id;        // Lambda-Runtime-Aws-Request-Id
  std::string function_arn;      // Lambda-Runtime-Invoked-Function-Arn
  std::string xray_trace_id;     // Lambda-Runtime-Trace-Id
  std::string client_context;    // Lambda-Runtime-Client-Context
  std::string cognito_identity;  // Lambda-Runtime-Cognito-Identity
  std::string tenant_id;         // Lambda-Runtime-Aws-Tenant-Id
  // Lambda-Runtime-Deadline-Ms; the epoch when the header is absent or bad.
  std::chrono::system_clock::time_point deadline;

  // Time left before the platform stops the function; negative once the
  // deadline has passed.
  std::chrono::milliseconds RemainingTime() const;
  // The same, measured at `now` (for tests).
  std::chrono::milliseconds RemainingTimeAt(std::chrono::system_clock::time_point now) const;
};

// What a handler returns: a payload to post as the response, or an error.
class InvocationResponse {
 public:
  static InvocationResponse Success(std::string payload,
                                    std::string content_type = "application/json");
  // `error_type` should match (Runtime|Function)\.[A-Z][a-zA-Z]+, for example
  // "Function.MyError": Lambda rewrites other types to *.Unknown.
  static InvocationResponse Failure(std::string error_message, std::string error_type);

  bool IsSuccess() const { return success_; }
  // Success: the payload. Failure: the error JSON (ErrorJson()).
  const std::string& payload() const { return payload_; }
  const std::string& content_type() const { return content_type_; }
  // Failure only: the error type and message as given.
  const std::string& error_type() const { return error_type_; }
  const std::string& error_message() const { return error_message_; }

 private:
  bool success_ = true;
  std::string payload_;
  std::string content_type_;
  std::string error_type_;
  std::string error_message_;
};

// The error type posted for an exception that escapes a handler.
inline constexpr std::string_view kHandlerExceptionType = "Runtime.HandlerException";
// The content type of error posts.
inline constexpr std::string_view kErrorContentType = "application/vnd.aws.lambda.error+json";

// `s` as the inside of a JSON string: quotes, backslashes and control
// characters escaped, valid UTF-8 kept as is, each byte of an invalid UTF-8
// sequence replaced by \ufffd, so the result is always valid JSON.
std::string JsonEscape(std::string_view s);

// {"errorMessage":"<message>","errorType":"<type>","stackTrace":[]}
std::string ErrorJson(std::string_view error_message, std::string_view error_type);

// A blocking client for one Runtime API endpoint: one keep-alive connection,
// reopened when the server closes it. Requests never time out (GET /next is a
// long poll that may wait while the environment is frozen).
class RuntimeClient {
 public:
  // Connects to `endpoint`, "host:port" as in AWS_LAMBDA_RUNTIME_API
  // ("[::1]:9001" for IPv6). Returns kInvalidArgument for a malformed
  // endpoint and kUnavailable when nothing answers.
  static Result<RuntimeClient> Connect(std::string_view endpoint);

  RuntimeClient(RuntimeClient&&) noexcept;
  RuntimeClient& operator=(RuntimeClient&&) noexcept;
  ~RuntimeClient();

  // GET /runtime/invocation/next: blocks until an invocation arrives.
  // Errors: kUnavailable (connection failed or lost, HTTP 5xx),
  // kInvalidArgument (other non-2xx answers, no request id header).
  Result<InvocationRequest> NextInvocation();

  // POST /runtime/invocation/{id}/response. Same errors as NextInvocation;
  // an HTTP 413 (payload too large) is kInvalidArgument.
  Status PostResponse(std::string_view request_id, std::string_view body,
                      std::string_view content_type = "application/json");
  // POST /runtime/invocation/{id}/error with the error JSON and the
  // Lambda-Runtime-Function-Error-Type header.
  Status PostError(std::string_view request_id, std::string_view error_type,
                   std::string_view error_message);
  // POST /runtime/init/error, the same way; Lambda then stops the runtime.
  Status PostInitError(std::string_view error_type, std::string_view error_message);
  // Posts `response` to .../response or .../error as it says.
  Status Post(std::string_view request_id, const InvocationResponse& response);

  // POST /runtime/invocation/{id}/response in streaming mode
  // (Lambda-Runtime-Function-Response-Mode: streaming, chunked). `produce`
  // is called with a writer; each call of the writer sends one chunk. If
  // `produce` returns a non-OK Status (or a write fails), the stream ends
  // with the trailers Lambda-Runtime-Function-Error-Type (the status's
  // type(), else "Function.StreamError") and Lambda-Runtime-Function-Error-Body
  // (the error JSON, base64).
  using ChunkWriter = std::function<Status(std::string_view chunk)>;
  Status PostStreamingResponse(std::string_view request_id, std::string_view content_type,
                               const std::function<Status(const ChunkWriter&)>& produce);

  // How many TCP connections this client has opened (1 while keep-alive holds).
  int connections_opened() const;

 private:
  struct Impl;
  explicit RuntimeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using Handler = std::function<InvocationResponse(const InvocationRequest&)>;

// The loop behind RunHandler, on a client the caller made: next, handler,
// post, forever. Returns only on a fatal Runtime API error, which it
// returns: three failed GET /next in a row (aws-lambda-cpp's limit), or a
// post that fails other than with a 4xx answer (a 4xx such as 413 ends that
// invocation only; the loop goes on).
Status RunHandlerLoop(RuntimeClient& client, const Handler& handler);

// Connects to $AWS_LAMBDA_RUNTIME_API and runs RunHandlerLoop. On a fatal
// Runtime API error it prints the error to stderr and exits the process
// with status 1 (Lambda then reports Runtime.ExitError). Never returns.
[[noreturn]] void RunHandler(const Handler& handler);

// For a failed initialisation: posts an init error to $AWS_LAMBDA_RUNTIME_API,
// prints it to stderr and exits the process with status 1.
[[noreturn]] void FailInit(std::string_view error_type, std::string_view error_message);

// Base64 (RFC 4648, with padding), as the streaming error trailer needs it.
std::string Base64Encode(std::string_view bytes);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_RUNTIME_H_
