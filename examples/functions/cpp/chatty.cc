// chatty: writes {"lines": N} lines to stdout ("line 1 of N" ...), the last
// one just before it answers, then answers {"lines": N}. Tests use it to
// show that every line a function wrote before it returned is logged before
// its END line and is in its Tail.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;

namespace {

int LinesOf(std::string_view payload) {
  const std::size_t i = payload.find("\"lines\"");
  if (i == std::string_view::npos) return 1;
  const std::size_t colon = payload.find(':', i);
  return colon == std::string_view::npos ? 1 : std::atoi(payload.data() + colon + 1);
}

}  // namespace

int main() {
  faultline::lambda::RunHandler([](const InvocationRequest& req) {
    const int n = LinesOf(req.payload);
    for (int i = 1; i <= n; ++i) {
      const std::string line = "line " + std::to_string(i) + " of " + std::to_string(n) + "\n";
      if (::write(1, line.data(), line.size()) < 0) break;  // unbuffered, as a print would
    }
    return InvocationResponse::Success("{\"lines\":" + std::to_string(n) + "}");
  });
}
