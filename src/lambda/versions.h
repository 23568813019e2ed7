// Versions and aliases: a version is a function's configuration as it was
// published, for good; an alias names a version, and may send a share of its
// invocations to a second one (RoutingConfig: the canary that experiments
// shift traffic through).
//
//   qualifier ("" | "$LATEST" | "3" | "live") --Resolve--> executed version
//   alias "live" -> 1, {2: 0.1}: 2 with probability 0.1, by a seeded Random
//
// This file is the pure part: the data, the resolution of a qualifier and
// the validation of alias requests (AWS's messages); versions_api.cc serves
// the API.
//
// Thread-safety: plain values and pure functions (a Random is the caller's).
#ifndef FAULTLINE_LAMBDA_VERSIONS_H_
#define FAULTLINE_LAMBDA_VERSIONS_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "faultline/random.h"
#include "lambda/config.h"

namespace faultline::lambda {

inline constexpr std::string_view kLatest = "$LATEST";

// A published version.
struct Version {
  std::string name;  // "1", "2", ...
  FunctionConfig config;
  std::string description;
  std::string last_modified;  // "2026-12-02T07:19:31.000+0000"
  std::string revision_id;
};

struct Alias {
  std::string name;
  std::string function_version;  // "$LATEST" or a version
  std::string description;
  std::string revision_id;
  // RoutingConfig.AdditionalVersionWeights: at most one, weight in [0, 1].
  std::optional<std::pair<std::string, double>> additional;
};

// How a qualifier resolved: the version that runs, and the ARN it was
// invoked by (the alias's, for an alias).
struct Resolved {
  std::string version;    // "$LATEST" or "N"
  std::string qualifier;  // as given ("" when none)
};

// Resolves `qualifier` against `versions` and `aliases`: nullopt when it names
// neither (AWS: 404). An alias with routing draws from `routing`.
std::optional<Resolved> Resolve(std::string_view qualifier, const std::map<int, Version>& versions,
                                const std::map<std::string, Alias>& aliases, Random& routing);

// The qualifier in a FunctionName ("f:live", "arn:aws:lambda:r:a:function:f:3")
// and in the Qualifier query parameter, which must agree; `error` (AWS's
// message) when they do not.
struct QualifierRef {
  std::string qualifier;  // "" when none
  std::string error;
};
QualifierRef QualifierOf(std::string_view function_name, const std::optional<std::string>& query);

// An alias request's problem, as AWS words it: a ValidationException
// (`validation`) or an InvalidParameterValueException, or a 404 for a
// version that does not exist (`not_found`).
struct AliasError {
  enum class Kind { kValidation, kInvalidParameter, kNotFound } kind;
  std::string message;
};

// Reads a CreateAlias (`current` null) or UpdateAlias body. `arn` is the
// function's, for messages.
std::variant<Alias, AliasError> ReadAlias(const nlohmann::json& body, const Alias* current,
                                          const std::map<int, Version>& versions,
                                          const std::string& arn);

// AliasConfiguration as AWS answers it.
nlohmann::json AliasJson(const Alias& alias, const std::string& arn);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_VERSIONS_H_
