// `faultline lambda invoke` and `faultline lambda env`: a client of the
// local emulator (or of any Lambda-compatible endpoint), and the shell lines
// that point AWS's own clients at the emulator with its credentials.
//
//   invoke: NAME + payload --POST /2015-03-31/functions/NAME/invocations--> body
//           (signed, SigV4, with the emulator's credentials or AWS_* ones)
//   env:    export AWS_ACCESS_KEY_ID=... AWS_ENDPOINT_URL_LAMBDA=... for eval
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "aws/credentials.h"
#include "aws/signed_request.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "http/client.h"
#include "http/encoding.h"

namespace faultline::cli {
namespace {

constexpr std::uint16_t kDefaultPort = 3001;  // as `sam local start-lambda`

constexpr std::string_view kInvokeHelp =
    "Invoke a function through the Lambda Invoke API of the local emulator or any\n"
    "Lambda-compatible endpoint, and print what it returned. The request is signed\n"
    "(SigV4) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set, else with\n"
    "the local emulator's credentials (~/.config/faultline/credentials). Exits 0 when the\n"
    "function succeeded, 1 when it failed (a function error, a throttle, a timeout; the\n"
    "error is printed on stderr), 2 on a usage error.\n";

constexpr std::string_view kInvokeExamples =
    "Examples:\n"
    "  faultline lambda invoke echo --payload '{\"hello\": \"world\"}'\n"
    "  faultline lambda invoke slow --log-type Tail --endpoint http://127.0.0.1:3001";

constexpr std::string_view kEnvHelp =
    "Print the shell lines that point AWS's own clients (boto3, the aws CLI, the SDKs,\n"
    "chaostoolkit-aws) at the local emulator with its credentials, for eval. The\n"
    "credentials are the emulator's own, created on its first start (or here, if it has\n"
    "never run) in a file only you can read.\n";

constexpr std::string_view kEnvExamples =
    "Examples:\n"
    "  eval \"$(faultline lambda env)\"\n"
    "  eval \"$(faultline lambda env --profile)\"   # keeps the secret out of the environment\n"
    "  aws lambda list-functions";

std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) when both
// are set, else the emulator's own.
Result<aws::Credentials> ClientCredentials(const std::string& dir_flag) {
  const std::string key = EnvOr("AWS_ACCESS_KEY_ID", ""),
                    secret = EnvOr("AWS_SECRET_ACCESS_KEY", "");
  if (!key.empty() && !secret.empty()) {
    return aws::Credentials{key, secret, EnvOr("AWS_SESSION_TOKEN", "")};
  }
  std::string dir = dir_flag;
  if (dir.empty()) {
    Result<std::string> def = aws::DefaultCredentialsDir();
    if (!def.ok()) return def.status();
    dir = *def;
  }
  return aws::LoadOrCreateCredentials(dir);
}

// Prints the answer; the exit code.
int PrintInvokeAnswer(const Context& ctx, const http::Response& res) {
  if (auto log = res["X-Amz-Log-Result"]; !log.empty()) {
    ctx.err << http::Base64Decode(std::string_view(log.data(), log.size())).value_or("");
  }
  const unsigned status = res.result_int();
  if (status >= 300) {
    auto type = res["x-amzn-ErrorType"];
    fmt::print(ctx.err, "faultline lambda invoke: {} {}: {}\n", status,
               std::string(type.empty() ? "error" : type), res.body());
    return kExitFailure;
  }
  ctx.out << res.body();
  if (!res.body().empty() && res.body().back() != '\n') ctx.out << '\n';
  if (auto fe = res["X-Amz-Function-Error"]; !fe.empty()) {
    fmt::print(ctx.err, "faultline lambda invoke: function error ({})\n", std::string(fe));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int RunLambdaInvoke(const Context& ctx) {
  CLI::App app{std::string(kInvokeHelp), "faultline lambda invoke"};
  std::string name, log_type, credentials_dir;
  std::string payload = "{}";
  std::string endpoint = fmt::format("http://127.0.0.1:{}", kDefaultPort);
  std::string invocation_type = "RequestResponse";
  double timeout_s = 910;
  app.add_option("NAME", name, "the function's name or ARN")->required();
  app.add_option("--payload", payload, "the event, JSON (default {})");
  app.add_option("--endpoint", endpoint, "the Lambda endpoint (default: the local emulator)");
  app.add_option("--invocation-type", invocation_type, "RequestResponse, Event or DryRun")
      ->check(CLI::IsMember({"RequestResponse", "Event", "DryRun"}));
  app.add_option("--log-type", log_type, "Tail: print the invocation's last 4 KB of log on stderr")
      ->check(CLI::IsMember({"None", "Tail"}));
  app.add_option("--timeout", timeout_s, "seconds to wait for the answer (default 910)")
      ->check(CLI::PositiveNumber);
  app.add_option("--credentials-dir", credentials_dir,
                 "the emulator's credentials (default ~/.config/faultline)");
  app.footer(std::string(kInvokeExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  Result<http::Url> url = http::ParseUrl(endpoint);
  if (!url.ok()) {
    fmt::print(ctx.err, "faultline lambda invoke: --endpoint: {}\n", url.status().message());
    return kExitUsage;
  }
  Result<aws::Credentials> creds = ClientCredentials(credentials_dir);
  if (!creds.ok()) {
    fmt::print(ctx.err, "faultline lambda invoke: {}\n", creds.status().message());
    return kExitFailure;
  }
  http::Request req(http::bhttp::verb::post,
                    fmt::format("/2015-03-31/functions/{}/invocations", name), 11);
  req.set("X-Amz-Invocation-Type", invocation_type);
  if (!log_type.empty()) req.set("X-Amz-Log-Type", log_type);
  req.set(http::bhttp::field::content_type, "application/json");
  req.body() = payload;
  const std::string region = EnvOr("AWS_REGION", EnvOr("AWS_DEFAULT_REGION", "us-east-1"));
  if (Status s = aws::SignRequest(req, fmt::format("{}:{}", url->host, url->port), *creds, region,
                                  "lambda", SystemClock::Default()->Now());
      !s.ok()) {
    fmt::print(ctx.err, "faultline lambda invoke: signing: {}\n", s.message());
    return kExitFailure;
  }
  auto res = http::FetchSync(*url, std::move(req),
                             std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  if (!res.ok()) {
    fmt::print(ctx.err, "faultline lambda invoke: {}\n", res.status().message());
    return kExitFailure;
  }
  return PrintInvokeAnswer(ctx, *res);
}

int RunLambdaEnv(const Context& ctx) {
  CLI::App app{std::string(kEnvHelp), "faultline lambda env"};
  std::string endpoint = fmt::format("http://127.0.0.1:{}", kDefaultPort);
  std::string region = "us-east-1", credentials_dir;
  bool profile = false;
  app.add_option("--endpoint", endpoint,
                 fmt::format("the emulator's address (default http://127.0.0.1:{})", kDefaultPort));
  app.add_option("--region", region, "the region the clients are told (default us-east-1)");
  app.add_flag("--profile", profile,
               "name the credentials file and profile instead of exporting the keys");
  app.add_option("--credentials-dir", credentials_dir,
                 "the emulator's credentials (default ~/.config/faultline)");
  app.footer(std::string(kEnvExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;
  if (credentials_dir.empty()) {
    Result<std::string> def = aws::DefaultCredentialsDir();
    if (!def.ok()) {
      fmt::print(ctx.err, "faultline lambda env: {}\n", def.status().message());
      return kExitFailure;
    }
    credentials_dir = *def;
  }
  Result<aws::Credentials> creds = aws::LoadOrCreateCredentials(credentials_dir);
  if (!creds.ok()) {
    fmt::print(ctx.err, "faultline lambda env: {}\n", creds.status().message());
    return kExitFailure;
  }
  ctx.out << (profile ? aws::RenderProfileExports(aws::CredentialsFilePath(credentials_dir), region,
                                                  endpoint)
                      : aws::RenderKeyExports(*creds, region, endpoint));
  return kExitOk;
}

}  // namespace faultline::cli
