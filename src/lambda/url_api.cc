// The function URL management API (2021-10-31): Create, Get, Update and
// DeleteFunctionUrlConfig on /functions/{name}/url, ListFunctionUrlConfigs
// on /functions/{name}/urls; shapes and errors as AWS's.
#include <fmt/format.h>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace {

Response ValidationError(const Request& req, std::string_view message) {
  Response res =
      http::MakeResponse(req, bhttp::status::bad_request, json{{"message", message}}.dump());
  res.set("x-amzn-ErrorType", "ValidationException");
  return res;
}

Response SettingsError(const Request& req, const UrlSettingsError& e) {
  return e.validation ? ValidationError(req, e.message) : InvalidParameter(req, e.message);
}

Response NoUrl(const Request& req) {
  return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                  "The resource you requested does not exist.");
}

}  // namespace

json Platform::UrlConfigJson(const Function& fn, const FunctionUrl& url, bool created) const {
  json out{{"FunctionUrl", url.address},
           {"FunctionArn", url.qualifier.empty() ? fn.arn : fn.arn + ":" + url.qualifier},
           {"AuthType", url.settings.auth_type},
           {"CreationTime", url.creation_time}};
  if (!url.settings.cors.is_null()) out["Cors"] = url.settings.cors;
  if (!created || url.settings.invoke_mode_given) out["InvokeMode"] = url.settings.invoke_mode;
  if (!created) out["LastModifiedTime"] = url.last_modified;
  return out;
}

Response Platform::HandleUrlApi(const Request& req, Function& fn, std::string_view rest) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string qualifier = QueryParam(target, "Qualifier").value_or("");
  const bhttp::verb verb = req.method();
  if (rest == "urls" && verb == bhttp::verb::get) {
    json list = json::array();
    for (const auto& [q, url] : fn.urls) list.push_back(UrlConfigJson(fn, *url, false));
    return http::MakeResponse(req, bhttp::status::ok, json{{"FunctionUrlConfigs", list}}.dump());
  }
  if (!qualifier.empty() && !fn.aliases.contains(qualifier)) {
    // Only aliases have URLs of their own.
    const bool version =
        qualifier == "$LATEST" || qualifier.find_first_not_of("0123456789") == std::string::npos;
    if (version) {
      return ValidationError(
          req, fmt::format("1 validation error detected: Value '{}' at 'qualifier' failed to "
                           "satisfy constraint: Member must satisfy regular expression pattern: "
                           "((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
                           qualifier));
    }
    return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                    "Function does not exist");
  }
  auto it = fn.urls.find(qualifier);
  if (verb == bhttp::verb::post) return CreateUrl(req, fn, qualifier);
  if (it == fn.urls.end()) return NoUrl(req);
  FunctionUrl& url = *it->second;
  if (verb == bhttp::verb::get) {
    return http::MakeResponse(req, bhttp::status::ok, UrlConfigJson(fn, url, false).dump());
  }
  if (verb == bhttp::verb::put) {
    auto settings = ReadUrlSettings(json::parse(req.body(), nullptr, false), &url.settings);
    if (auto* e = std::get_if<UrlSettingsError>(&settings)) return SettingsError(req, *e);
    url.settings = std::get<UrlSettings>(std::move(settings));
    url.last_modified = IsoNow();
    return http::MakeResponse(req, bhttp::status::ok, UrlConfigJson(fn, url, false).dump());
  }
  if (verb == bhttp::verb::delete_) {
    url.server->Stop();
    fn.urls.erase(it);
    return http::MakeResponse(req, bhttp::status::no_content, "", "");
  }
  return AwsError(req, bhttp::status::not_found, "UnknownOperationException", "Unknown operation");
}

Response Platform::CreateUrl(const Request& req, Function& fn, const std::string& qualifier) {
  if (fn.urls.contains(qualifier)) {
    return AwsError(req, bhttp::status::conflict, "ResourceConflictException",
                    fmt::format("Failed to create function url config for [functionArn = {}]. "
                                "Error message:  FunctionUrlConfig exists for this Lambda function",
                                fn.arn));
  }
  auto settings = ReadUrlSettings(json::parse(req.body(), nullptr, false), nullptr);
  if (auto* e = std::get_if<UrlSettingsError>(&settings)) return SettingsError(req, *e);
  auto url = OpenUrl(fn, qualifier, std::get<UrlSettings>(std::move(settings)));
  if (!url.ok()) {
    return AwsError(req, bhttp::status::internal_server_error, "ServiceException",
                    url.status().message());
  }
  fn.urls[qualifier] = *url;
  return http::MakeResponse(req, bhttp::status::created, UrlConfigJson(fn, **url, true).dump());
}

}  // namespace faultline::lambda
