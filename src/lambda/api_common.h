// What every API room of the emulator shares: AWS's answer shapes (the
// Invoke and management APIs' `{"Type", "message"}` errors, the Runtime
// and Extensions APIs' `{"errorMessage", "errorType"}` errors) and the
// parsing of request paths. Internal to the emulator.
//
// Thread-safety: pure functions.
#ifndef FAULTLINE_LAMBDA_API_COMMON_H_
#define FAULTLINE_LAMBDA_API_COMMON_H_

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/asio.h"
#include "http/server.h"

namespace faultline::lambda {

using json = nlohmann::json;
namespace bhttp = http::bhttp;
using http::Request;
using http::Response;
using http::Task;

// An AWS API error: `x-amzn-ErrorType: type`, body {"Type": "User",
// "message": message} plus `extra`'s fields ("Message" for
// ResourceNotFoundException, as AWS writes it).
Response AwsError(const Request& req, bhttp::status status, std::string_view type,
                  std::string_view message, json extra = json::object());
// 404 ResourceNotFoundException "Function not found: <arn>".
Response NotFound(const Request& req, const std::string& arn);
// 400 InvalidParameterValueException.
Response InvalidParameter(const Request& req, std::string_view message);

// A JSON answer to a request, whatever its body type (a stream handler's
// request has no string body).
template <class Message>
Response JsonAnswer(const Message& req, bhttp::status status, std::string body) {
  Response res(status, req.version());
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Runtime API error answers: {"errorMessage","errorType"}.
template <class Message>
Response RuntimeError(const Message& req, bhttp::status status, std::string_view type,
                      std::string_view message) {
  return JsonAnswer(req, status, json{{"errorMessage", message}, {"errorType", type}}.dump());
}

// 202 {"status":"OK"}: the Runtime and Extensions APIs' acknowledgement.
template <class Message>
Response Accepted(const Message& req) {
  return JsonAnswer(req, bhttp::status::accepted, R"({"status":"OK"})");
}

// 404 UnknownOperationException: no such operation.
Response UnknownOperation(const Request& req);

// One page of `items` as AWS's List operations answer: {key: [...],
// "NextMarker": ...} (NextMarker only when there are more). ?MaxItems=
// (1 to 10000; at most 50 a page, as AWS) and ?Marker= (a NextMarker
// from before) choose the page; a bad one is AWS's 400.
Response Page(const Request& req, const json& items, std::string_view key);

// The error JSON the platform writes for an invocation it fails.
std::string PlatformError(std::string_view type, std::string_view message);

// The segments of a path; the API paths have at most 5, kept inline.
using PathParts = boost::container::small_vector<std::string_view, 8>;
PathParts SplitPath(std::string_view path);

// The decoded value of `name` in the query of `target` ("/p?a=1&b=2"), or
// nullopt when it is not there.
std::optional<std::string> QueryParam(std::string_view target, std::string_view name);

// The function name in "name[:qualifier]",
// "arn:aws:lambda:r:a:function:name[:qualifier]" or "a:function:name"
// (percent-decoded).
std::string FunctionNameOf(std::string_view raw);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_API_COMMON_H_
