// Function URLs: an HTTP endpoint for a function, as AWS's
// https://<url-id>.lambda-url.<region>.on.aws/ is; here each URL is a
// listener on a loopback port of its own, http://127.0.0.1:<port>/.
//
//   HTTP request --UrlEvent--> payload format 2.0 event --> the function
//   HTTP response <--UrlAnswerOf-- its answer (a proxy-integration object
//                                  {"statusCode", "headers", "cookies",
//                                  "body", "isBase64Encoded"} or any value)
//
// This file is the pure part: the configuration's validation and the two
// conversions; url_server.cc serves the URLs, url_api.cc manages them.
//
// Thread-safety: pure functions and plain values.
#ifndef FAULTLINE_LAMBDA_FUNCTION_URLS_H_
#define FAULTLINE_LAMBDA_FUNCTION_URLS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "faultline/status.h"

namespace faultline::lambda {

// The content type of a streaming function's HTTP answer: a JSON prelude
// (statusCode, headers, cookies), 8 NUL bytes, then the body.
inline constexpr std::string_view kHttpIntegrationContentType =
    "application/vnd.awslambda.http-integration-response";

// What CreateFunctionUrlConfig / UpdateFunctionConfig set.
struct UrlSettings {
  std::string auth_type;                   // NONE or AWS_IAM
  std::string invoke_mode = "BUFFERED";    // or RESPONSE_STREAM
  bool invoke_mode_given = false;          // Create answers InvokeMode only if given
  nlohmann::json cors = nlohmann::json();  // as given (null: none)
};

// Reads a Create (all required fields) or Update (only what is given, over
// `current`) request body. Errors carry AWS's messages; `validation` tells a
// ValidationException (true) from an InvalidParameterValueException.
struct UrlSettingsError {
  bool validation = true;
  std::string message;
};
std::variant<UrlSettings, UrlSettingsError> ReadUrlSettings(const nlohmann::json& body,
                                                            const UrlSettings* current);

// One HTTP request to a function URL, as the event needs it.
struct UrlRequest {
  std::string method;
  std::string target;  // path?query as received
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string source_ip;
};
struct UrlContext {
  std::string url_id;      // 32 [a-z0-9]
  std::string request_id;  // the invocation's
  std::string account_id;
  std::int64_t epoch_ms = 0;
  // AWS_IAM: the caller's access key id (requestContext.authorizer.iam).
  std::string access_key_id;
};

// The payload format 2.0 event of `req`. A body that is not UTF-8 text is
// base64 (isBase64Encoded).
nlohmann::json UrlEvent(const UrlRequest& req, const UrlContext& ctx);
// The event as the function's payload: bytes of the path, query, headers or
// cookies that are not UTF-8 become U+FFFD (JSON carries only UTF-8).
std::string UrlEventPayload(const UrlRequest& req, const UrlContext& ctx);

// The HTTP answer for a function's answer (`body`, with the content type the
// runtime gave it).
struct UrlAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
UrlAnswer UrlAnswerOf(std::string_view body, std::string_view content_type);

// A streaming HTTP answer's prelude, once `bytes` (the start of the stream)
// hold all of it: the answer's status and headers (its body empty), and how
// many bytes the prelude and its 8 NUL bytes take. nullopt: not all there
// yet. A prelude that is not a JSON object makes a 502, as a function error.
struct Prelude {
  UrlAnswer head;
  std::size_t length = 0;
};
std::optional<Prelude> ParsePrelude(std::string_view bytes);

// "12/Mar/2020:19:03:58 +0000": requestContext.time.
std::string UrlEventTime(std::int64_t epoch_ms);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_FUNCTION_URLS_H_
