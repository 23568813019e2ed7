// The faultline provider's one HTTP call: a Beast request to a control
// endpoint or the Lambda API, SigV4-signed when asked, sent with
// http::FetchSync (a private io_context, so from any thread).
//
// Built without clang-tidy (Asio; see CMakeLists.txt).
#include <fmt/format.h>

#include <string>

#include "aws/signed_request.h"
#include "experiment/native_internal.h"
#include "http/asio.h"
#include "http/client.h"

namespace faultline::experiment::native_internal {

namespace {

namespace bhttp = http::bhttp;

Result<bhttp::verb> Verb(const std::string& method) {
  const bhttp::verb v = bhttp::string_to_verb(method);
  if (v == bhttp::verb::unknown) return Status::InvalidArgument("unknown method " + method);
  return v;
}

// The endpoint's path and `path` joined, without a doubled '/'.
std::string Target(const http::Url& url, const std::string& path) {
  std::string base = url.target == "/" ? "" : url.target;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + path;
}

}  // namespace

Result<std::uint16_t> EndpointPort(std::string_view endpoint) {
  Result<http::Url> url = http::ParseUrl(endpoint);
  if (!url.ok()) return url.status();
  return url->port;
}

Result<HttpAnswer> Send(const HttpCall& call) {
  Result<http::Url> url = http::ParseUrl(call.endpoint);
  if (!url.ok()) return Status::InvalidArgument(url.status().message());
  Result<bhttp::verb> verb = Verb(call.method);
  if (!verb.ok()) return verb.status();
  url->target = Target(*url, call.path);
  http::Request req(*verb, url->target, 11);
  req.set(bhttp::field::host, fmt::format("{}:{}", url->host, url->port));
  for (const auto& [name, value] : call.headers) req.set(name, value);
  req.body() = call.body;
  req.prepare_payload();
  if (call.sign) {
    Status s =
        aws::SignRequest(req, fmt::format("{}:{}", url->host, url->port), call.sign->credentials,
                         call.sign->region, "lambda", call.sign->now);
    if (!s.ok()) return Status::Internal("signing the request: " + s.message());
  }
  Result<http::Response> res = http::FetchSync(*url, std::move(req), call.timeout);
  if (!res.ok()) return res.status();
  HttpAnswer answer;
  answer.status = static_cast<int>(res->result_int());
  answer.body = std::move(res->body());
  answer.error_type = std::string((*res)["x-amzn-ErrorType"]);
  return answer;
}

}  // namespace faultline::experiment::native_internal
