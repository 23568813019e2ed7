#include "lambda/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::lambda {
namespace {

using std::chrono::milliseconds;

// Beside this file: CMake passes sources by absolute path.
std::string TestdataDir() {
  return (std::filesystem::path(__FILE__).parent_path() / "testdata").string();
}

constexpr std::string_view kBase = "/srv/app";

// The configuration `text` holds; fails the test if it does not parse.
EmulatorConfig Parse(std::string_view text, const std::string& base = std::string(kBase)) {
  Result<EmulatorConfig> r = ParseEmulatorConfig(text, "functions.yaml", base);
  EXPECT_TRUE(r.ok()) << r.status().message() << "\nin:\n" << text;
  return r.ok() ? *r : EmulatorConfig();
}

// The one function `text` holds.
FunctionConfig One(std::string_view text) {
  EmulatorConfig c = Parse(text);
  EXPECT_EQ(c.functions.size(), 1u);
  return c.functions.empty() ? FunctionConfig() : c.functions[0];
}

// The error message for `text`; fails the test if it parses.
std::string Err(std::string_view text) {
  Result<EmulatorConfig> r = ParseEmulatorConfig(text, "functions.yaml", std::string(kBase));
  EXPECT_FALSE(r.ok()) << "parsed, but should not have:\n" << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

// A one-function file: name f, command ./f, plus `extra` (function keys,
// each line indented by four spaces).
std::string Fn(std::string_view extra = "") {
  return "functions:\n  - name: f\n    command: ./f\n" + std::string(extra);
}

// A function that passes ValidateFunctionConfig.
FunctionConfig Valid() {
  FunctionConfig f;
  f.name = "f";
  f.command = {"/bin/true"};
  return f;
}

// --- Defaults and every key ---------------------------------------------------

TEST(ConfigTest, MinimalFileGetsTheDefaults) {
  EmulatorConfig c = Parse("functions:\n  - name: echo\n    command: [./echo]\n");
  EXPECT_EQ(c.account_concurrency, 1000);
  EXPECT_EQ(c.idle_timeout, milliseconds(10 * 60 * 1000));
  ASSERT_EQ(c.functions.size(), 1u);
  const FunctionConfig& f = c.functions[0];
  EXPECT_EQ(f.name, "echo");
  EXPECT_EQ(f.command, (std::vector<std::string>{"/srv/app/echo"}));
  EXPECT_EQ(f.handler, "");
  EXPECT_EQ(f.runtime, "provided.al2023");
  EXPECT_EQ(f.timeout, milliseconds(3000));
  EXPECT_EQ(f.memory_mb, 128);
  EXPECT_EQ(f.reserved_concurrency, std::nullopt);
  EXPECT_TRUE(f.environment.empty());
  EXPECT_EQ(f.working_dir, "/srv/app");
  EXPECT_TRUE(f.extensions.empty());
  EXPECT_EQ(f.exec_wrapper, "");
}

TEST(ConfigTest, EveryKey) {
  EmulatorConfig c = Parse(R"(
account_concurrency: 50
idle_timeout: 90s
functions:
  - name: my-Func_1
    command: [python3, -m, awslambdaric, app.handler]
    handler: app.handler
    runtime: python3.12
    timeout: 900
    memory: 10240
    reserved_concurrency: 5
    environment: {GREETING: hello, COUNT: 3, DEBUG: true, EMPTY: ""}
    working_dir: fn/python
    extensions:
      - ./ext/logger --verbose
      - [/opt/extensions/chaos, --port, 9100]
    exec_wrapper: ./wrapper.sh
  - name: second
    command: /bin/cat
)");
  EXPECT_EQ(c.account_concurrency, 50);
  EXPECT_EQ(c.idle_timeout, milliseconds(90000));
  ASSERT_EQ(c.functions.size(), 2u);
  const FunctionConfig& f = c.functions[0];
  EXPECT_EQ(f.name, "my-Func_1");
  EXPECT_EQ(f.command, (std::vector<std::string>{"python3", "-m", "awslambdaric", "app.handler"}));
  EXPECT_EQ(f.handler, "app.handler");
  EXPECT_EQ(f.runtime, "python3.12");
  EXPECT_EQ(f.timeout, milliseconds(900000));
  EXPECT_EQ(f.memory_mb, 10240);
  EXPECT_EQ(f.reserved_concurrency, 5);
  EXPECT_EQ(f.environment,
            (std::map<std::string, std::string>{
                {"GREETING", "hello"}, {"COUNT", "3"}, {"DEBUG", "true"}, {"EMPTY", ""}}));
  EXPECT_EQ(f.working_dir, "/srv/app/fn/python");
  ASSERT_EQ(f.extensions.size(), 2u);
  EXPECT_EQ(f.extensions[0], (std::vector<std::string>{"/bin/sh", "-c", "./ext/logger --verbose"}));
  EXPECT_EQ(f.extensions[1], (std::vector<std::string>{"/opt/extensions/chaos", "--port", "9100"}));
  EXPECT_EQ(f.exec_wrapper, "/srv/app/wrapper.sh");
  EXPECT_EQ(c.functions[1].command, (std::vector<std::string>{"/bin/sh", "-c", "/bin/cat"}));
}

TEST(ConfigTest, JsonIsYamlToo) {
  EmulatorConfig c = Parse(R"({"functions": [{"name": "j", "command": ["./j"], "timeout": 10}]})");
  ASSERT_EQ(c.functions.size(), 1u);
  EXPECT_EQ(c.functions[0].timeout, milliseconds(10000));
}

TEST(ConfigTest, EmptyFunctionListIsAllowed) {
  EXPECT_TRUE(Parse("functions: []\n").functions.empty());
  EXPECT_TRUE(Parse("functions:\n").functions.empty());
}

// --- Commands and paths ---------------------------------------------------------

TEST(ConfigTest, StringCommandRunsThroughTheShell) {
  EXPECT_EQ(One(Fn()).command, (std::vector<std::string>{"/bin/sh", "-c", "./f"}));
  FunctionConfig f = One("functions:\n  - name: f\n    command: python3 -m awslambdaric app.h\n");
  EXPECT_EQ(f.command,
            (std::vector<std::string>{"/bin/sh", "-c", "python3 -m awslambdaric app.h"}));
}

TEST(ConfigTest, ListCommandResolvesOnlyPathsWithASlash) {
  auto command = [](std::string_view list) {
    return One("functions:\n  - name: f\n    command: " + std::string(list) + "\n").command;
  };
  EXPECT_EQ(command("[./bin/echo, ./not/resolved]"),
            (std::vector<std::string>{"/srv/app/bin/echo", "./not/resolved"}));
  EXPECT_EQ(command("[bin/echo]"), (std::vector<std::string>{"/srv/app/bin/echo"}));
  EXPECT_EQ(command("[../other/echo]"), (std::vector<std::string>{"/srv/other/echo"}));
  EXPECT_EQ(command("[/usr/bin/env]"), (std::vector<std::string>{"/usr/bin/env"}));
  EXPECT_EQ(command("[node]"), (std::vector<std::string>{"node"}));
  EXPECT_EQ(command("[node, 8080, true, '']"),
            (std::vector<std::string>{"node", "8080", "true", ""}));
}

TEST(ConfigTest, RelativeBaseDirBecomesAbsolute) {
  std::string cwd = std::filesystem::current_path().string();
  FunctionConfig f = Parse(Fn("    working_dir: w\n"), "conf/./x/..").functions.at(0);
  EXPECT_EQ(f.working_dir, cwd + "/conf/w");
  EXPECT_EQ(Parse(Fn(), "").functions.at(0).working_dir, cwd);
  EXPECT_EQ(Parse(Fn(), "/srv/app/").functions.at(0).working_dir, "/srv/app");
  EXPECT_EQ(Parse(Fn(), "/").functions.at(0).working_dir, "/");
}

TEST(ConfigTest, WorkingDir) {
  EXPECT_EQ(One(Fn("    working_dir: /tmp/x\n")).working_dir, "/tmp/x");
  EXPECT_EQ(One(Fn("    working_dir: .\n")).working_dir, "/srv/app");
  EXPECT_EQ(One(Fn("    working_dir: ../x/\n")).working_dir, "/srv/x");
  EXPECT_EQ(Err(Fn("    working_dir: ''\n")),
            "functions.yaml:4:18: functions[0].working_dir: expected a non-empty string, got "
            "\"\"");
}

TEST(ConfigTest, ExecWrapper) {
  EXPECT_EQ(One(Fn("    exec_wrapper: /opt/w\n")).exec_wrapper, "/opt/w");
  EXPECT_EQ(One(Fn("    exec_wrapper: bin/w\n")).exec_wrapper, "/srv/app/bin/w");
  EXPECT_EQ(One(Fn("    exec_wrapper: w\n")).exec_wrapper, "w");  // found on PATH
  EXPECT_EQ(Err(Fn("    exec_wrapper: 3\n")),
            "functions.yaml:4:19: functions[0].exec_wrapper: expected a non-empty string, got 3");
}

TEST(ConfigTest, ExecWrapperFromTheEnvironmentAsOnAws) {
  FunctionConfig f = One(Fn("    environment: {AWS_LAMBDA_EXEC_WRAPPER: ./w, A1: x}\n"));
  EXPECT_EQ(f.exec_wrapper, "/srv/app/w");
  EXPECT_EQ(f.environment, (std::map<std::string, std::string>{{"A1", "x"}}));
  EXPECT_EQ(One(Fn("    environment: {AWS_LAMBDA_EXEC_WRAPPER: ''}\n")).exec_wrapper, "");
  EXPECT_EQ(Err(Fn("    exec_wrapper: ./a\n    environment: {AWS_LAMBDA_EXEC_WRAPPER: ./b}\n")),
            "functions.yaml:4:19: functions[0].exec_wrapper: given twice: also as "
            "environment.AWS_LAMBDA_EXEC_WRAPPER; keep one");
}

TEST(ConfigTest, LaunchArgvPutsTheWrapperFirstOnManagedRuntimes) {
  FunctionConfig f = Valid();
  f.runtime = "python3.13";
  f.command = {"/bin/sh", "-c", "./f"};
  EXPECT_EQ(LaunchArgv(f), f.command);
  f.exec_wrapper = "/opt/w";
  EXPECT_EQ(LaunchArgv(f), (std::vector<std::string>{"/opt/w", "/bin/sh", "-c", "./f"}));
  f.runtime = "nodejs22.x";
  EXPECT_EQ(LaunchArgv(f).front(), "/opt/w");
}

// As AWS: AWS_LAMBDA_EXEC_WRAPPER is ignored on OS-only runtimes, the
// default runtime (no `runtime:` key) included.
TEST(ConfigTest, LaunchArgvIgnoresTheWrapperOnOsOnlyRuntimes) {
  FunctionConfig f = One(Fn("    exec_wrapper: /opt/w\n"));
  EXPECT_EQ(f.runtime, "provided.al2023");
  EXPECT_EQ(LaunchArgv(f), f.command);
  for (const char* runtime : {"provided", "provided.al2", "provided.al2023"}) {
    f.runtime = runtime;
    EXPECT_TRUE(IsOsOnlyRuntime(runtime));
    EXPECT_EQ(LaunchArgv(f), f.command) << runtime;
  }
  for (const char* runtime : {"python3.13", "nodejs22.x", "java21", "dotnet8", "ruby3.3"}) {
    EXPECT_FALSE(IsOsOnlyRuntime(runtime)) << runtime;
  }
}

TEST(ConfigTest, BadCommands) {
  const std::string expected =
      "expected a command: a non-empty string (run by /bin/sh -c) or a non-empty list (the argv)";
  auto with = [](std::string_view command) {
    return "functions:\n  - name: f\n    command: " + std::string(command) + "\n";
  };
  EXPECT_EQ(Err(with("''")),
            "functions.yaml:3:14: functions[0].command: " + expected + ", got \"\"");
  EXPECT_EQ(Err(with("'  '")),
            "functions.yaml:3:14: functions[0].command: " + expected + ", got \"  \"");
  EXPECT_EQ(Err(with("[]")),
            "functions.yaml:3:14: functions[0].command: " + expected + ", got an empty list");
  EXPECT_EQ(Err(with("{a: b}")),
            "functions.yaml:3:14: functions[0].command: " + expected + ", got a mapping");
  EXPECT_EQ(Err(with("42")), "functions.yaml:3:14: functions[0].command: " + expected + ", got 42");
  EXPECT_EQ(Err(with("")), "functions.yaml:3:5: functions[0].command: " + expected + ", got null");
  EXPECT_EQ(Err(with("['']")),
            "functions.yaml:3:15: functions[0].command[0]: expected a program: a path or a name "
            "to look up on PATH, got \"\"");
  EXPECT_EQ(Err(with("[5]")),
            "functions.yaml:3:15: functions[0].command[0]: expected a program: a path or a name "
            "to look up on PATH, got 5");
  EXPECT_EQ(Err(with("[a, [b]]")),
            "functions.yaml:3:18: functions[0].command[1]: expected a string, number or bool, "
            "got a list");
}

// --- Extensions ---------------------------------------------------------------

TEST(ConfigTest, Extensions) {
  FunctionConfig f = One(Fn("    extensions: [[./ext/a, x], b]\n"));
  ASSERT_EQ(f.extensions.size(), 2u);
  EXPECT_EQ(f.extensions[0], (std::vector<std::string>{"/srv/app/ext/a", "x"}));
  EXPECT_EQ(f.extensions[1], (std::vector<std::string>{"/bin/sh", "-c", "b"}));
  EXPECT_TRUE(One(Fn("    extensions:\n")).extensions.empty());
  EXPECT_TRUE(One(Fn("    extensions: []\n")).extensions.empty());
}

TEST(ConfigTest, AtMostTenExtensions) {
  EXPECT_EQ(One(Fn("    extensions: [a, b, c, d, e, f, g, h, i, j]\n")).extensions.size(), 10u);
  EXPECT_EQ(Err(Fn("    extensions: [a, b, c, d, e, f, g, h, i, j, k]\n")),
            "functions.yaml:4:17: functions[0].extensions: expected at most 10 extensions "
            "(AWS's limit), got 11");
}

TEST(ConfigTest, BadExtensions) {
  EXPECT_EQ(Err(Fn("    extensions: ./ext\n")),
            "functions.yaml:4:17: functions[0].extensions: expected a list of commands, got "
            "\"./ext\"");
  EXPECT_EQ(Err(Fn("    extensions: [a, []]\n")),
            "functions.yaml:4:21: functions[0].extensions[1]: expected a command: a non-empty "
            "string (run by /bin/sh -c) or a non-empty list (the argv), got an empty list");
}

// --- Numbers and durations -------------------------------------------------------

TEST(ConfigTest, TimeoutIsWholeSecondsAsOnAws) {
  EXPECT_EQ(One(Fn("    timeout: 1\n")).timeout, milliseconds(1000));
  EXPECT_EQ(One(Fn("    timeout: +60\n")).timeout, milliseconds(60000));
  const std::string prefix =
      "functions.yaml:4:14: functions[0].timeout: expected an integer number of seconds in [1, "
      "900], got ";
  EXPECT_EQ(Err(Fn("    timeout: 0\n")), prefix + "0");
  EXPECT_EQ(Err(Fn("    timeout: 901\n")), prefix + "901");
  EXPECT_EQ(Err(Fn("    timeout: -1\n")), prefix + "-1");
  EXPECT_EQ(Err(Fn("    timeout: 1.5\n")), prefix + "1.5");
  EXPECT_EQ(Err(Fn("    timeout: 3s\n")), prefix + "\"3s\"");
  EXPECT_EQ(Err(Fn("    timeout: '3'\n")), prefix + "\"3\"");
  EXPECT_EQ(Err(Fn("    timeout: 99999999999999999999\n")), prefix + "99999999999999999999");
  EXPECT_EQ(Err(Fn("    timeout: .inf\n")), prefix + ".inf");
  EXPECT_EQ(Err(Fn("    timeout: true\n")), prefix + "true");
}

TEST(ConfigTest, Memory) {
  EXPECT_EQ(One(Fn("    memory: 128\n")).memory_mb, 128);
  EXPECT_EQ(One(Fn("    memory: 1769\n")).memory_mb, 1769);  // any whole MB, as AWS
  EXPECT_EQ(One(Fn("    memory: 10240\n")).memory_mb, 10240);
  const std::string prefix =
      "functions.yaml:4:13: functions[0].memory: expected an integer number of MB in [128, "
      "10240], got ";
  EXPECT_EQ(Err(Fn("    memory: 127\n")), prefix + "127");
  EXPECT_EQ(Err(Fn("    memory: 10241\n")), prefix + "10241");
  EXPECT_EQ(Err(Fn("    memory: 512MB\n")), prefix + "\"512MB\"");
}

TEST(ConfigTest, ReservedConcurrency) {
  EXPECT_EQ(One(Fn("    reserved_concurrency: 0\n")).reserved_concurrency, 0);
  EXPECT_EQ(One(Fn("    reserved_concurrency: 1000\n")).reserved_concurrency, 1000);
  EXPECT_EQ(Err(Fn("    reserved_concurrency: 1001\n")),
            "functions.yaml:4:27: functions[0].reserved_concurrency: expected an integer in "
            "[0, 1000] (account_concurrency), got 1001");
  EXPECT_EQ(Err("account_concurrency: 3\n" + Fn("    reserved_concurrency: 4\n")),
            "functions.yaml:5:27: functions[0].reserved_concurrency: expected an integer in "
            "[0, 3] (account_concurrency), got 4");
  EXPECT_EQ(Err(Fn("    reserved_concurrency: -1\n")),
            "functions.yaml:4:27: functions[0].reserved_concurrency: expected an integer in "
            "[0, 1000] (account_concurrency), got -1");
}

TEST(ConfigTest, ReservedConcurrencyComesOutOfTheAccountPool) {
  const std::string three = R"(account_concurrency: 10
functions:
  - {name: a, command: a, reserved_concurrency: 4}
  - {name: b, command: b}
  - {name: c, command: c, reserved_concurrency: 6}
)";
  EXPECT_EQ(Parse(three).functions.at(2).reserved_concurrency, 6);
  EXPECT_EQ(Err(three + "  - {name: d, command: d, reserved_concurrency: 1}\n"),
            "functions.yaml:6:49: functions[3].reserved_concurrency: expected at most 0 "
            "(account_concurrency 10 minus 10 reserved by the functions before), got 1");
}

TEST(ConfigTest, AccountConcurrency) {
  EXPECT_EQ(Parse("account_concurrency: 1\nfunctions: []\n").account_concurrency, 1);
  EXPECT_EQ(Err("account_concurrency: 0\nfunctions: []\n"),
            "functions.yaml:1:22: account_concurrency: expected an integer in [1, 100000], got 0");
  EXPECT_EQ(Err("account_concurrency: many\nfunctions: []\n"),
            "functions.yaml:1:22: account_concurrency: expected an integer in [1, 100000], got "
            "\"many\"");
}

TEST(ConfigTest, IdleTimeout) {
  auto idle = [](std::string_view v) {
    return Parse("idle_timeout: " + std::string(v) + "\nfunctions: []\n").idle_timeout;
  };
  EXPECT_EQ(idle("30s"), milliseconds(30000));
  EXPECT_EQ(idle("1h30m"), milliseconds(90 * 60 * 1000));
  EXPECT_EQ(idle("250ms"), milliseconds(250));
  EXPECT_EQ(idle("1.5"), milliseconds(1500));
  EXPECT_EQ(idle("45"), milliseconds(45000));
  EXPECT_EQ(Err("idle_timeout: 0s\nfunctions: []\n"),
            "functions.yaml:1:15: idle_timeout: expected a duration of at least 1ms, got \"0s\"");
  EXPECT_EQ(Err("idle_timeout: 10us\nfunctions: []\n"),
            "functions.yaml:1:15: idle_timeout: expected a duration of at least 1ms, got "
            "\"10us\"");
  EXPECT_EQ(Err("idle_timeout: [1]\nfunctions: []\n"),
            "functions.yaml:1:15: idle_timeout: expected a duration like \"30s\", \"10m\", "
            "\"1h30m\" or a number of seconds, got a list");
  std::string e = Err("idle_timeout: soon\nfunctions: []\n");
  EXPECT_EQ(e.rfind("functions.yaml:1:15: idle_timeout: expected a duration", 0), 0u) << e;
  EXPECT_NE(e.find("got \"soon\""), std::string::npos) << e;
}

// --- Strings --------------------------------------------------------------------

TEST(ConfigTest, FunctionNames) {
  EXPECT_EQ(One("functions:\n  - {name: " + std::string(64, 'a') + ", command: x}\n").name,
            std::string(64, 'a'));
  EXPECT_EQ(One("functions:\n  - {name: '123', command: x}\n").name, "123");
  const std::string expected =
      "expected a function name of 1 to 64 letters, digits, '-' or '_', got ";
  EXPECT_EQ(Err("functions:\n  - {name: " + std::string(65, 'a') + ", command: x}\n"),
            "functions.yaml:2:12: functions[0].name: " + expected + "\"" + std::string(60, 'a') +
                "...\"");
  EXPECT_EQ(Err("functions:\n  - {name: my.func, command: x}\n"),
            "functions.yaml:2:12: functions[0].name: " + expected + "\"my.func\"");
  EXPECT_EQ(Err("functions:\n  - {name: '', command: x}\n"),
            "functions.yaml:2:12: functions[0].name: " + expected + "\"\"");
  EXPECT_EQ(Err("functions:\n  - {name: 123, command: x}\n"),
            "functions.yaml:2:12: functions[0].name: expected a string, got 123");
}

TEST(ConfigTest, DuplicateNames) {
  EXPECT_EQ(Err("functions:\n  - {name: a, command: x}\n  - {name: b, command: x}\n"
                "  - {name: a, command: y}\n"),
            "functions.yaml:4:12: functions[2].name: expected a unique name (functions[0] has it "
            "too), got \"a\"");
}

TEST(ConfigTest, HandlerAndRuntime) {
  EXPECT_EQ(One(Fn("    handler: index.handler\n")).handler, "index.handler");
  EXPECT_EQ(One(Fn("    runtime: nodejs22.x\n")).runtime, "nodejs22.x");
  EXPECT_EQ(Err(Fn("    handler: app handler\n")),
            "functions.yaml:4:14: functions[0].handler: expected a handler of 1 to 128 "
            "characters without whitespace, got \"app handler\"");
  EXPECT_EQ(Err(Fn("    handler: ''\n")),
            "functions.yaml:4:14: functions[0].handler: expected a handler of 1 to 128 "
            "characters without whitespace, got \"\"");
  EXPECT_EQ(Err(Fn("    runtime: Python 3\n")),
            "functions.yaml:4:14: functions[0].runtime: expected a runtime identifier like "
            "\"provided.al2023\", \"python3.12\" or \"nodejs22.x\", got \"Python 3\"");
  EXPECT_EQ(Err(Fn("    runtime: 3.12\n")),
            "functions.yaml:4:14: functions[0].runtime: expected a string, got 3.12");
}

// --- Environment ------------------------------------------------------------------

TEST(ConfigTest, EnvironmentKeysFollowAws) {
  EXPECT_EQ(One(Fn("    environment: {a1: x, AWS_REGION: eu-west-1, TZ: UTC}\n")).environment,
            (std::map<std::string, std::string>{
                {"a1", "x"}, {"AWS_REGION", "eu-west-1"}, {"TZ", "UTC"}}));
  const std::string expected = "expected a variable name matching [a-zA-Z][a-zA-Z0-9_]+, got ";
  EXPECT_EQ(Err(Fn("    environment: {A: x}\n")),
            "functions.yaml:4:19: functions[0].environment: " + expected + "\"A\"");
  EXPECT_EQ(Err(Fn("    environment: {1A: x}\n")),
            "functions.yaml:4:19: functions[0].environment: " + expected + "\"1A\"");
  EXPECT_EQ(Err(Fn("    environment: {A-B: x}\n")),
            "functions.yaml:4:19: functions[0].environment: " + expected + "\"A-B\"");
  EXPECT_EQ(Err(Fn("    environment: {12: x}\n")),
            "functions.yaml:4:19: functions[0].environment: " + expected + "12");
}

TEST(ConfigTest, EnvironmentRefusesWhatTheEmulatorSets) {
  EXPECT_EQ(Err(Fn("    environment:\n      _HANDLER: x\n")),
            "functions.yaml:5:7: functions[0].environment: _HANDLER is reserved for the "
            "emulator, as on AWS (set the handler key instead)");
  EXPECT_EQ(Err(Fn("    environment:\n      AWS_LAMBDA_RUNTIME_API: 127.0.0.1:9001\n")),
            "functions.yaml:5:7: functions[0].environment: AWS_LAMBDA_RUNTIME_API is reserved "
            "for the emulator, as on AWS");
  for (std::string_view key : ReservedEnvironmentKeys()) {
    EXPECT_NE(Err(Fn("    environment: {" + std::string(key) + ": x}\n")).find("is reserved"),
              std::string::npos)
        << key;
  }
}

TEST(ConfigTest, EnvironmentValues) {
  EXPECT_EQ(Err(Fn("    environment: {KEY: }\n")),
            "functions.yaml:4:19: functions[0].environment.KEY: expected a string, number or "
            "bool, got null");
  EXPECT_EQ(Err(Fn("    environment: {KEY: [1]}\n")),
            "functions.yaml:4:24: functions[0].environment.KEY: expected a string, number or "
            "bool, got a list");
  EXPECT_EQ(Err(Fn("    environment: [A=b]\n")),
            "functions.yaml:4:18: functions[0].environment: expected a mapping of variable names "
            "to values, got a list");
  EXPECT_TRUE(One(Fn("    environment:\n")).environment.empty());
}

TEST(ConfigTest, EnvironmentIsAtMostFourKilobytes) {
  // "AB" + 4094 bytes is exactly 4096.
  std::string ok = Fn("    environment: {AB: " + std::string(4094, 'x') + "}\n");
  EXPECT_EQ(One(ok).environment.at("AB").size(), 4094u);
  std::string big = Fn("    environment: {AB: " + std::string(4094, 'x') + ", CD: y}\n");
  EXPECT_EQ(Err(big),
            "functions.yaml:4:18: functions[0].environment: expected at most 4096 bytes of names "
            "and values (AWS's limit), got 4099 bytes");
}

// --- Structure ----------------------------------------------------------------------

TEST(ConfigTest, UnknownKeysListTheKnownOnes) {
  EXPECT_EQ(
      Err(Fn("    timout: 3\n")),
      "functions.yaml:4:5: functions[0]: unknown key \"timout\" (did you mean "
      "\"timeout\"?); known keys: name, command, handler, runtime, timeout, memory, "
      "reserved_concurrency, environment, working_dir, extensions, exec_wrapper, dead_letter");
  EXPECT_EQ(Err("function: []\n"),
            "functions.yaml:1:1: top level: unknown key \"function\" (did you mean "
            "\"functions\"?); known keys: account_concurrency, unreserved_minimum, idle_timeout, "
            "time_scale, functions");
  EXPECT_EQ(Err(Fn("    MemorySize: 256\n")),
            "functions.yaml:4:5: functions[0]: unknown key \"MemorySize\"; known keys: name, "
            "command, handler, runtime, timeout, memory, reserved_concurrency, environment, "
            "working_dir, extensions, exec_wrapper, dead_letter");
  EXPECT_EQ(Err(Fn("    [a]: 3\n")),
            "functions.yaml:4:5: functions[0]: expected a key (name, command, handler, runtime, "
            "timeout, memory, reserved_concurrency, environment, working_dir, extensions, "
            "exec_wrapper, dead_letter), got a list");
}

TEST(ConfigTest, DuplicateKeys) {
  EXPECT_EQ(Err(Fn("    timeout: 3\n    timeout: 4\n")),
            "functions.yaml:5:5: functions[0]: duplicate key \"timeout\" (first given at line 4)");
}

TEST(ConfigTest, MissingKeys) {
  EXPECT_EQ(Err("functions:\n  - command: x\n"),
            "functions.yaml:2:5: functions[0]: missing key \"name\" (the function's name)");
  EXPECT_EQ(Err("functions:\n  - name: x\n"),
            "functions.yaml:2:5: functions[0]: missing key \"command\" (a command: a non-empty "
            "string (run by /bin/sh -c) or a non-empty list (the argv))");
  EXPECT_EQ(Err("account_concurrency: 5\n"),
            "functions.yaml:1:1: top level: missing key \"functions\" (a list of functions)");
}

TEST(ConfigTest, WrongShapes) {
  EXPECT_EQ(Err(""),
            "functions.yaml: top level: expected a mapping with key \"functions\" (a list of "
            "functions), got null");
  EXPECT_EQ(Err("- name: f\n"),
            "functions.yaml:1:1: top level: expected a mapping with key \"functions\" (a list of "
            "functions), got a list");
  EXPECT_EQ(Err("functions: {name: f}\n"),
            "functions.yaml:1:12: functions: expected a list of functions, got a mapping");
  EXPECT_EQ(Err("functions:\n  - echo\n"),
            "functions.yaml:2:5: functions[0]: expected a mapping (a function), got \"echo\"");
  EXPECT_EQ(Err("functions:\n  -\n"),
            "functions.yaml:2:3: functions[0]: expected a mapping (a function), got null");
}

// --- Bad YAML ------------------------------------------------------------------------

TEST(ConfigTest, InvalidYaml) {
  std::string e = Err("functions:\n  - name: [f\n");
  EXPECT_EQ(e.rfind("functions.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
  EXPECT_EQ(Err("functions: []\n---\nfunctions: []\n"),
            "functions.yaml:2:1: expected one YAML document, got a second one");
  // yaml-cpp's LoadAll would loop forever on this one.
  EXPECT_EQ(Err(",\n"), "functions.yaml:1:1: invalid YAML: unexpected \",\"");
  std::string deep = "functions: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  EXPECT_NE(Err(deep).find("invalid YAML"), std::string::npos);
}

TEST(ConfigTest, EveryPrefixOfAFileEitherParsesOrSaysWhere) {
  const std::string text = R"(account_concurrency: 10
idle_timeout: 5m
functions:
  - name: echo
    command: [./echo, "a b"]
    environment: {A1: "x", B2: 'y'}
    extensions: [./ext, [x, y]]
    reserved_concurrency: 2
)";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    Result<EmulatorConfig> r = ParseEmulatorConfig(text.substr(0, n), "f.yaml", "/b");
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("f.yaml", 0), 0u) << r.status().message();
    }
  }
}

// --- Validation outside the parser ------------------------------------------------------

TEST(ValidateFunctionConfigTest, AcceptsAValidFunction) {
  EXPECT_TRUE(ValidateFunctionConfig(Valid()).ok());
  FunctionConfig f = One(Fn(R"(    handler: h
    timeout: 900
    memory: 10240
    reserved_concurrency: 0
    environment: {KEY: v}
    extensions: [e]
    exec_wrapper: w
)"));
  EXPECT_TRUE(ValidateFunctionConfig(f).ok());
}

TEST(ValidateFunctionConfigTest, Limits) {
  auto check = [](auto change, int account = kDefaultAccountConcurrency) {
    FunctionConfig f = Valid();
    change(f);
    Status s = ValidateFunctionConfig(f, account);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    return s.message();
  };
  EXPECT_EQ(check([](FunctionConfig& f) { f.timeout = milliseconds(901000); }),
            "timeout: expected an integer number of seconds in [1, 900], got 901000ms");
  EXPECT_EQ(check([](FunctionConfig& f) { f.timeout = milliseconds(1500); }),
            "timeout: expected an integer number of seconds in [1, 900], got 1500ms");
  EXPECT_EQ(check([](FunctionConfig& f) { f.timeout = milliseconds(0); }),
            "timeout: expected an integer number of seconds in [1, 900], got 0ms");
  EXPECT_EQ(check([](FunctionConfig& f) { f.memory_mb = 64; }),
            "memory: expected an integer number of MB in [128, 10240], got 64");
  EXPECT_EQ(check([](FunctionConfig& f) { f.reserved_concurrency = 11; }, 10),
            "reserved_concurrency: expected an integer in [0, 10] (account_concurrency), got 11");
  EXPECT_EQ(check([](FunctionConfig& f) { f.reserved_concurrency = -1; }),
            "reserved_concurrency: expected an integer in [0, 1000] (account_concurrency), got -1");
  EXPECT_EQ(check([](FunctionConfig& f) { f.name = "a b"; }),
            "name: expected a function name of 1 to 64 letters, digits, '-' or '_', got \"a b\"");
  EXPECT_EQ(check([](FunctionConfig& f) { f.command.clear(); }),
            "command: expected a command: a non-empty string (run by /bin/sh -c) or a non-empty "
            "list (the argv), got an empty list");
  EXPECT_EQ(check([](FunctionConfig& f) { f.handler = "a b"; }),
            "handler: expected a handler of 1 to 128 characters without whitespace, got \"a b\"");
  EXPECT_EQ(check([](FunctionConfig& f) { f.runtime = ""; }),
            "runtime: expected a runtime identifier like \"provided.al2023\", \"python3.12\" or "
            "\"nodejs22.x\", got \"\"");
  EXPECT_EQ(
      check([](FunctionConfig& f) { f.environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "1"; }),
      "environment: AWS_LAMBDA_FUNCTION_MEMORY_SIZE is reserved for the emulator, as on AWS "
      "(set the memory key instead)");
  EXPECT_EQ(check([](FunctionConfig& f) { f.environment["bad-key"] = "1"; }),
            "environment: expected a variable name matching [a-zA-Z][a-zA-Z0-9_]+, got "
            "\"bad-key\"");
  EXPECT_EQ(check([](FunctionConfig& f) { f.environment["AB"] = std::string(4095, 'x'); }),
            "environment: expected at most 4096 bytes of names and values (AWS's limit), got "
            "4097 bytes");
  EXPECT_EQ(check([](FunctionConfig& f) { f.extensions.assign(11, {"x"}); }),
            "extensions: expected at most 10 extensions (AWS's limit), got 11");
  EXPECT_EQ(check([](FunctionConfig& f) {
              f.extensions = {{"x"}, {""}};
            }),
            "extensions[1]: expected a command: a non-empty string (run by /bin/sh -c) or a "
            "non-empty list (the argv), got an empty program");
}

TEST(ValidateEmulatorConfigTest, WholeConfiguration) {
  EmulatorConfig c;
  c.functions = {Valid(), Valid()};
  c.functions[1].name = "g";
  EXPECT_TRUE(ValidateEmulatorConfig(c).ok());
  c.functions[1].name = "f";
  EXPECT_EQ(ValidateEmulatorConfig(c).message(),
            "functions[1] (\"f\"): name: expected a unique name, got \"f\" (also the name of "
            "functions[0])");
  c.functions[1].name = "g";
  c.account_concurrency = 3;
  c.functions[0].reserved_concurrency = 2;
  c.functions[1].reserved_concurrency = 2;
  EXPECT_EQ(ValidateEmulatorConfig(c).message(),
            "functions[1] (\"g\"): reserved_concurrency: expected the functions' total to be at "
            "most account_concurrency (3), got 4");
  c.account_concurrency = 0;
  EXPECT_EQ(ValidateEmulatorConfig(c).message(),
            "account_concurrency: expected an integer in [1, 100000], got 0");
  c.account_concurrency = 4;
  c.idle_timeout = milliseconds(0);
  EXPECT_EQ(ValidateEmulatorConfig(c).message(),
            "idle_timeout: expected a duration of at least 1ms, got 0ms");
}

// --- Files ----------------------------------------------------------------------------

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("faultline_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "sub");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, std::string_view text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, PathsResolveAgainstTheFilesDirectory) {
  std::string path = Write("sub/functions.yaml", Fn("    exec_wrapper: ../w.sh\n"));
  Result<EmulatorConfig> r = LoadEmulatorConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const FunctionConfig& f = r->functions.at(0);
  EXPECT_EQ(f.working_dir, (dir_ / "sub").string());
  EXPECT_EQ(f.exec_wrapper, (dir_ / "w.sh").string());
  EXPECT_EQ(f.command, (std::vector<std::string>{"/bin/sh", "-c", "./f"}));
}

TEST_F(ConfigFileTest, ErrorsNameTheFile) {
  std::string path = Write("bad.yaml", Fn("    memory: 1\n"));
  Result<EmulatorConfig> r = LoadEmulatorConfig(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path +
                ":4:13: functions[0].memory: expected an integer number of MB in [128, 10240], "
                "got 1");
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  Result<EmulatorConfig> r = LoadEmulatorConfig((dir_ / "nope.yaml").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), (dir_ / "nope.yaml").string() + ": no such file");
  r = LoadEmulatorConfig(dir_.string());  // a directory
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
}

TEST(ConfigSampleTest, TheSampleFileParses) {
  Result<EmulatorConfig> r = LoadEmulatorConfig(TestdataDir() + "/functions.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->functions.size(), 3u);
  EXPECT_TRUE(ValidateEmulatorConfig(*r).ok());
}

// --- FindExecutable ---------------------------------------------------------------------

TEST_F(ConfigFileTest, FindExecutable) {
  std::string exe = Write("sub/tool", "#!/bin/sh\n");
  ::chmod(exe.c_str(), 0755);
  std::string plain = Write("sub/data", "x");
  std::string sub = (dir_ / "sub").string();
  EXPECT_EQ(FindExecutable(exe, ""), exe);
  EXPECT_EQ(FindExecutable("tool", "/nonexistent:" + sub), sub + "/tool");
  EXPECT_EQ(FindExecutable("tool", "/nonexistent"), std::nullopt);
  EXPECT_EQ(FindExecutable("tool", ""), std::nullopt);
  EXPECT_EQ(FindExecutable(plain, ""), std::nullopt);    // not executable
  EXPECT_EQ(FindExecutable("data", sub), std::nullopt);  // not executable
  EXPECT_EQ(FindExecutable(sub, ""), std::nullopt);      // a directory
  EXPECT_EQ(FindExecutable("sub", dir_.string()), std::nullopt);
  EXPECT_EQ(FindExecutable((dir_ / "missing").string(), ""), std::nullopt);
  EXPECT_EQ(FindExecutable("", sub), std::nullopt);
  EXPECT_TRUE(FindExecutable("sh", "/usr/bin:/bin").has_value());
}

}  // namespace
}  // namespace faultline::lambda
