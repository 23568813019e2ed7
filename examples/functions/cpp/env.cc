// env: answers a JSON object with the environment Lambda gives a function
// (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, _HANDLER, ...)
// plus one variable named by the payload {"var": "NAME"}; unset ones are null.
// Experiments use it to check what configuration an environment received.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;
using faultline::lambda::JsonEscape;

namespace {

constexpr std::string_view kStandardVars[] = {
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_TIMEOUT",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
};

// The string value of the "var" key, if there is one (no escapes: a
// variable name does not need them).
std::string ParseVarName(std::string_view payload) {
  size_t i = payload.find("\"var\"");
  if (i == std::string_view::npos) return {};
  i = payload.find_first_not_of(" \t\r\n", i + 5);
  if (i == std::string_view::npos || payload[i] != ':') return {};
  i = payload.find_first_not_of(" \t\r\n", i + 1);
  if (i == std::string_view::npos || payload[i] != '"') return {};
  size_t end = payload.find_first_of("\"\\", i + 1);
  if (end == std::string_view::npos || payload[end] != '"') return {};
  return std::string(payload.substr(i + 1, end - i - 1));
}

void AppendVar(std::string& out, std::string_view name) {
  if (out.size() > 1) out += ',';
  out += '"' + JsonEscape(name) + "\":";
  const char* value = std::getenv(std::string(name).c_str());
  out += value == nullptr ? std::string("null") : '"' + JsonEscape(value) + '"';
}

}  // namespace

int main() {
  faultline::lambda::RunHandler([](const InvocationRequest& req) {
    std::string out = "{";
    for (std::string_view name : kStandardVars) AppendVar(out, name);
    std::string custom = ParseVarName(req.payload);
    if (!custom.empty()) AppendVar(out, custom);
    out += '}';
    return InvocationResponse::Success(std::move(out));
  });
}
