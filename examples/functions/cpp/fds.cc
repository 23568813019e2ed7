// fds: answers the descriptors the function process holds, as a JSON
// object {"fds": [{"fd": 0, "target": "/dev/null", "cloexec": false}, ...]}
// read from /proc/self/fd (the directory's own descriptor left out). Tests
// use it to show that a function holds only its own descriptors: its stdio
// and its runtime client's connection (close-on-exec, so not passed on to a
// process the function starts), never the emulator's listeners or another
// environment's sockets.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;
using faultline::lambda::JsonEscape;

namespace {

std::string Target(int fd) {
  char buf[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<std::size_t>(n));
}

std::string ListFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return R"({"fds":null})";
  const int own = ::dirfd(dir);
  std::string out = R"({"fds":[)";
  bool first = true;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    if (!first) out += ',';
    first = false;
    out += "{\"fd\":" + std::to_string(fd) + ",\"target\":\"" + JsonEscape(Target(fd)) +
           "\",\"cloexec\":" + ((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0 ? "true" : "false") + "}";
  }
  ::closedir(dir);
  return out + "]}";
}

}  // namespace

int main() {
  faultline::lambda::RunHandler(
      [](const InvocationRequest&) { return InvocationResponse::Success(ListFds()); });
}
