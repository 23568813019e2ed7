// The Invoke API: Invoke (RequestResponse, Event, DryRun) and
// InvokeWithResponseStream (AWS's event stream).
#include <fmt/format.h>

#include "http/encoding.h"
#include "http/eventstream.h"
#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

namespace {

// A backlog of streamed bytes goes out in PayloadChunk events of at most this.
constexpr std::size_t kMaxStreamEventPayload = 1024 * 1024;
// X-Amz-Log-Type: Tail returns this much of the invocation's log.
constexpr std::size_t kTailBytes = 4096;

}  // namespace

// Invoke and management APIs

namespace {

// AWS's limit for an Event invocation's payload (1 MB since October 2025).
constexpr std::size_t kMaxAsyncPayload = 1024 * 1024;

// A payload that is not JSON: AWS's 400, before any function runs. (AWS's
// message quotes its JSON parser, Jackson; ours names nlohmann's finding.)
std::optional<std::string> NotJson(std::string_view payload) {
  if (payload.empty() || json::accept(payload)) return std::nullopt;
  try {
    const json parsed = json::parse(payload);  // accept() said no: this throws
    return parsed.is_discarded() ? "Could not parse request body into json" : "not JSON";
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (const std::size_t colon = what.find("syntax error"); colon != std::string::npos) {
      what = what.substr(colon);
    }
    return fmt::format(
        "Could not parse request body into json: Could not parse payload into "
        "json: {} (byte {})",
        what, e.byte);
  }
}

}  // namespace

// What the request is, or why it is refused (AWS's answer), before anything
// runs.
std::variant<Response, Platform::InvokeRequest> Platform::ReadInvokeRequest(const Request& req,
                                                                            bool to_caller) {
  std::string type(req["X-Amz-Invocation-Type"]);
  if (type.empty()) type = "RequestResponse";
  if (type != "RequestResponse" && type != "DryRun" && (type != "Event" || to_caller)) {
    return InvalidParameter(req, fmt::format("X-Amz-Invocation-Type: expected {}, got \"{}\"",
                                             to_caller ? "RequestResponse or DryRun"
                                                       : "RequestResponse, Event or DryRun",
                                             type));
  }
  const std::size_t size = req.body().size();
  if (size > kMaxPayload) {
    return AwsError(
        req, bhttp::status::payload_too_large, "RequestEntityTooLargeException",
        fmt::format("Request must be smaller than {} bytes for the {} operation", kMaxPayload,
                    to_caller ? "InvokeWithResponseStream" : "InvokeFunction"));
  }
  if (type == "Event" && size > kMaxAsyncPayload) {
    return AwsError(req, bhttp::status::payload_too_large, "RequestEntityTooLargeException",
                    fmt::format("{} byte payload is too large for the Event invocation type "
                                "(limit {} bytes)",
                                size, kMaxAsyncPayload));
  }
  if (auto why = NotJson(req.body())) {
    return AwsError(req, bhttp::status::bad_request, "InvalidRequestContentException", *why);
  }
  InvokeRequest out{.type = type};
  if (auto cc = req["X-Amz-Client-Context"]; !cc.empty()) {
    auto decoded = http::Base64Decode(std::string_view(cc.data(), cc.size()));
    if (!decoded) {
      return InvalidParameter(req, "X-Amz-Client-Context: expected base64-encoded JSON");
    }
    out.client_context = std::move(*decoded);
  }
  return out;
}

// Validates an invocation request and starts it: an answer now (an error,
// a throttle, DryRun, an accepted Event), or the invocation and the
// environment that runs it. `to_caller`: InvokeWithResponseStream.
Task<std::variant<Response, Platform::Begun>> Platform::BeginInvoke(Function& fn, Request& req,
                                                                    bool to_caller) {
  auto read = ReadInvokeRequest(req, to_caller);
  if (auto* refused = std::get_if<Response>(&read)) co_return std::move(*refused);
  InvokeRequest& what = std::get<InvokeRequest>(read);
  auto resolved = ResolveQualifier(req, fn);
  if (auto* refused = std::get_if<Response>(&resolved)) co_return std::move(*refused);
  const Resolved& version = std::get<Resolved>(resolved);
  if (what.type == "DryRun") {
    co_return http::MakeResponse(req, bhttp::status::no_content, "", "");
  }
  const InvocationInput input{
      .payload = req.body().empty() ? "{}" : std::move(req.body()),
      .trace_id = TraceIdFrom(std::string(req["X-Amzn-Trace-Id"]), rng),
      .client_context = std::move(what.client_context),
      .tail = req["X-Amz-Log-Type"] == "Tail",
      .to_caller = to_caller,
      .version = version.version,
      .invoked_arn = version.qualifier.empty() ? fn.arn : fn.arn + ":" + version.qualifier};
  if (what.type == "Event") {
    QueuedEvent ev{.request_id = NewRequestId(rng),
                   .payload = input.payload,
                   .trace_id = input.trace_id,
                   .client_context = input.client_context,
                   .version = input.version,
                   .qualifier = version.qualifier};
    Response res = http::MakeResponse(req, bhttp::status::accepted, "", "");
    res.set("X-Amzn-RequestId", ev.request_id);
    Enqueue(fn, std::move(ev));
    co_return res;
  }
  auto started = StartInvocation(fn, input, co_await asio::this_coro::executor);
  if (auto* t = std::get_if<Throttle>(&started)) {
    co_return AwsError(req, bhttp::status::too_many_requests, "TooManyRequestsException",
                       "Rate Exceeded.", json{{"Reason", t->reason}});
  }
  co_return std::get<Begun>(std::move(started));
}

std::shared_ptr<Invocation> Platform::NewInvocation(const Function& fn,
                                                    const InvocationInput& input,
                                                    asio::any_io_executor ex) {
  auto inv = std::make_shared<Invocation>(ex);
  inv->id = input.request_id.empty() ? NewRequestId(rng) : input.request_id;
  inv->payload = input.payload;
  inv->trace_id = input.trace_id.empty() ? NewTraceId(rng) : input.trace_id;
  inv->client_context = input.client_context;
  inv->tail = input.tail;
  inv->to_caller = input.to_caller;
  inv->version = input.version;
  inv->invoked_arn = input.invoked_arn.empty() ? fn.arn : input.invoked_arn;
  return inv;
}

// A synchronous invocation, admitted or throttled (counted), on a warm or a
// cold environment; one that cannot start has its error outcome already.
std::variant<Platform::Throttle, Platform::Begun> Platform::StartInvocation(
    Function& fn, const InvocationInput& input, asio::any_io_executor ex) {
  auto acquired = Acquire(fn, input.version);
  if (auto* t = std::get_if<Throttle>(&acquired)) {
    ++fn.metrics.throttles;
    return *t;
  }
  auto inv = NewInvocation(fn, input, ex);
  if (auto* status = std::get_if<Status>(&acquired)) {
    FailToStart(fn, *inv, *status);
    return Begun{inv, nullptr};
  }
  auto env = std::get<std::shared_ptr<Environment>>(acquired);
  Assign(fn, env, inv);
  return Begun{inv, env};
}

// The function cannot start: as AWS does for a missing bootstrap, a function
// error, not a service error.
void Platform::FailToStart(Function& fn, Invocation& inv, const Status& why) {
  ++fn.metrics.invocations;
  ++fn.metrics.errors;
  const std::string message = fmt::format("RequestId: {} Error: {}", inv.id, why.message());
  const std::string error_type = why.message().starts_with(kExtensionLaunch)
                                     ? "Extension.LaunchError"
                                     : "Runtime.InvalidEntrypoint";
  Log(fn, message, &inv);
  inv.body = PlatformError(error_type, message);
  inv.error_type = error_type;
  inv.outcome = Invocation::Outcome::kFunctionError;
}

namespace {

// The last 4 KB of an invocation's log, base64, for X-Amz-Log-Type: Tail.
std::string LogTail(std::string_view log) {
  if (log.size() > kTailBytes) log = log.substr(log.size() - kTailBytes);
  return http::Base64Encode(log);
}

// InvokeComplete's fields: on a function error, the function's own error
// type (its error JSON's errorType, else the runtime's error-type header)
// and message; LogResult with Tail.
json InvokeComplete(const Invocation& inv, bool tail) {
  json complete = json::object();
  if (inv.outcome != Invocation::Outcome::kSuccess) {
    const json error = json::parse(inv.body, nullptr, false);
    auto field = [&](const char* key) -> std::string {
      if (!error.is_object() || !error.contains(key) || !error[key].is_string()) return "";
      return error[key].get<std::string>();
    };
    std::string code = field("errorType");
    if (code.empty()) code = inv.error_type.empty() ? "Unhandled" : inv.error_type;
    const std::string message = field("errorMessage");
    complete["ErrorCode"] = code;
    complete["ErrorDetails"] =
        error.is_object() && error.contains("errorMessage") ? message : inv.body;
  }
  if (tail) complete["LogResult"] = LogTail(inv.log);
  return complete;
}

}  // namespace

Task<Response> Platform::Invoke(Function& fn, Request& req) {
  auto begun = co_await BeginInvoke(fn, req, /*to_caller=*/false);
  if (auto* answer = std::get_if<Response>(&begun)) co_return std::move(*answer);
  const auto [inv, env] = std::get<Begun>(std::move(begun));
  if (env) co_await Run(fn, env, inv);
  Response res = http::MakeResponse(req, bhttp::status::ok, inv->body, inv->content_type);
  res.set("X-Amzn-RequestId", inv->id);
  res.set("X-Amz-Executed-Version", inv->version);
  if (inv->outcome != Invocation::Outcome::kSuccess) res.set("X-Amz-Function-Error", "Unhandled");
  if (req["X-Amz-Log-Type"] == "Tail") res.set("X-Amz-Log-Result", LogTail(inv->log));
  co_return res;
}

namespace {

// Writes an InvokeWithResponseStream answer: a chunked 200 whose chunks are
// AWS event stream messages. A caller that went away stops getting events
// (connected() turns false); the invocation goes on to its end, as on AWS.
class EventStreamWriter {
 public:
  explicit EventStreamWriter(http::tcp::socket& socket) : socket_(socket) {}
  bool connected() const { return connected_; }

  Task<void> Head(const Request& req, const Invocation& inv) {
    bhttp::response<bhttp::empty_body> head(bhttp::status::ok, req.version());
    head.set(bhttp::field::content_type, "application/vnd.amazon.eventstream");
    head.set("X-Amzn-RequestId", inv.id);
    head.set("X-Amz-Executed-Version", inv.version);
    head.keep_alive(req.keep_alive());
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer(head);
    co_await bhttp::async_write_header(socket_, serializer,
                                       asio::redirect_error(asio::use_awaitable, ec_));
    connected_ = !ec_;
  }
  Task<void> Event(std::string_view type, std::string_view content_type, std::string_view payload) {
    if (!connected_) co_return;
    const std::string event = http::EncodeEvent(type, content_type, payload);
    co_await asio::async_write(socket_, bhttp::make_chunk(asio::buffer(event)),
                               asio::redirect_error(asio::use_awaitable, ec_));
    connected_ = !ec_;
  }
  Task<void> PayloadChunk(std::string_view payload) {
    co_await Event("PayloadChunk", "application/octet-stream", payload);
  }
  // The backlog of a streaming runtime's bytes, in events of at most 1 MiB.
  Task<void> Forward(std::string& pending) {
    while (!pending.empty()) {
      std::string out;
      if (pending.size() <= kMaxStreamEventPayload) {
        out.swap(pending);
      } else {
        out = pending.substr(0, kMaxStreamEventPayload);
        pending.erase(0, kMaxStreamEventPayload);
      }
      co_await PayloadChunk(out);
    }
  }
  // InvokeComplete, then the last chunk. Returns whether the connection
  // may carry another request.
  Task<bool> End(const json& complete, bool keep_alive) {
    co_await Event("InvokeComplete", "application/json", complete.dump());
    if (!connected_) co_return false;
    co_await asio::async_write(socket_, bhttp::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec_));
    co_return !ec_ && keep_alive;
  }

 private:
  http::tcp::socket& socket_;
  boost::system::error_code ec_;
  bool connected_ = false;
};

}  // namespace

// Reads an InvokeWithResponseStream request whole (a stream handler gets
// only its header): the request, or an answer written already (false: the
// connection is done).
Task<std::variant<Request, bool>> Platform::ReadStreamRequest(http::Exchange& ex) {
  boost::system::error_code ec;
  bhttp::request_parser<bhttp::string_body> parser(std::move(ex.parser));
  parser.body_limit(kMaxPayload + 1024 * 1024);
  if (!parser.is_done()) {
    ex.deadline.Reading();  // a client that stops sending is cut off
    co_await bhttp::async_read(ex.socket, ex.buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
    ex.deadline.NotReading();  // then the function runs as long as it may
  }
  if (ec == bhttp::error::body_limit) {
    Response res =
        AwsError(parser.get(), bhttp::status::payload_too_large, "RequestEntityTooLargeException",
                 fmt::format("Request must be smaller than {} bytes for the "
                             "InvokeWithResponseStream operation",
                             kMaxPayload));
    res.keep_alive(false);
    res.set("X-Amzn-RequestId", NewRequestId(rng));
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return false;
  }
  if (ec) co_return false;
  co_return parser.release();
}

// InvokeWithResponseStream: POST /2021-11-15/functions/{name}/response-streaming-invocations.
// Errors before the function runs are ordinary AWS error answers; then a
// chunked 200 of application/vnd.amazon.eventstream: a PayloadChunk event
// for each piece of the response as it arrives (the whole response as one
// for a function that does not stream), then InvokeComplete with ErrorCode
// and ErrorDetails for a function error and LogResult for Tail.
Task<bool> Platform::InvokeWithResponseStream(http::Exchange& ex) {
  auto read = co_await ReadStreamRequest(ex);
  if (auto* done = std::get_if<bool>(&read)) co_return *done;
  Request& req = std::get<Request>(read);
  auto write = [&ex](Response res) -> Task<bool> {
    boost::system::error_code ec;
    co_await bhttp::async_write(ex.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && res.keep_alive();
  };
  if (auto refused = Refuse(req)) co_return co_await write(WithRequestId(std::move(*refused)));
  const PathParts p = SplitPath(std::string_view(req.target().data(), req.target().size()));
  const std::string name = FunctionNameOf(p.size() > 2 ? p[2] : "");
  auto it = functions.find(name);
  if (stopped || it == functions.end()) {
    co_return co_await write(WithRequestId(NotFound(req, Arn(name))));
  }
  Function& fn = *it->second;
  auto begun = co_await BeginInvoke(fn, req, /*to_caller=*/true);
  if (auto* answer = std::get_if<Response>(&begun)) {
    co_return co_await write(WithRequestId(std::move(*answer)));
  }
  const auto [inv, env] = std::get<Begun>(std::move(begun));
  inv->limit = kMaxStreamedResponse;
  EventStreamWriter out(ex.socket);
  co_await out.Head(req, *inv);
  if (env) co_await Run(fn, env, inv, [&]() { return out.Forward(inv->pending); });
  co_await out.Forward(inv->pending);
  if (inv->outcome == Invocation::Outcome::kSuccess && !inv->streaming && !inv->body.empty()) {
    co_await out.PayloadChunk(inv->body);
  }
  co_return co_await out.End(InvokeComplete(*inv, req["X-Amz-Log-Type"] == "Tail"),
                             req.keep_alive());
}

}  // namespace faultline::lambda
