// The event invoke configuration API (2019-09-25): Put (replace), Update
// (merge), Get, Delete on /functions/{name}/event-invoke-config[?Qualifier=],
// List on .../event-invoke-config/list; shapes and errors as AWS's. What
// the configuration does is async_delivery.cc's.
#include <fmt/format.h>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace {

double EpochSeconds() { return static_cast<double>(EpochMs()) / 1000.0; }

}  // namespace

Response Platform::HandleEventInvokeApi(const Request& req, Function& fn, const PathParts& tail) {
  const bhttp::verb verb = req.method();
  if (tail.size() == 2 && tail[1] == "list" && verb == bhttp::verb::get) {
    json list = json::array();
    for (const auto& [q, c] : fn.event_invoke_configs) {
      list.push_back(EventInvokeConfigJson(c, fn.arn + ":" + q));
    }
    return Page(req, list, "FunctionEventInvokeConfigs");
  }
  if (tail.size() != 1) return UnknownOperation(req);
  const std::string_view target(req.target().data(), req.target().size());
  std::string qualifier = QueryParam(target, "Qualifier").value_or(std::string(kLatest));
  if (qualifier.empty()) qualifier = kLatest;
  Random none(0);
  if (!Resolve(qualifier, fn.versions, fn.aliases, none)) {
    return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                    "The function doesn't exist.");
  }
  const std::string arn = fn.arn + ":" + qualifier;
  auto it = fn.event_invoke_configs.find(qualifier);
  const bool put = verb == bhttp::verb::put, update = verb == bhttp::verb::post;
  if (it == fn.event_invoke_configs.end() && !put) {
    return AwsError(req, bhttp::status::not_found, "ResourceNotFoundException",
                    fmt::format("The function {} doesn't have an EventInvokeConfig", arn));
  }
  if (verb == bhttp::verb::get) {
    return http::MakeResponse(req, bhttp::status::ok,
                              EventInvokeConfigJson(it->second, arn).dump());
  }
  if (verb == bhttp::verb::delete_) {
    fn.event_invoke_configs.erase(it);
    return http::MakeResponse(req, bhttp::status::no_content, "", "");
  }
  if (!put && !update) return UnknownOperation(req);
  auto read =
      ReadEventInvokeConfig(json::parse(req.body(), nullptr, false), update ? &it->second : nullptr,
                            fn.arn, [this](std::string_view destination) {
                              auto t = TargetOf(destination, options.sinks_dir);
                              return t && std::holds_alternative<FunctionTarget>(*t) &&
                                     functions.contains(std::get<FunctionTarget>(*t).name);
                            });
  if (auto* e = std::get_if<EventConfigError>(&read)) {
    if (!e->validation) return InvalidParameter(req, e->message);
    Response res =
        http::MakeResponse(req, bhttp::status::bad_request, json{{"message", e->message}}.dump());
    res.set("x-amzn-ErrorType", "ValidationException");
    return res;
  }
  EventInvokeConfig config = std::get<EventInvokeConfig>(std::move(read));
  config.last_modified = EpochSeconds();
  fn.event_invoke_configs[qualifier] = config;
  return http::MakeResponse(req, bhttp::status::ok, EventInvokeConfigJson(config, arn).dump());
}

}  // namespace faultline::lambda
