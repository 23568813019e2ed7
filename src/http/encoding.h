// Encodings HTTP APIs need: base64 (AWS's X-Amz-Log-Result and
// X-Amz-Client-Context) and percent-decoding of path segments.
// Pure functions; thread-safe.
#ifndef FAULTLINE_HTTP_ENCODING_H_
#define FAULTLINE_HTTP_ENCODING_H_

#include <optional>
#include <string>
#include <string_view>

namespace faultline::http {

std::string Base64Encode(std::string_view data);
// nullopt when `text` is not valid base64 (padding optional).
std::optional<std::string> Base64Decode(std::string_view text);
// "%3A" -> ":"; nullopt on a malformed escape. '+' stays '+' (paths, not forms).
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_ENCODING_H_
