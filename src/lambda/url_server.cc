// Function URLs served: one loopback listener per URL; each HTTP request is
// an invocation with a payload format 2.0 event (function_urls.h), its
// answer the function's, as AWS's function URLs give it.
//
//   request --(AWS_IAM: SigV4)--> event --StartInvocation--> Run --> answer
//     BUFFERED:        the whole answer (a proxy-integration object or a value)
//     RESPONSE_STREAM: the prelude's status and headers, then the body as the
//                      function streams it (chunked)
//   throttled: 429; a function error, a timeout, a crash: 502
#include <fmt/format.h>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

namespace {

// A plain answer of a function URL (errors are {"Message": ...} with
// x-amzn-ErrorType, as AWS's).
Response UrlError(unsigned version, bool keep_alive, bhttp::status status, std::string_view type,
                  std::string_view message) {
  Response res(status, version);
  res.set(bhttp::field::content_type, "application/json");
  if (!type.empty()) res.set("x-amzn-ErrorType", std::string(type));
  res.keep_alive(keep_alive);
  res.body() = json{{"Message", message}}.dump();
  res.prepare_payload();
  return res;
}

Response InternalServerError(const Request& req) {
  Response res(bhttp::status::bad_gateway, req.version());
  res.set(bhttp::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  res.body() = "Internal Server Error";
  res.prepare_payload();
  return res;
}

Response Whole(const Request& req, const UrlAnswer& answer) {
  Response res(static_cast<bhttp::status>(answer.status), req.version());
  for (const auto& [k, v] : answer.headers) res.insert(k, v);
  res.keep_alive(req.keep_alive());
  res.body() = answer.body;
  res.prepare_payload();
  return res;
}

// 32 characters of [a-z0-9], as AWS's url-ids.
std::string NewUrlId(Random& rng) {
  static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  while (id.size() < 32) {
    std::uint64_t v = rng.Next();
    for (int i = 0; i < 10 && id.size() < 32; ++i, v /= kChars.size()) {
      id += kChars[v % kChars.size()];
    }
  }
  return id;
}

// A RESPONSE_STREAM answer as the function streams it: the head once known
// (a streaming HTTP answer's prelude, else 200 with the runtime's content
// type), then a chunk for each piece. A function that does not stream gets
// a whole answer, as in BUFFERED mode.
class UrlStream {
 public:
  UrlStream(http::tcp::socket& socket, const Request& req, std::string request_id)
      : socket_(socket), req_(req), request_id_(std::move(request_id)) {}

  // Forwards what the runtime streamed since the last call.
  Task<void> Feed(Invocation& inv) {
    if (inv.pending.empty() || !connected_) co_return;
    std::string bytes;
    bytes.swap(inv.pending);
    if (!head_sent_) {
      held_ += bytes;
      bytes.clear();
      UrlAnswer head;
      if (inv.content_type == kHttpIntegrationContentType) {
        std::optional<Prelude> prelude = ParsePrelude(held_);
        if (!prelude) co_return;  // not all of it yet
        head = std::move(prelude->head);
        bytes = held_.substr(prelude->length);
      } else {
        head.headers.emplace_back("Content-Type", inv.content_type);
        bytes = std::move(held_);
      }
      held_.clear();
      co_await Head(head);
    }
    if (!bytes.empty() && connected_) {
      co_await asio::async_write(socket_, bhttp::make_chunk(asio::buffer(bytes)), Redirect());
      connected_ = !ec_;
    }
  }
  // The end: the last chunk, or a whole answer when nothing was streamed.
  // Returns whether the connection may carry another request.
  Task<bool> Finish(const Invocation& inv) {
    if (!head_sent_) {
      Response res = inv.outcome != Invocation::Outcome::kSuccess ? InternalServerError(req_)
                     : inv.streaming ? Whole(req_, UrlAnswerOf(held_, inv.content_type))
                                     : Whole(req_, UrlAnswerOf(inv.body, inv.content_type));
      res.set("x-amzn-RequestId", request_id_);
      co_await bhttp::async_write(socket_, res, Redirect());
      co_return !ec_ && res.keep_alive();
    }
    // Failed mid-stream: closing without the last chunk tells the caller the
    // body is incomplete.
    if (inv.outcome != Invocation::Outcome::kSuccess || !connected_) co_return false;
    co_await asio::async_write(socket_, bhttp::make_chunk_last(), Redirect());
    co_return !ec_ && req_.keep_alive();
  }

 private:
  auto Redirect() -> decltype(asio::redirect_error(asio::use_awaitable,
                                                   std::declval<boost::system::error_code&>())) {
    return asio::redirect_error(asio::use_awaitable, ec_);
  }
  Task<void> Head(const UrlAnswer& head) {
    bhttp::response<bhttp::empty_body> res(static_cast<bhttp::status>(head.status), req_.version());
    for (const auto& [k, v] : head.headers) res.insert(k, v);
    res.set("x-amzn-RequestId", request_id_);
    res.keep_alive(req_.keep_alive());
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer(res);
    co_await bhttp::async_write_header(socket_, serializer, Redirect());
    head_sent_ = true;
    connected_ = !ec_;
  }

  http::tcp::socket& socket_;
  const Request& req_;
  std::string request_id_;
  std::string held_;  // streamed bytes before the head is known
  bool head_sent_ = false;
  bool connected_ = true;
  boost::system::error_code ec_;
};

}  // namespace

Task<bool> Platform::StreamUrlAnswer(Function& fn, std::shared_ptr<Invocation> inv,
                                     std::shared_ptr<Environment> env, const Request& req,
                                     http::Exchange& ex) {
  UrlStream out(ex.socket, req, inv->id);
  if (env) co_await Run(fn, env, inv, [&]() { return out.Feed(*inv); });
  co_await out.Feed(*inv);
  co_return co_await out.Finish(*inv);
}

Result<std::shared_ptr<FunctionUrl>> Platform::OpenUrl(Function& fn, const std::string& qualifier,
                                                       UrlSettings settings) {
  auto url = std::make_shared<FunctionUrl>();
  url->qualifier = qualifier;
  url->settings = std::move(settings);
  url->url_id = NewUrlId(rng);
  url->creation_time = url->last_modified = IsoNow();
  std::weak_ptr<Platform> weak = weak_from_this();
  std::weak_ptr<FunctionUrl> weak_url = url;
  Function* function = &fn;
  auto handler = [weak, weak_url, function](http::Exchange& ex) -> Task<bool> {
    auto self = weak.lock();
    auto u = weak_url.lock();
    if (!self || !u) co_return false;
    co_return co_await self->ServeUrl(*function, u, ex);
  };
  auto server = http::Server::Listen(
      io,
      http::ServerOptions{.host = options.host,
                          .port = 0,
                          .body_limit = kMaxApiBody,
                          .streams = [](const bhttp::request_header<>&) { return true; },
                          .stream_handler = handler},
      [](Request& req) -> Task<Response> {  // not reached: every request streams
        co_return http::MakeResponse(req, bhttp::status::internal_server_error, "");
      });
  if (!server.ok()) return server.status();
  url->server = std::move(*server);
  const std::string host = options.host == "0.0.0.0" ? "127.0.0.1" : options.host;
  url->address = fmt::format("http://{}:{}/", host, url->server->port());
  return url;
}

// Reads a function URL request whole: the request, or false when the
// connection is done (an answer, 413, written already).
Task<std::variant<Request, bool>> Platform::ReadUrlRequest(http::Exchange& ex) {
  boost::system::error_code ec;
  bhttp::request_parser<bhttp::string_body> parser(std::move(ex.parser));
  parser.body_limit(kMaxPayload);
  if (!parser.is_done()) {
    ex.deadline.Reading();  // a client that stops sending is cut off
    co_await bhttp::async_read(ex.socket, ex.buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
    ex.deadline.NotReading();  // then the function runs as long as it may
  }
  if (ec == bhttp::error::body_limit) {
    Response res = UrlError(parser.get().version(), false, bhttp::status::payload_too_large,
                            "RequestEntityTooLargeException",
                            fmt::format("Request must be smaller than {} bytes for the "
                                        "InvokeFunction operation",
                                        kMaxPayload));
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return false;
  }
  if (ec) co_return false;
  co_return parser.release();
}

Task<bool> Platform::ServeUrl(Function& fn, std::shared_ptr<FunctionUrl> url, http::Exchange& ex) {
  auto read = co_await ReadUrlRequest(ex);
  if (auto* done = std::get_if<bool>(&read)) co_return *done;
  Request& req = std::get<Request>(read);
  auto write = [&ex](Response res) -> Task<bool> {
    boost::system::error_code ec;
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && res.keep_alive();
  };
  UrlContext ctx{.account_id = options.account_id, .epoch_ms = EpochMs()};
  if (url->settings.auth_type == "AWS_IAM") {
    if (RefuseUnsigned(req)) {
      co_return co_await write(UrlError(req.version(), req.keep_alive(), bhttp::status::forbidden,
                                        "AccessDeniedException", "Forbidden"));
    }
    ctx.access_key_id = options.credentials ? options.credentials->access_key_id : "";
  }
  UrlRequest http_req{.method = std::string(req.method_string()),
                      .target = std::string(req.target()),
                      .body = req.body()};
  for (const auto& field : req) {
    http_req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  boost::system::error_code ec;
  const auto peer = ex.socket.remote_endpoint(ec);
  http_req.source_ip = ec ? "127.0.0.1" : peer.address().to_string();
  ctx.url_id = url->url_id;
  const bool stream = url->settings.invoke_mode == "RESPONSE_STREAM";
  InvocationInput input{.trace_id = TraceIdFrom(std::string(req["X-Amzn-Trace-Id"]), rng),
                        .to_caller = stream};
  if (!url->qualifier.empty()) {  // an alias's URL: its version (a weighted one may route)
    std::optional<Resolved> resolved = Resolve(url->qualifier, fn.versions, fn.aliases, routing);
    if (!resolved) {
      co_return co_await write(UrlError(req.version(), req.keep_alive(), bhttp::status::forbidden,
                                        "AccessDeniedException", "Forbidden"));
    }
    input.version = resolved->version;
    input.invoked_arn = fn.arn + ":" + url->qualifier;
  }
  // The request id is in the event: make the invocation first, then fill it.
  auto started = StartUrlInvocation(fn, http_req, ctx, input);
  if (std::holds_alternative<Throttle>(started)) {
    co_return co_await write(UrlError(req.version(), req.keep_alive(),
                                      bhttp::status::too_many_requests, "TooManyRequestsException",
                                      "Rate Exceeded."));
  }
  const auto [inv, env] = std::get<Begun>(std::move(started));
  if (stream) co_return co_await StreamUrlAnswer(fn, inv, env, req, ex);
  if (env) co_await Run(fn, env, inv);
  Response res = inv->outcome == Invocation::Outcome::kSuccess
                     ? Whole(req, UrlAnswerOf(inv->body, inv->content_type))
                     : InternalServerError(req);
  res.set("x-amzn-RequestId", inv->id);
  co_return co_await write(std::move(res));
}

// StartInvocation with the event built around the invocation's request id.
std::variant<Platform::Throttle, Platform::Begun> Platform::StartUrlInvocation(
    Function& fn, const UrlRequest& req, UrlContext ctx, InvocationInput input) {
  auto started = StartInvocation(fn, input, io.get_executor());
  if (auto* begun = std::get_if<Begun>(&started)) {
    ctx.request_id = begun->inv->id;
    begun->inv->payload = UrlEventPayload(req, ctx);
  }
  return started;
}

}  // namespace faultline::lambda
