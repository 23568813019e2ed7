// Who may drive the emulator: every request to the Invoke and management
// APIs is checked for an AWS Signature Version 4 made with the emulator's
// credentials (EmulatorOptions::credentials), as AWS checks it, and refused
// in AWS's shape otherwise. boto3, the aws CLI and the SDKs sign every
// request, so they need only the credentials (`faultline lambda env`).
#include <boost/container/small_vector.hpp>

#include "aws/sigv4.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace {

// Read-only, no secrets: left open for scrapers (documented).
bool Open(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/metrics" || path == "/metrics.json";
}

}  // namespace

std::optional<Response> Platform::Refuse(const Request& req) const {
  if (!options.credentials) return std::nullopt;
  const std::string_view target(req.target().data(), req.target().size());
  if (Open(target)) return std::nullopt;
  return RefuseUnsigned(req);
}

std::optional<Response> Platform::RefuseUnsigned(const Request& req) const {
  if (!options.credentials) return std::nullopt;
  boost::container::small_vector<aws::Header, 16> headers;
  for (const auto& field : req) {
    headers.push_back({std::string_view(field.name_string().data(), field.name_string().size()),
                       std::string_view(field.value().data(), field.value().size())});
  }
  const aws::RequestView view{
      .method = std::string_view(req.method_string().data(), req.method_string().size()),
      .target = std::string_view(req.target().data(), req.target().size()),
      .headers = std::span<const aws::Header>(headers.data(), headers.size()),
      .body = req.body()};
  const aws::Credentials& mine = *options.credentials;
  const aws::VerifyResult verdict = aws::Verify(
      view,
      [&mine](std::string_view key) -> const aws::Credentials* {
        return key == mine.access_key_id ? &mine : nullptr;
      },
      aws::VerifyOptions{.service = "lambda", .clock = options.clock});
  if (verdict.ok()) return std::nullopt;
  Response res = http::MakeResponse(req, static_cast<bhttp::status>(verdict.http_status),
                                    json{{"message", verdict.message}}.dump());
  res.set("x-amzn-ErrorType", verdict.error_type);
  return res;
}

}  // namespace faultline::lambda
