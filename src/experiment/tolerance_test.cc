#include "experiment/tolerance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "experiment/tolerance_decimal.h"
#include "experiment/tolerance_python.h"
#include "experiment/tolerance_regex.h"

namespace faultline::experiment {
namespace {

using ::testing::HasSubstr;

enum Verdict { kMet, kNotMet, kError };

struct Case {
  const char* tolerance;
  const char* value;
  Verdict verdict;
};

// Every verdict here is chaoslib's: testdata/tolerance/check_table.py reads
// this table and runs chaoslib.hypothesis.within_tolerance on each row (a
// string tolerance substituted first, as run_steady_state_hypothesis does;
// None counts as not met, an exception as kError) with kContext's
// configuration. Keep one row per line.
// clang-format off
const Case kTable[] = {
    // bool: Python ==, so True == 1 == 1.0.
    {R"j(true)j", R"j(true)j", kMet},
    {R"j(true)j", R"j(1)j", kMet},
    {R"j(true)j", R"j(1.0)j", kMet},
    {R"j(false)j", R"j(0)j", kMet},
    {R"j(true)j", R"j("true")j", kNotMet},
    {R"j(true)j", R"j({"status": 200})j", kNotMet},
    {R"j(false)j", R"j(null)j", kNotMet},
    // str, substituted first: "${expected}" becomes the int 200.
    {R"j("ok")j", R"j("ok")j", kMet},
    {R"j("ok")j", R"j("OK")j", kNotMet},
    {R"j("${word}")j", R"j("ok")j", kMet},
    {R"j("x ${word}")j", R"j("x ok")j", kMet},
    {R"j("${expected}")j", R"j(200)j", kMet},
    {R"j("${expected}")j", R"j({"status": 200})j", kMet},
    {R"j("${missing}")j", R"j("${missing}")j", kMet},
    {R"j("")j", R"j("")j", kMet},
    {R"j("ok")j", R"j(["ok"])j", kNotMet},
    // int: a dict with "status" is compared by its status.
    {R"j(200)j", R"j(200)j", kMet},
    {R"j(200)j", R"j(200.0)j", kMet},
    {R"j(1)j", R"j(true)j", kMet},
    {R"j(0)j", R"j(false)j", kMet},
    {R"j(200)j", R"j({"status": 200, "body": "x"})j", kMet},
    {R"j(200)j", R"j({"status": "200"})j", kNotMet},
    {R"j(200)j", R"j({"code": 200})j", kNotMet},
    {R"j(200)j", R"j("200")j", kNotMet},
    // float and None tolerances have no registration: None, not met.
    {R"j(1.5)j", R"j(1.5)j", kNotMet},
    {R"j(null)j", R"j(null)j", kNotMet},
    // list: membership of a status; else [a, b] an inclusive range.
    {R"j([200, 201])j", R"j({"status": 201})j", kMet},
    {R"j([200, 299])j", R"j({"status": 250})j", kNotMet},
    {R"j([1, 5])j", R"j(3)j", kMet},
    {R"j([1, 5])j", R"j(5)j", kMet},
    {R"j([1, 5])j", R"j(5.5)j", kNotMet},
    {R"j([1, 5])j", R"j(true)j", kMet},
    {R"j([1, 5])j", R"j("a")j", kError},
    {R"j([0, 5])j", R"j(null)j", kError},
    {R"j(["a", "c"])j", R"j("b")j", kMet},
    {R"j(["a", "c"])j", R"j(2)j", kError},
    {R"j([[1, 2], [1, 4]])j", R"j([1, 3])j", kMet},
    {R"j([[1, 2], [1, 4]])j", R"j([1, "x"])j", kError},
    {R"j([5, 1])j", R"j(3)j", kNotMet},
    {R"j([5, "x"])j", R"j(3)j", kNotMet},
    {R"j([1, "x"])j", R"j(3)j", kError},
    {R"j([{"a": 1}, {"a": 2}])j", R"j({"a": 1})j", kError},
    {R"j([1, 2, 3])j", R"j(2.0)j", kMet},
    {R"j([1, 2, 3])j", R"j(4)j", kNotMet},
    {R"j([])j", R"j(1)j", kNotMet},
    {R"j([1])j", R"j(1)j", kMet},
    {R"j(["ok", "fine", "good"])j", R"j("fine")j", kMet},
    {R"j([1, 2, 3])j", R"j({"a": 1})j", kNotMet},
    // regex: re.search; $ matches before a final newline.
    {R"j({"type": "regex", "pattern": "^ok$"})j", R"j("ok\n")j", kMet},
    {R"j({"type": "regex", "pattern": "^ok$"})j", R"j("ok\n\n")j", kNotMet},
    {R"j({"type": "regex", "pattern": "ok\\Z"})j", R"j("ok\n")j", kNotMet},
    {R"j({"type": "regex", "pattern": "a$"})j", R"j("a\n")j", kMet},
    {R"j({"type": "regex", "pattern": "$"})j", R"j("")j", kMet},
    {R"j({"type": "regex", "pattern": "a|b$"})j", R"j("xb\n")j", kMet},
    {R"j({"type": "regex", "pattern": "(?m)^b$"})j", R"j("a\nb\nc")j", kMet},
    {R"j({"type": "regex", "pattern": "^b"})j", R"j("a\nb")j", kNotMet},
    {R"j({"type": "regex", "pattern": "."})j", R"j("\n")j", kNotMet},
    {R"j({"type": "regex", "pattern": "(?s)."})j", R"j("\n")j", kMet},
    {R"j({"type": "regex", "pattern": "a.c"})j", R"j("a\rc")j", kMet},
    {R"j({"type": "regex", "pattern": "^h.llo$"})j", R"j("héllo")j", kMet},
    {R"j({"type": "regex", "pattern": "^.{5}$"})j", R"j("héllo")j", kMet},
    {R"j({"type": "regex", "pattern": "\\d+"})j", R"j("abc 123")j", kMet},
    {R"j({"type": "regex", "pattern": "\\d"})j", R"j("abc")j", kNotMet},
    {R"j({"type": "regex", "pattern": "(?i)OK"})j", R"j("ok")j", kMet},
    {R"j({"type": "regex", "pattern": "(?P<x>a)(?P=x)"})j", R"j("xaa")j", kMet},
    {R"j({"type": "regex", "pattern": "(a)\\1"})j", R"j("ab")j", kNotMet},
    {R"j({"type": "regex", "pattern": "^a{,2}b$"})j", R"j("aab")j", kMet},
    {R"j({"type": "regex", "pattern": "^a{,2}b$"})j", R"j("aaab")j", kNotMet},
    {R"j({"type": "regex", "pattern": "a{"})j", R"j("a{")j", kMet},
    {R"j({"type": "regex", "pattern": "[]a]"})j", R"j("]")j", kMet},
    {R"j({"type": "regex", "pattern": "[^]a]"})j", R"j("]a")j", kNotMet},
    {R"j({"type": "regex", "pattern": "x*"})j", R"j("")j", kMet},
    {R"j({"type": "regex", "pattern": "\\bfoo\\b"})j", R"j("a foo b")j", kMet},
    {R"j({"type": "regex", "pattern": "\\bfoo\\b"})j", R"j("afoob")j", kNotMet},
    {R"j({"type": "regex", "pattern": "(?x) o  k # comment"})j", R"j("ok")j", kMet},
    {R"j({"type": "regex", "pattern": "\\x41\\u0042\\101"})j", R"j("ABA")j", kMet},
    {R"j({"type": "regex", "pattern": "[\\s]x\\sy"})j", R"j(" x\ty")j", kMet},
    {R"j({"type": "regex", "pattern": "ok", "target": "stdout"})j", R"j({"status": 0, "stdout": "all ok", "stderr": ""})j", kMet},
    {R"j({"type": "regex", "pattern": "ok", "target": "stderr"})j", R"j({"status": 0, "stdout": "all ok", "stderr": ""})j", kNotMet},
    {R"j({"type": "regex", "pattern": "ok", "target": "body"})j", R"j({"status": 0, "stdout": "ok"})j", kError},
    {R"j({"type": "regex", "pattern": "ok", "target": "stdout"})j", R"j("ok")j", kError},
    {R"j({"type": "regex", "pattern": "ok", "target": ""})j", R"j("ok")j", kMet},
    {R"j({"type": "regex", "pattern": "1"})j", R"j(1)j", kError},
    {R"j({"type": "regex", "pattern": "${pat}"})j", R"j("ok")j", kMet},
    {R"j({"type": "regex", "pattern": "("})j", R"j("(")j", kError},
    {R"j({"type": "regex", "pattern": "\\q"})j", R"j("q")j", kError},
    {R"j({"type": "regex", "pattern": "a{2,1}"})j", R"j("aa")j", kError},
    {R"j({"type": "regex", "pattern": "a(?i)b"})j", R"j("ab")j", kError},
    {R"j({"type": "regex", "pattern": "*a"})j", R"j("a")j", kError},
    // jsonpath: any match; count; expect (which overrides count).
    {R"j({"type": "jsonpath", "path": "$.a"})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.b"})j", R"j({"a": 1})j", kNotMet},
    {R"j({"type": "jsonpath", "path": "$.a[*]", "count": 2})j", R"j({"a": [1, 2]})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a[*]", "count": 3})j", R"j({"a": [1, 2]})j", kNotMet},
    {R"j({"type": "jsonpath", "path": "$.a[*]", "count": 2.0})j", R"j({"a": [1, 2]})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.b", "count": 0})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a", "expect": 1})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a", "expect": 1.0})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a", "expect": true})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a[*]", "expect": [1, 2]})j", R"j({"a": [1, 2]})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a[*]", "expect": [2, 1]})j", R"j({"a": [1, 2]})j", kNotMet},
    {R"j({"type": "jsonpath", "path": "$.a", "expect": null})j", R"j({"a": null})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a", "count": 1, "expect": 2})j", R"j({"a": 1})j", kNotMet},
    {R"j({"type": "jsonpath", "path": "$.a", "count": 5, "expect": 1})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a", "expect": {"b": [1]}})j", R"j({"a": {"b": [1.0]}})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a[*]", "target": "body", "count": 2})j", R"j({"status": 200, "body": "{\"a\": [1, 2]}"})j", kMet},
    {R"j({"type": "jsonpath", "path": "$", "expect": "hello"})j", R"j("hello")j", kMet},
    {R"j({"type": "jsonpath", "path": "$", "expect": 12})j", R"j(" 12 ")j", kMet},
    {R"j({"type": "jsonpath", "path": "$.a", "target": "body"})j", R"j("{\"a\": 1}")j", kError},
    {R"j({"type": "jsonpath", "path": "$.a", "target": "body"})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.and"})j", R"j({"and": 1})j", kError},
    {R"j({"type": "jsonpath", "path": "${jp}"})j", R"j({"a": 1})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.s", "expect": "${expected}"})j", R"j({"s": 200})j", kMet},
    {R"j({"type": "jsonpath", "path": "$.items[*][?(@.ok = true)]", "count": 2})j", R"j({"items": [{"ok": true}, {"ok": false}, {"ok": 1}]})j", kMet},
    {R"j({"type": "jsonpath", "path": "$[::0]"})j", R"j([1])j", kError},
    {R"j({"type": "jsonpath", "path": "$.a"})j", R"j(42)j", kNotMet},
    // range: Decimal, strings that parse as numbers are numbers.
    {R"j({"type": "range", "range": [1, 5]})j", R"j(3)j", kMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j(5)j", kMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j(5.000001)j", kNotMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j("3")j", kMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j(" 4 ")j", kMet},
    {R"j({"type": "range", "range": [0, 2000]})j", R"j("1_000")j", kMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j("abc")j", kNotMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j("")j", kNotMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j("NaN")j", kError},
    {R"j({"type": "range", "range": [1, 5]})j", R"j(null)j", kError},
    {R"j({"type": "range", "range": [1, 5]})j", R"j([3])j", kError},
    {R"j({"type": "range", "range": [1, 5]})j", R"j({"a": 3})j", kError},
    {R"j({"type": "range", "range": [0, 1]})j", R"j(true)j", kMet},
    {R"j({"type": "range", "range": [1, 5], "target": "stdout"})j", R"j({"stdout": "3\n"})j", kMet},
    {R"j({"type": "range", "range": [1, 5], "target": "stdout"})j", R"j("3")j", kError},
    {R"j({"type": "range", "range": [0.1, 1]})j", R"j(0.1)j", kMet},
    {R"j({"type": "range", "range": [0.1, 1]})j", R"j("0.1")j", kNotMet},
    {R"j({"type": "range", "range": [0, 5]})j", R"j("inf")j", kNotMet},
    {R"j({"type": "range", "range": [-5, 5]})j", R"j("-0")j", kMet},
    {R"j({"type": "range", "range": [0, 1e308]})j", R"j("1e400")j", kNotMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j("2.5e0")j", kMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j(".5")j", kNotMet},
    {R"j({"type": "range", "range": ["a", 5]})j", R"j(3)j", kError},
    {R"j({"type": "range", "range": [5, "a"]})j", R"j(3)j", kNotMet},
    {R"j({"type": "range", "range": ["1", "5"]})j", R"j(3)j", kMet},
    {R"j({"type": "range", "range": [1, 5]})j", R"j(9007199254740993)j", kNotMet},
    // unknown dict types: None.
    {R"j({"type": "nope"})j", R"j(1)j", kNotMet},
    {R"j({})j", R"j(1)j", kNotMet},
    // probe: provider.arguments.value = the output; met when truthy.
    {R"j({"type": "probe", "name": "p", "provider": {"type": "python", "module": "decimal", "func": "Decimal", "arguments": {}}})j", R"j(5)j", kMet},
    {R"j({"type": "probe", "name": "p", "provider": {"type": "python", "module": "decimal", "func": "Decimal", "arguments": {}}})j", R"j("0.0")j", kNotMet},
    {R"j({"type": "probe", "name": "p", "provider": {"type": "python", "module": "decimal", "func": "Decimal", "arguments": {}}})j", R"j("abc")j", kNotMet},
    {R"j({"type": "probe", "name": "p", "provider": {"type": "python", "module": "decimal", "func": "Decimal"}})j", R"j(5)j", kError},
    {R"j({"type": "probe", "name": "p", "provider": {"type": "python", "module": "decimal", "func": "Decimal", "arguments": "x"}})j", R"j(5)j", kError},
};
// clang-format on

Context TestContext() {
  Context ctx;
  ctx.configuration = {{"expected", 200}, {"word", "ok"}, {"pat", "^o"}, {"jp", "$.a"}};
  return ctx;
}

// Stands in for running the python provider decimal.Decimal(value=...),
// which the table's probe rows use: it fails where Decimal raises.
Result<json> FakeDecimalProbe(const json& activity) {
  const json& provider = activity["provider"];
  EXPECT_EQ(provider["func"], "Decimal");
  auto d = ToDecimal(provider["arguments"]["value"]);
  if (!d.ok() || !d->has_value()) return Status::InvalidArgument("decimal.InvalidOperation");
  return json((*d)->digits.empty() ? 0 : 1);
}

TEST(WithinToleranceTest, AgreesWithChaoslibOnEveryRow) {
  Context ctx = TestContext();
  for (const Case& c : kTable) {
    SCOPED_TRACE(std::string("tolerance ") + c.tolerance + " value " + c.value);
    json tolerance = json::parse(c.tolerance);
    json value = json::parse(c.value);
    auto met = WithinTolerance(tolerance, value, ctx, FakeDecimalProbe);
    switch (c.verdict) {
      case kMet:
        ASSERT_TRUE(met.ok()) << met.status().ToString();
        EXPECT_TRUE(*met);
        break;
      case kNotMet:
        ASSERT_TRUE(met.ok()) << met.status().ToString();
        EXPECT_FALSE(*met);
        break;
      case kError:
        EXPECT_FALSE(met.ok());
        if (!met.ok()) {
          EXPECT_EQ(met.status().code(), Status::Code::kInvalidArgument);
        }
        break;
    }
  }
}

TEST(WithinToleranceTest, ErrorsSayWhatCouldNotBeCompared) {
  Context ctx;
  auto r = WithinTolerance(json::array({1, 5}), "abc", ctx, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("[1,5] cannot be compared with the probe's output \"abc\": '<=' not "
                        "supported between instances of 'int' and 'str'"));

  r = WithinTolerance(json{{"type", "regex"}, {"pattern", "ok"}, {"target", "stdout"}}, "ok", ctx,
                      nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("'str' object has no attribute 'get'"));

  r = WithinTolerance(json{{"type", "jsonpath"}, {"path", "$["}}, json::object(), ctx, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("jsonpath tolerance: invalid JSONPath '$['"));

  r = WithinTolerance(json{{"type", "range"}, {"range", {1, 5}}}, nullptr, ctx, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("conversion from NoneType to Decimal"));
}

TEST(WithinToleranceTest, ProbeGetsACopyWithTheValue) {
  json tolerance = {
      {"type", "probe"},
      {"name", "check"},
      {"provider", {{"type", "process"}, {"path", "true"}, {"arguments", {{"x", 1}}}}}};
  json seen;
  auto met = WithinTolerance(tolerance, json{{"status", 0}}, Context{}, [&](const json& a) {
    seen = a;
    return Result<json>(json{{"status", 1}, {"stdout", ""}});
  });
  ASSERT_TRUE(met.ok());
  EXPECT_TRUE(*met);  // a non-empty output dict is truthy, whatever its status
  EXPECT_EQ(seen["provider"]["arguments"], (json{{"x", 1}, {"value", {{"status", 0}}}}));
  EXPECT_FALSE(tolerance["provider"]["arguments"].contains("value"));

  met = WithinTolerance(tolerance, 1, Context{},
                        [](const json&) { return Result<json>(Status::Unavailable("down")); });
  ASSERT_TRUE(met.ok());
  EXPECT_FALSE(*met);
  met = WithinTolerance(tolerance, 1, Context{}, [](const json&) { return Result<json>(json()); });
  ASSERT_TRUE(met.ok());
  EXPECT_FALSE(*met);
}

TEST(PythonValuesTest, EqualsAndTruthy) {
  EXPECT_TRUE(PythonEquals(json(1), json(true)));
  EXPECT_TRUE(PythonEquals(json(1), json(1.0)));
  EXPECT_FALSE(PythonEquals(json(9007199254740993), json(9007199254740992.0)));
  EXPECT_TRUE(PythonEquals(json::parse(R"({"a":1,"b":2})"), json::parse(R"({"b":2.0,"a":1})")));
  EXPECT_FALSE(PythonEquals(json::parse(R"([1,2])"), json::parse(R"([2,1])")));
  EXPECT_FALSE(PythonEquals(json(nullptr), json(0)));
  EXPECT_FALSE(PythonEquals(json("1"), json(1)));
  // 2**64 - 1 is not the double 2.0**64; 2**63 is.
  EXPECT_FALSE(PythonEquals(json(uint64_t{18446744073709551615u}), json(18446744073709551615.0)));
  EXPECT_TRUE(PythonEquals(json(uint64_t{9223372036854775808u}), json(9223372036854775808.0)));
  for (const char* falsy : {"null", "false", "0", "0.0", "-0.0", "\"\"", "[]", "{}"}) {
    EXPECT_FALSE(PythonTruthy(json::parse(falsy))) << falsy;
  }
  for (const char* truthy : {"true", "1", "-1", "0.5", "\"0\"", "[0]", "{\"a\":null}"}) {
    EXPECT_TRUE(PythonTruthy(json::parse(truthy))) << truthy;
  }
}

TEST(DecimalTest, ReadsWhatPythonReads) {
  for (const char* ok : {"1", " 1 ", "1_000", "_1", "+1", "-1", ".5", "5.", "1e5", "1E+5", "inf",
                         "-Infinity", "nan", "sNaN", "NaN12", "1_0.5_0", "1e1_0"}) {
    EXPECT_TRUE(ParseDecimal(ok).has_value()) << ok;
  }
  for (const char* bad : {".", "1e", "0x10", "1 0", "", "1.2.3", "e5", "in", "+", "nanx"}) {
    EXPECT_FALSE(ParseDecimal(bad).has_value()) << bad;
  }
  auto a = *ParseDecimal("0.1");
  auto b = **ToDecimal(json(0.1));
  EXPECT_TRUE(*DecimalLessEqual(a, b));
  EXPECT_FALSE(*DecimalLessEqual(b, a));
  EXPECT_EQ(b.digits, "1000000000000000055511151231257827021181583404541015625");
  EXPECT_TRUE(*DecimalLessEqual(*ParseDecimal("-0"), *ParseDecimal("0.0")));
  EXPECT_TRUE(*DecimalLessEqual(*ParseDecimal("-inf"), *ParseDecimal("-1e999999")));
  EXPECT_FALSE(DecimalLessEqual(*ParseDecimal("nan"), a).ok());
}

TEST(PythonRegexTest, RefusesWhatItCannotTranslate) {
  for (const char* p : {"(?<=a)b", "(?<!a)b", "(?>a)", "a*+", "a{1,2}+", "(a)?(?(1)b)",
                        "\\N{LATIN SMALL LETTER A}", "(?i:a)b", "(?m)\\A"}) {
    auto r = PythonRegexSearch(p, "ab");
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_THAT(r.status().message(), HasSubstr("not supported")) << p;
    EXPECT_THAT(r.status().message(), HasSubstr(p)) << p;
  }
}

TEST(PythonRegexTest, PythonErrorsKeepPythonsWords) {
  auto r = PythonRegexSearch("\\q", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "regex pattern '\\q': bad escape \\q at position 0");
  r = PythonRegexSearch("(a\\1)", "");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cannot refer to an open group"));
  r = PythonRegexSearch("[\\d-z]", "");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("bad character range"));
}

TEST(PythonRegexTest, LongTextsDoNotExhaustTheStack) {
  std::string text(200000, 'a');
  text += "\nend";
  auto r = PythonRegexSearch("^(a|b)*$", text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(*r);
  r = PythonRegexSearch("a+\\nend$", text);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_FALSE(PythonRegexSearch("(a)\\1", text).ok());  // backtracking: refused
}

}  // namespace
}  // namespace faultline::experiment
