#include "lambda/api_common.h"

#include "http/encoding.h"

namespace faultline::lambda {

Response AwsError(const Request& req, bhttp::status status, std::string_view type,
                  std::string_view message, json extra) {
  extra["Type"] = "User";
  // AWS's own inconsistency, which clients read either way: "Message" for
  // ResourceNotFoundException, "message" for the other Lambda errors.
  extra[type == "ResourceNotFoundException" ? "Message" : "message"] = message;
  Response res = http::MakeResponse(req, status, extra.dump());
  res.set("x-amzn-ErrorType", std::string(type));
  return res;
}

Response NotFound(const Request& req, const std::string& arn) {
  return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                  "Function not found: " + arn);
}

Response InvalidParameter(const Request& req, std::string_view message) {
  return AwsError(req, bhttp::status::bad_request, "InvalidParameterValueException", message);
}

Response UnknownOperation(const Request& req) {
  return AwsError(
      req, bhttp::status::not_found, "UnknownOperationException",
      "Unknown operation: " + std::string(req.method_string()) + " " + std::string(req.target()));
}

Response Page(const Request& req, const json& items, std::string_view key) {
  const std::string_view target(req.target().data(), req.target().size());
  std::size_t max = 50, from = 0;
  if (auto m = QueryParam(target, "MaxItems")) {
    const long n = std::strtol(m->c_str(), nullptr, 10);
    if (m->empty() || m->find_first_not_of("0123456789") != std::string::npos || n < 1 ||
        n > 10000) {
      return InvalidParameter(req,
                              "MaxItems: expected an integer in [1, 10000], got \"" + *m + "\"");
    }
    max = std::min<std::size_t>(50, static_cast<std::size_t>(n));
  }
  if (auto m = QueryParam(target, "Marker"); m && !m->empty()) {
    if (m->find_first_not_of("0123456789") != std::string::npos ||
        std::strtoul(m->c_str(), nullptr, 10) > items.size()) {
      return InvalidParameter(req, "Marker: not a NextMarker of this list: \"" + *m + "\"");
    }
    from = std::strtoul(m->c_str(), nullptr, 10);
  }
  json page = json::array();
  for (std::size_t i = from; i < items.size() && page.size() < max; ++i) page.push_back(items[i]);
  json out{{std::string(key), page}};
  if (from + page.size() < items.size()) out["NextMarker"] = std::to_string(from + page.size());
  return http::MakeResponse(req, bhttp::status::ok, out.dump());
}

std::string PlatformError(std::string_view type, std::string_view message) {
  return json{{"errorType", type}, {"errorMessage", message}}.dump();
}

PathParts SplitPath(std::string_view path) {
  PathParts out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

std::optional<std::string> QueryParam(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    return http::PercentDecode(value).value_or(std::string(value));
  }
  return std::nullopt;
}

std::string FunctionNameOf(std::string_view raw) {
  std::string decoded = http::PercentDecode(raw).value_or(std::string(raw));
  std::string_view s = decoded;
  if (const std::size_t f = s.find("function:"); f != std::string_view::npos) {
    s.remove_prefix(f + 9);
  }
  return std::string(s.substr(0, s.find(':')));  // "name:qualifier"
}

}  // namespace faultline::lambda
