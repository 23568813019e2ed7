#include "http/server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "http/request_parser.h"
#include "http/socket.h"

namespace faultline::http {

using SteadyClock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;
constexpr SteadyClock::time_point kNever = SteadyClock::time_point::max();

namespace internal {

// What the server is doing with a connection, which says which timeout
// applies and whether it may be closed to make room for a new one.
enum class Phase {
  kIdle,    // waiting for the next request's first byte (idle_timeout)
  kHeader,  // reading a request's header (header_timeout)
  kBody,    // reading a body (body_timeout, renewed by each read)
  kLinger,  // discarding what a refused request still sends
  kBusy,    // in a handler, or writing: no deadline
};

struct Connection {
  Connection(tcp::socket s, Nanos body) : socket(std::move(s)), body_timeout(body) {}
  tcp::socket socket;
  Phase phase = Phase::kHeader;
  SteadyClock::time_point deadline = kNever;  // the sweep closes it once past
  SteadyClock::time_point waiting_since;      // when it began to wait for a request
  Nanos body_timeout;
  bool closed = false;
};

}  // namespace internal

using internal::Connection;
using internal::Phase;

struct Server::State {
  State(asio::io_context& io_context, const tcp& proto, ServerOptions opts, Handler h)
      : io(io_context),
        acceptor(io_context),
        protocol(proto),
        options(std::move(opts)),
        handler(std::move(h)),
        sweep(io_context) {}

  asio::io_context& io;
  tcp::acceptor acceptor;
  tcp protocol;
  ServerOptions options;
  Handler handler;
  Nanos idle_timeout{}, header_timeout{}, body_timeout{};
  SteadyClock::duration tick{};                        // how often the sweep looks
  std::list<std::shared_ptr<Connection>> connections;  // open or closing
  std::size_t open = 0;                                // not yet closed
  asio::steady_timer sweep;
  bool sweeping = false;
  bool stopped = false;
  bool draining = false;  // StopAccepting: no new requests, answers finish
};

namespace {

using State = Server::State;

constexpr std::uint64_t kSmallBody = 8 * 1024;
constexpr std::size_t kLargeRead = 64 * 1024;
constexpr std::size_t kHeaderRead = 64 * 1024;
// A refused request's client may still be sending: read and drop up to this
// much, for up to this long, so that it reads the answer, not a reset.
constexpr std::uint64_t kLingerBytes = 64 * 1024 * 1024;
constexpr Nanos kLingerTime = std::chrono::seconds(2);
// Accepts per wake-up, so that a flood of connections cannot starve the
// sessions already open.
constexpr int kAcceptBatch = 32;

auto Redirect(boost::system::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// `now + d`, saturating at kNever (a timeout of years means none).
SteadyClock::time_point After(SteadyClock::time_point now, Nanos d) {
  return d >= kNever - now ? kNever : now + d;
}

Nanos ToNanos(std::chrono::milliseconds ms) {
  constexpr auto kMaxMs = std::chrono::duration_cast<std::chrono::milliseconds>(Nanos::max());
  return ms >= kMaxMs ? Nanos::max() : Nanos(ms);
}

// The connection waits for the client in `phase`, for at most `timeout`.
void Await(Connection& c, Phase phase, Nanos timeout) {
  c.phase = phase;
  c.deadline = After(SteadyClock::now(), timeout);
}

void SetBusy(Connection& c) {
  c.phase = Phase::kBusy;
  c.deadline = kNever;
}

void Close(State& st, Connection& c) {
  if (c.closed) return;
  c.closed = true;
  c.deadline = kNever;
  --st.open;
  boost::system::error_code ignored;
  c.socket.shutdown(tcp::socket::shutdown_both, ignored);
  c.socket.close(ignored);
}

// Every tick while there are connections: close those past their read
// deadline. One timer for all, so that reading arms none.
void Sweep(const std::shared_ptr<State>& st) {
  st->sweep.expires_after(st->tick);
  st->sweep.async_wait([st](const boost::system::error_code& ec) {
    if (ec || st->stopped || st->connections.empty()) {
      st->sweeping = false;
      return;
    }
    const auto now = SteadyClock::now();
    for (auto& c : st->connections) {
      if (c->deadline <= now) Close(*st, *c);
    }
    Sweep(st);
  });
}

// Lower is closed first to make room: a connection being drained, then one
// idle between requests, then one still sending its header; busy ones never.
int EvictionRank(const Connection& c) {
  switch (c.phase) {
    case Phase::kLinger:
      return 0;
    case Phase::kIdle:
      return 1;
    case Phase::kHeader:
      return 2;
    default:
      return 3;
  }
}

// Closes the connection that has waited longest for a request (in
// EvictionRank's order). False when every connection is busy.
bool MakeRoom(State& st) {
  Connection* victim = nullptr;
  for (auto& c : st.connections) {
    const int rank = EvictionRank(*c);
    if (c->closed || rank == 3) continue;
    if (victim == nullptr || rank < EvictionRank(*victim) ||
        (rank == EvictionRank(*victim) && c->waiting_since < victim->waiting_since)) {
      victim = c.get();
    }
  }
  if (victim == nullptr) return false;
  Close(st, *victim);
  return true;
}

// A new connection when every open one is busy: a 503 in one non-blocking
// send (a fresh socket's buffer has room), then closed.
void Refuse(tcp::socket& sock) {
  static const std::string kAnswer = [] {
    const std::string body = "too many connections; try again later\n";
    return fmt::format(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        "Content-Length: {}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{}",
        body.size(), body);
  }();
  (void)::send(sock.native_handle(), kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
}

Response TooLarge(State& st, const Request& req) {
  if (st.options.too_large) return st.options.too_large(req);
  return MakeResponse(req, bhttp::status::payload_too_large, "request body too large\n",
                      "text/plain");
}

Response HeaderTooLarge() {
  Response res(bhttp::status::request_header_fields_too_large, 11);
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = fmt::format("request header over {} bytes\n", kHeaderLimit);
  return res;
}

Task<bool> Write(Connection& c, Response& res) {
  if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
  boost::system::error_code ec;
  co_await bhttp::async_write(c.socket, res, Redirect(ec));
  co_return !ec && !c.closed;
}

// Answers a request the server refuses (413, 431) and ends the connection:
// the answer, then the sending side shut, then what the client still sends
// read and dropped for a while (bounded), so that a client still sending
// its request reads the answer rather than a reset.
Task<void> RefuseAndClose(State& st, Connection& c, Response res) {
  res.keep_alive(false);
  SetBusy(c);
  if (!co_await Write(c, res)) co_return;
  boost::system::error_code ec;
  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  c.phase = Phase::kLinger;
  c.deadline = After(SteadyClock::now(), std::min(kLingerTime, st.body_timeout));
  std::uint64_t dropped = 0;
  std::vector<char> sink(16 * 1024);
  while (!ec && !c.closed && dropped < kLingerBytes) {
    dropped += co_await c.socket.async_read_some(asio::buffer(sink), Redirect(ec));
  }
}

// Waits for the first byte of the next request on a kept-alive connection
// (idle_timeout), then gives its header header_timeout from that byte.
// False when the connection ends first.
Task<bool> AwaitRequest(State& st, Connection& c, beast::flat_buffer& buffer) {
  c.waiting_since = SteadyClock::now();
  if (buffer.size() == 0) {  // (else a pipelined request is already here)
    Await(c, Phase::kIdle, st.idle_timeout);
    boost::system::error_code ec;
    const std::size_t n = co_await c.socket.async_read_some(
        buffer.prepare(beast::read_size(buffer, kHeaderRead)), Redirect(ec));
    if (ec || c.closed) co_return false;
    buffer.commit(n);
  }
  Await(c, Phase::kHeader, st.header_timeout);
  co_return true;
}

// Reads the rest of a body whole, each read with body_timeout to bring
// something.
Task<boost::system::error_code> ReadBody(State& st, Connection& c, beast::flat_buffer& buffer,
                                         BodyParser& parser) {
  boost::system::error_code ec;
  const auto length = parser.content_length();
  // Beast reads at most the buffer's free capacity (at least 512 bytes) at
  // a time: a large body gets room for 64 KiB reads, given back after.
  const bool large = !length || *length > kSmallBody;
  if (large) buffer.reserve(kLargeRead);
  while (!ec && !parser.is_done() && !c.closed) {
    Await(c, Phase::kBody, st.body_timeout);
    co_await bhttp::async_read_some(c.socket, buffer, parser, Redirect(ec));
  }
  if (large) buffer.shrink_to_fit();
  if (!ec && c.closed) ec = asio::error::operation_aborted;
  co_return ec;
}

Task<Response> CallHandler(State& st, Request& req) {
  try {
    co_return co_await st.handler(req);
  } catch (const std::exception&) {
  }
  co_return MakeResponse(req, bhttp::status::internal_server_error,
                         "{\"message\":\"internal error\"}");
}

// A request read whole: its body, the handler, the answer. Returns whether
// the connection may carry another request.
Task<bool> Serve(State& st, Connection& c, beast::flat_buffer& buffer, HeaderParser& head) {
  BodyParser parser(std::move(head));
  boost::system::error_code ec = bhttp::error::body_limit;
  if (ConfigureBodyParser(parser, st.options.body_limit)) {
    ec = co_await ReadBody(st, c, buffer, parser);
  }
  if (ec == bhttp::error::body_limit && !c.closed) {
    co_await RefuseAndClose(st, c, TooLarge(st, parser.get()));
    co_return false;
  }
  if (ec || c.closed) co_return false;  // closed, reset or garbage: nothing to answer
  SetBusy(c);
  Request req = parser.release();
  Response res = co_await CallHandler(st, req);
  const bool written = co_await Write(c, res);
  const bool keep = written && res.keep_alive();
  co_return keep;
}

// A request for the stream handler, which reads its body and answers.
Task<bool> Stream(State& st, Connection& c, beast::flat_buffer& buffer, HeaderParser& head) {
  SetBusy(c);
  Exchange exchange{c.socket, buffer, head, ReadDeadline(&c)};
  try {
    co_return co_await st.options.stream_handler(exchange);
  } catch (const std::exception&) {
  }
  co_return false;  // the answer may be half written: only closing is safe
}

// One connection: requests in, responses out, until either side closes or
// the client keeps the server waiting too long.
Task<void> Session(std::shared_ptr<State> st, std::shared_ptr<Connection> conn) {
  Connection& c = *conn;
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    // The first request's header has header_timeout from the accept (Admit).
    if (!first && !co_await AwaitRequest(*st, c, buffer)) break;
    // The header first: it decides whether the body is read here (whole)
    // or by the stream handler (as it arrives).
    HeaderParser head;
    ConfigureHeaderParser(head);
    boost::system::error_code ec;
    co_await bhttp::async_read_header(c.socket, buffer, head, Redirect(ec));
    if (c.closed) break;
    if (ec == bhttp::error::header_limit) co_await RefuseAndClose(*st, c, HeaderTooLarge());
    if (ec) break;  // closed, reset or garbage: nothing to answer
    const bool streamed = st->options.stream_handler && st->options.streams(head.get());
    const bool keep =
        streamed ? co_await Stream(*st, c, buffer, head) : co_await Serve(*st, c, buffer, head);
    if (!keep || st->stopped || st->draining || c.closed) break;
  }
  Close(*st, c);
}

void Admit(const std::shared_ptr<State>& st, tcp::socket sock) {
  if (st->open >= st->options.max_connections && !MakeRoom(*st)) {
    Refuse(sock);
    return;
  }
  boost::system::error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  auto conn = std::make_shared<Connection>(std::move(sock), st->body_timeout);
  conn->waiting_since = SteadyClock::now();
  conn->deadline = After(conn->waiting_since, st->header_timeout);
  ++st->open;
  auto it = st->connections.insert(st->connections.end(), conn);
  if (!st->sweeping) {
    st->sweeping = true;
    Sweep(st);
  }
  asio::co_spawn(st->io, Session(st, std::move(conn)), [st, it](const std::exception_ptr&) {
    Close(*st, **it);
    st->connections.erase(it);
  });
}

bool OutOfResources(const boost::system::error_code& ec) {
  return ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
         ec.value() == ENOMEM;
}

// Accepts the connections waiting (a batch at most). False when it must
// pause: out of descriptors and no connection to close for room.
bool AcceptWaiting(const std::shared_ptr<State>& st) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    tcp::socket sock(st->io);
    const boost::system::error_code ec = AcceptCloexec(st->acceptor, st->protocol, sock);
    if (ec == asio::error::would_block) return true;
    if (OutOfResources(ec)) {
      if (MakeRoom(*st)) continue;
      return false;
    }
    // Anything else is a connection that died in the backlog (ECONNABORTED
    // and the network errors accept(2) passes on): take the next.
    if (!ec) Admit(st, std::move(sock));
  }
  return true;
}

Task<void> AcceptLoop(std::shared_ptr<State> st) {
  for (;;) {
    boost::system::error_code ec;
    co_await st->acceptor.async_wait(tcp::acceptor::wait_read, Redirect(ec));
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (!ec && AcceptWaiting(st)) continue;
    // Out of descriptors (or the wait failed): pause briefly rather than spin.
    asio::steady_timer pause(st->io, std::chrono::milliseconds(10));
    co_await pause.async_wait(Redirect(ec));
  }
}

Status CheckOptions(const ServerOptions& o) {
  auto positive = [](std::chrono::milliseconds d) { return d.count() > 0; };
  if (!positive(o.idle_timeout) || !positive(o.header_timeout) || !positive(o.body_timeout)) {
    return Status::InvalidArgument(fmt::format(
        "server options: idle_timeout, header_timeout and body_timeout must be positive, got "
        "{} ms, {} ms, {} ms",
        o.idle_timeout.count(), o.header_timeout.count(), o.body_timeout.count()));
  }
  if (o.max_connections == 0) {
    return Status::InvalidArgument("server options: max_connections must be at least 1, got 0");
  }
  return Status::Ok();
}

}  // namespace

void ReadDeadline::Reading() const {
  connection_->phase = Phase::kBody;
  connection_->deadline = After(SteadyClock::now(), connection_->body_timeout);
}

void ReadDeadline::NotReading() const { SetBusy(*connection_); }

Result<std::unique_ptr<Server>> Server::Listen(asio::io_context& io, ServerOptions options,
                                               Handler handler) {
  if (Status st = CheckOptions(options); !st.ok()) return st;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("listen address: expected an IP address, got \"{}\"", options.host));
  }
  const tcp::endpoint endpoint(address, options.port);
  auto st =
      std::make_shared<State>(io, endpoint.protocol(), std::move(options), std::move(handler));
  st->idle_timeout = ToNanos(st->options.idle_timeout);
  st->header_timeout = ToNanos(st->options.header_timeout);
  st->body_timeout = ToNanos(st->options.body_timeout);
  const Nanos shortest = std::min({st->idle_timeout, st->header_timeout, st->body_timeout});
  st->tick =
      std::clamp<Nanos>(shortest / 10, std::chrono::milliseconds(10), std::chrono::seconds(1));
  ec = ListenCloexec(st->acceptor, endpoint);
  if (ec) {
    return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}",
                                           endpoint.address().to_string(), endpoint.port(),
                                           ec.message()));
  }
  const std::uint16_t port = st->acceptor.local_endpoint().port();
  asio::co_spawn(io, AcceptLoop(st), [](const std::exception_ptr&) {});
  return std::unique_ptr<Server>(new Server(std::move(st), port));
}

Server::~Server() { Stop(); }

std::size_t Server::connections() const { return state_->open; }

void Server::StopAccepting() {
  if (state_->stopped || state_->draining) return;
  state_->draining = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto& c : std::vector(state_->connections.begin(), state_->connections.end())) {
    if (c->phase == Phase::kIdle) Close(*state_, *c);
  }
}

void Server::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->sweep.cancel();
  for (auto& c : state_->connections) Close(*state_, *c);
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
