// libFuzzer target: every compatibility reader must turn any input into
// rules or an error, never a crash, a hang or undefined behaviour.
//
//   clang++ -std=c++20 -g -fsanitize=fuzzer,address,undefined -Iinclude \
//     src/core/compat_fuzz.cc src/core/compat.cc src/core/rules.cc ... -lfmt -lyaml-cpp

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "faultline/compat.h"

namespace {

// Input lines "NAME=VALUE" as an environment; names get the extension's
// prefix half of the time so that the interesting variables are reached.
std::map<std::string, std::string> AsEnv(std::string_view text) {
  std::map<std::string, std::string> env;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(line.substr(0, eq));
    if (!name.empty() && name[0] == '_') name = "CHAOS_EXTENSION_" + name;
    env[name] = std::string(line.substr(eq + 1));
  }
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)faultline::ReadFailureLambda(text, "fuzz.json", "fn.*");
  (void)faultline::ReadChaosLambda(text, "fuzz.json");
  (void)faultline::ReadCompactRules(text, "FAULTLINE_FAULTS");
  (void)faultline::ReadChaosLambdaExtensionEnv(AsEnv(text), "fn");
  return 0;
}
