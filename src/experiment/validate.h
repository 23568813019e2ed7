// Validate: every problem with an experiment, found at once, each with the
// path of the value at fault, what was expected and what was found.
//
// The rules are chaostoolkit-lib's (chaoslib/experiment.py
// ensure_experiment_is_valid, activity.py, hypothesis.py, provider/*.py,
// configuration.py, secret.py): an experiment chaos refuses is refused here,
// and one chaos runs is accepted, with faultline's additions (the
// "faultline" provider, the "x-faultline" extension key) checked as well.
// Unlike chaos, which stops at the first problem, every problem is listed.
//
// Thread-safety: no shared state.
#ifndef FAULTLINE_EXPERIMENT_VALIDATE_H_
#define FAULTLINE_EXPERIMENT_VALIDATE_H_

#include <functional>
#include <string>
#include <vector>

#include "experiment/context.h"
#include "experiment/document.h"
#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

struct Problem {
  std::string path;     // "steady-state-hypothesis.probes[1].tolerance"
  std::string message;  // "expected a number, a list, a range or a probe, got \"ok\""
};

struct ValidateOptions {
  // Environment variables, for configuration entries of type env.
  EnvLookup env = ProcessEnv();
  // Variables from --var / --var-file: an env entry they override needs no
  // variable.
  Variables vars;
  // Whether a process provider's `path` can be run: an absolute or relative
  // path to an executable file, or a name found in PATH (after ~ expansion).
  // nullptr: look in the real PATH.
  std::function<bool(const std::string& path)> executable_exists;
  // Checks that python `module` can be imported and has a callable `func`;
  // returns the problem's message, or "" when it is fine. nullptr: python
  // activities are not checked beyond their shape.
  std::function<std::string(const std::string& module, const std::string& func)> check_python;
  // Checks a "faultline" provider (the object at `path`), appending its
  // problems. nullptr: such a provider is a problem ("not available").
  std::function<void(const json& provider, const std::string& path, std::vector<Problem>* out)>
      check_faultline;
  // Checks a jsonpath tolerance's `path` (jsonpath.h belongs to a library
  // that links this one); returns the problem's message or "". nullptr:
  // the path is only checked to be a non-empty string.
  std::function<std::string(const std::string& expression)> check_jsonpath;
  // Checks a regex tolerance's `pattern` as Python's re.compile would;
  // returns the problem's message or "". nullptr: brackets and parentheses
  // must balance and a quantifier must follow something.
  std::function<std::string(const std::string& pattern)> check_regex;
};

// Every problem with `doc`, in document order; empty when it is valid.
std::vector<Problem> Validate(const Document& doc, const ValidateOptions& options);

// "source:line:col: path: message" (the top level's path is left out).
std::string FormatProblem(const Document& doc, const Problem& problem);

// Shared by validate.cc and validate_activity.cc; not for other callers.
namespace validate_internal {

struct Checker {
  const ValidateOptions& options;
  std::vector<Problem>* out;
  void Add(std::string path, std::string message) const {
    out->push_back(Problem{std::move(path), std::move(message)});
  }
};

// What a value is, for "got ...": null, true, 2.5, "text", a list, a mapping.
std::string Describe(const json& v);
// An activity (method, rollbacks, hypothesis probes, probe tolerances).
void CheckActivity(const Checker& c, const json& activity, const std::string& path);
// A hypothesis probe's tolerance.
void CheckTolerance(const Checker& c, const json& tolerance, const std::string& path);
// The controls of an experiment, a hypothesis or an activity (each one a
// problem: faultline does not run controls).
void CheckControls(const Checker& c, const json& owner, const std::string& owner_path);

}  // namespace validate_internal

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_VALIDATE_H_
