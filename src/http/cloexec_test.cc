// Every descriptor the server and the clients open is close-on-exec, so a
// process started meanwhile (a function's runtime) inherits none of them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "http/client.h"
#include "http/server.h"

namespace faultline::http {
namespace {

using namespace std::chrono_literals;

std::set<int> OpenDescriptors() {
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    fds.insert(std::stoi(entry.path().filename().string()));
  }
  return fds;  // (the directory's own descriptor is closed by now)
}

std::string Describe(int fd) {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).string();
}

// Checks every descriptor open now that was not open in `before`; returns
// how many of them are sockets.
int ExpectNewDescriptorsCloseOnExec(const std::set<int>& before) {
  int sockets = 0;
  for (int fd : OpenDescriptors()) {
    if (before.count(fd) != 0) continue;
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // closed meanwhile
    const std::string what = Describe(fd);
    EXPECT_NE(flags & FD_CLOEXEC, 0) << "descriptor " << fd << " (" << what << ")";
    if (what.starts_with("socket:")) ++sockets;
  }
  return sockets;
}

TEST(CloexecTest, ServerAndClientDescriptorsAreCloseOnExec) {
  const std::set<int> before = OpenDescriptors();
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  auto server = Server::Listen(io, ServerOptions{}, [](Request& req) -> Task<Response> {
    co_return MakeResponse(req, bhttp::status::ok, "fine", "text/plain");
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::thread thread([&io] { io.run(); });
  const std::uint16_t port = (*server)->port();
  // Kept connections, each way a client connects: blocking and with a
  // deadline, to an address and to a name (through the resolver).
  KeepAliveClient blocking("127.0.0.1", port);
  KeepAliveClient timed("127.0.0.1", port);
  KeepAliveClient named("localhost", port);
  Request get(bhttp::verb::get, "/", 11);
  EXPECT_TRUE(blocking.Send(get, KeepAliveClient::kNoTimeout).ok());
  EXPECT_TRUE(timed.Send(get, 5s).ok());
  auto by_name = named.Send(get, 5s);
  EXPECT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_TRUE(FetchSync(Url{"127.0.0.1", port, "/"}, get, 5s).ok());

  // The listening socket, three kept client sockets and the three the
  // server accepted for them at least.
  EXPECT_GE(ExpectNewDescriptorsCloseOnExec(before), 7);

  asio::post(io, [&] { (*server)->Stop(); });
  work.reset();
  thread.join();
}

}  // namespace
}  // namespace faultline::http
