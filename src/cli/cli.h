// The faultline command line: one table of subcommands, and the dispatch
// that reads it.
//
//   argv --Main--> "--help" / "--version"        -> usage / version, exit 0
//             \--> longest table name that prefixes argv ("faults check")
//                    |-- built:     Command::run(Context{rest of argv})
//                    \-- not built: "not built yet", exit 2
//             \--> no match: "did you mean ...?" (edit distance), exit 2
//
// Like ninja's tool table, the one table (commands.cc) is the only list of
// commands: the help, the dispatch and the suggestions all read it. Each
// built command lives in its own file and parses its flags with CLI11
// (ParseFlags below), so `faultline <command> --help` works everywhere.
//
// Thread-safety: none needed; Main runs once per process, on one thread.
#ifndef FAULTLINE_CLI_CLI_H_
#define FAULTLINE_CLI_CLI_H_

#include <cstddef>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace faultline::cli {

// Exit codes, as DESIGN.md's "The command line" defines them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command (or the experiment) failed
inline constexpr int kExitUsage = 2;    // a usage error, or invalid input

struct Command;

// What a command gets to run with.
struct Context {
  const Command& command;
  std::vector<std::string> args;  // the words after the command's name
  std::ostream& out;              // results
  std::ostream& err;              // errors and progress
};

// Runs a command; returns its exit code.
using CommandFn = int (*)(const Context& ctx);

// One row of the table.
struct Command {
  std::string_view name;         // "demo", or two words: "faults check"
  std::string_view synopsis;     // the arguments after the name, for usage lines
  std::string_view description;  // one line, no trailing period
  CommandFn run;                 // nullptr: not built yet

  bool built() const { return run != nullptr; }
};

// The version `faultline --version` prints ("faultline 0.1.0").
std::string_view Version();

// Runs the command line `args` (argv without argv[0]) against `table`.
// Returns the process's exit code.
int Main(std::span<const Command> table, const std::vector<std::string>& args, std::ostream& out,
         std::ostream& err);

// `faultline --help`: usage, then every command of `table` with its
// description, the ones not built yet marked "(not built yet)".
void PrintUsage(std::span<const Command> table, std::ostream& out);

// Edit distance between `a` and `b`: insertions, deletions, substitutions
// and swaps of two neighbouring characters each count 1 ("dmeo" -> "demo"
// is 1).
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `typed` by EditDistance, when it is close enough
// to be a typo (1 edit for short words, up to 3 for long ones); the first in
// `candidates` on a tie. nullopt when none is close.
std::optional<std::string_view> Suggest(std::string_view typed,
                                        std::span<const std::string_view> candidates);

// Parses ctx.args into `app` (built by the command, named "faultline <name>").
// Returns nullopt when the command should go on; otherwise the exit code to
// return: 0 after printing the help on ctx.out (--help), 2 after printing
// what was wrong with the flags on ctx.err.
std::optional<int> ParseFlags(CLI::App& app, const Context& ctx);

// The bytes of the file at `path`, or of stdin when `path` is "-". Errors
// name the path and the cause (kNotFound for a missing file).
Result<std::string> ReadInput(const std::string& path);

}  // namespace faultline::cli

#endif  // FAULTLINE_CLI_CLI_H_
