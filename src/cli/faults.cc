// `faultline faults check`: what a rule file, or a configuration of another
// chaos tool, means as faultline rules.
//
//   FILE --read--> text --reader for --format--> RuleSet --ToYaml--> stdout
//   --env ----------------ReadChaosLambdaExtensionEnv--/
//
// `faults list/set/clear`, which talk to a running extension's control
// endpoint (with its token), are in extension.cc.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"
#include "faultline/compat.h"
#include "faultline/rules.h"

namespace faultline::cli {
namespace {

constexpr std::string_view kCheckHelp =
    "Parse a faultline rule file, or the configuration of another chaos tool, and print\n"
    "the faultline rules it means as YAML (the rule file format, so the output is itself\n"
    "a valid rule file). Nothing is injected and nothing is contacted.\n\n"
    "On invalid input, prints where and what on stderr\n"
    "(FILE:LINE:COLUMN: FIELD: expected ..., got ...) and exits with status 2.\n\n"
    "Formats:\n"
    "  rules           faultline's own rules, YAML or JSON (docs/rules.md)\n"
    "  failure-lambda  failure-lambda's SSM/AppConfig JSON, 0.x or 1.x\n"
    "  chaos-lambda    chaos_lambda's SSM parameter JSON\n"
    "  compact         the FAULTLINE_FAULTS form: redis.get=20%3*error(refused);...\n";

constexpr std::string_view kCheckExamples =
    "Examples:\n"
    "  faultline faults check examples/rules/cache-fallback.yaml\n"
    "  faultline faults check --format failure-lambda --target 'orders-*' failure.json\n"
    "  echo 'redis.get=50%error(down)' | faultline faults check --format compact -\n"
    "  CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY=true faultline faults check --env";

// The whole of `path` ("-": standard input).
// Reads `path` as `format`; see kCheckHelp.
Result<RuleSet> ReadRules(const std::string& path, const std::string& format,
                          const std::string& target) {
  if (format == "rules" && path != "-") return LoadRuleFile(path);
  Result<std::string> text = ReadInput(path);
  if (!text.ok()) return text.status();
  std::string source = path == "-" ? "<stdin>" : path;
  if (format == "failure-lambda") return ReadFailureLambda(*text, source, target);
  if (format == "chaos-lambda") return ReadChaosLambda(*text, source, target);
  if (format == "compact") {
    // A file holds the spec on one line; its trailing newline is no entry.
    std::string_view spec = *text;
    spec = spec.substr(0, spec.find_last_not_of(" \t\r\n") + 1);
    return ReadCompactRules(spec, source);
  }
  return ParseRules(*text, source);
}

}  // namespace

int RunFaultsCheck(const Context& ctx) {
  CLI::App app{std::string(kCheckHelp), "faultline faults check"};
  std::string file;
  std::string format = "rules";
  std::string target = "*";
  bool env = false;
  CLI::Option* file_opt =
      app.add_option("FILE", file, "the rule file or configuration to check ('-': stdin)");
  app.add_option("--format", format, "what FILE holds (default: rules)")
      ->check(CLI::IsMember({"rules", "failure-lambda", "chaos-lambda", "compact"}));
  app.add_option("--target", target,
                 "what another tool's rules apply to: a point glob or function (default: *)");
  app.add_flag("--env", env,
               "read chaos-lambda-extension's CHAOS_EXTENSION__* variables, not a FILE")
      ->excludes(file_opt);
  app.footer(std::string(kCheckExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;
  if (!env && file.empty()) {
    fmt::print(ctx.err,
               "faultline faults check: give a FILE to check, or --env\n"
               "Run 'faultline faults check --help' for usage.\n");
    return kExitUsage;
  }

  std::vector<std::string> warnings;
  Result<RuleSet> rules =
      env ? ReadChaosLambdaExtensionEnv(target, &warnings) : ReadRules(file, format, target);
  for (const std::string& w : warnings) fmt::print(ctx.err, "faultline faults check: {}\n", w);
  if (!rules.ok()) {
    // The message already names the input and the place in it.
    fmt::print(ctx.err, "{}\n", rules.status().message());
    return rules.status().code() == Status::Code::kInternal ? kExitFailure : kExitUsage;
  }
  if (env && rules->rules.empty()) {
    fmt::print(ctx.err, "faultline faults check: no CHAOS_EXTENSION__* variable is set\n");
  }
  ctx.out << ToYaml(*rules);
  return kExitOk;
}

}  // namespace faultline::cli
