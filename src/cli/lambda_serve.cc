// `faultline lambda serve`: the local Lambda emulator.
//
//   functions.yaml --LoadEmulatorConfig--> Emulator on one io_context, until
//   SIGINT / SIGTERM, which stop every environment first. Requests must be
//   signed with the credentials of lambda_credentials.h (unless --no-auth).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "aws/credentials.h"
#include "cli/cli.h"
#include "cli/commands.h"
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
    "environment. The file's format: docs/lambda.md.\n"
    "\n"
    "Every request must be signed (AWS SigV4, as every AWS client does) with the\n"
    "emulator's own credentials, created on first start in a file only you can read\n"
    "(~/.config/faultline/credentials, profile \"faultline\"); `eval \"$(faultline lambda\n"
    "env)\"` sets them up for boto3, the aws CLI and the SDKs. --no-auth turns the check\n"
    "off (then anyone on this machine can run code as you), and only on loopback.\n";

constexpr std::string_view kServeExamples =
    "Examples:\n"
    "  faultline lambda serve --config functions.yaml\n"
    "  faultline lambda serve --config functions.yaml --port 0   # any free port, printed\n"
    "  eval \"$(faultline lambda env)\"   # in the shell that runs your AWS clients\n"
    "  aws lambda invoke --function-name echo out.json";

}  // namespace

namespace {

bool IsLoopback(const std::string& host) {
  boost::system::error_code ec;
  const auto address = http::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// The credentials requests must be signed with, or nullopt with --no-auth;
// an error message when they cannot be had.
Result<std::optional<aws::Credentials>> ServeCredentials(bool no_auth, const std::string& host,
                                                         std::string& dir) {
  if (no_auth) {
    if (!IsLoopback(host)) {
      return Status::InvalidArgument(fmt::format(
          "--no-auth: refused on a non-loopback address (--host {}): anyone who can reach it "
          "could run code as you; leave --no-auth out (signed requests only) or listen on "
          "127.0.0.1",
          host));
    }
    return std::optional<aws::Credentials>();
  }
  if (dir.empty()) {
    Result<std::string> def = aws::DefaultCredentialsDir();
    if (!def.ok()) return def.status();
    dir = *def;
  }
  Result<aws::Credentials> creds = aws::LoadOrCreateCredentials(dir);
  if (!creds.ok()) return creds.status();
  return std::optional<aws::Credentials>(std::move(*creds));
}

void PrintListening(const Context& ctx, const std::string& host, std::uint16_t port,
                    const std::vector<std::string>& names, bool auth, const std::string& dir) {
  fmt::print(ctx.out, "faultline lambda serve: listening on http://{}:{} ({} function{}: {})\n",
             host, port, names.size(), names.size() == 1 ? "" : "s", fmt::join(names, ", "));
  if (auth) {
    fmt::print(ctx.out,
               "faultline lambda serve: requests must be signed with the credentials in {} "
               "(profile faultline): eval \"$(faultline lambda env --endpoint http://{}:{})\"\n",
               aws::CredentialsFilePath(dir), host, port);
  } else {
    fmt::print(ctx.out,
               "faultline lambda serve: WARNING: --no-auth: signatures are not checked; anyone "
               "on this machine can change the functions and run code as you\n");
  }
  ctx.out.flush();
}

// SIGINT/SIGTERM: a graceful shutdown (what runs may finish within
// `grace`; what cannot is said); a second signal: at once.
void StopOnSignal(const Context& ctx, http::asio::signal_set& signals, lambda::Emulator& emulator,
                  http::asio::io_context& io, std::chrono::milliseconds grace) {
  signals.async_wait([&ctx, &signals, &emulator, &io, grace](boost::system::error_code ec, int) {
    if (ec) return;
    fmt::print(ctx.err, "faultline lambda serve: stopping (running invocations have {} ms)\n",
               grace.count());
    signals.async_wait([&emulator, &io](boost::system::error_code again, int) {
      if (again) return;
      emulator.Stop();
      io.stop();
    });
    emulator.Shutdown(grace, [&ctx, &io](lambda::Emulator::ShutdownReport report) {
      if (report.cut_off > 0) {
        fmt::print(ctx.err,
                   "faultline lambda serve: {} invocation{} still running after the grace period "
                   "{} answered with Runtime.ExitError\n",
                   report.cut_off, report.cut_off == 1 ? "" : "s",
                   report.cut_off == 1 ? "was" : "were");
      }
      if (!report.events_not_run.empty()) {
        fmt::print(ctx.err, "faultline lambda serve: {} accepted Event invocation{} not run:\n",
                   report.events_not_run.size(), report.events_not_run.size() == 1 ? "" : "s");
        for (const auto& [fn, id] : report.events_not_run) fmt::print(ctx.err, "  {} {}\n", fn, id);
      }
      ctx.err.flush();
      io.stop();
    });
  });
}

}  // namespace

int RunLambdaServe(const Context& ctx) {
  CLI::App app{std::string(kServeHelp), "faultline lambda serve"};
  std::string config_path;
  std::string host = "127.0.0.1";
  std::uint16_t port = kDefaultPort;
  bool quiet = false;
  bool no_auth = false;
  std::string credentials_dir, sinks_dir;
  long grace_ms = 10000;
  std::uint64_t seed = 0;
  std::optional<double> time_scale;
  app.add_option("--config", config_path, "the functions file (functions.yaml)")->required();
  app.add_option("--port", port,
                 fmt::format("Invoke API port (default {}; 0: any free)", kDefaultPort));
  app.add_option("--host", host, "address to listen on (default 127.0.0.1: this machine only)");
  app.add_flag("-q,--quiet", quiet, "do not print the functions' output");
  app.add_flag(
      "--no-auth", no_auth,
      "accept unsigned requests (loopback only; anyone on this machine can then drive it)");
  app.add_option("--credentials-dir", credentials_dir,
                 "where the emulator's credentials are kept (default ~/.config/faultline)");
  app.add_option("--grace", grace_ms,
                 "on SIGINT/SIGTERM, how long running invocations may finish, in ms (default "
                 "10000; a second signal stops at once)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed,
                 "seed of the platform's random choices (a weighted alias's "
                 "version); 0 or none: a random one, printed");
  app.add_option("--sinks-dir", sinks_dir,
                 "where destination and dead-letter sinks are written (default: sinks/ beside "
                 "the functions file)");
  app.add_option("--time-scale", time_scale,
                 "multiply the platform's delays (async retries, event age) by this, (0, 1] "
                 "(default: functions.yaml's time_scale, else 1: AWS's timing)")
      ->check(CLI::Range(0.000001, 1.0));
  app.footer(std::string(kServeExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  Result<lambda::EmulatorConfig> config = lambda::LoadEmulatorConfig(config_path);
  if (!config.ok()) {
    fmt::print(ctx.err, "{}\n", config.status().message());
    return kExitUsage;
  }
  auto credentials = ServeCredentials(no_auth, host, credentials_dir);
  if (!credentials.ok()) {
    fmt::print(ctx.err, "faultline lambda serve: {}\n", credentials.status().message());
    return credentials.status().code() == Status::Code::kInvalidArgument ? kExitUsage
                                                                         : kExitFailure;
  }
  const bool auth = credentials->has_value();
  http::asio::io_context io;
  lambda::EmulatorOptions options{.config = std::move(*config), .host = host, .port = port};
  options.credentials = std::move(*credentials);
  options.seed = seed;
  if (time_scale) options.config.time_scale = *time_scale;
  options.sinks_dir =
      !sinks_dir.empty()
          ? sinks_dir
          : (std::filesystem::absolute(config_path).parent_path() / "sinks").string();
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
  StopOnSignal(ctx, signals, **emulator, io, std::chrono::milliseconds(grace_ms));
  PrintListening(ctx, host, (*emulator)->port(), names, auth, credentials_dir);
  fmt::print(ctx.out, "faultline lambda serve: seed {}\n", (*emulator)->seed());
  ctx.out.flush();
  io.run();
  return kExitOk;
}

}  // namespace faultline::cli
