// Verify: the server side of SigV4. The error types, statuses and texts are
// the ones AWS's services answer (see sigv4.h for the list and the order).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "aws/crypto.h"
#include "aws/sigv4.h"
#include "aws/sigv4_internal.h"

namespace faultline::aws {

using internal::EqualsIgnoreCase;
using internal::FindHeader;

namespace {

constexpr std::string_view kIncomplete = "IncompleteSignatureException";
constexpr std::string_view kInvalidSignature = "InvalidSignatureException";
constexpr std::string_view kMismatchMessage =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

// Strips the optional white space HTTP allows around a field value.
std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

VerifyResult Refuse(int status, std::string_view type, std::string message) {
  VerifyResult r;
  r.http_status = status;
  r.error_type = std::string(type);
  r.message = std::move(message);
  return r;
}

// The parts of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
struct Authorization {
  std::string_view algorithm;
  std::string_view credential;
  std::string_view signed_headers;
  std::string_view signature;
  bool has_credential = false, has_signed_headers = false, has_signature = false;
};

// AWS splits the parameters at commas and white space, and names the first
// token without '=' (so "Bearer <token>" gets the missing-equal-sign text).
std::optional<VerifyResult> ParseAuthorization(std::string_view value, Authorization& auth) {
  const std::size_t space = value.find(' ');
  auth.algorithm = value.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? "" : value.substr(space + 1);
  while (!rest.empty()) {
    const std::size_t skip = rest.find_first_not_of(", \t");
    if (skip == std::string_view::npos) break;
    rest.remove_prefix(skip);
    const std::size_t end = std::min(rest.find_first_of(", \t"), rest.size());
    const std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end);
    const std::size_t eq = token.find('=');
    if (eq == std::string_view::npos) {
      return Refuse(403, kIncomplete,
                    fmt::format("'{}' not a valid key=value pair (missing equal-sign) in "
                                "Authorization header: '{}'.",
                                token, value));
    }
    const std::string_view key = token.substr(0, eq), val = token.substr(eq + 1);
    if (key == "Credential") {
      auth.credential = val;
      auth.has_credential = true;
    } else if (key == "SignedHeaders") {
      auth.signed_headers = val;
      auth.has_signed_headers = true;
    } else if (key == "Signature") {
      auth.signature = val;
      auth.has_signature = true;
    }
  }
  return std::nullopt;
}

// AWS lists every missing part in one message, then the header as received.
std::optional<VerifyResult> CheckComplete(const Authorization& auth, std::string_view value,
                                          bool has_date) {
  std::string missing;
  if (!auth.has_credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!auth.has_signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!auth.has_signed_headers) {
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  if (!has_date) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) {
    return Refuse(403, kIncomplete, fmt::format("{}Authorization={}", missing, value));
  }
  if (auth.algorithm != kAlgorithm) {
    return Refuse(403, kIncomplete,
                  fmt::format("Unsupported AWS 'algorithm': '{}'.", auth.algorithm));
  }
  return std::nullopt;
}

std::optional<VerifyResult> CheckSkew(TimeNs signed_at, std::string_view amz_date, TimeNs now,
                                      std::chrono::seconds max_skew) {
  const TimeNs skew = std::chrono::duration_cast<std::chrono::nanoseconds>(max_skew).count();
  const std::int64_t minutes = max_skew.count() / 60;
  if (signed_at < now - skew) {
    return Refuse(403, kInvalidSignature,
                  fmt::format("Signature expired: {} is now earlier than {} ({} - {} min.)",
                              amz_date, FormatAmzDate(now - skew), FormatAmzDate(now), minutes));
  }
  if (signed_at > now + skew) {
    return Refuse(403, kInvalidSignature,
                  fmt::format("Signature not yet current: {} is still later than {} ({} + {} min.)",
                              amz_date, FormatAmzDate(now + skew), FormatAmzDate(now), minutes));
  }
  return std::nullopt;
}

bool IsRegionName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// The scope's four checks, each failure a sentence, all in one message.
std::optional<VerifyResult> CheckScope(std::span<const std::string_view> parts,
                                       std::string_view amz_date, const VerifyOptions& options) {
  std::vector<std::string> errors;
  const std::string_view date = parts[1], region = parts[2], service = parts[3], term = parts[4];
  const bool region_ok = options.region.empty() ? IsRegionName(region) : region == options.region;
  if (!region_ok) {
    errors.push_back(
        fmt::format("Credential should be scoped to a valid region, not '{}'.", region));
  }
  if (service != options.service) {
    errors.push_back(
        fmt::format("Credential should be scoped to correct service: '{}'.", options.service));
  }
  if (term != "aws4_request") {
    errors.push_back(fmt::format(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.", term));
  }
  if (date != amz_date.substr(0, 8)) {
    errors.push_back(fmt::format(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '{}' != '{}', from '{}'.",
        date, amz_date.substr(0, 8), amz_date));
  }
  if (errors.empty()) return std::nullopt;
  return Refuse(403, kInvalidSignature, fmt::format("{}", fmt::join(errors, " ")));
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<VerifyResult> CheckSignedNames(std::span<const std::string_view> names) {
  auto signed_name = [&](std::string_view want) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view n) { return EqualsIgnoreCase(n, want); });
  };
  if (!signed_name("host")) {
    return Refuse(403, kInvalidSignature,
                  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!signed_name("x-amz-date")) {
    return Refuse(403, kInvalidSignature,
                  "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return std::nullopt;
}

// The session token, if any, must be the one issued with the key; an
// unknown key and a wrong token get the same answer from AWS.
std::optional<VerifyResult> CheckToken(const Credentials* creds, std::span<const Header> headers) {
  const Header* token = FindHeader(headers, "x-amz-security-token");
  const std::string_view sent = token != nullptr ? token->value : std::string_view();
  if (creds == nullptr || !internal::ConstantTimeEquals(sent, creds->session_token)) {
    return Refuse(403, "UnrecognizedClientException",
                  "The security token included in the request is invalid.");
  }
  return std::nullopt;
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The payload hash to sign: x-amz-content-sha256 when sent (and then it must
// be the body's), else the body's own hash.
std::optional<VerifyResult> PayloadHash(const RequestView& request, const VerifyOptions& options,
                                        std::string& hash) {
  const std::string body_hash = internal::Hex(internal::Sha256(request.body));
  const Header* h = FindHeader(request.headers, "x-amz-content-sha256");
  if (h == nullptr) {
    hash = body_hash;
    return std::nullopt;
  }
  hash = TrimAll(h->value);
  if (hash == kUnsignedPayload) {
    if (options.allow_unsigned_payload) return std::nullopt;
    return Refuse(400, "InvalidArgument",
                  "x-amz-content-sha256: UNSIGNED-PAYLOAD is not accepted here; sign the body's "
                  "SHA-256.");
  }
  if (hash.rfind("STREAMING-", 0) == 0) {
    return Refuse(400, "InvalidArgument",
                  fmt::format("x-amz-content-sha256: {}: streaming (aws-chunked) payloads are "
                              "not supported by faultline; send the body whole",
                              hash));
  }
  if (!IsSha256Hex(hash)) {
    return Refuse(400, "InvalidArgument",
                  fmt::format("x-amz-content-sha256 must be {}or a valid sha256 value, got '{}'.",
                              options.allow_unsigned_payload ? "UNSIGNED-PAYLOAD " : "", hash));
  }
  if (hash != body_hash) {
    return Refuse(400, "XAmzContentSHA256Mismatch",
                  "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return std::nullopt;
}

std::optional<VerifyResult> CheckPresent(const RequestView& request, const Header*& authz) {
  authz = nullptr;
  for (const Header& h : request.headers) {
    if (!EqualsIgnoreCase(h.name, "authorization")) continue;
    if (authz != nullptr) {
      return Refuse(403, kIncomplete, "The request has more than one Authorization header.");
    }
    authz = &h;
  }
  if (authz != nullptr) return std::nullopt;
  const std::string query = CanonicalQuery(internal::SplitTarget(request.target).second);
  if (query.find("X-Amz-Signature=") != std::string::npos) {
    return Refuse(403, kIncomplete,
                  "Presigned (query-string) SigV4 requests are not supported by faultline; sign "
                  "with an Authorization header, as the AWS SDKs and CLI do.");
  }
  return Refuse(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
}

// The Authorization header and X-Amz-Date: parsed, complete, in time, and
// with a credential scope that fits `options`.
std::optional<VerifyResult> CheckHeaderAndDate(const RequestView& request,
                                               const VerifyOptions& options, Authorization& auth,
                                               std::string_view& amz_date,
                                               std::vector<std::string_view>& scope) {
  const Header* authz = nullptr;
  if (auto r = CheckPresent(request, authz)) return r;
  const std::string_view value = TrimOws(authz->value);
  if (auto r = ParseAuthorization(value, auth)) return r;
  const Header* date = FindHeader(request.headers, "x-amz-date");
  const bool has_date = date != nullptr || FindHeader(request.headers, "date") != nullptr;
  if (auto r = CheckComplete(auth, value, has_date)) return r;
  if (date == nullptr) {
    return Refuse(403, kIncomplete,
                  "faultline needs the X-Amz-Date header: a request dated only by its Date header "
                  "is not supported.");
  }
  amz_date = TrimOws(date->value);
  const std::optional<TimeNs> signed_at = ParseAmzDate(amz_date);
  if (!signed_at) {
    return Refuse(403, kIncomplete,
                  fmt::format("Date must be in ISO-8601 'basic format'. Got '{}'. See "
                              "http://en.wikipedia.org/wiki/ISO_8601",
                              amz_date));
  }
  scope = Split(auth.credential, '/');
  if (scope.size() != 5) {
    return Refuse(403, kIncomplete,
                  fmt::format("Credential must have exactly 5 slash-delimited elements, e.g. "
                              "keyid/date/region/service/term, got '{}'",
                              auth.credential));
  }
  if (auto r = CheckSkew(*signed_at, amz_date, options.clock->Now(), options.max_skew)) return r;
  return CheckScope(scope, amz_date, options);
}

}  // namespace

VerifyResult Verify(const RequestView& request, const CredentialLookup& lookup,
                    const VerifyOptions& options) {
  Authorization auth;
  std::string_view amz_date;
  std::vector<std::string_view> scope;
  if (auto r = CheckHeaderAndDate(request, options, auth, amz_date, scope)) return std::move(*r);
  const std::vector<std::string_view> names = Split(auth.signed_headers, ';');
  if (auto r = CheckSignedNames(names)) return std::move(*r);
  const Credentials* creds = lookup ? lookup(scope[0]) : nullptr;
  if (auto r = CheckToken(creds, request.headers)) return std::move(*r);

  VerifyResult result;
  result.access_key_id = std::string(scope[0]);
  std::string payload_hash;
  if (auto r = PayloadHash(request, options, payload_hash)) return std::move(*r);
  std::string canonical;
  const std::string_view missing = internal::BuildCanonicalRequest(
      request, names, auth.signed_headers, payload_hash, options.s3_uri, canonical);
  if (!missing.empty()) {
    return Refuse(403, kIncomplete,
                  fmt::format("'{}' is named as a SignedHeader, but it does not exist in the HTTP "
                              "request.",
                              missing));
  }
  const std::string_view credential_scope = auth.credential.substr(scope[0].size() + 1);
  std::string sts = internal::StringToSign(amz_date, credential_scope, canonical);
  const std::string key = SigningKey(creds->secret_access_key, scope[1], scope[2], scope[3]);
  const std::string expected = internal::Hex(internal::HmacSha256(key, sts));
  if (!internal::ConstantTimeEquals(expected, auth.signature)) {
    result = Refuse(403, kInvalidSignature, std::string(kMismatchMessage));
    result.access_key_id = std::string(scope[0]);
    result.canonical_request = std::move(canonical);
    result.string_to_sign = std::move(sts);
  }
  return result;
}

}  // namespace faultline::aws
