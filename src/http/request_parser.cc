#include "http/request_parser.h"

#include <algorithm>
#include <limits>
#include <string>

namespace faultline::http {

void ConfigureHeaderParser(HeaderParser& parser) {
  // Not boost::none: Boost 1.74 compares a Content-Length with an empty
  // limit as greater, and fails every request with a body. The body's own
  // limit is set once the header says how it is read (ConfigureBodyParser).
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(kHeaderLimit);
}

bool ConfigureBodyParser(BodyParser& parser, std::uint64_t body_limit) {
  parser.body_limit(body_limit);  // chunked bodies: checked as they are read
  const auto length = parser.content_length();
  return !length || *length <= body_limit;
}

namespace {

// Feeds `parser` the way Beast's read operations do: parse what has
// arrived (`in`), and when it needs more, let the next `piece` of `rest`
// arrive. Returns need_more when `rest` runs out first.
template <class Parser, class Done>
boost::system::error_code Feed(Parser& parser, std::string& in, std::string_view& rest,
                               std::size_t piece, Done done) {
  boost::system::error_code ec;
  while (!done()) {
    if (!in.empty()) {
      ec = {};
      const std::size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
      in.erase(0, used);
      if (ec && ec != bhttp::error::need_more) return ec;
      if (!ec && used > 0) continue;
    }
    if (rest.empty()) return bhttp::error::need_more;
    const std::size_t n = std::min(piece, rest.size());
    in.append(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  return {};
}

ParseOutcome Classify(const boost::system::error_code& ec) {
  if (ec == bhttp::error::need_more) return ParseOutcome::kIncomplete;
  if (ec == bhttp::error::header_limit) return ParseOutcome::kHeaderTooLarge;
  if (ec == bhttp::error::body_limit) return ParseOutcome::kBodyTooLarge;
  return ParseOutcome::kBad;
}

}  // namespace

ParseOutcome ParseRequest(std::string_view bytes, std::uint64_t body_limit, std::size_t piece,
                          std::string* body) {
  piece = std::max<std::size_t>(piece, 1);
  std::string in;
  HeaderParser head;
  ConfigureHeaderParser(head);
  auto ec = Feed(head, in, bytes, piece, [&] { return head.is_header_done(); });
  if (ec) return Classify(ec);
  BodyParser parser(std::move(head));
  if (!ConfigureBodyParser(parser, body_limit)) return ParseOutcome::kBodyTooLarge;
  ec = Feed(parser, in, bytes, piece, [&] { return parser.is_done(); });
  if (ec) return Classify(ec);
  if (body != nullptr) *body = parser.get().body();
  return ParseOutcome::kRequest;
}

}  // namespace faultline::http
