// libFuzzer target for the Invoke / management APIs' request bodies and the
// function URL conversions: any input, as a JSON body of CreateAlias /
// UpdateAlias, Put/UpdateFunctionEventInvokeConfig and
// Create/UpdateFunctionUrlConfig, as a function URL request's body and
// target, and as a function's answer to a URL (whole or a streamed
// prelude), gives a value or an error with a message: never a crash, an
// exception, a hang or undefined behaviour. What a reader accepts satisfies
// AWS's limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lambda/async_policy.h"
#include "lambda/function_urls.h"
#include "lambda/versions.h"

namespace {

using faultline::lambda::AliasError;
using faultline::lambda::EventConfigError;
using faultline::lambda::EventInvokeConfig;
using faultline::lambda::UrlSettingsError;
using json = nlohmann::json;

void Bodies(const json& body) {
  namespace lambda = faultline::lambda;
  std::map<int, lambda::Version> versions;
  versions[1].name = "1";
  versions[2].name = "2";
  auto alias = lambda::ReadAlias(body, nullptr, versions, "arn:f");
  if (auto* e = std::get_if<AliasError>(&alias)) {
    if (e->message.empty()) __builtin_trap();
  } else {
    const auto& a = std::get<lambda::Alias>(alias);
    if (a.additional && (a.additional->second < 0 || a.additional->second > 1)) __builtin_trap();
    (void)lambda::AliasJson(a, "arn:f").dump();
    (void)lambda::ReadAlias(body, &a, versions, "arn:f");
  }
  auto config = lambda::ReadEventInvokeConfig(body, nullptr, "arn:aws:lambda:r:1:function:me",
                                              [](std::string_view) { return true; });
  if (auto* e = std::get_if<EventConfigError>(&config)) {
    if (e->message.empty()) __builtin_trap();
  } else {
    const auto& c = std::get<EventInvokeConfig>(config);
    if (c.maximum_retry_attempts &&
        (*c.maximum_retry_attempts < 0 || *c.maximum_retry_attempts > 2)) {
      __builtin_trap();
    }
    (void)lambda::EventInvokeConfigJson(c, "arn").dump();
  }
  auto url = lambda::ReadUrlSettings(body, nullptr);
  if (auto* e = std::get_if<UrlSettingsError>(&url)) {
    if (e->message.empty()) __builtin_trap();
  } else {
    const auto& u = std::get<lambda::UrlSettings>(url);
    if (u.auth_type != "NONE" && u.auth_type != "AWS_IAM") __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace lambda = faultline::lambda;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  Bodies(body);
  lambda::UrlRequest req{.method = "POST",
                         .target = std::string(text.substr(0, 256)),
                         .headers = {{"Cookie", std::string(text.substr(0, 64))}},
                         .body = std::string(text)};
  if (!json::accept(lambda::UrlEventPayload(req, {}))) __builtin_trap();
  (void)lambda::UrlAnswerOf(text, "application/json");
  (void)lambda::UrlAnswerOf(text, lambda::kHttpIntegrationContentType);
  if (auto p = lambda::ParsePrelude(text); p && p->length > text.size()) __builtin_trap();
  (void)lambda::TargetOf(text, "/sinks");
  return 0;
}
