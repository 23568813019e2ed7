// Every file under testdata/document/ named good_* or bad_* was run through
// the real `chaos --no-log-file validate FILE` (chaostoolkit 1.19.0,
// chaostoolkit-lib 1.44.0, FAULTLINE_TEST_SURELY_UNSET unset). It said:
//   good_minimal.json, good_full.yaml     exit 0 "experiment syntax and semantic look valid"
//   bad_activity_type.json     exit 1 'step' is not a supported activity type
//   bad_background.json        exit 1 activity background must be a boolean
//   bad_empty_title.json       exit 1 experiment requires a title
//   bad_env_missing.json       exit 1 Configuration makes reference to an environment key
//                                     that does not exist: FAULTLINE_TEST_SURELY_UNSET
//   bad_extension.json         exit 1 All extensions require a non-empty name
//   bad_http.json              exit 1 a HTTP activities expect headers as a mapping
//   bad_hypothesis_title.json  exit 1 hypothesis requires a title
//   bad_jsonpath_empty.json    exit 1 hypothesis probe tolerance JSON path cannot be empty
//   bad_many.yaml              exit 1 experiment requires a description (the first of six)
//   bad_no_description.json    exit 1 experiment requires a description
//   bad_no_method.json         exit 1 an experiment requires a method, which can be empty ...
//   bad_no_name.json           exit 1 an activity must have a name
//   bad_no_tolerance.json      exit 1 hypothesis probe must have a tolerance entry
//   bad_pause_string.yaml      exit 1 activity after pause must be a number or a pattern ...
//   bad_process_path.json      exit 1 path '${tool}' cannot be found, in activity 'a'
//   bad_provider_type.json     exit 1 unknown provider type 'shell'
//   bad_python.json            exit 1 a Python activity must have a function name
//   bad_range.json             exit 1 hypothesis range sequence must be made of two values
//   bad_ref.json               exit 1 referenced activity 'no-such-activity' could not be found
//   bad_regex.json             exit 1 hypothesis probe tolerance pattern (unclosed seems
//                                     invalid: missing ), unterminated subpattern
//   bad_rollback.json          exit 1 path '/nonexistent/undo' cannot be found, in activity 'r'
//   bad_secret_env.json        exit 1 Secrets make reference to an environment key that does
//                                     not exist: FAULTLINE_TEST_SURELY_UNSET
//   bad_tags.json              exit 1 experiment tags must be a non-empty string
//   bad_timeout.json           exit 1 activity timeout must be a number
//   bad_tolerance_float.json   exit 1 hypothesis probe tolerance must either be an integer, ...
//   bad_tolerance_type.json    exit 1 hypothesis probe tolerance type 'exact' is unsupported
// Controls, runtime strategies and the faultline provider are faultline's
// own rules: they are tested on inline documents below.
#include "experiment/validate.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace faultline::experiment {
namespace {

std::string DataDir() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/') + 1) + "testdata/document/";
}

ValidateOptions Options() {
  ValidateOptions o;
  o.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return o;
}

std::vector<std::string> PathsOf(const std::vector<Problem>& problems) {
  std::vector<std::string> paths;
  for (const Problem& p : problems) paths.push_back(p.path);
  return paths;
}

std::vector<Problem> ValidateFile(const std::string& name, const ValidateOptions& o = Options()) {
  Result<Document> doc = ReadDocument(DataDir() + name);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? Validate(*doc, o) : std::vector<Problem>{};
}

TEST(ValidateFilesTest, GoodFilesAreValid) {
  for (const char* name : {"good_minimal.json", "good_full.yaml"}) {
    std::vector<Problem> problems = ValidateFile(name);
    EXPECT_TRUE(problems.empty()) << name << ": " << problems.front().path << ": "
                                  << problems.front().message;
  }
}

TEST(ValidateFilesTest, BadFilesNameTheirProblems) {
  const std::map<std::string, std::vector<std::string>> cases = {
      {"bad_activity_type.json", {"method[0].type"}},
      {"bad_background.json", {"method[0].background"}},
      {"bad_empty_title.json", {"title"}},
      {"bad_env_missing.json", {"configuration.token"}},
      {"bad_extension.json", {"extensions[0].name"}},
      {"bad_http.json", {"method[0].provider.headers", "method[1].provider.url"}},
      {"bad_hypothesis_title.json", {"steady-state-hypothesis.title"}},
      {"bad_jsonpath_empty.json", {"steady-state-hypothesis.probes[0].tolerance.path"}},
      {"bad_no_description.json", {"description"}},
      {"bad_no_method.json", {"method"}},
      {"bad_no_name.json", {"method[0].name"}},
      {"bad_no_tolerance.json", {"steady-state-hypothesis.probes[0].tolerance"}},
      {"bad_pause_string.yaml", {"method[0].pauses.after"}},
      {"bad_process_path.json", {"method[0].provider.path"}},
      {"bad_provider_type.json", {"method[0].provider.type"}},
      {"bad_python.json", {"method[0].provider.func"}},
      {"bad_range.json", {"steady-state-hypothesis.probes[0].tolerance.range"}},
      {"bad_ref.json", {"method[1].ref"}},
      {"bad_regex.json", {"steady-state-hypothesis.probes[0].tolerance.pattern"}},
      {"bad_rollback.json", {"rollbacks[0].provider.path"}},
      {"bad_secret_env.json", {"secrets.api.token"}},
      {"bad_tags.json", {"tags[1]"}},
      {"bad_timeout.json", {"method[0].timeout"}},
      {"bad_tolerance_float.json", {"steady-state-hypothesis.probes[1].tolerance"}},
      {"bad_tolerance_type.json", {"steady-state-hypothesis.probes[0].tolerance.type"}},
  };
  for (const auto& [name, want] : cases) EXPECT_EQ(PathsOf(ValidateFile(name)), want) << name;
}

TEST(ValidateFilesTest, EveryProblemInDocumentOrder) {
  const std::string file = DataDir() + "bad_many.yaml";
  Result<Document> doc = ReadDocument(file);
  ASSERT_TRUE(doc.ok());
  std::vector<Problem> problems = Validate(*doc, Options());
  EXPECT_EQ(PathsOf(problems),
            (std::vector<std::string>{"description", "tags[0]", "configuration.token",
                                      "steady-state-hypothesis.probes[0].tolerance",
                                      "method[0].pauses.before", "method[0].provider.path",
                                      "method[1].ref"}));
  ASSERT_EQ(problems.size(), 7u);
  EXPECT_EQ(FormatProblem(*doc, problems[3]),
            file +
                ":11:18: steady-state-hypothesis.probes[0].tolerance: expected a bool, an int, a "
                "string, a list or a tolerance object (regex, jsonpath, range, probe), got 2.5");
  EXPECT_EQ(FormatProblem(*doc, problems[0]),
            file + ":2:1: description: missing: an experiment requires a description");
  EXPECT_EQ(FormatProblem(*doc, problems[2]),
            file +
                ":5:10: configuration.token: the environment variable FAULTLINE_TEST_SURELY_UNSET "
                "is not set and the entry has no default");
}

Document Parse(std::string_view text) {
  Result<Document> doc = ParseDocument(text, "exp.json", Format::kJson);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Document{};
}

constexpr std::string_view kHead = R"("title": "t", "description": "d", )";

std::vector<Problem> ValidateText(std::string_view body, const ValidateOptions& o = Options()) {
  return Validate(Parse("{" + std::string(kHead) + std::string(body) + "}"), o);
}

TEST(ValidateTest, VarsAndEnvSatisfyEnvEntries) {
  const std::string body =
      R"("method": [], "configuration": {"t": {"type": "env", "key": "TOKEN"}})";
  EXPECT_EQ(ValidateText(body).size(), 1u);
  ValidateOptions with_env = Options();
  with_env.env = [](const std::string& k) -> std::optional<std::string> {
    return k == "TOKEN" ? std::optional<std::string>("x") : std::nullopt;
  };
  EXPECT_TRUE(ValidateText(body, with_env).empty());
  ValidateOptions with_var = Options();
  with_var.vars.configuration["t"] = "over";
  EXPECT_TRUE(ValidateText(body, with_var).empty());
}

TEST(ValidateTest, ControlsAreNotSupported) {
  std::vector<Problem> p = ValidateText(R"("method": [{"type": "action", "name": "a",
      "provider": {"type": "process", "path": "true"},
      "controls": [{"name": "inner", "provider": {"type": "python", "module": "m"}}]}],
      "controls": [{"name": "my-tracing", "provider": {"type": "python",
                    "module": "chaostracing.control"}}])");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].path, "method[0].controls[0]");
  EXPECT_EQ(p[1].path, "controls[0]");
  EXPECT_EQ(p[1].message,
            "the control \"my-tracing\" (provider module chaostracing.control) is not supported "
            "by faultline; remove it or run with chaos");
}

TEST(ValidateTest, FaultlineProviderAndHooks) {
  const std::string body = R"("method": [{"type": "action", "name": "f",
      "provider": {"type": "faultline", "rule": "x"}}],
      "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p",
        "tolerance": {"type": "jsonpath", "path": "$.[bad"},
        "provider": {"type": "python", "module": "nosuch", "func": "f"}}]})";
  std::vector<Problem> p = ValidateText(body);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].path, "method[0].provider");
  EXPECT_EQ(p[0].message, "the faultline provider is not available");
  ValidateOptions o = Options();
  o.check_faultline = [](const json& provider, const std::string& path, std::vector<Problem>* out) {
    if (!provider.contains("rules")) out->push_back({path + ".rules", "missing"});
  };
  o.check_jsonpath = [](const std::string& e) { return e == "$.[bad" ? "bad path" : ""; };
  o.check_python = [](const std::string& m, const std::string&) {
    return "could not import python module '" + m + "'";
  };
  p = Validate(Parse("{" + std::string(kHead) + body + "}"), o);
  EXPECT_EQ(PathsOf(p),
            (std::vector<std::string>{"method[0].provider.rules",
                                      "steady-state-hypothesis.probes[0].tolerance.path",
                                      "steady-state-hypothesis.probes[0].provider"}));
}

TEST(ValidateTest, ExecutableExistsSeesExpandedHome) {
  std::string seen;
  ValidateOptions o = Options();
  o.executable_exists = [&](const std::string& path) {
    seen = path;
    return true;
  };
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  EXPECT_TRUE(ValidateText(R"("method": [{"type": "action", "name": "a",
      "provider": {"type": "process", "path": "~/bin/tool"}}])",
                           o)
                  .empty());
  EXPECT_EQ(seen, std::string(home) + "/bin/tool");
}

TEST(ValidateTest, RuntimeStrategies) {
  std::vector<Problem> p = ValidateText(R"("method": [],
      "runtime": {"rollbacks": {"strategy": "sometimes"}, "hypothesis": {"strategy": "continuously"}})");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].path, "runtime.rollbacks.strategy");
  EXPECT_EQ(p[0].message, "expected one of default, always, never, deviated, got \"sometimes\"");
}

TEST(ValidateTest, StopConditionsAreProbesWithTolerances) {
  std::vector<Problem> p = ValidateText(R"("method": [], "x-faultline": {
      "stop-conditions": [
        {"type": "probe", "name": "ok", "tolerance": 0, "provider": {"type": "process", "path": "true"}},
        {"type": "action", "name": "act", "provider": {"type": "process", "path": "true"}},
        {"type": "probe", "name": "no-tolerance", "provider": {"type": "process", "path": "true"}}],
      "stop-condition-frequency": 0, "stop-after": 3})");
  EXPECT_EQ(PathsOf(p),
            (std::vector<std::string>{
                // A missing tolerance is placed at its activity, before its type.
                "x-faultline.stop-conditions[1].tolerance", "x-faultline.stop-conditions[1].type",
                "x-faultline.stop-conditions[2].tolerance", "x-faultline.stop-condition-frequency",
                "x-faultline.stop-after"}));
  EXPECT_EQ(p[3].message, "expected a number of seconds above 0, got 0");
}

TEST(ValidateTest, ShapesChaosWouldCrashOn) {
  std::vector<Problem> p = ValidateText(R"("method": [7, {}, {"type": "probe", "name": "n",
      "provider": "process"}], "rollbacks": {"a": 1}, "tags": 3)");
  EXPECT_EQ(PathsOf(p), (std::vector<std::string>{"method[0]", "method[1]", "method[2].provider",
                                                  "rollbacks", "tags"}));
  EXPECT_EQ(PathsOf(Validate(Parse("{}"), Options())), std::vector<std::string>{""});
}

}  // namespace
}  // namespace faultline::experiment
