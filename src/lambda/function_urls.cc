#include "lambda/function_urls.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "http/encoding.h"
#include "lambda/utf8.h"

namespace faultline::lambda {

using json = nlohmann::json;

namespace {

UrlSettingsError Validation(std::string message) { return {true, std::move(message)}; }

std::optional<UrlSettingsError> ReadEnum(const json& body, const char* key, const char* field,
                                         std::initializer_list<std::string_view> allowed,
                                         std::string* out) {
  if (!body.contains(key)) return std::nullopt;
  const json& v = body[key];
  const std::string got = v.is_string() ? v.get<std::string>() : v.dump();
  if (!v.is_string() ||
      std::find(allowed.begin(), allowed.end(), std::string_view(got)) == allowed.end()) {
    return Validation(fmt::format(
        "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member "
        "must satisfy enum value set: [{}]",
        got, field, fmt::join(allowed, ", ")));
  }
  *out = got;
  return std::nullopt;
}

}  // namespace

std::variant<UrlSettings, UrlSettingsError> ReadUrlSettings(const json& body,
                                                            const UrlSettings* current) {
  if (!body.is_object()) return UrlSettingsError{false, "request body: expected a JSON object"};
  UrlSettings out = current ? *current : UrlSettings{};
  if (!current && !body.contains("AuthType")) {
    return Validation(
        "1 validation error detected: Value null at 'authType' failed to satisfy constraint: "
        "Member must not be null");
  }
  if (auto e = ReadEnum(body, "AuthType", "authType", {"NONE", "AWS_IAM"}, &out.auth_type)) {
    return *e;
  }
  if (auto e = ReadEnum(body, "InvokeMode", "invokeMode", {"BUFFERED", "RESPONSE_STREAM"},
                        &out.invoke_mode)) {
    return *e;
  }
  if (body.contains("InvokeMode")) out.invoke_mode_given = true;
  if (body.contains("Cors")) {
    if (!body["Cors"].is_object()) return UrlSettingsError{false, "Cors: expected an object"};
    out.cors = body["Cors"];
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "AuthType" && key != "InvokeMode" && key != "Cors" && key != "Qualifier") {
      return UrlSettingsError{false, key +
                                         ": not a FunctionUrlConfig setting (AuthType, "
                                         "InvokeMode, Cors)"};
    }
  }
  return out;
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Text that the event carries as is; anything else (and text that is not
// UTF-8, which JSON cannot carry) is base64.
bool IsText(std::string_view content_type, std::string_view body) {
  if (!ValidUtf8(body)) return false;
  const std::string ct = Lower(content_type);
  if (ct.starts_with("text/")) return true;
  for (std::string_view t : {"json", "xml", "javascript", "x-www-form-urlencoded", "yaml"}) {
    if (ct.find(t) != std::string::npos) return true;
  }
  if (!ct.empty()) return false;
  return std::all_of(body.begin(), body.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || u == '\n' || u == '\r' || u == '\t';
  });
}

// name=value pairs of a query string, decoded; a repeated name's values
// joined with ',' (as AWS does).
json QueryParameters(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto decode = [](std::string_view s) {
      std::string plus(s);
      std::replace(plus.begin(), plus.end(), '+', ' ');
      return http::PercentDecode(plus).value_or(plus);
    };
    const std::string name = decode(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    auto [it, fresh] = params.emplace(name, value);
    if (!fresh) it->second += "," + value;
  }
  json out = json::object();
  for (auto& [k, v] : params) out[k] = v;
  return out;
}

}  // namespace

std::string UrlEventTime(std::int64_t epoch_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  return buf;
}

json UrlEvent(const UrlRequest& req, const UrlContext& ctx) {
  const std::string_view target = req.target;
  const std::size_t q = target.find('?');
  const std::string path(target.substr(0, q));
  const std::string query(q == std::string_view::npos ? "" : target.substr(q + 1));
  json headers = json::object();
  json cookies = json::array();
  std::string user_agent, content_type, host;
  for (const auto& [name, value] : req.headers) {
    const std::string key = Lower(name);
    if (key == "cookie") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::size_t semi = rest.find(';');
        std::string_view c = rest.substr(0, semi);
        while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
        if (!c.empty()) cookies.push_back(std::string(c));
        rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
      }
      continue;
    }
    if (key == "user-agent") user_agent = value;
    if (key == "content-type") content_type = value;
    if (key == "host") host = value;
    headers[key] = headers.contains(key) ? headers[key].get<std::string>() + "," + value : value;
  }
  headers["x-forwarded-for"] = req.source_ip;
  headers["x-forwarded-proto"] = "http";
  json context{{"accountId", ctx.access_key_id.empty() ? "anonymous" : ctx.account_id},
               {"apiId", ctx.url_id},
               {"domainName", host},
               {"domainPrefix", ctx.url_id},
               {"http",
                {{"method", req.method},
                 {"path", path},
                 {"protocol", "HTTP/1.1"},
                 {"sourceIp", req.source_ip},
                 {"userAgent", user_agent}}},
               {"requestId", ctx.request_id},
               {"routeKey", "$default"},
               {"stage", "$default"},
               {"time", UrlEventTime(ctx.epoch_ms)},
               {"timeEpoch", ctx.epoch_ms}};
  if (!ctx.access_key_id.empty()) {
    context["authorizer"] = {
        {"iam",
         {{"accessKey", ctx.access_key_id},
          {"accountId", ctx.account_id},
          {"callerId", ctx.access_key_id},
          {"cognitoIdentity", nullptr},
          {"principalOrgId", nullptr},
          {"userArn", fmt::format("arn:aws:iam::{}:user/faultline", ctx.account_id)},
          {"userId", ctx.access_key_id}}}};
  }
  json event{{"version", "2.0"},        {"routeKey", "$default"}, {"rawPath", path},
             {"rawQueryString", query}, {"headers", headers},     {"requestContext", context},
             {"isBase64Encoded", false}};
  if (!cookies.empty()) event["cookies"] = cookies;
  if (!query.empty()) event["queryStringParameters"] = QueryParameters(query);
  if (!req.body.empty()) {
    const bool text = IsText(content_type, req.body);
    event["body"] = text ? req.body : http::Base64Encode(req.body);
    event["isBase64Encoded"] = !text;
  }
  return event;
}

std::string UrlEventPayload(const UrlRequest& req, const UrlContext& ctx) {
  return UrlEvent(req, ctx).dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// statusCode / headers / cookies of a proxy-integration object (or a prelude).
UrlAnswer HeadOf(const json& obj) {
  UrlAnswer out;
  out.status = obj.contains("statusCode") && obj["statusCode"].is_number_integer()
                   ? obj["statusCode"].get<int>()
                   : 200;
  if (obj.contains("headers") && obj["headers"].is_object()) {
    for (const auto& [k, v] : obj["headers"].items()) {
      out.headers.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  if (obj.contains("cookies") && obj["cookies"].is_array()) {
    for (const json& c : obj["cookies"]) {
      if (c.is_string()) out.headers.emplace_back("Set-Cookie", c.get<std::string>());
    }
  }
  return out;
}

bool HasHeader(const UrlAnswer& a, std::string_view name) {
  return std::any_of(a.headers.begin(), a.headers.end(),
                     [&](const auto& h) { return Lower(h.first) == Lower(name); });
}

}  // namespace

UrlAnswer UrlAnswerOf(std::string_view body, std::string_view content_type) {
  if (content_type == kHttpIntegrationContentType) {
    std::optional<Prelude> prelude = ParsePrelude(body);
    if (!prelude) return UrlAnswer{.status = 200, .headers = {}, .body = std::string(body)};
    UrlAnswer out = std::move(prelude->head);
    out.body = std::string(body.substr(prelude->length));
    return out;
  }
  const json value = json::parse(body, nullptr, false);
  if (value.is_object() && value.contains("statusCode")) {
    UrlAnswer out = HeadOf(value);
    if (value.contains("body")) {
      const json& b = value["body"];
      out.body = b.is_string() ? b.get<std::string>() : b.dump();
      if (value.value("isBase64Encoded", false) && b.is_string()) {
        out.body = http::Base64Decode(out.body).value_or(out.body);
      }
    }
    if (!HasHeader(out, "Content-Type"))
      out.headers.emplace_back("Content-Type", "application/json");
    return out;
  }
  UrlAnswer out;
  out.headers.emplace_back("Content-Type", "application/json");
  // A string is sent as its text, any other value as the JSON it is.
  out.body = value.is_string() ? value.get<std::string>() : std::string(body);
  return out;
}

std::optional<Prelude> ParsePrelude(std::string_view bytes) {
  static constexpr std::string_view kDelimiter("\0\0\0\0\0\0\0\0", 8);
  const std::size_t end = bytes.find(kDelimiter);
  if (end == std::string_view::npos) return std::nullopt;
  const json prelude = json::parse(bytes.substr(0, end), nullptr, false);
  Prelude out;
  out.length = end + kDelimiter.size();
  if (!prelude.is_object()) {
    out.head.status = 502;
    return out;
  }
  out.head = HeadOf(prelude);
  return out;
}

}  // namespace faultline::lambda
