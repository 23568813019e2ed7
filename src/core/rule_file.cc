// Rule files and rule time: reading a rule file (bounded, refusing one that
// says nothing), arming ttls, and saying when a rule expired.
//
//   path --ReadFileText (<= 16 MiB, O_CLOEXEC)--> text, mtime
//        --ParseRuleFile (ParseRules + "says something")--> RuleSet
//        --ArmRules(mtime)--> ttls count from when the file was written
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <limits>

#include "core/text.h"
#include "core/yaml_read.h"
#include "faultline/rules.h"

namespace faultline {

namespace {

// Whether a rule document with no rules says so with a list (`faults: []`,
// `[]`) rather than by being empty, comments only, or `faults:` alone.
bool SaysNoRules(std::string_view text, const std::string& path) {
  YAML::Node root;
  try {
    if (!internal::LoadOneDocument(text, path, &root).ok()) return false;
    if (root.IsSequence()) return true;
    return root.IsMap() && root["faults"] && root["faults"].IsSequence();
  } catch (const std::exception&) {
    return false;
  }
}

TimeNs SaturatingAdd(TimeNs a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<TimeNs>::max() - b)
    return std::numeric_limits<TimeNs>::max();
  return a + b;
}

}  // namespace

Result<RuleSet> ParseRuleFile(std::string_view text, const std::string& path) {
  Result<RuleSet> rules = ParseRules(text, path, FormatOfPath(path));
  if (!rules.ok() || !rules->rules.empty() || SaysNoRules(text, path)) return rules;
  return Status::InvalidArgument(fmt::format(
      "{}: no rules and no list ({}): a rule file that says nothing is refused, as a file "
      "caught half-written would be; write \"faults: []\" for no rules",
      path, text.empty() ? "the file is empty" : "only blanks, comments or \"faults:\" alone"));
}

Result<RuleSet> LoadRuleFile(const std::string& path) {
  Result<internal::FileText> file = internal::ReadFileText(path);
  if (!file.ok()) return file.status();
  Result<RuleSet> rules = ParseRuleFile(file->text, path);
  if (rules.ok()) ArmRules(&*rules, file->mtime_ns);
  return rules;
}

void ArmRules(RuleSet* rules, TimeNs when) {
  for (Rule& r : rules->rules) {
    if (r.ttl_ns && !r.armed_at) r.armed_at = when;
  }
}

std::optional<TimeNs> ExpiryOf(const Rule& rule, TimeNs loaded_at) {
  std::optional<TimeNs> at = rule.expires_at;
  if (rule.ttl_ns) {
    const TimeNs by_ttl = SaturatingAdd(rule.armed_at.value_or(loaded_at), *rule.ttl_ns);
    at = at ? std::min(*at, by_ttl) : by_ttl;
  }
  return at;
}

std::string ExpiredNote(const Rule& rule, TimeNs now) {
  const std::optional<TimeNs> at = ExpiryOf(rule, now);
  if (!at || now < *at) return {};
  // The ttl's end, if that is what came first.
  if (rule.ttl_ns && rule.armed_at && SaturatingAdd(*rule.armed_at, *rule.ttl_ns) == *at) {
    return fmt::format("expired at {} (ttl {} from {})", FormatTimestamp(*at),
                       FormatDuration(*rule.ttl_ns), FormatTimestamp(*rule.armed_at));
  }
  return fmt::format("expired at {} (expires_at)", FormatTimestamp(*at));
}

Status CheckNotExpired(const RuleSet& rules, TimeNs now, std::string_view source) {
  for (const Rule& r : rules.rules) {
    if (std::string note = ExpiredNote(r, now); !note.empty()) {
      return Status::InvalidArgument(
          fmt::format("{}: rule {}: {}", source, internal::Quote(r.name), note));
    }
  }
  return Status::Ok();
}

}  // namespace faultline
