// libFuzzer target for the rule parser: any input, in either format, must
// give a RuleSet or a Status, never a crash, an exception or a leak. A
// RuleSet that parses must also survive ToYaml and read back the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "faultline/rules.h"

namespace {

void Check(std::string_view text, faultline::Format format) {
  faultline::Result<faultline::RuleSet> parsed = faultline::ParseRules(text, "fuzz", format);
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) __builtin_trap();
    return;
  }
  std::string yaml = faultline::ToYaml(*parsed);
  faultline::Result<faultline::RuleSet> again =
      faultline::ParseRules(yaml, "fuzz-roundtrip", faultline::Format::kYaml);
  if (!again.ok() || again->rules != parsed->rules) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text, faultline::Format::kYaml);
  Check(text, faultline::Format::kJson);
  return 0;
}
