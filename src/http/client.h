// Client: send one HTTP/1.1 request and read the answer, with a deadline.
//
// Plain http:// on loopback or any host; https is refused with a clear
// error (faultline talks to local endpoints; AWS calls go through the aws
// module). Fetch opens a new connection per call, which keeps it simple;
// KeepAliveClient keeps one for a caller that asks the same server often
// (the load generator and the runtime client hold their own streams).
//
// Thread-safety: Fetch runs on the caller's executor; FetchSync on a private
// io_context, so it may be called from any thread; KeepAliveClient: see there.
#ifndef FAULTLINE_HTTP_CLIENT_H_
#define FAULTLINE_HTTP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "faultline/status.h"
#include "http/asio.h"

namespace faultline::http {

struct Url {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
};

// "http://127.0.0.1:9001/path?q" -> {host, port, target}. Errors name the
// URL and what is wrong with it (https, no host, bad port).
Result<Url> ParseUrl(std::string_view url);

// Connects to url.host:url.port, sends `req` (its target, Host and
// Content-Length are filled in), reads the response. Fails with
// kUnavailable when the peer cannot be reached or answers garbage, and when
// `timeout` passes first.
Task<Result<Response>> Fetch(const Url& url, Request req, std::chrono::milliseconds timeout);

// Fetch, blocking.
Result<Response> FetchSync(const Url& url, Request req, std::chrono::milliseconds timeout);

// KeepAliveClient: blocking requests to one server over one kept-alive
// connection, for a caller that asks the same server again and again (the
// extension's event/next loop): no new connection, io_context or resolver
// per request.
//
//   Send --(no connection)--> connect --> write --> read --(keep-alive)--> kept
//                                                     \--(failure, close)--> closed
//
// Thread-safety: one thread at a time (it owns a private io_context).
class KeepAliveClient {
 public:
  // No deadline: a long poll that may wait as long as the server likes. Such
  // a Send blocks in the kernel, not in an io_context (a signal caught
  // without SA_RESTART ends it with an error).
  static constexpr std::chrono::milliseconds kNoTimeout = std::chrono::milliseconds::max();

  // Connects lazily, on the first Send.
  KeepAliveClient(std::string host, std::uint16_t port);
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // Sends `req` (its Host and Content-Length filled in when missing) and
  // reads the answer, on the kept connection or, when there is none, a new
  // one. A kept connection the server has closed meanwhile is replaced
  // (looked at before sending; a GET, HEAD, PUT, DELETE or OPTIONS that it
  // fails before any answer is sent once more, on a new one). `timeout`
  // bounds the whole exchange (kNoTimeout: none). Fails with kUnavailable
  // when the server cannot be reached, answers garbage or is too slow; the
  // connection is closed then (and when the answer does not keep it alive),
  // so the next Send starts afresh.
  Result<Response> Send(Request req, std::chrono::milliseconds timeout);
  // Closes the kept connection, if any.
  void Close();
  // Connections opened so far.
  std::uint64_t connects() const { return connects_; }

 private:
  struct Outcome;
  Task<void> Exchange(const Request& req, Outcome& out);
  Outcome RunOnce(const Request& req, std::chrono::milliseconds timeout);
  Outcome RunBlocking(const Request& req);
  // A new connection is up: count it, set NODELAY, start with an empty buffer.
  void Connected();

  std::string host_;
  std::uint16_t port_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::uint64_t connects_ = 0;
};

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_CLIENT_H_
