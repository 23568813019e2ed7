// The versions and aliases API: PublishVersion and ListVersionsByFunction
// on /2015-03-31/functions/{name}/versions, Create/Get/Update/Delete/
// ListAliases on .../aliases[/{alias}]; and the qualifier of every call that
// takes one (Invoke, GetFunction, GetFunctionConfiguration, function URLs),
// in the function name ("f:3", an ARN) or ?Qualifier=, resolved as AWS
// resolves it: an unknown one is a 404, never a silent $LATEST.
#include <fmt/format.h>

#include "http/encoding.h"
#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace {

// The raw function-name segment of /VERSION/functions/NAME/...
std::string_view NameSegment(const Request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const PathParts p = SplitPath(target.substr(0, target.find('?')));
  return p.size() > 2 ? p[2] : std::string_view();
}

Response AliasErrorAnswer(const Request& req, const AliasError& e) {
  switch (e.kind) {
    case AliasError::Kind::kValidation: {
      Response res =
          http::MakeResponse(req, bhttp::status::bad_request, json{{"message", e.message}}.dump());
      res.set("x-amzn-ErrorType", "ValidationException");
      return res;
    }
    case AliasError::Kind::kNotFound:
      return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException", e.message);
    case AliasError::Kind::kInvalidParameter:
      break;
  }
  return InvalidParameter(req, e.message);
}

}  // namespace

std::variant<Response, Resolved> Platform::ResolveQualifier(const Request& req,
                                                            const Function& fn) {
  const std::string_view target(req.target().data(), req.target().size());
  const QualifierRef ref = QualifierOf(NameSegment(req), QueryParam(target, "Qualifier"));
  if (!ref.error.empty()) return InvalidParameter(req, ref.error);
  std::optional<Resolved> resolved = Resolve(ref.qualifier, fn.versions, fn.aliases, routing);
  if (!resolved) return NotFound(req, fn.arn + ":" + ref.qualifier);
  return *resolved;
}

std::variant<Response, Resolved> Platform::ConfigQualifier(const Request& req, const Function& fn) {
  const std::string_view target(req.target().data(), req.target().size());
  const QualifierRef ref = QualifierOf(NameSegment(req), QueryParam(target, "Qualifier"));
  if (!ref.error.empty()) return InvalidParameter(req, ref.error);
  if (auto it = fn.aliases.find(ref.qualifier); it != fn.aliases.end()) {
    return Resolved{it->second.function_version, ref.qualifier};
  }
  Random none(0);  // not an alias: no draw is made
  std::optional<Resolved> resolved = Resolve(ref.qualifier, fn.versions, {}, none);
  if (!resolved) return NotFound(req, fn.arn + ":" + ref.qualifier);
  if (resolved->version == kLatest) resolved->qualifier.clear();  // unqualified, as AWS
  return *resolved;
}

std::optional<Response> Platform::RefuseQualified(const Request& req) const {
  const QualifierRef ref = QualifierOf(NameSegment(req), std::nullopt);
  if (ref.qualifier.empty()) return std::nullopt;
  return InvalidParameter(req,
                          "This operation is permitted on Lambda functions only. Aliases and "
                          "versions do not support this operation. Please specify either a "
                          "function name or an unqualified function ARN.");
}

std::optional<Response> Platform::CheckRevision(const Request& req, const json& body,
                                                const std::string& current) const {
  if (!body.contains("RevisionId")) return std::nullopt;
  if (body["RevisionId"].is_string() && body["RevisionId"] == current) return std::nullopt;
  return AwsError(req, bhttp::status::precondition_failed, "PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the "
                  "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

// PublishVersion: $LATEST's configuration, frozen as version N. Nothing
// changed since the last version: that version again, as AWS does.
Response Platform::PublishVersion(const Request& req, Function& fn) {
  const json body = req.body().empty() ? json::object() : json::parse(req.body(), nullptr, false);
  if (!body.is_object()) return InvalidParameter(req, "request body: expected a JSON object");
  if (auto refused = CheckRevision(req, body, fn.revision_id)) return std::move(*refused);
  if (!fn.versions.empty() && fn.versions.rbegin()->second.config == fn.config) {
    const std::string& last = fn.versions.rbegin()->second.name;
    return http::MakeResponse(req, bhttp::status::created,
                              ConfigurationJson(fn, last, last).dump());
  }
  Version v{.name = std::to_string(fn.next_version++),
            .config = fn.config,
            .description = body.value("Description", fn.description),
            .last_modified = LastModifiedNow(),
            .revision_id = NewRequestId(rng)};
  const std::string name = v.name;
  fn.versions.emplace(std::stoi(name), std::move(v));
  fn.revision_id = NewRequestId(rng);  // publishing changes $LATEST's too
  return http::MakeResponse(req, bhttp::status::created, ConfigurationJson(fn, name, name).dump());
}

// ListVersionsByFunction: $LATEST (its ARN qualified), then 1, 2, ...
Response Platform::ListVersions(const Request& req, const Function& fn) const {
  json versions = json::array();
  versions.push_back(ConfigurationJson(fn, kLatest, kLatest));
  for (const auto& [n, v] : fn.versions) versions.push_back(ConfigurationJson(fn, v.name, v.name));
  return Page(req, versions, "Versions");
}

Response Platform::HandleAliasApi(const Request& req, Function& fn, const PathParts& tail) {
  const bhttp::verb verb = req.method();
  if (tail.size() == 1) {
    if (verb == bhttp::verb::post) return CreateAlias(req, fn);
    if (verb != bhttp::verb::get) return UnknownOperation(req);
    const std::string_view target(req.target().data(), req.target().size());
    const std::optional<std::string> only = QueryParam(target, "FunctionVersion");
    json list = json::array();
    for (const auto& [name, alias] : fn.aliases) {
      if (!only || alias.function_version == *only) list.push_back(AliasJson(alias, fn.arn));
    }
    return Page(req, list, "Aliases");
  }
  const std::string name = http::PercentDecode(tail[1]).value_or(std::string(tail[1]));
  auto it = fn.aliases.find(name);
  if (verb == bhttp::verb::delete_) {
    if (it != fn.aliases.end()) fn.aliases.erase(it);  // a missing one too: 204, as AWS
    return http::MakeResponse(req, bhttp::status::no_content, "", "");
  }
  if (it == fn.aliases.end()) {
    return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                    verb == bhttp::verb::get
                        ? fmt::format("Cannot find alias arn: {}:{}", fn.arn, name)
                        : fmt::format("Alias not found: {}:{}", fn.arn, name));
  }
  if (verb == bhttp::verb::get) {
    return http::MakeResponse(req, bhttp::status::ok, AliasJson(it->second, fn.arn).dump());
  }
  if (verb != bhttp::verb::put) return UnknownOperation(req);
  const json body = json::parse(req.body(), nullptr, false);
  if (body.is_object()) {
    if (auto refused = CheckRevision(req, body, it->second.revision_id)) return std::move(*refused);
  }
  auto updated = ReadAlias(body, &it->second, fn.versions, fn.arn);
  if (auto* e = std::get_if<AliasError>(&updated)) return AliasErrorAnswer(req, *e);
  it->second = std::get<Alias>(std::move(updated));
  it->second.revision_id = NewRequestId(rng);
  return http::MakeResponse(req, bhttp::status::ok, AliasJson(it->second, fn.arn).dump());
}

Response Platform::CreateAlias(const Request& req, Function& fn) {
  auto read = ReadAlias(json::parse(req.body(), nullptr, false), nullptr, fn.versions, fn.arn);
  if (auto* e = std::get_if<AliasError>(&read)) return AliasErrorAnswer(req, *e);
  Alias alias = std::get<Alias>(std::move(read));
  if (fn.aliases.contains(alias.name)) {
    return AwsError(req, bhttp::status::conflict, "ResourceConflictException",
                    fmt::format("Alias already exists: {}:{}", fn.arn, alias.name));
  }
  alias.revision_id = NewRequestId(rng);
  const json out = AliasJson(alias, fn.arn);
  fn.aliases.emplace(alias.name, std::move(alias));
  return http::MakeResponse(req, bhttp::status::created, out.dump());
}

}  // namespace faultline::lambda
