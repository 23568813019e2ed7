#include "http/eventstream.h"

#include "core/crc32.h"

namespace faultline::http {

using internal::Crc32;

namespace {

constexpr std::size_t kPrelude = 12;  // total length, headers length, prelude CRC
constexpr std::size_t kOverhead = kPrelude + 4;
constexpr std::uint8_t kStringType = 7;

void PutU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t GetU32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

std::string_view EventStreamMessage::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::string EncodeEventStreamMessage(const EventStreamMessage& message) {
  std::string headers;
  for (const auto& [name, value] : message.headers) {
    headers.push_back(static_cast<char>(name.size()));
    headers += name;
    headers.push_back(static_cast<char>(kStringType));
    headers.push_back(static_cast<char>((value.size() >> 8) & 0xff));
    headers.push_back(static_cast<char>(value.size() & 0xff));
    headers += value;
  }
  std::string out;
  out.reserve(kOverhead + headers.size() + message.payload.size());
  PutU32(out, static_cast<std::uint32_t>(kOverhead + headers.size() + message.payload.size()));
  PutU32(out, static_cast<std::uint32_t>(headers.size()));
  PutU32(out, Crc32(out));
  out += headers;
  out += message.payload;
  PutU32(out, Crc32(out));
  return out;
}

std::string EncodeEvent(std::string_view event_type, std::string_view content_type,
                        std::string_view payload) {
  EventStreamMessage m;
  m.headers = {{":event-type", std::string(event_type)},
               {":content-type", std::string(content_type)},
               {":message-type", "event"}};
  m.payload = std::string(payload);
  return EncodeEventStreamMessage(m);
}

std::optional<EventStreamMessage> DecodeEventStreamMessage(std::string_view data,
                                                           std::size_t& consumed,
                                                           std::string& error) {
  error.clear();
  if (data.size() < kPrelude) return std::nullopt;
  const std::uint32_t total = GetU32(data, 0), headers_length = GetU32(data, 4);
  if (Crc32(data.substr(0, 8)) != GetU32(data, 8)) {
    error = "prelude CRC mismatch";
    return std::nullopt;
  }
  if (total < kOverhead || headers_length > total - kOverhead) {
    error = "inconsistent lengths";
    return std::nullopt;
  }
  if (data.size() < total) return std::nullopt;
  if (Crc32(data.substr(0, total - 4)) != GetU32(data, total - 4)) {
    error = "message CRC mismatch";
    return std::nullopt;
  }
  EventStreamMessage m;
  std::string_view h = data.substr(kPrelude, headers_length);
  while (!h.empty()) {
    const std::size_t name_length = static_cast<unsigned char>(h[0]);
    if (h.size() < 1 + name_length + 3 ||
        static_cast<unsigned char>(h[1 + name_length]) != kStringType) {
      error = "malformed or non-string header";
      return std::nullopt;
    }
    const std::size_t value_length = (static_cast<unsigned char>(h[2 + name_length]) << 8) |
                                     static_cast<unsigned char>(h[3 + name_length]);
    if (h.size() < 4 + name_length + value_length) {
      error = "header value past the headers";
      return std::nullopt;
    }
    m.headers.emplace_back(std::string(h.substr(1, name_length)),
                           std::string(h.substr(4 + name_length, value_length)));
    h.remove_prefix(4 + name_length + value_length);
  }
  m.payload =
      std::string(data.substr(kPrelude + headers_length, total - kOverhead - headers_length));
  consumed = total;
  return m;
}

}  // namespace faultline::http
