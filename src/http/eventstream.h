// AWS event stream framing (application/vnd.amazon.eventstream), the body of
// Lambda's InvokeWithResponseStream answer:
//
//   +----------------+-----------------+-------------+---------+---------+-------------+
//   | total length 4 | headers length 4| prelude CRC | headers | payload | message CRC |
//   +----------------+-----------------+-------------+---------+---------+-------------+
//
// Integers are big-endian; both CRCs are CRC-32 (IEEE, as gzip): the
// prelude CRC covers the first 8 bytes, the message CRC everything before
// it. A header is name length (1 byte), name, value type (7: string), value
// length (2 bytes), value. Only string headers are written or read here
// (:event-type, :content-type, :message-type are all Lambda uses).
//
// Pure functions; thread-safe.
#ifndef FAULTLINE_HTTP_EVENTSTREAM_H_
#define FAULTLINE_HTTP_EVENTSTREAM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::http {

struct EventStreamMessage {
  std::vector<std::pair<std::string, std::string>> headers;  // string headers, in order
  std::string payload;

  // The value of header `name`, or "" when absent.
  std::string_view Header(std::string_view name) const;
};

// One encoded message. REQUIRES: header names < 256 bytes, values < 64 KiB.
std::string EncodeEventStreamMessage(const EventStreamMessage& message);

// An event of a Lambda response stream: headers :event-type = `event_type`,
// :content-type = `content_type`, :message-type = event.
std::string EncodeEvent(std::string_view event_type, std::string_view content_type,
                        std::string_view payload);

// Decodes the first message of `data`. Returns nullopt while `data` holds
// less than one whole message; sets `error` (and returns nullopt) when the
// bytes are not a valid message (lengths or a CRC wrong, a header type other
// than string). On success, `consumed` is the message's length.
std::optional<EventStreamMessage> DecodeEventStreamMessage(std::string_view data,
                                                           std::size_t& consumed,
                                                           std::string& error);

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_EVENTSTREAM_H_
