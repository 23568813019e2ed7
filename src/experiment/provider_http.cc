// The http provider: chaoslib/provider/http.py's run_http_activity, which
// sends one request with requests, on Beast.
//
//   provider ─► Plan (url, method, headers, body, timeouts, retries: pure)
//            ─► Attempt, up to 1 + max_retries times (a private io_context,
//               stopped by Interrupt)
//            ─► {status, headers, body}   or a failure in chaoslib's words
//
// Built without clang-tidy (Asio coroutines; see CMakeLists.txt).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "experiment/provider_internal.h"
#include "faultline/faultline.h"
#include "http/asio.h"
#include "http/client.h"
#include "http/socket.h"

namespace faultline::experiment::provider_internal {

namespace {

namespace asio = http::asio;
namespace beast = http::beast;
namespace bhttp = http::bhttp;
using http::tcp;
template <typename T>
using Task = http::Task<T>;
using Duration = std::chrono::steady_clock::duration;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// requests' timeout: one number for both, [connect, read], None for none.
struct Timeouts {
  std::optional<Duration> connect;
  std::optional<Duration> read;  // each socket read, as a socket timeout
};

Result<std::optional<Duration>> Seconds(const json& v, std::string_view which) {
  if (v.is_null()) return std::optional<Duration>();
  if (!v.is_number() && !v.is_boolean()) {
    return Status::InvalidArgument(fmt::format(
        "Timeout value {} was {}, but it must be an int, float or None.", which, PyStr(v)));
  }
  const double s = v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>();
  if (s <= 0) {
    return Status::InvalidArgument(fmt::format(
        "Attempted to set {} timeout to {}, but the timeout cannot be set to a value less than "
        "or equal to 0.",
        which, PyStr(v)));
  }
  return std::optional<Duration>(
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(std::min(s, 1e9))));
}

Result<Timeouts> ParseTimeouts(const json& timeout) {
  if (timeout.is_array() && timeout.size() != 2) {
    return Status::InvalidArgument(fmt::format(
        "Invalid timeout {}. Pass a (connect, read) timeout tuple, or a single float to set "
        "both timeouts to the same value.",
        PyStr(timeout)));
  }
  const json& c = timeout.is_array() ? timeout[0] : timeout;
  const json& r = timeout.is_array() ? timeout[1] : timeout;
  Result<std::optional<Duration>> connect = Seconds(c, "connect");
  if (!connect.ok()) return connect.status();
  Result<std::optional<Duration>> read = Seconds(r, "read");
  if (!read.ok()) return read.status();
  return Timeouts{*connect, *read};
}

// What one provider asks for, ready to send.
struct Plan {
  std::string url;  // as substituted, for messages
  http::Url where;
  http::Request req;
  Timeouts timeouts;
  int max_retries = 0;
  bool idempotent = false;
};

Status AddHeaders(const json& headers, http::Request& req) {
  if (headers.is_null()) return Status::Ok();
  if (!headers.is_object()) return Status::InvalidArgument("headers must be a mapping");
  for (const auto& [name, value] : headers.items()) {
    if (!value.is_string()) {
      return Status::InvalidArgument(
          fmt::format("Header part ({}) from ('{}', {}) must be of type str or bytes", PyStr(value),
                      name, PyRepr(value)));
    }
    const std::string& v = value.get_ref<const std::string&>();
    if (v.find_first_of("\r\n") != std::string::npos || name.find_first_of("\r\n:") != name.npos) {
      return Status::InvalidArgument(
          fmt::format("Invalid return character or leading space in header: {}", name));
    }
    req.insert(name, v);
  }
  return Status::Ok();
}

// params (GET) or data (others), as requests' _encode_params: a string as
// it is, a mapping or a list of pairs form-encoded.
Result<std::string> EncodeParams(const json& arguments) {
  if (arguments.is_string()) return arguments.get<std::string>();
  if (arguments.is_object()) return FormEncode(arguments);
  if (arguments.is_array()) {
    for (const json& kv : arguments) {
      if (!kv.is_array() || kv.size() != 2) {
        return Status::InvalidArgument("http arguments: a list must hold [key, value] pairs");
      }
    }
    return FormEncode(arguments);
  }
  return Status::InvalidArgument("http arguments must be a mapping or a string, got " +
                                 arguments.dump());
}

// The body requests sends: JSON only when the user's headers have exactly
// "Content-Type": "application/json", else data (form or raw).
Status SetBody(const json& headers, const json& arguments, http::Request& req) {
  const bool as_json = headers.is_object() && headers.contains("Content-Type") &&
                       headers["Content-Type"] == "application/json";
  if (as_json) {
    if (!arguments.is_null()) req.body() = PyJsonDumps(arguments);
  } else if (PythonTruthy(arguments)) {
    Result<std::string> data = EncodeParams(arguments);
    if (!data.ok()) return data.status();
    req.body() = std::move(*data);
    if (!arguments.is_string() && req.find(bhttp::field::content_type) == req.end()) {
      req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    }
  }
  return Status::Ok();
}

Status SetTarget(const json& arguments, bool is_get, Plan& plan) {
  std::string target = plan.where.target;
  target = target.substr(0, target.find('#'));  // the fragment stays with the client
  if (is_get && PythonTruthy(arguments)) {
    Result<std::string> query = EncodeParams(arguments);
    if (!query.ok()) return query.status();
    if (!query->empty()) target += (target.find('?') == std::string::npos ? "?" : "&") + *query;
  }
  plan.req.target(target);
  return Status::Ok();
}

void SetDefaultHeaders(const http::Url& where, const std::string& method, http::Request& req) {
  const bool v6 = where.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + where.host + "]" : where.host;
  req.set(bhttp::field::host, where.port == 80 ? host : fmt::format("{}:{}", host, where.port));
  if (req.find(bhttp::field::user_agent) == req.end()) {
    req.set(bhttp::field::user_agent, "faultline/" FAULTLINE_VERSION_STRING);
  }
  if (req.find(bhttp::field::accept) == req.end()) req.set(bhttp::field::accept, "*/*");
  // requests sends Content-Length: 0 for an empty body but on GET and HEAD.
  if (!req.body().empty() || (method != "GET" && method != "HEAD")) {
    req.set(bhttp::field::content_length, std::to_string(req.body().size()));
  }
}

Result<http::Url> ParseTarget(std::string url) {
  const std::string lower = Lower(url.substr(0, 8));
  if (lower.starts_with("https://")) {
    return Status::InvalidArgument(
        "https is not supported by faultline's http provider (plain http only): " + url);
  }
  if (lower.starts_with("http://")) url.replace(0, 7, "http://");
  return http::ParseUrl(url);
}

Result<Plan> MakePlan(const json& provider, const Context& ctx) {
  Plan plan;
  const json url = Substitute(provider.value("url", json("")), ctx);
  plan.url = url.is_string() ? url.get<std::string>() : PyStr(url);
  Result<http::Url> where = ParseTarget(plan.url);
  if (!where.ok()) return where.status();
  plan.where = std::move(*where);
  const json method_v = provider.value("method", json("GET"));
  std::string upper = method_v.is_string() ? method_v.get<std::string>() : "GET";
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const json headers = Substitute(provider.value("headers", json(nullptr)), ctx);
  json arguments = provider.value("arguments", json(nullptr));
  if (PythonTruthy(arguments) && HasContext(ctx)) arguments = Substitute(arguments, ctx);
  Result<Timeouts> timeouts = ParseTimeouts(Substitute(provider.value("timeout", json()), ctx));
  if (!timeouts.ok()) return timeouts.status();
  plan.timeouts = *timeouts;
  const json retries = provider.value("max_retries", json(0));
  plan.max_retries = retries.is_number_integer() ? std::clamp(retries.get<int>(), 0, 100) : 0;
  plan.idempotent = upper == "GET" || upper == "HEAD" || upper == "PUT" || upper == "DELETE" ||
                    upper == "OPTIONS" || upper == "TRACE";
  plan.req.version(11);
  plan.req.method_string(upper);
  if (Status s = AddHeaders(headers, plan.req); !s.ok()) return s;
  if (Status s = SetTarget(arguments, upper == "GET", plan); !s.ok()) return s;
  if (upper != "GET") {
    if (Status s = SetBody(headers, arguments, plan.req); !s.ok()) return s;
  }
  SetDefaultHeaders(plan.where, upper, plan.req);
  return plan;
}

// One try: what came back, or where and why it failed.
struct Attempt {
  std::optional<http::Response> res;
  bool connected = false;
  bool timed_out = false;
  bool too_large = false;
  std::string reason;
};

void Expire(beast::tcp_stream& stream, const std::optional<Duration>& after) {
  if (after) {
    stream.expires_after(*after);
  } else {
    stream.expires_never();
  }
}

Task<boost::system::error_code> Connect(beast::tcp_stream& stream, const http::Url& where) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(where.host, ec);
  if (!ec) co_return co_await http::ConnectCloexec(stream, tcp::endpoint(address, where.port));
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto endpoints = co_await resolver.async_resolve(where.host, std::to_string(where.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  co_return co_await http::ConnectCloexec(stream, endpoints);
}

// Reads the answer one socket read at a time, each given the read
// timeout afresh (requests' read timeout is a socket timeout).
Task<boost::system::error_code> ReadResponse(beast::tcp_stream& stream, const Plan& plan,
                                             bhttp::response_parser<bhttp::string_body>& parser) {
  beast::flat_buffer buffer;
  buffer.reserve(64 * 1024);
  boost::system::error_code ec;
  while (!parser.is_done()) {
    Expire(stream, plan.timeouts.read);
    co_await bhttp::async_read_some(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  co_return ec;
}

Task<void> Exchange(const Plan& plan, Attempt& out) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  Expire(stream, plan.timeouts.connect);
  boost::system::error_code ec = co_await Connect(stream, plan.where);
  out.timed_out = ec == beast::error::timeout;
  if (ec) {
    out.reason = out.timed_out ? "the connection timed out" : ec.message();
    co_return;
  }
  out.connected = true;
  stream.socket().set_option(tcp::no_delay(true), ec);
  Expire(stream, plan.timeouts.read);
  co_await bhttp::async_write(stream, plan.req, asio::redirect_error(asio::use_awaitable, ec));
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(Providers::kMaxHttpBodyBytes);
  if (plan.req.method_string() == "HEAD") parser.skip(true);
  if (!ec) ec = co_await ReadResponse(stream, plan, parser);
  out.timed_out = ec == beast::error::timeout;
  out.too_large = ec == bhttp::error::body_limit;
  if (ec) {
    out.reason = ec.message();
    co_return;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  out.res.emplace(parser.release());
}

// Runs one Exchange on a private io_context, which Interrupt stops.
Attempt RunAttempt(const Plan& plan, Cancel& cancel) {
  Attempt out;
  asio::io_context io;
  const std::uint64_t hook = cancel.AddHook([&io] { io.stop(); });
  if (hook == 0) return out;
  asio::co_spawn(io, Exchange(plan, out), [&out](const std::exception_ptr& e) {
    if (e && !out.res) out.reason = "the http client failed unexpectedly";
  });
  io.run();
  cancel.RemoveHook(hook);
  return out;
}

// The response headers as requests gives them: in order, repeated names
// joined with ", " under the first one's spelling.
json Headers(const http::Response& res) {
  json out = json::object();
  std::map<std::string, std::string> spelling;  // lower-case -> key in `out`
  for (const auto& field : res) {
    const std::string name(field.name_string());
    const std::string value(field.value());
    auto [it, fresh] = spelling.emplace(Lower(name), name);
    if (fresh) {
      out[name] = value;
    } else {
      out[it->second] = out[it->second].get<std::string>() + ", " + value;
    }
  }
  return out;
}

// requests' get_encoding_from_headers, and the codecs it can name here.
std::string DecodeBody(const std::string& content_type, const std::string& body) {
  std::string_view rest = content_type;
  const std::string mime = Lower(std::string(rest.substr(0, rest.find(';'))));
  std::string charset;
  for (std::size_t at = rest.find(';'); at != std::string_view::npos; at = rest.find(';', at + 1)) {
    std::string_view param = rest.substr(at + 1, rest.find(';', at + 1) - at - 1);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    const auto strip = [](std::string_view s) {
      const std::size_t b = s.find_first_not_of(" \"'");
      return b == std::string_view::npos
                 ? std::string()
                 : std::string(s.substr(b, s.find_last_not_of(" \"'") - b + 1));
    };
    if (Lower(strip(param.substr(0, eq))) == "charset")
      charset = Lower(strip(param.substr(eq + 1)));
  }
  std::replace(charset.begin(), charset.end(), '_', '-');
  if (charset.empty() && mime.find("text") != std::string::npos) charset = "iso-8859-1";
  if (charset == "iso-8859-1" || charset == "latin-1" || charset == "latin1" ||
      charset == "iso8859-1" || charset == "l1" || charset == "cp819") {
    return DecodeLatin1(body);
  }
  if (charset == "ascii" || charset == "us-ascii") {
    std::string out;
    for (char c : body) out += static_cast<unsigned char>(c) < 0x80 ? std::string(1, c) : "\uFFFD";
    return out;
  }
  // UTF-8, and what requests would guess (charset_normalizer) or cannot
  // look up: decoded as UTF-8 with replacement.
  return DecodeUtf8(body);
}

ProviderResult Answer(const Plan& plan, const http::Response& res) {
  json headers = Headers(res);
  std::string content_type;
  for (const auto& [name, value] : headers.items()) {
    if (Lower(name) == "content-type") content_type = value.get<std::string>();
  }
  json output = json::object();
  output["status"] = res.result_int();
  output["headers"] = std::move(headers);
  if (content_type == "application/json") {
    const std::string text = DecodeUtf8(res.body());
    json body = json::parse(text, nullptr, false);
    if (body.is_discarded()) {
      return Failed(
          fmt::format("the response from {} says application/json but its body is not "
                      "JSON: {}",
                      plan.url, text.empty() ? "it is empty" : "it does not parse"));
    }
    output["body"] = std::move(body);
  } else {
    output["body"] = DecodeBody(content_type, res.body());
  }
  return ProviderResult{true, std::move(output), "", {}};
}

}  // namespace

ProviderResult RunHttp(const json& provider, const Context& ctx, Cancel& cancel) {
  Result<Plan> plan = MakePlan(provider, ctx);
  if (!plan.ok()) return Failed(plan.status().message());
  Attempt last;
  for (int attempt = 0; attempt <= plan->max_retries; ++attempt) {
    last = RunAttempt(*plan, cancel);
    if (cancel.interrupted()) return Failed(std::string(kInterrupted));
    if (last.res) return Answer(*plan, *last.res);
    // urllib3's Retry: a failed connection is tried again; a failed read
    // only for a method that may be sent twice.
    if (last.connected && !plan->idempotent) break;
    if (last.too_large) break;
  }
  if (last.too_large) {
    return Failed(fmt::format("the response from {} is larger than {} MiB", plan->url,
                              Providers::kMaxHttpBodyBytes >> 20));
  }
  if (last.connected && last.timed_out) return Failed("activity took too long to complete");
  return Failed(fmt::format("failed to connect to {}: {}", plan->url, last.reason));
}

}  // namespace faultline::experiment::provider_internal
