// The C++ runtime client: a synchronous Boost.Beast HTTP/1.1 client on one
// keep-alive connection. Synchronous because a runtime does one thing at a
// time, and because a blocking read has no timeout, which is what the long
// poll on GET /next needs.
//
// This library links only Boost and the standard library (no faultline_core),
// so it uses Status's inline members only, not ToString() or WithContext().
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <utility>  // before Boost.Asio: Boost 1.74 uses std::exchange unincluded

#include "faultline/lambda_runtime.h"
#include "http/socket.h"  // header-only parts: OpenCloexec
#include "lambda/utf8.h"

namespace faultline::lambda {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kApiPrefix = "/2018-06-01/runtime";
constexpr std::string_view kUserAgent = "faultline-lambda-runtime/0.1";
constexpr std::string_view kErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";
constexpr std::string_view kErrorBodyTrailer = "Lambda-Runtime-Function-Error-Body";
// Lambda's sync payloads are 6 MB, but a runtime should not be the one to
// refuse an event: the platform enforces the limits.
constexpr std::uint64_t kBodyLimit = std::numeric_limits<std::uint64_t>::max();
// Client context and Cognito identity headers can be a few KB each.
constexpr std::uint32_t kHeaderLimit = 1 << 20;
constexpr int kMaxNextFailures = 3;

// Boost 1.74's beast::string_view is boost::string_view, not std's.
boost::beast::string_view Bsv(std::string_view s) { return {s.data(), s.size()}; }

void AppendEscapedAscii(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (c < 0x20 || c == 0x7F) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    return;
  }
  out += static_cast<char>(c);
}

bool IsSuccess(http::status status) {
  return http::to_status_class(status) == http::status_class::successful;
}

// The Status for a non-2xx answer: 5xx means the platform is in trouble
// (the docs say "exit promptly"); anything else is about this request.
Status HttpError(std::string_view what, const http::response<http::string_body>& res) {
  std::string msg = std::string(what) + ": HTTP " + std::to_string(res.result_int());
  std::string_view body = res.body();
  if (!body.empty()) msg += ": " + std::string(body.substr(0, 512));
  if (http::to_status_class(res.result()) == http::status_class::server_error) {
    return Status::Unavailable(std::move(msg));
  }
  return Status::InvalidArgument(std::move(msg));
}

std::chrono::system_clock::time_point ParseDeadline(std::string_view ms_text) {
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), ms);
  if (ec != std::errc() || end != ms_text.data() + ms_text.size() || ms <= 0) return {};
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::string HeaderValue(const http::response<http::string_body>& res, std::string_view name) {
  auto it = res.find(Bsv(name));
  if (it == res.end()) return {};
  return std::string(it->value());
}

// "host:port" or "[v6addr]:port" -> {host, port}; empty host on error.
std::pair<std::string, std::string> SplitEndpoint(std::string_view endpoint) {
  size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == endpoint.size()) return {};
  std::string_view host = endpoint.substr(0, colon);
  std::string_view port = endpoint.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return {};
    host = host.substr(1, host.size() - 2);
  }
  for (char c : port) {
    if (c < '0' || c > '9') return {};
  }
  return {std::string(host), std::string(port)};
}

// The runtime's own log line; a function's stderr goes to its log stream.
void PrintError(const Status& status) {
  std::fprintf(stderr, "faultline-lambda-runtime: %s\n", status.message().c_str());
}

}  // namespace

// --- Request and response values ---

std::chrono::milliseconds InvocationRequest::RemainingTime() const {
  return RemainingTimeAt(std::chrono::system_clock::now());
}

std::chrono::milliseconds InvocationRequest::RemainingTimeAt(
    std::chrono::system_clock::time_point now) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
}

InvocationResponse InvocationResponse::Success(std::string payload, std::string content_type) {
  InvocationResponse r;
  r.success_ = true;
  r.payload_ = std::move(payload);
  r.content_type_ = std::move(content_type);
  return r;
}

InvocationResponse InvocationResponse::Failure(std::string error_message, std::string error_type) {
  InvocationResponse r;
  r.success_ = false;
  r.payload_ = ErrorJson(error_message, error_type);
  r.content_type_ = std::string(kErrorContentType);
  r.error_type_ = std::move(error_type);
  r.error_message_ = std::move(error_message);
  return r;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      AppendEscapedAscii(out, c);
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(s.substr(i));
    if (len == 0) {
      out += "\\ufffd";  // one replacement per bad byte keeps the result valid
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string ErrorJson(std::string_view error_message, std::string_view error_type) {
  return "{\"errorMessage\":\"" + JsonEscape(error_message) + "\",\"errorType\":\"" +
         JsonEscape(error_type) + "\",\"stackTrace\":[]}";
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 0x3F];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 0x3F];
    out += kAlphabet[(v >> 12) & 0x3F];
    out += rest == 2 ? kAlphabet[(v >> 6) & 0x3F] : '=';
    out += '=';
  }
  return out;
}

// --- RuntimeClient ---

struct RuntimeClient::Impl {
  std::string host;
  std::string port;
  std::string host_header;
  asio::io_context ioc;
  tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
  bool connected = false;
  int connections_opened = 0;

  Status Open();
  void Close();
  http::request<http::string_body> MakeRequest(http::verb verb, std::string_view target);
  // Writes `req`, reads the answer. A connection the server closed while it
  // was idle shows up as EOF or reset on the first use: reopen once and resend.
  Result<http::response<http::string_body>> RoundTrip(http::request<http::string_body>& req);
  Result<http::response<http::string_body>> TryRoundTrip(http::request<http::string_body>& req,
                                                         error_code& ec);
  Status PostError(std::string_view target, std::string_view error_type,
                   std::string_view error_message);
  Status WriteStream(std::string_view request_id, std::string_view content_type,
                     const std::function<Status(const ChunkWriter&)>& produce);
};

Status RuntimeClient::Impl::Open() {
  Close();
  error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) {
    return Status::Unavailable("resolving Runtime API host " + host + ": " + ec.message());
  }
  // Close-on-exec from the start, so that a process the function starts
  // does not inherit its connection to the Runtime API.
  ec = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    ec = faultline::http::OpenCloexec(socket, entry.endpoint().protocol());
    if (!ec) socket.connect(entry.endpoint(), ec);
    if (!ec) break;
  }
  if (ec) {
    return Status::Unavailable("connecting to the Runtime API at " + host_header + ": " +
                               ec.message());
  }
  socket.set_option(tcp::no_delay(true), ec);  // best effort
  // Beast reads at most the buffer's free capacity (at least 512 bytes) at a
  // time: room for 64 KiB reads of a large event.
  buffer.reserve(64 * 1024);
  connected = true;
  ++connections_opened;
  return Status::Ok();
}

void RuntimeClient::Impl::Close() {
  error_code ignored;
  if (socket.is_open()) {
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
  buffer.clear();
  connected = false;
}

http::request<http::string_body> RuntimeClient::Impl::MakeRequest(http::verb verb,
                                                                  std::string_view target) {
  http::request<http::string_body> req{verb, std::string(kApiPrefix) + std::string(target), 11};
  req.set(http::field::host, host_header);
  req.set(http::field::user_agent, Bsv(kUserAgent));
  req.keep_alive(true);
  return req;
}

Result<http::response<http::string_body>> RuntimeClient::Impl::TryRoundTrip(
    http::request<http::string_body>& req, error_code& ec) {
  http::write(socket, req, ec);
  if (ec) return Status::Unavailable(ec.message());
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  parser.header_limit(kHeaderLimit);
  http::read(socket, buffer, parser, ec);
  if (ec) return Status::Unavailable(ec.message());
  return parser.release();
}

Result<http::response<http::string_body>> RuntimeClient::Impl::RoundTrip(
    http::request<http::string_body>& req) {
  std::string what = std::string(req.method_string()) + " " + std::string(req.target());
  bool reused = connected;
  if (!connected) {
    if (Status s = Open(); !s.ok()) return s;
  }
  error_code ec;
  auto res = TryRoundTrip(req, ec);
  bool stale = ec == http::error::end_of_stream || ec == asio::error::eof ||
               ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
  if (!res.ok() && reused && stale) {
    if (Status s = Open(); !s.ok()) return s;
    res = TryRoundTrip(req, ec);
  }
  if (!res.ok()) {
    Close();
    return Status::Unavailable(what + ": " + res.status().message());
  }
  if (!res->keep_alive()) Close();
  return res;
}

Status RuntimeClient::Impl::PostError(std::string_view target, std::string_view error_type,
                                      std::string_view error_message) {
  auto req = MakeRequest(http::verb::post, target);
  req.set(http::field::content_type, Bsv(kErrorContentType));
  req.set(Bsv(kErrorTypeHeader), Bsv(error_type));
  req.body() = ErrorJson(error_message, error_type);
  req.prepare_payload();
  auto res = RoundTrip(req);
  if (!res.ok()) return res.status();
  if (!IsSuccess(res->result())) return HttpError("POST " + std::string(req.target()), *res);
  return Status::Ok();
}

RuntimeClient::RuntimeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuntimeClient::RuntimeClient(RuntimeClient&&) noexcept = default;
RuntimeClient& RuntimeClient::operator=(RuntimeClient&&) noexcept = default;
RuntimeClient::~RuntimeClient() {
  if (impl_) impl_->Close();
}

Result<RuntimeClient> RuntimeClient::Connect(std::string_view endpoint) {
  auto [host, port] = SplitEndpoint(endpoint);
  if (host.empty()) {
    return Status::InvalidArgument("Runtime API endpoint \"" + std::string(endpoint) +
                                   "\": expected host:port, as in AWS_LAMBDA_RUNTIME_API");
  }
  auto impl = std::make_unique<Impl>();
  impl->host = std::move(host);
  impl->port = std::move(port);
  impl->host_header = std::string(endpoint);
  if (Status s = impl->Open(); !s.ok()) return s;
  return RuntimeClient(std::move(impl));
}

Result<InvocationRequest> RuntimeClient::NextInvocation() {
  auto req = impl_->MakeRequest(http::verb::get, "/invocation/next");
  auto res = impl_->RoundTrip(req);
  if (!res.ok()) return res.status();
  if (!IsSuccess(res->result())) return HttpError("GET " + std::string(req.target()), *res);
  InvocationRequest inv;
  inv.request_id = HeaderValue(*res, "Lambda-Runtime-Aws-Request-Id");
  if (inv.request_id.empty()) {
    return Status::InvalidArgument("GET " + std::string(req.target()) +
                                   ": the answer has no Lambda-Runtime-Aws-Request-Id header");
  }
  inv.function_arn = HeaderValue(*res, "Lambda-Runtime-Invoked-Function-Arn");
  inv.xray_trace_id = HeaderValue(*res, "Lambda-Runtime-Trace-Id");
  inv.client_context = HeaderValue(*res, "Lambda-Runtime-Client-Context");
  inv.cognito_identity = HeaderValue(*res, "Lambda-Runtime-Cognito-Identity");
  inv.tenant_id = HeaderValue(*res, "Lambda-Runtime-Aws-Tenant-Id");
  inv.deadline = ParseDeadline(HeaderValue(*res, "Lambda-Runtime-Deadline-Ms"));
  inv.payload = std::move(res->body());
  return inv;
}

Status RuntimeClient::PostResponse(std::string_view request_id, std::string_view body,
                                   std::string_view content_type) {
  auto req =
      impl_->MakeRequest(http::verb::post, "/invocation/" + std::string(request_id) + "/response");
  req.set(http::field::content_type, Bsv(content_type));
  req.body() = std::string(body);
  req.prepare_payload();
  auto res = impl_->RoundTrip(req);
  if (!res.ok()) return res.status();
  if (!IsSuccess(res->result())) return HttpError("POST " + std::string(req.target()), *res);
  return Status::Ok();
}

Status RuntimeClient::PostError(std::string_view request_id, std::string_view error_type,
                                std::string_view error_message) {
  return impl_->PostError("/invocation/" + std::string(request_id) + "/error", error_type,
                          error_message);
}

Status RuntimeClient::PostInitError(std::string_view error_type, std::string_view error_message) {
  return impl_->PostError("/init/error", error_type, error_message);
}

Status RuntimeClient::Post(std::string_view request_id, const InvocationResponse& response) {
  if (response.IsSuccess()) {
    return PostResponse(request_id, response.payload(), response.content_type());
  }
  return PostError(request_id, response.error_type(), response.error_message());
}

Status RuntimeClient::Impl::WriteStream(std::string_view request_id, std::string_view content_type,
                                        const std::function<Status(const ChunkWriter&)>& produce) {
  auto req = MakeRequest(http::verb::post, "/invocation/" + std::string(request_id) + "/response");
  req.set(http::field::content_type, Bsv(content_type));
  req.set("Lambda-Runtime-Function-Response-Mode", "streaming");
  req.set(http::field::trailer,
          "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body");
  req.chunked(true);
  http::request_serializer<http::string_body> header_only(req);
  error_code ec;
  http::write_header(socket, header_only, ec);
  if (ec) return Status::Unavailable("writing the streaming response header: " + ec.message());

  Status write_failure;
  ChunkWriter writer = [&](std::string_view chunk) -> Status {
    if (!write_failure.ok()) return write_failure;
    if (chunk.empty()) return Status::Ok();  // an empty chunk would end the body
    asio::write(socket, http::make_chunk(asio::buffer(chunk.data(), chunk.size())), ec);
    if (ec) write_failure = Status::Unavailable("writing a response chunk: " + ec.message());
    return write_failure;
  };
  Status produced = produce(writer);
  if (!write_failure.ok()) return write_failure;

  http::fields trailers;
  if (!produced.ok()) {
    std::string type = produced.type().empty() ? "Function.StreamError" : produced.type();
    trailers.set(Bsv(kErrorTypeHeader), type);
    trailers.set(Bsv(kErrorBodyTrailer), Base64Encode(ErrorJson(produced.message(), type)));
  }
  asio::write(socket, http::make_chunk_last(trailers), ec);
  if (ec) return Status::Unavailable("ending the streaming response: " + ec.message());
  return Status::Ok();
}

Status RuntimeClient::PostStreamingResponse(
    std::string_view request_id, std::string_view content_type,
    const std::function<Status(const ChunkWriter&)>& produce) {
  std::string what = "POST " + std::string(kApiPrefix) + "/invocation/" + std::string(request_id) +
                     "/response (streaming)";
  if (!impl_->connected) {
    if (Status s = impl_->Open(); !s.ok()) return s;
  }
  // No resend here: the body cannot be replayed once produce() has run.
  if (Status s = impl_->WriteStream(request_id, content_type, produce); !s.ok()) {
    impl_->Close();
    return Status::Unavailable(what + ": " + s.message());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  error_code ec;
  http::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) {
    impl_->Close();
    return Status::Unavailable(what + ": " + ec.message());
  }
  auto res = parser.release();
  if (!res.keep_alive()) impl_->Close();
  if (!IsSuccess(res.result())) return HttpError(what, res);
  return Status::Ok();
}

int RuntimeClient::connections_opened() const { return impl_->connections_opened; }

// --- The handler loop ---

namespace {

InvocationResponse CallHandler(const Handler& handler, const InvocationRequest& req) {
  try {
    return handler(req);
  } catch (const std::exception& e) {
    return InvocationResponse::Failure(e.what(), std::string(kHandlerExceptionType));
  } catch (...) {
    return InvocationResponse::Failure("unknown exception (not derived from std::exception)",
                                       std::string(kHandlerExceptionType));
  }
}

}  // namespace

Status RunHandlerLoop(RuntimeClient& client, const Handler& handler) {
  int next_failures = 0;
  for (;;) {
    auto next = client.NextInvocation();
    if (!next.ok()) {
      PrintError(next.status());
      if (++next_failures >= kMaxNextFailures) return next.status();
      continue;
    }
    next_failures = 0;
    const InvocationRequest& req = *next;
    if (req.xray_trace_id.empty()) {
      ::unsetenv("_X_AMZN_TRACE_ID");
    } else {
      ::setenv("_X_AMZN_TRACE_ID", req.xray_trace_id.c_str(), 1);
    }
    InvocationResponse response = CallHandler(handler, req);
    Status posted = client.Post(req.request_id, response);
    if (posted.ok()) continue;
    PrintError(posted);
    // A 4xx (too large, wrong state) ends this invocation, not the runtime.
    if (posted.code() != Status::Code::kInvalidArgument) return posted;
  }
}

namespace {

Result<RuntimeClient> ConnectFromEnv() {
  const char* endpoint = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (endpoint == nullptr || *endpoint == '\0') {
    return Status::InvalidArgument(
        "AWS_LAMBDA_RUNTIME_API is not set: run this function under a Lambda Runtime API "
        "(faultline lambda serve, AWS's emulator or AWS Lambda)");
  }
  return RuntimeClient::Connect(endpoint);
}

}  // namespace

void RunHandler(const Handler& handler) {
  auto client = ConnectFromEnv();
  if (!client.ok()) {
    PrintError(client.status());
    std::exit(1);
  }
  (void)RunHandlerLoop(*client, handler);  // it printed the errors
  std::fprintf(stderr, "faultline-lambda-runtime: the Runtime API failed; exiting\n");
  std::exit(1);
}

void FailInit(std::string_view error_type, std::string_view error_message) {
  std::fprintf(stderr, "faultline-lambda-runtime: init failed: %.*s: %.*s\n",
               static_cast<int>(error_type.size()), error_type.data(),
               static_cast<int>(error_message.size()), error_message.data());
  auto client = ConnectFromEnv();
  if (client.ok()) {
    Status s = client->PostInitError(error_type, error_message);
    if (!s.ok()) PrintError(s);
  } else {
    PrintError(client.status());
  }
  std::exit(1);
}

}  // namespace faultline::lambda
