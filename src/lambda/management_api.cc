// The management API: ListFunctions, GetFunction, Get/UpdateFunctionConfiguration,
// Put/Get/DeleteFunctionConcurrency; and the routing of every request to
// the Invoke / management port.
#include <fmt/format.h>

#include "lambda/concurrency.h"
#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

json Platform::ConfigurationJson(const Function& fn, std::string_view version,
                                 std::string_view arn_qualifier) const {
  const bool latest = version == kLatest;
  const Version* published = latest ? nullptr : &fn.versions.at(std::stoi(std::string(version)));
  const FunctionConfig& c = latest ? fn.config : published->config;
  json env = json::object();
  for (const auto& [k, v] : c.environment) env[k] = v;
  json out{
      {"FunctionName", c.name},
      {"FunctionArn", arn_qualifier.empty() ? fn.arn : fn.arn + ":" + std::string(arn_qualifier)},
      {"Runtime", c.runtime},
      {"Role", fmt::format("arn:aws:iam::{}:role/faultline-local", options.account_id)},
      {"Handler", c.handler},
      {"CodeSize", 0},
      {"Description", latest ? fn.description : published->description},
      {"Timeout", c.timeout.count() / 1000},
      {"MemorySize", c.memory_mb},
      {"LastModified", latest ? fn.last_modified : published->last_modified},
      {"CodeSha256", ""},
      {"Version", std::string(version)},
      {"Environment", {{"Variables", env}}},
      {"TracingConfig", {{"Mode", "PassThrough"}}},
      {"RevisionId", latest ? fn.revision_id : published->revision_id},
      {"State", "Active"},
      {"LastUpdateStatus", "Successful"},
      {"PackageType", "Zip"},
      {"Architectures", {"x86_64"}},
      {"EphemeralStorage", {{"Size", 512}}},
      {"LoggingConfig", {{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + c.name}}}};
  if (!c.dead_letter_target.empty()) {
    out["DeadLetterConfig"] = {{"TargetArn", c.dead_letter_target}};
  }
  return out;
}

// GetFunctionConfiguration, with a Qualifier (in the name or the query) for
// a version's or an alias's.
Response Platform::FunctionConfiguration(const Request& req, const Function& fn,
                                         bhttp::status status) {
  auto which = ConfigQualifier(req, fn);
  if (auto* refused = std::get_if<Response>(&which)) return std::move(*refused);
  const auto& [version, qualifier] = std::get<Resolved>(which);
  return http::MakeResponse(req, status, ConfigurationJson(fn, version, qualifier).dump());
}

namespace {

// What an UpdateFunctionConfiguration body asks for.
struct ConfigUpdate {
  FunctionConfig config;
  std::string description;
};

// Environment.Variables into `out`, or what is wrong with them.
std::string ReadVariables(const json& value, std::map<std::string, std::string>& out) {
  out.clear();
  const json& vars = value.contains("Variables") ? value["Variables"] : json::object();
  if (!vars.is_object()) return "Environment.Variables: expected a map";
  for (const auto& [k, v] : vars.items()) {
    if (!v.is_string()) return "Environment.Variables." + k + ": expected a string";
    out[k] = v.get<std::string>();
  }
  return "";
}

// One key of the body applied to `next`; an error message, or empty.
std::string ReadUpdateKey(const std::string& key, const json& value, ConfigUpdate& next) {
  const bool typed = key == "Timeout" || key == "MemorySize" || key == "Handler" ||
                     key == "Environment" || key == "Description" || key == "DeadLetterConfig";
  if (key == "Timeout" && value.is_number_integer()) {
    next.config.timeout = std::chrono::seconds(value.get<long>());
  } else if (key == "MemorySize" && value.is_number_integer()) {
    next.config.memory_mb = value.get<int>();
  } else if (key == "Handler" && value.is_string()) {
    next.config.handler = value.get<std::string>();
  } else if (key == "Environment" && value.is_object()) {
    return ReadVariables(value, next.config.environment);
  } else if (key == "Description" && value.is_string()) {
    next.description = value.get<std::string>();
  } else if (key == "DeadLetterConfig" && value.is_object()) {
    const json target = value.contains("TargetArn") ? value["TargetArn"] : json("");
    if (!target.is_string()) return "DeadLetterConfig.TargetArn: expected a string";
    const std::string arn = target.get<std::string>();
    if (std::string e = arn.empty() ? "" : CheckDeadLetter(arn); !e.empty()) {
      return "DeadLetterConfig.TargetArn: expected " + e;
    }
    next.config.dead_letter_target = arn;
  } else if (typed) {
    return key + ": wrong type, got " + value.dump();
  } else if (key != "FunctionName" && key != "RevisionId") {
    return key +
           ": not supported by the local emulator (supported: Timeout, MemorySize, Handler, "
           "Environment, Description, DeadLetterConfig)";
  }
  return "";
}

}  // namespace

Response Platform::UpdateConfiguration(const Request& req, Function& fn) {
  json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object()) return InvalidParameter(req, "request body: expected a JSON object");
  if (auto refused = CheckRevision(req, body, fn.revision_id)) return std::move(*refused);
  ConfigUpdate next{fn.config, fn.description};
  for (const auto& [key, value] : body.items()) {
    if (std::string e = ReadUpdateKey(key, value, next); !e.empty()) {
      return InvalidParameter(req, e);
    }
  }
  if (Status s = ValidateFunctionConfig(next.config, options.config.account_concurrency); !s.ok()) {
    return InvalidParameter(req, s.message());
  }
  fn.config = std::move(next.config);
  fn.description = std::move(next.description);
  ++fn.generation;
  fn.last_modified = LastModifiedNow();
  fn.revision_id = NewRequestId(rng);
  // New configuration, new environments: idle ones go now, busy ones when done.
  for (auto& env : fn.envs) {
    if (!env->current) {
      StopEnvironment(env, "configuration changed");
    } else {
      env->current->done.Poke();  // Run: a new timeout for a delivery to come
    }
  }
  return FunctionConfiguration(req, fn, bhttp::status::ok);
}

Response Platform::PutConcurrency(const Request& req, Function& fn) {
  json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("ReservedConcurrentExecutions") ||
      !body["ReservedConcurrentExecutions"].is_number_integer()) {
    return InvalidParameter(req, "ReservedConcurrentExecutions: expected an integer");
  }
  const long n = body["ReservedConcurrentExecutions"].get<long>();
  int others = 0;
  for (auto& [name, other] : functions) {
    if (other.get() != &fn && other->config.reserved_concurrency) {
      others += *other->config.reserved_concurrency;
    }
  }
  const EmulatorConfig& account = options.config;
  if (Status s =
          CheckReservation(n, others, account.account_concurrency, UnreservedMinimum(account));
      !s.ok()) {
    return InvalidParameter(req, s.message());
  }
  // At once: the next invocation is admitted against the new reservation,
  // whatever environments are warm (scheduler.cc).
  fn.config.reserved_concurrency = static_cast<int>(n);
  CapacityFreed(fn);  // a larger reservation lets queued events run
  return http::MakeResponse(req, bhttp::status::ok,
                            json{{"ReservedConcurrentExecutions", n}}.dump());
}

// GetAccountSettings: the account's limits and what the functions use.
Response Platform::AccountSettings(const Request& req) const {
  int reserved = 0;
  for (const auto& [name, fn] : functions) reserved += fn->config.reserved_concurrency.value_or(0);
  const json out{
      {"AccountLimit",
       {{"TotalCodeSize", 80530636800},
        {"CodeSizeUnzipped", 262144000},
        {"CodeSizeZipped", 52428800},
        {"ConcurrentExecutions", options.config.account_concurrency},
        {"UnreservedConcurrentExecutions", options.config.account_concurrency - reserved}}},
      {"AccountUsage", {{"TotalCodeSize", 0}, {"FunctionCount", functions.size()}}}};
  return http::MakeResponse(req, bhttp::status::ok, out.dump());
}

// Every request to the Invoke / management port: the account's operations,
// then a function's (by the API version its path starts with).
Task<Response> Platform::HandleApi(Request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const PathParts p = SplitPath(target.substr(0, target.find('?')));
  const bhttp::verb verb = req.method();
  const bool get = verb == bhttp::verb::get;
  if (p.size() == 1 && p[0] == "metrics" && get) co_return MetricsText(req);
  if (p.size() == 1 && p[0] == "metrics.json" && get) co_return MetricsJson(req);
  if (p.size() == 2 && p[0] == "2016-08-19" && p[1] == "account-settings" && get) {
    co_return AccountSettings(req);
  }
  if (p.size() == 2 && p[0] == "2015-03-31" && p[1] == "functions" && get) {
    co_return ListFunctions(req);
  }
  if (p.size() < 3 || p[1] != "functions") co_return UnknownOperation(req);
  const std::string name = FunctionNameOf(p[2]);
  auto it = functions.find(name);
  if (it == functions.end()) co_return NotFound(req, Arn(name));
  Function& fn = *it->second;
  const PathParts tail(p.begin() + 3, p.end());
  if (p[0] == "2015-03-31" && tail.size() == 1 && tail[0] == "invocations" &&
      verb == bhttp::verb::post) {
    co_return co_await Invoke(fn, req);
  }
  co_return FunctionOperation(req, fn, p[0], tail);
}

// The function operations of each API version.
Response Platform::FunctionOperation(const Request& req, Function& fn, std::string_view version,
                                     const PathParts& tail) {
  const bhttp::verb verb = req.method();
  const std::string_view rest = tail.size() == 1 ? tail[0] : std::string_view();
  if (version == "2015-03-31" && !tail.empty() && tail[0] == "aliases" && tail.size() <= 2) {
    return HandleAliasApi(req, fn, tail);
  }
  if (version == "2019-09-25" && !tail.empty() && tail[0] == "event-invoke-config") {
    return HandleEventInvokeApi(req, fn, tail);
  }
  if (tail.size() > 1) return UnknownOperation(req);
  // Per function, not per version or alias (reserved concurrency, $LATEST's
  // configuration, publishing from $LATEST).
  const bool unqualified_only = rest == "concurrency" || rest == "configuration" ||
                                (rest == "versions" && verb == bhttp::verb::post);
  const bool reads_config = rest == "configuration" && verb == bhttp::verb::get;
  if (unqualified_only && !reads_config) {
    if (auto refused = RefuseQualified(req)) return std::move(*refused);
  }
  if (version == "2015-03-31") {
    if (rest == "versions" && verb == bhttp::verb::post) return PublishVersion(req, fn);
    if (rest == "versions" && verb == bhttp::verb::get) return ListVersions(req, fn);
    if (tail.empty() && verb == bhttp::verb::get) return GetFunction(req, fn);
    if (rest == "configuration" && verb == bhttp::verb::get) {
      return FunctionConfiguration(req, fn, bhttp::status::ok);
    }
    if (rest == "configuration" && verb == bhttp::verb::put) return UpdateConfiguration(req, fn);
  }
  if (version == "2017-10-31" && rest == "concurrency" && verb == bhttp::verb::put) {
    return PutConcurrency(req, fn);
  }
  if (version == "2017-10-31" && rest == "concurrency" && verb == bhttp::verb::delete_) {
    fn.config.reserved_concurrency.reset();  // at once (scheduler.cc)
    CapacityFreed(fn);
    return http::MakeResponse(req, bhttp::status::no_content, "", "");
  }
  if (version == "2019-09-30" && rest == "concurrency" && verb == bhttp::verb::get) {
    json out = json::object();
    if (fn.config.reserved_concurrency) {
      out["ReservedConcurrentExecutions"] = *fn.config.reserved_concurrency;
    }
    return http::MakeResponse(req, bhttp::status::ok, out.dump());
  }
  if (version == "2021-10-31" && (rest == "url" || rest == "urls")) {
    return HandleUrlApi(req, fn, rest);
  }
  return UnknownOperation(req);
}

Response Platform::GetFunction(const Request& req, const Function& fn) {
  auto which = ConfigQualifier(req, fn);
  if (auto* refused = std::get_if<Response>(&which)) return std::move(*refused);
  const auto& [version, qualifier] = std::get<Resolved>(which);
  json out{{"Configuration", ConfigurationJson(fn, version, qualifier)},
           {"Code", {{"RepositoryType", "S3"}, {"Location", ""}}}};
  if (fn.config.reserved_concurrency) {
    out["Concurrency"] = {{"ReservedConcurrentExecutions", *fn.config.reserved_concurrency}};
  }
  return http::MakeResponse(req, bhttp::status::ok, out.dump());
}

// ListFunctions: pages of at most 50. Its entries lack State and
// LastUpdateStatus, as AWS's do; with ?FunctionVersion=ALL every version
// of every function, each ARN qualified.
Response Platform::ListFunctions(const Request& req) const {
  const std::string_view target(req.target().data(), req.target().size());
  const std::optional<std::string> all = QueryParam(target, "FunctionVersion");
  if (all && *all != "ALL") {
    Response res = http::MakeResponse(
        req, bhttp::status::bad_request,
        json{{"message", "1 validation error detected: Value '" + *all +
                             "' at 'functionVersion' failed to satisfy constraint: Member must "
                             "satisfy enum value set: [ALL]"}}
            .dump());
    res.set("x-amzn-ErrorType", "ValidationException");
    return res;
  }
  json list = json::array();
  auto add = [&list](json config) {
    config.erase("State");
    config.erase("LastUpdateStatus");
    list.push_back(std::move(config));
  };
  for (const auto& [name, fn] : functions) {
    add(ConfigurationJson(*fn, kLatest, all ? kLatest : ""));
    if (!all) continue;
    for (const auto& [n, v] : fn->versions) add(ConfigurationJson(*fn, v.name, v.name));
  }
  return Page(req, list, "Functions");
}

}  // namespace faultline::lambda
