#include "cli/cli.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#ifndef FAULTLINE_VERSION
#error "FAULTLINE_VERSION must come from the CMake project version"
#endif

namespace faultline::cli {
namespace {

bool IsHelpFlag(std::string_view arg) { return arg == "--help" || arg == "-h"; }

std::string_view FirstWord(std::string_view name) { return name.substr(0, name.find(' ')); }

// The word after the first, or "" for a one-word name.
std::string_view SecondWord(std::string_view name) {
  std::size_t space = name.find(' ');
  return space == std::string_view::npos ? std::string_view() : name.substr(space + 1);
}

std::size_t WordCount(std::string_view name) { return SecondWord(name).empty() ? 1 : 2; }

// The command whose name is the longest prefix of `args`, or nullptr.
const Command* Find(std::span<const Command> table, const std::vector<std::string>& args) {
  const Command* best = nullptr;
  for (const Command& cmd : table) {
    std::size_t words = WordCount(cmd.name);
    if (args.size() < words || args[0] != FirstWord(cmd.name)) continue;
    if (words == 2 && args[1] != SecondWord(cmd.name)) continue;
    if (best == nullptr || words > WordCount(best->name)) best = &cmd;
  }
  return best;
}

// The commands named "<group> <something>".
std::vector<const Command*> GroupMembers(std::span<const Command> table, std::string_view group) {
  std::vector<const Command*> members;
  for (const Command& cmd : table) {
    if (WordCount(cmd.name) == 2 && FirstWord(cmd.name) == group) members.push_back(&cmd);
  }
  return members;
}

std::size_t NameWidth(std::span<const Command* const> commands) {
  std::size_t width = 0;
  for (const Command* cmd : commands) width = std::max(width, cmd->name.size());
  return width;
}

void PrintCommandList(std::span<const Command* const> commands, std::ostream& out) {
  std::size_t width = NameWidth(commands);
  for (const Command* cmd : commands) {
    fmt::print(out, "  {:<{}}  {}{}\n", cmd->name, width, cmd->description,
               cmd->built() ? "" : " (not built yet)");
  }
}

std::string UsageLine(const Command& cmd) {
  return cmd.synopsis.empty() ? fmt::format("faultline {}", cmd.name)
                              : fmt::format("faultline {} {}", cmd.name, cmd.synopsis);
}

// `faultline <cmd> --help` for a command that is not built yet: what it will
// do, so the help still answers the question.
void PrintNotBuiltHelp(const Command& cmd, std::ostream& out) {
  fmt::print(out,
             "faultline {}: {}\n\n"
             "usage: {}\n\n"
             "Not built yet (see DESIGN.md, \"The command line\"): running it exits with "
             "status 2.\n",
             cmd.name, cmd.description, UsageLine(cmd));
}

void PrintGroupUsage(std::string_view group, std::span<const Command* const> members,
                     std::ostream& out) {
  fmt::print(out, "usage: faultline {} <command> [arguments] [flags]\n\ncommands:\n", group);
  PrintCommandList(members, out);
  fmt::print(out, "\nRun 'faultline {} <command> --help' for a command's flags.\n", group);
}

int UnknownCommand(std::string_view typed, std::optional<std::string> suggestion,
                   std::ostream& err) {
  if (suggestion) {
    fmt::print(err, "faultline: '{}' is not a faultline command. Did you mean '{}'?\n", typed,
               *suggestion);
  } else {
    fmt::print(err, "faultline: '{}' is not a faultline command. See 'faultline --help'.\n", typed);
  }
  return kExitUsage;
}

// args[0] names a group ("faults") but args[1] is no command of it.
int RunGroup(std::string_view group, std::span<const Command* const> members,
             const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() >= 2 && IsHelpFlag(args[1])) {
    PrintGroupUsage(group, members, out);
    return kExitOk;
  }
  if (args.size() < 2) {
    fmt::print(err, "faultline {}: which command?\n", group);
    PrintGroupUsage(group, members, err);
    return kExitUsage;
  }
  std::vector<std::string_view> second_words;
  for (const Command* cmd : members) second_words.push_back(SecondWord(cmd->name));
  std::optional<std::string> suggestion;
  if (auto word = Suggest(args[1], second_words)) {
    suggestion = fmt::format("{} {}", group, *word);
  }
  return UnknownCommand(fmt::format("{} {}", group, args[1]), suggestion, err);
}

int RunCommand(const Command& cmd, std::vector<std::string> rest, std::ostream& out,
               std::ostream& err) {
  if (!cmd.built()) {
    if (std::any_of(rest.begin(), rest.end(), [](const auto& a) { return IsHelpFlag(a); })) {
      PrintNotBuiltHelp(cmd, out);
      return kExitOk;
    }
    fmt::print(err, "faultline {}: not built yet (see DESIGN.md)\n", cmd.name);
    return kExitUsage;
  }
  try {
    return cmd.run(Context{cmd, std::move(rest), out, err});
  } catch (const std::exception& e) {
    // Library code reports errors as values; reaching this is a bug.
    fmt::print(err, "faultline {}: internal error: {}\n", cmd.name, e.what());
    return kExitFailure;
  }
}

int Dispatch(std::span<const Command> table, const std::vector<std::string>& args,
             std::ostream& out, std::ostream& err) {
  if (const Command* cmd = Find(table, args)) {
    std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(WordCount(cmd->name)),
                                  args.end());
    return RunCommand(*cmd, std::move(rest), out, err);
  }
  std::vector<const Command*> members = GroupMembers(table, args[0]);
  if (!members.empty()) return RunGroup(args[0], members, args, out, err);

  std::vector<std::string_view> first_words;
  for (const Command& cmd : table) {
    std::string_view word = FirstWord(cmd.name);
    if (std::find(first_words.begin(), first_words.end(), word) == first_words.end()) {
      first_words.push_back(word);
    }
  }
  std::optional<std::string> suggestion;
  if (auto word = Suggest(args[0], first_words)) suggestion = std::string(*word);
  return UnknownCommand(args[0], suggestion, err);
}

}  // namespace

std::string_view Version() { return FAULTLINE_VERSION; }

void PrintUsage(std::span<const Command> table, std::ostream& out) {
  fmt::print(out,
             "faultline {}: chaos engineering for serverless functions\n\n"
             "usage: faultline <command> [arguments] [flags]\n"
             "       faultline <command> --help   what a command does, its flags, an example\n"
             "       faultline --version\n\n"
             "commands:\n",
             Version());
  std::vector<const Command*> all;
  for (const Command& cmd : table) all.push_back(&cmd);
  PrintCommandList(all, out);
  fmt::print(out,
             "\nexit codes: 0 ok, 1 the command failed, 2 a usage error or invalid input\n\n"
             "examples:\n"
             "  faultline demo                 run every seed scenario, print a verdict for each\n"
             "  faultline demo --list          list the seed scenarios\n"
             "  faultline faults check examples/rules/cache-fallback.yaml\n"
             "                                 check a rule file, print the rules it means\n");
}

int Main(std::span<const Command> table, const std::vector<std::string>& args, std::ostream& out,
         std::ostream& err) {
  if (args.empty() || IsHelpFlag(args[0])) {
    PrintUsage(table, out);
    return kExitOk;
  }
  if (args[0] == "--version") {
    fmt::print(out, "faultline {}\n", Version());
    return kExitOk;
  }
  if (args[0] == "help") {  // `faultline help demo` == `faultline demo --help`
    if (args.size() == 1) return Main(table, {}, out, err);
    std::vector<std::string> rest(args.begin() + 1, args.end());
    rest.emplace_back("--help");
    return Main(table, rest, out, err);
  }
  if (args[0].starts_with("-")) {
    fmt::print(err, "faultline: unknown flag '{}'. See 'faultline --help'.\n", args[0]);
    return kExitUsage;
  }
  return Dispatch(table, args, out, err);
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, over
  // three rolling rows.
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string_view> Suggest(std::string_view typed,
                                        std::span<const std::string_view> candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (std::string_view candidate : candidates) {
    // Short words tolerate one slip, long ones up to three.
    std::size_t allowed = std::clamp<std::size_t>(candidate.size() / 3, 1, 3);
    std::size_t distance = EditDistance(typed, candidate);
    if (distance > allowed) continue;
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

Result<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string message = fmt::format("{}: cannot open: {}", path, std::strerror(err));
    return err == ENOENT ? Status::NotFound(message) : Status::IoError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IoError(fmt::format("{}: cannot read", path));
  return text.str();
}

std::optional<int> ParseFlags(CLI::App& app, const Context& ctx) {
  // CLI11 takes a vector of arguments last-first.
  std::vector<std::string> reversed(ctx.args.rbegin(), ctx.args.rend());
  try {
    app.parse(reversed);
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    ctx.out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    ctx.out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    fmt::print(ctx.err, "faultline {}: {}\nRun 'faultline {} --help' for usage.\n",
               ctx.command.name, e.what(), ctx.command.name);
    return kExitUsage;
  }
}

}  // namespace faultline::cli
