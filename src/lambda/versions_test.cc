// Versions and aliases: the resolution of a qualifier and the alias rules
// (pure), and end to end a version keeping its configuration, aliases and a
// weighted alias whose split replays with the emulator's seed.
#include "lambda/versions.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace bhttp = http::bhttp;

std::map<int, Version> TwoVersions() {
  std::map<int, Version> v;
  v[1].name = "1";
  v[2].name = "2";
  return v;
}

TEST(Resolve, LatestVersionsAliasesAndUnknown) {
  const auto versions = TwoVersions();
  std::map<std::string, Alias> aliases{{"live", Alias{.name = "live", .function_version = "1"}}};
  Random r(1);
  EXPECT_EQ(Resolve("", versions, aliases, r)->version, "$LATEST");
  EXPECT_EQ(Resolve("$LATEST", versions, aliases, r)->version, "$LATEST");
  EXPECT_EQ(Resolve("2", versions, aliases, r)->version, "2");
  EXPECT_EQ(Resolve("live", versions, aliases, r)->version, "1");
  EXPECT_EQ(Resolve("live", versions, aliases, r)->qualifier, "live");
  EXPECT_FALSE(Resolve("3", versions, aliases, r).has_value());
  EXPECT_FALSE(Resolve("dead", versions, aliases, r).has_value());
}

TEST(Resolve, AWeightedAliasSplitsBySeed) {
  const auto versions = TwoVersions();
  std::map<std::string, Alias> aliases{
      {"canary", Alias{.name = "canary", .function_version = "1", .additional = {{"2", 0.25}}}}};
  auto draw = [&](std::uint64_t seed) {
    Random r(seed);
    std::string seq;
    for (int i = 0; i < 4000; ++i) seq += Resolve("canary", versions, aliases, r)->version;
    return seq;
  };
  const std::string a = draw(7);
  EXPECT_EQ(a, draw(7));  // replayable
  EXPECT_NE(a, draw(8));
  const double share = static_cast<double>(std::count(a.begin(), a.end(), '2')) / 4000.0;
  EXPECT_NEAR(share, 0.25, 0.03);
}

TEST(QualifierOf, NameOrQueryButTheyMustAgree) {
  EXPECT_EQ(QualifierOf("f", std::nullopt).qualifier, "");
  EXPECT_EQ(QualifierOf("f:live", std::nullopt).qualifier, "live");
  EXPECT_EQ(
      QualifierOf("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%3A3", std::nullopt).qualifier,
      "3");
  EXPECT_EQ(QualifierOf("f", std::string("2")).qualifier, "2");
  EXPECT_EQ(QualifierOf("f:2", std::string("2")).qualifier, "2");
  EXPECT_FALSE(QualifierOf("f:1", std::string("2")).error.empty());
}

TEST(ReadAlias, AwsRules) {
  const auto versions = TwoVersions();
  auto err = [&](const char* body) {
    auto r = ReadAlias(json::parse(body), nullptr, versions, "arn:f");
    EXPECT_TRUE(std::holds_alternative<AliasError>(r)) << body;
    return std::holds_alternative<AliasError>(r) ? std::get<AliasError>(r) : AliasError{};
  };
  EXPECT_EQ(err(R"({"Name":"2024","FunctionVersion":"1"})").kind, AliasError::Kind::kValidation);
  EXPECT_EQ(err(R"({"Name":"a","FunctionVersion":"9"})").message, "Function not found: arn:f:9");
  EXPECT_EQ(err(R"({"Name":"a","FunctionVersion":"$LATEST",
                    "RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}})")
                .message,
            "$LATEST is not supported for an alias pointing to more than 1 version");
  EXPECT_EQ(err(R"({"Name":"a","FunctionVersion":"1",
                    "RoutingConfig":{"AdditionalVersionWeights":{"2":1.5}}})")
                .kind,
            AliasError::Kind::kValidation);
  EXPECT_EQ(err(R"({"Name":"a","FunctionVersion":"1",
                    "RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}})")
                .message,
            "Invalid function version 1. Function version 1 is already included in routing "
            "configuration.");
  auto ok = ReadAlias(json::parse(R"({"Name":"live-2","FunctionVersion":"1",
                                      "RoutingConfig":{"AdditionalVersionWeights":{"2":0.1}}})"),
                      nullptr, versions, "arn:f");
  ASSERT_TRUE(std::holds_alternative<Alias>(ok));
  EXPECT_EQ(AliasJson(std::get<Alias>(ok), "arn:f")["RoutingConfig"],
            json::parse(R"({"AdditionalVersionWeights":{"2":0.1}})"));
}

class VersionsTest : public EmulatorFixture {
 protected:
  json Publish() {
    auto res = Call(bhttp::verb::post, "/2015-03-31/functions/env/versions", "{}");
    EXPECT_EQ(res.result(), bhttp::status::created) << res.body();
    return json::parse(res.body());
  }
  void SetColour(const std::string& colour) {
    auto res = Call(bhttp::verb::put, "/2015-03-31/functions/env/configuration",
                    json{{"Environment", {{"Variables", {{"COLOUR", colour}}}}}}.dump());
    ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  }
  json InvokeEnv(const std::string& qualified) {
    auto res = Call(bhttp::verb::post, "/2015-03-31/functions/" + qualified + "/invocations",
                    R"({"var": "COLOUR"})");
    last_version_ = std::string(res["X-Amz-Executed-Version"]);
    return res.result() == bhttp::status::ok ? json::parse(res.body())
                                             : json{{"status", res.result_int()}};
  }
  std::string last_version_;
};

TEST_F(VersionsTest, AVersionKeepsTheConfigurationItWasPublishedWith) {
  Start({ExampleFunction("env", "env")});
  SetColour("blue");
  const json v1 = Publish();
  EXPECT_EQ(v1["Version"], "1");
  EXPECT_EQ(v1["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:env:1");
  EXPECT_EQ(Publish()["Version"], "1");  // nothing changed: the same version
  SetColour("green");
  EXPECT_EQ(Publish()["Version"], "2");
  EXPECT_EQ(InvokeEnv("env:1")["COLOUR"], "blue");
  EXPECT_EQ(last_version_, "1");
  const json in_v1 = InvokeEnv("env:1");
  EXPECT_EQ(in_v1["AWS_LAMBDA_FUNCTION_VERSION"], "1");
  EXPECT_NE(in_v1["AWS_LAMBDA_LOG_STREAM_NAME"].get<std::string>().find("/[1]"), std::string::npos);
  EXPECT_EQ(InvokeEnv("env:2")["COLOUR"], "green");
  EXPECT_EQ(InvokeEnv("env")["COLOUR"], "green");
  EXPECT_EQ(last_version_, "$LATEST");
  SetColour("red");  // $LATEST only
  EXPECT_EQ(InvokeEnv("env:1")["COLOUR"], "blue");
  EXPECT_EQ(InvokeEnv("env")["COLOUR"], "red");
  const json listed =
      json::parse(Call(bhttp::verb::get, "/2015-03-31/functions/env/versions").body());
  ASSERT_EQ(listed["Versions"].size(), 3u);
  EXPECT_EQ(listed["Versions"][0]["Version"], "$LATEST");
  const json config = json::parse(
      Call(bhttp::verb::get, "/2015-03-31/functions/env/configuration?Qualifier=1").body());
  EXPECT_EQ(config["Environment"]["Variables"]["COLOUR"], "blue");
  EXPECT_EQ(config["Version"], "1");
}

TEST_F(VersionsTest, AnUnknownQualifierIsA404NeverLatest) {
  Start({ExampleFunction("env", "env")});
  for (const char* target :
       {"/2015-03-31/functions/env:7/invocations",
        "/2015-03-31/functions/env/invocations?Qualifier=live",
        "/2015-03-31/functions/env/configuration?Qualifier=3", "/2015-03-31/functions/env:nope"}) {
    const bool invoke = std::string_view(target).find("invocations") != std::string_view::npos;
    auto res = Call(invoke ? bhttp::verb::post : bhttp::verb::get, target, invoke ? "{}" : "");
    EXPECT_EQ(res.result(), bhttp::status::not_found) << target;
    EXPECT_EQ(res["x-amzn-ErrorType"], "ResourceNotFoundException");
  }
  EXPECT_EQ(Metrics("env")["Invocations"], 0);
  auto both = Call(bhttp::verb::post, "/2015-03-31/functions/env:1/invocations?Qualifier=2", "{}");
  EXPECT_EQ(both.result(), bhttp::status::bad_request);
  auto reserve = Call(bhttp::verb::put, "/2017-10-31/functions/env:1/concurrency",
                      R"({"ReservedConcurrentExecutions": 1})");
  EXPECT_EQ(reserve.result(), bhttp::status::bad_request);  // per function, not per version
}

TEST_F(VersionsTest, AliasesAndAWeightedCanary) {
  Start({ExampleFunction("env", "env")}, [](EmulatorOptions& o) { o.seed = 42; });
  SetColour("blue");
  Publish();
  SetColour("green");
  Publish();
  auto created = Call(bhttp::verb::post, "/2015-03-31/functions/env/aliases",
                      R"({"Name":"live","FunctionVersion":"1",
                          "RoutingConfig":{"AdditionalVersionWeights":{"2":0.3}}})");
  ASSERT_EQ(created.result(), bhttp::status::created) << created.body();
  EXPECT_EQ(json::parse(created.body())["AliasArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:env:live");
  EXPECT_EQ(Call(bhttp::verb::post, "/2015-03-31/functions/env/aliases",
                 R"({"Name":"live","FunctionVersion":"1"})")
                .result(),
            bhttp::status::conflict);
  std::string seq;
  for (int i = 0; i < 60; ++i) {
    const json answer = InvokeEnv("env:live");
    EXPECT_EQ(answer["COLOUR"], last_version_ == "1" ? "blue" : "green");
    seq += last_version_;
  }
  const auto twos = std::count(seq.begin(), seq.end(), '2');
  EXPECT_GT(twos, 5);
  EXPECT_LT(twos, 35);
  // Moving the canary: all traffic to 2.
  auto moved = Call(bhttp::verb::put, "/2015-03-31/functions/env/aliases/live",
                    R"({"FunctionVersion":"2","RoutingConfig":{}})");
  ASSERT_EQ(moved.result(), bhttp::status::ok) << moved.body();
  EXPECT_EQ(InvokeEnv("env:live")["COLOUR"], "green");
  EXPECT_EQ(Call(bhttp::verb::delete_, "/2015-03-31/functions/env/aliases/live").result(),
            bhttp::status::no_content);
  EXPECT_EQ(InvokeEnv("env:live")["status"], 404);
  // The same seed, the same split: a second emulator replays it.
  StopEmulator();
  io_.restart();
  work_.emplace(http::asio::make_work_guard(io_));
  Start({ExampleFunction("env", "env")}, [](EmulatorOptions& o) { o.seed = 42; });
  SetColour("blue");
  Publish();
  SetColour("green");
  Publish();
  ASSERT_EQ(Call(bhttp::verb::post, "/2015-03-31/functions/env/aliases",
                 R"({"Name":"live","FunctionVersion":"1",
                     "RoutingConfig":{"AdditionalVersionWeights":{"2":0.3}}})")
                .result(),
            bhttp::status::created);
  std::string replay;
  for (int i = 0; i < 60; ++i) {
    InvokeEnv("env:live");
    replay += last_version_;
  }
  EXPECT_EQ(replay, seq);
}

}  // namespace
}  // namespace faultline::lambda
