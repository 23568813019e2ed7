// Function URLs: the conversions (pure), and end to end a URL created with
// the management API, served on a loopback port of its own, as AWS's.
#include "lambda/function_urls.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/encoding.h"
#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace bhttp = http::bhttp;

TEST(UrlEvent, PayloadFormat2) {
  const UrlRequest req{.method = "POST",
                       .target = "/my/path?a=1&a=2&b=x%20y",
                       .headers = {{"Host", "127.0.0.1:9000"},
                                   {"User-Agent", "curl/8"},
                                   {"X-Many", "1"},
                                   {"x-many", "2"},
                                   {"Cookie", "c1=v1; c2=v2"},
                                   {"Content-Type", "application/json"}},
                       .body = R"({"k":1})",
                       .source_ip = "127.0.0.1"};
  const json e = UrlEvent(req, {.url_id = "abc", .request_id = "id", .epoch_ms = 1583348638390});
  EXPECT_EQ(e["version"], "2.0");
  EXPECT_EQ(e["routeKey"], "$default");
  EXPECT_EQ(e["rawPath"], "/my/path");
  EXPECT_EQ(e["rawQueryString"], "a=1&a=2&b=x%20y");
  EXPECT_EQ(e["queryStringParameters"], json::parse(R"({"a":"1,2","b":"x y"})"));
  EXPECT_EQ(e["cookies"], json::parse(R"(["c1=v1","c2=v2"])"));
  EXPECT_EQ(e["headers"]["x-many"], "1,2");
  EXPECT_FALSE(e["headers"].contains("cookie"));
  EXPECT_EQ(e["headers"]["user-agent"], "curl/8");
  EXPECT_EQ(e["body"], R"({"k":1})");
  EXPECT_EQ(e["isBase64Encoded"], false);
  const json& ctx = e["requestContext"];
  EXPECT_EQ(ctx["http"]["method"], "POST");
  EXPECT_EQ(ctx["http"]["path"], "/my/path");
  EXPECT_EQ(ctx["http"]["sourceIp"], "127.0.0.1");
  EXPECT_EQ(ctx["requestId"], "id");
  EXPECT_EQ(ctx["apiId"], "abc");
  EXPECT_EQ(ctx["time"], "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(ctx["timeEpoch"], 1583348638390);
  EXPECT_FALSE(ctx.contains("authorizer"));  // AuthType NONE
}

TEST(UrlEvent, BinaryBodiesAreBase64) {
  const UrlRequest req{.method = "PUT",
                       .target = "/",
                       .headers = {{"Content-Type", "application/octet-stream"}},
                       .body = std::string("\x00\x01\x02", 3)};
  const json e = UrlEvent(req, {});
  EXPECT_EQ(e["body"], "AAEC");
  EXPECT_EQ(e["isBase64Encoded"], true);
  EXPECT_FALSE(e.contains("queryStringParameters"));
  EXPECT_FALSE(e.contains("cookies"));
}

TEST(UrlEvent, BytesThatAreNotUtf8NeverBreakThePayload) {
  // A "text" body that is not UTF-8 goes as base64; a path, header or
  // cookie that is not gets U+FFFD where the bad bytes were.
  const std::string bad = "caf\xe9";
  const UrlRequest req{
      .method = "POST",
      .target = "/" + bad + "?q=" + bad,
      .headers = {{"Content-Type", "text/plain"}, {"X-Name", bad}, {"Cookie", "a=" + bad}},
      .body = bad};
  const json e = UrlEvent(req, {});
  EXPECT_EQ(e["body"], http::Base64Encode(bad));
  EXPECT_EQ(e["isBase64Encoded"], true);
  const json payload = json::parse(UrlEventPayload(req, {}));
  EXPECT_EQ(payload["headers"]["x-name"], "caf\xef\xbf\xbd");
  EXPECT_EQ(payload["rawPath"], "/caf\xef\xbf\xbd");
  EXPECT_EQ(payload["cookies"][0], "a=caf\xef\xbf\xbd");
  // Valid UTF-8 text stays text.
  const UrlRequest ok{.method = "POST",
                      .target = "/",
                      .headers = {{"Content-Type", "text/plain"}},
                      .body = "caf\xc3\xa9 \xf0\x9f\x99\x82"};
  EXPECT_EQ(UrlEvent(ok, {})["body"], ok.body);
  EXPECT_EQ(UrlEvent(ok, {})["isBase64Encoded"], false);
  // Overlong forms and surrogates are not UTF-8.
  for (const std::string b : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    const UrlRequest r{.method = "POST", .target = "/", .headers = {}, .body = b};
    EXPECT_EQ(UrlEvent(r, {})["isBase64Encoded"], true) << http::Base64Encode(b);
  }
}

TEST(UrlAnswerOf, ProxyIntegrationAndPlainValues) {
  UrlAnswer a = UrlAnswerOf(R"({"statusCode":404,"headers":{"X-A":"1"},"cookies":["c=1"],)"
                            R"("body":"gone"})",
                            "application/json");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "gone");
  EXPECT_NE(std::find(a.headers.begin(), a.headers.end(),
                      std::pair<std::string, std::string>{"Set-Cookie", "c=1"}),
            a.headers.end());
  a = UrlAnswerOf(R"("hello")", "application/json");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "hello");  // a string goes out as its text
  a = UrlAnswerOf(R"({"hello":"world"})", "application/json");
  EXPECT_EQ(a.body, R"({"hello":"world"})");  // no statusCode: the JSON is the body
  a = UrlAnswerOf(R"({"statusCode":200,"isBase64Encoded":true,"body":"AAEC"})", "");
  EXPECT_EQ(a.body, std::string("\x00\x01\x02", 3));
  a = UrlAnswerOf(R"([1,true])", "application/json");
  EXPECT_EQ(a.body, "[1,true]");
}

TEST(ParsePrelude, WaitsForTheDelimiter) {
  const std::string prelude = R"({"statusCode":202,"headers":{"Content-Type":"text/plain"}})";
  EXPECT_FALSE(ParsePrelude(prelude).has_value());
  EXPECT_FALSE(ParsePrelude(prelude + std::string(7, '\0')).has_value());
  auto p = ParsePrelude(prelude + std::string(8, '\0') + "body");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->head.status, 202);
  EXPECT_EQ(p->length, prelude.size() + 8);
  EXPECT_EQ(ParsePrelude(std::string("nope") + std::string(8, '\0'))->head.status, 502);
}

TEST(ReadUrlSettings, AwsValidation) {
  auto bad = ReadUrlSettings(json::parse(R"({"AuthType":"OPEN"})"), nullptr);
  ASSERT_TRUE(std::holds_alternative<UrlSettingsError>(bad));
  EXPECT_EQ(std::get<UrlSettingsError>(bad).message,
            "1 validation error detected: Value 'OPEN' at 'authType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [NONE, AWS_IAM]");
  EXPECT_TRUE(std::holds_alternative<UrlSettingsError>(ReadUrlSettings(json::object(), nullptr)));
  auto ok = ReadUrlSettings(json::parse(R"({"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM"})"),
                            nullptr);
  ASSERT_TRUE(std::holds_alternative<UrlSettings>(ok));
  const UrlSettings s = std::get<UrlSettings>(ok);
  auto updated = ReadUrlSettings(json::parse(R"({"AuthType":"AWS_IAM"})"), &s);
  EXPECT_EQ(std::get<UrlSettings>(updated).invoke_mode, "RESPONSE_STREAM");  // kept
  EXPECT_EQ(std::get<UrlSettings>(updated).auth_type, "AWS_IAM");
}

class FunctionUrlTest : public EmulatorFixture {
 protected:
  json CreateUrl(const std::string& body, bhttp::status expect = bhttp::status::created) {
    auto res = Call(bhttp::verb::post, "/2021-10-31/functions/web/url", body);
    EXPECT_EQ(res.result(), expect) << res.body();
    return json::parse(res.body());
  }
  // A request to the URL `address` ("http://127.0.0.1:PORT/").
  http::Response Get(const std::string& address, const std::string& path,
                     bhttp::verb verb = bhttp::verb::get, std::string body = "") {
    auto url = http::ParseUrl(address);
    EXPECT_TRUE(url.ok());
    http::Request req(verb, path, 11);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = http::FetchSync(*url, std::move(req), std::chrono::seconds(30));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(*res) : http::Response();
  }
};

TEST_F(FunctionUrlTest, CreateGetUpdateListDelete) {
  Start({ExampleFunction("web", "web")});
  const json created = CreateUrl(R"({"AuthType":"NONE"})");
  const std::string address = created["FunctionUrl"];
  EXPECT_TRUE(address.starts_with("http://127.0.0.1:")) << created;
  EXPECT_TRUE(address.ends_with("/"));
  EXPECT_EQ(created["AuthType"], "NONE");
  EXPECT_EQ(created["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:web");
  EXPECT_FALSE(created.contains("InvokeMode"));  // as AWS: only when given
  const json again = CreateUrl(R"({"AuthType":"NONE"})", bhttp::status::conflict);
  EXPECT_NE(again["message"].get<std::string>().find("FunctionUrlConfig exists"),
            std::string::npos);
  json got = json::parse(Call(bhttp::verb::get, "/2021-10-31/functions/web/url").body());
  EXPECT_EQ(got["InvokeMode"], "BUFFERED");
  EXPECT_TRUE(got.contains("LastModifiedTime"));
  auto updated = Call(bhttp::verb::put, "/2021-10-31/functions/web/url",
                      R"({"InvokeMode":"RESPONSE_STREAM"})");
  EXPECT_EQ(json::parse(updated.body())["InvokeMode"], "RESPONSE_STREAM");
  EXPECT_EQ(json::parse(updated.body())["FunctionUrl"], address);
  const json list = json::parse(Call(bhttp::verb::get, "/2021-10-31/functions/web/urls").body());
  EXPECT_EQ(list["FunctionUrlConfigs"].size(), 1u);
  EXPECT_EQ(Call(bhttp::verb::delete_, "/2021-10-31/functions/web/url").result(),
            bhttp::status::no_content);
  EXPECT_EQ(Call(bhttp::verb::get, "/2021-10-31/functions/web/url").result(),
            bhttp::status::not_found);
  auto url = http::ParseUrl(address);
  http::Request req(bhttp::verb::get, "/", 11);
  EXPECT_FALSE(http::FetchSync(*url, std::move(req), std::chrono::seconds(5)).ok())
      << "the URL's listener is closed";
}

TEST_F(FunctionUrlTest, RequestsBecomeEventsAndAnswersBecomeHttp) {
  Start({ExampleFunction("web", "web")});
  const std::string address = CreateUrl(R"({"AuthType":"NONE"})")["FunctionUrl"];
  auto echo = Get(address, "/hello?x=1", bhttp::verb::post, R"({"k":"v"})");
  ASSERT_EQ(echo.result(), bhttp::status::ok) << echo.body();
  EXPECT_FALSE(echo["x-amzn-RequestId"].empty());
  const json event = json::parse(echo.body());
  EXPECT_EQ(event["rawPath"], "/hello");
  EXPECT_EQ(event["requestContext"]["requestId"], std::string(echo["x-amzn-RequestId"]));
  EXPECT_EQ(event["body"], R"({"k":"v"})");
  auto proxy = Get(address, "/proxy");
  EXPECT_EQ(proxy.result_int(), 201u);
  EXPECT_EQ(proxy.body(), "created");
  EXPECT_EQ(proxy["X-Answer"], "proxy");
  int cookies = 0;
  for (const auto& f : proxy) cookies += f.name() == bhttp::field::set_cookie ? 1 : 0;
  EXPECT_EQ(cookies, 2);
  EXPECT_EQ(Get(address, "/text").body(), "hello");
  EXPECT_EQ(Get(address, "/binary").body(), std::string("\x00\x01\x02", 3));
  auto failed = Get(address, "/fail");
  EXPECT_EQ(failed.result(), bhttp::status::bad_gateway);
  EXPECT_EQ(failed.body(), "Internal Server Error");
  auto streamed = Get(address, "/stream");  // buffered mode: the prelude still applies
  EXPECT_EQ(streamed.result_int(), 202u);
  EXPECT_EQ(streamed.body(), "part 1\npart 2\npart 3\n");
  EXPECT_EQ(streamed[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(Metrics("web")["Invocations"], 6);
  EXPECT_EQ(Metrics("web")["Errors"], 1);
}

TEST_F(FunctionUrlTest, ResponseStreamModeStreams) {
  Start({ExampleFunction("web", "web")});
  const std::string address =
      CreateUrl(R"({"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM"})")["FunctionUrl"];
  auto streamed = Get(address, "/stream");
  EXPECT_EQ(streamed.result_int(), 202u);
  EXPECT_TRUE(streamed.chunked());
  EXPECT_EQ(streamed.body(), "part 1\npart 2\npart 3\n");
  EXPECT_EQ(streamed[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(Get(address, "/text").body(), "hello");  // not streamed: whole
  EXPECT_EQ(Get(address, "/fail").result(), bhttp::status::bad_gateway);
}

TEST_F(FunctionUrlTest, ThrottledAtOnceByAReservation) {
  Start({ExampleFunction("web", "web")});
  const std::string address = CreateUrl(R"({"AuthType":"NONE"})")["FunctionUrl"];
  EXPECT_EQ(Get(address, "/text").result(), bhttp::status::ok);  // warm now
  ASSERT_EQ(Call(bhttp::verb::put, "/2017-10-31/functions/web/concurrency",
                 R"({"ReservedConcurrentExecutions": 0})")
                .result(),
            bhttp::status::ok);
  auto throttled = Get(address, "/text");
  EXPECT_EQ(throttled.result(), bhttp::status::too_many_requests);
  EXPECT_EQ(throttled["x-amzn-ErrorType"], "TooManyRequestsException");
  EXPECT_EQ(json::parse(throttled.body())["Message"], "Rate Exceeded.");
  EXPECT_EQ(Metrics("web")["Throttles"], 1);
  ASSERT_EQ(Call(bhttp::verb::delete_, "/2017-10-31/functions/web/concurrency").result(),
            bhttp::status::no_content);
  EXPECT_EQ(Get(address, "/text").result(), bhttp::status::ok);
}

}  // namespace
}  // namespace faultline::lambda
