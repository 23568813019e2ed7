#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "http/client.h"
#include "http/server.h"

namespace faultline::http {
namespace {

using namespace std::chrono_literals;

// A server on a loopback port, its io_context on a thread of its own.
class ServerFixture : public ::testing::Test {
 protected:
  void StartServer(Handler handler, ServerOptions options = {}) {
    auto s = Server::Listen(io_, std::move(options), std::move(handler));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    url_ = Url{"127.0.0.1", server_->port(), "/"};
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) asio::post(io_, [this] { server_->Stop(); });
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  Request Get(std::string target) {
    Request req(bhttp::verb::get, target, 11);
    return req;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::unique_ptr<Server> server_;
  Url url_;
  std::thread thread_;
};

TEST_F(ServerFixture, AnswersARequest) {
  StartServer([](Request& req) -> Task<Response> {
    co_return MakeResponse(req, bhttp::status::ok, "you asked for " + std::string(req.target()),
                           "text/plain");
  });
  auto res = FetchSync(url_, Get("/hello"), 5s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->result(), bhttp::status::ok);
  EXPECT_EQ(res->body(), "you asked for /hello");
  EXPECT_EQ((*res)[bhttp::field::content_type], "text/plain");
}

TEST_F(ServerFixture, KeepsTheConnectionAlive) {
  int count = 0;
  StartServer([&](Request& req) -> Task<Response> {
    co_return MakeResponse(req, bhttp::status::ok, std::to_string(++count));
  });
  asio::io_context io;
  tcp::socket sock(io);
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), url_.port));
  beast::flat_buffer buf;
  for (int i = 1; i <= 3; ++i) {
    Request req = Get("/");
    req.set(bhttp::field::host, "x");
    bhttp::write(sock, req);
    Response res;
    bhttp::read(sock, buf, res);
    EXPECT_EQ(res.body(), std::to_string(i));
  }
}

TEST_F(ServerFixture, AHandlerMayWaitWithoutBlockingOthers) {
  std::unique_ptr<Event> event;
  StartServer([&](Request& req) -> Task<Response> {
    if (req.target() == "/wait") {
      event = std::make_unique<Event>(co_await asio::this_coro::executor);
      co_await event->Wait();
      co_return MakeResponse(req, bhttp::status::ok, "woken");
    }
    if (event) event->Set();
    co_return MakeResponse(req, bhttp::status::ok, "waker");
  });
  auto waited = std::async(std::launch::async, [&] { return FetchSync(url_, Get("/wait"), 10s); });
  // The waker may arrive before the waiter has registered: retry, bounded.
  for (int i = 0; i < 500 && waited.wait_for(10ms) != std::future_status::ready; ++i) {
    ASSERT_TRUE(FetchSync(url_, Get("/wake"), 5s).ok());
  }
  Result<Response> woken = waited.get();
  ASSERT_TRUE(woken.ok()) << woken.status().ToString();
  EXPECT_EQ(woken->body(), "woken");
}

TEST_F(ServerFixture, BodyOverTheLimitGets413) {
  bool called = false;
  StartServer(
      [&](Request& req) -> Task<Response> {
        called = true;
        co_return MakeResponse(req, bhttp::status::ok, "");
      },
      ServerOptions{.body_limit = 1000});
  Request req(bhttp::verb::post, "/", 11);
  req.body() = std::string(1001, 'x');
  auto res = FetchSync(url_, req, 5s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
  EXPECT_FALSE(called);
  req.body() = std::string(1000, 'x');
  EXPECT_EQ(FetchSync(url_, req, 5s)->result(), bhttp::status::ok);
}

TEST_F(ServerFixture, AThrowingHandlerGives500AndTheServerLives) {
  StartServer([](Request& req) -> Task<Response> {
    if (req.target() == "/throw") throw std::runtime_error("boom");
    co_return MakeResponse(req, bhttp::status::ok, "fine");
  });
  EXPECT_EQ(FetchSync(url_, Get("/throw"), 5s)->result(), bhttp::status::internal_server_error);
  EXPECT_EQ(FetchSync(url_, Get("/"), 5s)->body(), "fine");
}

TEST_F(ServerFixture, GarbageIsDroppedAndTheServerLives) {
  StartServer([](Request& req) -> Task<Response> {
    co_return MakeResponse(req, bhttp::status::ok, "fine");
  });
  {
    asio::io_context io;
    tcp::socket sock(io);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), url_.port));
    asio::write(sock, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
    beast::flat_buffer buf;
    Response res;
    boost::system::error_code ec;
    bhttp::read(sock, buf, res, ec);
    EXPECT_TRUE(ec);  // closed without an answer
  }
  EXPECT_EQ(FetchSync(url_, Get("/"), 5s)->body(), "fine");
}

TEST_F(ServerFixture, ClientTimesOut) {
  StartServer([](Request& req) -> Task<Response> {
    Event never(co_await asio::this_coro::executor);
    co_await never.Wait(asio::steady_timer::clock_type::now() + 30s);
    co_return MakeResponse(req, bhttp::status::ok, "late");
  });
  auto res = FetchSync(url_, Get("/"), 200ms);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(res.status().message().find("timed out"), std::string::npos) << res.status().message();
}

// A stream handler echoes each piece of a chunked body as it arrives and
// ends with a trailer; plain requests still reach the ordinary handler.
TEST_F(ServerFixture, StreamHandlerPassesAChunkedBodyThroughAsItArrives) {
  ServerOptions options;
  options.streams = [](const bhttp::request_header<>& h) { return h.target() == "/stream"; };
  options.stream_handler = [](Exchange& ex) -> Task<bool> {
    bhttp::request_parser<bhttp::buffer_body> parser(std::move(ex.parser));
    bhttp::response<bhttp::empty_body> head(bhttp::status::ok, 11);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr(head);
    co_await bhttp::async_write_header(ex.socket, sr, asio::use_awaitable);
    std::size_t total = 0;
    char buf[4096];
    while (!parser.is_done()) {
      parser.get().body().data = buf;
      parser.get().body().size = sizeof buf;
      boost::system::error_code ec;
      co_await bhttp::async_read_some(ex.socket, ex.buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec && ec != bhttp::error::need_buffer) co_return false;
      const std::size_t n = sizeof buf - parser.get().body().size;
      if (n == 0) continue;
      total += n;
      co_await asio::async_write(ex.socket, bhttp::make_chunk(asio::buffer(buf, n)),
                                 asio::use_awaitable);
    }
    bhttp::fields trailer;
    trailer.set("X-Total", std::to_string(total));
    trailer.set("X-Seen-Trailer", std::string(parser.get()["X-Client-Trailer"]));
    co_await asio::async_write(ex.socket, bhttp::make_chunk_last(trailer), asio::use_awaitable);
    co_return true;
  };
  StartServer(
      [](Request& req) -> Task<Response> {
        co_return MakeResponse(req, bhttp::status::ok, "plain", "text/plain");
      },
      std::move(options));

  asio::io_context io;
  tcp::socket sock(io);
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), url_.port));
  asio::write(sock, asio::buffer(std::string("POST /stream HTTP/1.1\r\nHost: x\r\n"
                                             "Transfer-Encoding: chunked\r\n"
                                             "Trailer: X-Client-Trailer\r\n\r\n"
                                             "5\r\nfirst\r\n")));
  // The first piece comes back before the client sends the rest: a stream,
  // not a whole body read then answered.
  bhttp::response_parser<bhttp::string_body> res;
  beast::flat_buffer buf;
  bhttp::read_header(sock, buf, res);
  EXPECT_EQ(res.get().result(), bhttp::status::ok);
  std::string seen;
  auto on_chunk = [&](std::uint64_t, beast::string_view body, boost::system::error_code&) {
    seen.append(body.data(), body.size());
    return body.size();
  };
  res.on_chunk_body(on_chunk);
  while (seen.size() < 5) bhttp::read_some(sock, buf, res);
  EXPECT_EQ(seen, "first");
  asio::write(sock, asio::buffer(std::string("6\r\nsecond\r\n0\r\nX-Client-Trailer: t1\r\n\r\n")));
  bhttp::read(sock, buf, res);
  EXPECT_EQ(seen, "firstsecond");
  EXPECT_EQ(res.get()["X-Total"], "11");
  EXPECT_EQ(res.get()["X-Seen-Trailer"], "t1");

  // The same connection then serves a plain request through the handler.
  Request plain = Get("/plain");
  plain.set(bhttp::field::host, "x");
  bhttp::write(sock, plain);
  Response answer;
  bhttp::read(sock, buf, answer);
  EXPECT_EQ(answer.body(), "plain");
}

TEST(ClientTest, RefusedConnectionIsUnavailable) {
  // Bind a port, close it: nothing listens there now.
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = a.local_endpoint().port();
  a.close();
  auto res = FetchSync(Url{"127.0.0.1", port, "/"}, Request(bhttp::verb::get, "/", 11), 2s);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("cannot connect"), std::string::npos);
}

TEST(ClientTest, ListenOnABadAddressFails) {
  asio::io_context io;
  auto s = Server::Listen(
      io, ServerOptions{.host = "not-an-ip"},
      [](Request& req) -> Task<Response> { co_return MakeResponse(req, bhttp::status::ok, ""); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not-an-ip"), std::string::npos);
}

TEST(UrlTest, Parses) {
  auto u = ParseUrl("http://127.0.0.1:9001/2018-06-01/runtime?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9001);
  EXPECT_EQ(u->target, "/2018-06-01/runtime?x=1");
  u = ParseUrl("http://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  u = ParseUrl("http://[::1]:8080/a");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
}

TEST(UrlTest, RejectsWithReasons) {
  EXPECT_NE(ParseUrl("https://x").status().message().find("https is not supported"),
            std::string::npos);
  EXPECT_NE(ParseUrl("ftp://x").status().message().find("expected http://"), std::string::npos);
  EXPECT_NE(ParseUrl("http://:80/").status().message().find("no host"), std::string::npos);
  EXPECT_NE(ParseUrl("http://h:99999/").status().message().find("port"), std::string::npos);
  EXPECT_NE(ParseUrl("http://h:abc/").status().message().find("port"), std::string::npos);
}

}  // namespace
}  // namespace faultline::http

#include "http/encoding.h"

namespace faultline::http {
namespace {

TEST(EncodingTest, Base64RoundTrips) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10 binary"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");  // padding optional
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(EncodingTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("arn%3Aaws%3Alambda"), "arn:aws:lambda");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_FALSE(PercentDecode("bad%2").has_value());
  EXPECT_FALSE(PercentDecode("bad%zz").has_value());
  EXPECT_FALSE(PercentDecode("%").has_value());
}

}  // namespace
}  // namespace faultline::http

#include "http/eventstream.h"

namespace faultline::http {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// Known encodings (from an independent implementation of the format).
TEST(EventStreamTest, EncodesKnownMessages) {
  EventStreamMessage bare;
  bare.payload = R"({"foo": "bar"})";
  EXPECT_EQ(EncodeEventStreamMessage(bare), Bytes({0, 0, 0, 30, 0, 0, 0, 0, 186, 242, 246, 138}) +
                                                bare.payload + Bytes({174, 114, 88, 228}));
  EventStreamMessage typed = bare;
  typed.headers = {{"content-type", "application/json"}};
  const std::string encoded = EncodeEventStreamMessage(typed);
  EXPECT_EQ(encoded.substr(0, 12), Bytes({0, 0, 0, 62, 0, 0, 0, 32, 64, 93, 249, 70}));
  EXPECT_EQ(encoded.substr(encoded.size() - 4), Bytes({111, 162, 191, 59}));
}

TEST(EventStreamTest, DecodesWhatItEncodesAndRejectsDamage) {
  const std::string a = EncodeEvent("PayloadChunk", "application/octet-stream", "hello");
  const std::string b = EncodeEvent("InvokeComplete", "application/json", "{}");
  const std::string both = a + b;
  std::size_t used = 0;
  std::string error;
  auto first = DecodeEventStreamMessage(both, used, error);
  ASSERT_TRUE(first.has_value()) << error;
  EXPECT_EQ(used, a.size());
  EXPECT_EQ(first->Header(":event-type"), "PayloadChunk");
  EXPECT_EQ(first->Header(":message-type"), "event");
  EXPECT_EQ(first->payload, "hello");
  auto second = DecodeEventStreamMessage(std::string_view(both).substr(used), used, error);
  ASSERT_TRUE(second.has_value()) << error;
  EXPECT_EQ(second->Header(":event-type"), "InvokeComplete");
  // Incomplete: not yet a message, not an error.
  EXPECT_FALSE(DecodeEventStreamMessage(std::string_view(a).substr(0, a.size() - 1), used, error));
  EXPECT_TRUE(error.empty());
  std::string damaged = a;
  damaged[damaged.size() - 6] ^= 1;  // a payload byte
  EXPECT_FALSE(DecodeEventStreamMessage(damaged, used, error));
  EXPECT_EQ(error, "message CRC mismatch");
  damaged = a;
  damaged[3] ^= 1;  // the total length
  EXPECT_FALSE(DecodeEventStreamMessage(damaged, used, error));
  EXPECT_EQ(error, "prelude CRC mismatch");
}

// A graceful stop: no new connection, but the answer in progress is given.
TEST_F(ServerFixture, StopAcceptingLetsTheAnswerInProgressFinish) {
  Event* release = nullptr;
  std::promise<void> entered;
  StartServer([&](Request& req) -> Task<Response> {
    Event wait(co_await asio::this_coro::executor);
    release = &wait;
    entered.set_value();
    co_await wait.Wait();
    co_return MakeResponse(req, bhttp::status::ok, "finished", "text/plain");
  });
  auto call = std::async(std::launch::async, [this] { return FetchSync(url_, Get("/slow"), 10s); });
  entered.get_future().wait();
  std::promise<void> stopped;
  asio::post(io_, [&] {
    server_->StopAccepting();
    stopped.set_value();
  });
  stopped.get_future().wait();
  EXPECT_FALSE(FetchSync(url_, Get("/new"), 2s).ok()) << "no longer accepting";
  asio::post(io_, [&] { release->Set(); });
  auto res = call.get();
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body(), "finished");
}

}  // namespace
}  // namespace faultline::http
