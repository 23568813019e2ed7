// `faultline lambda serve` and `faultline lambda invoke`: the local Lambda
// emulator and a client for it (or for any Lambda-compatible endpoint).
//
//   serve:  functions.yaml --LoadEmulatorConfig--> Emulator on one io_context,
//           until SIGINT / SIGTERM, which stop every environment first.
//   invoke: NAME + payload --POST /2015-03-31/functions/NAME/invocations--> body
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/cli.h"
#include "cli/commands.h"
#include "http/client.h"
#include "http/encoding.h"
#include "lambda/emulator.h"

namespace faultline::cli {
namespace {

constexpr std::uint16_t kDefaultPort = 3001;  // as `sam local start-lambda`

constexpr std::string_view kServeHelp =
    "Run the local Lambda emulator: the functions of functions.yaml, each in execution\n"
    "environments of its own (real processes speaking the Lambda Runtime API), behind\n"
    "AWS Lambda's Invoke API and management API (GetFunction, UpdateFunctionConfiguration,\n"
    "Put/Get/DeleteFunctionConcurrency, ...) on http://HOST:PORT, so boto3, the aws CLI or\n"
    "`faultline lambda invoke` work against it with an endpoint override. Metrics at\n"
    "/metrics (Prometheus) and /metrics.json. Function output and the START / END / REPORT\n"
    "lines go to stderr. Runs until interrupted (Ctrl-C, SIGTERM), then stops every\n"
    "environment. The file's format: docs/lambda.md.\n";

constexpr std::string_view kServeExamples =
    "Examples:\n"
    "  faultline lambda serve --config functions.yaml\n"
    "  faultline lambda serve --config functions.yaml --port 0   # any free port, printed\n"
    "  aws lambda invoke --endpoint-url http://127.0.0.1:3001 --function-name echo out.json";

constexpr std::string_view kInvokeHelp =
    "Invoke a function through the Lambda Invoke API of the local emulator or any\n"
    "Lambda-compatible endpoint, and print what it returned. Exits 0 when the function\n"
    "succeeded, 1 when it failed (a function error, a throttle, a timeout; the error\n"
    "is printed on stderr), 2 on a usage error.\n";

constexpr std::string_view kInvokeExamples =
    "Examples:\n"
    "  faultline lambda invoke echo --payload '{\"hello\": \"world\"}'\n"
    "  faultline lambda invoke slow --log-type Tail --endpoint http://127.0.0.1:3001";

}  // namespace

int RunLambdaServe(const Context& ctx) {
  CLI::App app{std::string(kServeHelp), "faultline lambda serve"};
  std::string config_path;
  std::string host = "127.0.0.1";
  std::uint16_t port = kDefaultPort;
  bool quiet = false;
  app.add_option("--config", config_path, "the functions file (functions.yaml)")->required();
  app.add_option("--port", port,
                 fmt::format("Invoke API port (default {}; 0: any free)", kDefaultPort));
  app.add_option("--host", host, "address to listen on (default 127.0.0.1: this machine only)");
  app.add_flag("-q,--quiet", quiet, "do not print the functions' output");
  app.footer(std::string(kServeExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  Result<lambda::EmulatorConfig> config = lambda::LoadEmulatorConfig(config_path);
  if (!config.ok()) {
    fmt::print(ctx.err, "{}\n", config.status().message());
    return kExitUsage;
  }
  http::asio::io_context io;
  lambda::EmulatorOptions options{.config = std::move(*config), .host = host, .port = port};
  if (!quiet) {
    options.log = [&ctx](std::string_view line) { fmt::print(ctx.err, "{}\n", line); };
  }
  std::vector<std::string> names;
  for (const auto& f : options.config.functions) names.push_back(f.name);
  auto emulator = lambda::Emulator::Start(io, std::move(options));
  if (!emulator.ok()) {
    fmt::print(ctx.err, "faultline lambda serve: {}\n", emulator.status().message());
    return kExitFailure;
  }
  http::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    (*emulator)->Stop();
    io.stop();
  });
  fmt::print(ctx.out, "faultline lambda serve: listening on http://{}:{} ({} function{}: {})\n",
             host, (*emulator)->port(), names.size(), names.size() == 1 ? "" : "s",
             fmt::join(names, ", "));
  ctx.out.flush();
  io.run();
  return kExitOk;
}

int RunLambdaInvoke(const Context& ctx) {
  CLI::App app{std::string(kInvokeHelp), "faultline lambda invoke"};
  std::string name;
  std::string payload = "{}";
  std::string endpoint = fmt::format("http://127.0.0.1:{}", kDefaultPort);
  std::string invocation_type = "RequestResponse";
  std::string log_type;
  double timeout_s = 910;
  app.add_option("NAME", name, "the function's name or ARN")->required();
  app.add_option("--payload", payload, "the event, usually JSON (default {})");
  app.add_option("--endpoint", endpoint, "the Lambda endpoint (default: the local emulator)");
  app.add_option("--invocation-type", invocation_type, "RequestResponse, Event or DryRun")
      ->check(CLI::IsMember({"RequestResponse", "Event", "DryRun"}));
  app.add_option("--log-type", log_type, "Tail: print the invocation's last 4 KB of log on stderr")
      ->check(CLI::IsMember({"None", "Tail"}));
  app.add_option("--timeout", timeout_s, "seconds to wait for the answer (default 910)")
      ->check(CLI::PositiveNumber);
  app.footer(std::string(kInvokeExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  Result<http::Url> url = http::ParseUrl(endpoint);
  if (!url.ok()) {
    fmt::print(ctx.err, "faultline lambda invoke: --endpoint: {}\n", url.status().message());
    return kExitUsage;
  }
  http::Request req(http::bhttp::verb::post,
                    fmt::format("/2015-03-31/functions/{}/invocations", name), 11);
  req.set("X-Amz-Invocation-Type", invocation_type);
  if (!log_type.empty()) req.set("X-Amz-Log-Type", log_type);
  req.set(http::bhttp::field::content_type, "application/json");
  req.body() = payload;
  auto res = http::FetchSync(*url, std::move(req),
                             std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  if (!res.ok()) {
    fmt::print(ctx.err, "faultline lambda invoke: {}\n", res.status().message());
    return kExitFailure;
  }
  if (auto log = (*res)["X-Amz-Log-Result"]; !log.empty()) {
    ctx.err << http::Base64Decode(std::string_view(log.data(), log.size())).value_or("");
  }
  const unsigned status = res->result_int();
  if (status >= 300) {
    auto type = (*res)["x-amzn-ErrorType"];
    fmt::print(ctx.err, "faultline lambda invoke: {} {}: {}\n", status,
               std::string(type.empty() ? "error" : type), res->body());
    return kExitFailure;
  }
  ctx.out << res->body();
  if (!res->body().empty() && res->body().back() != '\n') ctx.out << '\n';
  if (auto fe = (*res)["X-Amz-Function-Error"]; !fe.empty()) {
    fmt::print(ctx.err, "faultline lambda invoke: function error ({})\n", std::string(fe));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace faultline::cli
