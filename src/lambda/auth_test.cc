// Nobody but the emulator's user drives it: with credentials, every Invoke
// and management request must be signed with them (AWS SigV4), and what is
// refused changes nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aws/signed_request.h"
#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace bhttp = http::bhttp;

const aws::Credentials kMine{"AKIAFAULTLINETEST001", "mine0123456789mine0123456789mine01234567",
                             ""};
const aws::Credentials kTheirs{"AKIAFAULTLINETEST001", "other123456789other123456789other1234567",
                               ""};

class AuthTest : public EmulatorFixture {
 protected:
  void SetUp() override {
    Start({ExampleFunction("echo", "echo")}, [](EmulatorOptions& o) { o.credentials = kMine; });
  }
  // `req` signed with `creds`, as boto3 would sign it.
  // With `sent_body`, that body goes out instead of the one signed.
  http::Response Signed(bhttp::verb verb, const std::string& target, std::string body,
                        const aws::Credentials& creds,
                        std::optional<std::string> sent_body = std::nullopt) {
    http::Request req(verb, target, 11);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(body);
    const Status s = aws::SignRequest(req, "127.0.0.1:" + std::to_string(emulator_->port()), creds,
                                      "us-east-1", "lambda", SystemClock::Default()->Now());
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (sent_body) req.body() = *sent_body;
    req.prepare_payload();
    auto res = http::FetchSync(url_, std::move(req), std::chrono::seconds(30));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(*res) : http::Response();
  }
  int Timeout() {
    auto res = Signed(bhttp::verb::get, "/2015-03-31/functions/echo/configuration", "", kMine);
    return json::parse(res.body())["Timeout"];
  }
};

TEST_F(AuthTest, UnsignedRequestsAreRefusedAsAwsRefusesThem) {
  for (auto res : {Invoke("echo"), Call(bhttp::verb::get, "/2015-03-31/functions/"),
                   Call(bhttp::verb::post,
                        "/2021-11-15/functions/echo/response-streaming-invocations", "{}")}) {
    EXPECT_EQ(res.result(), bhttp::status::forbidden) << res;
    EXPECT_EQ(res["x-amzn-ErrorType"], "MissingAuthenticationTokenException");
    EXPECT_EQ(json::parse(res.body())["message"], "Missing Authentication Token");
    EXPECT_FALSE(res["x-amzn-RequestId"].empty());
  }
  EXPECT_EQ(Metrics("echo")["Invocations"], 0);  // /metrics.json is open, and nothing ran
}

TEST_F(AuthTest, SignedWithTheEmulatorsCredentialsWorks) {
  auto res =
      Signed(bhttp::verb::post, "/2015-03-31/functions/echo/invocations", R"({"a":1})", kMine);
  EXPECT_EQ(res.result(), bhttp::status::ok) << res;
  EXPECT_EQ(res.body(), R"({"a":1})");
}

TEST_F(AuthTest, AnotherSecretChangesNothing) {
  const int before = Timeout();
  auto res = Signed(bhttp::verb::put, "/2015-03-31/functions/echo/configuration",
                    R"({"Timeout": 9, "Environment": {"Variables": {"LD_PRELOAD": "/tmp/x.so"}}})",
                    kTheirs);
  EXPECT_EQ(res.result(), bhttp::status::forbidden);
  EXPECT_EQ(res["x-amzn-ErrorType"], "InvalidSignatureException");
  EXPECT_EQ(Timeout(), before);
  auto unknown = Signed(bhttp::verb::put, "/2015-03-31/functions/echo/configuration", "{}",
                        {"AKIAUNKNOWNKEY000000", kMine.secret_access_key, ""});
  EXPECT_EQ(unknown["x-amzn-ErrorType"], "UnrecognizedClientException");
  // Signed with the right secret, changed on the way.
  auto tampered = Signed(bhttp::verb::put, "/2015-03-31/functions/echo/configuration",
                         R"({"Timeout": 5})", kMine, R"({"Timeout": 9})");
  EXPECT_EQ(tampered["x-amzn-ErrorType"], "InvalidSignatureException");
  EXPECT_EQ(Timeout(), before);
}

}  // namespace
}  // namespace faultline::lambda
