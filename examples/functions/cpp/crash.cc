// crash: the runtime process dies with exit status 3 on its first
// invocation, or during init when CRASH_ON_INIT=1, without posting anything.
// The platform reports Runtime.ExitError and replaces the environment.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;

namespace {
constexpr int kExitStatus = 3;

[[noreturn]] void Crash(const char* when) {
  std::fprintf(stderr, "crash: exiting with status %d %s\n", kExitStatus, when);
  std::fflush(stderr);
  std::_Exit(kExitStatus);
}
}  // namespace

int main() {
  const char* on_init = std::getenv("CRASH_ON_INIT");
  if (on_init != nullptr && std::string_view(on_init) == "1") Crash("during init");
  faultline::lambda::RunHandler(
      [](const InvocationRequest&) -> InvocationResponse { Crash("on the first invocation"); });
}
