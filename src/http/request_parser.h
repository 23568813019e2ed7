// How Server reads a request, in two stages, with its limits:
//
//   bytes --HeaderParser (header <= kHeaderLimit)--> header --streams()?--> stream handler
//                                                      \--BodyParser (body <= body_limit)-->
//                                                      Request
//
// Server (server.cc) configures its parsers with these functions and the
// fuzz target (request_parser_fuzz.cc) runs ParseRequest, which uses them
// too, so what is fuzzed is what the server runs. No Asio coroutines here,
// so it also builds with clang for libFuzzer.
//
// Thread-safety: plain functions.
#ifndef FAULTLINE_HTTP_REQUEST_PARSER_H_
#define FAULTLINE_HTTP_REQUEST_PARSER_H_

#include <utility>
// Boost after <utility> (see http/asio.h).
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace faultline::http {

namespace bhttp = boost::beast::http;

// The largest request header (request line and fields) the server reads;
// a larger one gets 431.
inline constexpr std::uint32_t kHeaderLimit = 64 * 1024;

using HeaderParser = bhttp::request_parser<bhttp::empty_body>;
using BodyParser = bhttp::request_parser<bhttp::string_body>;

// Sets the limits the server reads a request's header with.
void ConfigureHeaderParser(HeaderParser& parser);

// Sets the limits for reading the body whole, after the header (`parser`
// built from the HeaderParser). Returns false when the header already says
// the body is over `body_limit` (Content-Length): refuse it without reading.
// A chunked body is checked as it is read (bhttp::error::body_limit).
bool ConfigureBodyParser(BodyParser& parser, std::uint64_t body_limit);

// What the server makes of the bytes of one request.
enum class ParseOutcome {
  kIncomplete,      // more bytes needed (the server would wait for them)
  kRequest,         // a whole request: the handler gets it
  kHeaderTooLarge,  // 431
  kBodyTooLarge,    // 413
  kBad,             // not HTTP/1.x: the server closes without an answer
};

// Parses `bytes` as Server parses the first request on a connection, the
// bytes arriving `piece` at a time (>= 1; as reads would bring them).
// `body` (may be null) receives the body of a kRequest.
ParseOutcome ParseRequest(std::string_view bytes, std::uint64_t body_limit, std::size_t piece,
                          std::string* body = nullptr);

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_REQUEST_PARSER_H_
