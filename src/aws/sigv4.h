// AWS Signature Version 4 (SigV4): signing requests, and verifying the
// signatures of requests that AWS clients (boto3, the aws CLI,
// chaostoolkit-aws, the SDKs) send to faultline's AWS-shaped endpoints.
//
//   request ──► canonical request ──► string to sign ──► HMAC with the key
//   (method,      method \n URI \n       AWS4-HMAC-SHA256 \n    derived from the
//    target,      query \n headers \n    X-Amz-Date \n scope \n  secret, date,
//    headers,     signed headers \n      SHA-256(canonical)      region, service
//    body)        payload hash
//
// The rules are AWS's ("Create a signed AWS API request",
// docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html) as
// botocore implements them, checked byte for byte against AWS's SigV4 test
// suite (src/aws/testdata/aws4_testsuite):
//   - canonical URI, every service but S3: the path as received on the
//     request line (so already percent-encoded once by the client) with dot
//     segments and repeated slashes removed, then percent-encoded again,
//     '/' kept: /2015-03-31/functions/my%3Afn/invocations is signed as
//     /2015-03-31/functions/my%253Afn/invocations (AWS Lambda's own
//     "Canonical String" in its error answers shows the same). S3 signs the
//     path as received (`s3_uri`).
//   - canonical query: each name and value percent-decoded, then encoded with
//     only A-Z a-z 0-9 - . _ ~ left as they are (upper-case hex, space as
//     %20, '+' as %2B), sorted by name then value, joined with '&'.
//   - canonical headers: names lower-cased; each value trimmed, runs of
//     white space inside it collapsed to one space; repeated headers joined
//     with ',' in the order received; sorted by name.
//   - payload hash: the x-amz-content-sha256 header's value when the
//     request has one (UNSIGNED-PAYLOAD included), else SHA-256 of the body.
//
// Inputs are plain views (no Boost.Beast types), so this module does not
// depend on the http module. Time comes in as a value (Sign) or through a
// Clock (Verify), so tests use a FakeClock.
//
// Not supported: presigned (query-string) requests, which Verify refuses
// with a message saying so; streaming (aws-chunked) payloads; SigV4a.
//
// Thread-safety: every function is pure or reads only its arguments; call
// from any thread. A CredentialLookup is called on the calling thread.
#ifndef FAULTLINE_AWS_SIGV4_H_
#define FAULTLINE_AWS_SIGV4_H_

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/clock.h"
#include "faultline/status.h"

namespace faultline::aws {

// One header line as received: name in any case, value with or without
// surrounding white space. Repeated names are allowed.
struct Header {
  std::string_view name;
  std::string_view value;
};

// A request, as received or about to be sent. The views must outlive the call.
struct RequestView {
  std::string_view method;  // "GET", "POST", ... (signed upper-cased)
  // The request-target exactly as on the request line: the path, already
  // percent-encoded, then "?" and the query if there is one.
  std::string_view target;
  std::span<const Header> headers;  // must include Host
  std::string_view body;
};

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// ---------------------------------------------------------------------------
// Signing

struct SignOptions {
  std::string_view region;   // e.g. "us-east-1"; required
  std::string_view service;  // e.g. "lambda", "ssm", "s3"; required
  // S3's canonical URI: the path as given, neither normalised nor encoded again.
  bool s3_uri = false;
  // Also send x-amz-content-sha256 (S3 requires it; other services accept it).
  bool add_content_sha256 = false;
  // Sign "UNSIGNED-PAYLOAD" instead of the body's hash; implies
  // add_content_sha256. For large uploads over TLS only.
  bool unsigned_payload = false;
};

struct SignedRequest {
  // The headers to set on the request, replacing any of the same name:
  // X-Amz-Date, then X-Amz-Security-Token (when the credentials have a
  // session token), x-amz-content-sha256 (when asked for), Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  // The intermediate strings, for tests and for debugging a refusal.
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // also the value of the Authorization header
};

// Signs `request` at time `now`. Every header of `request` is signed except
// the ones proxies add or change (User-Agent, Expect, Connection,
// Transfer-Encoding, X-Amzn-Trace-Id and the like: botocore's list) and any
// Authorization, X-Amz-Date, X-Amz-Security-Token or x-amz-content-sha256
// already there, which the returned headers replace.
// Errors (kInvalidArgument): no Host header; empty region, service or key.
Result<SignedRequest> Sign(const RequestView& request, const Credentials& credentials,
                           const SignOptions& options, TimeNs now);

// ---------------------------------------------------------------------------
// Verifying

// Looks up the credentials of an access key id. Returns nullptr for an
// unknown key; the pointee must stay valid until Verify returns.
using CredentialLookup = std::function<const Credentials*(std::string_view access_key_id)>;

struct VerifyOptions {
  std::string_view service = "lambda";  // the credential scope must name it
  // The region the scope must name; empty accepts any (a local emulator
  // answers for whatever region the client is configured with).
  std::string_view region;
  // How far X-Amz-Date may be from the clock, either way (AWS: 5 minutes).
  std::chrono::seconds max_skew{300};
  // Accept x-amz-content-sha256: UNSIGNED-PAYLOAD (then the body is not
  // covered by the signature).
  bool allow_unsigned_payload = true;
  bool s3_uri = false;     // see SignOptions::s3_uri
  Clock* clock = nullptr;  // REQUIRED
};

// What Verify decided. When refused, http_status, error_type and message
// are what AWS's services answer in the same case, so the emulator can
// reply in AWS's shape: status, header x-amzn-ErrorType: <error_type>, body
// {"message": "<message>"}.
struct VerifyResult {
  int http_status = 200;
  std::string error_type;  // empty when accepted
  std::string message;
  // The signer's access key id, once the Authorization header parsed.
  std::string access_key_id;
  // Set when the signature did not match: what faultline computed, for the
  // user to compare with what their client logged.
  std::string canonical_request;
  std::string string_to_sign;

  bool ok() const { return error_type.empty(); }
};

// Verifies the SigV4 Authorization header of `request`, in this order
// (error type, HTTP status 403 unless said otherwise):
//   no Authorization header         MissingAuthenticationTokenException
//                                   "Missing Authentication Token"
//                                   (IncompleteSignatureException when the
//                                   query has X-Amz-Signature: presigned
//                                   requests are not supported)
//   malformed header, unsupported   IncompleteSignatureException, AWS's
//   algorithm, bad X-Amz-Date,      texts ("... not a valid key=value pair
//   bad Credential                  (missing equal-sign) ...", "Authorization
//                                   header requires 'Credential' parameter.
//                                   ...", "Unsupported AWS 'algorithm': ...",
//                                   "Date must be in ISO-8601 'basic
//                                   format'. ...", "Credential must have
//                                   exactly 5 slash-delimited elements, ...")
//   X-Amz-Date further than         InvalidSignatureException "Signature
//   max_skew from the clock         expired: <date> is now earlier than
//                                   <now-skew> (<now> - 5 min.)" or "Signature
//                                   not yet current: <date> is still later
//                                   than <now+skew> (<now> + 5 min.)"
//   scope: wrong region, service,   InvalidSignatureException "Credential
//   terminator or date              should be scoped to ..." / "Date in
//                                   Credential scope does not match ..."
//   Host or X-Amz-Date not signed   InvalidSignatureException "'Host' or
//                                   ':authority' must be a 'SignedHeader' in
//                                   the AWS Authorization." (X-Amz-Date: the
//                                   same shape; faultline's rule, so that a
//                                   captured request cannot be re-dated)
//   unknown access key id, or a     UnrecognizedClientException "The security
//   session token that differs      token included in the request is
//                                   invalid."
//   a signed header missing         IncompleteSignatureException "'<name>' is
//                                   named as a SignedHeader, but it does not
//                                   exist in the HTTP request."
//   x-amz-content-sha256 invalid,   400 InvalidArgument / 400
//   or not the body's hash          XAmzContentSHA256Mismatch (S3's answers);
//                                   streaming payloads are refused
//   signature differs               InvalidSignatureException "The request
//                                   signature we calculated does not match
//                                   the signature you provided. Check your
//                                   AWS Secret Access Key and signing method.
//                                   Consult the service documentation for
//                                   details."
// REQUIRES: options.clock != nullptr.
VerifyResult Verify(const RequestView& request, const CredentialLookup& lookup,
                    const VerifyOptions& options);

// ---------------------------------------------------------------------------
// Building blocks, exposed for tests and for callers that sign by hand.

// Percent-encodes every byte but A-Z a-z 0-9 - . _ ~ (and '/' if
// keep_slash), with upper-case hex.
std::string UriEncode(std::string_view s, bool keep_slash);

// The canonical URI of `path` (the part of the target before '?'). See the
// top of this file.
std::string CanonicalUri(std::string_view path, bool s3_uri);

// The canonical query string of `query` (the part after '?', without it).
// Pairs whose name is `skip_name` (after decoding) are left out.
std::string CanonicalQuery(std::string_view query, std::string_view skip_name = {});

// `value` trimmed, with each run of spaces, tabs, CRs and LFs made one space.
std::string TrimAll(std::string_view value);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
// "aws4_request"), as 32 raw bytes. `date` is YYYYMMDD.
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

// `t` as SigV4's timestamp, YYYYMMDD'T'HHMMSS'Z' in UTC (seconds truncated).
std::string FormatAmzDate(TimeNs t);

// The time of a YYYYMMDD'T'HHMMSS'Z' timestamp; nullopt if `s` is not one.
std::optional<TimeNs> ParseAmzDate(std::string_view s);

}  // namespace faultline::aws

#endif  // FAULTLINE_AWS_SIGV4_H_
