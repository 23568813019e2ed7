// Server: an HTTP/1.1 keep-alive server on one io_context, in coroutines.
//
//   accept --> session (one coroutine per connection) --> read request
//                 ^                                          |
//                 +--- write response <-- co_await handler(req)
//
// The handler is a coroutine, so it may wait as long as it likes (the
// Runtime API's /next is a long poll) without blocking anything else.
// Requests are read whole (bodies up to `body_limit`); a body over the limit
// gets 413 before the handler sees it, a header over 64 KiB gets 431. A
// request that `options.streams` picks (by its header) goes to
// `options.stream_handler` instead, with the body still on the wire: the
// handler reads it and writes its answer itself, as a stream (response
// streaming, a proxy passing a body through).
//
// Bounded: a connection is closed when it keeps the server waiting for it
// too long (idle between requests, sending its header, sending its body:
// ServerOptions says how long), and at most max_connections are open. These
// apply only while the server reads from the client: never while a handler
// runs (however long) or an answer is written. One timer per server looks
// at every connection's read deadline every tick (a tenth of the smallest
// timeout, at most 1 s), so the hot path arms no timer: a connection is
// closed between its timeout and its timeout plus one tick. Every socket is
// close-on-exec (http/socket.h).
//
// Thread-safety: create, use and destroy on the io_context's thread (or
// before it runs); port() from anywhere.
#ifndef FAULTLINE_HTTP_SERVER_H_
#define FAULTLINE_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "faultline/status.h"
#include "http/asio.h"

namespace faultline::http {

using Handler = std::function<Task<Response>(Request&)>;

namespace internal {
struct Connection;
}  // namespace internal

// A connection's read deadline, for a stream handler that reads the body
// itself: armed, the server closes the connection when no byte arrives for
// ServerOptions::body_timeout, as when it reads a body itself. Disarmed
// when the stream handler starts.
class ReadDeadline {
 public:
  explicit ReadDeadline(internal::Connection* connection) : connection_(connection) {}
  // About to read, or just read something: the client has body_timeout
  // from now to send the next byte. Call it before each read.
  void Reading() const;
  // Not reading from the client (waiting for an upstream, a long poll):
  // no deadline.
  void NotReading() const;

 private:
  internal::Connection* connection_;
};

// A request taken over by a stream handler: its header is read (in
// `parser.get()`), its body is not. `buffer` holds bytes already read past
// the header; read the rest through `parser` (convert it to the body type
// you want, e.g. bhttp::request_parser<bhttp::buffer_body>{std::move(parser)}).
struct Exchange {
  tcp::socket& socket;
  beast::flat_buffer& buffer;
  bhttp::request_parser<bhttp::empty_body>& parser;
  ReadDeadline deadline;  // disarmed: arm it around reads of the body
};
// Reads the body and writes a whole answer on exchange.socket. Returns
// whether the connection may carry another request (false: it is closed).
using StreamHandler = std::function<Task<bool>(Exchange&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  std::uint16_t port = 0;          // 0: any free port (see port())
  std::uint64_t body_limit = 8 * 1024 * 1024;
  // Answer for bodies over body_limit; empty: a plain 413.
  std::function<Response(const Request&)> too_large;
  // Which requests go to stream_handler (both set, or neither).
  std::function<bool(const bhttp::request_header<>&)> streams;
  StreamHandler stream_handler;

  // Bounds on what a client may make the server wait for. Each applies only
  // while the server reads from the client, never while a handler runs or
  // an answer is written. All > 0.
  //
  // A kept-alive connection that sends no new request within this long of
  // its last answer is closed (nginx: 75 s; AWS's load balancers: 60 s).
  // A server whose clients stay quiet on a kept connection while they work
  // (a Runtime API: the runtime posts its response on the connection /next
  // answered, after the function ran, up to 15 min) needs a longer one:
  // AWS's Runtime API closes none.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // A request's header (request line and fields) must be complete within
  // this long of the connection's accept (the first request) or of its
  // first byte (later requests); else the connection is closed.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
  // While the server reads a body: the connection is closed when no byte
  // arrives for this long (lack of progress, not the whole body's time).
  std::chrono::milliseconds body_timeout = std::chrono::seconds(30);
  // Open connections at most (>= 1). A new connection beyond it makes room
  // by closing the connection that has waited longest for a request (idle
  // between requests first, then one still sending its header); when every
  // connection is busy (its body being read, its handler running, its
  // answer being written), the new one gets a 503 and is closed. Running
  // out of descriptors (EMFILE) makes room the same way.
  std::size_t max_connections = 1024;
};

class Server {
 public:
  // Binds and listens now (so port() is known), accepts once the io_context
  // runs. Fails (kUnavailable) when the address cannot be bound, and
  // (kInvalidArgument) on a bad host or a zero timeout or max_connections.
  static Result<std::unique_ptr<Server>> Listen(asio::io_context& io, ServerOptions options,
                                                Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const { return port_; }
  // Connections open now (not yet closed by either side).
  std::size_t connections() const;
  // Stops accepting and closes every open connection. Idempotent.
  void Stop();
  // Stops accepting; closes the connections that wait for a request, and
  // each of the others once its current request is answered (a graceful
  // shutdown: answers in progress are not cut off). Stop() still closes
  // everything. Idempotent.
  void StopAccepting();

  struct State;  // internal

 private:
  Server(std::shared_ptr<State> state, std::uint16_t port)
      : state_(std::move(state)), port_(port) {}
  std::shared_ptr<State> state_;
  std::uint16_t port_;
};

// A response with `status`, `body` and content type, keep-alive as `req`.
Response MakeResponse(const Request& req, bhttp::status status, std::string body,
                      std::string_view content_type = "application/json");

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_SERVER_H_
