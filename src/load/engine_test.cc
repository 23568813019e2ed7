// The engine against real servers on 127.0.0.1 (port 0): a well-behaved one
// with a fixed delay, and misbehaving ones (closes, answers garbage, never
// answers, refuses). Counts are asserted exactly where the run is
// deterministic; timing only by generous lower bounds.
#include "load/engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "http/asio.h"
#include "http/server.h"

namespace faultline::load {
namespace {

using namespace std::chrono_literals;
namespace asio = http::asio;
using http::tcp;

std::uint64_t Errors(const Tally& t, ErrorKind kind) {
  return t.errors[static_cast<std::size_t>(kind)];
}

// Servers on one io_context on a thread of their own.
class EngineTest : public ::testing::Test {
 protected:
  void TearDown() override {
    asio::post(io_, [this] {
      if (server_) server_->Stop();
      if (acceptor_) acceptor_->close();
    });
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // An HTTP server answering 200 "hello" after `delay` (a timer, not a sleep).
  std::string StartHttp(std::chrono::milliseconds delay, bool keep_alive = true,
                        unsigned status = 200) {
    auto s = http::Server::Listen(
        io_, {},
        [this, delay, keep_alive, status](http::Request& req) -> http::Task<http::Response> {
          {
            std::lock_guard<std::mutex> lock(served_mu_);
            ++served_;
          }
          served_cv_.notify_all();
          if (delay.count() > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor, delay);
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          http::Response res = http::MakeResponse(req, static_cast<http::bhttp::status>(status),
                                                  "hello", "text/plain");
          if (!keep_alive) res.keep_alive(false);
          co_return res;
        });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    RunServers();
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/path?q=1";
  }

  // A TCP server that reads a request header, writes `reply` and closes.
  std::string StartRaw(std::string reply) {
    acceptor_.emplace(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor_->local_endpoint().port();
    asio::co_spawn(io_, Accept(std::move(reply)), asio::detached);
    RunServers();
    return "http://127.0.0.1:" + std::to_string(port) + "/";
  }

  http::Task<void> Accept(std::string reply) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock =
          co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io_, Answer(std::move(sock), reply), asio::detached);
    }
  }

  http::Task<void> Answer(tcp::socket sock, std::string reply) {
    boost::system::error_code ec;
    std::string in;
    const std::size_t head = co_await asio::async_read_until(
        sock, asio::dynamic_buffer(in), "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
    // The body, by its Content-Length (the only framing faultline load sends).
    const std::size_t at = in.find("Content-Length: ");
    if (!ec && at != std::string::npos && at < head) {
      const std::size_t length = std::stoul(in.substr(at + 16));
      if (in.size() < head + length) {
        co_await asio::async_read(sock, asio::dynamic_buffer(in),
                                  asio::transfer_exactly(head + length - in.size()),
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (!ec) {  // (not the engine's reachability check, which sends nothing)
      std::lock_guard<std::mutex> lock(mu_);
      raw_requests_.push_back(in);
    }
    if (!reply.empty()) {
      co_await asio::async_write(sock, asio::buffer(reply),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }

  // A port nothing listens on.
  static std::string RefusedUrl() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = a.local_endpoint().port();
    a.close();
    return "http://127.0.0.1:" + std::to_string(port) + "/";
  }

  // Waits until the HTTP server has had `n` requests; false after 30 s.
  bool WaitServed(int n) {
    std::unique_lock<std::mutex> lock(served_mu_);
    return served_cv_.wait_for(lock, 30s, [&] { return served_.load() >= n; });
  }

  void RunServers() {
    if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::unique_ptr<http::Server> server_;
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> raw_requests_;  // what the raw server read, whole
  std::mutex served_mu_;
  std::condition_variable served_cv_;
  std::atomic<int> served_{0};
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(EngineTest, CountsEveryRequestOfACountedRun) {
  const std::string url = StartHttp(0ms);
  auto r = load::Run(LoadOptions{.url = url, .connections = 4, .requests = 50, .threads = 2});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Tally& t = r->tally;
  EXPECT_EQ(t.responses, 50u);
  EXPECT_EQ(t.statuses[200], 50u);
  EXPECT_EQ(t.error_count(), 0u);
  EXPECT_EQ(t.latency.count(), 50u);
  EXPECT_EQ(t.unfinished, 0u);
  EXPECT_EQ(served_.load(), 50);
  EXPECT_GT(t.bytes_read, 50u * 5);  // headers and "hello"
  EXPECT_GT(t.bytes_written, 0u);
  EXPECT_EQ(t.bytes_written % 50, 0u);  // the same request 50 times
  EXPECT_EQ(r->threads, 2);
  EXPECT_EQ(r->requests_limit, 50u);
  std::uint64_t in_series = 0;
  for (const SecondStats& s : r->series) in_series += s.responses;
  EXPECT_EQ(in_series, 50u);
}

TEST_F(EngineTest, SendsTheMethodHeadersAndBody) {
  const std::string url =
      StartRaw("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  auto r = load::Run(LoadOptions{.url = url + "path?q=1",
                                 .requests = 3,
                                 .method = "PUT",
                                 .headers = {{"X-Test", "1"}, {"User-Agent", "mine"}},
                                 .body = "payload",
                                 .content_type = "text/plain"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The raw server closes after each answer: three connections.
  EXPECT_EQ(r->tally.responses, 3u) << ToJson(*r).dump();
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(raw_requests_.size(), 3u);
  const std::string& req = raw_requests_[2];
  EXPECT_TRUE(req.starts_with("PUT /path?q=1 HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nX-Test: 1\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: mine\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("faultline-load"), std::string::npos) << req;  // replaced, not doubled
  EXPECT_NE(req.find("\r\nContent-Type: text/plain\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nContent-Length: 7\r\n"), std::string::npos) << req;
  EXPECT_TRUE(req.ends_with("\r\n\r\npayload")) << req;
}

TEST_F(EngineTest, ATimedRunEndsAndFillsTheSeries) {
  const std::string url = StartHttp(5ms);
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .duration = 300ms});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->tally.responses, 0u);
  EXPECT_EQ(r->tally.error_count(), 0u);
  EXPECT_GE(r->elapsed_s, 0.3);
  EXPECT_LT(r->elapsed_s, 5.0);
  ASSERT_FALSE(r->series.empty());
  EXPECT_EQ(r->series[0].second, 0);
  // The fixed delay shows in every latency.
  EXPECT_GE(r->tally.latency.min_us(), 5000);
}

TEST_F(EngineTest, ConnectionCloseAnswersReconnect) {
  const std::string url = StartHttp(0ms, /*keep_alive=*/false);
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 20});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.responses, 20u);
  EXPECT_EQ(r->tally.error_count(), 0u);
}

TEST_F(EngineTest, HttpErrorsAreCountedByStatus) {
  const std::string url = StartHttp(0ms, true, 503);
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 10});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.statuses[503], 10u);
  EXPECT_EQ(r->tally.http_error_count(), 10u);
  EXPECT_EQ(r->tally.error_count(), 0u);
  EXPECT_EQ(ToJson(*r)["requests"]["failed"], 10);
}

TEST_F(EngineTest, AServerThatClosesIsCountedAsClosed) {
  const std::string url = StartRaw("");
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 10});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Errors(r->tally, ErrorKind::kClosed), 10u);
  EXPECT_EQ(r->tally.error_count(), 10u);
  EXPECT_EQ(r->tally.responses, 0u);
}

TEST_F(EngineTest, GarbageIsCountedAsABadResponse) {
  const std::string url = StartRaw("SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n");
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 10});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Errors(r->tally, ErrorKind::kBadResponse), 10u);
  EXPECT_EQ(r->tally.responses, 0u);
}

TEST_F(EngineTest, ASlowServerTimesOut) {
  const std::string url = StartHttp(5000ms);
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 4, .timeout = 100ms});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Errors(r->tally, ErrorKind::kTimeout), 4u);
  EXPECT_EQ(r->tally.responses, 0u);
}

// A server that never answers must not hold a timed run past its duration.
TEST_F(EngineTest, ATimedRunEndsEvenIfTheServerStalls) {
  const std::string url = StartHttp(30000ms);
  auto r = load::Run(LoadOptions{.url = url, .connections = 3, .duration = 200ms, .timeout = 60s});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.responses, 0u);
  EXPECT_EQ(r->tally.unfinished, 3u);
  EXPECT_LT(r->elapsed_s, 10.0);
}

TEST_F(EngineTest, ARefusedPortIsCountedWhenNotChecked) {
  auto r = load::Run(
      LoadOptions{.url = RefusedUrl(), .connections = 2, .requests = 10, .check_reachable = false});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Errors(r->tally, ErrorKind::kConnectRefused), 10u);
  EXPECT_EQ(r->tally.responses, 0u);
}

TEST_F(EngineTest, ARefusedPortFailsTheCheck) {
  const std::string url = RefusedUrl();
  auto r = load::Run(LoadOptions{.url = url, .requests = 10});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect to 127.0.0.1:"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("refused"), std::string::npos) << r.status().message();
}

// Open loop at 100 req/s on one connection against a server that takes
// 40 ms: requests fall further behind their schedule, and the latency,
// measured from when each was due, shows it. Closed loop hides it.
TEST_F(EngineTest, AnOpenLoopRunCorrectsCoordinatedOmission) {
  const std::string url = StartHttp(40ms);
  auto open = load::Run(LoadOptions{.url = url, .requests = 15, .rate = 100});
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->tally.responses, 15u);
  // The 15th was due at 140 ms and answered at about 600 ms.
  EXPECT_GE(open->tally.latency.max_us(), 200'000);
  EXPECT_TRUE(ToJson(*open)["coordinated_omission_corrected"].get<bool>());

  auto closed = load::Run(LoadOptions{.url = url, .requests = 15});
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_GE(closed->tally.latency.min_us(), 40'000);
  EXPECT_LT(closed->tally.latency.ValueAtPercentileUs(50), 200'000);
}

TEST_F(EngineTest, AnOpenLoopRunKeepsItsRateWhenTheServerIsFast) {
  const std::string url = StartHttp(0ms);
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 20, .rate = 200});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.responses, 20u);
  // The 20th request is due at 95 ms: the run cannot be shorter.
  EXPECT_GE(r->elapsed_s, 0.095);
}

TEST_F(EngineTest, HeadAnswersHaveNoBody) {
  // A HEAD answer's Content-Length describes the body a GET would get.
  const std::string url =
      StartRaw("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\n");
  auto r = load::Run(LoadOptions{.url = url, .requests = 3, .method = "HEAD"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.responses, 3u) << ToJson(*r).dump();
  EXPECT_EQ(r->tally.error_count(), 0u);
}

TEST_F(EngineTest, ReadsChunkedBodies) {
  const std::string chunked = StartRaw(
      "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  auto r = load::Run(LoadOptions{.url = chunked, .connections = 2, .requests = 4});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.statuses[200], 4u) << ToJson(*r).dump();
  EXPECT_EQ(r->tally.error_count(), 0u);
}

TEST_F(EngineTest, ReadsABodyThatEndsWithTheConnection) {
  const std::string url = StartRaw("HTTP/1.0 202 Accepted\r\n\r\nuntil the end");
  auto r = load::Run(LoadOptions{.url = url, .connections = 2, .requests = 4});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.statuses[202], 4u) << ToJson(*r).dump();
  EXPECT_EQ(r->tally.error_count(), 0u);
}

// Start + Stop: a 60 s run against a server that never answers, stopped
// once all three connections have a request in flight.
TEST_F(EngineTest, StopEndsARunPromptlyAndCountsInFlightAsUnfinished) {
  const std::string url = StartHttp(30000ms);
  auto run = load::Start(LoadOptions{.url = url, .connections = 3, .duration = 60s});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(WaitServed(3));
  EXPECT_FALSE((*run)->finished());
  const auto before = std::chrono::steady_clock::now();
  (*run)->Stop();
  EXPECT_LT(SecondsSince(before), 5.0);  // not the 60 s, nor the 30 s stall
  EXPECT_TRUE((*run)->finished());
  const Result<LoadResult>& r = (*run)->Wait();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.responses, 0u);
  EXPECT_EQ(r->tally.error_count(), 0u);
  EXPECT_EQ(r->tally.unfinished, 3u);
  EXPECT_LT(r->elapsed_s, 30.0);
  EXPECT_EQ(r->duration_limit_s, 60.0);
}

std::set<int> OpenDescriptors() {
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    fds.insert(std::stoi(entry.path().filename().string()));
  }
  return fds;
}

// Every descriptor a run (and the server it loads) opens is close-on-exec:
// the engine's sockets are its own, not Asio's.
TEST_F(EngineTest, EveryDescriptorOfARunIsCloseOnExec) {
  const std::set<int> before = OpenDescriptors();
  const std::string url = StartHttp(0ms);
  auto run = load::Start(LoadOptions{.url = url, .connections = 3, .duration = 60s});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(WaitServed(30));
  int sockets = 0;
  for (int fd : OpenDescriptors()) {
    const int flags = before.count(fd) != 0 ? -1 : ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // open before, or closed meanwhile
    std::error_code ec;
    const std::string what =
        std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).string();
    EXPECT_NE(flags & FD_CLOEXEC, 0) << "descriptor " << fd << " (" << what << ")";
    if (what.starts_with("socket:")) ++sockets;
  }
  EXPECT_GE(sockets, 7);  // the server's listening socket, 3 connections, both ends
  (*run)->Stop();
}

// The responses before Stop are in the result, and progress() saw them.
TEST_F(EngineTest, StopKeepsTheResponsesSoFar) {
  const std::string url = StartHttp(0ms);
  auto run = load::Start(LoadOptions{.url = url, .connections = 2, .duration = 60s});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(WaitServed(50));
  (*run)->Stop();
  const Result<LoadResult>& r = (*run)->Wait();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Tally& t = r->tally;
  // Every request the server answered was counted, or was in flight.
  EXPECT_GE(t.responses + t.unfinished, 50u);
  EXPECT_LE(t.responses, static_cast<std::uint64_t>(served_.load()));
  EXPECT_LE(t.unfinished, 2u);
  EXPECT_EQ(t.error_count(), 0u);
  EXPECT_EQ((*run)->progress().responses, t.responses);
  EXPECT_EQ((*run)->progress().errors, 0u);
  std::uint64_t in_series = 0;
  for (const SecondStats& s : r->series) in_series += s.responses;
  EXPECT_EQ(in_series, t.responses);
}

TEST_F(EngineTest, StopTwiceAndAfterTheEndDoNothing) {
  const std::string url = StartHttp(0ms);
  auto run = load::Start(LoadOptions{.url = url, .connections = 2, .requests = 20});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const Result<LoadResult>& r = (*run)->Wait();  // the natural end
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tally.responses, 20u);
  (*run)->Stop();
  (*run)->Stop();
  EXPECT_TRUE((*run)->finished());
  EXPECT_EQ((*run)->Wait()->tally.responses, 20u);
  EXPECT_EQ((*run)->Wait()->tally.unfinished, 0u);
  EXPECT_EQ((*run)->progress().responses, 20u);

  auto stopped = load::Start(LoadOptions{.url = url, .duration = 60s});
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  (*stopped)->Stop();
  (*stopped)->Stop();
  EXPECT_TRUE((*stopped)->Wait().ok());
}

// Destroying a running LoadRun stops it and joins its threads.
TEST_F(EngineTest, DestroyingARunningRunStopsIt) {
  const std::string url = StartHttp(30000ms);
  auto run = load::Start(LoadOptions{.url = url, .connections = 2, .duration = 60s});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(WaitServed(2));
  const auto before = std::chrono::steady_clock::now();
  run->reset();
  EXPECT_LT(SecondsSince(before), 5.0);
}

TEST_F(EngineTest, StartFailsAsRunDoes) {
  auto bad = load::Start(LoadOptions{.url = "https://example.com/"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  auto refused = load::Start(LoadOptions{.url = RefusedUrl(), .requests = 1});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
}

TEST(EngineValidateTest, RefusesBadOptions) {
  EXPECT_EQ(Validate({.url = "https://example.com/"}).code(), Status::Code::kInvalidArgument);
  EXPECT_NE(Validate({.url = "https://example.com/"}).message().find("https is not supported"),
            std::string::npos);
  EXPECT_FALSE(Validate({.url = "ftp://x/"}).ok());
  EXPECT_FALSE(Validate({.url = "http://127.0.0.1/", .connections = 0}).ok());
  EXPECT_FALSE(Validate({.url = "http://127.0.0.1/", .duration = 0s}).ok());
  EXPECT_FALSE(Validate({.url = "http://127.0.0.1/", .rate = -1}).ok());
  EXPECT_FALSE(Validate({.url = "http://127.0.0.1/", .method = "GE T"}).ok());
  EXPECT_FALSE(Validate({.url = "http://127.0.0.1/", .headers = {{"X", "a\r\nb"}}}).ok());
  EXPECT_FALSE(Validate({.url = "http://127.0.0.1/", .timeout = 0s}).ok());
  EXPECT_TRUE(Validate({.url = "http://127.0.0.1/"}).ok());
  EXPECT_FALSE(load::Run({.url = "https://example.com/"}).ok());
}

}  // namespace
}  // namespace faultline::load
