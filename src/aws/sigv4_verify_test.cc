// Verify: accepts what Sign produced; refuses every kind of tampering,
// malformed or incomplete signatures, unknown keys and skewed clocks, each
// with the error AWS answers.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "aws/sigv4.h"

namespace faultline::aws {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kDate = "20150830T123600Z";

// A mutable request: what the test signs, then tampers with.
struct Request {
  std::string method = "POST";
  std::string target = "/2015-03-31/functions/my%3Afn/invocations?Qualifier=%24LATEST";
  HeaderList headers = {{"Host", "127.0.0.1:9001"},
                        {"Content-Type", "application/json"},
                        {"X-Amz-Invocation-Type", "RequestResponse"},
                        {"User-Agent", "Boto3/1.44.8"}};
  std::string body = R"({"hello": "world"})";

  RequestView View(std::vector<Header>& storage) const {
    storage.clear();
    for (const auto& [n, v] : headers) storage.push_back({n, v});
    return {.method = method, .target = target, .headers = storage, .body = body};
  }
  std::string* Find(std::string_view name) {
    for (auto& [n, v] : headers) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  void Erase(std::string_view name) {
    std::erase_if(headers, [&](const auto& h) { return h.first == name; });
  }
};

class VerifyTest : public ::testing::Test {
 protected:
  VerifyTest() : clock_(*ParseAmzDate(kDate)) {}

  // Signs `req` at kDate with creds_ and adds the headers Sign returned.
  void SignIt(Request& req, SignOptions options = {.region = "us-east-1", .service = "lambda"}) {
    std::vector<Header> storage;
    Result<SignedRequest> s = Sign(req.View(storage), creds_, options, *ParseAmzDate(kDate));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (const auto& h : s->headers) req.headers.push_back(h);
  }

  VerifyResult Check(const Request& req) {
    std::vector<Header> storage;
    options_.clock = &clock_;
    return Verify(
        req.View(storage),
        [this](std::string_view id) { return id == creds_.access_key_id ? &creds_ : nullptr; },
        options_);
  }

  void ExpectMismatch(const Request& req) {
    const VerifyResult r = Check(req);
    EXPECT_EQ(r.http_status, 403);
    EXPECT_EQ(r.error_type, "InvalidSignatureException");
    EXPECT_EQ(r.message,
              "The request signature we calculated does not match the signature you provided. "
              "Check your AWS Secret Access Key and signing method. Consult the service "
              "documentation for details.");
  }

  void ExpectRefused(const Request& req, int status, std::string_view type,
                     std::string_view message) {
    const VerifyResult r = Check(req);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.http_status, status);
    EXPECT_EQ(r.error_type, type);
    EXPECT_EQ(r.message, message);
  }

  Credentials creds_{.access_key_id = "AKIAFAULTLINETEST001",
                     .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
  FakeClock clock_;
  VerifyOptions options_;
};

TEST_F(VerifyTest, AcceptsWhatSignProduced) {
  Request req;
  SignIt(req);
  const VerifyResult r = Check(req);
  EXPECT_TRUE(r.ok()) << r.error_type << ": " << r.message << "\n" << r.canonical_request;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.access_key_id, "AKIAFAULTLINETEST001");
}

TEST_F(VerifyTest, HeaderNamesAndSurroundingSpaceDoNotMatter) {
  Request req;
  SignIt(req);
  for (auto& [name, value] : req.headers) {
    if (name == "Content-Type") name = "content-TYPE";
    if (name == "X-Amz-Invocation-Type") value = "  RequestResponse ";
    if (name == "Authorization" || name == "X-Amz-Date") value = " " + value + "\t";
  }
  EXPECT_TRUE(Check(req).ok());
}

TEST_F(VerifyTest, RefusesATamperedBody) {
  Request req;
  SignIt(req);
  req.body = R"({"hello": "mallory"})";
  ExpectMismatch(req);
}

TEST_F(VerifyTest, RefusesATamperedSignedHeader) {
  Request req;
  SignIt(req);
  *req.Find("X-Amz-Invocation-Type") = "Event";
  ExpectMismatch(req);
}

TEST_F(VerifyTest, IgnoresAnUnsignedHeader) {
  Request req;
  SignIt(req);
  *req.Find("User-Agent") = "curl/8";  // never signed (botocore's rule)
  EXPECT_TRUE(Check(req).ok());
}

TEST_F(VerifyTest, RefusesATamperedPathQueryOrMethod) {
  Request req;
  SignIt(req);
  Request path = req;
  path.target = "/2015-03-31/functions/other%3Afn/invocations?Qualifier=%24LATEST";
  ExpectMismatch(path);
  Request query = req;
  query.target = "/2015-03-31/functions/my%3Afn/invocations?Qualifier=1";
  ExpectMismatch(query);
  Request method = req;
  method.method = "PUT";
  ExpectMismatch(method);
}

TEST_F(VerifyTest, RefusesATamperedDate) {
  Request req;
  SignIt(req);
  *req.Find("X-Amz-Date") = "20150830T123601Z";
  ExpectMismatch(req);
}

TEST_F(VerifyTest, RefusesAWrongSecretAndTellsWhatItComputed) {
  Request req;
  SignIt(req);
  creds_.secret_access_key = "another secret";
  ExpectMismatch(req);
  const VerifyResult r = Check(req);
  EXPECT_EQ(r.canonical_request.substr(0, r.canonical_request.find('\n', 5)),
            "POST\n/2015-03-31/functions/my%253Afn/invocations");
  EXPECT_EQ(r.string_to_sign.substr(0, r.string_to_sign.rfind('\n')),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/lambda/aws4_request");
}

TEST_F(VerifyTest, RefusesATamperedSignature) {
  Request req;
  SignIt(req);
  std::string& authz = *req.Find("Authorization");
  authz.back() = authz.back() == '0' ? '1' : '0';
  ExpectMismatch(req);
}

TEST_F(VerifyTest, RefusesAnUnknownKey) {
  Request req;
  SignIt(req);
  creds_.access_key_id = "AKIAOTHER";
  ExpectRefused(req, 403, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
}

TEST_F(VerifyTest, MissingAuthorization) {
  Request req;
  ExpectRefused(req, 403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  req.target = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "Presigned (query-string) SigV4 requests are not supported by faultline; sign "
                "with an Authorization header, as the AWS SDKs and CLI do.");
}

TEST_F(VerifyTest, MalformedAuthorization) {
  Request req;
  req.headers.emplace_back("X-Amz-Date", std::string(kDate));
  req.headers.emplace_back("Authorization", "Bearer abc.def");
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "'abc.def' not a valid key=value pair (missing equal-sign) in Authorization "
                "header: 'Bearer abc.def'.");
  *req.Find("Authorization") =
      "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/lambda/aws4_request";
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "Authorization header requires 'Signature' parameter. Authorization header "
                "requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 "
                "Credential=AKID/20150830/us-east-1/lambda/aws4_request");
  *req.Find("Authorization") = "AWS5-HMAC-SHA256 Credential=a, SignedHeaders=host, Signature=c";
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "Unsupported AWS 'algorithm': 'AWS5-HMAC-SHA256'.");
  *req.Find("Authorization") =
      "AWS4-HMAC-SHA256 Credential=AKID/20150830, SignedHeaders=host, "
      "Signature=c";
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "Credential must have exactly 5 slash-delimited elements, e.g. "
                "keyid/date/region/service/term, got 'AKID/20150830'");
  req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=x");
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "The request has more than one Authorization header.");
}

TEST_F(VerifyTest, MissingOrMalformedDate) {
  Request req;
  SignIt(req);
  Request bad = req;
  *bad.Find("X-Amz-Date") = "2015-08-30T12:36:00Z";
  ExpectRefused(bad, 403, "IncompleteSignatureException",
                "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See "
                "http://en.wikipedia.org/wiki/ISO_8601");
  Request none = req;
  none.Erase("X-Amz-Date");
  const VerifyResult r = Check(none);
  EXPECT_EQ(r.error_type, "IncompleteSignatureException");
  EXPECT_EQ(r.message.substr(0, r.message.find(" Authorization=")),
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  Request dated = none;
  dated.headers.emplace_back("Date", "Sun, 30 Aug 2015 12:36:00 GMT");
  ExpectRefused(dated, 403, "IncompleteSignatureException",
                "faultline needs the X-Amz-Date header: a request dated only by its Date header "
                "is not supported.");
}

TEST_F(VerifyTest, RefusesASkewedClock) {
  Request req;
  SignIt(req);
  clock_.Advance(std::chrono::minutes(5));
  EXPECT_TRUE(Check(req).ok()) << "exactly 5 minutes is still in time";
  clock_.Advance(std::chrono::seconds(1));
  ExpectRefused(req, 403, "InvalidSignatureException",
                "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
                "(20150830T124101Z - 5 min.)");
  clock_.Set(*ParseAmzDate(kDate) - std::chrono::nanoseconds(std::chrono::seconds(301)).count());
  ExpectRefused(req, 403, "InvalidSignatureException",
                "Signature not yet current: 20150830T123600Z is still later than "
                "20150830T123559Z (20150830T123059Z + 5 min.)");
}

TEST_F(VerifyTest, ChecksTheCredentialScope) {
  Request req;
  SignIt(req, {.region = "eu-west-1", .service = "lambda"});
  EXPECT_TRUE(Check(req).ok()) << "no region configured: any region";
  options_.region = "us-east-1";
  ExpectRefused(req, 403, "InvalidSignatureException",
                "Credential should be scoped to a valid region, not 'eu-west-1'.");
  options_.region = {};
  options_.service = "ssm";
  ExpectRefused(req, 403, "InvalidSignatureException",
                "Credential should be scoped to correct service: 'ssm'.");
  options_.service = "lambda";
  std::string& authz = *req.Find("Authorization");
  authz.replace(authz.find("/20150830/"), 10, "/20150831/");
  ExpectRefused(req, 403, "InvalidSignatureException",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '20150831' != '20150830', from '20150830T123600Z'.");
  authz.replace(authz.find("aws4_request"), 12, "aws5_request");
  const VerifyResult r = Check(req);
  EXPECT_EQ(r.message,
            "Credential should be scoped with a valid terminator: 'aws4_request', not "
            "'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 "
            "version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.");
}

TEST_F(VerifyTest, HostAndDateMustBeSigned) {
  Request req;
  SignIt(req);
  std::string& authz = *req.Find("Authorization");
  const std::string original = authz;
  authz.replace(authz.find(";host;"), 6, ";");
  ExpectRefused(req, 403, "InvalidSignatureException",
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  authz = original;
  authz.replace(authz.find(";x-amz-date"), 11, "");
  ExpectRefused(req, 403, "InvalidSignatureException",
                "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(VerifyTest, RefusesASignedHeaderThatIsMissing) {
  Request req;
  SignIt(req);
  req.Erase("X-Amz-Invocation-Type");
  ExpectRefused(req, 403, "IncompleteSignatureException",
                "'x-amz-invocation-type' is named as a SignedHeader, but it does not exist in "
                "the HTTP request.");
}

TEST_F(VerifyTest, SessionTokenMustBeTheIssuedOne) {
  creds_.session_token = "token-1";
  Request req;
  SignIt(req);
  EXPECT_TRUE(Check(req).ok());
  Request other = req;
  *other.Find("X-Amz-Security-Token") = "token-2";
  ExpectRefused(other, 403, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
  Request none = req;
  none.Erase("X-Amz-Security-Token");
  ExpectRefused(none, 403, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
  creds_.session_token.clear();
  ExpectRefused(req, 403, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
}

TEST_F(VerifyTest, ContentSha256MustBeTheBodys) {
  Request req;
  SignIt(req, {.region = "us-east-1", .service = "lambda", .add_content_sha256 = true});
  EXPECT_TRUE(Check(req).ok());
  req.body = "{}";
  ExpectRefused(req, 400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
  *req.Find("x-amz-content-sha256") = "not-a-hash";
  ExpectRefused(req, 400, "InvalidArgument",
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value, got "
                "'not-a-hash'.");
  *req.Find("x-amz-content-sha256") = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  EXPECT_EQ(Check(req).error_type, "InvalidArgument");
}

TEST_F(VerifyTest, UnsignedPayloadOnlyWhenAllowed) {
  Request req;
  SignIt(req, {.region = "us-east-1", .service = "lambda", .unsigned_payload = true});
  req.body = "anything";  // not covered by the signature, by the client's choice
  EXPECT_TRUE(Check(req).ok());
  options_.allow_unsigned_payload = false;
  ExpectRefused(req, 400, "InvalidArgument",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD is not accepted here; sign the body's "
                "SHA-256.");
}

TEST_F(VerifyTest, DuplicateHeadersAreJoinedInOrder) {
  Request req;
  req.headers.emplace_back("X-Custom", "a");
  req.headers.emplace_back("X-Custom", "b");
  SignIt(req);
  EXPECT_TRUE(Check(req).ok());
  std::swap(req.headers[4].second, req.headers[5].second);
  ExpectMismatch(req);
}

}  // namespace
}  // namespace faultline::aws
