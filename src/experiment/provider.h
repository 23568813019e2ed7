// Providers: what carries out an activity — process, http and python as
// chaostoolkit-lib runs them (chaoslib/provider/*.py), and faultline's own,
// which the runner plugs in.
//
//   Run(activity, ctx) ─► substitute the provider's fields with ctx
//                      ─► process: posix_spawn (string arguments through
//                         /bin/sh, a list as argv), stdout/stderr captured,
//                         killed at its timeout (provider_process.cc)
//                      ─► http: one request on Beast, JSON or form
//                         (provider_http.cc)
//                      ─► python: one persistent python3 worker per Providers,
//                         JSON lines over its stdin and stdout, each call on
//                         its own thread in the worker (provider_python.cc,
//                         python_worker.py)
//                      ─► faultline: Options::faultline
//                      ─► ProviderResult {ok, output | error}
//
// A provider's failure is a value (ok false: chaoslib's ActivityFailed), not
// an error of the run: a process past its timeout, an HTTP connection
// refused, a python exception. Where chaos would abort the whole run (a
// module that does not import at run time, a header that is not a string,
// an application/json body that does not parse) the activity fails here.
//
// As chaoslib (chaoslib/provider/*.py), with these bounds and choices:
//   process  path found as shutil.which(expanduser(path)) does; arguments
//            substituted only when there is configuration or a secret; a
//            list str()'d the Python way (None and "" dropped), a mapping
//            flattened to key, value; the runner's environment and working
//            directory; stdin /dev/null (chaos: the runner's own stdin);
//            stdout and stderr kept up to kMaxCapturedBytes each (the rest
//            is read and dropped), decoded as UTF-8 with U+FFFD for invalid
//            bytes (chaos guesses the encoding with charset_normalizer);
//            what it starts in the background outlives it, but at its
//            timeout and at Interrupt() its whole process group is killed.
//   http     plain http only (https fails, naming the URL); [connect, read]
//            timeouts, the read one per socket read as requests has it;
//            none: no deadline (Interrupt() still ends it); max_retries as
//            urllib3's Retry(total=n): connection failures and, for
//            idempotent methods, failed reads are retried; a body
//            over kMaxHttpBodyBytes fails; a Content-Type of exactly
//            application/json is decoded (invalid JSON fails the activity,
//            where chaos aborts the run), else text in the charset the
//            Content-Type names (none: ISO-8859-1 for text/*, else UTF-8).
//            Sent: User-Agent faultline/<version>, Accept */*, no
//            Accept-Encoding (requests: python-requests, gzip, deflate).
//            Failures: "activity took too long to complete" (read timeout),
//            "failed to connect to <url>: <reason>" (our reason's words).
//   python   the worker runs python3 -c <python_worker.py>: the runner's
//            environment (PYTHONPATH), sys.path without the current
//            directory (as the chaos script has it); print() goes to the
//            runner's stderr. A return value json.dumps cannot write even
//            with chaostoolkit's journal encoder (datetime and date as
//            isoformat, Decimal and UUID as str) fails the activity (chaos
//            fails writing its journal); NaN and infinities become null.
//            An exception's `exception` lines are its traceback (from the
//            function's frame down) and then chaoslib's ActivityFailed, as
//            in chaos's journal. A worker that dies fails the calls waiting
//            on it ("the python worker exited (exit status 3)") and is
//            started again at the next call.
//
// Thread-safety: Run may be called from several threads at once (background
// activities, the continuous hypothesis); Interrupt from any thread.
#ifndef FAULTLINE_EXPERIMENT_PROVIDER_H_
#define FAULTLINE_EXPERIMENT_PROVIDER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "experiment/context.h"
#include "experiment/json.h"

namespace faultline::experiment {

struct ProviderResult {
  bool ok = true;
  json output;        // the provider's output when ok (null: none)
  std::string error;  // why it failed, when !ok ("activity took too long to complete")
  // The journal's "exception" lines when !ok: a python traceback as
  // traceback.format_exception gives it; empty: the runner writes one line
  // "chaoslib.exceptions.ActivityFailed: <error>".
  std::vector<std::string> exception;
};

class Providers {
 public:
  struct Options {
    // The python interpreter for python providers (looked up in PATH).
    std::string python = "python3";
    // The "faultline" provider: called with the substituted provider object.
    // nullptr: such an activity fails ("the faultline provider is not
    // available here").
    std::function<ProviderResult(const json& provider, const Context& ctx)> faultline;
  };

  // Each of a process's stdout and stderr is kept up to this many bytes.
  static constexpr std::size_t kMaxCapturedBytes = 16u << 20;
  // An http response body larger than this fails the activity.
  static constexpr std::size_t kMaxHttpBodyBytes = 64u << 20;
  // A python function's return value is at most this much JSON.
  static constexpr std::size_t kMaxPythonReplyBytes = 64u << 20;

  explicit Providers(Options options);
  ~Providers();  // stops the python worker, kills what still runs
  Providers(const Providers&) = delete;
  Providers& operator=(const Providers&) = delete;

  // Runs activity["provider"] (REQUIRES: a valid activity, see validate.h),
  // substituting its fields with `ctx` as chaoslib does.
  ProviderResult Run(const json& activity, const Context& ctx);

  // For validation: "" when python `module` imports and has a function
  // `func` (chaoslib accepts functions and builtins, not other callables),
  // else the message ("could not find Python module 'x': No module named
  // 'x'", "the python module 'x' does not expose a function called 'f'").
  // Starts the worker if it is not running.
  std::string CheckPython(const std::string& module, const std::string& func);
  // The same, and `arguments` (the provider's, a mapping) must bind to the
  // function's signature (configuration and secrets given when it declares
  // them): "required argument 'a' is missing", "argument 'b' is not part of
  // the function signature".
  std::string CheckPython(const std::string& module, const std::string& func,
                          const json& arguments);

  // Ends what runs now and refuses what comes: running processes are
  // killed, the python worker is stopped; Run then fails at once with
  // "interrupted". For SIGINT/SIGTERM.
  void Interrupt();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_PROVIDER_H_
