// The python provider with a real python3 worker and a test module written
// to a temporary directory on PYTHONPATH. Expected values are what chaos
// (chaostoolkit-lib 1.44.0) gave for the same functions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "experiment/provider.h"
#include "experiment/provider_test_util.h"

namespace faultline::experiment {
namespace {

using testing::Activity;
using ::testing::ElementsAre;
using testing::Eventually;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

constexpr const char* kModule = R"py(
import datetime, decimal, os, threading, time
_meet = threading.Barrier(2, timeout=20)

def meet(who):
    _meet.wait()
    return who

def boom(x=1):
    return 1 / 0

class MyErr(Exception):
    pass

def myerr():
    raise MyErr("bad thing")

def conf(a, configuration=None, secrets=None):
    return {"a": a, "configuration": configuration, "secrets": secrets}

def values():
    return {"d": datetime.datetime(2020, 1, 2, 3, 4, 5), "dec": decimal.Decimal("1.50"),
            "t": (1, 2), 1: "intkey", "nan": float("nan")}

def a_set():
    return {1, 2}

def noisy():
    print("hello from print")
    os.write(1, b"raw bytes on fd 1\n")
    return "ret"

def hold(marker):
    open(marker, "w").close()
    time.sleep(30)

def crash():
    os._exit(3)

def pid():
    return os.getpid()

not_a_function = 3
)py";

class PythonProvider : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    dir_->Write("faultline_provider_mod.py", kModule);
    const char* old = std::getenv("PYTHONPATH");
    const std::string path = dir_->path() + (old != nullptr ? std::string(":") + old : "");
    ::setenv("PYTHONPATH", path.c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  ProviderResult Call(const std::string& func, const std::string& extra = "",
                      const Context& ctx = {}) {
    return providers_.Run(Activity(R"({"type": "python", "module": "faultline_provider_mod",
                                       "func": ")" +
                                   func + "\"" + extra + "}"),
                          ctx);
  }

  static inline TempDir* dir_ = nullptr;
  Providers providers_{Providers::Options{}};
};

TEST_F(PythonProvider, CallsRunConcurrently) {
  // Each waits at a two-party barrier: both return only if both run at once.
  ProviderResult a, b;
  std::thread ta([&] { a = Call("meet", R"(, "arguments": {"who": "a"})"); });
  std::thread tb([&] { b = Call("meet", R"(, "arguments": {"who": "b"})"); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok) << a.error;
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(a.output, "a");
  EXPECT_EQ(b.output, "b");
}

TEST_F(PythonProvider, AnExceptionFailsTheActivityWithItsTraceback) {
  const ProviderResult r = Call("boom");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "ZeroDivisionError: division by zero");
  ASSERT_GE(r.exception.size(), 4u);
  EXPECT_EQ(r.exception.front(), "Traceback (most recent call last):\n");
  EXPECT_THAT(r.exception[1], HasSubstr("faultline_provider_mod.py\", line 10, in boom"));
  EXPECT_EQ(r.exception[r.exception.size() - 3], "ZeroDivisionError: division by zero\n");
  EXPECT_EQ(r.exception[r.exception.size() - 2],
            "\nDuring handling of the above exception, another exception occurred:\n\n");
  EXPECT_EQ(r.exception.back(),
            "chaoslib.exceptions.ActivityFailed: ZeroDivisionError: division by zero\n");
  EXPECT_EQ(Call("myerr").error, "faultline_provider_mod.MyErr: bad thing");
}

TEST_F(PythonProvider, ConfigurationAndSecretsAreGivenWhenDeclared) {
  Context ctx;
  ctx.configuration["c1"] = "cv";
  ctx.secrets["s1"]["k1"] = "v1";
  ctx.secrets["s2"]["k2"] = "v2";
  ProviderResult r = Call("conf", R"(, "arguments": {"a": "${c1}"})", ctx);
  ASSERT_TRUE(r.ok) << r.error;
  // No "secrets" key on the provider: none given.
  EXPECT_EQ(r.output,
            json::parse(R"({"a": "cv", "configuration": {"c1": "cv"}, "secrets": null})"));
  r = Call("conf", R"(, "arguments": {"a": 1}, "secrets": ["s2", "nope"])", ctx);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["secrets"], json::parse(R"({"k2": "v2"})"));
}

TEST_F(PythonProvider, ValuesAreEncodedAsChaosJournalEncoderDoes) {
  const ProviderResult r = Call("values");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, json::parse(R"({"d": "2020-01-02T03:04:05", "dec": "1.50", "t": [1, 2],
                                      "1": "intkey", "nan": null})"));
}

TEST_F(PythonProvider, AValueJsonCannotWriteFailsTheActivity) {
  const ProviderResult r = Call("a_set");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("Object of type '<class 'set'>' is not JSON serializable"));
}

TEST_F(PythonProvider, PrintDoesNotDisturbTheReplies) {
  const ProviderResult r = Call("noisy");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, "ret");
}

TEST_F(PythonProvider, OneWorkerServesEveryCall) {
  const ProviderResult a = Call("pid");
  const ProviderResult b = Call("pid");
  ASSERT_TRUE(a.ok && b.ok);
  EXPECT_EQ(a.output, b.output);
  EXPECT_NE(a.output, ::getpid());
}

TEST_F(PythonProvider, AWorkerThatDiesIsReplacedAtTheNextCall) {
  const ProviderResult r = Call("crash");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "the python worker exited (exit status 3)");
  EXPECT_TRUE(Call("pid").ok);
}

TEST_F(PythonProvider, CheckPythonAsChaoslibValidates) {
  EXPECT_EQ(providers_.CheckPython("faultline_provider_mod", "boom"), "");
  EXPECT_THAT(providers_.CheckPython("no_such_module_here", "f"),
              StartsWith("could not find Python module 'no_such_module_here'"));
  EXPECT_EQ(providers_.CheckPython("faultline_provider_mod", "nope"),
            "the python module 'faultline_provider_mod' does not expose a function called 'nope'");
  EXPECT_THAT(providers_.CheckPython("faultline_provider_mod", "MyErr"),
              HasSubstr("does not expose a function"));
  EXPECT_THAT(providers_.CheckPython("faultline_provider_mod", "not_a_function"),
              HasSubstr("does not expose a function"));
  EXPECT_EQ(providers_.CheckPython("faultline_provider_mod", "conf", json::parse(R"({"a": 1})")),
            "");
  EXPECT_EQ(providers_.CheckPython("faultline_provider_mod", "conf", json::object()),
            "required argument 'a' is missing");
  EXPECT_EQ(
      providers_.CheckPython("faultline_provider_mod", "conf", json::parse(R"({"a": 1, "b": 2})")),
      "argument 'b' is not part of the function signature");
}

TEST_F(PythonProvider, InterruptStopsTheWorkerAndWhatWaitsOnIt) {
  const std::string marker = dir_->File("holding");
  ProviderResult r;
  std::thread t([&] { r = Call("hold", R"(, "arguments": {"marker": ")" + marker + "\"}"); });
  ASSERT_TRUE(Eventually([&] { return ::access(marker.c_str(), F_OK) == 0; }));
  providers_.Interrupt();
  t.join();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "interrupted");
  EXPECT_EQ(Call("pid").error, "interrupted");
}

}  // namespace
}  // namespace faultline::experiment
