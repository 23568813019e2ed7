#include "extension/proxy.h"

#include <fmt/format.h>

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

// Bodies up to this size are read whole (the Runtime API's limit is 6 MiB +
// 100 bytes); larger and chunked ones go through as a stream.
constexpr std::uint64_t kWholeBodyLimit = 8 * 1024 * 1024;
// Idle upstream connections kept for reuse.
constexpr std::size_t kMaxIdle = 32;
// Invocations whose "after" part waits for the runtime's answer; the oldest
// is forgotten beyond this (a runtime that never answered).
constexpr std::size_t kMaxPending = 1024;
// Rounds of "the event was answered for the runtime, poll /next again" in
// one GET /next from the runtime.
constexpr int kMaxRounds = 1000;

using Stream = beast::tcp_stream;

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
  bool stopped = false;

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
    co_await s->async_connect(tcp::endpoint(address, st.options.upstream_port),
                              asio::redirect_error(asio::use_awaitable, ec));
  } else {
    tcp::resolver resolver(st.io);
    auto eps = co_await resolver.async_resolve(st.options.upstream_host,
                                               std::to_string(st.options.upstream_port),
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await s->async_connect(eps, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    co_return Status::Unavailable(fmt::format("cannot connect to the Runtime API {}:{}: {}",
                                              st.options.upstream_host, st.options.upstream_port,
                                              ec.message()));
  }
  s->socket().set_option(tcp::no_delay(true), ec);
  co_return s;
}

void Give(State& st, std::unique_ptr<Stream> s) {
  if (st.stopped || st.idle.size() >= kMaxIdle) return;
  st.idle.push_back(std::move(s));
}

// Sends `req` to the Runtime API and reads its answer. A reused connection
// that turns out closed before any answer byte is retried once on a new one.
Task<Result<Response>> Send(State& st, const Request& req) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto conn = co_await Take(st, &reused);
    if (!conn.ok()) co_return conn.status();
    Stream& s = **conn;
    boost::system::error_code ec;
    co_await bhttp::async_write(s, req, asio::redirect_error(asio::use_awaitable, ec));
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) {
      co_await bhttp::async_read(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      const bool nothing_read = !parser.got_some() && buffer.size() == 0;
      if (reused && nothing_read && attempt == 0) continue;
      co_return Status::Unavailable(fmt::format("Runtime API {} {}: {}",
                                                std::string(req.method_string()),
                                                std::string(req.target()), ec.message()));
    }
    Response res = parser.release();
    if (res.keep_alive() && req.keep_alive()) Give(st, std::move(*conn));
    co_return res;
  }
}

Task<void> Wait(State& st, std::chrono::nanoseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer timer(st.io, d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
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
Task<Response> Next(std::shared_ptr<State> st, Request& req) {
  const InvocationTarget target = ParseTarget(Sv(req.target()));
  for (int round = 0;; ++round) {
    auto up = co_await Send(*st, req);
    if (!up.ok()) co_return BadGateway(req, up.status());
    Response& res = *up;
    if (res.result() != bhttp::status::ok || round >= kMaxRounds) co_return std::move(res);
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
    co_return co_await Next(st, req);
  }
  if (!target.id.empty() && req.method() == bhttp::verb::post &&
      (target.what == "response" || target.what == "error") && st->pending.count(target.id)) {
    co_return co_await Answer(st, req, target);
  }
  auto up = co_await Send(*st, req);
  if (!up.ok()) co_return BadGateway(req, up.status());
  co_return std::move(*up);
}

// A body to pass through as it arrives (chunked, streaming mode, or larger
// than kWholeBodyLimit): copies the header, then each piece, then the
// trailers, and the Runtime API's answer back.
Task<bool> StreamThrough(std::shared_ptr<State> st, http::Exchange& ex) {
  bhttp::request_parser<bhttp::buffer_body> in(std::move(ex.parser));
  in.body_limit(std::numeric_limits<std::uint64_t>::max());
  const InvocationTarget target = ParseTarget(Sv(in.get().target()));
  if (!target.id.empty()) {
    // A streamed answer: only the "after" delay applies (a rewrite would
    // need the whole body, which a stream does not wait for).
    if (auto plan = Forget(*st, target.id); plan && plan->delay_after.count() > 0) {
      co_await Wait(*st, plan->delay_after);
      st->Injected(Action::kLatency, plan->rule);
    }
  }
  bool reused = false;
  auto conn = co_await Take(*st, &reused);
  if (!conn.ok()) co_return false;
  Stream& up = **conn;
  bhttp::request<bhttp::empty_body> head(in.get().method(), in.get().target(), in.get().version());
  std::size_t header_fields = 0;
  for (const auto& f : in.get()) {
    head.insert(f.name_string(), f.value());
    ++header_fields;
  }
  const bool chunked = in.chunked();
  boost::system::error_code ec;
  bhttp::request_serializer<bhttp::empty_body> sr(head);
  co_await bhttp::async_write_header(up, sr, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  std::vector<char> buf(64 * 1024);
  while (!in.is_done()) {
    in.get().body().data = buf.data();
    in.get().body().size = buf.size();
    co_await bhttp::async_read_some(ex.socket, ex.buffer, in,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec && ec != bhttp::error::need_buffer) co_return false;
    const std::size_t n = buf.size() - in.get().body().size;
    if (n == 0) continue;
    if (chunked) {
      co_await asio::async_write(up, bhttp::make_chunk(asio::buffer(buf.data(), n)),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(up, asio::buffer(buf.data(), n),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return false;
  }
  if (chunked) {
    bhttp::fields trailer;
    std::size_t i = 0;
    for (const auto& f : in.get()) {
      if (i++ >= header_fields) trailer.insert(f.name_string(), f.value());
    }
    co_await asio::async_write(up, bhttp::make_chunk_last(trailer),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
  }
  beast::flat_buffer up_buffer;
  bhttp::response_parser<bhttp::string_body> rp;
  rp.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await bhttp::async_read(up, up_buffer, rp, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  Response res = rp.release();
  const bool keep = res.keep_alive() && in.keep_alive();
  co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  if (res.keep_alive()) Give(*st, std::move(*conn));
  co_return keep;
}

// Whether a request goes through as a stream: chunked and streaming-mode
// bodies, and bodies over kWholeBodyLimit. (Cut-through of every large body
// measured slower than store-and-forward with 64 KiB pieces: see
// docs/performance.md.)
bool Streams(const bhttp::request_header<>& h) {
  if (HasChunked(h)) return true;
  if (h.find("Lambda-Runtime-Function-Response-Mode") != h.end()) return true;
  const auto length = h[bhttp::field::content_length];
  return !length.empty() && static_cast<std::uint64_t>(ToInt(Sv(length))) > kWholeBodyLimit;
}

}  // namespace

Result<std::unique_ptr<Proxy>> Proxy::Start(asio::io_context& io, ProxyOptions options) {
  auto st = std::make_shared<State>(io, std::move(options));
  http::ServerOptions so;
  so.host = st->options.host;
  so.port = st->options.port;
  so.body_limit = kWholeBodyLimit;
  std::weak_ptr<State> weak = st;
  so.streams = Streams;
  so.stream_handler = [weak](http::Exchange& ex) -> Task<bool> {
    auto s = weak.lock();
    if (!s) co_return false;
    co_return co_await StreamThrough(s, ex);
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
