// `faultline extension` and `faultline layer build`.
//
//   extension:   env + flags --ConfigFromEnv--> Extension::Start (proxy,
//                control) --> Register --> RunEvents until SHUTDOWN
//   layer build: the layer scripts (built in) + this binary --WriteZip--> FILE.zip
#include "extension/extension.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "cli/commands.h"
#include "extension/run_dir.h"
#include "extension/zip.h"
#include "faultline/clock.h"
#include "faultline/rules.h"
#include "http/client.h"

namespace faultline::cli {
namespace {

struct LayerFile {
  std::string_view name;
  std::string_view text;
};
// layer/extension, layer/faultline-wrapper, layer/bootstrap-wrapper.
constexpr LayerFile kLayerFiles[] = {
#include "cli/layer_files.inc"
};

std::string_view LayerText(std::string_view name) {
  for (const LayerFile& f : kLayerFiles) {
    if (f.name == name) return f.text;
  }
  return {};
}

constexpr std::string_view kExtensionHelp =
    "Run the Runtime API proxy as a Lambda external extension: start a proxy on\n"
    "127.0.0.1 that forwards to the real Runtime API and injects the faults of the\n"
    "rules whose target matches the function's name (delay, fail or rewrite\n"
    "invocations; docs/extension.md), register with the Extensions API (INVOKE,\n"
    "SHUTDOWN) and run until SHUTDOWN. The runtime reaches the proxy through the\n"
    "layer's faultline-wrapper (AWS_LAMBDA_EXEC_WRAPPER) or bootstrap-wrapper\n"
    "(provided.* runtimes). A bad setting is logged and never breaks the function.\n"
    "\n"
    "Environment variables (flags win):\n"
    "  AWS_LAMBDA_RUNTIME_API       the Runtime and Extensions API (set by Lambda)\n"
    "  AWS_LAMBDA_FUNCTION_NAME     the name rules' `target` matches (set by Lambda)\n"
    "  FAULTLINE_UPSTREAM           HOST:PORT to forward to (default AWS_LAMBDA_RUNTIME_API)\n"
    "  FAULTLINE_PROXY_PORT         proxy port (default 9100; 0: any free port)\n"
    "  FAULTLINE_CONTROL_PORT       control endpoint port (default 9101; off: none)\n"
    "  FAULTLINE_RULES_FILE         rule file (YAML/JSON), watched and applied at once\n"
    "  FAULTLINE_RULES              rules as YAML or JSON text\n"
    "  FAULTLINE_FAULTS             rules in the compact form (docs/compat.md)\n"
    "  CHAOS_EXTENSION__*           chaos-lambda-extension's variables (docs/compat.md)\n"
    "  FAULTLINE_STARTUP_DELAY      delay registration (a cold start), e.g. 2s\n"
    "  FAULTLINE_EMF_NAMESPACE      CloudWatch EMF namespace (default faultline; off: none)\n"
    "  FAULTLINE_SEED               seed of every random decision (default: random, logged)\n"
    "  FAULTLINE_DRY_RUN=1          log what would be injected, inject nothing\n"
    "  FAULTLINE_DISABLE=1          the kill switch: inject nothing\n"
    "  FAULTLINE_RUN_DIR            where the port and token files go (default\n"
    "                               /tmp/faultline-<uid>; refused if others can write it)\n"
    "  FAULTLINE_WATCH_INTERVAL_MS  how often the rule file is checked (default 100)\n"
    "\n"
    "Control endpoint (loopback; every request needs \"Authorization: Bearer <token>\",\n"
    "401 otherwise: the token is new at each start, in FAULTLINE_RUN_DIR/faultline-token-*,\n"
    "mode 0600): GET /rules (YAML), PUT /rules (YAML or JSON, at most 1 MiB; 400 with\n"
    "file:line:col on error, nothing applied), DELETE /rules, GET /counters (JSON).\n";

constexpr std::string_view kExtensionExamples =
    "Examples:\n"
    "  faultline extension                         # as /opt/extensions/faultline does\n"
    "  faultline extension --rules /var/task/faults.yaml\n"
    "  faultline extension --no-register --upstream 127.0.0.1:9001 --port 9100\n"
    "  faultline faults set faults.yaml --endpoint http://127.0.0.1:9101";

constexpr std::string_view kLayerHelp =
    "Write a Lambda layer with the faultline extension: extensions/faultline (runs\n"
    "bin/faultline extension), bin/faultline (this program), faultline-wrapper (for\n"
    "AWS_LAMBDA_EXEC_WRAPPER=/opt/faultline-wrapper) and bootstrap-wrapper (for\n"
    "provided.* runtimes). See README.md, \"Deploying the layer\".\n";

std::atomic<bool> g_stop{false};

}  // namespace

int RunExtension(const Context& ctx) {
  const auto began = std::chrono::steady_clock::now();
  CLI::App app{std::string(kExtensionHelp), "faultline extension"};
  std::string name = "faultline", upstream, rules, control, emf;
  std::optional<std::uint16_t> port;
  bool no_register = false;
  app.add_option("--name", name,
                 "Lambda-Extension-Name (default faultline: the layer's file name)");
  app.add_option("--port", port, "proxy port (default 9100, FAULTLINE_PROXY_PORT; 0: any free)");
  app.add_option("--control-port", control,
                 "control endpoint port (default 9101, FAULTLINE_CONTROL_PORT; off: none)");
  app.add_option("--upstream", upstream, "HOST:PORT of the Runtime API to forward to");
  app.add_option("--rules", rules, "rule file, watched (FAULTLINE_RULES_FILE)");
  app.add_option("--emf-namespace", emf, "CloudWatch EMF namespace (off: no EMF lines)");
  app.add_flag("--no-register", no_register,
               "only run the proxy, until SIGINT/SIGTERM (no Extensions API)");
  app.footer(std::string(kExtensionExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  std::map<std::string, std::string> env = extension::ProcessEnv();
  if (port) env["FAULTLINE_PROXY_PORT"] = std::to_string(*port);
  if (!control.empty()) env["FAULTLINE_CONTROL_PORT"] = control;
  if (!upstream.empty()) env["FAULTLINE_UPSTREAM"] = upstream;
  if (!rules.empty()) env["FAULTLINE_RULES_FILE"] = rules;
  if (!emf.empty()) env["FAULTLINE_EMF_NAMESPACE"] = emf;
  std::vector<std::string> warnings;
  extension::ExtensionConfig config = extension::ConfigFromEnv(env, &warnings);
  config.name = name;
  // Lines go to stdout (CloudWatch Logs on AWS), whole and flushed.
  auto log = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  for (const std::string& w : warnings) log("faultline extension: " + w);
  auto started = extension::Extension::Start(std::move(config), log);
  if (!started.ok()) {
    fmt::print(ctx.err, "faultline extension: {}\n", started.status().message());
    return no_register ? kExitUsage : kExitFailure;
  }
  extension::Extension& ext = **started;
  if (no_register) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
    ext.Stop();
    return kExitOk;
  }
  if (Status s = ext.Register(); !s.ok()) {
    log(fmt::format("faultline extension: {}", s.message()));
    ext.Stop();
    return kExitFailure;
  }
  log(fmt::format(
      "faultline extension: registered as {}, ready {:.2f} ms after start", name,
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count()));
  Status s = ext.RunEvents();
  ext.Stop();
  if (!s.ok()) {
    log(fmt::format("faultline extension: {}", s.message()));
    return kExitFailure;
  }
  return kExitOk;
}

int RunLayerBuild(const Context& ctx) {
  CLI::App app{std::string(kLayerHelp), "faultline layer build"};
  std::string output;
  app.add_option("-o,--output", output, "the zip file to write")->required();
  app.footer(
      "Examples:\n"
      "  faultline layer build -o faultline-layer.zip\n"
      "  aws lambda publish-layer-version --layer-name faultline \\\n"
      "      --zip-file fileb://faultline-layer.zip");
  if (auto code = ParseFlags(app, ctx)) return *code;
  std::ifstream self("/proc/self/exe", std::ios::binary);
  std::ostringstream binary;
  binary << self.rdbuf();
  if (!self || binary.str().empty()) {
    fmt::print(ctx.err, "faultline layer build: cannot read this program (/proc/self/exe)\n");
    return kExitFailure;
  }
  std::vector<extension::ZipEntry> entries = {
      {"extensions/", "", 0755},
      {"extensions/faultline", std::string(LayerText("extension")), 0755},
      {"bin/", "", 0755},
      {"bin/faultline", binary.str(), 0755},
      {"faultline-wrapper", std::string(LayerText("faultline-wrapper")), 0755},
      {"bootstrap-wrapper", std::string(LayerText("bootstrap-wrapper")), 0755},
  };
  auto zip = extension::WriteZip(entries);
  if (!zip.ok()) {
    fmt::print(ctx.err, "faultline layer build: {}\n", zip.status().message());
    return kExitFailure;
  }
  const std::string tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(zip->data(), static_cast<std::streamsize>(zip->size()));
    if (!out) {
      fmt::print(ctx.err, "faultline layer build: {}: cannot write\n", output);
      std::remove(tmp.c_str());
      return kExitUsage;
    }
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0) {
    fmt::print(ctx.err, "faultline layer build: {}: cannot write\n", output);
    std::remove(tmp.c_str());
    return kExitUsage;
  }
  fmt::print(ctx.out,
             "wrote {} ({} bytes): extensions/faultline, bin/faultline, "
             "faultline-wrapper, bootstrap-wrapper\n",
             output, zip->size());
  return kExitOk;
}

namespace {

// Where a faults command's token comes from: --token, else
// FAULTLINE_CONTROL_TOKEN, else the token file of the endpoint's port in
// FAULTLINE_RUN_DIR (extension::ControlToken).
std::string ControlToken(const std::string& flag, const http::Url& url, std::string* where) {
  extension::TokenSource source;
  source.given = flag;
  if (const char* env = std::getenv("FAULTLINE_CONTROL_TOKEN"); env != nullptr) source.env = env;
  if (const char* dir = std::getenv("FAULTLINE_RUN_DIR"); dir != nullptr) source.run_dir = dir;
  return extension::ControlToken(source, url.port, where);
}

// One call to a control endpoint's /rules, with its token; prints the
// answer. 0 on 2xx, 2 on a refused rule set (400) or a bad URL, 1 when the
// endpoint fails or refuses the token.
int RemoteRules(const Context& ctx, const std::string& endpoint, const std::string& token_flag,
                http::bhttp::verb verb, std::string body) {
  auto url = http::ParseUrl(endpoint);
  if (!url.ok()) {
    fmt::print(ctx.err, "faultline {}: --endpoint: {}\n", ctx.command.name, url.status().message());
    return kExitUsage;
  }
  std::string base = url->target == "/" ? "" : url->target;
  while (!base.empty() && base.back() == '/') base.pop_back();
  url->target = base + "/rules";
  http::Request req(verb, url->target, 11);
  req.set(http::bhttp::field::host, fmt::format("{}:{}", url->host, url->port));
  std::string where;
  const std::string token = ControlToken(token_flag, *url, &where);
  if (!token.empty()) req.set(http::bhttp::field::authorization, "Bearer " + token);
  req.body() = std::move(body);
  req.prepare_payload();
  auto res = http::FetchSync(*url, std::move(req), std::chrono::seconds(10));
  if (!res.ok()) {
    fmt::print(ctx.err, "faultline {}: {}\n", ctx.command.name, res.status().message());
    return kExitFailure;
  }
  const int code = res->result_int();
  if (code >= 200 && code < 300) {
    fmt::print(ctx.out, "{}", res->body());
    return kExitOk;
  }
  const std::string& answer = res->body();
  fmt::print(ctx.err, "faultline {}: {} answered {}: {}{}", ctx.command.name, endpoint, code,
             answer, answer.ends_with('\n') ? "" : "\n");
  if (code == 401) {
    fmt::print(ctx.err,
               "faultline {}: {} (give --token, set FAULTLINE_CONTROL_TOKEN, or run as the "
               "extension's user with its FAULTLINE_RUN_DIR)\n",
               ctx.command.name, token.empty() ? "no token sent: " + where : "token from " + where);
  }
  return code == 400 ? kExitUsage : kExitFailure;
}

constexpr std::string_view kRemoteFooter =
    "The endpoint is the control endpoint of `faultline extension` (default\n"
    "http://127.0.0.1:9101) or anything serving the same /rules API. Every request\n"
    "carries the endpoint's token (Authorization: Bearer): --token, else\n"
    "FAULTLINE_CONTROL_TOKEN, else the token file the extension wrote next to its\n"
    "control port file: FAULTLINE_RUN_DIR (default /tmp/faultline-<uid>)/\n"
    "faultline-token-<key>, readable only by the extension's user. Prefer the file or\n"
    "the variable: other users can see command lines.\n"
    "Examples:\n"
    "  faultline faults list --endpoint http://127.0.0.1:9101\n"
    "  faultline faults set faults.yaml --endpoint http://127.0.0.1:9101\n"
    "  faultline faults clear --endpoint http://127.0.0.1:9101";

// The options every faults command against an endpoint takes.
void AddRemoteOptions(CLI::App& app, std::string* endpoint, std::string* token) {
  app.add_option("--endpoint", *endpoint, "control endpoint URL (default http://127.0.0.1:9101)");
  app.add_option("--token", *token,
                 "the endpoint's token (default: FAULTLINE_CONTROL_TOKEN, else its token file)");
  app.footer(std::string(kRemoteFooter));
}

}  // namespace

int RunFaultsList(const Context& ctx) {
  CLI::App app{
      "Print the rules of a running extension (GET /rules), as YAML. A rule that has\n"
      "expired has a comment under its name: # expired at ... (ttl 2s from ...).",
      "faultline faults list"};
  std::string endpoint = "http://127.0.0.1:9101", token;
  AddRemoteOptions(app, &endpoint, &token);
  if (auto code = ParseFlags(app, ctx)) return *code;
  return RemoteRules(ctx, endpoint, token, http::bhttp::verb::get, "");
}

int RunFaultsSet(const Context& ctx) {
  CLI::App app{
      "Replace the rules of a running extension with those of FILE (PUT /rules). The\n"
      "endpoint checks them first: on an error nothing changes and the error is printed.\n"
      "A ttl counts from when the endpoint receives the rules (their armed_at); a rule\n"
      "already expired (an expires_at or armed_at + ttl in the past) is refused.",
      "faultline faults set"};
  std::string endpoint = "http://127.0.0.1:9101", token, file;
  app.add_option("FILE", file, "the rule file (YAML or JSON; '-': stdin)")->required();
  AddRemoteOptions(app, &endpoint, &token);
  if (auto code = ParseFlags(app, ctx)) return *code;
  Result<std::string> text = ReadInput(file);
  if (!text.ok()) {
    fmt::print(ctx.err, "faultline faults set: {}\n", text.status().message());
    return kExitUsage;
  }
  // Check locally first, so errors name the file rather than "PUT /rules".
  const std::string source = file == "-" ? "<stdin>" : file;
  auto rules = ParseRules(*text, source);
  Status s =
      rules.ok() ? CheckNotExpired(*rules, SystemClock::Default()->Now(), source) : rules.status();
  if (!s.ok()) {
    fmt::print(ctx.err, "{}\n", s.message());
    return kExitUsage;
  }
  return RemoteRules(ctx, endpoint, token, http::bhttp::verb::put, *text);
}

int RunFaultsClear(const Context& ctx) {
  CLI::App app{"Remove every rule of a running extension (DELETE /rules).",
               "faultline faults clear"};
  std::string endpoint = "http://127.0.0.1:9101", token;
  AddRemoteOptions(app, &endpoint, &token);
  if (auto code = ParseFlags(app, ctx)) return *code;
  return RemoteRules(ctx, endpoint, token, http::bhttp::verb::delete_, "");
}

}  // namespace faultline::cli
