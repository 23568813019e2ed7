// What a load run measured, and how it is shown: the tallies each thread
// keeps, the per-second time series, the --json document (schema in
// docs/load.md) and the human summary. Also the pure pieces of the run's
// policy (the open-loop schedule, flag parsing helpers), so that they are
// tested without sockets or clocks.
//
//   each thread: Tally (histogram, counters)  ----------Merge----------> LoadResult
//                SeriesRecorder (this second) --Report each second--> SeriesAggregator
//   LoadResult --> ToJson (--json) / FormatSummary (terminal)
//
// Thread-safety: Tally and SeriesRecorder belong to one thread;
// SeriesAggregator may be called from any thread.
#ifndef FAULTLINE_LOAD_REPORT_H_
#define FAULTLINE_LOAD_REPORT_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/status.h"
#include "load/histogram.h"

namespace faultline::load {

// The version of the --json document; raised only when a field changes
// meaning or disappears (new fields do not raise it).
inline constexpr int kJsonVersion = 1;

// Why a request got no HTTP response.
enum class ErrorKind {
  kConnectRefused,  // the port is closed (ECONNREFUSED)
  kConnect,         // any other failure to connect (unreachable, ...)
  kTimeout,         // no complete answer within the timeout
  kClosed,          // the peer closed or reset the connection mid-request
  kBadResponse,     // the bytes that came back are not an HTTP response
  kOther,           // anything else the operating system reported
};
inline constexpr std::size_t kErrorKinds = 6;
// "connect_refused", "connect", "timeout", "closed", "bad_response", "other".
std::string_view ErrorKindName(ErrorKind kind);

// Counters of one thread (or, merged, of the whole run).
struct Tally {
  Histogram latency;  // every response, whatever its status
  std::array<std::uint64_t, kErrorKinds> errors{};
  std::array<std::uint64_t, 1000> statuses{};  // responses by status code
  std::uint64_t responses = 0;
  std::uint64_t bytes_read = 0;     // response bytes (header and body)
  std::uint64_t bytes_written = 0;  // request bytes
  std::uint64_t unfinished = 0;     // in flight when the duration ended

  void AddError(ErrorKind kind) { ++errors[static_cast<std::size_t>(kind)]; }
  std::uint64_t error_count() const;
  // Responses with status >= 400 (or below 100).
  std::uint64_t http_error_count() const;
  void Merge(const Tally& other);
};

// One second of the run: what completed in it (by completion time).
struct SecondStats {
  std::int64_t second = 0;  // since the start of the run
  std::uint64_t responses = 0;
  std::uint64_t errors = 0;       // transport errors (no response)
  std::uint64_t http_errors = 0;  // responses with status >= 400
  Histogram::Stats latency;       // of this second's responses
};

// Collects each thread's seconds. Each of `reporters` reporters reports
// every second once, in order (an empty one too); a second whose reports
// are all in is reduced to its SecondStats and its histogram freed, so
// memory stays small however long the run.
class SeriesAggregator {
 public:
  explicit SeriesAggregator(int reporters) : reporters_(reporters) {}
  void Report(std::int64_t second, const Histogram& latency, std::uint64_t errors,
              std::uint64_t http_errors);
  // Every second from 0 to the last reported, in order (seconds not
  // reported by every reporter included, with what was reported).
  std::vector<SecondStats> Finish();

 private:
  struct Pending {
    Histogram latency;
    std::uint64_t errors = 0;
    std::uint64_t http_errors = 0;
    int reports = 0;
  };
  void Complete(std::int64_t second, const Pending& p);

  std::mutex mu_;
  const int reporters_;
  std::map<std::int64_t, Pending> pending_;
  std::vector<SecondStats> done_;
};

// One thread's view of the current second, handed to the aggregator when a
// later second begins. Times are nanoseconds since the start of the run.
class SeriesRecorder {
 public:
  explicit SeriesRecorder(SeriesAggregator* aggregator) : aggregator_(aggregator) {}
  void Response(std::int64_t at_ns, std::chrono::nanoseconds latency, bool http_error);
  void Error(std::int64_t at_ns);
  // Reports the current second. Call once, at the end.
  void Finish();

 private:
  void MoveTo(std::int64_t at_ns);

  SeriesAggregator* aggregator_;
  std::int64_t second_ = 0;
  Histogram latency_;
  std::uint64_t errors_ = 0;
  std::uint64_t http_errors_ = 0;
};

// When the index-th request (from 0) of an open-loop run at `rate`
// requests/s should be sent, in nanoseconds since the start.
// REQUIRES: rate > 0.
std::int64_t IntendedSendNs(std::uint64_t index, double rate);

// "5", "5s", "1.5s", "500ms", "2m", "1h" -> a positive duration (a bare
// number is seconds). Errors say what was expected.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// "Name: value" -> {"Name", "value"} (value trimmed). Errors on a missing
// colon, an empty name or a name with characters HTTP does not allow.
Result<std::pair<std::string, std::string>> ParseHeader(std::string_view text);

// Whether `method` is an HTTP token (GET, POST, PURGE, ...).
bool IsHttpToken(std::string_view text);

// What ran and what it measured.
struct LoadResult {
  // The run's settings, as given.
  std::string url;
  std::string method = "GET";
  int connections = 0;
  int threads = 0;
  std::optional<std::uint64_t> requests_limit;  // -n
  std::optional<double> duration_limit_s;       // -d
  std::optional<double> rate;                   // -R
  double timeout_s = 0;
  // When it started (ISO 8601 UTC) and how long it ran.
  std::string started_at;
  double elapsed_s = 0;
  // The signal that ended the run before its count or duration ("SIGINT",
  // "SIGTERM"), or empty: the figures are then what it measured until then.
  std::string interrupted;
  Tally tally;
  std::vector<SecondStats> series;
};

// The --json document (docs/load.md describes every field).
nlohmann::json ToJson(const LoadResult& result);

// A wrk/ab-style summary for a terminal, several lines ending in '\n'.
std::string FormatSummary(const LoadResult& result);

}  // namespace faultline::load

#endif  // FAULTLINE_LOAD_REPORT_H_
