// The Runtime API 2018-06-01, one per execution environment on its own
// loopback port: /next (a long poll), /response (whole or streamed),
// /error, /init/error. The Extensions API shares the port.
#include <fmt/format.h>

#include "http/encoding.h"
#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

Task<Response> Platform::HandleRuntime(std::shared_ptr<Environment> env, Request& req) {
  const PathParts p = SplitPath(std::string_view(req.target().data(), req.target().size()));
  const bool post = req.method() == bhttp::verb::post;
  if (p.size() >= 3 && p[0] == "2020-01-01" && p[1] == "extension") {
    std::string what(p[2]);
    for (std::size_t i = 3; i < p.size(); ++i) what.append("/").append(p[i]);
    co_return co_await HandleExtension(env, req, what);
  }
  const bool runtime = p.size() >= 4 && p[0] == "2018-06-01" && p[1] == "runtime";
  if (runtime && p.size() == 4 && p[2] == "invocation" && p[3] == "next" &&
      req.method() == bhttp::verb::get) {
    co_return co_await NextInvocation(env, req);
  }
  if (runtime && post && p.size() == 4 && p[2] == "init" && p[3] == "error") {
    co_return InitError(env, req);
  }
  if (runtime && post && p.size() == 5 && p[2] == "invocation" &&
      (p[4] == "response" || p[4] == "error")) {
    co_return co_await AnswerInvocation(env, req, p[3], p[4] == "error");
  }
  co_return RuntimeError(req, bhttp::status::not_found, "InvalidRequest",
                         fmt::format("no such Runtime API endpoint: {} {}",
                                     std::string(req.method_string()), std::string(req.target())));
}

namespace {

// The INVOKE event of the Extensions API for `inv`.
std::string InvokeEvent(const Invocation& inv) {
  return json{{"eventType", "INVOKE"},
              {"deadlineMs", inv.deadline_epoch_ms},
              {"requestId", inv.id},
              {"invokedFunctionArn", inv.invoked_arn},
              {"tracing", {{"type", "X-Amzn-Trace-Id"}, {"value", inv.trace_id}}}}
      .dump();
}

}  // namespace

// GET /runtime/invocation/next: a long poll until the environment has an
// invocation to deliver (and its init is done).
Task<Response> Platform::NextInvocation(std::shared_ptr<Environment> env, Request& req) {
  if (!env->runtime_ready) {
    env->runtime_ready = true;
    MaybeInitDone(*env);
  }
  http::Event wake(co_await asio::this_coro::executor);
  for (;;) {
    // While extensions handle SHUTDOWN the runtime just waits, as a
    // frozen one would.
    if (!env->Alive() && !env->draining) {
      co_return RuntimeError(req, bhttp::status::gone, "Runtime.Gone",
                             "the execution environment is shutting down");
    }
    if (env->Alive() && env->init_ms && env->current && !env->current->delivered) break;
    auto it = env->next_waiters.insert(env->next_waiters.end(), &wake);
    co_await wake.Wait();
    env->next_waiters.erase(it);
    // Poked (the usual wake-up) leaves it reusable; Set does not.
    if (wake.is_set()) wake = http::Event(co_await asio::this_coro::executor);
  }
  Invocation& inv = *env->current;
  Function& fn = *env->fn;
  inv.delivered = true;
  inv.delivered_at = Steady::now();
  inv.deadline = inv.delivered_at + env->config->timeout;
  inv.deadline_epoch_ms = EpochMs() + env->config->timeout.count();
  env->state = Environment::State::kBusy;
  // Not poking Run: it looks at the new deadline by itself (see Run).
  FlushReport(*env);  // the previous invocation's END and REPORT first
  Log(fn, "START RequestId: " + inv.id + " Version: " + inv.version, &inv);
  std::string event;  // INVOKE, for the extensions subscribed to it
  for (auto& ext : env->extensions) {
    if (!ext->invoke) continue;
    if (event.empty()) event = InvokeEvent(inv);
    ext->events.push_back(event);
    for (http::Event* w : ext->waiters) w->Poke();
  }
  Response res = http::MakeResponse(req, bhttp::status::ok, inv.payload);
  res.set("Lambda-Runtime-Aws-Request-Id", inv.id);
  res.set("Lambda-Runtime-Deadline-Ms", std::to_string(inv.deadline_epoch_ms));
  res.set("Lambda-Runtime-Invoked-Function-Arn", inv.invoked_arn);
  res.set("Lambda-Runtime-Trace-Id", inv.trace_id);
  if (!inv.client_context.empty()) res.set("Lambda-Runtime-Client-Context", inv.client_context);
  co_return res;
}

// POST /runtime/init/error: the environment fails to start.
Response Platform::InitError(const std::shared_ptr<Environment>& env, Request& req) {
  const std::string type = std::string(req["Lambda-Runtime-Function-Error-Type"]);
  if (env->runtime_ready) {
    return RuntimeError(req, bhttp::status::forbidden, "InvalidStateTransition",
                        "init/error after the runtime has initialised");
  }
  Log(*env->fn,
      fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\t"
                  "Error Type: {}",
                  MsSince(env->started_at), type.empty() ? "Runtime.Unknown" : type),
      env->current.get());
  if (env->current) {
    env->current->body =
        req.body().empty() ? json{{"errorType", type}, {"errorMessage", ""}}.dump() : req.body();
    env->current->error_type = type.empty() ? "Runtime.Unknown" : type;
    env->current->report_status = "error";
    Finish(env, Invocation::Outcome::kFunctionError);
  }
  StopEnvironment(env, "init error");
  return Accepted(req);
}

// POST /runtime/invocation/{id}/response or /error, read whole.
Task<Response> Platform::AnswerInvocation(std::shared_ptr<Environment> env, Request& req,
                                          std::string_view id, bool error) {
  if (!env->current || env->current->id != id || !env->current->delivered ||
      env->current->outcome != Invocation::Outcome::kPending) {
    if (env->WasAnswered(id)) {
      co_return RuntimeError(req, bhttp::status::forbidden, "InvalidStateTransition",
                             fmt::format("Invalid state transition: the invocation {} was "
                                         "already answered",
                                         id));
    }
    co_return RuntimeError(req, bhttp::status::bad_request, "InvalidRequestID",
                           "Invalid request ID");
  }
  Invocation& inv = *env->current;
  if (!error) {
    const auto mode = req["Lambda-Runtime-Function-Response-Mode"];
    if (!mode.empty() && mode != "streaming") {
      co_return RuntimeError(req, bhttp::status::bad_request, "Runtime.InvalidResponseModeHeader",
                             "Invalid Lambda-Runtime-Function-Response-Mode");
    }
    inv.body = std::move(req.body());
    if (auto ct = req[bhttp::field::content_type]; !ct.empty()) inv.content_type = std::string(ct);
    Finish(env, Invocation::Outcome::kSuccess, /*defer_report=*/true);
  } else {
    std::string type(req["Lambda-Runtime-Function-Error-Type"]);
    inv.body = req.body().empty() ? json{{"errorType", type}, {"errorMessage", ""}}.dump()
                                  : std::move(req.body());
    inv.error_type = type.empty() ? "Function.Unknown" : type;
    Finish(env, Invocation::Outcome::kFunctionError, /*defer_report=*/true);
  }
  // The caller first: Finish queued its coroutine, and yielding once lets
  // it write the answer before the runtime gets its 202 (writing the 202
  // first put the runtime's wake-up ahead of the caller's answer). END
  // and REPORT (a /proc read) after both.
  co_await asio::post(io, asio::use_awaitable);
  PostFlushReport(env);
  co_return Accepted(req);
}

// The invocation a streamed POST /runtime/invocation/{id}/response is for,
// or the Runtime API's answer refusing it (404 path, 400 unknown id, 403
// already answered).
std::variant<std::shared_ptr<Invocation>, Response> Platform::StreamTarget(
    const Environment& env, const bhttp::request<bhttp::empty_body>& head) const {
  const PathParts p = SplitPath(std::string_view(head.target().data(), head.target().size()));
  if (p.size() != 5 || p[0] != "2018-06-01" || p[1] != "runtime" || p[2] != "invocation") {
    return RuntimeError(
        head, bhttp::status::not_found, "InvalidRequest",
        fmt::format("no such Runtime API endpoint: POST {}", std::string(head.target())));
  }
  const std::string id(p[3]);
  std::shared_ptr<Invocation> inv = env.current;
  if (!inv || inv->id != id || !inv->delivered || inv->outcome != Invocation::Outcome::kPending) {
    if (env.WasAnswered(id)) {
      return RuntimeError(
          head, bhttp::status::forbidden, "InvalidStateTransition",
          "Invalid state transition: the invocation " + id + " was already answered");
    }
    return RuntimeError(head, bhttp::status::bad_request, "InvalidRequestID", "Invalid request ID");
  }
  return inv;
}

// The stream has ended: error trailers make it a function error.
void Platform::EndStream(const std::shared_ptr<Environment>& env, Invocation& inv,
                         const bhttp::fields& whole) {
  const std::string type(whole["Lambda-Runtime-Function-Error-Type"]);
  if (type.empty()) {
    Finish(env, Invocation::Outcome::kSuccess);
    return;
  }
  const auto encoded = whole["Lambda-Runtime-Function-Error-Body"];
  std::string body =
      http::Base64Decode(std::string_view(encoded.data(), encoded.size())).value_or("");
  inv.body = body.empty() ? PlatformError(type, "") : std::move(body);
  inv.error_type = type;
  Log(*env->fn,
      fmt::format("RequestId: {} Error: the response stream ended with error {} after {} bytes",
                  inv.id, type, inv.response_bytes),
      &inv);
  Finish(env, Invocation::Outcome::kFunctionError);
}

// POST /runtime/invocation/{id}/response in streaming mode: the body is
// read as it arrives and each piece goes on at once, to a streaming caller
// (inv.pending, forwarded by InvokeWithResponseStream) or into the whole
// answer (inv.body). Error trailers after the body make it a function error;
// the runtime gets its 202 when the stream ends.
//
//   runtime --chunk--> pending --Poke--> caller's coroutine --PayloadChunk--> caller
Task<bool> Platform::StreamedResponse(std::shared_ptr<Environment> env, http::Exchange& ex) {
  // The body is not read when answering early: close the connection after.
  auto answer = [&ex](Response res) -> Task<bool> {
    res.keep_alive(false);
    boost::system::error_code ec;
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return false;
  };
  auto target = StreamTarget(*env, ex.parser.get());
  if (auto* refused = std::get_if<Response>(&target))
    co_return co_await answer(std::move(*refused));
  std::shared_ptr<Invocation> inv = std::get<std::shared_ptr<Invocation>>(std::move(target));
  inv->streaming = true;
  const auto& head = ex.parser.get();
  if (auto ct = head[bhttp::field::content_type]; !ct.empty()) inv->content_type = std::string(ct);
  // No read deadline: a streaming function may pause as long as it likes
  // within its timeout, which stops the environment (and this read).
  bhttp::request_parser<bhttp::buffer_body> parser(std::move(ex.parser));
  std::vector<char> buf(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = buf.data();
    parser.get().body().size = buf.size();
    boost::system::error_code ec;
    co_await bhttp::async_read_some(ex.socket, ex.buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    // Lost mid-stream (the runtime died, or a timeout stopped the
    // environment): Run and Tick say what happened to the invocation.
    if (ec && ec != bhttp::error::need_buffer) co_return false;
    const std::size_t n = buf.size() - parser.get().body().size;
    if (n == 0 || inv->outcome != Invocation::Outcome::kPending) continue;
    inv->response_bytes += n;
    if (inv->response_bytes > inv->limit) {
      inv->body = PlatformError(
          "Function.ResponseSizeTooLarge",
          fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).",
                      inv->limit));
      inv->error_type = "Function.ResponseSizeTooLarge";
      Finish(env, Invocation::Outcome::kFunctionError);
      co_return co_await answer(RuntimeError(
          parser.get(), bhttp::status::payload_too_large, "RequestEntityTooLarge",
          fmt::format("Exceeded maximum allowed payload size ({} bytes).", inv->limit)));
    }
    (inv->to_caller ? inv->pending : inv->body).append(buf.data(), n);
    if (inv->to_caller) inv->done.Poke();
  }
  if (env->current == inv && inv->outcome == Invocation::Outcome::kPending) {
    EndStream(env, *inv, parser.get());
  }
  Response res = Accepted(parser.get());
  boost::system::error_code ec;
  co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && res.keep_alive();
}

}  // namespace faultline::lambda
