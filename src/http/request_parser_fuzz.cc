// libFuzzer target for the server's request parsing (http/request_parser.h:
// the parsers configured exactly as Server configures them). Any bytes,
// arriving in pieces of any size, give a request, a refusal (413, 431) or
// "not HTTP", never a crash, a hang or undefined behaviour; an accepted
// body keeps to the limit; and how the bytes are cut into reads does not
// change the outcome, but for one thing: Beast checks a header's syntax as
// soon as it parses it, and it parses it again only once the whole header
// is in, so bytes arriving a few at a time may be "incomplete" where all at
// once they are "not HTTP" (or the reverse). Either way no handler sees it.
//
// Input: byte 0 picks the piece size (1..256), byte 1 the body limit
// (0..16320 bytes, small so that the limit is reached); the rest is the
// stream.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using faultline::http::ParseOutcome;
  using faultline::http::ParseRequest;
  if (size < 2) return 0;
  const std::size_t piece = static_cast<std::size_t>(data[0]) + 1;
  const std::uint64_t body_limit = static_cast<std::uint64_t>(data[1]) * 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string body;
  const ParseOutcome outcome = ParseRequest(bytes, body_limit, piece, &body);
  if (outcome == ParseOutcome::kRequest && body.size() > body_limit) __builtin_trap();
  std::string whole_body;
  const ParseOutcome whole = ParseRequest(bytes, body_limit, bytes.size() + 1, &whole_body);
  const auto deferred = [](ParseOutcome a, ParseOutcome b) {
    return a == ParseOutcome::kIncomplete && b == ParseOutcome::kBad;
  };
  if (whole != outcome && !deferred(whole, outcome) && !deferred(outcome, whole)) {
    __builtin_trap();
  }
  if (whole == ParseOutcome::kRequest && whole_body != body) __builtin_trap();
  return 0;
}
