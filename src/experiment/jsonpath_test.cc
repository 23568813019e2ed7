#include "experiment/jsonpath.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace faultline::experiment {
namespace {

using ::testing::HasSubstr;

// testdata/jsonpath/cases.json: expressions evaluated by jsonpath2 itself
// (gen_cases.py), so that every case here is jsonpath2's answer.
json LoadCases() {
  auto file = std::filesystem::path(__FILE__).parent_path() / "testdata/jsonpath/cases.json";
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << file;
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

std::string Dump(const std::vector<json>& values) { return json(values).dump(); }

TEST(JsonPathDifferentialTest, EveryCaseAgreesWithJsonpath2) {
  json data = LoadCases();
  ASSERT_TRUE(data.is_object());
  const json& cases = data["cases"];
  ASSERT_GT(cases.size(), 300u);
  for (const json& c : cases) {
    auto path = c["path"].get<std::string>();
    const json& doc = data["documents"][c["doc"].get<std::string>()];
    SCOPED_TRACE("path " + path + " on document " + c["doc"].get<std::string>());
    auto parsed = JsonPath::Parse(path);
    if (c.value("error", "") == "parse") {
      EXPECT_FALSE(parsed.ok());
      if (!parsed.ok()) {
        EXPECT_THAT(parsed.status().message(), HasSubstr("column"));
      }
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    auto matches = parsed->Evaluate(doc);
    if (c.value("error", "") == "eval") {
      EXPECT_FALSE(matches.ok());
      continue;
    }
    ASSERT_TRUE(matches.ok()) << matches.status().ToString();
    // dump() tells 1 from 1.0 and keeps key order, as jsonpath2's values do.
    EXPECT_EQ(Dump(*matches), c["matches"].dump());
  }
}

TEST(JsonPathTest, ErrorNamesExpressionColumnAndExpectation) {
  auto p = JsonPath::Parse("$.and");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(p.status().message(),
            "invalid JSONPath '$.and': column 3: expected a name or '*' after '.', got 'and'");

  p = JsonPath::Parse("$['a']");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("column 3: unexpected character '''"));

  p = JsonPath::Parse("$.a[1.5]");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("column 5: expected an integer, got '1.5'"));

  p = JsonPath::Parse("$.a[?(@.x = 1]");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("column 14: expected ')' to close the filter"));

  p = JsonPath::Parse("$.size()");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("a known function (charAt, entries"));

  p = JsonPath::Parse("$.a[");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("got the end of the expression"));
}

TEST(JsonPathTest, ColumnsCountCharactersNotBytes) {
  auto p = JsonPath::Parse("$[\"é\"] ]");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("column 8:"));
}

TEST(JsonPathTest, NestingIsBounded) {
  std::string deep = "$";
  for (int i = 0; i < 100; ++i) deep += "[?(@";
  for (int i = 0; i < 100; ++i) deep += ")]";
  auto p = JsonPath::Parse(deep);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("at most 64 nested"));

  std::string values = "$[?(@ = ";
  for (int i = 0; i < 100; ++i) values += "[";
  EXPECT_FALSE(JsonPath::Parse(values).ok());
}

TEST(JsonPathTest, DeepDocumentsStopWithAnError) {
  json doc = 1;
  for (int i = 0; i < 2 * kMaxJsonPathDepth; ++i) doc = json::array({doc});
  auto p = JsonPath::Parse("$..*");
  ASSERT_TRUE(p.ok());
  auto m = p->Evaluate(doc);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("nested too deeply"));
  EXPECT_TRUE(p->Match(doc).empty());
}

TEST(JsonPathTest, HugeSlicesAreClippedNotEnumerated) {
  // jsonpath2 walks range(0, 10**20) one index at a time.
  auto p = JsonPath::Parse("$[0:99999999999999999999999:1]");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Dump(p->Match(json::array({1, 2}))), "[1,2]");
  p = JsonPath::Parse("$[99999999999999999999999:0:-1]");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Dump(p->Match(json::array({1, 2, 3}))), "[3,2]");
}

TEST(JsonPathTest, ZeroStepFailsOnlyOnArrays) {
  auto p = JsonPath::Parse("$[::0]");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->Evaluate(json::array({1})).ok());
  EXPECT_TRUE(p->Evaluate(json::object()).ok());
}

TEST(JsonPathTest, MovedPathStillMatches) {
  auto p = JsonPath::Parse("$.a");
  ASSERT_TRUE(p.ok());
  JsonPath moved = std::move(p).value();
  EXPECT_EQ(Dump(moved.Match(json{{"a", 1}})), "[1]");
}

}  // namespace
}  // namespace faultline::experiment
