// Benchmarks of the local Lambda emulator (issue 3, "Performance"): what the
// emulator adds to a warm invocation (with SigV4 checked and without), warm
// throughput from two callers, cold start, the emulator's memory with 10 idle
// functions, and a burst of 1,000 Event invocations.
//
// Run a release build only (see bench/README.md and docs/performance.md):
//
//   cmake --preset release
//   cmake --build --preset release --target faultline_emulator_bench faultline
//   build/release/bench/faultline_emulator_bench
//
// Setup, meant to be honest rather than flattering:
// - The emulator runs in this process on an io_context thread of its own
//   (Emulator::Start, as `faultline lambda serve` does), listening on
//   127.0.0.1 only, with a log callback that only looks for "Init Duration"
//   (so the START / END / REPORT lines are formatted, as under `serve`, but
//   not printed).
// - The function is the real C++ echo example (examples/functions/cpp/echo.cc)
//   on faultline's runtime client, a separate process per execution
//   environment, talking to the emulator's Runtime API over loopback.
// - Callers are blocking HTTP/1.1 clients (Beast, one keep-alive connection
//   each, TCP_NODELAY), as an SDK with connection reuse would be.
// - BM_EmulatorIdleRss starts the real `faultline lambda serve` binary as a
//   child process and reads its /proc/<pid>/status, so the figure is the
//   emulator's own memory, not this benchmark's.
// - Nothing here can hang: a watchdog thread ends the process (exit status 3)
//   if one benchmark runs longer than kWatchdog, and every wait loop has a
//   count and a time bound of its own.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aws/signed_request.h"
#include "faultline/clock.h"
#include "faultline/lambda_runtime.h"
#include "http/asio.h"
#include "lambda/config.h"
#include "lambda/emulator.h"

extern char** environ;  // NOLINT: POSIX

namespace faultline {
namespace {

namespace asio = http::asio;
namespace beast = http::beast;
namespace bhttp = http::bhttp;
using http::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

const std::string kExamplesDir = FAULTLINE_EXAMPLES_BIN_DIR;
const std::string kCli = FAULTLINE_CLI_BIN;
constexpr std::string_view kPayload = R"({"hello":"world","n":42})";  // 24 bytes
constexpr auto kWatchdog = std::chrono::seconds(180);

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The q-quantile of `v` (nearest rank); sorts v.
double Quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

// Time on CPU of a thread or process, from /proc/.../schedstat (ns).
std::int64_t CpuNs(const std::string& schedstat) {
  std::ifstream in(schedstat);
  std::int64_t ns = 0;
  in >> ns;
  return ns;
}

std::vector<pid_t> Children(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/children");
  std::vector<pid_t> out;
  for (long p; in >> p;) out.push_back(static_cast<pid_t>(p));
  return out;
}

// CPU time so far of: the emulator's io thread, the function processes it
// started, and the calling thread.
struct CpuSample {
  std::int64_t emulator = 0, functions = 0, caller = 0;
};
CpuSample SampleCpu(pid_t io_tid) {
  CpuSample s;
  const std::string self = "/proc/" + std::to_string(getpid());
  s.emulator = CpuNs(self + "/task/" + std::to_string(io_tid) + "/schedstat");
  for (pid_t child : Children(getpid(), io_tid)) {
    s.functions += CpuNs("/proc/" + std::to_string(child) + "/schedstat");
  }
  s.caller = CpuNs("/proc/thread-self/schedstat");
  return s;
}

// ---------------------------------------------------------------------------
// Watchdog: ends the process if a benchmark overruns, so that a hang in the
// emulator shows up as exit status 3 and a message, not as a stuck run.

class Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Arm(const char* what) {
    std::lock_guard lock(mu_);
    what_ = what;
    deadline_ = Clock::now() + kWatchdog;
  }
  void Disarm() {
    std::lock_guard lock(mu_);
    deadline_.reset();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (deadline_ && Clock::now() > *deadline_) {
        std::fprintf(stderr, "faultline_emulator_bench: %s ran longer than %lld s: giving up\n",
                     what_, static_cast<long long>(kWatchdog.count()));
        std::fflush(stderr);
        std::_Exit(3);
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  const char* what_ = "";
  std::optional<Clock::time_point> deadline_;
  std::thread thread_;
};

Watchdog& Dog() {
  static Watchdog dog;
  return dog;
}

struct Armed {
  explicit Armed(const char* what) { Dog().Arm(what); }
  ~Armed() { Dog().Disarm(); }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;
};

// ---------------------------------------------------------------------------
// A blocking keep-alive HTTP/1.1 connection to 127.0.0.1:port.

class Connection {
 public:
  explicit Connection(std::uint16_t port) : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream_.socket().set_option(tcp::no_delay(true));
  }
  // Sends `req` (Host, keep-alive and Content-Length set here) and reads the
  // answer. Throws boost::system::system_error when the connection fails.
  http::Response Send(http::Request& req) {
    bhttp::write(stream_, req);
    http::Response res;
    bhttp::read(stream_, buffer_, res);
    return res;
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

http::Request MakeRequest(bhttp::verb verb, std::string target, std::string body = "") {
  http::Request req(verb, target, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  req.keep_alive(true);
  if (verb != bhttp::verb::get) req.set(bhttp::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

http::Request InvokeRequest(const std::string& function,
                            std::string_view type = "RequestResponse") {
  http::Request req =
      MakeRequest(bhttp::verb::post, "/2015-03-31/functions/" + function + "/invocations",
                  std::string(kPayload));
  req.set("X-Amz-Invocation-Type", std::string(type));
  return req;
}

// GET /metrics.json -> functions.<name>.
json FunctionMetrics(Connection& c, const std::string& name) {
  http::Request req = MakeRequest(bhttp::verb::get, "/metrics.json");
  http::Response res = c.Send(req);
  json all = json::parse(res.body(), nullptr, false);
  if (!all.is_object() || !all["functions"].contains(name)) return json::object();
  return all["functions"][name];
}

// ---------------------------------------------------------------------------
// The emulator under test, in this process, on its own io_context thread.

lambda::FunctionConfig EchoFunction(const std::string& name, std::optional<int> reserved) {
  lambda::FunctionConfig f;
  f.name = name;
  f.command = {kExamplesDir + "/echo"};
  f.working_dir = kExamplesDir;
  f.reserved_concurrency = reserved;
  return f;
}

// The keys BM_WarmInvokeSigned's emulator checks every request against.
const aws::Credentials kBenchCredentials{"AKIAIOSFODNN7EXAMPLE",
                                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

class InProcessEmulator {
 public:
  // With `credentials`, every Invoke must be signed with them (SigV4), as
  // under `faultline lambda serve` by default.
  explicit InProcessEmulator(std::optional<aws::Credentials> credentials = std::nullopt)
      : guard_(asio::make_work_guard(io_)) {
    lambda::EmulatorOptions options;
    options.credentials = std::move(credentials);
    // echo: the warm benchmarks, two warm environments at most.
    options.config.functions.push_back(EchoFunction("echo", 2));
    // cold: a configuration change before each invocation makes it cold.
    options.config.functions.push_back(EchoFunction("cold", 1));
    // events: the Event burst; BM_EventBurst sets its reserved concurrency.
    options.config.functions.push_back(EchoFunction("events", 2));
    options.log = [this](std::string_view line) { OnLog(line); };
    auto started = lambda::Emulator::Start(io_, std::move(options));
    if (!started.ok()) {
      std::fprintf(stderr, "Emulator::Start: %s\n", started.status().message().c_str());
      std::exit(1);
    }
    emulator_ = std::move(*started);
    port_ = emulator_->port();
    thread_ = std::thread([this] {
      io_tid_ = gettid();
      io_.run();
    });
  }
  ~InProcessEmulator() {
    // The emulator is used and destroyed on its io thread.
    asio::post(io_, [this] {
      emulator_->Stop();
      emulator_.reset();
      guard_.reset();
      io_.stop();
    });
    thread_.join();
  }
  InProcessEmulator(const InProcessEmulator&) = delete;
  InProcessEmulator& operator=(const InProcessEmulator&) = delete;

  std::uint16_t port() const { return port_; }
  // The io thread's id (0 until it runs): it spawns the environments, so
  // /proc/self/task/<tid>/children lists their processes.
  pid_t io_tid() const { return io_tid_; }

  // The "Init Duration" of every REPORT line of function "cold" so far.
  std::vector<double> ColdInitDurations() {
    std::lock_guard lock(mu_);
    return cold_init_ms_;
  }

  // Lines of function "events": START (an invocation delivered to the
  // function), REPORT (one finished), "Task timed out".
  struct EventLines {
    std::int64_t starts = 0, reports = 0, timeouts = 0;
  };
  EventLines Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  // On the io thread, for every line the functions and the platform write.
  void OnLog(std::string_view line) {
    constexpr std::string_view kInit = "Init Duration: ";
    if (line.rfind("[events] ", 0) == 0) {
      std::lock_guard lock(mu_);
      if (line.rfind("[events] START ", 0) == 0) ++events_.starts;
      if (line.rfind("[events] REPORT ", 0) == 0) ++events_.reports;
      if (line.find("Task timed out") != std::string_view::npos) ++events_.timeouts;
      return;
    }
    if (line.rfind("[cold] REPORT ", 0) != 0) return;
    const std::size_t at = line.find(kInit);
    if (at == std::string_view::npos) return;
    const double ms = std::strtod(std::string(line.substr(at + kInit.size())).c_str(), nullptr);
    std::lock_guard lock(mu_);
    cold_init_ms_.push_back(ms);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<lambda::Emulator> emulator_;
  std::uint16_t port_ = 0;
  std::atomic<pid_t> io_tid_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<double> cold_init_ms_;
  EventLines events_;
};

std::unique_ptr<InProcessEmulator> g_emulator;
std::once_flag g_emulator_once;

InProcessEmulator& Emu() {
  std::call_once(g_emulator_once, [] { g_emulator = std::make_unique<InProcessEmulator>(); });
  return *g_emulator;
}

// A second emulator, with SigV4 on (its own echo environments).
std::unique_ptr<InProcessEmulator> g_signed_emulator;
std::once_flag g_signed_emulator_once;

InProcessEmulator& SignedEmu() {
  std::call_once(g_signed_emulator_once, [] {
    g_signed_emulator = std::make_unique<InProcessEmulator>(kBenchCredentials);
  });
  return *g_signed_emulator;
}

// `req` signed now with kBenchCredentials, as boto3 signs each request.
http::Request Signed(const http::Request& req, std::uint16_t port) {
  http::Request out = req;
  const Status s = aws::SignRequest(out, "127.0.0.1:" + std::to_string(port), kBenchCredentials,
                                    "us-east-1", "lambda", SystemClock::Default()->Now());
  if (!s.ok()) throw std::runtime_error("signing: " + s.message());
  return out;
}

// ---------------------------------------------------------------------------
// 1. Warm invocation latency, and the direct call it is compared with.

lambda::InvocationResponse EchoHandler(const lambda::InvocationRequest& req) {
  return lambda::InvocationResponse::Success(req.payload);
}

// The echo function's code called directly: the same handler, through the
// same std::function the runtime client calls it through.
void BM_DirectCall(benchmark::State& state) {
  const lambda::Handler handler = EchoHandler;
  lambda::InvocationRequest req;
  req.payload = std::string(kPayload);
  req.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  for (auto _ : state) {
    lambda::InvocationResponse res = handler(req);
    benchmark::DoNotOptimize(res);
  }
}
BENCHMARK(BM_DirectCall)->Unit(benchmark::kNanosecond);

// Mean time of a direct call, measured here so that BM_WarmInvoke can report
// the latency the emulator adds without depending on BM_DirectCall's run.
double DirectCallMicros() {
  const lambda::Handler handler = EchoHandler;
  lambda::InvocationRequest req;
  req.payload = std::string(kPayload);
  constexpr int kCalls = 100000;
  const auto t0 = Clock::now();
  for (int i = 0; i < kCalls; ++i) {
    lambda::InvocationResponse res = handler(req);
    benchmark::DoNotOptimize(res);
  }
  return Micros(Clock::now() - t0) / kCalls;
}

// Warm invocations of `emu`'s echo on one keep-alive connection; with
// `sign`, each request is signed first (outside the timed part: the time is
// the emulator's, verifying included).
void MeasureWarm(benchmark::State& state, InProcessEmulator& emu, bool sign) {
  const double direct_us = DirectCallMicros();
  std::vector<double> latencies_us;
  std::int64_t errors = 0;
  CpuSample cpu_before, cpu_after;
  try {
    Connection c(emu.port());
    const http::Request unsigned_req = InvokeRequest("echo");
    auto next = [&] { return sign ? Signed(unsigned_req, emu.port()) : unsigned_req; };
    for (int i = 0; i < 100; ++i) {  // the first cold-starts
      http::Request req = next();
      c.Send(req);
    }
    cpu_before = SampleCpu(emu.io_tid());
    latencies_us.reserve(static_cast<std::size_t>(
        std::min<benchmark::IterationCount>(state.max_iterations, 10'000'000)));
    for (auto _ : state) {
      http::Request req = next();
      const auto t0 = Clock::now();
      http::Response res = c.Send(req);
      latencies_us.push_back(Micros(Clock::now() - t0));
      if (res.result_int() != 200 || res.body() != kPayload) ++errors;
    }
    cpu_after = SampleCpu(emu.io_tid());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  // CPU time per invocation of each party (the functions' includes the
  // environments' GET /next between invocations).
  const double n = std::max<double>(1, static_cast<double>(state.iterations()));
  state.counters["cpu_emulator_us"] =
      static_cast<double>(cpu_after.emulator - cpu_before.emulator) / 1000 / n;
  state.counters["cpu_function_us"] =
      static_cast<double>(cpu_after.functions - cpu_before.functions) / 1000 / n;
  state.counters["cpu_caller_us"] =
      static_cast<double>(cpu_after.caller - cpu_before.caller) / 1000 / n;
  const double p50 = Quantile(latencies_us, 0.50);
  state.counters["p50_us"] = p50;
  state.counters["p90_us"] = Quantile(latencies_us, 0.90);
  state.counters["p99_us"] = Quantile(latencies_us, 0.99);
  state.counters["max_us"] = latencies_us.empty() ? 0 : latencies_us.back();
  state.counters["direct_us"] = direct_us;
  state.counters["added_p50_us"] = p50 - direct_us;
  state.counters["errors"] = static_cast<double>(errors);
}

void BM_WarmInvoke(benchmark::State& state) {
  Armed armed("BM_WarmInvoke");
  MeasureWarm(state, Emu(), /*sign=*/false);
}
BENCHMARK(BM_WarmInvoke)->MinTime(3)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The same with SigV4 on, as `faultline lambda serve` runs by default.
void BM_WarmInvokeSigned(benchmark::State& state) {
  Armed armed("BM_WarmInvokeSigned");
  MeasureWarm(state, SignedEmu(), /*sign=*/true);
}
BENCHMARK(BM_WarmInvokeSigned)->MinTime(3)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The Invoke API hop alone: X-Amz-Invocation-Type: DryRun is answered (204)
// by the emulator without involving the function. BM_WarmInvoke minus this
// is what the hop to the function's process and back costs.
void BM_DryRunInvoke(benchmark::State& state) {
  Armed armed("BM_DryRunInvoke");
  std::vector<double> latencies_us;
  std::int64_t errors = 0;
  try {
    Connection c(Emu().port());
    http::Request req = InvokeRequest("echo", "DryRun");
    for (int i = 0; i < 100; ++i) c.Send(req);
    for (auto _ : state) {
      const auto t0 = Clock::now();
      http::Response res = c.Send(req);
      latencies_us.push_back(Micros(Clock::now() - t0));
      if (res.result_int() != 204) ++errors;
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["p50_us"] = Quantile(latencies_us, 0.50);
  state.counters["p99_us"] = Quantile(latencies_us, 0.99);
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_DryRunInvoke)->MinTime(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------
// 2. Warm throughput: two callers, two warm environments (echo's reserved
// concurrency is 2), each caller on its own keep-alive connection.

void BM_WarmInvokeThroughput(benchmark::State& state) {
  std::optional<Armed> armed;
  if (state.thread_index() == 0) armed.emplace("BM_WarmInvokeThroughput");
  std::int64_t errors = 0, throttles = 0;
  try {
    Connection c(Emu().port());
    http::Request req = InvokeRequest("echo");
    // Both threads warm up at once, so both environments exist before timing.
    for (int i = 0; i < 200; ++i) c.Send(req);
    for (auto _ : state) {
      http::Response res = c.Send(req);
      if (res.result_int() == 429) {
        ++throttles;
      } else if (res.result_int() != 200 || res.body() != kPayload) {
        ++errors;
      }
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["errors"] = benchmark::Counter(static_cast<double>(errors));
  state.counters["throttles"] = benchmark::Counter(static_cast<double>(throttles));
}
BENCHMARK(BM_WarmInvokeThroughput)
    ->Threads(1)
    ->Threads(2)
    ->MinTime(3)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------
// 3. Cold start: UpdateFunctionConfiguration before each invocation stops
// the idle environment, so every invocation starts a new process. The
// emulator's Init Duration (environment created -> the runtime's first
// GET /next) is read from its REPORT line; the time reported per iteration
// is the whole cold invocation as the caller sees it.

void BM_ColdStart(benchmark::State& state) {
  Armed armed("BM_ColdStart");
  InProcessEmulator& emu = Emu();
  std::vector<double> invoke_ms;
  std::int64_t errors = 0, not_cold = 0;
  const std::size_t inits_before = emu.ColdInitDurations().size();
  try {
    Connection c(emu.port());
    const std::int64_t cold_starts_before =
        FunctionMetrics(c, "cold").value("ColdStarts", std::int64_t{0});
    http::Request update = MakeRequest(bhttp::verb::put, "/2015-03-31/functions/cold/configuration",
                                       R"({"Timeout":3})");
    http::Request req = InvokeRequest("cold");
    for (auto _ : state) {
      if (c.Send(update).result_int() != 200) ++errors;
      const auto t0 = Clock::now();
      http::Response res = c.Send(req);
      const auto elapsed = Clock::now() - t0;
      state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
      invoke_ms.push_back(Micros(elapsed) / 1000);
      if (res.result_int() != 200 || res.body() != kPayload) ++errors;
    }
    const std::int64_t cold_starts =
        FunctionMetrics(c, "cold").value("ColdStarts", std::int64_t{0});
    not_cold = state.iterations() - (cold_starts - cold_starts_before);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::vector<double> init = emu.ColdInitDurations();
  init.erase(init.begin(), init.begin() + static_cast<long>(inits_before));
  state.counters["init_p50_ms"] = Quantile(init, 0.5);
  state.counters["init_p99_ms"] = Quantile(init, 0.99);
  state.counters["init_max_ms"] = init.empty() ? 0 : init.back();
  state.counters["invoke_p50_ms"] = Quantile(invoke_ms, 0.5);
  state.counters["invoke_p99_ms"] = Quantile(invoke_ms, 0.99);
  state.counters["inits_seen"] = static_cast<double>(init.size());
  state.counters["not_cold"] = static_cast<double>(not_cold);
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_ColdStart)->UseManualTime()->Iterations(200)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// 4. RSS of `faultline lambda serve` with 10 idle functions, each invoked
// once (so each has one warm, idle environment). A child process: the
// figure is the emulator's alone.

// VmRSS / VmHWM etc. of /proc/<pid>/status, in kB; 0 if absent.
long StatusKb(pid_t pid, std::string_view key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':') {
      return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

class ServeProcess {
 public:
  // Starts `faultline lambda serve --config <config> --port 0 -q --no-auth`
  // (the invocations here are not signed) and reads the port from its first
  // line. Empty pid() on failure (error() says why).
  explicit ServeProcess(const std::string& config) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      error_ = "pipe2 failed";
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<std::string> args = {kCli,     "lambda", "serve", "--config", config,
                                     "--port", "0",      "-q",    "--no-auth"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kCli.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      error_ = "cannot start " + kCli;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    // "faultline lambda serve: listening on http://127.0.0.1:PORT (...)\n"
    std::string line;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (pid_ > 0 && line.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    const std::size_t at = line.find("127.0.0.1:");
    if (at != std::string::npos)
      port_ = static_cast<std::uint16_t>(std::atoi(line.c_str() + at + 10));
    if (pid_ > 0 && port_ == 0) error_ = "no port in serve's first line: " + line;
  }
  ~ServeProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {  // 5 s at most, then SIGKILL
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string error_;
};

void BM_EmulatorIdleRss(benchmark::State& state) {
  Armed armed("BM_EmulatorIdleRss");
  constexpr int kFunctions = 10;
  constexpr int kMoreInvocations = 20000;
  char dir_template[] = "/tmp/faultline-bench-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string config = std::string(dir) + "/functions.yaml";
  {
    std::ofstream out(config);
    out << "functions:\n";
    for (int i = 0; i < kFunctions; ++i) {
      out << "  - name: f" << i << "\n    command: [" << kExamplesDir << "/echo]\n";
    }
  }
  for (auto _ : state) {
    ServeProcess serve(config);
    if (serve.port() == 0) {
      state.SkipWithError(serve.error().c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    state.counters["rss_started_kB"] = static_cast<double>(StatusKb(serve.pid(), "VmRSS"));
    std::int64_t errors = 0;
    const auto t0 = Clock::now();
    try {
      Connection c(serve.port());
      for (int i = 0; i < kFunctions; ++i) {
        http::Request req = InvokeRequest("f" + std::to_string(i));
        http::Response res = c.Send(req);
        if (res.result_int() != 200 || res.body() != kPayload) ++errors;
      }
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    // Let the environments settle into idle (the emulator's tick is 50 ms).
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    long functions_rss = 0;
    const std::vector<pid_t> children = Children(serve.pid(), serve.pid());
    for (pid_t child : children) functions_rss += StatusKb(child, "VmRSS");
    state.counters["rss_kB"] = static_cast<double>(StatusKb(serve.pid(), "VmRSS"));
    state.counters["rss_anon_kB"] = static_cast<double>(StatusKb(serve.pid(), "RssAnon"));
    state.counters["hwm_kB"] = static_cast<double>(StatusKb(serve.pid(), "VmHWM"));
    state.counters["environments"] = static_cast<double>(children.size());
    state.counters["functions_rss_kB"] = static_cast<double>(functions_rss);
    // Then 20,000 more warm invocations of one function: the emulator's
    // memory should not grow with the number of invocations served.
    try {
      Connection c(serve.port());
      http::Request req = InvokeRequest("f0");
      for (int i = 0; i < kMoreInvocations; ++i) {
        if (c.Send(req).result_int() != 200) ++errors;
      }
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    state.counters["rss_after_20k_kB"] = static_cast<double>(StatusKb(serve.pid(), "VmRSS"));
    state.counters["errors"] = static_cast<double>(errors);
  }
  std::remove(config.c_str());
  rmdir(dir);
}
BENCHMARK(BM_EmulatorIdleRss)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// 5. 1,000 Event invocations at once: 1,000 connections opened together,
// each posting one Event invocation; all must be accepted (202), then all
// must run (polled on /metrics.json). The argument is the function's
// reserved concurrency (how many environments work the queue).

http::Task<void> PostEvent(tcp::endpoint ep, int* accepted, int* failed, int* pending) {
  try {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(std::chrono::seconds(30));
    co_await stream.async_connect(ep, asio::use_awaitable);
    http::Request req = InvokeRequest("events", "Event");
    req.keep_alive(false);
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::Response res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    ++*(res.result_int() == 202 ? accepted : failed);
  } catch (const std::exception&) {
    ++*failed;
  }
  --*pending;
}

void BM_EventBurst(benchmark::State& state) {
  Armed armed("BM_EventBurst");
  constexpr int kEvents = 1000;
  const auto reserved = static_cast<int>(state.range(0));
  InProcessEmulator& emu = Emu();
  for (auto _ : state) {
    int accepted = 0, failed = 0, pending = kEvents;
    json before, after;
    InProcessEmulator::EventLines lines_before = emu.Events(), lines;
    double accept_s = 0, done_s = 0;
    bool all_done = false;
    try {
      Connection c(emu.port());
      http::Request put = MakeRequest(bhttp::verb::put, "/2017-10-31/functions/events/concurrency",
                                      json{{"ReservedConcurrentExecutions", reserved}}.dump());
      if (c.Send(put).result_int() != 200) {
        state.SkipWithError("PutFunctionConcurrency failed");
        break;
      }
      before = FunctionMetrics(c, "events");
      const auto t0 = Clock::now();
      {
        asio::io_context io;
        const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), emu.port());
        for (int i = 0; i < kEvents; ++i) {
          asio::co_spawn(io, PostEvent(ep, &accepted, &failed, &pending), asio::detached);
        }
        io.run_for(std::chrono::seconds(60));
      }
      accept_s = std::chrono::duration<double>(Clock::now() - t0).count();
      // Done when every accepted invocation has been delivered to the
      // function (a START line) and has finished (a REPORT line), and none
      // is running. At most 30 s (three times the emulator's init timeout).
      const auto deadline = Clock::now() + std::chrono::seconds(30);
      for (int polls = 0; polls < 6000 && Clock::now() < deadline; ++polls) {
        after = FunctionMetrics(c, "events");
        lines = emu.Events();
        if (lines.starts - lines_before.starts >= accepted &&
            lines.reports - lines_before.reports >= accepted &&
            after.value("ConcurrentExecutions", std::int64_t{1}) == 0) {
          all_done = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      done_s = std::chrono::duration<double>(Clock::now() - t0).count();
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    state.SetIterationTime(done_s);
    auto delta = [&](const char* key) {
      return static_cast<double>(after.value(key, std::int64_t{0}) -
                                 before.value(key, std::int64_t{0}));
    };
    state.counters["accepted"] = accepted;
    state.counters["refused"] = failed + pending;
    state.counters["delivered"] = static_cast<double>(lines.starts - lines_before.starts);
    state.counters["finished"] = static_cast<double>(lines.reports - lines_before.reports);
    state.counters["timeouts"] = static_cast<double>(lines.timeouts - lines_before.timeouts);
    state.counters["m_invocations"] = delta("Invocations");
    state.counters["m_errors"] = delta("Errors");
    state.counters["m_cold_starts"] = delta("ColdStarts");
    state.counters["m_max_concurrent"] =
        static_cast<double>(after.value("MaxConcurrentExecutions", std::int64_t{0}));
    state.counters["m_concurrent_end"] =
        static_cast<double>(after.value("ConcurrentExecutions", std::int64_t{0}));
    state.counters["all_done"] = all_done ? 1 : 0;
    state.counters["accept_ms"] = accept_s * 1000;
    state.counters["all_run_ms"] = done_s * 1000;
  }
}
BENCHMARK(BM_EventBurst)
    ->Arg(2)
    ->Arg(10)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  // 1,000 connections at once need 2,000 descriptors in this process (both
  // ends are here): raise the soft limit to the hard one.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  faultline::Dog();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  faultline::g_emulator.reset();
  faultline::g_signed_emulator.reset();
  return 0;
}
