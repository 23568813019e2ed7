// `faultline load URL`: the load generator's command line, a thin layer over
// load::Run (src/load/engine.h).
//
//   flags (ab's and wrk's) --parse, check--> load::LoadOptions --load::Run-->
//   LoadResult --> summary (terminal) or --json (docs/load.md)
//
// Every number and duration is read as text and checked here, so that a bad
// one gets one line naming the flag and exit 2. SIGINT or SIGTERM during
// the run stops it; what it measured so far is printed, marked interrupted,
// and the exit code is 128 + the signal (130, 143), as a shell reports a
// program a signal ended.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <thread>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/interrupt_watch.h"
#include "load/engine.h"
#include "load/report.h"

namespace faultline::cli {
namespace {

constexpr std::string_view kHelp =
    "Send HTTP requests to URL over keep-alive connections and report requests/s,\n"
    "errors by kind and status, and latency percentiles (HdrHistogram, 3 significant\n"
    "digits). Closed loop by default (each connection sends when its last answer is\n"
    "in); with -R, open loop at a constant rate, latency measured from when each\n"
    "request was due (coordinated omission corrected). ab's flags -c -n -t -H -p -T\n"
    "-k mean the same here. Plain http:// only: https is not supported. Runs for 10s\n"
    "unless -n, -d or -t says otherwise. Exits 0 when the run completed (errors are\n"
    "counted in the report), 2 on bad input or a target that cannot be reached.\n"
    "Ctrl-C (SIGINT) or SIGTERM stops the run and prints what it measured so far,\n"
    "marked interrupted; the exit code is then 130 (SIGINT) or 143 (SIGTERM).\n"
    "The --json format: docs/load.md.\n";

constexpr std::string_view kExamples =
    "Examples:\n"
    "  faultline load -c 8 -d 5s http://127.0.0.1:8080/\n"
    "  faultline load -n 1000 -c 10 http://127.0.0.1:8080/            # as ab\n"
    "  faultline load -R 200 -d 1m --json http://127.0.0.1:3001/ > load.json\n"
    "  faultline load -p event.json -T application/json -c 4 -n 100 \\\n"
    "      http://127.0.0.1:3001/2015-03-31/functions/echo/invocations";

struct Flags {
  std::string url;
  std::string connections = "1";
  std::string requests;
  std::string duration;
  std::string timelimit;
  std::string rate;
  std::string method;
  std::vector<std::string> headers;
  std::string body;
  std::string body_file;
  std::string content_type;
  std::string timeout = "10";
  std::string threads;
  bool json = false;
  bool keep_alive = false;  // -k: accepted (ab); keep-alive is always on
};

// A whole number in [min, max], or an error naming the flag.
Result<std::uint64_t> ParseCount(std::string_view flag, const std::string& text, std::uint64_t min,
                                 std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a whole number from {} to {}, got \"{}\"", flag, min, max, text));
  }
  return value;
}

Result<double> ParseRate(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value <= 0) {
    return Status::InvalidArgument(
        fmt::format("-R: expected a positive number of requests per second, got \"{}\"", text));
  }
  return value;
}

Result<std::chrono::nanoseconds> ParseDurationFlag(std::string_view flag, const std::string& text) {
  auto d = load::ParseDuration(text);
  if (!d.ok()) return d.status().WithContext(flag);
  return d;
}

// Read with a close-on-exec descriptor, as every descriptor faultline opens.
Result<std::string> ReadFile(const std::string& path) {
  auto fail = [&] {
    return Status::InvalidArgument(
        fmt::format("-p {}: cannot read the file: {}", path, std::strerror(errno)));
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail();
  std::string body;
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const Status failed = fail();
      close(fd);
      return failed;
    }
    if (n == 0) break;
    body.append(chunk, static_cast<std::size_t>(n));
  }
  close(fd);
  return body;
}

// Flags -> options; errors name the flag and the value.
Result<load::LoadOptions> ToOptions(const Flags& f) {
  load::LoadOptions o;
  o.url = f.url;
  constexpr std::uint64_t kMaxConnections = 100000;
  auto connections = ParseCount("-c", f.connections, 1, kMaxConnections);
  if (!connections.ok()) return connections.status();
  o.connections = static_cast<int>(*connections);
  const bool timed = !f.duration.empty() || !f.timelimit.empty();
  if (!f.duration.empty() && !f.timelimit.empty()) {
    return Status::InvalidArgument("-d and -t both give the duration: give one");
  }
  if (!f.requests.empty() && timed) {
    return Status::InvalidArgument(
        fmt::format("-n and {} both given: give a request count or a duration, not both",
                    f.duration.empty() ? "-t" : "-d"));
  }
  if (!f.requests.empty()) {
    auto n = ParseCount("-n", f.requests, 1, std::numeric_limits<std::uint64_t>::max());
    if (!n.ok()) return n.status();
    o.requests = *n;
  }
  if (timed) {
    auto d = f.duration.empty() ? ParseDurationFlag("-t", f.timelimit)
                                : ParseDurationFlag("-d", f.duration);
    if (!d.ok()) return d.status();
    o.duration = *d;
  }
  if (!f.rate.empty()) {
    auto rate = ParseRate(f.rate);
    if (!rate.ok()) return rate.status();
    o.rate = *rate;
  }
  auto timeout = ParseDurationFlag("--timeout", f.timeout);
  if (!timeout.ok()) return timeout.status();
  o.timeout = *timeout;
  if (!f.threads.empty()) {
    auto threads = ParseCount("--threads", f.threads, 1, 1024);
    if (!threads.ok()) return threads.status();
    o.threads = static_cast<int>(*threads);
  }
  for (const std::string& h : f.headers) {
    auto header = load::ParseHeader(h);
    if (!header.ok()) return header.status().WithContext("-H");
    o.headers.push_back(std::move(*header));
  }
  if (!f.body.empty() && !f.body_file.empty()) {
    return Status::InvalidArgument("-b and -p both give the body: give one");
  }
  o.body = f.body;
  if (!f.body_file.empty()) {
    auto body = ReadFile(f.body_file);
    if (!body.ok()) return body.status();
    o.body = std::move(*body);
  }
  // ab: -p sends the file with POST, as text/plain unless -T says otherwise.
  o.method = !f.method.empty() ? f.method : (f.body_file.empty() ? "GET" : "POST");
  if (!load::IsHttpToken(o.method)) {
    return Status::InvalidArgument(
        fmt::format("-m: expected an HTTP method such as GET or POST, got \"{}\"", o.method));
  }
  o.content_type = f.content_type;
  if (o.content_type.empty() && !f.body_file.empty()) o.content_type = "text/plain";
  return o;
}

std::string_view SignalName(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

// Starts the run, waits for its end or a signal, prints the result.
int RunAndReport(const Context& ctx, const load::LoadOptions& options, bool json) {
  Result<std::unique_ptr<load::LoadRun>> run = load::Start(options);
  if (!run.ok()) {
    fmt::print(ctx.err, "faultline load: {}\n", run.status().message());
    return run.status().code() == Status::Code::kInternal ? kExitFailure : kExitUsage;
  }
  load::LoadRun& load_run = **run;
  InterruptWatch watch([&load_run](int) { load_run.Stop(); });
  Result<load::LoadResult> result = load_run.Wait();
  if (!result.ok()) {
    fmt::print(ctx.err, "faultline load: {}\n", result.status().message());
    return kExitFailure;
  }
  const int sig = watch.caught();
  if (sig != 0) result->interrupted = std::string(SignalName(sig));
  if (json) {
    ctx.out << load::ToJson(*result).dump(2) << '\n';
  } else {
    ctx.out << load::FormatSummary(*result);
  }
  ctx.out.flush();
  return sig != 0 ? 128 + sig : kExitOk;
}

}  // namespace

int RunLoad(const Context& ctx) {
  CLI::App app{std::string(kHelp), "faultline load"};
  Flags f;
  app.add_option("URL", f.url, "http://HOST[:PORT][/PATH]")->required();
  app.add_option("-c,--connections", f.connections, "concurrent connections (default 1)");
  app.add_option("-n,--requests", f.requests, "number of requests, then stop");
  app.add_option("-d,--duration", f.duration, "how long to run: 10, 10s, 500ms, 2m (default 10s)");
  app.add_option("-t,--timelimit", f.timelimit, "ab's name for -d: seconds to run");
  app.add_option("-R,--rate", f.rate,
                 "requests per second over all connections (open loop, corrected for "
                 "coordinated omission)");
  app.add_option("-m,--method", f.method, "HTTP method (default GET; POST with -p)");
  app.add_option("-H,--header", f.headers, "a header 'Name: value' (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-b,--body", f.body, "the request body");
  app.add_option("-p,--body-file", f.body_file, "a file to send as the body (implies POST)");
  app.add_option("-T,--content-type", f.content_type,
                 "Content-Type of the body (default text/plain with -p)");
  app.add_option("--timeout", f.timeout, "per request: connect, send, answer (default 10s)");
  app.add_option("--threads", f.threads,
                 "threads, each with its own event loop (default: min(-c, cores))");
  app.add_flag("--json", f.json, "print the result as JSON (docs/load.md)");
  app.add_flag("-k,--keepalive", f.keep_alive, "accepted for ab; keep-alive is always on");
  app.footer(std::string(kExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  Result<load::LoadOptions> options = ToOptions(f);
  if (!options.ok()) {
    fmt::print(ctx.err, "faultline load: {}\n", options.status().message());
    return kExitUsage;
  }
  return RunAndReport(ctx, *options, f.json);
}

}  // namespace faultline::cli
