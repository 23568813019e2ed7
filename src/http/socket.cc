#include "http/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

namespace faultline::http {

namespace {

boost::system::error_code LastError() {
  return boost::system::error_code(errno, boost::system::system_category());
}

}  // namespace

boost::system::error_code ListenCloexec(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          IPPROTO_TCP);
  if (fd < 0) return LastError();
  acceptor.assign(endpoint.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  // Asio's own record of the mode, so that it never switches it back.
  acceptor.native_non_blocking(true, ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

boost::system::error_code AcceptCloexec(tcp::acceptor& acceptor, const tcp& protocol,
                                        tcp::socket& peer) {
  for (;;) {
    const int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      boost::system::error_code ec;
      peer.assign(protocol, fd, ec);
      if (ec) ::close(fd);
      return ec;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return asio::error::would_block;
    return LastError();
  }
}

}  // namespace faultline::http
