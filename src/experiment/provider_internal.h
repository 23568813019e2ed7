// What the provider files share (provider.cc, provider_process.cc,
// provider_http.cc, provider_python.cc, provider_text.cc): the interrupt
// state every running activity watches, each provider's entry point, and
// the Python-compatible text helpers (str(), json.dumps, byte decoding)
// that make our output what chaoslib's would be.
//
// Internal to the provider part; keeps Asio out (provider_http.cc alone
// includes it).
//
// Thread-safety: Cancel is thread-safe; the free functions keep no state.
#ifndef FAULTLINE_EXPERIMENT_PROVIDER_INTERNAL_H_
#define FAULTLINE_EXPERIMENT_PROVIDER_INTERNAL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "experiment/context.h"
#include "experiment/json.h"
#include "experiment/provider.h"

namespace faultline::experiment::provider_internal {

inline constexpr std::string_view kInterrupted = "interrupted";

// Interrupt(): set once, never cleared. What runs registers a hook (kill
// my process group, stop my io_context), which Interrupt runs; a hook
// removed by RemoveHook has either run already or never will, so its owner
// may free what it refers to (reap the child) right after.
class Cancel {
 public:
  Cancel();
  ~Cancel();
  Cancel(const Cancel&) = delete;
  Cancel& operator=(const Cancel&) = delete;

  bool interrupted() const { return interrupted_.load(); }
  // An eventfd that becomes readable at Interrupt() and stays so: a poll
  // loop adds it to wake up.
  int wake_fd() const { return wake_fd_; }

  // Registers `hook`; 0 (and nothing registered) when already interrupted.
  std::uint64_t AddHook(std::function<void()> hook);
  void RemoveHook(std::uint64_t id);
  void Interrupt();

 private:
  std::atomic<bool> interrupted_{false};
  int wake_fd_ = -1;
  std::mutex mu_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, std::function<void()>> hooks_;
};

ProviderResult Failed(std::string error);

// Whether chaoslib substitutes arguments: only when there is any
// configuration or secret (`if arguments and (configuration or secrets)`).
bool HasContext(const Context& ctx);

// The providers. `provider` is activity["provider"], not yet substituted.
ProviderResult RunProcess(const json& provider, const Context& ctx, Cancel& cancel);
ProviderResult RunHttp(const json& provider, const Context& ctx, Cancel& cancel);

// Python's str() of a JSON value: None, True, 1.5, 1e+20, 'text' inside
// containers, [1, 'x'], {'a': 1}; a string is itself.
std::string PyStr(const json& value);
// Python's repr() of a JSON value (a string quoted as Python quotes it).
std::string PyRepr(const json& value);
// Python's repr() of a float: the shortest round-trip digits, fixed
// notation for exponents -4..15 (1e16 is "1e+16"), "inf", "nan".
std::string PyFloat(double value);
// json.dumps(value) with its defaults: ", " and ": " separators, ASCII
// only (\uXXXX), as requests sends a JSON body.
std::string PyJsonDumps(const json& value);

// `bytes` as UTF-8 text, each invalid sequence replaced with U+FFFD
// (Python's errors="replace").
std::string DecodeUtf8(std::string_view bytes);
// `bytes` as ISO-8859-1 (each byte its code point), in UTF-8.
std::string DecodeLatin1(std::string_view bytes);

// Python's urllib.parse.quote_plus of UTF-8 text.
std::string QuotePlus(std::string_view text);
// requests' encoding of params (GET) or data (form): a mapping's items
// (or a list of [key, value] pairs), a list value repeating its key, None
// values left out, each str()'d and quote_plus'd.
std::string FormEncode(const json& items);

// The python provider's worker: one python3 process, started at the first
// call, which runs each call on a thread of its own (see python_worker.py).
class PythonWorker {
 public:
  PythonWorker(std::string python, Cancel& cancel);
  ~PythonWorker();  // stops the worker
  PythonWorker(const PythonWorker&) = delete;
  PythonWorker& operator=(const PythonWorker&) = delete;

  ProviderResult Call(const json& provider, const Context& ctx);
  // "" when `module` imports and has a function `func` (and, with
  // `arguments`, they bind to its signature); else chaoslib's message.
  std::string Check(const std::string& module, const std::string& func, const json* arguments);
  // Kills the worker and what it started; calls in flight fail.
  void Interrupt();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faultline::experiment::provider_internal

#endif  // FAULTLINE_EXPERIMENT_PROVIDER_INTERNAL_H_
