// Client: send one HTTP/1.1 request and read the answer, with a deadline.
//
// Plain http:// on loopback or any host; https is refused with a clear
// error (faultline talks to local endpoints; AWS calls go through the aws
// module). A new connection per call keeps it simple; callers that need
// keep-alive (the load generator, the runtime client) hold their own stream.
//
// Thread-safety: Fetch runs on the caller's executor; FetchSync on a private
// io_context, so it may be called from any thread.
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

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_CLIENT_H_
