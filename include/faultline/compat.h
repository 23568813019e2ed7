// Compatibility readers: turn fault configurations users already have into
// faultline rules.
//
//   failure-lambda SSM/AppConfig JSON --+
//   chaos_lambda SSM JSON ---------------+--> RuleSet --> ValidateRules --> caller
//   chaos-lambda-extension env vars -----+
//   FAULTLINE_FAULTS compact form -------+
//
// Each reader is a pure function of its input: it parses, maps every field to
// the rule model of rules.h, calls ValidateRules and returns either the whole
// rule set or a Status::InvalidArgument that names the source, the position
// (line:column, 1-based, where the format has one), the field, what was
// expected and what was found, e.g.
//
//   failure.json:1:34: rate: expected a number in [0, 1], got "high"
//
// Nothing is half-applied: on error no rules are returned. Exceptions of the
// JSON library never escape. docs/compat.md lists every field, its mapping
// and where faultline's behaviour differs from the original tool.
//
// Thread-safety: every function may be called from any thread; none keeps
// state. The overload that reads the process environment must not race with
// setenv/putenv.
#ifndef FAULTLINE_COMPAT_H_
#define FAULTLINE_COMPAT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/rules.h"
#include "faultline/status.h"

namespace faultline {

// Reads the JSON that failure-lambda (github.com/gunnargrosch/failure-lambda)
// keeps in its SSM parameter or AppConfig profile. Both of its formats are
// accepted; the format is told by the keys:
//
// 0.x, one mode at a time (has "isEnabled" or "failureMode"):
//   {"isEnabled": true, "failureMode": "latency", "rate": 1,
//    "minLatency": 100, "maxLatency": 400}
//   -> one rule "failure-lambda-latency": latency uniform in [100, 400] ms,
//      probability 1.
//
// 1.x, one feature flag per mode:
//   {"latency": {"enabled": true, "percentage": 50, "min_latency": 100,
//                "max_latency": 400},
//    "exception": {"enabled": false}}
//   -> "failure-lambda-latency" (probability 0.5) and a disabled
//      "failure-lambda-exception", in failure-lambda's injection order.
//
// Every rule gets `target` (an injection point glob or a function name).
// A disabled mode becomes a rule with enabled == false. `source` names the
// input in errors (the SSM parameter name, a file name).
Result<RuleSet> ReadFailureLambda(std::string_view json, std::string_view source,
                                  std::string_view target = "*");

// Reads the SSM parameter JSON of chaos_lambda
// (github.com/adhorn/aws-lambda-chaos-injection, 0.3 and later):
//   {"is_enabled": true, "fault_type": "latency", "delay": 400,
//    "error_code": 404, "exception_msg": "boom", "rate": 0.5}
//   -> one rule "chaos-lambda-latency": fixed 400 ms, probability 0.5.
// Only the fields of the chosen fault_type are read; the others are ignored,
// as chaos_lambda does.
Result<RuleSet> ReadChaosLambda(std::string_view json, std::string_view source,
                                std::string_view target = "*");

// Reads the environment variables of chaos-lambda-extension
// (github.com/aws-cli-tools/chaos-lambda-extension) from `env` (name ->
// value; variables without the CHAOS_EXTENSION__ prefix are ignored):
//   CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY=true
//   CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE=2
//   CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY=0.5
//   -> one rule "chaos-lambda-extension-latency": fixed 2000 ms,
//      probability 0.5.
// A feature none of whose variables is set yields no rule; so an environment
// without CHAOS_EXTENSION__ variables yields an empty rule set. Errors name
// the variable. Names and defaults are those of the extension's current code
// (docs/compat.md): the response fault is switched on by
// CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY only. The
// misspelled ..._ENABLE_CHANGE_REPONSE_BODY that its releases up to v0.1.6
// read is ignored (the response rule stays disabled unless the current name
// enables it), with a line in `warnings` (when not nullptr) naming it, so
// that nobody is left unfaulted without being told.
Result<RuleSet> ReadChaosLambdaExtensionEnv(const std::map<std::string, std::string>& env,
                                            std::string_view target = "*",
                                            std::vector<std::string>* warnings = nullptr);
// The same, reading the process environment (environ).
Result<RuleSet> ReadChaosLambdaExtensionEnv(std::string_view target = "*",
                                            std::vector<std::string>* warnings = nullptr);

// Reads the compact failpoint-style form of FAULTLINE_FAULTS (the syntax of
// tikv/fail-rs and pingcap/failpoint):
//   redis.get=20%3*error(Conn refused);http:upstream=latency(250)
//   -> rule "redis.get" (target "redis.get"): error "Conn refused",
//      probability 0.2, limit 3; rule "http:upstream": fixed 250 ms.
// Entries are separated by ';', each is `point=TERM[->TERM...]` and each term
// `[P%][N*]action[(arg)]`. Chained terms become successive rules on the same
// target, named "point/1", "point/2", ...; see docs/compat.md for the actions
// and the exact semantics of chains and `off`. Errors give line:column in
// `spec`.
Result<RuleSet> ReadCompactRules(std::string_view spec, std::string_view source);

}  // namespace faultline

#endif  // FAULTLINE_COMPAT_H_
