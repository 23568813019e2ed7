// SigV4 signing against AWS's published test suite (testdata/aws4_testsuite),
// and the building blocks on the paths the Lambda API uses.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "aws/request_file.h"
#include "core/text.h"

namespace faultline::aws {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuiteKey = "AKIDEXAMPLE";
constexpr std::string_view kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kSuiteTime = "20150830T123600Z";

const fs::path kSuiteDir = fs::path(FAULTLINE_AWS_TESTDATA_DIR) / "aws4_testsuite";

// Every case of the suite, as its path under kSuiteDir ("get-vanilla",
// "normalize-path/get-space", ...).
std::vector<std::string> SuiteCases() {
  std::vector<std::string> cases;
  for (const auto& entry : fs::recursive_directory_iterator(kSuiteDir)) {
    if (entry.path().extension() == ".req") {
      cases.push_back(fs::relative(entry.path().parent_path(), kSuiteDir).string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string ReadCaseFile(const std::string& test_case, std::string_view ext) {
  const fs::path dir = kSuiteDir / test_case;
  const fs::path file = dir / (dir.filename().string() + std::string(ext));
  Result<std::string> text = internal::ReadWholeFile(file.string());
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  std::string out = text.ok() ? *text : "";
  out.erase(std::remove(out.begin(), out.end(), '\r'), out.end());
  return out;
}

// The suite signs with a session token exactly when its canonical request
// lists x-amz-security-token (botocore's test reads it the same way).
std::string SessionToken(const std::string& creq) {
  const std::string key = "\nx-amz-security-token:";
  const std::size_t at = creq.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return creq.substr(start, creq.find('\n', start) - start);
}

class SuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SuiteTest, SignMatchesCanonicalRequestStringToSignAndAuthorization) {
  const std::string creq = ReadCaseFile(GetParam(), ".creq");
  Result<RequestFile> req = ParseRequestFile(ReadCaseFile(GetParam(), ".req"), GetParam());
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  std::vector<Header> storage;
  const Credentials creds{.access_key_id = std::string(kSuiteKey),
                          .secret_access_key = std::string(kSuiteSecret),
                          .session_token = SessionToken(creq)};
  Result<SignedRequest> signed_req =
      Sign(req->View(storage), creds, {.region = "us-east-1", .service = "service"},
           *ParseAmzDate(kSuiteTime));
  ASSERT_TRUE(signed_req.ok()) << signed_req.status().ToString();
  EXPECT_EQ(signed_req->canonical_request, creq);
  EXPECT_EQ(signed_req->string_to_sign, ReadCaseFile(GetParam(), ".sts"));
  EXPECT_EQ(signed_req->authorization, ReadCaseFile(GetParam(), ".authz"));
}

// Verify accepts the suite's own Authorization header on its request.
TEST_P(SuiteTest, VerifyAcceptsTheSuitesSignature) {
  const std::string creq = ReadCaseFile(GetParam(), ".creq");
  Result<RequestFile> req = ParseRequestFile(ReadCaseFile(GetParam(), ".req"), GetParam());
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  const Credentials creds{.access_key_id = std::string(kSuiteKey),
                          .secret_access_key = std::string(kSuiteSecret),
                          .session_token = SessionToken(creq)};
  const bool has_token = std::any_of(req->headers.begin(), req->headers.end(), [](const auto& h) {
    return h.first == "X-Amz-Security-Token";
  });
  if (!creds.session_token.empty() && !has_token) {
    req->headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  req->headers.emplace_back("Authorization", ReadCaseFile(GetParam(), ".authz"));
  FakeClock clock(*ParseAmzDate(kSuiteTime));
  std::vector<Header> storage;
  // post-sts-header-after sends a token that was not signed; the key here
  // has none, so only that case's token is left out of the lookup.
  const VerifyResult r = Verify(
      req->View(storage), [&](std::string_view id) { return id == kSuiteKey ? &creds : nullptr; },
      {.service = "service", .region = "us-east-1", .clock = &clock});
  EXPECT_TRUE(r.ok()) << r.error_type << ": " << r.message << "\n" << r.canonical_request;
}

INSTANTIATE_TEST_SUITE_P(Aws4TestSuite, SuiteTest, ::testing::ValuesIn(SuiteCases()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(SuiteCasesTest, TheSuiteIsThere) {
  const std::vector<std::string> cases = SuiteCases();
  EXPECT_GE(cases.size(), 28u);
  for (const char* want : {"get-vanilla", "get-header-value-trim", "get-utf8",
                           "get-vanilla-query-order-key-case", "normalize-path/get-space",
                           "post-x-www-form-urlencoded", "post-sts-token/post-sts-header-before"}) {
    EXPECT_NE(std::find(cases.begin(), cases.end(), want), cases.end()) << want;
  }
}

TEST(CanonicalUriTest, LambdaPathsAreEncodedTwice) {
  EXPECT_EQ(CanonicalUri("/2015-03-31/functions/my%3Afn/invocations", false),
            "/2015-03-31/functions/my%253Afn/invocations");
  EXPECT_EQ(CanonicalUri("/2015-03-31/functions/echo%3A%24LATEST/invocations", false),
            "/2015-03-31/functions/echo%253A%2524LATEST/invocations");
  // A client that sent '$' and ':' unencoded signed them encoded once.
  EXPECT_EQ(CanonicalUri("/2015-03-31/functions/echo:$LATEST/invocations", false),
            "/2015-03-31/functions/echo%3A%24LATEST/invocations");
  EXPECT_EQ(CanonicalUri("/2015-03-31/functions/", false), "/2015-03-31/functions/");
  EXPECT_EQ(CanonicalUri("", false), "/");
}

TEST(CanonicalUriTest, NormalisesButS3SignsThePathAsIs) {
  EXPECT_EQ(CanonicalUri("/a/./b/../c//d/", false), "/a/c/d/");
  EXPECT_EQ(CanonicalUri("/a/..", false), "/");
  EXPECT_EQ(CanonicalUri("/my-object//example//photo.user", true),
            "/my-object//example//photo.user");
  EXPECT_EQ(CanonicalUri("/a%20b", true), "/a%20b");
}

TEST(CanonicalQueryTest, DecodesEncodesAndSorts) {
  EXPECT_EQ(CanonicalQuery("Qualifier=%24LATEST"), "Qualifier=%24LATEST");
  EXPECT_EQ(CanonicalQuery("Qualifier=$LATEST"), "Qualifier=%24LATEST");
  EXPECT_EQ(CanonicalQuery("b=2&a=1&a=0"), "a=0&a=1&b=2");
  EXPECT_EQ(CanonicalQuery("a+b=c d&x=%3a"), "a%2Bb=c%20d&x=%3A");
  EXPECT_EQ(CanonicalQuery("flag&k="), "flag=&k=");
  EXPECT_EQ(CanonicalQuery("p=100%"), "p=100%25");
  EXPECT_EQ(CanonicalQuery("a=1&&b=2"), "a=1&b=2");
  EXPECT_EQ(CanonicalQuery(""), "");
  EXPECT_EQ(CanonicalQuery("X-Amz-Signature=abc&b=1", "X-Amz-Signature"), "b=1");
}

TEST(TrimAllTest, TrimsAndCollapses) {
  EXPECT_EQ(TrimAll("  a   b \t c  "), "a b c");
  EXPECT_EQ(TrimAll("value1\n  value2\n     value3"), "value1 value2 value3");
  EXPECT_EQ(TrimAll("   "), "");
}

TEST(AmzDateTest, FormatsAndParses) {
  EXPECT_EQ(FormatAmzDate(0), "19700101T000000Z");
  const std::optional<TimeNs> t = ParseAmzDate("20150830T123600Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1440938160LL * 1'000'000'000);
  EXPECT_EQ(FormatAmzDate(*t + 999'999'999), "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(*ParseAmzDate("20160229T235959Z")), "20160229T235959Z");
  for (const char* bad : {"20150229T000000Z", "20150830T123600", "20150830t123600Z",
                          "2015-08-30T12:36:00Z", "20151301T000000Z", "20150830T246000Z", ""}) {
    EXPECT_FALSE(ParseAmzDate(bad).has_value()) << bad;
  }
}

TEST(SignTest, AddsTokenAndPayloadHeadersAndSignsThem) {
  const std::vector<Header> headers = {{"Host", "lambda.us-east-1.amazonaws.com"},
                                       {"User-Agent", "test/1.0"},
                                       {"Content-Type", "application/json"}};
  const RequestView req{.method = "post",
                        .target = "/2015-03-31/functions/f/invocations",
                        .headers = headers,
                        .body = "{}"};
  const Credentials creds{
      .access_key_id = "AKID", .secret_access_key = "s", .session_token = "tok"};
  Result<SignedRequest> s =
      Sign(req, creds, {.region = "eu-west-1", .service = "lambda", .add_content_sha256 = true},
           *ParseAmzDate("20240102T030405Z"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->headers.size(), 4u);
  EXPECT_EQ(s->headers[0], (std::pair<std::string, std::string>{"X-Amz-Date", "20240102T030405Z"}));
  EXPECT_EQ(s->headers[1].first, "X-Amz-Security-Token");
  EXPECT_EQ(s->headers[2].first, "x-amz-content-sha256");
  EXPECT_EQ(s->headers[2].second,
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_EQ(s->headers[3].first, "Authorization");
  EXPECT_NE(s->authorization.find("Credential=AKID/20240102/eu-west-1/lambda/aws4_request, "
                                  "SignedHeaders=content-type;host;x-amz-content-sha256;"
                                  "x-amz-date;x-amz-security-token, Signature="),
            std::string::npos)
      << s->authorization;
  EXPECT_EQ(s->canonical_request.substr(0, 5), "POST\n");
}

TEST(SignTest, UnsignedPayloadAndErrors) {
  const std::vector<Header> headers = {{"Host", "h"}};
  const RequestView req{.method = "PUT", .target = "/k", .headers = headers, .body = "data"};
  const Credentials creds{.access_key_id = "AKID", .secret_access_key = "s"};
  Result<SignedRequest> s =
      Sign(req, creds, {.region = "r", .service = "s3", .unsigned_payload = true}, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->headers[1],
            (std::pair<std::string, std::string>{"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}));
  EXPECT_EQ(s->canonical_request.substr(s->canonical_request.rfind('\n') + 1), "UNSIGNED-PAYLOAD");

  const RequestView no_host{.method = "GET", .target = "/"};
  Result<SignedRequest> e = Sign(no_host, creds, {.region = "r", .service = "s"}, 0);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("no Host header"), std::string::npos);
  EXPECT_FALSE(Sign(req, creds, {.region = "", .service = "s"}, 0).ok());
  EXPECT_FALSE(Sign(req, {}, {.region = "r", .service = "s"}, 0).ok());
}

}  // namespace
}  // namespace faultline::aws
