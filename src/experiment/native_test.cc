// The faultline provider against the real things, in-process on loopback:
// the emulator (with credentials, so every Lambda call is checked for its
// SigV4 signature) running examples/functions/cpp/echo, and the extension's
// control endpoint (`faultline extension --no-register`'s, with its token
// file in a run directory of the test's own).
#include "experiment/native.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "aws/credentials.h"
#include "aws/signed_request.h"
#include "extension/extension.h"
#include "faultline/rules.h"
#include "http/client.h"
#include "lambda/emulator_fixture.h"

namespace faultline::experiment {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace bhttp = http::bhttp;
namespace fs = std::filesystem;

class NativeTest : public lambda::EmulatorFixture {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/faultline_native_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto creds = aws::LoadOrCreateCredentials(dir_ + "/creds");
    ASSERT_TRUE(creds.ok()) << creds.status().ToString();
    creds_ = *creds;
    Start({lambda::ExampleFunction("echo", "echo")},
          [this](lambda::EmulatorOptions& o) { o.credentials = creds_; });
    extension::ExtensionConfig config;
    config.runtime_api = "127.0.0.1:1";  // never called: nothing registers
    config.proxy_port = 0;
    config.control_port = 0;
    config.run_dir = dir_;
    config.emf_namespace = "";
    auto ext = extension::Extension::Start(config, [](std::string_view) {});
    ASSERT_TRUE(ext.ok()) << ext.status().ToString();
    ext_ = std::move(*ext);
    control_ = fmt::format("http://127.0.0.1:{}", *ext_->control_port());
    lambda_ = fmt::format("http://127.0.0.1:{}", emulator_->port());
    native_ = std::make_unique<NativeProvider>(Options());
  }

  void TearDown() override {
    native_.reset();
    ext_.reset();
    EmulatorFixture::TearDown();
    fs::remove_all(dir_);
  }

  // The token is found as `faultline faults` finds it: the file in the run
  // directory next to the control port file.
  NativeOptions Options() {
    NativeOptions o;
    o.env = [this](const std::string& name) -> std::optional<std::string> {
      if (name == "FAULTLINE_RUN_DIR") return dir_;
      if (name == "AWS_ENDPOINT_URL_LAMBDA") return lambda_;
      return std::nullopt;
    };
    o.credentials_dir = dir_ + "/creds";
    o.max_ttl = [] { return std::chrono::nanoseconds(30s); };
    o.record_undo = [this](const json& undo, std::string_view description) {
      if (refuse_undo_) return Status::IoError("disk full");
      undos_.push_back(undo);
      descriptions_.emplace_back(description);
      return Status::Ok();
    };
    return o;
  }

  ProviderResult Run(const std::string& func, json args) {
    const json provider = {{"type", "faultline"}, {"func", func}, {"arguments", std::move(args)}};
    Context ctx;
    ctx.configuration = {{"n", 2}};
    return native_->Run(provider, ctx);
  }

  // The endpoint's rules, read back with its token.
  RuleSet Rules() {
    http::Request req(bhttp::verb::get, "/rules", 11);
    req.set(bhttp::field::authorization, "Bearer " + ext_->control_token());
    auto res = http::FetchSync(http::Url{"127.0.0.1", *ext_->control_port(), "/rules"},
                               std::move(req), 10s);
    EXPECT_TRUE(res.ok() && res->result_int() == 200);
    if (!res.ok()) return {};
    auto rules = ParseRules(res->body(), "GET /rules");
    EXPECT_TRUE(rules.ok()) << rules.status().ToString();
    return rules.ok() ? *rules : RuleSet{};
  }

  // A Lambda API call signed with the emulator's credentials.
  json Signed(bhttp::verb verb, const std::string& target, std::string body = "") {
    http::Request req(verb, target, 11);
    req.body() = std::move(body);
    EXPECT_TRUE(aws::SignRequest(req, fmt::format("127.0.0.1:{}", emulator_->port()), creds_,
                                 "us-east-1", "lambda", SystemClock::Default()->Now())
                    .ok());
    auto res = http::FetchSync(url_, std::move(req), 30s);
    EXPECT_TRUE(res.ok() && res->result_int() < 300) << (res.ok() ? res->body() : "");
    if (!res.ok() || res->body().empty()) return nullptr;
    return json::parse(res->body(), nullptr, false);
  }
  json Concurrency() { return Signed(bhttp::verb::get, "/2019-09-30/functions/echo/concurrency"); }
  json Configuration() {
    return Signed(bhttp::verb::get, "/2015-03-31/functions/echo/configuration");
  }

  std::string dir_;
  aws::Credentials creds_;
  std::unique_ptr<extension::Extension> ext_;
  std::string control_, lambda_;
  std::unique_ptr<NativeProvider> native_;
  bool refuse_undo_ = false;
  std::vector<json> undos_;
  std::vector<std::string> descriptions_;
};

const json kSlow = json::parse(R"({"faults": [{"name": "slow", "target": "echo",
    "action": "latency", "latency": {"ms": 100}}]})");

TEST_F(NativeTest, ArmCapsEveryTtlAndItsUndoClearsWhatWasNotThere) {
  ProviderResult r = Run("arm", {{"endpoint", control_}, {"rules", kSlow}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, json({{"rules", 1}}));
  RuleSet rules = Rules();
  ASSERT_EQ(rules.rules.size(), 1u);
  EXPECT_EQ(rules.rules[0].name, "slow");
  EXPECT_EQ(rules.rules[0].ttl_ns, std::chrono::nanoseconds(30s).count());  // max_ttl
  EXPECT_TRUE(rules.rules[0].armed_at.has_value());
  ASSERT_EQ(undos_.size(), 1u);
  EXPECT_EQ(undos_[0], json({{"kind", "rules"}, {"endpoint", control_}, {"rules", nullptr}}));
  EXPECT_THAT(descriptions_[0], HasSubstr("clear the rules of " + control_));

  ASSERT_TRUE(native_->Undo(undos_[0]).ok());
  EXPECT_TRUE(Rules().rules.empty());
}

TEST_F(NativeTest, ALongerTtlIsShortenedAShorterOneKept) {
  json rules = json::array({{{"name", "long"}, {"action", "error"}, {"ttl", "1h"}},
                            {{"name", "short"}, {"action", "error"}, {"ttl", "5s"}},
                            {{"name", "none"}, {"action", "error"}}});
  ASSERT_TRUE(Run("arm", {{"endpoint", control_}, {"rules", rules}, {"ttl", 10}}).ok);
  RuleSet got = Rules();
  ASSERT_EQ(got.rules.size(), 3u);
  EXPECT_EQ(got.rules[0].ttl_ns, std::chrono::nanoseconds(30s).count());
  EXPECT_EQ(got.rules[1].ttl_ns, std::chrono::nanoseconds(5s).count());
  EXPECT_EQ(got.rules[2].ttl_ns, std::chrono::nanoseconds(10s).count());  // the ttl argument
}

TEST_F(NativeTest, TheUndoOfASecondArmRestoresTheFirstRules) {
  ASSERT_TRUE(Run("arm", {{"endpoint", control_}, {"rules", kSlow}}).ok);
  const RuleSet first = Rules();
  const std::string file = dir_ + "/boom.yaml";
  std::ofstream(file) << "faults:\n  - {name: boom, target: echo, action: error}\n";
  ProviderResult r = Run("arm", {{"endpoint", control_}, {"file", file}});
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(Rules().rules.at(0).name, "boom");
  ASSERT_EQ(undos_.size(), 2u);
  EXPECT_THAT(descriptions_[1], HasSubstr("restore the 1 rule armed at " + control_));

  ASSERT_TRUE(native_->Undo(undos_[1]).ok());
  const RuleSet restored = Rules();
  ASSERT_EQ(restored.rules.size(), 1u);
  EXPECT_EQ(restored.rules[0], first.rules[0]);  // armed_at and ttl too: it expires as before
}

TEST_F(NativeTest, ClearRecordsTheRulesAndTheFreeUndoPutsThemBack) {
  ASSERT_TRUE(Run("arm", {{"endpoint", control_}, {"rules", kSlow}}).ok);
  ProviderResult r = Run("clear", {{"endpoint", control_}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, json({{"rules", 0}}));
  EXPECT_TRUE(Rules().rules.empty());
  // As `faultline rollback` would, in a process with no token given: the
  // token comes from FAULTLINE_CONTROL_TOKEN.
  ::setenv("FAULTLINE_CONTROL_TOKEN", ext_->control_token().c_str(), 1);
  Status s = Undo(undos_.back());
  ::unsetenv("FAULTLINE_CONTROL_TOKEN");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Rules().rules.at(0).name, "slow");
}

TEST_F(NativeTest, ATokenArgumentIsUsedAndRememberedForTheUndo) {
  NativeOptions o = Options();
  o.env = [](const std::string&) { return std::nullopt; };  // no run dir: no token file
  native_ = std::make_unique<NativeProvider>(o);
  ProviderResult refused = Run("arm", {{"endpoint", control_}, {"rules", kSlow}});
  ASSERT_FALSE(refused.ok);
  EXPECT_THAT(refused.error, HasSubstr("arm: " + control_ + ": GET /rules answered 401"));
  EXPECT_THAT(refused.error, HasSubstr("no token sent"));
  EXPECT_TRUE(undos_.empty());
  ASSERT_TRUE(
      Run("arm", {{"endpoint", control_}, {"rules", kSlow}, {"token", ext_->control_token()}}).ok);
  EXPECT_EQ(undos_.at(0).dump().find(ext_->control_token()), std::string::npos);  // no secret
  ASSERT_TRUE(native_->Undo(undos_.at(0)).ok());
  EXPECT_TRUE(Rules().rules.empty());
}

TEST_F(NativeTest, WhenTheUndoCannotBeRecordedNothingChanges) {
  refuse_undo_ = true;
  ProviderResult r = Run("arm", {{"endpoint", control_}, {"rules", kSlow}});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("could not record how to undo it"));
  EXPECT_THAT(r.error, HasSubstr("disk full"));
  EXPECT_TRUE(Rules().rules.empty());

  r = Run("put-function-concurrency", {{"function", "echo"}, {"reserved", 1}});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("put-function-concurrency: " + lambda_ + ": could not record"));
  EXPECT_FALSE(Concurrency().contains("ReservedConcurrentExecutions"));

  r = Run("update-function-configuration", {{"function", "echo"}, {"timeout", 9}});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(Configuration()["Timeout"], 3);
}

TEST_F(NativeTest, PutFunctionConcurrencyAndItsUndoRestoresNoReservation) {
  ASSERT_FALSE(Concurrency().contains("ReservedConcurrentExecutions"));
  // The endpoint from AWS_ENDPOINT_URL_LAMBDA; "${n}" keeps its type.
  ProviderResult r = Run("put-function-concurrency", {{"function", "echo"}, {"reserved", "${n}"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, json({{"ReservedConcurrentExecutions", 2}}));
  EXPECT_EQ(Concurrency()["ReservedConcurrentExecutions"], 2);
  ASSERT_EQ(undos_.size(), 1u);
  EXPECT_EQ(undos_[0], json({{"kind", "function-concurrency"},
                             {"endpoint", lambda_},
                             {"function", "echo"},
                             {"reserved", nullptr}}));

  ASSERT_TRUE(Run("put-function-concurrency", {{"function", "echo"}, {"reserved", 0}}).ok);
  EXPECT_EQ(undos_.at(1)["reserved"], 2);
  ASSERT_TRUE(native_->Undo(undos_[1]).ok());
  EXPECT_EQ(Concurrency()["ReservedConcurrentExecutions"], 2);
  ASSERT_TRUE(native_->Undo(undos_[0]).ok());
  EXPECT_FALSE(Concurrency().contains("ReservedConcurrentExecutions"));
}

TEST_F(NativeTest, DeleteFunctionConcurrencyRecordsTheReservation) {
  ASSERT_TRUE(Run("put-function-concurrency", {{"function", "echo"}, {"reserved", 3}}).ok);
  ProviderResult r = Run("delete-function-concurrency", {{"function", "echo"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(Concurrency().contains("ReservedConcurrentExecutions"));
  EXPECT_THAT(descriptions_.back(), HasSubstr("reserved concurrency back to 3"));
  ASSERT_TRUE(native_->Undo(undos_.back()).ok());
  EXPECT_EQ(Concurrency()["ReservedConcurrentExecutions"], 3);
}

TEST_F(NativeTest, UpdateFunctionConfigurationAndItsUndoRestoresTheTimeout) {
  ProviderResult r = Run("update-function-configuration",
                         {{"function", "echo"}, {"timeout", 7}, {"environment", {{"MODE", 1}}}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["Timeout"], 7);
  EXPECT_EQ(Configuration()["Environment"]["Variables"], json({{"MODE", "1"}}));
  ASSERT_EQ(undos_.size(), 1u);
  EXPECT_EQ(undos_[0]["configuration"],
            json({{"Timeout", 3}, {"Environment", {{"Variables", json::object()}}}}));

  ASSERT_TRUE(native_->Undo(undos_[0]).ok());
  const json after = Configuration();
  EXPECT_EQ(after["Timeout"], 3);
  EXPECT_EQ(after["Environment"]["Variables"], json::object());
}

TEST_F(NativeTest, ALambdaFailureNamesTheFunctionTheEndpointAndAwsError) {
  ProviderResult r = Run("put-function-concurrency", {{"function", "nope"}, {"reserved", 1}});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.error,
              HasSubstr("put-function-concurrency: " + lambda_ +
                        ": GetFunctionConcurrency answered 404 ResourceNotFoundException"));
  EXPECT_TRUE(undos_.empty());
  // Other keys than the emulator's: its 403, from the signature check.
  NativeOptions o = Options();
  o.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_ACCESS_KEY_ID") return "AKIAOTHER0000000000";
    if (name == "AWS_SECRET_ACCESS_KEY") return "secret";
    return std::nullopt;
  };
  native_ = std::make_unique<NativeProvider>(o);
  r = Run("delete-function-concurrency", {{"endpoint", lambda_}, {"function", "echo"}});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("answered 403"));
}

TEST_F(NativeTest, MetricsReadsAFunctionsInvocations) {
  json invoked = Signed(bhttp::verb::post, "/2015-03-31/functions/echo/invocations", R"({"a":1})");
  EXPECT_EQ(invoked, json({{"a", 1}}));
  ProviderResult r = Run("metrics", {{"function", "echo"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["Invocations"], 1);
  EXPECT_EQ(r.output["Errors"], 0);
  ProviderResult all = Run("metrics", json::object());
  ASSERT_TRUE(all.ok) << all.error;
  EXPECT_EQ(all.output["functions"]["echo"]["Invocations"], 1);
  ProviderResult none = Run("metrics", {{"function", "nope"}});
  ASSERT_FALSE(none.ok);
  EXPECT_THAT(none.error, HasSubstr("no metrics for function \"nope\" (the endpoint has: echo)"));
}

TEST_F(NativeTest, LoadReturnsItsReportAndFlatFields) {
  ProviderResult r = Run("load", {{"url", lambda_ + "/metrics.json"},
                                  {"connections", 2},
                                  {"duration", "1s"},
                                  {"headers", {{"X-Test", "1"}}}});
  ASSERT_TRUE(r.ok) << r.error;
  const json& out = r.output;
  EXPECT_GT(out["requests"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(out["errors"], 0);
  EXPECT_EQ(out["http_errors"], 0);
  EXPECT_EQ(out["error_rate"], 0.0);
  for (const char* key : {"p50_ms", "p90_ms", "p99_ms", "rps"}) {
    EXPECT_TRUE(out[key].is_number()) << key << ": " << out.dump();
  }
  EXPECT_EQ(out["report"]["version"], 1);
  EXPECT_EQ(out["report"]["requests"]["total"], out["requests"]);
}

TEST_F(NativeTest, LoadCountsHttpErrorsInTheErrorRate) {
  // The control endpoint refuses requests without its token: 401 each.
  ProviderResult r = Run("load", {{"url", control_ + "/rules"}, {"duration", 0.3}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_GT(r.output["requests"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(r.output["http_errors"], r.output["requests"]);
  EXPECT_EQ(r.output["error_rate"], 1.0);
}

TEST_F(NativeTest, InterruptEndsALoadAndRefusesTheNext) {
  ProviderResult r;
  std::thread t([&] { r = Run("load", {{"url", lambda_ + "/metrics.json"}, {"duration", 600}}); });
  native_->Interrupt();  // before it starts or while it runs: either way it ends
  t.join();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("interrupted"));
  r = Run("load", {{"url", lambda_ + "/metrics.json"}, {"duration", 600}});
  EXPECT_EQ(r.error, "load: " + lambda_ + "/metrics.json: interrupted");
  // What undoes faults still runs after an interrupt (rollbacks).
  EXPECT_TRUE(Run("clear", {{"endpoint", control_}}).ok);
}

TEST_F(NativeTest, UndoRefusesWhatItDoesNotKnow) {
  Status s = native_->Undo(json{{"kind", "reboot"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown kind \"reboot\""));
  EXPECT_FALSE(native_->Undo(json{{"kind", "rules"}}).ok());
}

// ---- validation ----

std::vector<Problem> Check(const json& provider) {
  std::vector<Problem> out;
  CheckFaultlineProvider(provider, "method[0].provider", &out);
  return out;
}

json Provider(const std::string& func, json args) {
  return {{"type", "faultline"}, {"func", func}, {"arguments", std::move(args)}};
}

TEST(NativeValidateTest, ValidProvidersHaveNoProblems) {
  EXPECT_TRUE(Check(Provider("arm", {{"rules", kSlow}, {"ttl", "5m"}})).empty());
  EXPECT_TRUE(Check(Provider("clear", json::object())).empty());
  EXPECT_TRUE(Check({{"type", "faultline"}, {"func", "metrics"}}).empty());
  EXPECT_TRUE(
      Check(Provider("put-function-concurrency", {{"function", "${fn}"}, {"reserved", "${n}"}}))
          .empty());
  EXPECT_TRUE(
      Check(
          Provider("load", {{"url", "http://127.0.0.1:1/"}, {"rate", 10.5}, {"body", {{"k", 1}}}}))
          .empty());
  // A rule set that only parses once substituted is left to the run.
  json rules = kSlow;
  rules["faults"][0]["probability"] = "${p}";
  EXPECT_TRUE(Check(Provider("arm", {{"rules", rules}})).empty());
}

TEST(NativeValidateTest, AnUnknownFuncSuggestsTheClosest) {
  auto problems = Check(Provider("arn", json::object()));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "method[0].provider.func");
  EXPECT_THAT(problems[0].message, HasSubstr("unknown func \"arn\" (did you mean \"arm\"?)"));
}

TEST(NativeValidateTest, ArgumentsAreCheckedEachAtItsPath) {
  auto problems =
      Check(Provider("put-function-concurrency", {{"functon", "echo"}, {"reserved", "two"}}));
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].path, "method[0].provider.arguments.functon");
  EXPECT_THAT(problems[0].message, HasSubstr("(did you mean \"function\"?)"));
  EXPECT_EQ(problems[1].path, "method[0].provider.arguments.reserved");
  EXPECT_EQ(problems[1].message, "expected an integer, got \"two\"");
  EXPECT_EQ(problems[2].path, "method[0].provider.arguments");
  EXPECT_THAT(problems[2].message, HasSubstr("needs the argument \"function\""));

  problems = Check(Provider("update-function-configuration", {{"function", "echo"}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("needs timeout, memory_size or environment"));
  problems = Check({{"type", "faultline"}, {"func", "load"}, {"arguments", {1, 2}}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "method[0].provider.arguments");
}

TEST(NativeValidateTest, ARuleSetThatDoesNotParseIsReportedWhereTheFieldIs) {
  json rules = kSlow;
  rules["faults"][0]["action"] = "slowly";
  auto problems = Check(Provider("arm", {{"rules", rules}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "method[0].provider.arguments.rules.faults[0].action");
  EXPECT_THAT(problems[0].message, HasSubstr("expected one of"));

  json list = json::array({{{"name", "a"}, {"action", "error"}}, {{"name", "b"}, {"acton", "x"}}});
  problems = Check(Provider("arm", {{"rules", list}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path.rfind("method[0].provider.arguments.rules[1]", 0), 0u)
      << problems[0].path;

  problems = Check(Provider("arm", {{"file", "/nonexistent/faults.yaml"}, {"ttl", "soon"}}));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].path, "method[0].provider.arguments.file");
  EXPECT_THAT(problems[0].message, HasSubstr("/nonexistent/faults.yaml"));
  EXPECT_EQ(problems[1].path, "method[0].provider.arguments.ttl");

  problems = Check(Provider("arm", json::object()));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("either \"rules\""));
}

}  // namespace
}  // namespace faultline::experiment
