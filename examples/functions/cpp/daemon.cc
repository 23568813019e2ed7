// daemon: leaves a process behind, as a careless function does: on each
// invocation it starts `sleep 300` in a session of its own (setsid) whose
// parent exits at once, so the sleep is an orphan outside the function's
// process group, and answers {"pid": PID} with the sleep's pid. Tests use it
// to show that such a process does not survive its execution environment.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;

namespace {

// fork; the child starts a new session, forks the sleep and exits; the pid
// of the sleep comes back through a pipe.
pid_t Leave() {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t middle = ::fork();
  if (middle == 0) {
    ::setsid();
    const pid_t sleeper = ::fork();
    if (sleeper == 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      ::execlp("sleep", "sleep", "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    (void)!::write(fds[1], &sleeper, sizeof sleeper);
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t sleeper = -1;
  if (::read(fds[0], &sleeper, sizeof sleeper) != sizeof sleeper) sleeper = -1;
  ::close(fds[0]);
  ::waitpid(middle, nullptr, 0);
  return sleeper;
}

}  // namespace

int main() {
  faultline::lambda::RunHandler([](const InvocationRequest&) {
    return InvocationResponse::Success("{\"pid\":" + std::to_string(Leave()) + "}");
  });
}
