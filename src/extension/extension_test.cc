// The extension end to end: the emulator in-process, the C++ echo function
// started through layer/bootstrap-wrapper (the provided.* path), and the
// real `faultline extension` as the environment's external extension. Rules
// reach it through its control endpoint or a watched file.
#include "extension/extension.h"

#include <dirent.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "extension/proxy.h"
#include "http/client.h"
#include "http/server.h"
#include "lambda/emulator.h"
#include "lambda/emulator_fixture.h"

namespace faultline::extension {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;
namespace asio = http::asio;
using Clock = std::chrono::steady_clock;

class ExtensionTest : public lambda::EmulatorFixture {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/faultline_ext_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  lambda::FunctionConfig Echo(bool with_extension = true) {
    lambda::FunctionConfig f;
    f.name = "echo";
    f.command = {std::string(FAULTLINE_LAYER_DIR) + "/bootstrap-wrapper",
                 std::string(FAULTLINE_EXAMPLES_BIN_DIR) + "/echo"};
    f.timeout = 2s;
    f.working_dir = dir_;
    if (with_extension) f.extensions = {{FAULTLINE_BIN, "extension"}};
    f.environment = {{"FAULTLINE_PROXY_PORT", "0"},
                     {"FAULTLINE_CONTROL_PORT", "0"},
                     {"FAULTLINE_RUN_DIR", dir_},
                     {"FAULTLINE_WATCH_INTERVAL_MS", "10"},
                     {"FAULTLINE_EMF_NAMESPACE", "faultline-test"},
                     {"FAULTLINE_WRAPPER_WAIT_MS", "2000"}};
    return f;
  }

  void Start(lambda::FunctionConfig f) { EmulatorFixture::Start({std::move(f)}); }

  void TearDown() override {
    EmulatorFixture::TearDown();
    std::system(("rm -rf " + dir_).c_str());
  }

  http::Response Invoke(std::string payload = "{}", const std::string& function = "echo") {
    http::Request req(bhttp::verb::post, "/2015-03-31/functions/" + function + "/invocations", 11);
    req.body() = std::move(payload);
    auto res = http::FetchSync(url_, std::move(req), 30s);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok()) return http::Response();
    // The environment is free once its extension has called event/next
    // (the REPORT line): then the next invocation goes to it, not to a new one.
    const std::string id((*res)["X-Amzn-RequestId"]);
    if (!id.empty()) {
      EXPECT_TRUE(WaitForLog("REPORT RequestId: " + id)) << id;
    }
    return std::move(*res);
  }

  // The control endpoint of the (only) environment, from its port file.
  http::Url Control() {
    DIR* d = ::opendir(dir_.c_str());
    std::string found;
    while (dirent* e = d ? ::readdir(d) : nullptr) {
      std::string name = e->d_name;
      if (name.starts_with("faultline-control-") && !name.ends_with(".tmp")) found = name;
    }
    if (d) ::closedir(d);
    EXPECT_FALSE(found.empty()) << "no control port file in " << dir_;
    std::ifstream in(dir_ + "/" + found);
    std::string hp;
    std::getline(in, hp);
    const auto colon = hp.rfind(':');
    return http::Url{"127.0.0.1", static_cast<std::uint16_t>(std::stoi(hp.substr(colon + 1))),
                     "/rules"};
  }
  // A call to the control endpoint, with the token from the token file next
  // to its port file (as `faultline faults` sends it).
  http::Response ControlCall(bhttp::verb verb, std::string target, std::string body = "") {
    http::Url url = Control();
    url.target = target;
    http::Request req(verb, target, 11);
    const auto token_file = FindTokenFile(dir_, url.port);
    EXPECT_TRUE(token_file.has_value()) << "no token file for port " << url.port;
    if (token_file) {
      req.set(bhttp::field::authorization, "Bearer " + ReadTokenFile(*token_file).value());
    }
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = http::FetchSync(url, std::move(req), 10s);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(*res) : http::Response();
  }
  void PutRules(const std::string& yaml) {
    auto res = ControlCall(bhttp::verb::put, "/rules", yaml);
    ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  }

  std::string dir_;
};

TEST_F(ExtensionTest, TransparentWithNoRulesAndTheRuntimeGoesThroughTheProxy) {
  lambda::FunctionConfig f = Echo();
  // 6 MB through the proxy both ways is slow under the sanitizers: room
  // enough that the function's timeout is not what this test sees.
  f.timeout = 30s;
  Start(f);
  auto res = Invoke(R"({"hello":"world"})");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), R"({"hello":"world"})");
  EXPECT_TRUE(res["X-Amz-Function-Error"].empty());
  const std::string big(6 * 1024 * 1024 - 200, 'x');
  auto large = Invoke("\"" + big + "\"");
  EXPECT_EQ(large.result(), bhttp::status::ok);
  EXPECT_EQ(large.body().size(), big.size() + 2);
  EXPECT_TRUE(LogHas("faultline extension: proxy on 127.0.0.1:"));
  // The runtime talks to the proxy: a rule there changes what it answers.
  PutRules(R"(faults: [{name: boom, target: echo, action: error}])");
  auto failed = Invoke();
  EXPECT_EQ(failed["X-Amz-Function-Error"], "Unhandled");
  EXPECT_EQ(json::parse(failed.body())["errorType"], "Function.InjectedFault");
}

TEST_F(ExtensionTest, ErrorBeforeDoesNotRunTheHandlerAndTheRuntimeStaysUsable) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults:
  - {name: boom, target: echo, action: error, phase: before, limit: 2,
     error: {type: Function.Injected, message: "nope"}})");
  for (int i = 0; i < 2; ++i) {
    auto res = Invoke(R"({"n":1})");
    EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
    const json body = json::parse(res.body());
    EXPECT_EQ(body["errorType"], "Function.Injected");
    EXPECT_EQ(body["errorMessage"], "nope");
  }
  auto ok = Invoke(R"({"n":3})");  // the limit is spent: the runtime answers again
  EXPECT_EQ(ok.body(), R"({"n":3})");
  EXPECT_TRUE(WaitForLog(R"("rule":"boom")"));
  EXPECT_TRUE(WaitForLog(R"("Action":"error")"));  // the EMF line
  const json counters = json::parse(ControlCall(bhttp::verb::get, "/counters").body());
  EXPECT_EQ(counters["actions"]["error"], 2);
  EXPECT_EQ(counters["rules"][0]["injected"], 2);
}

TEST_F(ExtensionTest, ErrorAfterReplacesTheResultAndInvalidTypesAreMadeValid) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults: [{name: late, target: echo, action: error, phase: after,
                        error: {type: NotALambdaType}}])");
  auto res = Invoke();
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  EXPECT_EQ(json::parse(res.body())["errorType"], "Function.InjectedFault");
}

TEST_F(ExtensionTest, StatusBeforeAndBodyAfterInProxyIntegrationShape) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults: [{name: s, target: echo, action: status,
                        status: {code: 503, body: "busy", headers: {Retry-After: "5"}}}])");
  json s = json::parse(Invoke(R"({"statusCode":200,"body":"real"})").body());
  EXPECT_EQ(s["statusCode"], 503);
  EXPECT_EQ(s["body"], "busy");
  EXPECT_EQ(s["headers"]["Retry-After"], "5");
  PutRules(R"(faults: [{name: b, target: echo, action: body, body: "garbled"}])");
  json b = json::parse(Invoke(R"({"statusCode":201,"body":"real"})").body());
  EXPECT_EQ(b["statusCode"], 201);  // the handler's answer, body replaced
  EXPECT_EQ(b["body"], "garbled");
}

TEST_F(ExtensionTest, LatencyBeforeAndAfterDelayTheInvocation) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults:
  - {name: pre, target: echo, action: latency, latency: 60}
  - {name: post, target: echo, action: latency, latency: 40, phase: after})");
  const auto t0 = Clock::now();
  auto res = Invoke(R"({"x":1})");
  const auto took = Clock::now() - t0;
  EXPECT_EQ(res.body(), R"({"x":1})");
  EXPECT_GE(took, 100ms);  // a lower bound only: the delays happened
  EXPECT_TRUE(WaitForLog(R"("rule":"pre")"));
  EXPECT_TRUE(WaitForLog(R"("delay_ms":40)"));
}

TEST_F(ExtensionTest, TimeoutHoldsTheInvocationPastItsDeadline) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults: [{name: hang, target: echo, action: timeout}])");
  auto res = Invoke();
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  EXPECT_NE(res.body().find("Task timed out"), std::string::npos) << res.body();
}

TEST_F(ExtensionTest, MatchesOnTheEventPath) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults: [{name: checkout, target: echo, action: error,
                        tags: {path: "/checkout*"}}])");
  EXPECT_EQ(Invoke(R"({"rawPath":"/checkout/pay"})")["X-Amz-Function-Error"], "Unhandled");
  EXPECT_EQ(Invoke(R"({"rawPath":"/cart"})").body(), R"({"rawPath":"/cart"})");
}

TEST_F(ExtensionTest, ControlEndpointRefusesBadRulesAndClears) {
  Start(Echo());
  Invoke();
  PutRules(R"(faults: [{name: boom, target: echo, action: error}])");
  auto bad = ControlCall(bhttp::verb::put, "/rules", "faults:\n  - {name: x, action: dorp}\n");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_NE(json::parse(bad.body())["message"].get<std::string>().find("PUT /rules:2:"),
            std::string::npos)
      << bad.body();
  EXPECT_NE(ControlCall(bhttp::verb::get, "/rules").body().find("boom"), std::string::npos);
  EXPECT_EQ(Invoke()["X-Amz-Function-Error"], "Unhandled");  // the old rules stayed
  EXPECT_EQ(ControlCall(bhttp::verb::delete_, "/rules").result(), bhttp::status::ok);
  EXPECT_EQ(Invoke(R"({"a":1})").body(), R"({"a":1})");  // the very next invocation
}

TEST_F(ExtensionTest, RuleFileIsWatchedAndABadFileKeepsNoFaults) {
  const std::string rules = dir_ + "/rules.yaml";
  { std::ofstream(rules) << "faults: [\n"; }  // malformed from the start
  lambda::FunctionConfig f = Echo();
  f.environment["FAULTLINE_RULES_FILE"] = rules;
  Start(f);
  EXPECT_EQ(Invoke(R"({"a":1})").body(), R"({"a":1})");  // no faults, never broken
  EXPECT_TRUE(WaitForLog("no rules until the file is fixed"));
  {
    std::ofstream out(rules + ".tmp");
    out << "faults: [{name: fromfile, target: echo, action: error}]\n";
  }
  std::rename((rules + ".tmp").c_str(), rules.c_str());
  ASSERT_TRUE(WaitForLog("rules loaded from"));
  EXPECT_EQ(Invoke()["X-Amz-Function-Error"], "Unhandled");
}

TEST_F(ExtensionTest, MalformedEnvironmentRulesMeanNoFaultsAndALogLine) {
  lambda::FunctionConfig f = Echo();
  f.environment["FAULTLINE_RULES"] = "faults: [{name: x, action: latency}]";
  f.environment["FAULTLINE_PROXY_PORT"] = "not-a-port";
  Start(f);
  EXPECT_EQ(Invoke(R"({"a":1})").body(), R"({"a":1})");
  EXPECT_TRUE(WaitForLog("FAULTLINE_RULES"));
  EXPECT_TRUE(WaitForLog("FAULTLINE_PROXY_PORT: expected a port"));
}

TEST_F(ExtensionTest, WrapperStartsTheRuntimeUnproxiedWhenTheProxyIsGone) {
  // A port file left by a proxy that died: the wrapper checks, says why and
  // runs the function anyway.
  lambda::FunctionConfig f = Echo(/*with_extension=*/false);
  f.environment["FAULTLINE_WRAPPER_WAIT_MS"] = "50";
  f.environment["FAULTLINE_PROXY_ADDRESS"] = "127.0.0.1:1";
  Start(f);
  auto res = Invoke(R"({"a":1})");
  EXPECT_EQ(res.body(), R"({"a":1})");
  EXPECT_TRUE(WaitForLog("starting the runtime unproxied"));
}

// Fail open when the run directory cannot be trusted: the extension writes
// no port file there, the wrapper sees why at once and starts the runtime
// unproxied, and the function answers as if there were no extension.
TEST_F(ExtensionTest, ARefusedRunDirectoryMeansTheFunctionRunsUnproxied) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  lambda::FunctionConfig f = Echo();
  f.environment["FAULTLINE_RULES"] = "faults: [{name: boom, target: echo, action: error}]";
  Start(f);
  auto res = Invoke(R"({"a":1})");
  EXPECT_EQ(res.body(), R"({"a":1})");  // the rule never reached the runtime
  EXPECT_TRUE(res["X-Amz-Function-Error"].empty());
  EXPECT_TRUE(
      WaitForLog(fmt::format("faultline-wrapper: the run directory {} is refused: group "
                             "or others can write to it (mode 777); starting the runtime "
                             "unproxied",
                             dir_)))
      << LogText();
  EXPECT_TRUE(
      WaitForLog(fmt::format("faultline extension: run directory {}: refused: group or "
                             "others can write to it (mode 0777, no sticky bit)",
                             dir_)))
      << LogText();
}

// Several environments on one machine (the emulator) with the default,
// fixed ports: the second extension takes free ports instead of failing the
// environment's init, and its port file tells its wrapper where it is.
TEST_F(ExtensionTest, BusyPortsFallBackToFreeOnes) {
  asio::io_context io;
  http::tcp::acceptor busy_proxy(io, {asio::ip::make_address("127.0.0.1"), 0});
  http::tcp::acceptor busy_control(io, {asio::ip::make_address("127.0.0.1"), 0});
  ExtensionConfig config;
  config.runtime_api = "127.0.0.1:1";
  config.proxy_port = busy_proxy.local_endpoint().port();
  config.control_port = busy_control.local_endpoint().port();
  config.run_dir = dir_;
  std::vector<std::string> lines;
  auto ext = Extension::Start(config, [&](std::string_view line) { lines.emplace_back(line); });
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_NE((*ext)->proxy_port(), config.proxy_port);
  ASSERT_TRUE((*ext)->control_port().has_value());
  EXPECT_NE(*(*ext)->control_port(), *config.control_port);
  std::ifstream file(PortFilePath(config, "proxy"));
  std::string address;
  std::getline(file, address);
  EXPECT_EQ(address, fmt::format("127.0.0.1:{}", (*ext)->proxy_port()));
  (*ext)->Stop();
  int fallbacks = 0;
  for (const std::string& line : lines) fallbacks += line.find("free port") != std::string::npos;
  EXPECT_EQ(fallbacks, 2);
}

// A response-streaming function (examples/functions/cpp/stream.cc) behind
// the proxy: its stream passes through, an "after" latency delays it, and an
// "after" error / status / body replaces it: the proxy drops the stream and
// posts the replacement, so the caller sees only the replacement.
TEST_F(ExtensionTest, AfterRulesReplaceStreamedAnswers) {
  lambda::FunctionConfig f = Echo();
  f.name = "stream";
  f.command[1] = std::string(FAULTLINE_EXAMPLES_BIN_DIR) + "/stream";
  Start(f);
  auto plain = Invoke(R"({"chunks": 3})", "stream");
  EXPECT_EQ(plain.body(), "chunk 1\nchunk 2\nchunk 3\n");
  EXPECT_EQ(plain[bhttp::field::content_type], "text/plain");

  PutRules(R"(faults: [{name: late-fail, target: stream, action: error, phase: after,
                        error: {type: Function.StreamBroken, message: "cut"}}])");
  auto failed = Invoke(R"({"chunks": 3})", "stream");
  EXPECT_EQ(failed["X-Amz-Function-Error"], "Unhandled");
  const json error = json::parse(failed.body());
  EXPECT_EQ(error["errorType"], "Function.StreamBroken");
  EXPECT_EQ(error["errorMessage"], "cut");

  PutRules(R"(faults: [{name: s, target: stream, action: status, phase: after,
                        status: {code: 503, body: "busy"}}])");
  auto status = Invoke(R"({"chunks": 2})", "stream");
  EXPECT_TRUE(status["X-Amz-Function-Error"].empty());
  const json s = json::parse(status.body());
  EXPECT_EQ(s["statusCode"], 503);
  EXPECT_EQ(s["body"], "busy");

  PutRules(R"(faults: [{name: b, target: stream, action: body, body: "garbled"}])");
  const json b = json::parse(Invoke(R"({"chunks": 2})", "stream").body());
  EXPECT_EQ(b["statusCode"], 200);
  EXPECT_EQ(b["body"], "garbled");

  // A large stream is read to its end and dropped; the runtime stays usable.
  PutRules(R"(faults: [{name: late-fail, target: stream, action: error, phase: after}])");
  auto big = Invoke(R"({"bytes": 3000000})", "stream");
  EXPECT_EQ(json::parse(big.body())["errorType"], "Function.InjectedFault");
  EXPECT_EQ(ControlCall(bhttp::verb::delete_, "/rules").result(), bhttp::status::ok);
  EXPECT_EQ(Invoke(R"({"chunks": 1})", "stream").body(), "chunk 1\n");
  EXPECT_EQ(Metrics("stream")["ColdStarts"], 1);  // one environment throughout

  const json counters = json::parse(ControlCall(bhttp::verb::get, "/counters").body());
  EXPECT_EQ(counters["actions"]["error"], 2);
  EXPECT_EQ(counters["actions"]["status"], 1);
  EXPECT_EQ(counters["actions"]["body"], 1);
  EXPECT_TRUE(LogHas(R"("Action":"status")")) << LogText();  // the EMF line
}

// The Init Duration of the REPORT line for `id`, or -1.
double InitDurationMs(const std::vector<std::string>& log, const std::string& id) {
  for (const std::string& line : log) {
    if (line.find("REPORT RequestId: " + id) == std::string::npos) continue;
    const std::size_t at = line.find("Init Duration: ");
    if (at != std::string::npos) return std::stod(line.substr(at + 15));
  }
  return -1;
}

// phase: init, latency: the extension registers late, so the environment's
// init (the cold start the caller waits for) is that much longer; the
// invocations themselves are not delayed by it.
TEST_F(ExtensionTest, InitLatencyRuleSlowsTheColdStart) {
  lambda::FunctionConfig f = Echo();
  f.environment["FAULTLINE_RULES"] =
      R"(faults: [{name: slow-start, target: echo, action: latency, phase: init, latency: 700}])";
  Start(f);
  auto res = Invoke(R"({"a":1})");
  EXPECT_EQ(res.body(), R"({"a":1})");
  const std::string id(res["X-Amzn-RequestId"]);
  EXPECT_GE(InitDurationMs(Log(), id), 700.0) << LogText();
  EXPECT_TRUE(LogHas(R"("rule":"slow-start")")) << LogText();                 // the engine's line
  EXPECT_TRUE(LogHas(R"("Injections":1,"Rule":"slow-start")")) << LogText();  // EMF
  const json counters = json::parse(ControlCall(bhttp::verb::get, "/counters").body());
  EXPECT_EQ(counters["rules"][0]["name"], "slow-start");
  EXPECT_EQ(counters["rules"][0]["injected"], 1);
  EXPECT_EQ(counters["actions"]["latency"], 1);
  // A warm invocation is not an init: no second delay, no second injection.
  auto warm = Invoke(R"({"a":2})");
  EXPECT_EQ(warm.body(), R"({"a":2})");
  EXPECT_EQ(LogCount(R"("rule":"slow-start")"), 1);
}

// phase: init, error: the extension reports an init error, so the cold start
// fails as Lambda reports it (Extension.InitError, with the extension's
// Extension.* type); the next cold start, with the rule gone, works.
TEST_F(ExtensionTest, InitErrorRuleFailsTheColdStartAndTheNextOneWorks) {
  const std::string rules = dir_ + "/rules.yaml";
  {
    std::ofstream(rules) << "faults: [{name: cold-fail, target: echo, action: error, phase: init,"
                            " error: {message: \"config store down\"}}]\n";
  }
  lambda::FunctionConfig f = Echo();
  f.environment["FAULTLINE_RULES_FILE"] = rules;
  Start(f);
  auto failed = Call(bhttp::verb::post, "/2015-03-31/functions/echo/invocations", "{}");
  EXPECT_EQ(failed["X-Amz-Function-Error"], "Unhandled");
  const json error = json::parse(failed.body());
  EXPECT_EQ(error["errorType"], "Extension.InitError") << error;
  EXPECT_NE(error["errorMessage"].get<std::string>().find("Extension.InjectedFault"),
            std::string::npos)
      << error;
  EXPECT_TRUE(WaitForLog("State: InitError\tError Type: Extension.InjectedFault")) << LogText();
  EXPECT_TRUE(WaitForLog(R"("rule":"cold-fail")")) << LogText();
  EXPECT_TRUE(WaitForLog("init error injected by rule \"cold-fail\"")) << LogText();
  { std::ofstream(rules) << "faults: []\n"; }
  auto ok = Invoke(R"({"b":2})");
  EXPECT_EQ(ok.result(), bhttp::status::ok);
  EXPECT_EQ(ok.body(), R"({"b":2})");
  EXPECT_EQ(Metrics("echo")["ColdStarts"], 2);
}

// The live processes (zombies excluded) whose environment has
// FAULTLINE_RUN_DIR=dir: one test's functions. pid -> argv, space separated.
std::map<int, std::string> ProcessesOf(const std::string& dir) {
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string want = "FAULTLINE_RUN_DIR=" + dir;
  std::map<int, std::string> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    const std::string vars = read(fmt::format("/proc/{}/environ", pid));
    bool ours = false;
    for (std::size_t at = 0; at < vars.size() && !ours;) {
      std::size_t end = vars.find('\0', at);
      if (end == std::string::npos) end = vars.size();
      ours = vars.compare(at, end - at, want) == 0;
      at = end + 1;
    }
    const std::string stat = read(fmt::format("/proc/{}/stat", pid));
    const std::size_t paren = stat.rfind(')');
    const bool zombie =
        paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
    if (!ours || zombie) continue;
    std::string argv = read(fmt::format("/proc/{}/cmdline", pid));
    std::replace(argv.begin(), argv.end(), '\0', ' ');
    out[pid] = argv;
  }
  if (d) ::closedir(d);
  return out;
}

// Fail open mid-life: the extension dies (SIGKILL) while an invocation runs,
// taking the proxy the runtime talks to with it. As on Lambda (an extension
// crash resets the environment): the invocation fails with Extension.Crash,
// every process of that environment is gone, and the next invocation
// cold-starts a new environment that works.
TEST_F(ExtensionTest, ExtensionKilledMidInvocationResetsTheEnvironment) {
  lambda::FunctionConfig f = Echo();
  f.name = "sleep";
  f.command[1] = std::string(FAULTLINE_EXAMPLES_BIN_DIR) + "/sleep";
  f.timeout = 20s;
  Start(f);
  EXPECT_EQ(Invoke(R"({"ms": 1})", "sleep").body(), R"({"slept_ms":1})");
  const std::map<int, std::string> first = ProcessesOf(dir_);
  int extension = 0;
  for (const auto& [pid, argv] : first) {
    if (argv.starts_with(std::string(FAULTLINE_BIN) + " extension")) extension = pid;
  }
  ASSERT_NE(extension, 0) << "no extension process among " << first.size();
  ASSERT_GE(first.size(), 2u);  // the extension and the runtime

  auto inflight = std::async(std::launch::async, [&] {
    return Call(bhttp::verb::post, "/2015-03-31/functions/sleep/invocations", R"({"ms": 5000})");
  });
  ASSERT_TRUE(WaitForLog("START RequestId", 2)) << LogText();
  ASSERT_EQ(::kill(extension, SIGKILL), 0);
  auto res = inflight.get();
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  const json error = json::parse(res.body());
  EXPECT_EQ(error["errorType"], "Extension.Crash") << error;
  EXPECT_NE(error["errorMessage"].get<std::string>().find("extension exited"), std::string::npos)
      << error;

  // The environment is torn down: none of its processes is left (reaped by
  // the emulator, not zombies).
  auto alive = [&] {
    const std::map<int, std::string> now = ProcessesOf(dir_);
    int n = 0;
    for (const auto& [pid, argv] : first) n += now.count(pid) > 0 ? 1 : 0;
    return n;
  };
  for (int i = 0; i < 500 && alive() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(alive(), 0) << LogText();

  auto next = Invoke(R"({"ms": 2})", "sleep");
  EXPECT_EQ(next.result(), bhttp::status::ok);
  EXPECT_EQ(next.body(), R"({"slept_ms":2})");
  EXPECT_EQ(Metrics("sleep")["ColdStarts"], 2);
  EXPECT_FALSE(ProcessesOf(dir_).empty());  // the new environment's
}

// Several /next polls in flight at once (Lambda Managed Instances): an
// upstream that answers only when all of them have arrived.
TEST(ProxyTest, ConcurrentNextPollsAreForwardedAtOnce) {
  asio::io_context io;
  constexpr int kPolls = 4;
  int arrived = 0;
  auto upstream =
      http::Server::Listen(io, {}, [&](http::Request& req) -> http::Task<http::Response> {
        const int me = ++arrived;
        // Answer only once every poll is in (bounded: 5 s).
        for (int i = 0; i < 1000 && arrived < kPolls; ++i) {
          asio::steady_timer tick(io, 5ms);
          co_await tick.async_wait(asio::use_awaitable);
        }
        http::Response res = http::MakeResponse(
            req, arrived == kPolls ? bhttp::status::ok : bhttp::status::gone, "{}");
        res.set("Lambda-Runtime-Aws-Request-Id", "id-" + std::to_string(me));
        co_return res;
      });
  ASSERT_TRUE(upstream.ok());
  auto proxy = Proxy::Start(io, ProxyOptions{.port = 0, .upstream_port = (*upstream)->port()});
  ASSERT_TRUE(proxy.ok());
  const http::Url url{"127.0.0.1", (*proxy)->port(), "/2018-06-01/runtime/invocation/next"};
  std::thread runner([&] { io.run(); });
  std::vector<std::future<Result<http::Response>>> polls;
  for (int i = 0; i < kPolls; ++i) {
    polls.push_back(std::async(std::launch::async, [&] {
      return http::FetchSync(url, http::Request(bhttp::verb::get, url.target, 11), 10s);
    }));
  }
  std::set<std::string> ids;
  for (auto& p : polls) {
    auto res = p.get();
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->result(), bhttp::status::ok);
    ids.insert(std::string((*res)["Lambda-Runtime-Aws-Request-Id"]));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kPolls));
  asio::post(io, [&] {
    (*proxy)->Stop();
    (*upstream)->Stop();
  });
  io.stop();
  runner.join();
}

// A chunked streaming response with trailers goes through as a stream: the
// upstream sees every piece and the trailers.
TEST(ProxyTest, StreamingResponseWithTrailersPassesThrough) {
  asio::io_context io;
  std::string seen_body, seen_mode, seen_trailer;
  http::ServerOptions so;
  so.streams = [](const bhttp::request_header<>&) { return true; };
  so.stream_handler = [&](http::Exchange& ex) -> http::Task<bool> {
    bhttp::request_parser<bhttp::string_body> parser(std::move(ex.parser));
    co_await bhttp::async_read(ex.socket, ex.buffer, parser, asio::use_awaitable);
    seen_body = parser.get().body();
    seen_mode = std::string(parser.get()["Lambda-Runtime-Function-Response-Mode"]);
    seen_trailer = std::string(parser.get()["Lambda-Runtime-Function-Error-Type"]);
    http::Response res(bhttp::status::accepted, 11);
    res.body() = R"({"status":"OK"})";
    res.prepare_payload();
    co_await bhttp::async_write(ex.socket, res, asio::use_awaitable);
    co_return true;
  };
  auto upstream =
      http::Server::Listen(io, std::move(so), [](http::Request& req) -> http::Task<http::Response> {
        co_return http::MakeResponse(req, bhttp::status::not_found, "");
      });
  ASSERT_TRUE(upstream.ok());
  auto proxy = Proxy::Start(io, ProxyOptions{.port = 0, .upstream_port = (*upstream)->port()});
  ASSERT_TRUE(proxy.ok());
  const std::uint16_t port = (*proxy)->port();
  std::thread runner([&] { io.run(); });
  asio::io_context client;
  http::tcp::socket sock(client);
  sock.connect(http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(sock, asio::buffer(std::string(
                        "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n"
                        "Host: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n"
                        "Transfer-Encoding: chunked\r\n"
                        "Trailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"
                        "5\r\nfirst\r\n6\r\nsecond\r\n0\r\n"
                        "Lambda-Runtime-Function-Error-Type: Function.Midstream\r\n\r\n")));
  http::Response res;
  http::beast::flat_buffer buf;
  bhttp::read(sock, buf, res);
  EXPECT_EQ(res.result(), bhttp::status::accepted);
  EXPECT_EQ(res.body(), R"({"status":"OK"})");
  asio::post(io, [&] {
    (*proxy)->Stop();
    (*upstream)->Stop();
  });
  io.stop();
  runner.join();
  EXPECT_EQ(seen_body, "firstsecond");
  EXPECT_EQ(seen_mode, "streaming");
  EXPECT_EQ(seen_trailer, "Function.Midstream");
}

}  // namespace
}  // namespace faultline::extension
