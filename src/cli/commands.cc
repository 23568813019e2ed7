#include "cli/commands.h"

#include <array>

namespace faultline::cli {
namespace {

// name, synopsis, one-line description, function (nullptr: not built yet).
constexpr std::array kCommands = {
    Command{"demo", "[NAME] [--list] [--seed N]",
            "run the seed scenarios and print a verdict for each", RunDemo},
    Command{"lambda serve", "--config functions.yaml --port P", "run the local Lambda emulator",
            RunLambdaServe},
    Command{"lambda invoke", "NAME --payload JSON --endpoint URL",
            "invoke a function on the emulator or a Lambda endpoint", RunLambdaInvoke},
    Command{"lambda env", "[--endpoint URL] [--profile]",
            "print the lines that point AWS clients at the emulator", RunLambdaEnv},
    Command{"extension", "[--port P] [--rules FILE] [--upstream HOST:PORT]",
            "run the Runtime API proxy as a Lambda extension", RunExtension},
    Command{"layer build", "-o FILE.zip", "package the extension and its wrapper as a Lambda layer",
            RunLayerBuild},
    Command{"run", "EXPERIMENT", "run a Chaos Toolkit experiment (flags as 'chaos run')",
            RunExperiment},
    Command{"validate", "EXPERIMENT", "check an experiment without running it", RunValidate},
    Command{"report", "JOURNAL -o report.html", "write a self-contained HTML report of a journal",
            RunReport},
    Command{"rollback", "[STATE]", "undo what a crashed run left behind", RunRollback},
    Command{"load", "URL [-c N] [-n N] [-d SECONDS] [-R RATE] [-m METHOD] [-H HEADER] ...",
            "generate load and print a latency histogram (ab's flags)", RunLoad},
    Command{"faults check", "FILE [--format FORMAT] | --env",
            "print the rules a rule file or another tool's config means", RunFaultsCheck},
    Command{"faults list", "--endpoint URL",
            "print the rules of a running extension, emulator, proxy", RunFaultsList},
    Command{"faults set", "FILE --endpoint URL",
            "replace the rules of a running extension, emulator, proxy", RunFaultsSet},
    Command{"faults clear", "--endpoint URL",
            "remove the rules of a running extension, emulator, proxy", RunFaultsClear},
    Command{"proxy", "", "TCP fault proxy with Toxiproxy's HTTP API", nullptr},
};

}  // namespace

std::span<const Command> Commands() { return kCommands; }

}  // namespace faultline::cli
