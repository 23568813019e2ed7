// Pieces of SigV4 shared by signing (sigv4.cc) and verifying
// (sigv4_verify.cc). Internal to the aws module.
//
// Thread-safety: pure functions; call from any thread.
#ifndef FAULTLINE_AWS_SIGV4_INTERNAL_H_
#define FAULTLINE_AWS_SIGV4_INTERNAL_H_

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "aws/sigv4.h"

namespace faultline::aws::internal {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);

// The target's path and query (without the '?').
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target);

// The first header named `name` (any case), or nullptr.
const Header* FindHeader(std::span<const Header> headers, std::string_view name);

// Writes the canonical request of `request` into `out`, with the headers
// `names` (lower-case, in canonical order) as canonical headers and
// `signed_headers` as its signed-headers line. Returns the first of `names`
// the request has no header for (then `out` is incomplete), or empty.
std::string_view BuildCanonicalRequest(const RequestView& request,
                                       std::span<const std::string_view> names,
                                       std::string_view signed_headers,
                                       std::string_view payload_hash, bool s3_uri,
                                       std::string& out);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex SHA-256 of canonical_request>".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

}  // namespace faultline::aws::internal

#endif  // FAULTLINE_AWS_SIGV4_INTERNAL_H_
