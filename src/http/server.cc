#include "http/server.h"

#include <fmt/format.h>

#include <limits>

namespace faultline::http {

struct Server::State {
  State(asio::io_context& io_context, ServerOptions opts, Handler h)
      : io(io_context), acceptor(io_context), options(std::move(opts)), handler(std::move(h)) {}

  asio::io_context& io;
  tcp::acceptor acceptor;
  ServerOptions options;
  Handler handler;
  std::list<std::shared_ptr<tcp::socket>> connections;
  bool stopped = false;
};

namespace {

using State = Server::State;

constexpr std::uint64_t kSmallBody = 8 * 1024;
constexpr std::size_t kLargeRead = 64 * 1024;

Response TooLarge(State& st, const Request& req) {
  if (st.options.too_large) return st.options.too_large(req);
  Response res =
      MakeResponse(req, bhttp::status::payload_too_large, "request body too large\n", "text/plain");
  res.keep_alive(false);
  return res;
}

// One connection: requests in, responses out, until either side closes.
Task<void> Session(std::shared_ptr<State> st, std::shared_ptr<tcp::socket> sock) {
  beast::flat_buffer buffer;
  for (;;) {
    // The header first: it decides whether the body is read here (whole)
    // or by the stream handler (as it arrives).
    bhttp::request_parser<bhttp::empty_body> head;
    // Not boost::none: Boost 1.74 compares a Content-Length with an empty
    // limit as greater, and fails every request with a body.
    head.body_limit(std::numeric_limits<std::uint64_t>::max());
    head.header_limit(64 * 1024);
    boost::system::error_code ec;
    co_await bhttp::async_read_header(*sock, buffer, head,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // closed, reset or garbage: nothing to answer
    if (st->options.stream_handler && st->options.streams(head.get())) {
      bool keep = false;
      try {
        Exchange exchange{*sock, buffer, head};
        keep = co_await st->options.stream_handler(exchange);
      } catch (const std::exception&) {
        keep = false;  // the answer may be half written: only closing is safe
      }
      if (!keep || st->stopped) break;
      continue;
    }
    bhttp::request_parser<bhttp::string_body> parser(std::move(head));
    parser.body_limit(st->options.body_limit);  // chunked bodies: checked as read
    const auto length = parser.content_length();
    if (length && *length > st->options.body_limit) {
      ec = bhttp::error::body_limit;
    } else if (!parser.is_done()) {
      // Beast reads at most the buffer's free capacity (at least 512 bytes)
      // at a time: a large body gets room for 64 KiB reads, given back after.
      const bool large = !length || *length > kSmallBody;
      if (large) buffer.reserve(kLargeRead);
      co_await bhttp::async_read(*sock, buffer, parser,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (large) buffer.shrink_to_fit();
    }
    Response res;
    if (ec == bhttp::error::body_limit) {
      res = TooLarge(*st, parser.get());
      res.keep_alive(false);  // the rest of the body is still on the wire
    } else if (ec) {
      break;  // closed, reset or garbage: nothing to answer
    } else {
      Request req = parser.release();
      std::string failure;
      try {
        res = co_await st->handler(req);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        res = MakeResponse(req, bhttp::status::internal_server_error,
                           fmt::format("{{\"message\":\"internal error\"}}"));
      }
    }
    if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
    co_await bhttp::async_write(*sock, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive() || st->stopped) break;
  }
  boost::system::error_code ignored;
  sock->shutdown(tcp::socket::shutdown_both, ignored);
  sock->close(ignored);
}

Task<void> AcceptLoop(std::shared_ptr<State> st) {
  for (;;) {
    auto sock = std::make_shared<tcp::socket>(st->io);
    boost::system::error_code ec;
    co_await st->acceptor.async_accept(*sock, asio::redirect_error(asio::use_awaitable, ec));
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or a connection that died in the backlog: pause
      // briefly rather than spin.
      asio::steady_timer pause(st->io, std::chrono::milliseconds(10));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    sock->set_option(tcp::no_delay(true), ec);
    auto it = st->connections.insert(st->connections.end(), sock);
    asio::co_spawn(st->io, Session(st, sock),
                   [st, it](std::exception_ptr) { st->connections.erase(it); });
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Listen(asio::io_context& io, ServerOptions options,
                                               Handler handler) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("listen address: expected an IP address, got \"{}\"", options.host));
  }
  const tcp::endpoint endpoint(address, options.port);
  auto st = std::make_shared<State>(io, std::move(options), std::move(handler));
  st->acceptor.open(endpoint.protocol(), ec);
  if (!ec) st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(endpoint, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}",
                                           endpoint.address().to_string(), endpoint.port(),
                                           ec.message()));
  }
  const std::uint16_t port = st->acceptor.local_endpoint().port();
  asio::co_spawn(io, AcceptLoop(st), [](std::exception_ptr) {});
  return std::unique_ptr<Server>(new Server(std::move(st), port));
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto& sock : state_->connections) {
    sock->shutdown(tcp::socket::shutdown_both, ignored);
    sock->close(ignored);
  }
}

Response MakeResponse(const Request& req, bhttp::status status, std::string body,
                      std::string_view content_type) {
  Response res(status, req.version());
  if (!content_type.empty())
    res.set(bhttp::field::content_type,
            beast::string_view(content_type.data(), content_type.size()));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace faultline::http
