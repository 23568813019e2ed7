// faultline_tcp_relay: a do-nothing TCP relay, the floor of what any proxy
// between a function's runtime and the Runtime API adds on this machine.
// bench/extension_bench.py (--relay) runs the C++ echo example through it.
//
//   faultline_tcp_relay PROGRAM [ARGS...]
//
// Listens on 127.0.0.1 (any free port), runs PROGRAM with
// AWS_LAMBDA_RUNTIME_API pointed at itself, and relays every connection to
// the AWS_LAMBDA_RUNTIME_API it was given, bytes as they come:
//
//   runtime --conn--> relay --conn--> Runtime API
//                     one blocking thread per direction: recv, send all
//
// Exits with PROGRAM's status. No HTTP, no buffering beyond one read.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

namespace {

constexpr std::size_t kPiece = std::size_t{256} * 1024;

void NoDelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool SendAll(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Copies from -> to until end of stream or an error, then ends `to`'s
// sending side (the other direction goes on).
void Pump(int from, int to) {
  auto buf = std::make_unique<char[]>(kPiece);
  for (;;) {
    const ssize_t n = ::recv(from, buf.get(), kPiece, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || !SendAll(to, buf.get(), static_cast<std::size_t>(n))) break;
  }
  ::shutdown(to, SHUT_WR);
  ::shutdown(from, SHUT_RD);
}

// One runtime connection: a new upstream connection, two pumps.
void Serve(int down, sockaddr_in upstream) {
  const int up = ::socket(AF_INET, SOCK_STREAM, 0);
  if (up < 0 || ::connect(up, reinterpret_cast<const sockaddr*>(&upstream), sizeof upstream) != 0) {
    if (up >= 0) ::close(up);
    ::close(down);
    return;
  }
  NoDelay(up);
  NoDelay(down);
  std::thread back(Pump, up, down);
  Pump(down, up);
  back.join();
  ::close(up);
  ::close(down);
}

bool ParseHostPort(const char* s, sockaddr_in* out) {
  const std::string hp = s ? s : "";
  const std::size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return false;
  *out = {};
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<std::uint16_t>(std::atoi(hp.c_str() + colon + 1)));
  std::string host = hp.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  return ::inet_pton(AF_INET, host.c_str(), &out->sin_addr) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: faultline_tcp_relay PROGRAM [ARGS...]\n");
    return 2;
  }
  sockaddr_in upstream{};
  if (!ParseHostPort(std::getenv("AWS_LAMBDA_RUNTIME_API"), &upstream)) {
    std::fprintf(stderr, "faultline_tcp_relay: AWS_LAMBDA_RUNTIME_API: expected 127.0.0.1:PORT\n");
    return 2;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in self{};
  self.sin_family = AF_INET;
  self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof self;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 ||
      ::listen(listener, 64) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&self), &len) != 0) {
    std::perror("faultline_tcp_relay: listen");
    return 1;
  }
  const std::string api = "127.0.0.1:" + std::to_string(ntohs(self.sin_port));
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(listener);
    ::setenv("AWS_LAMBDA_RUNTIME_API", api.c_str(), 1);
    ::execvp(argv[1], argv + 1);
    std::perror("faultline_tcp_relay: exec");
    ::_exit(127);
  }
  std::thread([listener, upstream] {
    for (;;) {
      const int down = ::accept(listener, nullptr, nullptr);
      if (down < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      std::thread(Serve, down, upstream).detach();
    }
  }).detach();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
