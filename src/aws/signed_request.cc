#include "aws/signed_request.h"

#include <string>
#include <vector>

namespace faultline::aws {

Status SignRequest(http::Request& req, std::string_view host, const Credentials& credentials,
                   std::string_view region, std::string_view service, TimeNs now) {
  if (req[http::bhttp::field::host].empty()) {
    req.set(http::bhttp::field::host, std::string(host));
  }
  req.prepare_payload();  // Content-Length is signed as the server will see it
  std::vector<Header> headers;
  for (const auto& field : req) {
    headers.push_back({std::string_view(field.name_string().data(), field.name_string().size()),
                       std::string_view(field.value().data(), field.value().size())});
  }
  const std::string method(req.method_string());
  const std::string target(req.target());
  Result<SignedRequest> signed_req =
      Sign({.method = method, .target = target, .headers = headers, .body = req.body()},
           credentials, {.region = region, .service = service}, now);
  if (!signed_req.ok()) return signed_req.status();
  for (const auto& [name, value] : signed_req->headers) req.set(name, value);
  return Status::Ok();
}

}  // namespace faultline::aws
