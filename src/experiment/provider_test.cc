// Providers: the Python text conversions, the process provider on real
// processes, and the dispatch. Expected values come from running chaos
// (chaostoolkit-lib 1.44.0) on the same activities.
#include "experiment/provider.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "experiment/provider_internal.h"
#include "experiment/provider_test_util.h"

namespace faultline::experiment {
namespace {

using provider_internal::DecodeLatin1;
using provider_internal::DecodeUtf8;
using provider_internal::FormEncode;
using provider_internal::PyFloat;
using provider_internal::PyJsonDumps;
using provider_internal::PyStr;
using testing::Activity;
using testing::Alive;
using testing::Eventually;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;

TEST(PyText, FloatsAsPythonReprWritesThem) {
  EXPECT_EQ(PyFloat(1.5), "1.5");
  EXPECT_EQ(PyFloat(1.0), "1.0");
  EXPECT_EQ(PyFloat(-0.0), "-0.0");
  EXPECT_EQ(PyFloat(1e20), "1e+20");
  EXPECT_EQ(PyFloat(1e16), "1e+16");
  EXPECT_EQ(PyFloat(1e15), "1000000000000000.0");
  EXPECT_EQ(PyFloat(0.0001), "0.0001");
  EXPECT_EQ(PyFloat(0.00001), "1e-05");
  EXPECT_EQ(PyFloat(1.5e-7), "1.5e-07");
  EXPECT_EQ(PyFloat(123.456), "123.456");
  EXPECT_EQ(PyFloat(0.1 + 0.2), "0.30000000000000004");
}

TEST(PyText, StrOfValues) {
  EXPECT_EQ(PyStr(json(nullptr)), "None");
  EXPECT_EQ(PyStr(json(true)), "True");
  EXPECT_EQ(PyStr(json(3)), "3");
  EXPECT_EQ(PyStr(json("text")), "text");
  EXPECT_EQ(PyStr(json::parse(R"({"a": 1})")), "{'a': 1}");
  EXPECT_EQ(PyStr(json::parse(R"([1, "x", null, false, 2.5])")), "[1, 'x', None, False, 2.5]");
  EXPECT_EQ(PyStr(json::parse(R"(["it's"])")), R"(["it's"])");
  EXPECT_EQ(PyStr(json::parse(R"(["a'b\"c", "tab\t", "é"])")), R"(['a\'b"c', 'tab\t', 'é'])");
}

TEST(PyText, JsonDumpsWithPythonSeparatorsAndAsciiOnly) {
  EXPECT_EQ(PyJsonDumps(json::parse(R"({"a": 1, "b": [1, "x"], "c": null})")),
            R"({"a": 1, "b": [1, "x"], "c": null})");
  EXPECT_EQ(PyJsonDumps(json::parse(R"({"é": "😀\n", "f": 1.0, "t": true})")),
            R"({"\u00e9": "\ud83d\ude00\n", "f": 1.0, "t": true})");
  EXPECT_EQ(PyJsonDumps(json::array()), "[]");
}

TEST(PyText, FormEncodingAsRequests) {
  // chaos sent this query for these arguments.
  const json args =
      json::parse(R"({"a": 1, "b": [1, "x y"], "c": null, "d": true, "e": 1.0, "f": "é&="})");
  EXPECT_EQ(FormEncode(args), "a=1&b=1&b=x+y&d=True&e=1.0&f=%C3%A9%26%3D");
  EXPECT_EQ(FormEncode(json::parse(R"({"d": {"k": 1}})")), "d=k");
  EXPECT_EQ(FormEncode(json::parse(R"([["a", 1], ["a", 2]])")), "a=1&a=2");
}

TEST(PyText, BytesDecodedWithReplacement) {
  EXPECT_EQ(DecodeUtf8("caf\xc3\xa9"), "café");
  EXPECT_EQ(DecodeUtf8("ok\xff!"), "ok\uFFFD!");
  EXPECT_EQ(DecodeUtf8("\xe2\x82"), "\uFFFD");                  // one maximal subpart
  EXPECT_EQ(DecodeUtf8("\xed\xa0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogates are not UTF-8
  EXPECT_EQ(DecodeLatin1("caf\xc3\xa9"), "cafÃ©");
}

class ProcessProvider : public ::testing::Test {
 protected:
  ProviderResult Run(const std::string& provider, const Context& ctx = {}) {
    return providers_.Run(Activity(provider), ctx);
  }
  Providers providers_{Providers::Options{}};
};

TEST_F(ProcessProvider, ListArgumentsAreStrOfEachDroppingNoneAndEmpty) {
  const ProviderResult r = Run(R"({"type": "process", "path": "printf",
      "arguments": ["%s|", null, "", 1.5, true, 1e20, 3, {"a": 1}, [1, "x"], "$$x", "é"]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, json::parse(R"({"status": 0,
      "stdout": "1.5|True|1e+20|3|{'a': 1}|[1, 'x']|$$x|é|", "stderr": ""})"));
}

TEST_F(ProcessProvider, MappingArgumentsAreFlattenedToKeyAndValue) {
  const ProviderResult r = Run(
      R"({"type": "process", "path": "printf", "arguments": {"%s|": "a", "-n": null, "x": 2}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["stdout"], "a|-n|x|2|");
}

TEST_F(ProcessProvider, StringArgumentsRunThroughTheShell) {
  const ProviderResult r =
      Run(R"({"type": "process", "path": "echo", "arguments": "hello; echo err >&2; exit 3"})");
  ASSERT_TRUE(r.ok) << r.error;  // a non-zero exit is not a failure
  EXPECT_EQ(r.output, json::parse(R"({"status": 3, "stdout": "hello\n", "stderr": "err\n"})"));
}

TEST_F(ProcessProvider, ArgumentsAreSubstitutedOnlyWhenThereIsContext) {
  const std::string provider =
      R"({"type": "process", "path": "printf", "arguments": ["%s|", "$$x", "${c1}"]})";
  EXPECT_EQ(Run(provider).output["stdout"], "$$x|${c1}|");
  Context ctx;
  ctx.configuration["c1"] = "cv";
  EXPECT_EQ(Run(provider, ctx).output["stdout"], "$x|cv|");
}

TEST_F(ProcessProvider, ASignalIsANegativeStatus) {
  const ProviderResult r =
      Run(R"({"type": "process", "path": "sh", "arguments": ["-c", "kill -9 $$"]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["status"], -9);
}

TEST_F(ProcessProvider, RunsInTheRunnersEnvironmentAndDirectory) {
  ::setenv("FAULTLINE_PROVIDER_TEST", "from the runner", 1);
  const ProviderResult r = Run(
      R"({"type": "process", "path": "sh", "arguments": ["-c", "printf '%s|' \"$FAULTLINE_PROVIDER_TEST\"; pwd"]})");
  ::unsetenv("FAULTLINE_PROVIDER_TEST");
  ASSERT_TRUE(r.ok) << r.error;
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(r.output["stdout"], std::string("from the runner|") + cwd + "\n");
}

TEST_F(ProcessProvider, OnlyStandardDescriptorsReachTheChild) {
  const int leaky = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(leaky, 0);
  const ProviderResult r =
      Run(R"({"type": "process", "path": "sh", "arguments": ["-c", "ls /proc/$$/fd"]})");
  ::close(leaky);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["stdout"], "0\n1\n2\n");
}

TEST_F(ProcessProvider, InvalidUtf8IsReplaced) {
  const ProviderResult r =
      Run(R"({"type": "process", "path": "printf", "arguments": ["ok\\377\\n"]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["stdout"], "ok\uFFFD\n");
}

TEST_F(ProcessProvider, OutputIsBounded) {
  const ProviderResult r = Run(
      R"({"type": "process", "path": "sh", "arguments": ["-c", "head -c 17000000 /dev/zero; echo done >&2"]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["stdout"].get<std::string>().size(), Providers::kMaxCapturedBytes);
  EXPECT_EQ(r.output["stderr"], "done\n");
}

TEST_F(ProcessProvider, PastItsTimeoutTheGroupIsKilledAndTheActivityFails) {
  TempDir dir;
  const std::string pid_file = dir.File("pid");
  const ProviderResult r = Run(R"({"type": "process", "path": "sh", "timeout": 0.3,
      "arguments": ["-c", "sleep 30 & echo $! > )" +
                               pid_file + R"(; wait"]})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "process activity took too long to complete");
  const pid_t pid = std::atoi(ReadFile(pid_file).c_str());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(Eventually([&] { return !Alive(pid); })) << "the background sleep survived";
}

TEST_F(ProcessProvider, WhatItStartsInTheBackgroundOutlivesIt) {
  // As with chaos: an action that starts a service leaves it running.
  const ProviderResult r = Run(
      R"({"type": "process", "path": "sh", "arguments": ["-c", "sleep 30 >/dev/null 2>&1 & echo $!"]})");
  ASSERT_TRUE(r.ok) << r.error;
  const pid_t pid = std::atoi(r.output["stdout"].get<std::string>().c_str());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(Alive(pid));
  ::kill(pid, SIGKILL);
}

TEST_F(ProcessProvider, AMissingProgramFails) {
  const ProviderResult r = Run(R"({"type": "process", "path": "no-such-program-here"})");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("no-such-program-here"));
}

TEST_F(ProcessProvider, InterruptKillsWhatRunsAndRefusesWhatComes) {
  TempDir dir;
  const std::string marker = dir.File("started");
  ProviderResult r;
  std::thread t([&] {
    r = Run(R"({"type": "process", "path": "sh", "arguments": ["-c", "touch )" + marker +
            R"(; exec sleep 30"]})");
  });
  ASSERT_TRUE(Eventually([&] { return ::access(marker.c_str(), F_OK) == 0; }));
  providers_.Interrupt();
  t.join();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "interrupted");
  const ProviderResult later = Run(R"({"type": "process", "path": "true"})");
  EXPECT_FALSE(later.ok);
  EXPECT_EQ(later.error, "interrupted");
}

TEST(Providers, FaultlineProviderIsDelegated) {
  Providers none{Providers::Options{}};
  const json activity = Activity(R"({"type": "faultline", "target": "${t}"})");
  const ProviderResult r = none.Run(activity, {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "the faultline provider is not available here");

  Providers::Options options;
  json seen;
  options.faultline = [&](const json& provider, const Context&) {
    seen = provider;
    return ProviderResult{true, json("done"), "", {}};
  };
  Providers with(std::move(options));
  Context ctx;
  ctx.configuration["t"] = "fn";
  const ProviderResult ok = with.Run(activity, ctx);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.output, "done");
  EXPECT_EQ(seen["target"], "fn");
}

TEST(Providers, UnknownTypeFails) {
  Providers p{Providers::Options{}};
  const ProviderResult r = p.Run(Activity(R"({"type": "ruby"})"), {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "unknown provider type 'ruby'");
}

}  // namespace
}  // namespace faultline::experiment
