// `faultline run EXPERIMENT` and `faultline validate EXPERIMENT`: Chaos
// Toolkit experiments, with chaos run's flags and exit codes.
//
//   file ──► ReadDocument ──► Validate (every problem, file:line:col) ──► Runner ──► journal
//                                                                         ▲
//                              SIGINT/SIGTERM/SIGUSR1: interrupted ───────┘ (SIGUSR2: no rollbacks)
//
// Exit codes as chaos: 0 completed and not deviated; 1 invalid, failed,
// aborted, interrupted or deviated; 2 a usage error.
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/interrupt_watch.h"
#include "cli/run_view.h"
#include "experiment/document.h"
#include "experiment/journal.h"
#include "experiment/jsonpath.h"
#include "experiment/native.h"
#include "experiment/provider.h"
#include "experiment/runner.h"
#include "experiment/safety_net.h"
#include "experiment/state_file.h"
#include "experiment/tolerance_regex.h"
#include "experiment/validate.h"

namespace faultline::cli {
namespace {

namespace ex = faultline::experiment;

constexpr std::string_view kRunHelp =
    "Run a Chaos Toolkit experiment (.json, .yaml, .yml): the steady-state hypothesis\n"
    "before, the method, the hypothesis after, the rollbacks; the journal is written\n"
    "to --journal-path. Status, deviated, exit code and journal as `chaos run`.";

constexpr std::string_view kRunFooter =
    "Exit: 0 when the run completed and the steady state held; 1 when the experiment\n"
    "is invalid, or the run failed, was aborted or interrupted, or deviated; 2 for a\n"
    "usage error. SIGINT/SIGTERM interrupt the run (rollbacks as the strategy says);\n"
    "SIGUSR2 interrupts it without rollbacks.\n\n"
    "Examples:\n"
    "  faultline run experiment.json\n"
    "  faultline run --hypothesis-strategy=continuously --hypothesis-frequency=10 \\\n"
    "      --fail-fast --rollback-strategy=always experiment.json\n"
    "  faultline run --var region=eu-west-1 --var retries:int=3 experiment.yaml\n";

struct RunFlags {
  std::string file;
  std::string journal_path = "./journal.json";
  std::string dry;
  bool no_validation = false;
  std::string rollback_strategy;
  std::vector<std::string> vars;
  std::vector<std::string> var_files;
  std::string hypothesis_strategy;
  double hypothesis_frequency = 1.0;
  bool fail_fast = false;
  std::optional<std::uint64_t> seed;
  bool fail_on_action_failure = false;
  bool no_tty = false;
  std::string state_path = ex::kDefaultStatePath;
};

void AddVarFlags(CLI::App& app, RunFlags& f) {
  app.add_option("--var", f.vars,
                 "key=value or key:type=value (type str, int, float, bytes): overrides a "
                 "configuration entry; may be repeated");
  app.add_option("--var-file", f.var_files,
                 "a .json/.yaml file {configuration: {...}, secrets: {...}} or a .env file; "
                 "may be repeated")
      ->check(CLI::ExistingFile);
}

void AddRunFlags(CLI::App& app, RunFlags& f) {
  app.add_option("EXPERIMENT", f.file, "the experiment file (.json, .yaml, .yml)")->required();
  app.add_option("--journal-path", f.journal_path,
                 "where the journal goes (default ./journal.json)");
  app.add_option("--dry", f.dry, "run without executing probes, actions, activities or pauses")
      ->check(CLI::IsMember({"probes", "actions", "activities", "pause"}));
  app.add_flag("--no-validation", f.no_validation, "do not validate the experiment first");
  app.add_option("--rollback-strategy", f.rollback_strategy,
                 "when rollbacks are played: default (not after a failure or an interrupt), "
                 "always, never, deviated")
      ->check(CLI::IsMember({"default", "always", "never", "deviated"}));
  AddVarFlags(app, f);
  app.add_option("--hypothesis-strategy", f.hypothesis_strategy,
                 "default (before and after the method), before-method-only, after-method-only, "
                 "during-method-only, continuously")
      ->check(CLI::IsMember({"default", "before-method-only", "after-method-only",
                             "during-method-only", "continuously", "continously"}));
  app.add_option("--hypothesis-frequency", f.hypothesis_frequency,
                 "seconds between two starts of the hypothesis during the method (default 1)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--fail-fast", f.fail_fast,
               "during-method-only / continuously: the first deviation fails the run at once");
  app.add_option("--seed", f.seed,
                 "the seed of every random choice (default: a random one, "
                 "recorded in the journal)");
  app.add_flag("--fail-on-action-failure", f.fail_on_action_failure,
               "an action that fails makes the run fail and ends the method");
  app.add_flag("--no-tty", f.no_tty, "plain lines only, no live status block, even on a terminal");
  app.add_option(
      "--state-path", f.state_path,
      "where what the faultline provider changes is written down first, for "
      "`faultline rollback` (default ./faultline-state.jsonl; removed when all is undone)");
}

// The variables of --var and --var-file; false (and a message) on an error.
bool ReadVariables(const Context& ctx, const RunFlags& f, ex::Variables* vars) {
  for (const std::string& file : f.var_files) {
    if (Status s = ex::ReadVarFile(file, vars); !s.ok()) {
      fmt::print(ctx.err, "faultline {}: {}\n", ctx.command.name, s.message());
      return false;
    }
  }
  for (const std::string& v : f.vars) {
    if (Status s = ex::ParseVar(v, vars); !s.ok()) {
      fmt::print(ctx.err, "faultline {}: {}\n", ctx.command.name, s.message());
      return false;
    }
  }
  // A .env file's variables go into the environment, as chaos puts them in
  // os.environ: the processes the experiment starts see them too.
  for (const auto& [name, value] : vars->env) setenv(name.c_str(), value.c_str(), 1);
  return true;
}

// --var, --var-file and the experiment file; on an error, what it is is
// printed and the exit code returned (2 for the variables, 1 for the file,
// as chaos).
std::optional<int> ReadInputs(const Context& ctx, const RunFlags& f, ex::Variables* vars,
                              std::optional<ex::Document>* doc) {
  if (!ReadVariables(ctx, f, vars)) return kExitUsage;
  Result<ex::Document> read = ex::ReadDocument(f.file);
  if (!read.ok()) {
    fmt::print(ctx.err, "{}\n", read.status().message());
    return kExitFailure;
  }
  *doc = std::move(*read);
  return std::nullopt;
}

// Validates `doc`, printing every problem; true when there are none.
// (A python activity's module is imported by a worker started for the
// check, and stopped with it.)
bool CheckDocument(const Context& ctx, const ex::Document& doc, const ex::Variables& vars) {
  ex::Providers checker(ex::Providers::Options{});
  ex::ValidateOptions vo;
  vo.vars = vars;
  vo.check_python = [&checker](const std::string& m, const std::string& fn) {
    return checker.CheckPython(m, fn);
  };
  vo.check_jsonpath = [](const std::string& expression) -> std::string {
    Result<ex::JsonPath> p = ex::JsonPath::Parse(expression);
    return p.ok() ? "" : p.status().message();
  };
  vo.check_faultline = ex::CheckFaultlineProvider;
  vo.check_regex = [](const std::string& pattern) -> std::string {
    Result<bool> r = ex::PythonRegexSearch(pattern, "");
    return r.ok() ? "" : r.status().message();
  };
  const std::vector<ex::Problem> problems = ex::Validate(doc, vo);
  for (const ex::Problem& p : problems) fmt::print(ctx.err, "{}\n", ex::FormatProblem(doc, p));
  if (!problems.empty()) {
    fmt::print(ctx.err, "{}: {} problem{}; the experiment is not valid\n", doc.source,
               problems.size(), problems.size() == 1 ? "" : "s");
  }
  return problems.empty();
}

std::uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) | rd();
}

ex::RunOptions ToOptions(const RunFlags& f, ex::Variables vars) {
  ex::RunOptions o;
  if (!f.dry.empty()) o.dry = *ex::ParseDry(f.dry);
  if (!f.hypothesis_strategy.empty())
    o.hypothesis_strategy = ex::ParseHypothesisStrategy(f.hypothesis_strategy);
  if (!f.rollback_strategy.empty())
    o.rollback_strategy = ex::ParseRollbackStrategy(f.rollback_strategy);
  o.hypothesis_frequency_s = f.hypothesis_frequency;
  o.fail_fast = f.fail_fast;
  o.fail_on_action_failure = f.fail_on_action_failure;
  o.seed = f.seed.value_or(RandomSeed());
  o.vars = std::move(vars);
  return o;
}

std::string_view SignalName(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "SIGUSR2";
  }
}

// Whether any activity of the experiment uses the faultline provider.
bool UsesFaultline(const ex::json& v) {
  if (v.is_object()) {
    if (v.value("type", "") == "faultline" && v.contains("func")) return true;
    for (const auto& [k, x] : v.items()) {
      if (UsesFaultline(x)) return true;
    }
  } else if (v.is_array()) {
    for (const ex::json& x : v) {
      if (UsesFaultline(x)) return true;
    }
  }
  return false;
}

// Puts back what the faultline provider changed; records it in the journal.
void Settle(ex::SafetyNet* net, RunView* observer, ex::json* journal) {
  bool settled = true;
  ex::json steps = net->Settle(&settled);
  for (const ex::json& step : steps) {
    observer->Line(
        fmt::format("Put back: {}: {}", step.value("what", ""), step.value("result", "")));
  }
  (*journal)["faultline"]["undone"] = std::move(steps);
  if (!settled) {
    observer->Line(
        fmt::format("Some changes could not be put back; they are in {}: run "
                    "`faultline rollback {}`",
                    net->state_path(), net->state_path()));
  }
}

// Plays the run with the signals watched (also while what the run changed
// is put back); returns the journal.
ex::json Play(const ex::Document& doc, ex::RunOptions options, RunView* observer,
              ex::SafetyNet* net) {
  options.observer = observer;
  if (net != nullptr) {
    options.faultline = [net](const ex::json& p, const ex::Context& c) { return net->Run(p, c); };
    options.interrupt_provider = [net] { net->Interrupt(); };
  }
  ex::Runner runner(doc, std::move(options));
  InterruptWatch watch(
      [&runner, observer](int sig) {
        observer->Line(
            fmt::format("Received {}: interrupting the experiment now", SignalName(sig)));
        runner.Interrupt(std::string(SignalName(sig)), sig != SIGUSR2);
      },
      {SIGINT, SIGTERM, SIGUSR1, SIGUSR2});
  ex::json journal = runner.Run();
  if (net != nullptr) Settle(net, observer, &journal);
  return journal;
}

void PrintVerdict(RunView& observer, const ex::json& journal) {
  const bool deviated = journal.value("deviated", false);
  const std::string status = journal.value("status", "");
  observer.Line(fmt::format("Experiment ended with status: {}", deviated ? "deviated" : status));
  const ex::json& fl = journal["faultline"];
  if (fl.contains("reason")) observer.Line(fmt::format("Why: {}", fl["reason"].get<std::string>()));
  if (deviated) {
    observer.Line("The steady-state has deviated, a weakness may have been discovered");
  }
}

}  // namespace

int RunExperiment(const Context& ctx) {
  CLI::App app{std::string(kRunHelp), "faultline run"};
  RunFlags f;
  AddRunFlags(app, f);
  app.footer(std::string(kRunFooter));
  if (auto code = ParseFlags(app, ctx)) return *code;
  ex::Variables vars;
  std::optional<ex::Document> doc;
  if (auto code = ReadInputs(ctx, f, &vars, &doc)) return *code;
  if (!f.no_validation) {
    if (!CheckDocument(ctx, *doc, vars)) return kExitFailure;
    PrintLogLine(ctx.err, "Experiment looks valid", SystemClock::Default());
  }
  std::unique_ptr<ex::SafetyNet> net;
  if (UsesFaultline(doc->value)) {
    Result<std::unique_ptr<ex::SafetyNet>> opened =
        ex::SafetyNet::Open(f.state_path, f.file, doc->value, SystemClock::Default());
    if (!opened.ok()) {
      fmt::print(ctx.err, "faultline run: {}\n", opened.status().message());
      return kExitFailure;
    }
    net = std::move(*opened);
  }
  ex::RunOptions options = ToOptions(f, std::move(vars));
  // The live block only where a person watches: our stderr, a terminal.
  const bool live = !f.no_tty && &ctx.err == &std::cerr && isatty(STDERR_FILENO) == 1;
  RunView observer(ctx.err, live, doc->value.value("title", ""), SystemClock::Default());
  observer.Line(
      fmt::format("Running experiment: {} (seed {})", doc->value.value("title", ""), options.seed));
  const ex::json journal = Play(*doc, std::move(options), &observer, net.get());
  observer.Finish();
  PrintVerdict(observer, journal);
  if (Status s = ex::WriteJournal(f.journal_path, journal); !s.ok()) {
    fmt::print(ctx.err, "faultline run: {}\n", s.message());
    return kExitFailure;
  }
  return ex::Runner::ExitCode(journal);
}

int RunRollback(const Context& ctx) {
  CLI::App app{
      "Put back what a `faultline run` changed through the faultline provider and\n"
      "could not put back itself (it was killed, or an undo failed): the rules it\n"
      "armed, the concurrency and configuration of functions, each to the value it\n"
      "had before the run, as written down in the run's state file.",
      "faultline rollback"};
  std::string path = ex::kDefaultStatePath;
  app.add_option("STATE", path, "the run's state file (default ./faultline-state.jsonl)");
  app.footer(
      "Exit: 0 when everything was put back (or nothing was left), 1 when something\n"
      "could not be (the state file then stays, to try again), 2 for a usage error.");
  if (auto code = ParseFlags(app, ctx)) return *code;
  bool settled = true;
  Result<ex::json> steps = ex::RollBack(path, SystemClock::Default(), &settled);
  if (!steps.ok()) {
    if (steps.status().code() == Status::Code::kNotFound) {
      fmt::print(ctx.out, "{}: no state file: nothing to roll back\n", path);
      return kExitOk;
    }
    fmt::print(ctx.err, "faultline rollback: {}\n", steps.status().message());
    return kExitUsage;
  }
  for (const ex::json& step : *steps) {
    fmt::print(ctx.out, "{}: {}\n", step.value("what", ""), step.value("result", ""));
  }
  if (steps->empty()) fmt::print(ctx.out, "{}: nothing left to roll back\n", path);
  if (!settled) {
    fmt::print(ctx.err, "faultline rollback: some changes could not be put back; {} keeps them\n",
               path);
    return kExitFailure;
  }
  return kExitOk;
}

int RunValidate(const Context& ctx) {
  CLI::App app{
      "Check an experiment without running it: every problem at once, each with\n"
      "file:line:col, its path and what was expected.",
      "faultline validate"};
  RunFlags f;
  app.add_option("EXPERIMENT", f.file, "the experiment file (.json, .yaml, .yml)")->required();
  AddVarFlags(app, f);
  app.footer("Exit: 0 when the experiment is valid, 1 when it is not, 2 for a usage error.");
  if (auto code = ParseFlags(app, ctx)) return *code;
  ex::Variables vars;
  std::optional<ex::Document> doc;
  if (auto code = ReadInputs(ctx, f, &vars, &doc)) return *code;
  if (!CheckDocument(ctx, *doc, vars)) return kExitFailure;
  fmt::print(ctx.out, "{}: the experiment looks valid\n", f.file);
  return kExitOk;
}

}  // namespace faultline::cli
