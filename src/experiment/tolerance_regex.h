// Python regular expressions (re.search, as chaoslib's regex tolerance
// calls it) on top of std::wregex: the pattern is translated from Python's
// syntax to ECMAScript's, over UTF-32, so that "." is one code point as in
// Python.
//
//   Python                    here
//   $                         end, or before a final "\n" (also with (?m):
//                             before any "\n")
//   \A \Z                     start, end of the text
//   .                         any code point but "\n" ((?s): any)
//   (?P<name>...) (?P=name)   a numbered group and a backreference
//   {,n}  a{  }  ]            {0,n}, and the literal characters
//   (?i) (?m) (?s) (?x) (?a)  at the start, as Python 3.11 requires
//   (?s:...) (?x:...)         scoped; other scoped flags are refused
//
// Not supported (an error naming the pattern, never a wrong verdict):
// lookbehind (?<= (?<!, atomic groups (?>, possessive quantifiers *+,
// conditionals (?(1)..), \N{name}, scoped (?i:...) and (?m:...), \A under
// (?m). Approximated: \w \d \b are ASCII (Python's match any Unicode letter
// or digit); \s also knows Unicode spaces; (?i) folds case as the C
// locale's towlower; under (?m) "^" also matches after "\r".
//
// Thread-safety: pure functions.
#ifndef FAULTLINE_EXPERIMENT_TOLERANCE_REGEX_H_
#define FAULTLINE_EXPERIMENT_TOLERANCE_REGEX_H_

#include <string>
#include <string_view>

#include "faultline/status.h"

namespace faultline::experiment {

// Whether re.search(pattern, text) finds a match. InvalidArgument naming
// the pattern when Python would not compile it ("bad escape \q at
// position 0") or when it uses what is not supported here.
Result<bool> PythonRegexSearch(std::string_view pattern, std::string_view text);

// The ECMAScript translation of a Python pattern, for tests and messages.
Result<std::wstring> TranslatePythonRegex(std::string_view pattern);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_TOLERANCE_REGEX_H_
