// Tests of the C++ runtime client against a small scripted Runtime API: a
// blocking Beast server on 127.0.0.1, port 0, in a thread of the test.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>  // before Boost.Asio: Boost 1.74 uses std::exchange unincluded

#include "faultline/lambda_runtime.h"

namespace faultline::lambda {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct Recorded {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct Reply {
  http::status status = http::status::accepted;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = R"({"status":"OK"})";
  bool close = false;  // answer with Connection: close and close
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Answers requests in arrival order with the scripted replies; once they run
// out, every request gets a 500 so that a handler loop ends.
class FakeRuntimeApi {
 public:
  FakeRuntimeApi() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeRuntimeApi() {
    stop_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (current_ >= 0) ::shutdown(current_, SHUT_RDWR);
    }
    boost::system::error_code ec;
    asio::io_context wake_ioc;
    tcp::socket wake(wake_ioc);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

  void Enqueue(Reply r) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(r));
  }
  // A GET /next answer for `id` with `payload` and extra headers.
  void EnqueueNext(std::string id, std::string payload,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    Reply r;
    r.status = http::status::ok;
    r.headers = std::move(headers);
    r.headers.emplace_back("Lambda-Runtime-Aws-Request-Id", std::move(id));
    r.body = std::move(payload);
    Enqueue(std::move(r));
  }
  void EnqueueAccepted() { Enqueue(Reply{}); }

  std::vector<Recorded> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int connections() const { return connections_; }

 private:
  void Serve() {
    while (!stop_) {
      tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      ++connections_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = sock.native_handle();
      }
      ServeConnection(sock);
      std::lock_guard<std::mutex> lock(mu_);
      current_ = -1;
    }
  }

  void ServeConnection(tcp::socket& sock) {
    boost::beast::flat_buffer buf;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      boost::system::error_code ec;
      http::read(sock, buf, parser, ec);
      if (ec) return;
      auto req = parser.release();
      Recorded rec;
      rec.method = std::string(req.method_string());
      rec.target = std::string(req.target());
      for (const auto& f : req) {
        rec.headers[Lower(std::string(f.name_string()))] = std::string(f.value());
      }
      rec.body = req.body();
      Reply reply = Take();
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(std::move(rec));
      }
      http::response<http::string_body> res{reply.status, 11};
      for (const auto& [k, v] : reply.headers) res.set(k, v);
      res.set(http::field::content_type, "application/json");
      res.body() = reply.body;
      res.keep_alive(!reply.close);
      res.prepare_payload();
      http::write(sock, res, ec);
      if (ec || reply.close) return;
    }
  }

  Reply Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (replies_.empty()) {
      Reply r;
      r.status = http::status::internal_server_error;
      r.body = R"({"errorMessage":"no more scripted replies","errorType":"Test.Done"})";
      return r;
    }
    Reply r = std::move(replies_.front());
    replies_.pop_front();
    return r;
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  int current_ = -1;
  std::deque<Reply> replies_;
  std::vector<Recorded> requests_;
};

// Client-side trailers are not kept by Beast's parser, so streaming tests
// read the raw request instead: a second tiny server for one request.
class RawCapture {
 public:
  RawCapture() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec) return;
      std::string data;
      char chunk[4096];
      // Read until the chunked body's terminating empty line.
      while (data.find("\r\n0\r\n") == std::string::npos ||
             data.compare(data.size() - 4, 4, "\r\n\r\n") != 0) {
        size_t n = sock.read_some(asio::buffer(chunk), ec);
        if (ec) break;
        data.append(chunk, n);
      }
      raw_ = data;
      std::string res = "HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
      asio::write(sock, asio::buffer(res), ec);
    });
  }
  ~RawCapture() {
    if (thread_.joinable()) thread_.join();
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Raw() {
    thread_.join();
    return raw_;
  }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string raw_;
};

RuntimeClient MustConnect(const FakeRuntimeApi& api) {
  auto client = RuntimeClient::Connect(api.endpoint());
  EXPECT_TRUE(client.ok()) << client.status().message();
  return std::move(client).value();
}

// --- JSON escaping ---

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndNamedControls) {
  EXPECT_EQ(JsonEscape(R"(say "hi" \o/)"), R"(say \"hi\" \\o/)");
  EXPECT_EQ(JsonEscape("a\nb\rc\td\be\ff"), R"(a\nb\rc\td\be\ff)");
}

TEST(JsonEscapeTest, EscapesOtherControlCharactersAsUnicode) {
  EXPECT_EQ(JsonEscape(std::string("\x00\x01\x1f\x7f", 4)), R"(\u0000\u0001\u001f\u007f)");
}

TEST(JsonEscapeTest, KeepsValidUtf8) {
  const std::string s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA5";  // café € 💥
  EXPECT_EQ(JsonEscape(s), s);
}

TEST(JsonEscapeTest, ReplacesInvalidUtf8) {
  EXPECT_EQ(JsonEscape("a\xFF"
                       "b"),
            R"(a\ufffdb)");
  EXPECT_EQ(JsonEscape("\xC3"), R"(\ufffd)");                                // truncated
  EXPECT_EQ(JsonEscape("\xC0\xAF"), R"(\ufffd\ufffd)");                      // overlong
  EXPECT_EQ(JsonEscape("\xED\xA0\x80"), R"(\ufffd\ufffd\ufffd)");            // surrogate
  EXPECT_EQ(JsonEscape("\xF4\x90\x80\x80"), R"(\ufffd\ufffd\ufffd\ufffd)");  // > U+10FFFF
}

TEST(JsonEscapeTest, ErrorJsonRoundTripsThroughAJsonParser) {
  std::string message = "line 1\nline \"2\"\t\\ \x01 caf\xC3\xA9 \xF0\x9F\x92\xA5";
  std::string text = ErrorJson(message, "Function.Boom");
  auto parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed["errorMessage"], message);
  EXPECT_EQ(parsed["errorType"], "Function.Boom");
  EXPECT_TRUE(parsed["stackTrace"].is_array());
  EXPECT_TRUE(parsed["stackTrace"].empty());
  // Every byte value, one at a time, still parses.
  for (int b = 0; b < 256; ++b) {
    std::string one(1, static_cast<char>(b));
    EXPECT_TRUE(nlohmann::json::accept(ErrorJson(one, "Function.X"))) << b;
  }
}

TEST(Base64Test, EncodesWithPadding) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xFF\xFE", 2)), "//4=");
}

// --- Values ---

TEST(InvocationResponseTest, SuccessAndFailure) {
  auto ok = InvocationResponse::Success("{}");
  EXPECT_TRUE(ok.IsSuccess());
  EXPECT_EQ(ok.content_type(), "application/json");
  auto text = InvocationResponse::Success("hi", "text/plain");
  EXPECT_EQ(text.content_type(), "text/plain");
  auto bad = InvocationResponse::Failure("it \"broke\"", "Function.MyError");
  EXPECT_FALSE(bad.IsSuccess());
  EXPECT_EQ(bad.error_type(), "Function.MyError");
  EXPECT_EQ(bad.error_message(), "it \"broke\"");
  EXPECT_EQ(bad.payload(),
            R"({"errorMessage":"it \"broke\"","errorType":"Function.MyError","stackTrace":[]})");
}

TEST(InvocationRequestTest, RemainingTime) {
  InvocationRequest req;
  req.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(10'000));
  auto at = [](int ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  };
  EXPECT_EQ(req.RemainingTimeAt(at(7'500)).count(), 2'500);
  EXPECT_EQ(req.RemainingTimeAt(at(11'000)).count(), -1'000);  // AWS does not clamp
}

// --- RuntimeClient against the fake API ---

TEST(RuntimeClientTest, ConnectRejectsMalformedEndpoints) {
  for (std::string_view bad : {"", "localhost", ":9001", "host:", "host:port", "[::1:9001"}) {
    auto client = RuntimeClient::Connect(bad);
    ASSERT_FALSE(client.ok()) << bad;
    EXPECT_EQ(client.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(RuntimeClientTest, ConnectFailsWhenNothingListens) {
  // A bound socket that does not listen: its port refuses connections and
  // no other test can take it meanwhile.
  asio::io_context ioc;
  tcp::socket bound(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::uint16_t port = bound.local_endpoint().port();
  auto client = RuntimeClient::Connect("127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Status::Code::kUnavailable);
}

TEST(RuntimeClientTest, NextParsesHeadersAndPayload) {
  FakeRuntimeApi api;
  auto deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     5'000;
  api.EnqueueNext(
      "req-1", R"({"hello":"world"})",
      {{"Lambda-Runtime-Deadline-Ms", std::to_string(deadline_ms)},
       {"Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:123456789012:function:echo"},
       {"Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"},
       {"Lambda-Runtime-Client-Context", R"({"custom":{"a":1}})"},
       {"Lambda-Runtime-Cognito-Identity", R"({"cognitoIdentityId":"id"})"},
       {"Lambda-Runtime-Aws-Tenant-Id", "tenant-7"}});
  auto client = MustConnect(api);
  auto inv = client.NextInvocation();
  ASSERT_TRUE(inv.ok()) << inv.status().message();
  EXPECT_EQ(inv->request_id, "req-1");
  EXPECT_EQ(inv->payload, R"({"hello":"world"})");
  EXPECT_EQ(inv->function_arn, "arn:aws:lambda:us-east-1:123456789012:function:echo");
  EXPECT_EQ(inv->xray_trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
  EXPECT_EQ(inv->client_context, R"({"custom":{"a":1}})");
  EXPECT_EQ(inv->cognito_identity, R"({"cognitoIdentityId":"id"})");
  EXPECT_EQ(inv->tenant_id, "tenant-7");
  EXPECT_EQ(inv->deadline.time_since_epoch(), std::chrono::milliseconds(deadline_ms));
  EXPECT_GT(inv->RemainingTime().count(), 3'000);
  EXPECT_LE(inv->RemainingTime().count(), 5'000);

  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(reqs[0].headers["host"], api.endpoint());
}

TEST(RuntimeClientTest, MissingOrBadDeadlineLeavesTheEpoch) {
  FakeRuntimeApi api;
  api.EnqueueNext("a", "{}");
  api.EnqueueNext("b", "{}", {{"Lambda-Runtime-Deadline-Ms", "soon"}});
  auto client = MustConnect(api);
  for (int i = 0; i < 2; ++i) {
    auto inv = client.NextInvocation();
    ASSERT_TRUE(inv.ok());
    EXPECT_EQ(inv->deadline.time_since_epoch().count(), 0);
    EXPECT_TRUE(inv->function_arn.empty());
  }
}

TEST(RuntimeClientTest, NextWithoutRequestIdIsAnError) {
  FakeRuntimeApi api;
  Reply r;
  r.status = http::status::ok;
  r.body = "{}";
  api.Enqueue(r);
  auto client = MustConnect(api);
  auto inv = client.NextInvocation();
  ASSERT_FALSE(inv.ok());
  EXPECT_NE(inv.status().message().find("Lambda-Runtime-Aws-Request-Id"), std::string::npos);
}

TEST(RuntimeClientTest, NextHttpErrorsMapToStatusCodes) {
  FakeRuntimeApi api;
  Reply forbidden;
  forbidden.status = http::status::forbidden;
  forbidden.body = R"({"errorMessage":"no","errorType":"InvalidStateTransition"})";
  api.Enqueue(forbidden);
  auto client = MustConnect(api);
  auto inv = client.NextInvocation();
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(inv.status().message().find("HTTP 403"), std::string::npos);
  EXPECT_NE(inv.status().message().find("InvalidStateTransition"), std::string::npos);
  inv = client.NextInvocation();  // the script is empty: 500
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().code(), Status::Code::kUnavailable);
}

TEST(RuntimeClientTest, PostResponseSendsBodyAndContentType) {
  FakeRuntimeApi api;
  api.EnqueueNext("req-1", "{}");
  api.EnqueueAccepted();
  auto client = MustConnect(api);
  ASSERT_TRUE(client.NextInvocation().ok());
  Status s = client.PostResponse("req-1", "plain text", "text/plain");
  ASSERT_TRUE(s.ok()) << s.message();
  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].target, "/2018-06-01/runtime/invocation/req-1/response");
  EXPECT_EQ(reqs[1].headers["content-type"], "text/plain");
  EXPECT_EQ(reqs[1].headers["content-length"], "10");
  EXPECT_EQ(reqs[1].body, "plain text");
  EXPECT_EQ(reqs[1].headers.count("lambda-runtime-function-error-type"), 0u);
  EXPECT_EQ(api.connections(), 1);  // keep-alive
}

TEST(RuntimeClientTest, PostErrorSendsHeaderAndErrorJson) {
  FakeRuntimeApi api;
  api.EnqueueAccepted();
  auto client = MustConnect(api);
  Status s = client.PostError("req-9", "Function.Boom", "it \"blew\" up\n");
  ASSERT_TRUE(s.ok()) << s.message();
  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/2018-06-01/runtime/invocation/req-9/error");
  EXPECT_EQ(reqs[0].headers["lambda-runtime-function-error-type"], "Function.Boom");
  EXPECT_EQ(reqs[0].headers["content-type"], kErrorContentType);
  EXPECT_EQ(reqs[0].body,
            R"({"errorMessage":"it \"blew\" up\n","errorType":"Function.Boom","stackTrace":[]})");
}

TEST(RuntimeClientTest, PostInitError) {
  FakeRuntimeApi api;
  api.EnqueueAccepted();
  auto client = MustConnect(api);
  ASSERT_TRUE(client.PostInitError("Runtime.ConfigInvalid", "no table name").ok());
  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(reqs[0].headers["lambda-runtime-function-error-type"], "Runtime.ConfigInvalid");
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body["errorMessage"], "no table name");
  EXPECT_EQ(body["errorType"], "Runtime.ConfigInvalid");
}

TEST(RuntimeClientTest, PayloadTooLargeIsInvalidArgument) {
  FakeRuntimeApi api;
  Reply too_large;
  too_large.status = http::status::payload_too_large;
  too_large.body =
      R"({"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"})";
  api.Enqueue(too_large);
  auto client = MustConnect(api);
  Status s = client.PostResponse("r", std::string(7 << 20, 'x'));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("HTTP 413"), std::string::npos);
  EXPECT_NE(s.message().find("RequestEntityTooLarge"), std::string::npos);
  EXPECT_EQ(api.requests()[0].body.size(), 7u << 20);
}

TEST(RuntimeClientTest, ReconnectsWhenTheServerClosesTheConnection) {
  FakeRuntimeApi api;
  Reply next_then_close;
  next_then_close.status = http::status::ok;
  next_then_close.headers = {{"Lambda-Runtime-Aws-Request-Id", "r1"}};
  next_then_close.close = true;
  api.Enqueue(next_then_close);
  api.EnqueueAccepted();
  auto client = MustConnect(api);
  ASSERT_TRUE(client.NextInvocation().ok());
  ASSERT_TRUE(client.PostResponse("r1", "{}").ok());
  EXPECT_EQ(api.connections(), 2);
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST(RuntimeClientTest, StreamingResponseIsChunkedWithModeHeader) {
  RawCapture capture;
  auto client = RuntimeClient::Connect(capture.endpoint());
  ASSERT_TRUE(client.ok());
  Status s = client->PostStreamingResponse("s1", "text/plain", [](const auto& write) {
    if (Status w = write("hello "); !w.ok()) return w;
    return write("world");
  });
  ASSERT_TRUE(s.ok()) << s.message();
  std::string raw = capture.Raw();
  EXPECT_NE(raw.find("POST /2018-06-01/runtime/invocation/s1/response HTTP/1.1\r\n"),
            std::string::npos);
  EXPECT_NE(raw.find("Lambda-Runtime-Function-Response-Mode: streaming\r\n"), std::string::npos);
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(raw.find("\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("Lambda-Runtime-Function-Error-Type:"), std::string::npos);
}

TEST(RuntimeClientTest, StreamingErrorGoesInTrailers) {
  RawCapture capture;
  auto client = RuntimeClient::Connect(capture.endpoint());
  ASSERT_TRUE(client.ok());
  Status s = client->PostStreamingResponse("s2", "text/plain", [](const auto& write) {
    (void)write("partial");
    return Status::Injected("Function.Midway", "stopped halfway");
  });
  ASSERT_TRUE(s.ok()) << s.message();
  std::string raw = capture.Raw();
  EXPECT_NE(raw.find("\r\n0\r\nLambda-Runtime-Function-Error-Type: Function.Midway\r\n"),
            std::string::npos)
      << raw;
  std::string body_b64 = Base64Encode(ErrorJson("stopped halfway", "Function.Midway"));
  EXPECT_NE(raw.find("Lambda-Runtime-Function-Error-Body: " + body_b64 + "\r\n\r\n"),
            std::string::npos)
      << raw;
}

// --- The handler loop ---

TEST(RunHandlerLoopTest, ResponseErrorAndExceptionsThenStopsAfterThreeFailedNexts) {
  FakeRuntimeApi api;
  api.EnqueueNext("ok-1", "ping", {{"Lambda-Runtime-Trace-Id", "Root=1-abc"}});
  api.EnqueueAccepted();
  api.EnqueueNext("fail-2", "fail");
  api.EnqueueAccepted();
  api.EnqueueNext("throw-3", "throw");
  api.EnqueueAccepted();
  api.EnqueueNext("throw-4", "throw-int");
  api.EnqueueAccepted();
  // Then the script is empty: three 500s on /next end the loop.
  auto client = MustConnect(api);
  std::string trace_seen;
  Status s = RunHandlerLoop(client, [&](const InvocationRequest& req) {
    if (req.payload == "ping") {
      const char* t = std::getenv("_X_AMZN_TRACE_ID");
      trace_seen = t ? t : "";
      return InvocationResponse::Success("pong", "text/plain");
    }
    if (req.payload == "fail") return InvocationResponse::Failure("nope", "Function.Nope");
    if (req.payload == "throw") throw std::runtime_error("bad \"input\"");
    throw 42;
  });
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(trace_seen, "Root=1-abc");

  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 11u);
  EXPECT_EQ(reqs[1].target, "/2018-06-01/runtime/invocation/ok-1/response");
  EXPECT_EQ(reqs[1].body, "pong");
  EXPECT_EQ(reqs[3].target, "/2018-06-01/runtime/invocation/fail-2/error");
  EXPECT_EQ(reqs[3].headers["lambda-runtime-function-error-type"], "Function.Nope");
  EXPECT_EQ(reqs[5].target, "/2018-06-01/runtime/invocation/throw-3/error");
  EXPECT_EQ(reqs[5].headers["lambda-runtime-function-error-type"], "Runtime.HandlerException");
  auto thrown = nlohmann::json::parse(reqs[5].body);
  EXPECT_EQ(thrown["errorMessage"], "bad \"input\"");
  EXPECT_EQ(thrown["errorType"], "Runtime.HandlerException");
  EXPECT_EQ(reqs[7].target, "/2018-06-01/runtime/invocation/throw-4/error");
  EXPECT_NE(reqs[7].body.find("unknown exception"), std::string::npos);
  for (size_t i = 8; i < 11; ++i) EXPECT_EQ(reqs[i].target, "/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(api.connections(), 1);
}

TEST(RunHandlerLoopTest, A4xxOnPostEndsOnlyThatInvocation) {
  FakeRuntimeApi api;
  api.EnqueueNext("big", "{}");
  Reply too_large;
  too_large.status = http::status::payload_too_large;
  api.Enqueue(too_large);
  api.EnqueueNext("small", "{}");
  api.EnqueueAccepted();
  auto client = MustConnect(api);
  int calls = 0;
  Status s = RunHandlerLoop(client, [&](const InvocationRequest&) {
    ++calls;
    return InvocationResponse::Success("{}");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 2);
}

TEST(RunHandlerLoopTest, A5xxOnPostIsFatal) {
  FakeRuntimeApi api;
  api.EnqueueNext("r", "{}");
  Reply broken;
  broken.status = http::status::internal_server_error;
  api.Enqueue(broken);
  api.EnqueueNext("never", "{}");
  auto client = MustConnect(api);
  int calls = 0;
  Status s = RunHandlerLoop(client, [&](const InvocationRequest&) {
    ++calls;
    return InvocationResponse::Success("{}");
  });
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(api.requests().size(), 2u);
}

}  // namespace
}  // namespace faultline::lambda
