// What a client may make Server wait for, against real loopback sockets
// and small timeouts given through ServerOptions: idle, half-sent header,
// half-sent body, too many connections, bodies and headers over the limits;
// and that none of it applies while a handler runs.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/server.h"

namespace faultline::http {
namespace {

using namespace std::chrono_literals;

constexpr auto kLong = std::chrono::milliseconds(60s);
// How long a test waits for the server to close a connection: many times
// the timeouts below, so that a loaded machine does not fail the test.
constexpr auto kCloseBound = 5s;

ServerOptions Options(std::chrono::milliseconds idle, std::chrono::milliseconds header,
                      std::chrono::milliseconds body) {
  ServerOptions o;
  o.idle_timeout = idle;
  o.header_timeout = header;
  o.body_timeout = body;
  return o;
}

class BoundsTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options, Handler handler = nullptr) {
    if (!handler) {
      handler = [this](Request& req) -> Task<Response> {
        ++served_;
        co_return MakeResponse(req, bhttp::status::ok, "body " + std::to_string(req.body().size()),
                               "text/plain");
      };
    }
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

  std::unique_ptr<tcp::socket> Connect() {
    auto sock = std::make_unique<tcp::socket>(client_io_);
    sock->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), url_.port));
    return sock;
  }
  static void Send(tcp::socket& sock, std::string_view bytes) {
    asio::write(sock, asio::buffer(bytes.data(), bytes.size()));
  }
  static Response Read(tcp::socket& sock) {
    beast::flat_buffer buf;
    Response res;
    bhttp::read(sock, buf, res);
    return res;
  }
  Response Get(tcp::socket& sock) {
    Send(sock, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    return Read(sock);
  }

  // Waits (at most `bound`) for the peer to close; true if it did. Bytes
  // that arrive first are collected in `got`.
  static bool ClosedByPeer(tcp::socket& sock, std::chrono::milliseconds bound,
                           std::string* got = nullptr) {
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{sock.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::recv(sock.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) return true;  // EOF or reset
      if (got != nullptr) got->append(buf, static_cast<std::size_t>(n));
    }
  }
  // Whether the peer has closed already (no waiting).
  static bool ClosedNow(tcp::socket& sock) {
    char c = 0;
    const ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  asio::io_context client_io_;
  std::unique_ptr<Server> server_;
  Url url_;
  std::thread thread_;
  std::atomic<int> served_{0};
};

// 200 connections that send nothing hold the server up no longer than
// header_timeout, and a client that does speak is served meanwhile.
TEST_F(BoundsTest, SilentConnectionsAreClosedAndOthersServedMeanwhile) {
  StartServer(Options(kLong, 300ms, kLong));
  std::vector<std::unique_ptr<tcp::socket>> silent;
  for (int i = 0; i < 200; ++i) silent.push_back(Connect());
  auto res = FetchSync(url_, Request(bhttp::verb::get, "/", 11), 5s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->result(), bhttp::status::ok);
  for (auto& s : silent) {
    std::string got;
    ASSERT_TRUE(ClosedByPeer(*s, kCloseBound, &got));
    EXPECT_EQ(got, "");  // closed without a word
  }
}

TEST_F(BoundsTest, HalfAHeaderIsClosed) {
  StartServer(Options(kLong, 300ms, kLong));
  auto sock = Connect();
  Send(*sock, "GET / HTTP/1.1\r\nHost: x\r\n");  // no blank line: never ends
  std::string got;
  EXPECT_TRUE(ClosedByPeer(*sock, kCloseBound, &got));
  EXPECT_EQ(got, "");
  EXPECT_EQ(served_, 0);
}

// On a kept-alive connection the header's time counts from its first
// byte: half a header is cut off long before the (long) idle timeout.
TEST_F(BoundsTest, HeaderTimeoutCountsFromTheFirstByteOfALaterRequest) {
  StartServer(Options(kLong, 300ms, kLong));
  auto sock = Connect();
  EXPECT_EQ(Get(*sock).result(), bhttp::status::ok);
  Send(*sock, "GET / HTTP/1.1\r\nHo");
  EXPECT_TRUE(ClosedByPeer(*sock, kCloseBound));
  EXPECT_EQ(served_, 1);
}

TEST_F(BoundsTest, AnIdleKeptAliveConnectionIsClosed) {
  StartServer(Options(300ms, kLong, kLong));
  auto sock = Connect();
  EXPECT_EQ(Get(*sock).result(), bhttp::status::ok);
  EXPECT_EQ(Get(*sock).result(), bhttp::status::ok);  // kept alive in between
  EXPECT_TRUE(ClosedByPeer(*sock, kCloseBound));
}

TEST_F(BoundsTest, AStalledBodyIsClosedBeforeTheHandler) {
  StartServer(Options(kLong, kLong, 300ms));
  auto sock = Connect();
  Send(*sock, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  std::string got;
  EXPECT_TRUE(ClosedByPeer(*sock, kCloseBound, &got));
  EXPECT_EQ(got, "");
  EXPECT_EQ(served_, 0);
}

// body_timeout bounds the gap between bytes, not the whole body: a body
// that keeps coming, slower in total than the timeout, is read.
TEST_F(BoundsTest, ABodyThatKeepsComingIsRead) {
  StartServer(Options(kLong, kLong, 1s));
  auto sock = Connect();
  Send(*sock, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 80\r\n\r\n");
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(200ms);  // pacing the client, not measuring
    Send(*sock, "0123456789");
  }
  ASSERT_GT(std::chrono::steady_clock::now() - started, 1s);
  Response res = Read(*sock);
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "body 80");
}

// The timeouts apply while the server reads, never while a handler runs:
// a handler slower than all of them (a long poll) still answers, and the
// connection carries the next request.
TEST_F(BoundsTest, AHandlerSlowerThanEveryTimeoutStillAnswers) {
  StartServer(Options(200ms, 200ms, 200ms), [](Request& req) -> Task<Response> {
    if (req.target() == "/slow") {
      asio::steady_timer timer(co_await asio::this_coro::executor, 1s);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return MakeResponse(req, bhttp::status::ok, std::string(req.target()), "text/plain");
  });
  auto sock = Connect();
  Send(*sock, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Read(*sock).body(), "/slow");
  EXPECT_EQ(Get(*sock).body(), "/");
}

// A stream handler that does not arm the deadline (a long poll) is not cut
// off; one that arms it around its reads cuts off a stalled body.
TEST_F(BoundsTest, StreamHandlersDecideWhenTheyRead) {
  ServerOptions options = Options(200ms, 200ms, 300ms);
  options.streams = [](const bhttp::request_header<>&) { return true; };
  options.stream_handler = [](Exchange& ex) -> Task<bool> {
    if (ex.parser.get().target() == "/poll") {
      asio::steady_timer timer(co_await asio::this_coro::executor, 1s);
      co_await timer.async_wait(asio::use_awaitable);
    } else {
      bhttp::request_parser<bhttp::string_body> body(std::move(ex.parser));
      boost::system::error_code ec;
      while (!ec && !body.is_done()) {
        ex.deadline.Reading();
        co_await bhttp::async_read_some(ex.socket, ex.buffer, body,
                                        asio::redirect_error(asio::use_awaitable, ec));
      }
      ex.deadline.NotReading();
      if (ec) co_return false;
    }
    Response res(bhttp::status::ok, 11);
    res.body() = "streamed";
    res.prepare_payload();
    co_await bhttp::async_write(ex.socket, res, asio::use_awaitable);
    co_return true;
  };
  StartServer(std::move(options));
  auto poll = Connect();
  Send(*poll, "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Read(*poll).body(), "streamed");
  auto stalled = Connect();
  Send(*stalled, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  std::string got;
  EXPECT_TRUE(ClosedByPeer(*stalled, kCloseBound, &got));
  EXPECT_EQ(got, "");
}

// At max_connections a new connection makes room by closing the one idle
// longest: 200 idle connections cannot lock a client out of a server that
// allows 100.
TEST_F(BoundsTest, AtTheLimitTheOldestIdleConnectionMakesRoom) {
  ServerOptions options = Options(kLong, kLong, kLong);
  options.max_connections = 100;
  StartServer(std::move(options));
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(Connect());
    ASSERT_EQ(Get(*idle.back()).result(), bhttp::status::ok) << "connection " << i;
  }
  auto res = FetchSync(url_, Request(bhttp::verb::get, "/", 11), 5s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->result(), bhttp::status::ok);
  int closed = 0;
  for (auto& s : idle) closed += ClosedNow(*s) ? 1 : 0;
  EXPECT_GE(closed, 100);
  EXPECT_TRUE(ClosedByPeer(*idle.front(), kCloseBound));  // the oldest went first
  EXPECT_FALSE(ClosedNow(*idle.back()));                  // the newest stays
  EXPECT_EQ(Get(*idle.back()).result(), bhttp::status::ok);
}

// When every connection is busy (here: in its handler), a new one gets a
// 503 and the busy ones are left alone.
TEST_F(BoundsTest, WhenEveryConnectionIsBusyANewOneGets503) {
  ServerOptions options = Options(kLong, kLong, kLong);
  options.max_connections = 2;
  std::atomic<int> waiting{0};
  StartServer(std::move(options), [&waiting](Request& req) -> Task<Response> {
    ++waiting;
    asio::steady_timer timer(co_await asio::this_coro::executor, 30s);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return MakeResponse(req, bhttp::status::ok, "late");
  });
  auto a = Connect();
  auto b = Connect();
  Send(*a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  Send(*b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 500 && waiting < 2; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(waiting, 2);
  auto c = Connect();
  Response refused = Read(*c);
  EXPECT_EQ(refused.result(), bhttp::status::service_unavailable);
  EXPECT_FALSE(refused.keep_alive());
  EXPECT_FALSE(ClosedNow(*a));
  EXPECT_FALSE(ClosedNow(*b));
}

TEST_F(BoundsTest, AChunkedBodyOverTheLimitGets413) {
  ServerOptions options;
  options.body_limit = 1000;
  StartServer(std::move(options));
  auto sock = Connect();
  std::string req = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "190\r\n" + std::string(400, 'x') + "\r\n";
  req += "0\r\n\r\n";
  Send(*sock, req);
  Response res = Read(*sock);
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(served_, 0);
  // Under the limit, chunked, it is read.
  auto ok = Connect();
  Send(*ok,
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "190\r\n" +
           std::string(400, 'x') + "\r\n0\r\n\r\n");
  EXPECT_EQ(Read(*ok).body(), "body 400");
}

// A body over the limit that is still being sent when the server answers:
// the client reads the 413 rather than a reset.
TEST_F(BoundsTest, ALargeBodyOverTheLimitGets413WhileStillSending) {
  ServerOptions options;
  options.body_limit = 1000;
  StartServer(std::move(options));
  Request req(bhttp::verb::post, "/", 11);
  req.body() = std::string(4 * 1024 * 1024, 'x');
  auto res = FetchSync(url_, req, 10s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
  EXPECT_EQ(served_, 0);
}

TEST_F(BoundsTest, AHeaderOver64KiBGets431) {
  StartServer(ServerOptions{});
  auto sock = Connect();
  Send(*sock, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n");
  Response res = Read(*sock);
  EXPECT_EQ(res.result(), bhttp::status::request_header_fields_too_large);
  EXPECT_EQ(served_, 0);
  auto near = Connect();
  Send(*near, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(60 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(Read(*near).result(), bhttp::status::ok);
}

TEST(BoundsOptionsTest, ListenRefusesZeroBounds) {
  asio::io_context io;
  auto handler = [](Request& req) -> Task<Response> {
    co_return MakeResponse(req, bhttp::status::ok, "");
  };
  ServerOptions o;
  o.idle_timeout = 0ms;
  auto s = Server::Listen(io, o, handler);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("idle_timeout"), std::string::npos);
  o = ServerOptions{};
  o.max_connections = 0;
  s = Server::Listen(io, o, handler);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("max_connections"), std::string::npos);
}

}  // namespace
}  // namespace faultline::http
