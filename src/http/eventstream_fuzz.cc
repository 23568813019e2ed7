// libFuzzer target for the event stream decoder (http/eventstream.h): any
// bytes decode to messages, "need more" or an error, never a crash, a hang
// or undefined behaviour; each message decoded re-encodes to exactly the
// bytes it was decoded from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/eventstream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    std::size_t consumed = 0;
    std::string error;
    auto message = faultline::http::DecodeEventStreamMessage(rest, consumed, error);
    if (!message) break;  // incomplete, or an error (which has a message)
    if (!error.empty() || consumed == 0 || consumed > rest.size()) __builtin_trap();
    if (faultline::http::EncodeEventStreamMessage(*message) != rest.substr(0, consumed)) {
      __builtin_trap();
    }
    rest.remove_prefix(consumed);
  }
  return 0;
}
