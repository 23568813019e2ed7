// Context: an experiment's configuration and secrets, resolved, and the
// substitution that uses them (Python's string.Template.safe_substitute, as
// chaostoolkit-lib applies it).
//
//   experiment.configuration ─┐
//   experiment.secrets ───────┼─► ResolveContext ──► Context ──► Substitute(value)
//   --var / --var-file ───────┤   (env entries read through an EnvLookup;
//   environment ──────────────┘    dynamic entries run through a ProbeRunner)
//
// Substitution: "${name}" and "$name" are replaced by the value of name
// (configuration first, then every secret scope in order), "$$" becomes "$",
// anything else is left as written. A string that is exactly "${name}" is
// replaced by the value itself, keeping its type (an int stays an int).
//
// Thread-safety: a Context is immutable once resolved; the free functions
// keep no state.
#ifndef FAULTLINE_EXPERIMENT_CONTEXT_H_
#define FAULTLINE_EXPERIMENT_CONTEXT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

// The value of an environment variable, nullopt when unset. A seam: tests
// pass a map, the runner getenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Runs one probe (an activity object) for a dynamic configuration entry
// and returns its output, or why it failed. The activity is already
// substituted with the configuration resolved before it and the secrets;
// run it with an empty Context.
using ProbeRunner = std::function<Result<json>(const json& activity)>;

// What --var and --var-file give: configuration overrides, secret
// overrides and environment variables (from .env files).
struct Variables {
  // Replace the configuration entries of the same name (an entry the
  // experiment does not declare is not added, as in chaoslib).
  json configuration = json::object();
  // {scope: value}: replaces a secret scope (or, nested, a key) whose value
  // in the experiment is an object; literals are not replaced (chaoslib's
  // load_secrets).
  json secrets = json::object();
  // From .env files. chaos puts them in os.environ, so env entries see them
  // and so do the processes it starts: the runner should export them too.
  std::map<std::string, std::string> env;
};

// One --var: "key=value" or "key:type=value", type one of str/string,
// int/integer, float/number, bytes, bool, json (chaoslib's convert_vars and
// convert_to_type; bytes are kept as a string). InvalidArgument naming the
// argument and what is wrong ("--var 'n:int=x': invalid literal for int()
// with base 10: 'x'"). chaos applies every --var after every --var-file:
// call ReadVarFile for all files first.
Status ParseVar(std::string_view arg, Variables* vars);

// One --var-file: .json / .yaml / .yml ({"configuration": {...},
// "secrets": {...}}) or a .env file (KEY=VALUE lines, which set
// environment variables). Later files win. Errors name the file (and line).
// An empty file is no error.
Status ReadVarFile(const std::string& path, Variables* vars);

// Python's str() of a value: True, None, 1e-05, [1, 'a'], {'k': 'v'}: what
// substitution puts into a longer string.
std::string PythonStr(const json& value);

struct Context {
  json configuration = json::object();
  json secrets = json::object();  // {scope: {key: value}}
};

// Resolves experiment["configuration"] and experiment["secrets"] as chaos
// run does: literals stay; {"type":"env","key":K,"default":D,
// "env_var_type":T} reads K (vars.env first, then `env`; a missing variable
// with no default is an error naming the entry); secrets' env entries have
// no default; {"type":"probe", ...} entries run through `run_probe` after
// the static ones, in order: a process probe gives its stdout stripped (not
// set when it exits non-zero), http its body, python (and faultline) its
// output; a probe that fails leaves the entry out, as chaoslib does (a null
// `run_probe` fails them all). `vars` override as described at Variables.
// InvalidArgument with the path of the entry on failure.
Result<Context> ResolveContext(const json& experiment, const Variables& vars, const EnvLookup& env,
                               const ProbeRunner& run_probe);

// safe_substitute on one string (see the file comment).
std::string SubstituteString(std::string_view text, const Context& ctx);
// Substitute every string inside `value` (keys are left alone); an exact
// "${name}" keeps the value's type.
json Substitute(const json& value, const Context& ctx);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_CONTEXT_H_
