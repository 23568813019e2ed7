// Sockets that are close-on-exec from the moment they exist.
//
// Boost.Asio 1.74 opens sockets with ::socket() and accepts with ::accept(),
// without SOCK_CLOEXEC, so a process started meanwhile (a function's
// runtime, an extension) inherits them: it could hold a port open after the
// server is gone, or answer on another function's connection. These open
// the descriptor with SOCK_CLOEXEC (or accept4) and hand it to Asio, so
// there is no window in which another thread's fork/exec can inherit it.
// Every socket of the http and load code goes through them.
//
// Thread-safety: as the socket or acceptor they are given.
#ifndef FAULTLINE_HTTP_SOCKET_H_
#define FAULTLINE_HTTP_SOCKET_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "http/asio.h"

namespace faultline::http {

// A new TCP socket descriptor for `protocol`, close-on-exec; -1 and `ec`
// set on failure. The caller owns it (assign it to an Asio socket). Inline,
// with OpenCloexec, so that the C++ runtime client uses them without linking
// the http library.
inline int NewCloexecSocket(const tcp& protocol, boost::system::error_code& ec) {
  const int fd = ::socket(protocol.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  ec = fd < 0 ? boost::system::error_code(errno, boost::system::system_category())
              : boost::system::error_code();
  return fd;
}

// Opens `socket` (closing it first if open) for `protocol`, close-on-exec.
template <typename Socket>
boost::system::error_code OpenCloexec(Socket& socket, const tcp& protocol) {
  boost::system::error_code ec;
  if (socket.is_open()) socket.close(ec);
  const int fd = NewCloexecSocket(protocol, ec);
  if (fd < 0) return ec;
  socket.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return ec;
}

// Opens, binds and listens on `endpoint` with a close-on-exec, non-blocking
// descriptor (SO_REUSEADDR set).
boost::system::error_code ListenCloexec(tcp::acceptor& acceptor, const tcp::endpoint& endpoint);

// Accepts one waiting connection with accept4(SOCK_CLOEXEC) into `peer`
// (closed), a socket of the acceptor's `protocol`. Fails with would_block
// when none is waiting. REQUIRES: the acceptor is non-blocking
// (ListenCloexec makes it so).
boost::system::error_code AcceptCloexec(tcp::acceptor& acceptor, const tcp& protocol,
                                        tcp::socket& peer);

// The socket under a stream: itself, or a beast::tcp_stream's.
inline tcp::socket& LowestSocket(beast::tcp_stream& s) { return s.socket(); }
template <typename Executor>
asio::basic_stream_socket<tcp, Executor>& LowestSocket(
    asio::basic_stream_socket<tcp, Executor>& s) {
  return s;
}

// Connects `stream` (a socket or a beast::tcp_stream, whose deadline then
// applies) to the first of `endpoints` (tcp::endpoint or resolver entries)
// that accepts, each attempt on a new close-on-exec socket: what
// asio::async_connect does, but without inheritable descriptors. Stops at
// the first timeout or cancellation (the socket closed under it).
template <typename Stream, typename Endpoints>
Task<boost::system::error_code> ConnectCloexec(Stream& stream, const Endpoints& endpoints) {
  boost::system::error_code ec = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    const tcp::endpoint endpoint = entry;
    ec = OpenCloexec(LowestSocket(stream), endpoint.protocol());
    if (ec) continue;
    co_await stream.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        !LowestSocket(stream).is_open()) {
      co_return ec;
    }
  }
  co_return ec;
}

// One endpoint.
template <typename Stream>
Task<boost::system::error_code> ConnectCloexec(Stream& stream, const tcp::endpoint& endpoint) {
  const tcp::endpoint one[] = {endpoint};
  co_return co_await ConnectCloexec(stream, one);
}

// Blocking ConnectCloexec.
template <typename Endpoints>
boost::system::error_code ConnectCloexecSync(tcp::socket& socket, const Endpoints& endpoints) {
  boost::system::error_code ec = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    const tcp::endpoint endpoint = entry;
    ec = OpenCloexec(socket, endpoint.protocol());
    if (!ec) socket.connect(endpoint, ec);
    if (!ec) return ec;
  }
  return ec;
}

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_SOCKET_H_
