// Server: an HTTP/1.1 keep-alive server on one io_context, in coroutines.
//
//   accept --> session (one coroutine per connection) --> read request
//                 ^                                          |
//                 +--- write response <-- co_await handler(req)
//
// The handler is a coroutine, so it may wait as long as it likes (the
// Runtime API's /next is a long poll) without blocking anything else.
// Requests are read whole (bodies up to `body_limit`); a body over the limit
// gets 413 before the handler sees it. A request that `options.streams`
// picks (by its header) goes to `options.stream_handler` instead, with the
// body still on the wire: the handler reads it and writes its answer itself,
// as a stream (response streaming, a proxy passing a body through).
//
// Thread-safety: create, use and destroy on the io_context's thread (or
// before it runs); port() from anywhere.
#ifndef FAULTLINE_HTTP_SERVER_H_
#define FAULTLINE_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "faultline/status.h"
#include "http/asio.h"

namespace faultline::http {

using Handler = std::function<Task<Response>(Request&)>;

// A request taken over by a stream handler: its header is read (in
// `parser.get()`), its body is not. `buffer` holds bytes already read past
// the header; read the rest through `parser` (convert it to the body type
// you want, e.g. bhttp::request_parser<bhttp::buffer_body>{std::move(parser)}).
struct Exchange {
  tcp::socket& socket;
  beast::flat_buffer& buffer;
  bhttp::request_parser<bhttp::empty_body>& parser;
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
};

class Server {
 public:
  // Binds and listens now (so port() is known), accepts once the io_context
  // runs. Fails when the address cannot be bound.
  static Result<std::unique_ptr<Server>> Listen(asio::io_context& io, ServerOptions options,
                                                Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const { return port_; }
  // Stops accepting and closes every open connection. Idempotent.
  void Stop();

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
