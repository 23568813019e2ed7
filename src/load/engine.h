// The load engine: N keep-alive connections sending the same HTTP request
// for a count or a duration, closed loop (each connection sends its next
// request when the last answer is in) or open loop at a constant rate.
//
//   Start --resolve, connect once (check_reachable)--> T threads, one io_context each
//          thread t: connections t, t+T, t+2T, ... (one coroutine each over a
//                    tcp socket) + one watchdog timer (timeouts) --> its own
//                    Tally and SeriesRecorder
//   the last thread to end --> Tallies merged --> LoadResult --> Wait()
//   Run = Start + Wait
//
// Open loop (rate > 0): request i is due at start + i/rate, whichever
// connection is free takes the next due request, and its latency is
// measured from when it was due, not from when it could be sent. A server
// that stalls therefore shows the whole stall in the percentiles of every
// request that waited behind it ("coordinated omission" corrected, as
// wrk2 does). Closed loop: latency from the moment the request is sent
// (including the connect of a new connection). A connection that fails to
// connect tries again with the next request: at once in an open loop (each
// due request fails), after 10 ms in a closed loop (so a server that is down
// is not hammered as fast as the kernel refuses).
//
// Answers are parsed for their status and framing only: header fields and
// bodies are counted and discarded, never stored.
//
// Thread-safety: Run blocks the calling thread until the run ends and uses
// threads of its own, which block SIGINT, SIGTERM, SIGHUP and SIGQUIT (so
// those reach the caller's threads); concurrent runs are independent. A
// LoadRun's methods may be called from any thread, concurrently. Every
// socket is close-on-exec.
#ifndef FAULTLINE_LOAD_ENGINE_H_
#define FAULTLINE_LOAD_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "faultline/clock.h"
#include "faultline/status.h"
#include "load/report.h"

namespace faultline::load {

struct LoadOptions {
  // http://HOST[:PORT][/PATH]; https is refused.
  std::string url;
  // Concurrent keep-alive connections (-c). >= 1.
  int connections = 1;
  // Stop after this many requests (-n); 0: run for `duration` instead.
  std::uint64_t requests = 0;
  // How long to run (-d), when requests is 0.
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  // Requests per second over all connections (-R); 0: closed loop, as fast
  // as the server answers.
  double rate = 0;
  std::string method = "GET";
  // Sent as given, after the defaults (Host, User-Agent, Accept), which a
  // header of the same name replaces.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // empty: no Content-Type (unless in headers)
  // Per request: connecting, and then sending and reading the whole answer
  // (each step has the whole timeout). Enforced by one watchdog per thread
  // that looks every timeout/10 (at least 1 ms, at most 100 ms apart), so a
  // request is abandoned between `timeout` and `timeout` plus that period
  // after its step began (10 s: between 10 s and 10.1 s).
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  // Threads, each with its own io_context; 0: min(connections, hardware threads).
  int threads = 0;
  // Connect once before starting and fail (kUnavailable) if that fails, so
  // a wrong URL is an error rather than a run of errors. A probe that must
  // measure an outage turns it off.
  bool check_reachable = true;
  // Only for started_at, the wall time the report shows; intervals use the
  // monotonic clock.
  Clock* clock = SystemClock::Default();
};

// Checks `options` without running anything: kInvalidArgument naming the
// field (bad URL, https, zero connections, a header with a line break...).
Status Validate(const LoadOptions& options);

// Progress of a run so far: requests completed, by whether they were
// answered. A snapshot; each thread's counts are read separately.
struct LoadProgress {
  std::uint64_t responses = 0;  // answered (any status)
  std::uint64_t errors = 0;     // failed without an answer (connect, timeout, closed...)
};

// A run in the background, from Start. Its threads run until the run ends
// by itself (its request count or duration) or Stop is called; destroying
// a LoadRun stops it and waits for its threads, so nothing outlives it.
class LoadRun {
 public:
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;
  ~LoadRun();

  // Ends the run now, if it has not ended: requests in flight are abandoned
  // (counted as `unfinished`, as at the end of a timed run) and not waited
  // for, so this returns promptly (a few milliseconds: the threads close
  // their sockets and add up). Returns when the result is ready. Calling it
  // again, or after the run ended, does nothing.
  void Stop();

  // Blocks until the run has ended, then returns its result: kInternal if
  // a connection failed unexpectedly, else the LoadResult (elapsed_s is the
  // time it actually ran). The reference is valid as long as the LoadRun.
  const Result<LoadResult>& Wait();

  // Whether the result is ready (Wait would not block).
  bool finished() const;

  // Requests completed so far; cheap (no locking), from any thread.
  LoadProgress progress() const;

  struct State;  // internal

 private:
  explicit LoadRun(std::unique_ptr<State> state);
  friend Result<std::unique_ptr<LoadRun>> Start(const LoadOptions& options);

  std::unique_ptr<State> state_;
};

// Starts the load in the background and returns at once (after resolving
// the host and, with check_reachable, the connection check). Fails as Run
// does, before anything runs. `options` is copied; options.clock must
// outlive the call only.
Result<std::unique_ptr<LoadRun>> Start(const LoadOptions& options);

// Runs the load: Start, then Wait. Fails (kInvalidArgument) on invalid
// options, (kUnavailable) when the host cannot be resolved or, with
// check_reachable, connected to within the timeout. Errors during the run
// are counted, not returned.
Result<LoadResult> Run(const LoadOptions& options);

}  // namespace faultline::load

#endif  // FAULTLINE_LOAD_ENGINE_H_
