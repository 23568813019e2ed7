#include "extension/proxy.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <deque>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "extension/policy.h"
#include "http/server.h"

namespace faultline::extension {

namespace asio = http::asio;
namespace beast = http::beast;
namespace bhttp = http::bhttp;
using http::Request;
using http::Response;
using http::Task;
using http::tcp;

namespace {

// Bodies up to this size may be read whole when a rule needs them (the
// Runtime API's limit is 6 MiB + 100 bytes); larger and chunked ones always
// go through as a stream.
constexpr std::uint64_t kWholeBodyLimit = 8 * 1024 * 1024;
// Request bodies over this size skip the server's whole-request read (which
// reads in pieces of its buffer's small capacity, 512 bytes: 12,000 reads
// for 6 MB) and go to the stream handler, which reads them with large reads.
constexpr std::uint64_t kSmallBody = 4 * 1024;
// The relay's piece: one read from one side, one write to the other.
constexpr std::size_t kRelayPiece = 256 * 1024;
// Capacity of the buffers that response headers (and the bytes after them)
// are read into: a small answer arrives in one read.
constexpr std::size_t kHeadBuffer = 16 * 1024;
// Capacity given to a read buffer before a chunked body is parsed through
// it: Beast reads at most the buffer's free capacity (min 512 bytes) at once.
constexpr std::size_t kChunkedReadBuffer = 64 * 1024;
// Relay buffers kept for reuse.
constexpr std::size_t kMaxSpareBuffers = 4;
// Idle upstream connections kept for reuse.
constexpr std::size_t kMaxIdle = 32;
// Invocations whose "after" part waits for the runtime's answer; the oldest
// is forgotten beyond this (a runtime that never answered).
constexpr std::size_t kMaxPending = 1024;
// Rounds of "the event was answered for the runtime, poll /next again" in
// one GET /next from the runtime.
constexpr int kMaxRounds = 1000;

// A plain socket (not beast::tcp_stream): the proxy sets no timeouts, and a
// tcp_stream costs a timer's bookkeeping per operation.
using Stream = tcp::socket;

// The part of a Runtime API target after "/runtime/invocation/", split into
// the request id and what follows ("response", "error"); empty if the target
// is not one of those.
struct InvocationTarget {
  std::string base;  // "/2018-06-01"
  std::string id;
  std::string what;  // "next", "response", "error"
};
InvocationTarget ParseTarget(std::string_view target) {
  InvocationTarget t;
  constexpr std::string_view kMid = "/runtime/invocation/";
  const std::size_t at = target.find(kMid);
  if (at == std::string_view::npos) return t;
  t.base = std::string(target.substr(0, at));
  std::string_view rest = target.substr(at + kMid.size());
  if (rest == "next") {
    t.what = "next";
    return t;
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return t;
  t.id = std::string(rest.substr(0, slash));
  t.what = std::string(rest.substr(slash + 1));
  return t;
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

std::int64_t ToInt(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

bool HasChunked(const bhttp::request_header<>& h) {
  const auto te = h[bhttp::field::transfer_encoding];
  return te.find("chunked") != beast::string_view::npos;
}

}  // namespace

struct Proxy::State {
  State(asio::io_context& io_context, ProxyOptions opts)
      : io(io_context), options(std::move(opts)) {}
  asio::io_context& io;
  ProxyOptions options;
  std::unique_ptr<http::Server> server;
  std::vector<std::unique_ptr<Stream>> idle;
  std::map<std::string, InvocationPlan> pending;
  std::deque<std::string> pending_order;
  // Relay buffers (kRelayPiece bytes) not in use.
  std::vector<std::unique_ptr<char[]>> spare_buffers;
  bool stopped = false;

  bool armed() const { return options.engine != nullptr && options.engine->armed(); }

  void Log(std::string_view line) const {
    if (options.log) options.log(line);
  }
  void Injected(Action a, const std::string& rule) const {
    if (ActionCounts* c = options.counts) {
      switch (a) {
        case Action::kLatency:
          ++c->latency;
          break;
        case Action::kError:
          ++c->error;
          break;
        case Action::kStatus:
          ++c->status;
          break;
        case Action::kBody:
          ++c->body;
          break;
        case Action::kTimeout:
          ++c->timeout;
          break;
        default:
          break;
      }
    }
    if (options.on_injection) options.on_injection(a, rule);
  }
};

namespace {

using State = Proxy::State;

constexpr auto kRedirect = [](boost::system::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
};

// Opens `s` for `to` on a descriptor that is close-on-exec from its
// creation (asio's own open() leaves it inheritable until a later fcntl,
// so a process started meanwhile would hold the Runtime API connection).
boost::system::error_code OpenCloseOnExec(Stream& s, const tcp::endpoint& to) {
  const int fd = ::socket(to.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return {errno, boost::system::system_category()};
  boost::system::error_code ec;
  s.assign(to.protocol(), fd, ec);
  if (ec) ::close(fd);
  return ec;
}

// A connection to the Runtime API: an idle one if any (reused = true), else
// a new one.
Task<Result<std::unique_ptr<Stream>>> Take(State& st, bool* reused) {
  if (!st.idle.empty()) {
    auto s = std::move(st.idle.back());
    st.idle.pop_back();
    *reused = true;
    co_return s;
  }
  *reused = false;
  auto s = std::make_unique<Stream>(st.io);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(st.options.upstream_host, ec);
  if (!ec) {
    const tcp::endpoint to(address, st.options.upstream_port);
    ec = OpenCloseOnExec(*s, to);
    if (!ec) co_await s->async_connect(to, kRedirect(ec));
  } else {
    tcp::resolver resolver(st.io);
    auto eps = co_await resolver.async_resolve(
        st.options.upstream_host, std::to_string(st.options.upstream_port), kRedirect(ec));
    // Each address in turn, as asio::async_connect would, each on a socket
    // of our own making.
    if (!ec) {
      ec = asio::error::host_not_found;
      for (const auto& entry : eps) {
        boost::system::error_code closed;
        s->close(closed);
        ec = OpenCloseOnExec(*s, entry.endpoint());
        if (!ec) co_await s->async_connect(entry.endpoint(), kRedirect(ec));
        if (!ec) break;
      }
    }
  }
  if (ec) {
    co_return Status::Unavailable(fmt::format("cannot connect to the Runtime API {}:{}: {}",
                                              st.options.upstream_host, st.options.upstream_port,
                                              ec.message()));
  }
  s->set_option(tcp::no_delay(true), ec);
  co_return s;
}

// Whether an idle connection is still open: nothing to read, no end of
// stream (a peek that does not wait).
bool Open(Stream& s) {
  char c = 0;
  const ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void Give(State& st, std::unique_ptr<Stream> s) {
  if (st.stopped || st.idle.size() >= kMaxIdle) return;
  st.idle.push_back(std::move(s));
}

// A relay buffer of kRelayPiece bytes, taken from the State's spares and
// given back to them.
class RelayBuffer {
 public:
  explicit RelayBuffer(State& st) : st_(st) {
    if (st.spare_buffers.empty()) {
      data_ = std::make_unique_for_overwrite<char[]>(kRelayPiece);
    } else {
      data_ = std::move(st.spare_buffers.back());
      st.spare_buffers.pop_back();
    }
  }
  ~RelayBuffer() {
    if (st_.spare_buffers.size() < kMaxSpareBuffers) st_.spare_buffers.push_back(std::move(data_));
  }
  RelayBuffer(const RelayBuffer&) = delete;
  RelayBuffer& operator=(const RelayBuffer&) = delete;
  char* data() { return data_.get(); }

 private:
  State& st_;
  std::unique_ptr<char[]> data_;
};

// asio::async_write's own completion conditions write at most 64 KiB per
// system call (default_max_transfer_size): a 256 KiB relay piece would take
// four sends and four completions. This one lets the kernel take all it can.
constexpr auto kAllAtOnce = [](const boost::system::error_code& ec, std::size_t) -> std::size_t {
  return ec ? 0 : std::numeric_limits<std::size_t>::max();
};

// Writes `bytes` on `to`: as much as the socket takes at once is sent now (a
// small answer: all of it, with no round through the reactor: a completion
// posted for a write that needed no wait costs an epoll_wait), the rest
// asynchronously.
// REQUIRES: no other write pending on `to`.
Task<boost::system::error_code> WriteNow(tcp::socket& to, asio::const_buffer bytes) {
  boost::system::error_code ec;
  const char* p = static_cast<const char*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::send(to.native_handle(), p, left, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      co_return boost::system::error_code(errno, boost::system::system_category());
    }
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (left > 0) co_await asio::async_write(to, asio::buffer(p, left), kAllAtOnce, kRedirect(ec));
  co_return ec;
}

// Copies `length` body bytes from `from` to `to` as they arrive: first those
// already read past the header (in `buffer`), then one write per read. The
// error is either side's.
template <typename From, typename To>
Task<boost::system::error_code> RelayBody(State& st, From& from, beast::flat_buffer& buffer, To& to,
                                          std::uint64_t length) {
  boost::system::error_code ec;
  const auto have = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
  if (have > 0) {
    co_await asio::async_write(to, asio::buffer(buffer.data(), have), kAllAtOnce, kRedirect(ec));
    if (ec) co_return ec;
    buffer.consume(have);
    length -= have;
  }
  if (length == 0) co_return ec;
  RelayBuffer piece(st);
  while (length > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, kRelayPiece));
    const std::size_t n =
        co_await from.async_read_some(asio::buffer(piece.data(), want), kRedirect(ec));
    if (ec) co_return ec;
    co_await asio::async_write(to, asio::buffer(piece.data(), n), kAllAtOnce, kRedirect(ec));
    if (ec) co_return ec;
    length -= n;
  }
  co_return ec;
}

// Reads a body of `length` bytes into `body` with as few reads as the data
// allows (Beast's parser would read it in pieces of its buffer's capacity).
template <typename From>
Task<boost::system::error_code> ReadBody(From& from, beast::flat_buffer& buffer, std::string& body,
                                         std::uint64_t length) {
  body.resize(static_cast<std::size_t>(length));
  const auto have = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
  asio::buffer_copy(asio::buffer(body.data(), have), buffer.data());
  buffer.consume(have);
  boost::system::error_code ec;
  if (have < body.size()) {
    co_await asio::async_read(from, asio::buffer(body.data() + have, body.size() - have),
                              kRedirect(ec));
  }
  co_return ec;
}

// An answer of the Runtime API whose header is read; its body is still to
// come (the first bytes of it may be in `buffer`).
struct Upstream {
  std::unique_ptr<Stream> conn;
  bool reused = false;
  bool reusable = false;  // the request allows the connection's reuse
  // The answer's bytes as read: its header (the first `head` bytes, until
  // DropHead()) and what came after it.
  beast::flat_buffer buffer;
  std::size_t head = 0;
  bhttp::response_parser<bhttp::empty_body> parser;
};

// Reads the answer's header into up.parser, keeping its bytes as received
// at the front of up.buffer: an answer no rule changes is passed on as it
// came, with no re-serialisation.
Task<boost::system::error_code> ReadHead(Upstream& up) {
  up.parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  up.buffer.reserve(kHeadBuffer);
  boost::system::error_code ec;
  for (;;) {
    if (up.buffer.size() > 0) {
      // The parser takes nothing until the header is whole (need_more).
      const std::size_t used = up.parser.put(up.buffer.data(), ec);
      if (!ec) {
        up.head = used;
        co_return ec;
      }
      if (ec != bhttp::error::need_more) co_return ec;
      ec = {};
    }
    const std::size_t room = std::max<std::size_t>(kHeadBuffer, up.buffer.size());
    const std::size_t n = co_await up.conn->async_read_some(up.buffer.prepare(room), kRedirect(ec));
    up.buffer.commit(n);
    if (ec) co_return ec;
  }
}

// Forgets the header's bytes (the parser has them): the buffer starts at
// the body.
void DropHead(Upstream& up) {
  up.buffer.consume(up.head);
  up.head = 0;
}

// Whether the answer can be relayed as it arrives: it has no body or a
// Content-Length (chunked and read-until-close bodies are read whole).
bool Relayable(const Upstream& up) {
  return up.parser.is_done() || (!up.parser.chunked() && up.parser.content_length());
}

Status UpstreamError(const bhttp::request_header<>& req, const boost::system::error_code& ec) {
  return Status::Unavailable(fmt::format("Runtime API {} {}: {}", Sv(req.method_string()),
                                         Sv(req.target()), ec.message()));
}

// `req` as Beast writes it (start line, header fields in order, body), in
// one piece: one send, not a composed write of a serializer's buffers.
std::string Serialize(const Request& req) {
  std::string out;
  out.reserve(256 + req.body().size());
  const auto add = [&out](beast::string_view s) { out.append(s.data(), s.size()); };
  add(req.method_string());
  out += ' ';
  add(req.target());
  const unsigned v = req.version();
  out += " HTTP/";
  out += static_cast<char>('0' + v / 10);
  out += '.';
  out += static_cast<char>('0' + v % 10);
  out += "\r\n";
  for (const auto& f : req) {
    add(f.name_string());
    out += ": ";
    add(f.value());
    out += "\r\n";
  }
  out += "\r\n";
  out += req.body();
  return out;
}

// Sends `req` to the Runtime API and reads the answer's header. A reused
// connection that turns out closed before any answer byte is retried once on
// a new one.
Task<Result<std::unique_ptr<Upstream>>> SendHead(State& st, const Request& req) {
  const std::string bytes = Serialize(req);
  for (int attempt = 0;; ++attempt) {
    auto up = std::make_unique<Upstream>();
    auto conn = co_await Take(st, &up->reused);
    if (!conn.ok()) co_return conn.status();
    up->conn = std::move(*conn);
    up->reusable = req.keep_alive();
    boost::system::error_code ec = co_await WriteNow(*up->conn, asio::buffer(bytes));
    if (!ec) ec = co_await ReadHead(*up);
    if (ec) {
      const bool nothing_read = !up->parser.got_some() && up->buffer.size() == 0;
      if (up->reused && nothing_read && attempt == 0) continue;
      co_return UpstreamError(req, ec);
    }
    co_return up;
  }
}

// Reads the rest of the answer whole; the connection goes back to the pool
// when both sides keep it alive.
Task<Result<Response>> ReadWhole(State& st, Upstream& up, const bhttp::request_header<>& req) {
  DropHead(up);
  boost::system::error_code ec;
  Response res;
  if (up.parser.is_done()) {
    res = Response(std::move(up.parser.release().base()));
  } else if (!up.parser.chunked() && up.parser.content_length()) {
    const std::uint64_t length = *up.parser.content_length();
    res = Response(std::move(up.parser.release().base()));
    ec = co_await ReadBody(*up.conn, up.buffer, res.body(), length);
  } else {
    up.buffer.reserve(kChunkedReadBuffer);
    bhttp::response_parser<bhttp::string_body> whole(std::move(up.parser));
    whole.body_limit(std::numeric_limits<std::uint64_t>::max());
    co_await bhttp::async_read(*up.conn, up.buffer, whole, kRedirect(ec));
    if (!ec) res = whole.release();
  }
  if (ec) co_return UpstreamError(req, ec);
  if (res.keep_alive() && up.reusable) Give(st, std::move(up.conn));
  co_return res;
}

// Sends `req` to the Runtime API and reads its answer whole.
Task<Result<Response>> Send(State& st, const Request& req) {
  auto up = co_await SendHead(st, req);
  if (!up.ok()) co_return up.status();
  co_return co_await ReadWhole(st, **up, req);
}

// Writes an answer to the runtime as the server would (Content-Length added
// when it has neither that nor chunking). Returns whether the connection may
// carry another request.
Task<bool> WriteAnswer(tcp::socket& down, Response& res) {
  if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
  boost::system::error_code ec;
  co_await bhttp::async_write(down, res, kRedirect(ec));
  co_return !ec && res.keep_alive();
}

// Passes a Relayable() answer on to the runtime as it arrives: its header as
// read, then its body. Returns whether `down` may carry another request.
Task<bool> RelayAnswer(State& st, Upstream& up, tcp::socket& down) {
  const std::uint64_t length = up.parser.is_done() ? 0 : *up.parser.content_length();
  const bool keep = up.parser.keep_alive();
  // The header and the body bytes read with it, as received: one write (the
  // usual small answer is all here).
  const std::uint64_t whole = up.head + length;
  const auto have = static_cast<std::size_t>(std::min<std::uint64_t>(whole, up.buffer.size()));
  boost::system::error_code ec =
      co_await WriteNow(down, asio::buffer(up.buffer.data().data(), have));
  up.buffer.consume(have);
  up.head = 0;
  if (!ec && have < whole) ec = co_await RelayBody(st, *up.conn, up.buffer, down, whole - have);
  if (ec) co_return false;  // half an answer written, or the upstream gone: close
  if (keep && up.reusable) Give(st, std::move(up.conn));
  co_return keep;
}

Task<void> Wait(State& st, std::chrono::nanoseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer timer(st.io, d);
  boost::system::error_code ec;
  co_await timer.async_wait(kRedirect(ec));
}

Response BadGateway(const Request& req, const Status& why) {
  return http::MakeResponse(
      req, bhttp::status::bad_gateway,
      nlohmann::json{{"errorType", "Runtime.ProxyUpstreamError"}, {"errorMessage", why.message()}}
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A request to the Runtime API made by the proxy itself (not the runtime's).
Request Own(const State& st, bhttp::verb verb, const std::string& target, std::string body,
            std::string_view content_type) {
  Request req(verb, target, 11);
  req.set(bhttp::field::host,
          fmt::format("{}:{}", st.options.upstream_host, st.options.upstream_port));
  req.set(bhttp::field::content_type, std::string(content_type));
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

Request ErrorRequest(const State& st, const InvocationTarget& t, const std::string& id,
                     const ErrorSpec& error) {
  Request req =
      Own(st, bhttp::verb::post, fmt::format("{}/runtime/invocation/{}/error", t.base, id),
          ErrorBody(error), "application/vnd.aws.lambda.error+json");
  req.set("Lambda-Runtime-Function-Error-Type", LambdaErrorType(error.type));
  return req;
}

void Remember(State& st, const std::string& id, InvocationPlan plan) {
  if (st.pending.size() >= kMaxPending && !st.pending_order.empty()) {
    st.pending.erase(st.pending_order.front());
    st.pending_order.pop_front();
  }
  st.pending[id] = std::move(plan);
  st.pending_order.push_back(id);
}

std::optional<InvocationPlan> Forget(State& st, const std::string& id) {
  auto it = st.pending.find(id);
  if (it == st.pending.end()) return std::nullopt;
  InvocationPlan plan = std::move(it->second);
  st.pending.erase(it);
  std::erase(st.pending_order, id);
  return plan;
}

// The plan for the event in `res`; empty when nothing is armed, and on any
// internal error (fail open).
InvocationPlan Decide(State& st, const Response& res) {
  Engine* engine = st.options.engine;
  if (engine == nullptr || !engine->armed()) return {};
  try {
    const OwnedTags tags = EventTags(res.body());
    const std::vector<Tag> views = TagViews(tags);
    return ToInvocationPlan(engine->Decide(st.options.function, views));
  } catch (const std::exception& e) {
    st.Log(fmt::format("faultline extension: deciding failed, passing through: {}", e.what()));
    return {};
  }
}

// GET /next: forwards the poll; carries out the "before" part of the event's
// plan. Events answered here are not given to the runtime: it polls again.
// With `down` (the runtime's connection), an answer that no rule can touch
// (nothing armed, or not 200) is relayed to it as it arrives, and the result
// is empty (*keep: whether `down` may carry another request); otherwise the
// result is the answer to write.
Task<std::optional<Response>> Next(std::shared_ptr<State> st, Request& req, tcp::socket* down,
                                   bool* keep) {
  const InvocationTarget target = ParseTarget(Sv(req.target()));
  for (int round = 0;; ++round) {
    auto head = co_await SendHead(*st, req);
    if (!head.ok()) co_return BadGateway(req, head.status());
    Upstream& up = **head;
    const bool untouched =
        up.parser.get().result() != bhttp::status::ok || round >= kMaxRounds || !st->armed();
    if (untouched && down != nullptr && Relayable(up)) {
      *keep = co_await RelayAnswer(*st, up, *down);
      co_return std::nullopt;
    }
    auto whole = co_await ReadWhole(*st, up, req);
    if (!whole.ok()) co_return BadGateway(req, whole.status());
    Response& res = *whole;
    if (untouched) co_return std::move(res);
    InvocationPlan plan = Decide(*st, res);
    if (plan.empty()) co_return std::move(res);
    const std::string id(res["Lambda-Runtime-Aws-Request-Id"]);
    const std::int64_t deadline = ToInt(Sv(res["Lambda-Runtime-Deadline-Ms"]));
    if (plan.delay_before.count() > 0) {
      co_await Wait(*st, plan.delay_before);
      st->Injected(Action::kLatency, plan.rule);
    }
    if (plan.action != Action::kNone && plan.phase == Phase::kBefore) {
      std::optional<Request> answer;
      switch (plan.action) {
        case Action::kError:
          answer = ErrorRequest(*st, target, id, plan.error);
          break;
        case Action::kStatus:
          answer = Own(*st, bhttp::verb::post,
                       fmt::format("{}/runtime/invocation/{}/response", target.base, id),
                       StatusBody(plan.response), "application/json");
          break;
        case Action::kBody:
          answer = Own(*st, bhttp::verb::post,
                       fmt::format("{}/runtime/invocation/{}/response", target.base, id),
                       ReplaceBody("", plan.response.body), "application/json");
          break;
        case Action::kTimeout:
          co_await Wait(*st, TimeoutWait(deadline, NowMs(), plan.timeout_buffer_ms));
          break;
        default:
          break;
      }
      st->Injected(plan.action, plan.rule);
      if (answer) {
        auto posted = co_await Send(*st, *answer);
        if (!posted.ok()) {
          st->Log(fmt::format("faultline extension: answering {} for the runtime failed: {}", id,
                              posted.status().message()));
        }
        continue;  // the runtime never sees this event
      }
    }
    plan.deadline_ms = deadline;
    if (plan.has_after()) Remember(*st, id, std::move(plan));
    co_return std::move(res);
  }
}

// POST /{id}/response or /{id}/error: carries out the "after" part.
Task<Response> Answer(std::shared_ptr<State> st, Request& req, const InvocationTarget& target) {
  std::optional<InvocationPlan> plan = Forget(*st, target.id);
  if (plan && plan->delay_after.count() > 0) {
    co_await Wait(*st, plan->delay_after);
    st->Injected(Action::kLatency, plan->rule);
  }
  if (plan && plan->action != Action::kNone && plan->phase == Phase::kAfter) {
    try {
      switch (plan->action) {
        case Action::kError: {
          Request err = ErrorRequest(*st, target, target.id, plan->error);
          auto up = co_await Send(*st, err);
          st->Injected(plan->action, plan->rule);
          if (!up.ok()) co_return BadGateway(req, up.status());
          co_return std::move(*up);
        }
        case Action::kStatus:
          if (target.what == "response") {
            req.body() = StatusBody(plan->response);
            req.set(bhttp::field::content_type, "application/json");
          }
          break;
        case Action::kBody:
          if (target.what == "response") req.body() = ReplaceBody(req.body(), plan->response.body);
          break;
        case Action::kTimeout:
          co_await Wait(*st, TimeoutWait(plan->deadline_ms, NowMs(), plan->timeout_buffer_ms));
          break;
        default:
          break;
      }
      req.prepare_payload();
      st->Injected(plan->action, plan->rule);
    } catch (const std::exception& e) {
      st->Log(fmt::format("faultline extension: rewriting the answer failed, passing through: {}",
                          e.what()));
    }
  }
  auto up = co_await Send(*st, req);
  if (!up.ok()) co_return BadGateway(req, up.status());
  co_return std::move(*up);
}

Task<Response> Handle(std::shared_ptr<State> st, Request& req) {
  const InvocationTarget target = ParseTarget(Sv(req.target()));
  if (target.what == "next" && req.method() == bhttp::verb::get) {
    auto res = co_await Next(st, req, nullptr, nullptr);
    co_return std::move(*res);
  }
  if (!target.id.empty() && req.method() == bhttp::verb::post &&
      (target.what == "response" || target.what == "error") && st->pending.count(target.id)) {
    co_return co_await Answer(st, req, target);
  }
  auto up = co_await Send(*st, req);
  if (!up.ok()) co_return BadGateway(req, up.status());
  co_return std::move(*up);
}

// A whole request taken over from the server (see Through): handled as the
// server would, except that a GET /next's answer is relayed when no rule can
// touch it.
Task<bool> HandleThrough(std::shared_ptr<State> st, Request& req, tcp::socket& down) {
  const InvocationTarget target = ParseTarget(Sv(req.target()));
  if (target.what == "next" && req.method() == bhttp::verb::get) {
    bool keep = false;
    auto res = co_await Next(st, req, &down, &keep);
    if (!res) co_return keep;
    co_return co_await WriteAnswer(down, *res);
  }
  Response res = co_await Handle(st, req);
  co_return co_await WriteAnswer(down, res);
}

// Whether an "after" rule replaces a streamed answer of the runtime: an
// error (for /response and /error), a status or a body (for /response).
bool ReplacesStream(const InvocationPlan& plan, const InvocationTarget& target) {
  if (plan.phase != Phase::kAfter) return false;
  if (plan.action == Action::kError) return true;
  return target.what == "response" &&
         (plan.action == Action::kStatus || plan.action == Action::kBody);
}

// Reads the rest of the runtime's request body (chunked, trailers included,
// or Content-Length) and drops it. *keep: whether the runtime's connection
// may carry another request.
Task<boost::system::error_code> DiscardBody(State& st, http::Exchange& ex, bool* keep) {
  bhttp::request_parser<bhttp::buffer_body> in(std::move(ex.parser));
  in.body_limit(std::numeric_limits<std::uint64_t>::max());
  ex.buffer.reserve(kChunkedReadBuffer);
  RelayBuffer piece(st);
  boost::system::error_code ec;
  while (!in.is_done()) {
    in.get().body().data = piece.data();
    in.get().body().size = kRelayPiece;
    co_await bhttp::async_read_some(ex.socket, ex.buffer, in, kRedirect(ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return ec;
  }
  *keep = in.keep_alive();
  co_return ec;
}

// A streamed answer that an "after" rule replaces (ReplacesStream): the
// runtime's stream is read and dropped; the replacement goes upstream
// buffered (POST /error for an error, POST /response with the
// proxy-integration body for a status or a body); the runtime gets the
// Runtime API's answer to it (202), as if its stream had gone through.
Task<bool> ReplaceStream(std::shared_ptr<State> st, http::Exchange& ex,
                         const InvocationTarget& target, const InvocationPlan& plan) {
  const Request head(ex.parser.get().base());  // for a 502's shape
  bool keep = false;
  if (co_await DiscardBody(*st, ex, &keep)) co_return false;
  const std::string response_target =
      fmt::format("{}/runtime/invocation/{}/response", target.base, target.id);
  Request replacement =
      plan.action == Action::kError
          ? ErrorRequest(*st, target, target.id, plan.error)
          : Own(*st, bhttp::verb::post, response_target,
                plan.action == Action::kStatus ? StatusBody(plan.response)
                                               : ReplaceBody("", plan.response.body),
                "application/json");
  auto up = co_await Send(*st, replacement);
  st->Injected(plan.action, plan.rule);  // counted and EMF-logged as every injection
  Response res = up.ok() ? std::move(*up) : BadGateway(head, up.status());
  res.keep_alive(keep);
  co_return co_await WriteAnswer(ex.socket, res);
}

// A body to pass through as it arrives (chunked, streaming mode, or with a
// Content-Length and not all read yet): copies the header, then the body
// (each piece as read; chunked: each piece as a chunk, then the trailers),
// then the Runtime API's answer back, relayed in the same way. An answer
// with an "after" plan gets its delay / timeout first, or is replaced
// whole (ReplaceStream).
Task<bool> StreamThrough(std::shared_ptr<State> st, http::Exchange& ex) {
  const InvocationTarget target = ParseTarget(Sv(ex.parser.get().target()));
  if (!target.id.empty()) {
    if (auto plan = Forget(*st, target.id)) {
      if (plan->delay_after.count() > 0) {
        co_await Wait(*st, plan->delay_after);
        st->Injected(Action::kLatency, plan->rule);
      }
      if (ReplacesStream(*plan, target)) co_return co_await ReplaceStream(st, ex, target, *plan);
      if (plan->action == Action::kTimeout && plan->phase == Phase::kAfter) {
        co_await Wait(*st, TimeoutWait(plan->deadline_ms, NowMs(), plan->timeout_buffer_ms));
        st->Injected(plan->action, plan->rule);
      }
    }
  }
  bhttp::request_header<> what;  // for error messages
  what.method_string(ex.parser.get().method_string());
  what.target(ex.parser.get().target());
  auto up = std::make_unique<Upstream>();
  // A body on its way cannot be sent again: no idle connection the Runtime
  // API has closed meanwhile.
  auto conn = co_await Take(*st, &up->reused);
  while (conn.ok() && up->reused && !Open(**conn)) conn = co_await Take(*st, &up->reused);
  if (!conn.ok()) {
    Request req(ex.parser.get().base());
    Response res = BadGateway(req, conn.status());
    res.keep_alive(false);  // the body is still on the wire
    co_await WriteAnswer(ex.socket, res);
    co_return false;
  }
  up->conn = std::move(*conn);
  up->reusable = ex.parser.keep_alive();
  Stream& upstream = *up->conn;
  boost::system::error_code ec;
  if (!ex.parser.chunked()) {
    // A Content-Length body: the header as read, then the body as it comes.
    const std::uint64_t length = ex.parser.content_length().value_or(0);
    bhttp::request_serializer<bhttp::empty_body> sr(ex.parser.get());
    co_await bhttp::async_write_header(upstream, sr, kRedirect(ec));
    if (!ec) ec = co_await RelayBody(*st, ex.socket, ex.buffer, upstream, length);
    if (ec) co_return false;
  } else {
    bhttp::request_parser<bhttp::buffer_body> in(std::move(ex.parser));
    in.body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::request<bhttp::empty_body> head(in.get().method(), in.get().target(),
                                           in.get().version());
    std::size_t header_fields = 0;
    for (const auto& f : in.get()) {
      head.insert(f.name_string(), f.value());
      ++header_fields;
    }
    bhttp::request_serializer<bhttp::empty_body> sr(head);
    co_await bhttp::async_write_header(upstream, sr, kRedirect(ec));
    if (ec) co_return false;
    // Beast reads at most the buffer's free capacity at a time.
    ex.buffer.reserve(kChunkedReadBuffer);
    RelayBuffer piece(*st);
    while (!in.is_done()) {
      in.get().body().data = piece.data();
      in.get().body().size = kRelayPiece;
      co_await bhttp::async_read_some(ex.socket, ex.buffer, in, kRedirect(ec));
      if (ec && ec != bhttp::error::need_buffer) co_return false;
      const std::size_t n = kRelayPiece - in.get().body().size;
      if (n == 0) continue;
      co_await asio::async_write(upstream, bhttp::make_chunk(asio::buffer(piece.data(), n)),
                                 kRedirect(ec));
      if (ec) co_return false;
    }
    bhttp::fields trailer;
    std::size_t i = 0;
    for (const auto& f : in.get()) {
      if (i++ >= header_fields) trailer.insert(f.name_string(), f.value());
    }
    co_await asio::async_write(upstream, bhttp::make_chunk_last(trailer), kRedirect(ec));
    if (ec) co_return false;
  }
  ec = co_await ReadHead(*up);
  if (ec) co_return false;
  if (Relayable(*up)) {
    const bool keep = co_await RelayAnswer(*st, *up, ex.socket);
    co_return keep && up->reusable;
  }
  auto res = co_await ReadWhole(*st, *up, what);
  if (!res.ok()) co_return false;
  const bool keep = co_await WriteAnswer(ex.socket, *res);
  co_return keep && up->reusable;
}

// The stream handler: requests the server hands over with their body still
// on the wire (see Streams()).
Task<bool> Through(std::shared_ptr<State> st, http::Exchange& ex) {
  const auto& h = ex.parser.get();
  if (ex.parser.is_done()) {  // no body: GET /next
    Request req(std::move(ex.parser.release().base()));
    co_return co_await HandleThrough(st, req, ex.socket);
  }
  const auto length = ex.parser.content_length();
  if (!ex.parser.chunked() && length && *length <= kWholeBodyLimit &&
      h.find("Lambda-Runtime-Function-Response-Mode") == h.end()) {
    const InvocationTarget target = ParseTarget(Sv(h.target()));
    const bool rule_needs_it = !target.id.empty() && st->pending.count(target.id) > 0;
    if (rule_needs_it || ex.buffer.size() >= *length) {
      // Whole: a rule rewrites it, or it is all here already (one write).
      Request req(std::move(ex.parser.release().base()));
      const auto ec = co_await ReadBody(ex.socket, ex.buffer, req.body(), *length);
      if (ec) co_return false;
      co_return co_await HandleThrough(st, req, ex.socket);
    }
  }
  co_return co_await StreamThrough(st, ex);
}

bool IsNext(const bhttp::request_header<>& h) {
  return h.method() == bhttp::verb::get && Sv(h.target()).ends_with("/runtime/invocation/next");
}

// Whether a request goes to the stream handler rather than being read whole
// by the server: GET /next (its answer is relayed), chunked and
// streaming-mode bodies, and bodies over kSmallBody (the server reads bodies
// in 512-byte pieces; the proxy relays them in large ones, or reads them whole
// with large reads when a rule needs them).
bool Streams(const bhttp::request_header<>& h) {
  if (HasChunked(h)) return true;
  if (h.find("Lambda-Runtime-Function-Response-Mode") != h.end()) return true;
  const auto length = h[bhttp::field::content_length];
  if (length.empty()) return IsNext(h);
  return static_cast<std::uint64_t>(ToInt(Sv(length))) > kSmallBody;
}

}  // namespace

Result<std::unique_ptr<Proxy>> Proxy::Start(asio::io_context& io, ProxyOptions options) {
  auto st = std::make_shared<State>(io, std::move(options));
  http::ServerOptions so;
  so.host = st->options.host;
  so.port = st->options.port;
  so.body_limit = kWholeBodyLimit;
  // The runtime's kept connection is quiet while the function runs (up to
  // 15 minutes) before it posts the answer on it.
  so.idle_timeout = std::chrono::minutes(16);
  std::weak_ptr<State> weak = st;
  so.streams = Streams;
  so.stream_handler = [weak](http::Exchange& ex) -> Task<bool> {
    auto s = weak.lock();
    if (!s) co_return false;
    co_return co_await Through(s, ex);
  };
  auto server = http::Server::Listen(io, std::move(so), [weak](Request& req) -> Task<Response> {
    auto s = weak.lock();
    if (!s) co_return http::MakeResponse(req, bhttp::status::service_unavailable, "{}");
    co_return co_await Handle(s, req);
  });
  if (!server.ok()) return server.status().WithContext("runtime API proxy");
  st->server = std::move(*server);
  const std::uint16_t port = st->server->port();
  return std::unique_ptr<Proxy>(new Proxy(std::move(st), port));
}

Proxy::~Proxy() { Stop(); }

void Proxy::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  state_->server->Stop();
  state_->idle.clear();
}

}  // namespace faultline::extension
