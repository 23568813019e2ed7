#include "http/client.h"

#include <fmt/format.h>

#include <charconv>

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
    co_await stream.async_connect(tcp::endpoint(address, url.port),
                                  asio::redirect_error(asio::use_awaitable, ec));
  } else {
    ec = {};
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("cannot resolve the host");
    co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
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

}  // namespace faultline::http
