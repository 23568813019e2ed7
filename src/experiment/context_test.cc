// Expected values come from running chaoslib 1.44.0's own functions
// (substitute, convert_vars, load_configuration, load_secrets) with
// /tmp/ctk/bin/python on the same inputs.
#include "experiment/context.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace faultline::experiment {
namespace {

Context TestContext() {
  Context ctx;
  ctx.configuration = json::parse(R"({"a": 5, "s": "str", "f": 1.5e16, "g": 0.1, "b": true,
      "n": null, "l": [1, "x", null, {"k": 1e-05}], "big": 1e22, "sm": 123456789.125,
      "neg": -0.0})");
  ctx.secrets = json::parse(R"({"sc": {"tok": "T", "a": "shadowed"}})");
  return ctx;
}

TEST(SubstituteStringTest, MatchesSafeSubstitute) {
  const Context ctx = TestContext();
  const std::map<std::string, std::string> cases = {
      {"$a", "5"},
      {"x${a}y", "x5y"},
      {"$$", "$"},
      {"$$a", "$a"},
      {"${missing}", "${missing}"},
      {"$missing", "$missing"},
      {"${a", "${a"},
      {"$", "$"},
      {"$1", "$1"},
      {"${a.b}", "${a.b}"},
      {"${s}${b}", "strTrue"},
      {"n=${n}", "n=None"},
      {"l=${l}", "l=[1, 'x', None, {'k': 1e-05}]"},
      {"${g} ${big} ${sm} ${neg}", "0.1 1e+22 123456789.125 -0.0"},
      {"$a_b", "$a_b"},
      {"$ab$a", "$ab5"},
      {"${A}", "${A}"},
      {"", ""},
      {"$${a}", "${a}"},
      {"price: $5 ${b}", "price: $5 True"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(SubstituteString(in, ctx), want) << in;
}

TEST(SubstituteTest, ExactPatternKeepsTheType) {
  const Context ctx = TestContext();
  EXPECT_EQ(Substitute(json("${a}"), ctx), json(5));
  EXPECT_EQ(Substitute(json("${n}"), ctx), json(nullptr));
  EXPECT_EQ(Substitute(json("${f}"), ctx), json(1.5e16));
  EXPECT_EQ(Substitute(json("${l}"), ctx), ctx.configuration["l"]);
  // "$a" is not the braced form: a string.
  EXPECT_EQ(Substitute(json("$a"), ctx), json("5"));
  // Configuration before secrets; a scope's name is not a value.
  EXPECT_EQ(Substitute(json("${tok}"), ctx), json("T"));
  EXPECT_EQ(Substitute(json("${sc}"), ctx), json("${sc}"));
}

TEST(SubstituteTest, WalksValuesNotKeys) {
  const json in = json::parse(R"({"x": ["${a}", {"y": "${tok}"}], "${a}": 1, "z": 2.5})");
  const json want = json::parse(R"({"x": [5, {"y": "T"}], "${a}": 1, "z": 2.5})");
  EXPECT_EQ(Substitute(in, TestContext()), want);
}

TEST(PythonStrTest, FloatsAsPythonRepr) {
  EXPECT_EQ(PythonStr(json(1.0)), "1.0");
  EXPECT_EQ(PythonStr(json(1e16)), "1e+16");
  EXPECT_EQ(PythonStr(json(1e15)), "1000000000000000.0");
  EXPECT_EQ(PythonStr(json(0.0001)), "0.0001");
  EXPECT_EQ(PythonStr(json(0.00001)), "1e-05");
  EXPECT_EQ(PythonStr(json(-2.5e-300)), "-2.5e-300");
  EXPECT_EQ(PythonStr(json::parse(R"({"it's": "a\"b"})")), R"({"it's": 'a"b'})");
}

Variables Vars(std::initializer_list<std::string_view> args) {
  Variables v;
  for (std::string_view a : args) EXPECT_TRUE(ParseVar(a, &v).ok()) << a;
  return v;
}

TEST(ParseVarTest, ConvertsLikeConvertVars) {
  const Variables v =
      Vars({"a=b", "n:int=42", "m:int= 1_000 ", "f:float=1e5", "i:number=inf", "no:bool=No",
            "yes:bool=yes", R"(j:json={"a":[1,2]})", "e:json=", "x:bytes=ab", "a:b:str=c=d", "k="});
  const json want = json::parse(R"({"a": "b", "n": 42, "m": 1000, "f": 100000.0, "no": false,
      "yes": true, "j": {"a": [1, 2]}, "e": "", "x": "ab", "a:b": "c=d", "k": ""})");
  for (const auto& [k, val] : want.items()) EXPECT_EQ(v.configuration[k], val) << k;
  EXPECT_TRUE(std::isinf(v.configuration["i"].get<double>()));
}

TEST(ParseVarTest, RefusesWhatConvertVarsRefuses) {
  const std::map<std::string, std::string> cases = {
      {"abc", "expected name[:type]=value"},
      {"n:int=x", "invalid literal for int() with base 10: 'x'"},
      {"n:float=x", "could not convert string to float: 'x'"},
      {"n:int=0x10", "invalid literal for int() with base 10: '0x10'"},
      {"n:int=1__0", "invalid literal for int() with base 10: '1__0'"},
      {"n:weird=x", "unknown type 'weird'"},
  };
  for (const auto& [arg, want] : cases) {
    Variables v;
    Status s = ParseVar(arg, &v);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << arg;
    EXPECT_NE(s.message().find(want), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("--var '" + arg + "'"), std::string::npos) << s.message();
  }
}

EnvLookup Env(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

const EnvLookup kEnv = Env({{"FL_SET", "41"}, {"FL_JSON", R"({"x": [1]})"}, {"FL_BOOL", "0"}});

Result<Context> Resolve(std::string_view experiment, const Variables& vars = {},
                        const ProbeRunner& probe = nullptr) {
  return ResolveContext(json::parse(experiment), vars, kEnv, probe);
}

TEST(ResolveContextTest, EnvEntries) {
  Result<Context> ctx = Resolve(R"({"configuration": {"a": "lit",
      "b": {"type": "env", "key": "FL_SET"},
      "c": {"type": "env", "key": "FL_SET", "env_var_type": "int"},
      "d": {"type": "env", "key": "FL_UNSET", "default": 7, "env_var_type": "int"},
      "e": {"type": "env", "key": "FL_UNSET", "default": "7", "env_var_type": "float"},
      "f": {"type": "env", "key": "FL_JSON", "env_var_type": "json"},
      "g": {"type": "env", "key": "FL_BOOL", "env_var_type": "bool"},
      "h": {"type": "env", "key": "FL_UNSET", "default": null},
      "o": {"type": "other"}}})");
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ctx->configuration, json::parse(R"({"a": "lit", "b": "41", "c": 41, "d": 7,
      "e": 7.0, "f": {"x": [1]}, "g": false, "h": null, "o": {"type": "other"}})"));
}

TEST(ResolveContextTest, MissingVariableWithoutDefault) {
  Result<Context> ctx = Resolve(R"({"configuration": {"b": {"type": "env", "key": "FL_UNSET"}}})");
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().message(),
            "configuration.b: the environment variable FL_UNSET is not set and the entry has no "
            "default");
  // A --var for the entry replaces it; vars for undeclared keys are not added.
  Result<Context> over = Resolve(R"({"configuration": {"b": {"type": "env", "key": "FL_UNSET"}}})",
                                 Vars({"b=over", "zz=new"}));
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->configuration, json::parse(R"({"b": "over"})"));
}

TEST(ResolveContextTest, VarFileEntryIsResolvedAndEnvFileIsSeen) {
  Variables v;
  v.configuration["a"] = json::parse(R"({"type": "env", "key": "FROM_DOTENV"})");
  v.env["FROM_DOTENV"] = "dot";
  Result<Context> ctx = Resolve(R"({"configuration": {"a": 1}})", v);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(ctx->configuration["a"], "dot");
}

TEST(ResolveContextTest, Secrets) {
  Result<Context> ctx = Resolve(R"({"secrets": {
      "sc": {"a": "lit", "b": {"type": "env", "key": "FL_SET"}},
      "whole": {"type": "env", "key": "FL_SET"}, "top": "x"}})");
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ctx->secrets,
            json::parse(R"({"sc": {"a": "lit", "b": "41"}, "whole": "41", "top": "x"})"));
  // Secrets have no default.
  Result<Context> bad =
      Resolve(R"({"secrets": {"sc": {"b": {"type": "env", "key": "FL_UNSET", "default": "x"}}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("secrets.sc.b: "), std::string::npos);
}

TEST(ResolveContextTest, SecretOverridesReplaceObjectsOnly) {
  Variables v;
  v.secrets = json::parse(R"({"sc": {"a": "o", "b": "o2", "c": "new"}, "other": {"a": "o"}})");
  Result<Context> ctx =
      Resolve(R"({"secrets": {"sc": {"a": "lit", "b": {"type": "env", "key": "FL_UNSET"}},
                              "top": "x"}})",
              v);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ctx->secrets, json::parse(R"({"sc": {"a": "o", "b": "o2", "c": "new"}, "top": "x"})"));
}

TEST(ResolveContextTest, DynamicEntriesRunInOrder) {
  std::vector<json> seen;
  ProbeRunner probe = [&](const json& activity) -> Result<json> {
    seen.push_back(activity);
    const std::string type = activity["provider"]["type"];
    if (type == "process") return json::parse(R"({"status": 0, "stdout": " out\n", "stderr": ""})");
    if (type == "http") return json::parse(R"({"status": 200, "body": {"k": 1}})");
    return Status::InvalidArgument("boom");
  };
  Result<Context> ctx = Resolve(R"({"configuration": {"first": "one",
      "p": {"type": "probe", "name": "p", "provider": {"type": "process", "path": "x",
            "arguments": "${first}"}},
      "h": {"type": "probe", "provider": {"type": "http", "url": "${p}"}},
      "fails": {"type": "probe", "provider": {"type": "python", "module": "m", "func": "f"}},
      "last": 2}})",
                                {}, probe);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ctx->configuration, json::parse(R"({"first": "one", "p": "out", "h": {"k": 1},
      "last": 2})"));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0]["provider"]["arguments"], "one");
  EXPECT_EQ(seen[1]["provider"]["url"], "out");
}

class TempFile {
 public:
  TempFile(const std::string& suffix, const std::string& text)
      : path_(::testing::TempDir() + "ctx_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter_++) + suffix) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(ReadVarFileTest, JsonYamlAndEnv) {
  TempFile j(".json", R"({"configuration": {"a": 1, "b": "x"}, "secrets": {"s": {"k": "v"}}})");
  TempFile y(".yaml", "configuration:\n  a: yes\n");
  TempFile e(".env", "# comment\n\nFOO=bar=baz\n  SPACED = v \n");
  Variables v;
  ASSERT_TRUE(ReadVarFile(j.path(), &v).ok());
  ASSERT_TRUE(ReadVarFile(y.path(), &v).ok());
  ASSERT_TRUE(ReadVarFile(e.path(), &v).ok());
  EXPECT_EQ(v.configuration, json::parse(R"({"a": true, "b": "x"})"));
  EXPECT_EQ(v.secrets, json::parse(R"({"s": {"k": "v"}})"));
  EXPECT_EQ(v.env["FOO"], "bar=baz");
  EXPECT_EQ(v.env["SPACED "], " v");
}

TEST(ReadVarFileTest, Errors) {
  TempFile e(".env", "OK=1\nnot a pair\n");
  Variables v;
  Status s = ReadVarFile(e.path(), &v);
  EXPECT_EQ(s.message(), e.path() + ":2: expected NAME=VALUE, got \"not a pair\"");
  TempFile j(".json", R"({"configuration": [1]})");
  EXPECT_EQ(ReadVarFile(j.path(), &v).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ReadVarFile("/nonexistent/vars.json", &v).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace faultline::experiment
