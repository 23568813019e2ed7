// sleep: the payload {"ms": N} makes it sleep N milliseconds, then answer
// {"slept_ms":N}. It ignores its deadline on purpose, so a timeout shorter
// than N shows the platform's "Task timed out" behaviour.
//
// The number is read by hand: the example functions link no JSON library.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;

namespace {

void SkipSpaces(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

// The non-negative integer value of the "ms" key, if there is one.
std::optional<std::int64_t> ParseMs(std::string_view payload) {
  size_t i = payload.find("\"ms\"");
  if (i == std::string_view::npos) return std::nullopt;
  i += 4;
  SkipSpaces(payload, i);
  if (i >= payload.size() || payload[i] != ':') return std::nullopt;
  ++i;
  SkipSpaces(payload, i);
  std::int64_t ms = 0;
  size_t digits = 0;
  for (; i < payload.size() && payload[i] >= '0' && payload[i] <= '9'; ++i, ++digits) {
    if (ms > 86'400'000) return std::nullopt;  // more than a day: not a sleep we take
    ms = ms * 10 + (payload[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  return ms;
}

}  // namespace

int main() {
  faultline::lambda::RunHandler([](const InvocationRequest& req) {
    auto ms = ParseMs(req.payload);
    if (!ms) {
      return InvocationResponse::Failure(
          "expected a payload like {\"ms\": 2000} (a whole number of milliseconds), got " +
              req.payload.substr(0, 200),
          "Function.BadPayload");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
    return InvocationResponse::Success("{\"slept_ms\":" + std::to_string(*ms) + "}");
  });
}
