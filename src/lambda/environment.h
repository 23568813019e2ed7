// Environment: one execution environment of a function, and the extensions
// registered with it.
//
//   kStarting --init done--> kIdle <--> kBusy --stop--> kDead (draining:
//   extensions handle SHUTDOWN) --killed--> reaped and dropped
//
// An environment is its runtime process, its external extensions'
// processes, and its own Runtime/Extensions API server on a loopback port.
// The environment pool (environment_pool.cc) starts and stops them; the
// Runtime API (runtime_api.cc) and the Extensions API (extensions_api.cc)
// drive them. Internal to the emulator.
//
// Thread-safety: the emulator's io thread only.
#ifndef FAULTLINE_LAMBDA_ENVIRONMENT_H_
#define FAULTLINE_LAMBDA_ENVIRONMENT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/asio.h"
#include "http/server.h"
#include "lambda/invocation.h"
#include "lambda/process.h"

namespace faultline::lambda {

// How many answered request ids an environment remembers (to tell a second
// answer, 403, from an unknown id, 400).
inline constexpr std::size_t kAnsweredIds = 16;

// One extension registered with an environment's Extensions API.
struct Extension {
  std::string id;  // Lambda-Extension-Identifier
  std::string name;
  bool invoke = false, shutdown = false;  // subscribed events
  // Registered by the runtime process itself (after every external one,
  // once the runtime was started): not started or stopped by us.
  bool internal = false;
  bool ready = false;               // has called event/next once (its init is done)
  std::string exit_error;           // the type it gave to exit/error, if it called it
  bool busy = false;                // has an event and has not called event/next since
  std::deque<std::string> events;   // to deliver, JSON
  std::list<http::Event*> waiters;  // its parked event/next requests
};

struct Function;

// The read end of a process's stdout or stderr, and the start of a line
// not yet ended.
struct OutputPipe {
  OutputPipe(http::asio::io_context& io, int fd) : descriptor(io, fd) {}
  http::asio::posix::stream_descriptor descriptor;
  std::string partial;
};

struct Environment {
  Function* fn = nullptr;
  // The version it runs ("$LATEST" or a published one), and that version's
  // configuration (fn->config for $LATEST, a published version's otherwise).
  std::string version = "$LATEST";
  const FunctionConfig* config = nullptr;
  std::uint64_t generation = 0;  // of $LATEST's configuration
  int number = 0;
  std::optional<Process> process;
  std::vector<Process> extension_processes;  // started before the runtime
  std::size_t expected_extensions = 0;       // fn.config.extensions.size()
  // How to start the runtime, until it is started: once every external
  // extension has registered (AWS's Init: Extension init, then Runtime init).
  std::optional<SpawnOptions> runtime_spawn;
  std::vector<std::unique_ptr<Extension>> extensions;  // registered
  std::unique_ptr<http::Server> runtime_api;
  // kDead: no more invocations. While `draining`, extensions handle SHUTDOWN
  // until shutdown_timer; then `killed` (every process SIGKILLed).
  enum class State { kStarting, kIdle, kBusy, kDead } state = State::kStarting;
  bool draining = false;
  bool killed = false;
  std::optional<http::asio::steady_timer> shutdown_timer;
  bool runtime_ready = false;  // the runtime has called /next
  Steady::time_point started_at = Steady::now();
  Steady::time_point idle_since = Steady::now();
  std::optional<double> init_ms;  // set when the runtime and every extension called next
  bool report_init = true;        // the first REPORT carries Init Duration
  std::shared_ptr<Invocation> current;
  // END and REPORT of the invocation completed last, when they are written
  // after its caller has the answer (see Complete); written before anything
  // else is logged about this environment (FlushReport).
  struct Report {
    std::shared_ptr<Invocation> inv;
    int memory_size_mb = 0;
    std::optional<double> init_ms;  // on the first REPORT only
  };
  std::optional<Report> unreported;
  std::list<http::Event*> next_waiters;
  // The latest request ids answered here (to tell a second answer, 403,
  // from an unknown id, 400); bounded, so a long-lived environment does
  // not grow.
  std::deque<std::string> answered;
  bool WasAnswered(std::string_view id) const {
    return std::find(answered.begin(), answered.end(), id) != answered.end();
  }
  std::vector<std::shared_ptr<OutputPipe>> pipes;  // every process's stdout and stderr
  int open_pipes = 0;

  bool Alive() const { return state != State::kDead; }
  // An extension still works on (or has yet to receive) an event.
  bool ExtensionsBusy() const {
    return std::any_of(extensions.begin(), extensions.end(),
                       [](const auto& x) { return x->busy || !x->events.empty(); });
  }
};

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_ENVIRONMENT_H_
