// faultline_fixed_delay_server: an HTTP server on 127.0.0.1 that answers
// every request 200 "ok" after a fixed delay (a timer, so any number of
// requests wait at once). bench/load_vs_wrk.sh measures how close a load
// generator's percentiles come to that delay.
//
//   faultline_fixed_delay_server DELAY_MS   -> prints the port, runs until SIGTERM/SIGINT
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "http/asio.h"
#include "http/server.h"

using namespace faultline::http;  // NOLINT(google-build-using-namespace): a small program

int main(int argc, char** argv) {
  if (argc != 2 || std::atoi(argv[1]) < 0) {
    std::fprintf(stderr, "usage: faultline_fixed_delay_server DELAY_MS\n");
    return 2;
  }
  const std::chrono::milliseconds delay(std::atoi(argv[1]));
  asio::io_context io(1);
  auto server = Server::Listen(io, {}, [delay](Request& req) -> Task<Response> {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return MakeResponse(req, bhttp::status::ok, "ok", "text/plain");
  });
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().message().c_str());
    return 1;
  }
  std::printf("%u\n", static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*server)->Stop();
    io.stop();
  });
  io.run();
  return 0;
}
