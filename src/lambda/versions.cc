#include "lambda/versions.h"

#include <fmt/format.h>

#include "http/encoding.h"

namespace faultline::lambda {

using json = nlohmann::json;

namespace {

bool IsNumber(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<int> VersionNumber(std::string_view s) {
  if (!IsNumber(s) || s.size() > 9) return std::nullopt;
  return std::stoi(std::string(s));
}

}  // namespace

std::optional<Resolved> Resolve(std::string_view qualifier, const std::map<int, Version>& versions,
                                const std::map<std::string, Alias>& aliases, Random& routing) {
  if (qualifier.empty() || qualifier == kLatest) {
    return Resolved{std::string(kLatest), std::string(qualifier)};
  }
  if (auto n = VersionNumber(qualifier)) {
    if (!versions.contains(*n)) return std::nullopt;
    return Resolved{std::string(qualifier), std::string(qualifier)};
  }
  auto it = aliases.find(std::string(qualifier));
  if (it == aliases.end()) return std::nullopt;
  const Alias& alias = it->second;
  std::string version = alias.function_version;
  if (alias.additional && routing.NextDouble() < alias.additional->second) {
    version = alias.additional->first;
  }
  return Resolved{version, std::string(qualifier)};
}

QualifierRef QualifierOf(std::string_view function_name, const std::optional<std::string>& query) {
  std::string decoded = http::PercentDecode(function_name).value_or(std::string(function_name));
  std::string_view s = decoded;
  if (const std::size_t f = s.find("function:"); f != std::string_view::npos) {
    s.remove_prefix(f + 9);
  }
  std::string derived;
  if (const std::size_t colon = s.find(':'); colon != std::string_view::npos) {
    derived = std::string(s.substr(colon + 1));
  }
  if (!query) return {derived, ""};
  if (!derived.empty() && derived != *query) {
    return {"",
            "The derived qualifier from the function name does not match the specified "
            "qualifier."};
  }
  return {*query, ""};
}

namespace {

AliasError Validation(std::string message) {
  return {AliasError::Kind::kValidation, std::move(message)};
}
AliasError Invalid(std::string message) {
  return {AliasError::Kind::kInvalidParameter, std::move(message)};
}

std::optional<AliasError> CheckName(const json& body) {
  if (!body.contains("Name") || !body["Name"].is_string()) {
    return Validation(
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member "
        "must not be null");
  }
  const std::string name = body["Name"];
  const bool chars = name.find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-_") == std::string::npos;
  if (name.empty() || name.size() > 128 || !chars || IsNumber(name)) {
    return Validation(fmt::format(
        "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member "
        "must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        name));
  }
  return std::nullopt;
}

// FunctionVersion must be $LATEST or a published version.
std::optional<AliasError> CheckVersion(const std::string& v, const std::map<int, Version>& versions,
                                       const std::string& arn) {
  if (v == kLatest) return std::nullopt;
  auto n = VersionNumber(v);
  if (!n) {
    return Validation(fmt::format(
        "1 validation error detected: Value '{}' at 'functionVersion' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)",
        v));
  }
  if (!versions.contains(*n)) {
    return AliasError{AliasError::Kind::kNotFound,
                      fmt::format("Function not found: {}:{}", arn, v)};
  }
  return std::nullopt;
}

// RoutingConfig.AdditionalVersionWeights, into alias->additional.
std::optional<AliasError> ReadRouting(const json& routing, const std::map<int, Version>& versions,
                                      const std::string& arn, Alias* alias) {
  alias->additional.reset();
  if (routing.is_null()) return std::nullopt;
  const json weights = routing.value("AdditionalVersionWeights", json::object());
  if (!weights.is_object())
    return Invalid("RoutingConfig.AdditionalVersionWeights: expected a map");
  if (weights.size() > 1) {
    return Invalid("Number of items in AdditionalVersionWeights cannot be greater than 1");
  }
  for (const auto& [version, weight] : weights.items()) {
    if (!weight.is_number() || weight.get<double>() < 0.0 || weight.get<double>() > 1.0) {
      return Validation(fmt::format(
          "1 validation error detected: Value '{{{}={}}}' at "
          "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must "
          "satisfy constraint: [Member must have value less than or equal to 1.0, Member must "
          "have value greater than or equal to 0.0, Member must not be null]",
          version, weight.dump()));
    }
    if (!IsNumber(version)) {
      return Validation(fmt::format(
          "1 validation error detected: Value '{}' at 'routingConfig.additionalVersionWeights' "
          "failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
          "regular expression pattern: [0-9]+]",
          version));
    }
    if (alias->function_version == kLatest) {
      return Invalid("$LATEST is not supported for an alias pointing to more than 1 version");
    }
    if (version == alias->function_version) {
      return Invalid(
          fmt::format("Invalid function version {0}. Function version {0} is already "
                      "included in routing configuration.",
                      version));
    }
    if (auto e = CheckVersion(version, versions, arn)) return e;
    alias->additional = std::make_pair(version, weight.get<double>());
  }
  return std::nullopt;
}

}  // namespace

std::variant<Alias, AliasError> ReadAlias(const json& body, const Alias* current,
                                          const std::map<int, Version>& versions,
                                          const std::string& arn) {
  if (!body.is_object()) return Invalid("request body: expected a JSON object");
  Alias alias = current ? *current : Alias{};
  if (!current) {
    if (auto e = CheckName(body)) return *e;
    alias.name = body["Name"];
    if (!body.contains("FunctionVersion") || !body["FunctionVersion"].is_string()) {
      return Validation(
          "1 validation error detected: Value null at 'functionVersion' failed to satisfy "
          "constraint: Member must not be null");
    }
  }
  if (body.contains("FunctionVersion")) {
    if (!body["FunctionVersion"].is_string()) return Invalid("FunctionVersion: expected a string");
    alias.function_version = body["FunctionVersion"];
    if (auto e = CheckVersion(alias.function_version, versions, arn)) return *e;
  }
  if (body.contains("Description")) {
    if (!body["Description"].is_string()) return Invalid("Description: expected a string");
    alias.description = body["Description"];
  }
  if (body.contains("RoutingConfig")) {
    if (auto e = ReadRouting(body["RoutingConfig"], versions, arn, &alias)) return *e;
  } else if (alias.additional && alias.function_version == alias.additional->first) {
    return Invalid(
        fmt::format("Invalid function version {0}. Function version {0} is already "
                    "included in routing configuration.",
                    alias.function_version));
  }
  return alias;
}

json AliasJson(const Alias& alias, const std::string& arn) {
  json out{{"AliasArn", arn + ":" + alias.name},
           {"Name", alias.name},
           {"FunctionVersion", alias.function_version},
           {"Description", alias.description},
           {"RevisionId", alias.revision_id}};
  if (alias.additional) {
    out["RoutingConfig"] = {
        {"AdditionalVersionWeights", {{alias.additional->first, alias.additional->second}}}};
  }
  return out;
}

}  // namespace faultline::lambda
