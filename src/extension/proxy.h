// Proxy: the runtime API proxy. The function's runtime talks to it as if it
// were the Lambda Runtime API; it forwards every request to the real one and,
// when a rule is armed, delays, fails or rewrites invocations.
//
//   runtime --GET /next--> Proxy --pooled keep-alive--> Runtime API
//                            |  event back: Decide(function, EventTags(event))
//                            |  before: wait; error/status -> POST upstream for
//                            |          that id, poll /next again (the runtime
//                            |          never sees the event)
//   runtime --POST /{id}/response--> after: wait; replace or fail -> upstream
//
// With no rule armed it forwards every request and answer unchanged (status,
// header fields in order, body bytes), several /next polls at once, bodies
// of any size; responses in streaming mode and chunked bodies go through as
// a stream, trailers included. /next answers and request bodies over 4 KiB
// that no rule needs whole are relayed as they arrive (large reads, one
// reused buffer), not stored first. Fail open: an internal error while deciding
// or building a fault passes the exchange through unchanged (and logs).
//
// Thread-safety: create, use and destroy on the io_context's thread (which
// must be a single thread); port() from anywhere.
#ifndef FAULTLINE_EXTENSION_PROXY_H_
#define FAULTLINE_EXTENSION_PROXY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "faultline/engine.h"
#include "faultline/status.h"
#include "http/asio.h"

namespace faultline::extension {

// Injections carried out, per action (latency counts invocations delayed).
struct ActionCounts {
  std::atomic<std::uint64_t> latency{0}, error{0}, status{0}, body{0}, timeout{0};
};

struct ProxyOptions {
  std::string host = "127.0.0.1";  // listen address (loopback)
  std::uint16_t port = 9100;       // 0: any free port (see Proxy::port())
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 9001;
  Engine* engine = nullptr;  // not owned; nullptr: pass everything through
  std::string function;      // the point name rules' `target` matches
  // Told of each injection (action, rule) once carried out; on the proxy's
  // thread. Empty: nothing.
  std::function<void(Action action, std::string_view rule)> on_injection;
  // Told of internal errors (fail-open events); on the proxy's thread.
  std::function<void(std::string_view line)> log;
  ActionCounts* counts = nullptr;  // not owned; nullptr: not counted
};

class Proxy {
 public:
  // Listens now; serves once the io_context runs.
  static Result<std::unique_ptr<Proxy>> Start(http::asio::io_context& io, ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  std::uint16_t port() const { return port_; }
  // Stops accepting, closes connections. Idempotent.
  void Stop();

  struct State;  // internal

 private:
  Proxy(std::shared_ptr<State> state, std::uint16_t port) : state_(std::move(state)), port_(port) {}
  std::shared_ptr<State> state_;
  std::uint16_t port_;
};

}  // namespace faultline::extension

#endif  // FAULTLINE_EXTENSION_PROXY_H_
