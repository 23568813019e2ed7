// KeepAliveClient against real loopback servers: a tiny one written here
// (so the test sees every connection and decides when it closes), and
// http::Server.
#include "http/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "http/server.h"

namespace faultline::http {
namespace {

using namespace std::chrono_literals;

// A keep-alive server on a loopback port that counts the connections it
// accepts and closes each one, without a word, after `per_connection`
// answers. Each answer's body: "<connection number>/<request number on it>".
class CountingServer {
 public:
  explicit CountingServer(int per_connection) : per_connection_(per_connection) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CountingServer() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  Task<void> Accept() {
    for (;;) {
      tcp::socket sock(io_);
      boost::system::error_code ec;
      co_await acceptor_.async_accept(sock, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(sock), ++accepted_), asio::detached);
    }
  }
  Task<void> Serve(tcp::socket sock, int number) {
    beast::flat_buffer buffer;
    for (int i = 1; i <= per_connection_; ++i) {
      Request req;
      boost::system::error_code ec;
      co_await bhttp::async_read(sock, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      Response res =
          MakeResponse(req, bhttp::status::ok, std::to_string(number) + "/" + std::to_string(i));
      co_await bhttp::async_write(sock, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
    boost::system::error_code ignored;
    sock.close(ignored);
  }

  int per_connection_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

Request Get(const char* target) { return Request(bhttp::verb::get, target, 11); }

// Both ways of sending: with a deadline (through the io_context) and without
// (blocking).
class KeepAliveClientTest : public ::testing::TestWithParam<std::chrono::milliseconds> {};
INSTANTIATE_TEST_SUITE_P(Deadline, KeepAliveClientTest,
                         ::testing::Values(std::chrono::milliseconds(5000),
                                           KeepAliveClient::kNoTimeout),
                         [](const auto& param_info) {
                           return param_info.param == KeepAliveClient::kNoTimeout ? "None" : "5s";
                         });

TEST_P(KeepAliveClientTest, SendsEveryRequestOnOneConnection) {
  CountingServer server(100);
  KeepAliveClient client("127.0.0.1", server.port());
  for (int i = 1; i <= 5; ++i) {
    auto res = client.Send(Get("/"), GetParam());
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->body(), "1/" + std::to_string(i));
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(client.connects(), 1u);
}

TEST_P(KeepAliveClientTest, ReconnectsAfterTheServerClosesTheConnection) {
  CountingServer server(2);  // closes each connection after two answers
  KeepAliveClient client("127.0.0.1", server.port());
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    auto res = client.Send(Get("/"), GetParam());
    ASSERT_TRUE(res.ok()) << "request " << i << ": " << res.status().ToString();
    bodies.push_back(res->body());
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"1/1", "1/2", "2/1", "2/2", "3/1"}));
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(client.connects(), 3u);
}

TEST_P(KeepAliveClientTest, FailsWhenNothingListens) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens on `port` now
  KeepAliveClient client("127.0.0.1", port);
  auto res = client.Send(Get("/x"), GetParam());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(res.status().message().find("cannot connect"), std::string::npos)
      << res.status().message();
  EXPECT_EQ(client.connects(), 0u);
}

// A long poll: the answer comes when another client asks for it.
TEST(KeepAliveClient, WaitsForALongPollWithoutADeadline) {
  asio::io_context io;
  std::unique_ptr<Event> event;
  auto server = Server::Listen(io, {}, [&](Request& req) -> Task<Response> {
    if (req.target() == "/wait") {
      event = std::make_unique<Event>(co_await asio::this_coro::executor);
      co_await event->Wait();
      co_return MakeResponse(req, bhttp::status::ok, "woken");
    }
    if (event) event->Set();
    co_return MakeResponse(req, bhttp::status::ok, event ? "woke it" : "nobody waits");
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::thread thread([&] { io.run(); });
  const Url url{"127.0.0.1", (*server)->port(), "/wake"};
  std::thread waker([&] {
    for (;;) {  // until the poll has arrived
      auto res = FetchSync(url, Get("/wake"), 5s);
      if (!res.ok() || res->body() == "woke it") return;
    }
  });
  KeepAliveClient client("127.0.0.1", (*server)->port());
  auto res = client.Send(Get("/wait"), KeepAliveClient::kNoTimeout);
  waker.join();
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body(), "woken");
  asio::post(io, [&] { (*server)->Stop(); });
  io.stop();
  thread.join();
}

TEST(KeepAliveClient, ConnectionCloseInTheAnswerEndsTheConnection) {
  asio::io_context io;
  int count = 0;
  auto server = Server::Listen(io, {}, [&](Request& req) -> Task<Response> {
    Response res = MakeResponse(req, bhttp::status::ok, std::to_string(++count));
    res.keep_alive(count != 2);  // the second answer says Connection: close
    co_return res;
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::thread thread([&] { io.run(); });
  KeepAliveClient client("127.0.0.1", (*server)->port());
  for (int i = 1; i <= 3; ++i) {
    auto res = client.Send(Get("/"), 5s);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->body(), std::to_string(i));
  }
  EXPECT_EQ(client.connects(), 2u);
  asio::post(io, [&] { (*server)->Stop(); });
  io.stop();
  thread.join();
}

TEST(KeepAliveClient, TimesOutAndThenStartsAfresh) {
  asio::io_context io;
  std::unique_ptr<Event> never;
  auto server = Server::Listen(io, {}, [&](Request& req) -> Task<Response> {
    if (req.target() == "/hang") {
      never = std::make_unique<Event>(co_await asio::this_coro::executor);
      co_await never->Wait();
    }
    co_return MakeResponse(req, bhttp::status::ok, "fine");
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::thread thread([&] { io.run(); });
  KeepAliveClient client("127.0.0.1", (*server)->port());
  auto hung = client.Send(Get("/hang"), 100ms);
  ASSERT_FALSE(hung.ok());
  EXPECT_NE(hung.status().message().find("timed out"), std::string::npos)
      << hung.status().message();
  auto res = client.Send(Get("/"), 5s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body(), "fine");
  EXPECT_EQ(client.connects(), 2u);
  asio::post(io, [&] {
    if (never) never->Set();
    (*server)->Stop();
  });
  io.stop();
  thread.join();
}

}  // namespace
}  // namespace faultline::http
