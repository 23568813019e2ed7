#include "cli/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <array>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace faultline::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// What the fake commands saw, for the dispatch tests.
struct Seen {
  std::string command;
  std::vector<std::string> args;
};
Seen g_seen;

int Record(const Context& ctx) {
  g_seen = Seen{std::string(ctx.command.name), ctx.args};
  ctx.out << "ran " << ctx.command.name << "\n";
  return 0;
}

int Fail(const Context&) { return kExitFailure; }

int Throw(const Context&) { throw std::runtime_error("boom"); }

// A command with one flag, parsed by ParseFlags.
int WithFlags(const Context& ctx) {
  CLI::App app{"Does a thing with N.", "faultline flags"};
  int n = 0;
  app.add_option("-n", n, "how many")->required();
  if (auto code = ParseFlags(app, ctx)) return *code;
  ctx.out << "n=" << n << "\n";
  return 0;
}

constexpr std::array kTable = {
    Command{"demo", "[NAME]", "run the demo", Record},
    Command{"faults check", "FILE", "check a rule file", Record},
    Command{"faults list", "--endpoint URL", "list the rules", nullptr},
    Command{"faults", "", "the bare group word as a command of its own", Record},
    Command{"lambda serve", "--port P", "serve functions", nullptr},
    Command{"fail", "", "always fails", Fail},
    Command{"throw", "", "throws", Throw},
    Command{"flags", "-n N", "parses flags", WithFlags},
};
// The same without the "faults" row, so that "faults" is only a group.
constexpr std::array kGroupTable = {kTable[0], kTable[1], kTable[2], kTable[4]};

struct Ran {
  int code;
  std::string out;
  std::string err;
};

Ran RunMain(std::span<const Command> table, std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = Main(table, args, out, err);
  return Ran{code, out.str(), err.str()};
}

// --- EditDistance and Suggest ----------------------------------------------

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("demo", "demo"), 0u);
  EXPECT_EQ(EditDistance("", "demo"), 4u);
  EXPECT_EQ(EditDistance("demoo", "demo"), 1u);
  EXPECT_EQ(EditDistance("dem", "demo"), 1u);
  EXPECT_EQ(EditDistance("dxmo", "demo"), 1u);
  EXPECT_EQ(EditDistance("dmeo", "demo"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("sitting", "kitten"), 3u);
}

TEST(SuggestTest, PicksTheClosestCloseEnoughCandidate) {
  std::vector<std::string_view> names = {"demo", "run", "validate", "rollback", "load"};
  EXPECT_EQ(Suggest("demoo", names), "demo");
  EXPECT_EQ(Suggest("rnu", names), "run");
  EXPECT_EQ(Suggest("valdate", names), "validate");
  EXPECT_EQ(Suggest("rolbak", names), "rollback");
  EXPECT_EQ(Suggest("lod", names), "load");
}

TEST(SuggestTest, ShortWordsTolerateOneEditOnly) {
  std::vector<std::string_view> names = {"run", "demo"};
  EXPECT_EQ(Suggest("xyz", names), std::nullopt);
  EXPECT_EQ(Suggest("rm", names), std::nullopt);
  EXPECT_EQ(Suggest("dmeoo", names), std::nullopt);
  EXPECT_EQ(Suggest("", names), std::nullopt);
  EXPECT_EQ(Suggest("demo", {}), std::nullopt);
}

TEST(SuggestTest, TieGoesToTheFirstCandidate) {
  std::vector<std::string_view> names = {"load", "lead"};
  EXPECT_EQ(Suggest("lxad", names), "load");
}

// --- Main: help, version, dispatch -------------------------------------------

TEST(MainTest, NoArgumentsOrHelpPrintsEveryCommand) {
  for (std::vector<std::string> args : {std::vector<std::string>{}, {"--help"}, {"-h"}, {"help"}}) {
    Ran r = RunMain(kTable, args);
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("usage: faultline <command>"));
    for (const Command& cmd : kTable) {
      EXPECT_THAT(r.out, HasSubstr(std::string(cmd.name))) << cmd.name;
      EXPECT_THAT(r.out, HasSubstr(std::string(cmd.description))) << cmd.name;
    }
  }
}

TEST(MainTest, HelpMarksCommandsNotBuiltYet) {
  Ran r = RunMain(kTable, {"--help"});
  EXPECT_THAT(r.out, HasSubstr("serve functions (not built yet)\n"));
  EXPECT_THAT(r.out, HasSubstr("list the rules (not built yet)\n"));
  EXPECT_THAT(r.out, HasSubstr("run the demo\n"));
}

TEST(MainTest, HelpAlignsDescriptions) {
  Ran r = RunMain(kTable, {"--help"});
  EXPECT_THAT(r.out, HasSubstr("\n  demo          run the demo\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  lambda serve  serve functions"));
}

TEST(MainTest, Version) {
  Ran r = RunMain(kTable, {"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "faultline " FAULTLINE_VERSION "\n");
  EXPECT_EQ(Version(), FAULTLINE_VERSION);
}

TEST(MainTest, DispatchesWithTheRemainingArguments) {
  Ran r = RunMain(kTable, {"demo", "cache-fallback", "--seed", "3"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(g_seen.command, "demo");
  EXPECT_EQ(g_seen.args, (std::vector<std::string>{"cache-fallback", "--seed", "3"}));
  EXPECT_EQ(r.out, "ran demo\n");
}

TEST(MainTest, TwoWordNamesWinOverOneWord) {
  RunMain(kTable, {"faults", "check", "x.yaml"});
  EXPECT_EQ(g_seen.command, "faults check");
  EXPECT_EQ(g_seen.args, (std::vector<std::string>{"x.yaml"}));
  RunMain(kTable, {"faults", "x.yaml"});
  EXPECT_EQ(g_seen.command, "faults");
  EXPECT_EQ(g_seen.args, (std::vector<std::string>{"x.yaml"}));
}

TEST(MainTest, PassesTheCommandsExitCode) {
  EXPECT_EQ(RunMain(kTable, {"fail"}).code, kExitFailure);
}

TEST(MainTest, AnExceptionIsAFailureNotACrash) {
  Ran r = RunMain(kTable, {"throw"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "faultline throw: internal error: boom\n");
}

TEST(MainTest, HelpWordRunsTheCommandsHelp) {
  Ran r = RunMain(kTable, {"help", "flags"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("Does a thing with N."));
}

// --- Main: errors --------------------------------------------------------------

TEST(MainTest, TypoSuggestsTheCommand) {
  Ran r = RunMain(kTable, {"demoo"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "faultline: 'demoo' is not a faultline command. Did you mean 'demo'?\n");
}

TEST(MainTest, TypoOfAGroupWordSuggestsTheGroup) {
  Ran r = RunMain(kGroupTable, {"lamda", "serve"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("'lamda' is not a faultline command. Did you mean 'lambda'?"));
}

TEST(MainTest, TypoInsideAGroupSuggestsTheFullName) {
  Ran r = RunMain(kGroupTable, {"faults", "chek", "x.yaml"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "faultline: 'faults chek' is not a faultline command. Did you mean 'faults check'?\n");
}

TEST(MainTest, UnknownCommandWithNothingClose) {
  Ran r = RunMain(kTable, {"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "faultline: 'frobnicate' is not a faultline command. See 'faultline --help'.\n");
}

TEST(MainTest, UnknownTopLevelFlag) {
  Ran r = RunMain(kTable, {"--verbose"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown flag '--verbose'"));
}

TEST(MainTest, GroupAloneListsItsCommands) {
  Ran r = RunMain(kGroupTable, {"faults"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("faultline faults: which command?"));
  EXPECT_THAT(r.err, HasSubstr("faults check"));
  EXPECT_THAT(r.err, HasSubstr("faults list"));
  EXPECT_THAT(r.err, Not(HasSubstr("demo")));

  Ran help = RunMain(kGroupTable, {"faults", "--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("faults check"));
}

TEST(MainTest, NotBuiltExitsTwo) {
  Ran r = RunMain(kTable, {"lambda", "serve", "--port", "9001"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "faultline lambda serve: not built yet (see DESIGN.md)\n");
}

TEST(MainTest, NotBuiltStillHasHelp) {
  Ran r = RunMain(kTable, {"lambda", "serve", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("faultline lambda serve: serve functions"));
  EXPECT_THAT(r.out, HasSubstr("usage: faultline lambda serve --port P"));
  EXPECT_THAT(r.out, HasSubstr("Not built yet"));
}

// --- ParseFlags ------------------------------------------------------------------

TEST(ParseFlagsTest, Parses) {
  Ran r = RunMain(kTable, {"flags", "-n", "3"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "n=3\n");
}

TEST(ParseFlagsTest, HelpGoesToStdoutAndExitsZero) {
  Ran r = RunMain(kTable, {"flags", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("Does a thing with N."));
  EXPECT_THAT(r.out, HasSubstr("-n"));
  EXPECT_EQ(r.err, "");
}

TEST(ParseFlagsTest, BadFlagsAreAUsageError) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"flags"}, {"flags", "-n", "x"}, {"flags", "-n", "1", "--what"}}) {
    Ran r = RunMain(kTable, args);
    EXPECT_EQ(r.code, kExitUsage) << args.size();
    EXPECT_THAT(r.err, HasSubstr("faultline flags: ")) << args.size();
    EXPECT_THAT(r.err, HasSubstr("Run 'faultline flags --help' for usage.")) << args.size();
    EXPECT_EQ(r.out, "");
  }
}

// --- The real table ----------------------------------------------------------------

TEST(CommandsTest, HasEveryCommandOfTheDesign) {
  std::set<std::string_view> names;
  for (const Command& cmd : Commands()) names.insert(cmd.name);
  for (std::string_view name :
       {"demo", "lambda serve", "lambda invoke", "extension", "layer build", "run", "validate",
        "report", "rollback", "load", "faults list", "faults set", "faults clear", "proxy"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
}

TEST(CommandsTest, NamesAreUniqueAndDescriptionsOneLine) {
  std::set<std::string_view> names;
  for (const Command& cmd : Commands()) {
    EXPECT_TRUE(names.insert(cmd.name).second) << cmd.name;
    EXPECT_FALSE(cmd.description.empty()) << cmd.name;
    EXPECT_EQ(cmd.description.find('\n'), std::string_view::npos) << cmd.name;
    EXPECT_NE(cmd.description.back(), '.') << cmd.name;
  }
}

TEST(CommandsTest, BuiltSoFar) {
  std::set<std::string_view> built;
  for (const Command& cmd : Commands()) {
    if (cmd.built()) built.insert(cmd.name);
  }
  EXPECT_EQ(built, (std::set<std::string_view>{
                       "demo", "faults check", "lambda serve", "lambda invoke", "lambda env",
                       "load", "extension", "layer build", "faults list", "faults set",
                       "faults clear", "run", "validate", "report", "rollback"}));
}

TEST(CommandsTest, EveryCommandAnswersHelp) {
  for (const Command& cmd : Commands()) {
    std::vector<std::string> args;
    std::string name(cmd.name);
    for (std::size_t start = 0, space; start < name.size(); start = space + 1) {
      space = std::min(name.find(' ', start), name.size());
      args.push_back(name.substr(start, space - start));
    }
    args.emplace_back("--help");
    Ran r = RunMain(Commands(), args);
    EXPECT_EQ(r.code, kExitOk) << cmd.name;
    EXPECT_THAT(r.out, HasSubstr("faultline " + name)) << cmd.name;
    EXPECT_EQ(r.err, "") << cmd.name;
  }
}

}  // namespace
}  // namespace faultline::cli
