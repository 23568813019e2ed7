#include "load/engine.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "http/asio.h"
#include "http/client.h"
#include "http/socket.h"

namespace faultline::load {
namespace {

using http::tcp;
using Steady = std::chrono::steady_clock;
namespace asio = http::asio;
namespace beast = http::beast;
namespace bhttp = http::bhttp;
using ErrorCode = boost::system::error_code;
// Sockets and timers bound to the worker's io_context rather than to a
// type-erased executor: cheaper on every operation.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Steady, asio::wait_traits<Steady>, Executor>;

constexpr std::uint64_t kBodyLimit = 64 * 1024 * 1024;
constexpr std::chrono::milliseconds kReconnectPause(10);
// Bytes asked of each read (as wrk). A whole small answer fits, so one read
// per answer usually suffices; bodies are discarded as they are parsed, so
// the buffer does not grow with them.
constexpr std::size_t kReadSize = 8192;
constexpr auto kIdle = Steady::time_point::max();

// What every thread reads; only `next` changes.
struct Shared {
  const LoadOptions& options;
  tcp::resolver::results_type endpoints;
  std::string request;  // serialised once, sent as bytes
  bool head = false;    // HEAD: answers have no body
  Steady::time_point start;
  Steady::time_point end;  // start + duration, when timed
  bool timed = false;
  std::atomic<std::uint64_t> next{0};  // the next request's index
};

// One connection's state. Its coroutine uses it; the worker's watchdog
// and the end of the run close its socket.
struct Conn {
  explicit Conn(const Executor& ex) : socket(ex), pacer(ex) {}
  Socket socket;
  Timer pacer;
  beast::flat_buffer buffer;            // read, not yet parsed
  Steady::time_point deadline = kIdle;  // when the current step times out
  bool timed_out = false;               // the watchdog closed the socket
  bool connected = false;
};

// One thread: its io_context, its connections, its counters.
struct Worker {
  explicit Worker(SeriesAggregator* aggregator) : series(aggregator) {}
  asio::io_context io{1};  // one thread: no locking inside Asio
  Tally tally;
  SeriesRecorder series;
  std::vector<std::unique_ptr<Conn>> conns;
  int live = 0;  // connections still running
  std::optional<Timer> deadline;
  std::optional<Timer> watchdog;
  bool stopping = false;
  std::string failure;  // an unexpected exception, if any
  // For LoadRun::progress(), from other threads; only this thread writes.
  std::atomic<std::uint64_t> responses{0};
  std::atomic<std::uint64_t> errors{0};
};

// A response parser that keeps only what the tally needs (the status code,
// whether the connection stays open) and discards header fields and body
// as it parses them: no allocation per answer.
class ResponseSink final : public bhttp::basic_parser<false> {
 public:
  explicit ResponseSink(bool head) {
    body_limit(kBodyLimit);
    eager(true);
    skip(head);
  }
  unsigned status() const { return status_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       ErrorCode&) override {}
  void on_response_impl(int code, beast::string_view, int, ErrorCode&) override {
    status_ = static_cast<unsigned>(code);
  }
  void on_field_impl(bhttp::field, beast::string_view, beast::string_view, ErrorCode&) override {}
  void on_header_impl(ErrorCode&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, ErrorCode&) override {}
  std::size_t on_body_impl(beast::string_view body, ErrorCode&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, ErrorCode&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, ErrorCode&) override {
    return body.size();
  }
  void on_finish_impl(ErrorCode&) override {}

  unsigned status_ = 0;
};

ErrorKind ClassifyConnect(const ErrorCode& ec, bool timed_out) {
  if (timed_out) return ErrorKind::kTimeout;
  if (ec == asio::error::connection_refused) return ErrorKind::kConnectRefused;
  return ErrorKind::kConnect;
}

ErrorKind ClassifyExchange(const ErrorCode& ec, bool timed_out) {
  if (timed_out) return ErrorKind::kTimeout;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::connection_aborted) {
    return ErrorKind::kClosed;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
    // any other beast.http error: a parse error
    return ErrorKind::kBadResponse;
  }
  return ErrorKind::kOther;
}

// When the next request should go, or nullopt when the run has had its
// requests (or its time).
std::optional<Steady::time_point> NextSlot(Shared& s) {
  const LoadOptions& o = s.options;
  if (o.requests == 0 && o.rate <= 0) {  // closed loop for a duration: no counter
    const auto now = Steady::now();
    if (now >= s.end) return std::nullopt;
    return now;
  }
  const std::uint64_t index = s.next.fetch_add(1, std::memory_order_relaxed);
  if (o.requests != 0 && index >= o.requests) return std::nullopt;
  if (o.rate <= 0) return Steady::now();
  const auto due = s.start + std::chrono::nanoseconds(IntendedSendNs(index, o.rate));
  if (s.timed && due >= s.end) return std::nullopt;
  return due;
}

template <typename Stream>
void CloseSocket(Stream& socket) {
  ErrorCode ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

void Bump(std::atomic<std::uint64_t>& counter) {
  // One writer: a plain load and store, no read-modify-write.
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Closes the connection after a failed request, counted by `kind`.
void Fail(Shared& s, Worker& w, Conn& c, ErrorKind kind) {
  w.tally.AddError(kind);
  w.series.Error((Steady::now() - s.start).count());
  Bump(w.errors);
  CloseSocket(c.socket);
  c.buffer.consume(c.buffer.size());
  c.connected = false;
  c.deadline = kIdle;
}

// Sends the request: at once when the socket takes it (almost always: it
// is small), else by waiting. Returns the bytes written; sets `ec`.
http::Task<std::size_t> Send(const std::string& request, Conn& c, ErrorCode& ec) {
  std::size_t sent = c.socket.write_some(asio::buffer(request), ec);  // non-blocking
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    sent = 0;
  }
  if (!ec && sent < request.size()) {
    sent += co_await asio::async_write(c.socket, asio::buffer(request) + sent,
                                       asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return sent;
}

// Reads one answer into `parser`. Returns the bytes it parsed (the
// answer's header and body); sets `ec` as beast's http::async_read would.
http::Task<std::size_t> Receive(Conn& c, ResponseSink& parser, ErrorCode& ec) {
  std::size_t parsed = 0;
  for (;;) {
    if (c.buffer.size() > 0) {
      const std::size_t used = parser.put(c.buffer.data(), ec);
      c.buffer.consume(used);
      parsed += used;
      if (ec == bhttp::error::need_more) ec = {};
      if (ec || parser.is_done()) co_return parsed;
    }
    const std::size_t n = co_await c.socket.async_read_some(
        c.buffer.prepare(kReadSize), asio::redirect_error(asio::use_awaitable, ec));
    c.buffer.commit(n);
    if (ec == asio::error::eof) {
      // The end of the answer, if its length is "until closed".
      if (!parser.got_some()) {
        ec = bhttp::error::end_of_stream;
      } else {
        ec = {};
        parser.put_eof(ec);
      }
      co_return parsed;
    }
    if (ec) co_return parsed;
  }
}

// Counts an answered request.
void Count(Shared& s, Worker& w, Steady::time_point started, unsigned status) {
  const auto done = Steady::now();
  const auto latency = done - started;
  const unsigned code = std::min(status, 999U);
  ++w.tally.statuses[code];
  ++w.tally.responses;
  w.tally.latency.Record(latency);
  w.series.Response((done - s.start).count(), latency, code < 100 || code >= 400);
  Bump(w.responses);
}

// One connection: take the next request, send it, read the answer, count;
// reconnect after an error or a "Connection: close". The worker's watchdog
// closes the socket of a step past its deadline.
http::Task<void> Connection(Shared& s, Worker& w, Conn& c) {
  const LoadOptions& o = s.options;
  ErrorCode ec;
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  const bool open_loop = o.rate > 0;

  while (!w.stopping) {
    std::optional<Steady::time_point> due = NextSlot(s);
    if (!due) break;
    if (open_loop && *due > Steady::now()) {
      c.pacer.expires_at(*due);
      co_await c.pacer.async_wait(redirect);
      if (w.stopping) break;
    }
    const Steady::time_point started = open_loop ? *due : Steady::now();
    if (!c.connected) {
      c.deadline = Steady::now() + o.timeout;
      c.timed_out = false;
      ec = co_await http::ConnectCloexec(c.socket, s.endpoints);
      if (w.stopping) {
        ++w.tally.unfinished;
        break;
      }
      if (ec) {
        Fail(s, w, c, ClassifyConnect(ec, c.timed_out));
        if (!open_loop) {
          // Closed loop, a server that is down refuses as fast as the kernel
          // can say so: pause, so an outage counts at most 100 failures per
          // connection and second instead of swamping the run's totals.
          c.pacer.expires_after(kReconnectPause);
          co_await c.pacer.async_wait(redirect);
        }
        continue;
      }
      c.socket.set_option(tcp::no_delay(true), ec);
      c.socket.non_blocking(true, ec);  // for Send's first, immediate write
      c.connected = true;
    }
    c.deadline = Steady::now() + o.timeout;
    c.timed_out = false;
    w.tally.bytes_written += co_await Send(s.request, c, ec);
    ResponseSink parser(s.head);
    if (!ec) w.tally.bytes_read += co_await Receive(c, parser, ec);
    if (w.stopping) {
      ++w.tally.unfinished;
      break;
    }
    if (ec) {
      Fail(s, w, c, ClassifyExchange(ec, c.timed_out));
      continue;
    }
    c.deadline = kIdle;
    Count(s, w, started, parser.status());
    if (!parser.keep_alive()) {
      CloseSocket(c.socket);
      c.buffer.consume(c.buffer.size());
      c.connected = false;
    }
  }
  CloseSocket(c.socket);
  c.deadline = kIdle;
  if (--w.live == 0) {
    if (w.deadline) w.deadline->cancel();
    if (w.watchdog) w.watchdog->cancel();
  }
}

// How often the watchdog looks for requests past their timeout: a tenth of
// the timeout, between 1 ms and 100 ms. A request therefore times out
// between `timeout` and `timeout` + this after its step began.
std::chrono::nanoseconds WatchdogTick(std::chrono::nanoseconds timeout) {
  return std::clamp<std::chrono::nanoseconds>(timeout / 10, std::chrono::milliseconds(1),
                                              std::chrono::milliseconds(100));
}

// One periodic timer per thread enforces every connection's timeout, rather
// than a timer armed and cancelled around every read and write.
void ArmWatchdog(Worker& w, std::chrono::nanoseconds tick) {
  w.watchdog->expires_after(tick);
  w.watchdog->async_wait([&w, tick](const ErrorCode& ec) {
    if (ec || w.live == 0 || w.stopping) return;
    const auto now = Steady::now();
    for (auto& c : w.conns) {
      if (c->deadline <= now) {
        c->deadline = kIdle;
        c->timed_out = true;
        CloseSocket(c->socket);
      }
    }
    ArmWatchdog(w, tick);
  });
}

// The end of the run (its deadline, or Stop): interrupt whatever is in
// flight. Runs on the worker's thread.
void StopWorker(Worker& w) {
  w.stopping = true;
  for (auto& c : w.conns) {
    CloseSocket(c->socket);
    c->pacer.cancel();
  }
  if (w.deadline) w.deadline->cancel();
  if (w.watchdog) w.watchdog->cancel();
}

std::string BuildRequest(const LoadOptions& o, const http::Url& url) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(o.method);
  req.target(url.target);
  req.version(11);
  const std::string host =
      url.host.find(':') != std::string::npos ? fmt::format("[{}]", url.host) : url.host;
  req.set(bhttp::field::host, url.port == 80 ? host : fmt::format("{}:{}", host, url.port));
  req.set(bhttp::field::user_agent, "faultline-load");
  req.set(bhttp::field::accept, "*/*");
  if (!o.content_type.empty()) req.set(bhttp::field::content_type, o.content_type);
  for (const auto& [name, value] : o.headers) req.erase(name);
  for (const auto& [name, value] : o.headers) req.insert(name, value);
  req.body() = o.body;
  req.prepare_payload();
  std::ostringstream os;
  os << req;
  return os.str();
}

std::string IsoTime(TimeNs ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  const auto ms = (ns / 1'000'000) % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(secs), ms);
}

// Resolves the URL's host and, when asked, connects once within `timeout`.
http::Task<Status> Prepare(const http::Url& url, const LoadOptions& o,
                           tcp::resolver::results_type* endpoints) {
  auto ex = co_await asio::this_coro::executor;
  ErrorCode ec;
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  const std::string where = fmt::format("{}:{}", url.host, url.port);
  const auto address = asio::ip::make_address(url.host, ec);
  if (!ec) {
    *endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, url.port), url.host,
                                                     std::to_string(url.port));
  } else {
    tcp::resolver resolver(ex);
    *endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port), redirect);
    if (ec) {
      co_return Status::Unavailable(
          fmt::format("cannot resolve the host \"{}\": {}", url.host, ec.message()));
    }
  }
  if (!o.check_reachable) co_return Status::Ok();
  beast::tcp_stream stream(ex);
  stream.expires_after(o.timeout);
  ec = co_await http::ConnectCloexec(stream, *endpoints);
  if (ec == beast::error::timeout) {
    co_return Status::Unavailable(
        fmt::format("cannot connect to {}: no answer within {:.3g}s (--timeout)", where,
                    std::chrono::duration<double>(o.timeout).count()));
  }
  if (ec)
    co_return Status::Unavailable(fmt::format("cannot connect to {}: {}", where, ec.message()));
  CloseSocket(stream.socket());
  co_return Status::Ok();
}

int ThreadCount(const LoadOptions& o) {
  const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return std::max(1, std::min(o.connections, o.threads > 0 ? o.threads : hardware));
}

}  // namespace

Status Validate(const LoadOptions& o) {
  Result<http::Url> url = http::ParseUrl(o.url);
  if (!url.ok()) return url.status();
  auto fail = [](std::string msg) { return Status::InvalidArgument(std::move(msg)); };
  if (o.connections < 1)
    return fail(fmt::format("connections: expected 1 or more, got {}", o.connections));
  if (o.threads < 0) return fail(fmt::format("threads: expected 0 or more, got {}", o.threads));
  if (o.requests == 0 && o.duration.count() <= 0) {
    return fail("duration: expected a positive duration (or a request count)");
  }
  if (!std::isfinite(o.rate) || o.rate < 0) {
    return fail(
        fmt::format("rate: expected a positive number of requests per second, got {}", o.rate));
  }
  if (o.timeout.count() <= 0) return fail("timeout: expected a positive duration");
  if (!IsHttpToken(o.method))
    return fail(fmt::format("method \"{}\": not an HTTP method", o.method));
  for (const auto& [name, value] : o.headers) {
    if (!IsHttpToken(name)) return fail(fmt::format("header name \"{}\": not a header name", name));
    if (value.find_first_of("\r\n") != std::string::npos) {
      return fail(fmt::format("header \"{}\": the value has a line break", name));
    }
  }
  if (o.content_type.find_first_of("\r\n") != std::string::npos) {
    return fail("content type: has a line break");
  }
  if (o.clock == nullptr) return fail("clock: none given");
  return Status::Ok();
}

// A run's threads and what they share. The last thread to finish builds the
// result and wakes Wait().
struct LoadRun::State {
  explicit State(const LoadOptions& o) : options(o), shared{.options = options} {}

  void Finish();

  const LoadOptions options;  // a copy: the caller's may go away
  Shared shared;
  std::optional<SeriesAggregator> aggregator;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  std::atomic<int> running{0};
  std::string started_at;

  std::mutex mu;
  std::condition_variable finished_cv;
  bool finished = false;                                        // guarded by mu
  Result<LoadResult> result{Status::Internal("not finished")};  // set before `finished`
};

void LoadRun::State::Finish() {
  const auto end = Steady::now();
  const LoadOptions& o = options;
  LoadResult r;
  Status failed = Status::Ok();
  for (auto& w : workers) {
    if (!w->failure.empty() && failed.ok()) {
      failed = Status::Internal("load connection failed: " + w->failure);
    }
    w->series.Finish();
    r.tally.Merge(w->tally);
  }
  r.series = aggregator->Finish();
  r.started_at = started_at;
  r.url = o.url;
  r.method = o.method;
  r.connections = o.connections;
  r.threads = static_cast<int>(workers.size());
  if (o.requests != 0) {
    r.requests_limit = o.requests;
  } else {
    r.duration_limit_s = std::chrono::duration<double>(o.duration).count();
  }
  if (o.rate > 0) r.rate = o.rate;
  r.timeout_s = std::chrono::duration<double>(o.timeout).count();
  r.elapsed_s = std::chrono::duration<double>(end - shared.start).count();
  std::lock_guard<std::mutex> lock(mu);
  result = failed.ok() ? Result<LoadResult>(std::move(r)) : Result<LoadResult>(failed);
  finished = true;
  finished_cv.notify_all();
}

LoadRun::LoadRun(std::unique_ptr<State> state) : state_(std::move(state)) {}

LoadRun::~LoadRun() {
  Stop();
  for (auto& t : state_->threads) t.join();
}

void LoadRun::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->finished) return;
  }
  for (auto& w : state_->workers) asio::post(w->io, [&w = *w] { StopWorker(w); });
  Wait();
}

const Result<LoadResult>& LoadRun::Wait() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->finished_cv.wait(lock, [this] { return state_->finished; });
  return state_->result;
}

bool LoadRun::finished() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->finished;
}

LoadProgress LoadRun::progress() const {
  LoadProgress p;
  for (const auto& w : state_->workers) {
    p.responses += w->responses.load(std::memory_order_relaxed);
    p.errors += w->errors.load(std::memory_order_relaxed);
  }
  return p;
}

Result<std::unique_ptr<LoadRun>> Start(const LoadOptions& options) {
  if (Status st = Validate(options); !st.ok()) return st;
  auto state = std::make_unique<LoadRun::State>(options);
  const LoadOptions& o = state->options;
  Shared& shared = state->shared;
  const http::Url url = *http::ParseUrl(o.url);
  {
    asio::io_context io;
    Status prepared = Status::Internal("the connection check did not finish");
    asio::co_spawn(io, Prepare(url, o, &shared.endpoints),
                   [&prepared](const std::exception_ptr& e, Status st) {
                     prepared = e ? Status::Internal("the connection check failed unexpectedly")
                                  : std::move(st);
                   });
    io.run();
    if (!prepared.ok()) return prepared;
  }
  shared.request = BuildRequest(o, url);
  shared.head = o.method == "HEAD";

  const int thread_count = ThreadCount(o);
  state->aggregator.emplace(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    state->workers.push_back(std::make_unique<Worker>(&*state->aggregator));
  }
  for (int c = 0; c < o.connections; ++c) {
    Worker& w = *state->workers[static_cast<std::size_t>(c % thread_count)];
    w.conns.push_back(std::make_unique<Conn>(w.io.get_executor()));
    ++w.live;
  }
  state->started_at = IsoTime(o.clock->Now());
  shared.start = Steady::now();
  shared.timed = o.requests == 0;
  shared.end = shared.start + o.duration;
  state->running = thread_count;
  LoadRun::State* st = state.get();
  for (auto& wp : state->workers) {
    Worker& w = *wp;
    for (auto& c : w.conns) {
      asio::co_spawn(w.io, Connection(shared, w, *c), [&w](const std::exception_ptr& e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          w.failure = ex.what();
        }
      });
    }
    if (shared.timed) {
      w.deadline.emplace(w.io.get_executor(), shared.end);
      w.deadline->async_wait([&w](const ErrorCode& ec) {
        if (!ec) StopWorker(w);
      });
    }
    w.watchdog.emplace(w.io.get_executor());
    ArmWatchdog(w, WatchdogTick(o.timeout));
  }
  // The threads take none of the signals that end a program: those are
  // the caller's (`faultline load` stops the run on SIGINT and prints what
  // it measured); a thread inherits the mask it is created with.
  sigset_t ending, old;
  sigemptyset(&ending);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&ending, sig);
  pthread_sigmask(SIG_BLOCK, &ending, &old);
  for (auto& wp : state->workers) {
    st->threads.emplace_back([st, &w = *wp] {
      w.io.run();
      if (st->running.fetch_sub(1, std::memory_order_acq_rel) == 1) st->Finish();
    });
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return std::unique_ptr<LoadRun>(new LoadRun(std::move(state)));
}

Result<LoadResult> Run(const LoadOptions& options) {
  Result<std::unique_ptr<LoadRun>> run = Start(options);
  if (!run.ok()) return run.status();
  Result<LoadResult> result = (*run)->Wait();
  return result;
}

}  // namespace faultline::load
