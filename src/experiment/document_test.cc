// Expected values of the YAML tests come from PyYAML's yaml.safe_load (the
// loader chaoslib uses) on the same files, run with /tmp/ctk/bin/python;
// those of the JSON tests from Python's json.load.
#include "experiment/document.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "experiment/document_yaml.h"

namespace faultline::experiment {
namespace {

// The test data sits beside this file (the shared CMakeLists.txt of the
// module defines no directory for it).
std::string DataDir() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/') + 1) + "testdata/document/";
}
const std::string kData = DataDir();

Document Load(const std::string& name) {
  Result<Document> doc = ReadDocument(kData + name);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Document{};
}

std::string Error(std::string_view text, Format format) {
  Result<Document> doc = ParseDocument(text, "exp", format);
  EXPECT_FALSE(doc.ok());
  return doc.ok() ? "" : doc.status().message();
}

TEST(FormatOfTest, ByExtension) {
  EXPECT_EQ(*FormatOf("a.json"), Format::kJson);
  EXPECT_EQ(*FormatOf("dir/a.yaml"), Format::kYaml);
  EXPECT_EQ(*FormatOf("a.yml"), Format::kYaml);
  EXPECT_EQ(FormatOf("a.txt").status().message(),
            "a.txt: only files with json, yaml or yml extensions are supported");
}

TEST(ParseJsonTest, ValuesAndPositions) {
  Document doc = Load("positions.json");
  EXPECT_EQ(doc.value, json::parse(R"({"title": "positions", "method": [{"type": "action",
      "name": "a", "provider": {"type": "process", "path": "true"}}, {"type": "probe",
      "name": "café", "x": "é", "y": 1}], "dup": [true, null]})"));
  // Python's json keeps the last of duplicate keys, in the first one's place.
  EXPECT_EQ(doc.value.begin().key(), "title");
  EXPECT_EQ(doc.Where("title"), kData + "positions.json:2:12");
  EXPECT_EQ(doc.Where("method[0].provider.path"), kData + "positions.json:5:46");
  EXPECT_EQ(doc.Where("method[1]"), kData + "positions.json:6:5");
  EXPECT_EQ(doc.Where("method[1].name"), kData + "positions.json:8:15");
  EXPECT_EQ(doc.Where("method[1].y"), kData + "positions.json:8:43");  // columns count characters
  EXPECT_EQ(doc.Where("dup[1]"), kData + "positions.json:12:17");
  // An unknown path falls back to its nearest known ancestor.
  EXPECT_EQ(doc.Where("method[0].provider.nothing[3]"), kData + "positions.json:5:18");
  EXPECT_EQ(doc.Where(""), kData + "positions.json:1:1");
}

TEST(ParseJsonTest, Errors) {
  EXPECT_EQ(Error("{\n  \"a\": 1,\n}", Format::kJson).substr(0, 23), "exp:3:1: invalid JSON: ");
  EXPECT_EQ(Error("[1]", Format::kJson), "exp: expected a mapping at the top level, got a list");
  EXPECT_EQ(Error(std::string(65, '[') + std::string(65, ']'), Format::kJson),
            "exp:1:65: nested deeper than 64 levels");
  EXPECT_TRUE(ParseDocument("{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}", "exp",
                            Format::kJson)
                  .ok());
  EXPECT_EQ(ParseDocument(std::string(kMaxDocumentBytes + 1, ' '), "exp", Format::kJson)
                .status()
                .message(),
            "exp: 16777217 bytes is over the limit of 16777216 bytes");
}

TEST(ParseYamlTest, ScalarsResolvedAsSafeLoad) {
  Document doc = Load("scalars.yaml");
  json want = json::parse(R"({"bools": [true, true, true, false, false, false, true, true, true,
      false, false, false, true, true, true, false, false, false, "y", "n", "yEs"],
      "nulls": [null, null, null, null, "null", "nUll"], "empty": null,
      "ints": [0, 0, 12, 12, 1000, 31, 31, 15, 5, -3, 90, -5415, "08", "0o17", "1e5", 9.5],
      "floats": [1.5, -1.5, 1.0, 0.5, 100000.0, "1.0e5", 10.5, 90.5, "inf", "-inf", "inf",
                 0.0005],
      "strings": ["yes", "12", "12", "2024-01-01", "12abc", "1.2.3", "0x", 1, "_1", "0b2"],
      "block": "yes\n", "folded": "12\n", "tagged": [12, 1.0, true, null],
      "quoted key": 1, "12": "int key", "true": "bool key", "null": "null key",
      "base": {"a": 1, "b": 2}, "merged": {"a": 1, "b": 3, "c": 4},
      "multi": {"x": 1, "y": 1, "z": 3}, "dup": 2})");
  // JSON has no infinity: compare those by hand.
  json& floats = doc.value["floats"];
  for (int i : {8, 9, 10}) {
    ASSERT_TRUE(floats[i].is_number_float());
    EXPECT_TRUE(std::isinf(floats[i].get<double>()));
    floats[i] = floats[i].get<double>() > 0 ? "inf" : "-inf";
  }
  for (const auto& [k, v] : want.items()) EXPECT_EQ(doc.value[k], v) << k;
  EXPECT_EQ(doc.value.size(), want.size());
  std::vector<std::string> order;
  for (const auto& [k, v] : doc.value["multi"].items()) order.push_back(k);
  EXPECT_EQ(order, (std::vector<std::string>{"x", "y", "z"}));
}

TEST(ParseYamlTest, Positions) {
  Document doc = Load("positions.yaml");
  EXPECT_EQ(doc.Where("title"), kData + "positions.yaml:1:8");
  EXPECT_EQ(doc.Where("method[0]"), kData + "positions.yaml:3:5");
  EXPECT_EQ(doc.Where("method[0].provider.path"), kData + "positions.yaml:7:13");
  // An empty value is placed at its key.
  EXPECT_EQ(doc.Where("method[1].empty"), kData + "positions.yaml:9:5");
  EXPECT_TRUE(doc.value["method"][1]["empty"].is_null());
  EXPECT_EQ(doc.Where("rollbacks"), kData + "positions.yaml:11:12");
}

TEST(ParseYamlTest, Errors) {
  EXPECT_EQ(Error("a: [1, 2", Format::kYaml).substr(0, 4), "exp:");
  EXPECT_EQ(Error("- 1\n", Format::kYaml), "exp: expected a mapping at the top level, got a list");
  EXPECT_EQ(Error("", Format::kYaml), "exp: expected a mapping at the top level, got null");
  EXPECT_EQ(Error("a: !Ref x\n", Format::kYaml),
            "exp:1:4: could not determine a constructor for the tag \"!Ref\" of \"x\"");
  EXPECT_EQ(Error("a: 1\n---\nb: 2\n", Format::kYaml),
            "exp:2:1: expected one YAML document, got a second one");
  std::string deep = "a: ";
  for (int i = 0; i < 70; ++i) deep += "[";
  EXPECT_NE(Error(deep + "]", Format::kYaml).find("exp:1:"), std::string::npos);
  // Aliases that expand exponentially are refused, not expanded.
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 7; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) laughs += (j ? ", *a" : "*a") + std::to_string(i - 1);
    laughs += "]\n";
  }
  EXPECT_NE(Error(laughs, Format::kYaml).find("more than 100000 values"), std::string::npos);
}

TEST(ResolvePlainScalarTest, Edges) {
  EXPECT_EQ(*ResolvePlainScalar("-0b11"), json(-3));
  EXPECT_EQ(*ResolvePlainScalar("9223372036854775807"), json(INT64_MAX));
  EXPECT_FALSE(ResolvePlainScalar("99999999999999999999").ok());
  EXPECT_EQ(*ResolvePlainScalar("+.5"), json("+.5"));  // PyYAML: no sign before ".5"
  EXPECT_EQ(*ResolvePlainScalar("1.5e-3"), json(0.0015));
}

TEST(ReadDocumentTest, MissingFile) {
  Result<Document> doc = ReadDocument("/nonexistent/exp.json");
  EXPECT_EQ(doc.status().code(), Status::Code::kNotFound);
  EXPECT_NE(doc.status().message().find("/nonexistent/exp.json"), std::string::npos);
}

}  // namespace
}  // namespace faultline::experiment
