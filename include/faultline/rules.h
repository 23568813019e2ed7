// Rules: faultline's one fault model, shared by every layer.
//
// A rule says where a fault goes (a glob over injection point names, plus
// tags that must all match), what it is (an action and its parameters) and
// how often (probability, every Nth, skip the first N, at most N, until a
// time). The rule file format is documented in docs/rules.md:
//
//   faults:
//     - name: slow-cache
//       target: "redis.*"
//       tags: {db: redis}
//       action: latency
//       latency: {ms: 100, jitter_ms: 20}
//       probability: 0.5
//       ttl: 5m
//
// The engine decides; the layer that owns the injection point (in-process
// code, the runtime API proxy, the TCP proxy, the emulator) carries out.
//
// Thread-safety: plain values.
#ifndef FAULTLINE_RULES_H_
#define FAULTLINE_RULES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/clock.h"
#include "faultline/status.h"

namespace faultline {

enum class Action : std::uint8_t {
  kNone = 0,   // nothing to do (only in a Plan)
  kLatency,    // wait, then go on
  kError,      // fail with an error type and message
  kStatus,     // answer with a status code, headers and body
  kBody,       // replace the response body
  kTimeout,    // hold until the caller's deadline passes
  kDrop,       // drop the connection or message silently
  kReset,      // reset the connection
  kThrottle,   // refuse as the platform does when throttling (429)
  kDiskSpace,  // fill temporary disk space
  kDenylist,   // refuse connections to matching hosts
};

// "latency", "error", ...; "none" for kNone.
std::string_view ActionName(Action a);
// The action with that name, or nullopt.
std::optional<Action> ActionFromName(std::string_view name);
// Every action name a rule may use, comma separated, for error messages.
std::string_view ActionNames();

// How long a latency fault waits. Exactly one shape applies:
//   fixed:   ms (jitter_ms == 0)
//   jitter:  uniform in [ms - jitter_ms, ms + jitter_ms]
//   uniform: uniform in [min_ms, max_ms]
//   normal:  normal(mean_ms, stddev_ms), cut at 0
struct LatencySpec {
  enum class Shape : std::uint8_t { kFixed, kUniform, kNormal };
  Shape shape = Shape::kFixed;
  double ms = 0;         // kFixed: the delay; with jitter_ms, the centre
  double jitter_ms = 0;  // kFixed: +- this, uniformly
  double min_ms = 0;     // kUniform
  double max_ms = 0;     // kUniform
  double mean_ms = 0;    // kNormal
  double stddev_ms = 0;  // kNormal
  bool operator==(const LatencySpec&) const = default;
};

struct ErrorSpec {
  std::string type = "Function.InjectedFault";  // e.g. a valid Lambda error type
  std::string message = "faultline injected an error";
  bool operator==(const ErrorSpec&) const = default;
};

// For kStatus (and kBody, which uses `body` only).
struct ResponseSpec {
  int code = 500;
  std::map<std::string, std::string> headers;
  std::string content_type;  // empty: the layer's default
  std::string body;
  bool operator==(const ResponseSpec&) const = default;
};

// When a layer that wraps a call (the runtime API proxy) carries out the
// rule: before the call (for Lambda: delay the event, or answer without
// running the handler, AWS FIS's preventExecution) or after it (delay or
// replace the handler's answer). kDefault: the layer's default for the
// action (docs/extension.md). kInit: once, when the layer starts, not per
// call (for Lambda: a slow or failed cold start); only kLatency and kError
// take it, and layers that decide per call ignore kInit rules (and the
// other way round). In-process injection ignores the phase.
enum class Phase : std::uint8_t { kDefault = 0, kBefore, kAfter, kInit };
// "before", "after", "init"; "default" for kDefault.
std::string_view PhaseName(Phase p);
// Every phase name a rule may use, for error messages: "before, after or init".
std::string_view PhaseNames();
// Whether a rule with `action` may have `phase`: kInit only with kLatency or
// kError; every other phase with any action.
bool PhaseAllowed(Action action, Phase phase);

struct Rule {
  std::string name;                         // unique within a rule set
  std::string target = "*";                 // glob: * any run, ? one char, [abc] a class
  std::map<std::string, std::string> tags;  // all must be present; values are globs
  Action action = Action::kNone;
  Phase phase = Phase::kDefault;

  LatencySpec latency;                // kLatency
  ErrorSpec error;                    // kError
  ResponseSpec response;              // kStatus, kBody
  double timeout_buffer_ms = 0;       // kTimeout: stop this much before the deadline
  std::uint64_t diskspace_mb = 0;     // kDiskSpace
  std::vector<std::string> denylist;  // kDenylist: host regexes

  double probability = 1.0;            // of matching calls, in [0, 1]
  std::uint64_t every = 0;             // inject on every Nth match (0 or 1: each)
  std::uint64_t skip = 0;              // let the first N matches through
  std::uint64_t limit = 0;             // at most N injections (0: no limit)
  std::optional<std::int64_t> ttl_ns;  // expires this long after armed_at
  std::optional<TimeNs> expires_at;    // expires at this wall time
  // When the ttl starts counting (only with a ttl). Empty: when an engine
  // first loads the rule (Engine::Load fills it in). See ArmRules.
  std::optional<TimeNs> armed_at;
  bool enabled = true;

  bool operator==(const Rule&) const = default;
};

struct RuleSet {
  std::vector<Rule> rules;
};

enum class Format : std::uint8_t { kAuto, kYaml, kJson };

// Parses a rule document (see docs/rules.md). `source` names the input in
// errors ("faults.yaml", "FAULTLINE_RULES", "PUT /faults"). kAuto picks JSON
// when the first non-blank character is '{' or '[', YAML otherwise.
// Errors name the source, line:column, the field, what was expected and what
// was found; on error nothing is returned.
Result<RuleSet> ParseRules(std::string_view text, std::string_view source,
                           Format format = Format::kAuto);

// The format a rule file's name says: .json kJson, .yaml / .yml kYaml, else
// kAuto.
Format FormatOfPath(std::string_view path);

// The rules of a rule file, from its text: ParseRules with the format of
// FormatOfPath(path), and one check more. A file that says nothing (empty,
// only comments, or `faults:` with nothing after it) is an error, not "no
// rules": it is what a reader sees of a file caught half-written, and
// applying it would drop every rule. A file means "no rules" only when it
// says so with a list: `faults: []` or `[]`. Rules are not armed.
Result<RuleSet> ParseRuleFile(std::string_view text, const std::string& path);

// Reads a rule file (at most 16 MiB: a larger one is refused unread, naming
// its size) and parses it with ParseRuleFile. Rules with a ttl and no
// armed_at are armed at the file's modification time: the ttl counts from
// when the file was written, so a process that starts later sees an old
// rule already expired.
Result<RuleSet> LoadRuleFile(const std::string& path);

// Arms every rule of `rules` that has a ttl and no armed_at at `when`, so
// that its ttl counts from then, in any process that loads it later.
void ArmRules(RuleSet* rules, TimeNs when);

// When `rule` stops firing: armed_at + ttl or expires_at, whichever is
// first; a ttl with no armed_at counts from `loaded_at`. nullopt: never.
std::optional<TimeNs> ExpiryOf(const Rule& rule, TimeNs loaded_at);

// Why `rule` does not fire any more at `now`: "expired at
// 2026-11-25T10:00:02Z (ttl 2s from 2026-11-25T10:00:00Z)", or "expired at
// ...Z (expires_at)"; empty when it has not expired (a ttl with no armed_at
// has not started, so it has not).
std::string ExpiredNote(const Rule& rule, TimeNs now);

// Refuses rules that are expired on arrival: InvalidArgument
// `SOURCE: rule "x": expired at ... (ttl 2s from ...)` for the first such
// rule of `rules` at `now`; OK when none is.
Status CheckNotExpired(const RuleSet& rules, TimeNs now, std::string_view source);

// Checks what the parser cannot: unique names, parameter ranges. ParseRules
// already calls it; readers of other formats call it too.
Status ValidateRules(const RuleSet& rules, std::string_view source);

// The rule set as YAML in the format ParseRules reads, so that
// ParseRules(ToYaml(x)) == x. With `now`, each rule expired at that time has
// a comment line under its name: `# expired at ... (ttl 2s from ...)`.
std::string ToYaml(const RuleSet& rules, std::optional<TimeNs> now = std::nullopt);

// A duration as rule files write it: "250ms", "30s", "5m", "1h", "1h30m",
// "1.5s", or a plain number of seconds. Returns nanoseconds.
Result<std::int64_t> ParseDuration(std::string_view text);
// Nanoseconds as ParseDuration reads them, in the largest unit that divides
// them: "2s", "90m", "250ms".
std::string FormatDuration(std::int64_t ns);
// An ISO-8601 UTC time "2026-11-25T10:00:00Z" (fraction optional).
Result<TimeNs> ParseTimestamp(std::string_view text);
std::string FormatTimestamp(TimeNs t);

// Whether `name` matches the glob `pattern` (* ? [set] [!set] \x).
bool GlobMatch(std::string_view pattern, std::string_view name);

}  // namespace faultline

#endif  // FAULTLINE_RULES_H_
