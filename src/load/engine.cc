#include "load/engine.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "http/asio.h"
#include "http/client.h"

namespace faultline::load {
namespace {

using http::tcp;
using http::asio::steady_timer;
using Steady = std::chrono::steady_clock;
namespace asio = http::asio;
namespace beast = http::beast;
namespace bhttp = http::bhttp;

constexpr std::uint64_t kBodyLimit = 64 * 1024 * 1024;
constexpr std::chrono::milliseconds kReconnectPause(10);

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

// A connection's parts that the end of the run must interrupt.
struct Conn {
  beast::tcp_stream* stream = nullptr;
  steady_timer* pacer = nullptr;
};

// One thread: its io_context, its connections, its counters.
struct Worker {
  explicit Worker(SeriesAggregator* aggregator) : series(aggregator) {}
  asio::io_context io{1};  // one thread: no locking inside Asio
  Tally tally;
  SeriesRecorder series;
  std::vector<Conn> conns;
  int live = 0;  // connections still running
  std::optional<steady_timer> deadline;
  bool stopping = false;
  std::string failure;  // an unexpected exception, if any
};

ErrorKind ClassifyConnect(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return ErrorKind::kConnectRefused;
  if (ec == beast::error::timeout) return ErrorKind::kTimeout;
  return ErrorKind::kConnect;
}

ErrorKind ClassifyExchange(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return ErrorKind::kTimeout;
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

void CloseStream(beast::tcp_stream& stream) {
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

// One connection: take the next request, send it, read the answer, count;
// reconnect after an error or a "Connection: close".
http::Task<void> Connection(Shared& s, Worker& w, std::size_t slot) {
  const LoadOptions& o = s.options;
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  steady_timer pacer(ex);
  w.conns[slot] = Conn{&stream, &pacer};
  beast::flat_buffer buffer;
  bool connected = false;
  boost::system::error_code ec;
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  const bool open_loop = o.rate > 0;

  while (!w.stopping) {
    std::optional<Steady::time_point> due = NextSlot(s);
    if (!due) break;
    if (open_loop && *due > Steady::now()) {
      pacer.expires_at(*due);
      co_await pacer.async_wait(redirect);
      if (w.stopping) break;
    }
    const Steady::time_point started = open_loop ? *due : Steady::now();
    auto fail = [&](ErrorKind kind) {
      w.tally.AddError(kind);
      w.series.Error((Steady::now() - s.start).count());
      CloseStream(stream);
      buffer.consume(buffer.size());
      connected = false;
    };
    if (!connected) {
      stream.expires_after(o.timeout);
      co_await stream.async_connect(s.endpoints, redirect);
      if (w.stopping) {
        ++w.tally.unfinished;
        break;
      }
      if (ec) {
        fail(ClassifyConnect(ec));
        if (!open_loop) {
          // Closed loop, a server that is down refuses as fast as the kernel
          // can say so: pause, so an outage counts at most 100 failures per
          // connection and second instead of swamping the run's totals.
          pacer.expires_after(kReconnectPause);
          co_await pacer.async_wait(redirect);
        }
        continue;
      }
      stream.socket().set_option(tcp::no_delay(true), ec);
      connected = true;
    }
    stream.expires_after(o.timeout);
    const std::size_t written =
        co_await asio::async_write(stream, asio::buffer(s.request), redirect);
    w.tally.bytes_written += written;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kBodyLimit);
    if (s.head) parser.skip(true);
    if (!ec) {
      w.tally.bytes_read += co_await bhttp::async_read(stream, buffer, parser, redirect);
    }
    if (w.stopping) {
      ++w.tally.unfinished;
      break;
    }
    if (ec) {
      fail(ClassifyExchange(ec));
      continue;
    }
    const auto done = Steady::now();
    const auto latency = done - started;
    const unsigned code = std::min(parser.get().result_int(), 999U);
    ++w.tally.statuses[code];
    ++w.tally.responses;
    w.tally.latency.Record(latency);
    w.series.Response((done - s.start).count(), latency, code < 100 || code >= 400);
    if (!parser.keep_alive()) {
      CloseStream(stream);
      buffer.consume(buffer.size());
      connected = false;
    }
  }
  CloseStream(stream);
  w.conns[slot] = Conn{};
  if (--w.live == 0 && w.deadline) w.deadline->cancel();
}

// The end of a timed run: interrupt whatever is in flight.
void StopWorker(Worker& w) {
  w.stopping = true;
  for (Conn& c : w.conns) {
    if (c.stream != nullptr) CloseStream(*c.stream);
    if (c.pacer != nullptr) c.pacer->cancel();
  }
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
  boost::system::error_code ec;
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
  co_await stream.async_connect(*endpoints, redirect);
  if (ec == beast::error::timeout) {
    co_return Status::Unavailable(
        fmt::format("cannot connect to {}: no answer within {:.3g}s (--timeout)", where,
                    std::chrono::duration<double>(o.timeout).count()));
  }
  if (ec)
    co_return Status::Unavailable(fmt::format("cannot connect to {}: {}", where, ec.message()));
  CloseStream(stream);
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

Result<LoadResult> Run(const LoadOptions& o) {
  if (Status st = Validate(o); !st.ok()) return st;
  const http::Url url = *http::ParseUrl(o.url);

  Shared shared{.options = o};
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
  SeriesAggregator aggregator(thread_count);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < thread_count; ++t) workers.push_back(std::make_unique<Worker>(&aggregator));

  LoadResult result;
  result.started_at = IsoTime(o.clock->Now());
  shared.start = Steady::now();
  shared.timed = o.requests == 0;
  shared.end = shared.start + o.duration;
  for (int c = 0; c < o.connections; ++c) {
    Worker& w = *workers[static_cast<std::size_t>(c % thread_count)];
    w.conns.emplace_back();
    ++w.live;
  }
  std::vector<std::thread> threads;
  for (auto& wp : workers) {
    Worker& w = *wp;
    for (std::size_t slot = 0; slot < w.conns.size(); ++slot) {
      asio::co_spawn(w.io, Connection(shared, w, slot), [&w](const std::exception_ptr& e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          w.failure = ex.what();
        }
      });
    }
    if (shared.timed) {
      w.deadline.emplace(w.io, shared.end);
      w.deadline->async_wait([&w](const boost::system::error_code& ec) {
        if (!ec) StopWorker(w);
      });
    }
    threads.emplace_back([&w] { w.io.run(); });
  }
  for (auto& t : threads) t.join();
  const auto finished = Steady::now();

  for (auto& w : workers) {
    if (!w->failure.empty()) return Status::Internal("load connection failed: " + w->failure);
    w->series.Finish();
    result.tally.Merge(w->tally);
  }
  result.series = aggregator.Finish();
  result.url = o.url;
  result.method = o.method;
  result.connections = o.connections;
  result.threads = thread_count;
  if (o.requests != 0) {
    result.requests_limit = o.requests;
  } else {
    result.duration_limit_s = std::chrono::duration<double>(o.duration).count();
  }
  if (o.rate > 0) result.rate = o.rate;
  result.timeout_s = std::chrono::duration<double>(o.timeout).count();
  result.elapsed_s = std::chrono::duration<double>(finished - shared.start).count();
  return result;
}

}  // namespace faultline::load
