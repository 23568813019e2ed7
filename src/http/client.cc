#include "http/client.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <optional>

#include "http/socket.h"

namespace faultline::http {

Result<Url> ParseUrl(std::string_view url) {
  auto fail = [&](std::string_view what) {
    return Status::InvalidArgument(fmt::format("URL \"{}\": {}", url, what));
  };
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return fail("https is not supported (faultline talks plain http to local endpoints)");
  }
  if (!rest.starts_with("http://")) return fail("expected http://HOST[:PORT][/PATH]");
  rest.remove_prefix(7);
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host = authority;
  if (authority.starts_with('[')) {  // [::1]:8080
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (host.empty()) return fail("no host");
  out.host = std::string(host);
  if (!authority.empty()) {
    if (authority[0] != ':') return fail("expected :PORT after the host");
    std::string_view port = authority.substr(1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(fmt::format("port: expected 1..65535, got \"{}\"", port));
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

Task<Result<Response>> Fetch(const Url& url, Request req, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  boost::system::error_code ec;
  auto fail = [&](std::string_view stage) {
    return Status::Unavailable(
        fmt::format("http://{}:{}{}: {}: {}", url.host, url.port, std::string(req.target()), stage,
                    ec == beast::error::timeout ? std::string("timed out") : ec.message()));
  };
  // An IP address needs no resolver (which would start a thread per call).
  const asio::ip::address address = asio::ip::make_address(url.host, ec);
  if (!ec) {
    ec = co_await ConnectCloexec(stream, tcp::endpoint(address, url.port));
  } else {
    ec = {};
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("cannot resolve the host");
    ec = co_await ConnectCloexec(stream, endpoints);
  }
  if (ec) co_return fail("cannot connect");
  stream.socket().set_option(tcp::no_delay(true), ec);
  ec = {};
  if (req.target().empty()) req.target(url.target);
  if (req.find(bhttp::field::host) == req.end()) {
    req.set(bhttp::field::host, fmt::format("{}:{}", url.host, url.port));
  }
  req.prepare_payload();
  co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail("cannot send the request");
  beast::flat_buffer buffer;
  // Beast reads at most the buffer's free capacity (at least 512 bytes) at a
  // time: room for 64 KiB reads, not 512-byte ones, for large bodies.
  buffer.reserve(64 * 1024);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail("no valid response");
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  co_return parser.release();
}

Result<Response> FetchSync(const Url& url, Request req, std::chrono::milliseconds timeout) {
  asio::io_context io;
  std::optional<Result<Response>> out;
  auto run = [&]() -> Task<void> { out.emplace(co_await Fetch(url, std::move(req), timeout)); };
  asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    if (e) out.emplace(Status::Internal("http client failed unexpectedly"));
  });
  io.run();
  if (!out) return Status::Internal("http client did not finish");
  return std::move(*out);
}

namespace {

// Whether a kept connection is still usable: the server has neither closed
// it nor sent anything unasked (a peek that does not wait).
bool StillOpen(tcp::socket& s) {
  char c = 0;
  const ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Requests that may be sent twice (RFC 9110 9.2.2) when a kept connection
// fails before any answer.
bool Idempotent(bhttp::verb v) {
  return v == bhttp::verb::get || v == bhttp::verb::head || v == bhttp::verb::put ||
         v == bhttp::verb::delete_ || v == bhttp::verb::options;
}

// Room for reads of this size at a time: an answer of a few KiB in one read,
// large bodies without thousands of small reads.
constexpr std::size_t kReadRoom = 16 * 1024;

}  // namespace

struct KeepAliveClient::Outcome {
  boost::system::error_code ec;
  std::string_view stage;  // what failed, for the message
  bool got_some = false;   // some of an answer was read
  bool timed_out = false;
  std::optional<Response> res;
};

KeepAliveClient::KeepAliveClient(std::string host, std::uint16_t port)
    : host_(std::move(host)), port_(port), socket_(io_) {}

KeepAliveClient::~KeepAliveClient() { Close(); }

void KeepAliveClient::Close() {
  boost::system::error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  buffer_.clear();
}

Task<void> KeepAliveClient::Exchange(const Request& req, Outcome& out) {
  boost::system::error_code& ec = out.ec;
  if (!socket_.is_open()) {
    out.stage = "cannot connect";
    // An IP address needs no resolver (which would start a thread).
    const asio::ip::address address = asio::ip::make_address(host_, ec);
    if (!ec) {
      ec = co_await ConnectCloexec(socket_, tcp::endpoint(address, port_));
    } else {
      ec = {};
      tcp::resolver resolver(io_);
      auto endpoints = co_await resolver.async_resolve(
          host_, std::to_string(port_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        out.stage = "cannot resolve the host";
        co_return;
      }
      if (out.timed_out) co_return;
      ec = co_await ConnectCloexec(socket_, endpoints);
    }
    if (ec) co_return;
    Connected();
  }
  out.stage = "cannot send the request";
  co_await bhttp::async_write(socket_, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  out.stage = "no valid response";
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await bhttp::async_read(socket_, buffer_, parser,
                             asio::redirect_error(asio::use_awaitable, ec));
  out.got_some = parser.got_some();
  if (ec) co_return;
  out.res.emplace(parser.release());
}

void KeepAliveClient::Connected() {
  ++connects_;
  boost::system::error_code ignored;  // NODELAY is an optimisation
  socket_.set_option(tcp::no_delay(true), ignored);
  buffer_.clear();
  buffer_.reserve(kReadRoom);
}

KeepAliveClient::Outcome KeepAliveClient::RunOnce(const Request& req,
                                                  std::chrono::milliseconds timeout) {
  Outcome out;
  io_.restart();
  // One timer per exchange (none for a long poll), not one per read and
  // write: on expiry it closes the socket, which ends whatever is pending.
  asio::steady_timer timer(io_);
  if (timeout != kNoTimeout) {
    timer.expires_after(timeout);
    timer.async_wait([this, &out](boost::system::error_code ec) {
      if (ec) return;
      out.timed_out = true;
      boost::system::error_code ignored;
      socket_.close(ignored);
    });
  }
  asio::co_spawn(io_, Exchange(req, out), [&out, &timer](std::exception_ptr e) {
    if (e && !out.ec) {
      out.ec = asio::error::fault;
      out.stage = "failed unexpectedly";
    }
    timer.cancel();
  });
  io_.run();
  return out;
}

// Without a deadline nothing needs the reactor: a blocking write and a
// blocking read wake this thread once per answer (through the io_context
// it takes an extra non-blocking read and several epoll_waits).
KeepAliveClient::Outcome KeepAliveClient::RunBlocking(const Request& req) {
  Outcome out;
  boost::system::error_code& ec = out.ec;
  if (!socket_.is_open()) {
    out.stage = "cannot connect";
    const asio::ip::address address = asio::ip::make_address(host_, ec);
    if (!ec) {
      const tcp::endpoint endpoint(address, port_);
      ec = ConnectCloexecSync(socket_, std::array<tcp::endpoint, 1>{endpoint});
    } else {
      ec = {};
      tcp::resolver resolver(io_);
      auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
      if (ec) {
        out.stage = "cannot resolve the host";
        return out;
      }
      ec = ConnectCloexecSync(socket_, endpoints);
    }
    if (ec) return out;
    Connected();
  }
  out.stage = "cannot send the request";
  bhttp::write(socket_, req, ec);
  if (ec) return out;
  out.stage = "no valid response";
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(socket_, buffer_, parser, ec);
  out.got_some = parser.got_some();
  if (!ec) out.res.emplace(parser.release());
  return out;
}

Result<Response> KeepAliveClient::Send(Request req, std::chrono::milliseconds timeout) {
  if (req.find(bhttp::field::host) == req.end()) {
    req.set(bhttp::field::host, fmt::format("{}:{}", host_, port_));
  }
  req.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    if (socket_.is_open() && !StillOpen(socket_)) Close();
    const bool reused = socket_.is_open();
    Outcome out = timeout == kNoTimeout ? RunBlocking(req) : RunOnce(req, timeout);
    if (out.res) {  // (a timer that fired just after the answer closed the socket only)
      if (!out.res->keep_alive() || !socket_.is_open()) Close();
      return std::move(*out.res);
    }
    Close();
    if (reused && !out.got_some && !out.timed_out && attempt == 0 && Idempotent(req.method())) {
      continue;  // closed by the server between the peek and the request
    }
    return Status::Unavailable(
        fmt::format("http://{}:{}{}: {}: {}", host_, port_, std::string(req.target()), out.stage,
                    out.timed_out ? std::string("timed out") : out.ec.message()));
  }
}

}  // namespace faultline::http
