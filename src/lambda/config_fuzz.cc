// libFuzzer target for functions.yaml (lambda::ParseEmulatorConfig): any
// input gives a configuration or an error with a message, never a crash,
// an exception, a hang or undefined behaviour; a configuration it accepts
// passes its own validation and every function can be launched (a
// command, never empty).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lambda/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace lambda = faultline::lambda;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = lambda::ParseEmulatorConfig(text, "functions.yaml", "/fuzz");
  if (!config.ok()) {
    if (config.status().message().empty()) __builtin_trap();
    return 0;
  }
  if (!lambda::ValidateEmulatorConfig(*config).ok()) __builtin_trap();
  for (const auto& function : config->functions) {
    if (function.command.empty() || lambda::LaunchArgv(function).empty()) __builtin_trap();
  }
  return 0;
}
