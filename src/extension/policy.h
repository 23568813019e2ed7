// Policy of the runtime API proxy: what one invocation's fault plan means for
// the Lambda Runtime API, with no I/O (decide first, act second).
//
//   event JSON --EventTags--> tags --Engine::Decide(function, tags)--> Plan
//   Plan --ToInvocationPlan--> InvocationPlan {before: wait, act; after: wait, act}
//
// The proxy (proxy.h) carries an InvocationPlan out: the "before" part when
// the event comes back from GET /next, the "after" part when the runtime
// posts its answer. The bodies it sends are built here.
//
// Thread-safety: plain functions and values.
#ifndef FAULTLINE_EXTENSION_POLICY_H_
#define FAULTLINE_EXTENSION_POLICY_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/engine.h"
#include "faultline/rules.h"

namespace faultline::extension {

// Tags of an invocation event, for rules' `tags`: from API Gateway (REST and
// HTTP APIs), ALB and function URL events, "path" (rawPath, else path),
// "method" (requestContext.http.method, else httpMethod), "resource"
// (resource, else routeKey); from other events "source" (Records[0]
// eventSource, else source, e.g. aws.events). Absent fields give no tag;
// an event that is not a JSON object gives none.
using OwnedTags = std::vector<std::pair<std::string, std::string>>;
OwnedTags EventTags(std::string_view event);
// Views of `tags` for Engine::Decide; valid while `tags` lives.
std::vector<Tag> TagViews(const OwnedTags& tags);

// The phase an action is carried out in when its rule says kDefault: after
// the handler for kBody (it edits the handler's answer), before it for every
// other action (see docs/extension.md).
Phase EffectivePhase(Action action, Phase phase);

// What to do with one invocation.
struct InvocationPlan {
  std::chrono::nanoseconds delay_before{0};  // hold the event this long
  std::chrono::nanoseconds delay_after{0};   // hold the runtime's answer this long
  Action action = Action::kNone;             // kError, kStatus, kBody, kTimeout or kNone
  Phase phase = Phase::kBefore;              // kBefore or kAfter (for `action`)
  std::string rule;                          // the rule that chose `action`
  ErrorSpec error;                           // kError
  ResponseSpec response;                     // kStatus, kBody
  double timeout_buffer_ms = 0;              // kTimeout
  std::int64_t deadline_ms = 0;              // the event's Lambda-Runtime-Deadline-Ms
  bool empty() const {
    return action == Action::kNone && delay_before.count() == 0 && delay_after.count() == 0;
  }
  // Whether anything happens when the runtime answers.
  bool has_after() const {
    return delay_after.count() > 0 || (action != Action::kNone && phase == Phase::kAfter);
  }
};
// The Runtime API meaning of `plan`. Actions the proxy cannot carry out
// (drop, reset, throttle, diskspace, denylist) become kNone.
InvocationPlan ToInvocationPlan(const Plan& plan);

// Rules are split by phase before anything decides, so that neither kind of
// decision sees the other's rules (an init error never pre-empts a before
// rule, an init delay never adds to an invocation's):
//   InvocationRules: every rule but the phase-init ones, for the proxy's
//                    per-invocation engine;
//   InitRules:       only the phase-init ones, for the engine that decides
//                    the cold start once.
RuleSet InvocationRules(const RuleSet& rules);
RuleSet InitRules(const RuleSet& rules);

// What to do with the extension's own init (the environment's cold start),
// decided once at startup from Engine::Decide(function) on the init rules:
// wait `delay` before registering, then register and, when `fail`, report
// an init error (Extensions API POST /extension/init/error) and exit.
struct InitPlan {
  std::chrono::nanoseconds delay{0};
  bool fail = false;
  std::string rule;  // the rule that chose to fail, else the first latency rule
  ErrorSpec error;   // when fail; error.type is an ExtensionErrorType
  bool empty() const { return !fail && delay.count() == 0; }
};
// The init meaning of `plan` (from an engine that holds only InitRules).
InitPlan ToInitPlan(const Plan& plan);

// The Lambda-Extension-Function-Error-Type of an injected init error:
// Extension.[A-Z][a-zA-Z]+ as given, the category of a Lambda error type
// (Function.X, Runtime.X) made Extension.X, anything else
// "Extension.InjectedFault".
std::string ExtensionErrorType(std::string_view type);

// A valid Lambda error type, (Runtime|Function)\.[A-Z][a-zA-Z]+, as given;
// anything else becomes "Function.InjectedFault" (the platform would turn it
// into *.Unknown).
std::string LambdaErrorType(std::string_view type);
// The body of POST /runtime/invocation/{id}/error for `error`:
// {"errorMessage","errorType","stackTrace":[]}.
std::string ErrorBody(const ErrorSpec& error);
// The handler answer for a kStatus rule, in the API Gateway / ALB proxy
// integration shape: {"statusCode","headers","body","isBase64Encoded":false};
// the content type is response.content_type, else application/json.
std::string StatusBody(const ResponseSpec& response);
// The handler answer for a kBody rule: `original` with its "body" replaced
// when it is a proxy-integration object (has "statusCode"); otherwise the
// replacement body itself. Before the handler, `original` is empty and the
// answer is {"statusCode":200,"body":...}.
std::string ReplaceBody(std::string_view original, const std::string& body);

// How long a kTimeout waits from `now_ms` (epoch ms) for the invocation whose
// Lambda-Runtime-Deadline-Ms is `deadline_ms`: until buffer_ms before it
// (the caller sees its own timeout), or with no buffer until
// kPastDeadlineMs after it (the platform's timeout comes first); zero if
// that has passed or the deadline is unknown (0).
inline constexpr std::int64_t kPastDeadlineMs = 250;
std::chrono::milliseconds TimeoutWait(std::int64_t deadline_ms, std::int64_t now_ms,
                                      double buffer_ms);

// One CloudWatch Embedded Metric Format line counting one injection:
// namespace `ns`, dimensions [FunctionName, Action], metric "Injections"
// (Count) = 1, plus "Rule" as a property.
std::string EmfLine(std::string_view ns, std::string_view function, Action action,
                    std::string_view rule, std::int64_t timestamp_ms);

}  // namespace faultline::extension

#endif  // FAULTLINE_EXTENSION_POLICY_H_
