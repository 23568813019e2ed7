// The Lambda functions of the faultline provider: AWS's management API on
// the emulator (docs/lambda.md), SigV4-signed as `faultline lambda invoke`
// signs (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else the emulator's own
// credentials file), and its open /metrics.json.
//
//   put-/delete-function-concurrency:
//     GetFunctionConcurrency ─► record_undo(reserved | null) ─► Put / Delete
//   update-function-configuration:
//     GetFunctionConfiguration ─► record_undo(the keys it changes, as they
//     were) ─► UpdateFunctionConfiguration
//   metrics: GET /metrics.json ─► the function's object (or all)
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "aws/credentials.h"
#include "experiment/native_internal.h"

namespace faultline::experiment::native_internal {

namespace {

std::string Env(const Shared& shared, const std::string& name) {
  return shared.options.env ? shared.options.env(name).value_or("") : "";
}

// The endpoint argument, else AWS_ENDPOINT_URL_LAMBDA, else
// AWS_ENDPOINT_URL (as boto3 reads them), else serve's default.
Result<std::string> LambdaEndpoint(const Shared& shared, const json& args) {
  std::string fallback = Env(shared, "AWS_ENDPOINT_URL_LAMBDA");
  if (fallback.empty()) fallback = Env(shared, "AWS_ENDPOINT_URL");
  if (fallback.empty()) fallback = NativeProvider::kDefaultLambdaEndpoint;
  return StringArg(args, "endpoint", fallback);
}

Result<aws::Credentials> Credentials(const Shared& shared) {
  const std::string key = Env(shared, "AWS_ACCESS_KEY_ID");
  const std::string secret = Env(shared, "AWS_SECRET_ACCESS_KEY");
  if (!key.empty() && !secret.empty()) {
    return aws::Credentials{key, secret, Env(shared, "AWS_SESSION_TOKEN")};
  }
  std::string dir = shared.options.credentials_dir;
  if (dir.empty()) {
    Result<std::string> def = aws::DefaultCredentialsDir();
    if (!def.ok()) return def.status();
    dir = *def;
  }
  return aws::LoadOrCreateCredentials(dir);
}

std::string Region(const Shared& shared) {
  std::string region = Env(shared, "AWS_REGION");
  if (region.empty()) region = Env(shared, "AWS_DEFAULT_REGION");
  return region.empty() ? "us-east-1" : region;
}

// A function name or ARN as it may go into a path unencoded.
Result<std::string> FunctionArg(const json& args) {
  Result<std::string> name = StringArg(args, "function");
  if (!name.ok()) return name;
  const bool plain = !name->empty() && std::all_of(name->begin(), name->end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == ':' ||
           c == '.';
  });
  if (!plain) {
    return Status::InvalidArgument(fmt::format(
        "arguments.function: expected a function name or ARN (letters, digits, - _ : .), got "
        "\"{}\"",
        *name));
  }
  return name;
}

// One signed call to the Lambda API; a non-2xx answer is an error naming
// the operation.
Result<HttpAnswer> Api(const Shared& shared, const std::string& endpoint, std::string_view op,
                       std::string method, std::string path, std::string body = "") {
  Result<aws::Credentials> creds = Credentials(shared);
  if (!creds.ok()) return creds.status().WithContext("credentials");
  HttpCall call;
  call.method = std::move(method);
  call.endpoint = endpoint;
  call.path = std::move(path);
  call.body = std::move(body);
  call.timeout = shared.options.request_timeout;
  if (!call.body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  call.sign = Signing{*creds, Region(shared), shared.options.clock->Now()};
  Result<HttpAnswer> answer = Send(call);
  if (!answer.ok()) {
    return answer.status().WithContext(op);
  }
  if (answer->status >= 200 && answer->status < 300) return answer;
  return Status::Unavailable(fmt::format("{} {}", op, Refused(*answer)));
}

std::string ConcurrencyPath(std::string_view version, const std::string& function) {
  return fmt::format("/{}/functions/{}/concurrency", version, function);
}

std::string ConfigurationPath(const std::string& function) {
  return fmt::format("/2015-03-31/functions/{}/configuration", function);
}

// The function's reserved concurrency; nullopt when it has none.
Result<std::optional<std::int64_t>> Reserved(const Shared& shared, const std::string& endpoint,
                                             const std::string& function) {
  Result<HttpAnswer> got = Api(shared, endpoint, "GetFunctionConcurrency", "GET",
                               ConcurrencyPath("2019-09-30", function));
  if (!got.ok()) return got.status();
  const json body = BodyJson(got->body);
  const json* n = body.is_object() ? Arg(body, "ReservedConcurrentExecutions") : nullptr;
  if (n == nullptr) return std::optional<std::int64_t>();
  if (!n->is_number_integer()) {
    return Status::Unavailable("GetFunctionConcurrency answered " + got->body);
  }
  return std::optional<std::int64_t>(n->get<std::int64_t>());
}

Status RecordConcurrencyUndo(const Shared& shared, const std::string& endpoint,
                             const std::string& function, std::optional<std::int64_t> reserved) {
  json undo = {{"kind", "function-concurrency"},
               {"endpoint", endpoint},
               {"function", function},
               {"reserved", nullptr}};
  if (reserved) undo["reserved"] = *reserved;
  const std::string description =
      reserved ? fmt::format("set function {}'s reserved concurrency back to {} at {}", function,
                             *reserved, endpoint)
               : fmt::format("delete function {}'s reserved concurrency at {} (it had none)",
                             function, endpoint);
  return RecordUndo(shared, undo, description);
}

Status SetReserved(const Shared& shared, const std::string& endpoint, const std::string& function,
                   std::optional<std::int64_t> reserved, json* answer) {
  Result<HttpAnswer> done = reserved ? Api(shared, endpoint, "PutFunctionConcurrency", "PUT",
                                           ConcurrencyPath("2017-10-31", function),
                                           json{{"ReservedConcurrentExecutions", *reserved}}.dump())
                                     : Api(shared, endpoint, "DeleteFunctionConcurrency", "DELETE",
                                           ConcurrencyPath("2017-10-31", function));
  if (!done.ok()) return done.status();
  if (answer != nullptr) *answer = BodyJson(done->body);
  return Status::Ok();
}

// Both concurrency functions: `reserved` nullopt deletes the reservation.
ProviderResult ChangeConcurrency(Shared& shared, const json& args, std::string_view func,
                                 bool put) {
  Result<std::string> endpoint = LambdaEndpoint(shared, args);
  if (!endpoint.ok()) return Failure(func, "", endpoint.status().message());
  Result<std::string> function = FunctionArg(args);
  if (!function.ok()) return Failure(func, *endpoint, function.status().message());
  std::optional<std::int64_t> reserved;
  if (put) {
    Result<std::int64_t> n = IntArg(args, "reserved");
    if (n.ok() && *n < 0) n = Status::InvalidArgument("arguments.reserved: expected 0 or more");
    if (!n.ok()) return Failure(func, *endpoint, n.status().message());
    reserved = *n;
  }
  Result<std::optional<std::int64_t>> before = Reserved(shared, *endpoint, *function);
  if (!before.ok()) return Failure(func, *endpoint, before.status().message());
  if (Status s = RecordConcurrencyUndo(shared, *endpoint, *function, *before); !s.ok()) {
    return Failure(func, *endpoint, s.message());
  }
  json answer;
  if (Status s = SetReserved(shared, *endpoint, *function, reserved, &answer); !s.ok()) {
    return Failure(func, *endpoint, s.message());
  }
  return Output(std::move(answer));
}

// The environment argument as AWS's Environment (values as text).
Result<json> EnvironmentArg(const json& value) {
  if (!value.is_object()) {
    return Status::InvalidArgument("arguments.environment: expected a mapping of names to values");
  }
  json vars = json::object();
  for (const auto& [k, v] : value.items()) {
    if (v.is_object() || v.is_array() || v.is_null()) {
      return Status::InvalidArgument(fmt::format(
          "arguments.environment.{}: expected a string, number or boolean, got {}", k, v.dump()));
    }
    vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return json{{"Variables", vars}};
}

// UpdateFunctionConfiguration's body from the arguments.
Result<json> ConfigurationChange(const json& args) {
  json body = json::object();
  for (const auto& [arg, key] : {std::pair{"timeout", "Timeout"}, {"memory_size", "MemorySize"}}) {
    if (Arg(args, arg) == nullptr) continue;
    Result<std::int64_t> n = IntArg(args, arg);
    if (!n.ok()) return n.status();
    body[key] = *n;
  }
  if (const json* env = Arg(args, "environment")) {
    Result<json> e = EnvironmentArg(*env);
    if (!e.ok()) return e.status();
    body["Environment"] = *e;
  }
  if (body.empty()) {
    return Status::InvalidArgument("nothing to change: give timeout, memory_size or environment");
  }
  return body;
}

// The keys of `change` as `current` has them, and the undo's description.
json Previous(const json& change, const json& current, std::string* what) {
  json previous = json::object();
  for (const auto& [key, value] : change.items()) {
    if (key == "Environment") {
      const json* env = Arg(current, "Environment");
      const json* vars = env != nullptr ? Arg(*env, "Variables") : nullptr;
      previous[key] = {{"Variables", vars != nullptr ? *vars : json::object()}};
      *what += fmt::format("{}its environment ({} variables)", what->empty() ? "" : ", ",
                           previous[key]["Variables"].size());
    } else {
      previous[key] = current.contains(key) ? current[key] : json(nullptr);
      *what += fmt::format("{}{} {}", what->empty() ? "" : ", ", key, previous[key].dump());
    }
  }
  return previous;
}

Result<json> Metric(const json& doc, const std::string& function) {
  const json* functions = doc.is_object() ? Arg(doc, "functions") : nullptr;
  if (functions == nullptr || !functions->is_object()) {
    return Status::Unavailable("/metrics.json has no \"functions\"");
  }
  if (function.empty()) return doc;
  if (const json* m = Arg(*functions, function)) return *m;
  std::string names;
  for (const auto& [name, unused] : functions->items()) names += (names.empty() ? "" : ", ") + name;
  return Status::NotFound(fmt::format("no metrics for function \"{}\" (the endpoint has: {})",
                                      function, names.empty() ? "none" : names));
}

}  // namespace

ProviderResult PutConcurrency(Shared& shared, const json& args) {
  return ChangeConcurrency(shared, args, "put-function-concurrency", true);
}

ProviderResult DeleteConcurrency(Shared& shared, const json& args) {
  return ChangeConcurrency(shared, args, "delete-function-concurrency", false);
}

ProviderResult UpdateConfiguration(Shared& shared, const json& args) {
  constexpr std::string_view kFunc = "update-function-configuration";
  Result<std::string> endpoint = LambdaEndpoint(shared, args);
  if (!endpoint.ok()) return Failure(kFunc, "", endpoint.status().message());
  Result<std::string> function = FunctionArg(args);
  Result<json> change = function.ok() ? ConfigurationChange(args) : Result<json>(function.status());
  if (!change.ok()) return Failure(kFunc, *endpoint, change.status().message());
  Result<HttpAnswer> got =
      Api(shared, *endpoint, "GetFunctionConfiguration", "GET", ConfigurationPath(*function));
  if (!got.ok()) return Failure(kFunc, *endpoint, got.status().message());
  std::string what;
  const json previous = Previous(*change, BodyJson(got->body), &what);
  const json undo = {{"kind", "function-configuration"},
                     {"endpoint", *endpoint},
                     {"function", *function},
                     {"configuration", previous}};
  const std::string description =
      fmt::format("set function {}'s {} back at {}", *function, what, *endpoint);
  if (Status s = RecordUndo(shared, undo, description); !s.ok()) {
    return Failure(kFunc, *endpoint, s.message());
  }
  Result<HttpAnswer> done = Api(shared, *endpoint, "UpdateFunctionConfiguration", "PUT",
                                ConfigurationPath(*function), change->dump());
  if (!done.ok()) return Failure(kFunc, *endpoint, done.status().message());
  return Output(BodyJson(done->body));
}

ProviderResult Metrics(Shared& shared, const json& args) {
  constexpr std::string_view kFunc = "metrics";
  Result<std::string> endpoint = LambdaEndpoint(shared, args);
  if (!endpoint.ok()) return Failure(kFunc, "", endpoint.status().message());
  Result<std::string> function = StringArg(args, "function", "");
  if (!function.ok()) return Failure(kFunc, *endpoint, function.status().message());
  // Open, read-only (docs/lambda.md): no signature, so no credentials needed.
  HttpCall call{.method = "GET", .endpoint = *endpoint, .path = "/metrics.json"};
  call.timeout = shared.options.request_timeout;
  Result<HttpAnswer> got = Send(call);
  if (got.ok() && got->status != 200)
    got = Status::Unavailable("GET /metrics.json " + Refused(*got));
  if (!got.ok()) return Failure(kFunc, *endpoint, got.status().message());
  Result<json> metric = Metric(BodyJson(got->body), *function);
  if (!metric.ok()) return Failure(kFunc, *endpoint, metric.status().message());
  return Output(*std::move(metric));
}

Status UndoConcurrency(Shared& shared, const json& undo) {
  Result<std::string> endpoint = StringArg(undo, "endpoint");
  Result<std::string> function = endpoint.ok() ? FunctionArg(undo) : endpoint;
  if (!function.ok())
    return Status::InvalidArgument("undo of concurrency: " + function.status().message());
  std::optional<std::int64_t> reserved;
  if (Arg(undo, "reserved") != nullptr) {
    Result<std::int64_t> n = IntArg(undo, "reserved");
    if (!n.ok()) return Status::InvalidArgument("undo of concurrency: " + n.status().message());
    reserved = *n;
  }
  Status s = SetReserved(shared, *endpoint, *function, reserved, nullptr);
  if (s.ok()) return s;
  return s.WithContext(
      fmt::format("undo of function {}'s concurrency at {}", *function, *endpoint));
}

Status UndoConfiguration(Shared& shared, const json& undo) {
  Result<std::string> endpoint = StringArg(undo, "endpoint");
  Result<std::string> function = endpoint.ok() ? FunctionArg(undo) : endpoint;
  const json* configuration = Arg(undo, "configuration");
  if (!function.ok() || configuration == nullptr || !configuration->is_object()) {
    return Status::InvalidArgument(
        "undo of a configuration: expected endpoint, function and "
        "configuration, got " +
        undo.dump());
  }
  Result<HttpAnswer> done = Api(shared, *endpoint, "UpdateFunctionConfiguration", "PUT",
                                ConfigurationPath(*function), configuration->dump());
  if (done.ok()) return Status::Ok();
  return done.status().WithContext(
      fmt::format("undo of function {}'s configuration at {}", *function, *endpoint));
}

}  // namespace faultline::experiment::native_internal
