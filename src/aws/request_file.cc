#include "aws/request_file.h"

#include <fmt/format.h>

namespace faultline::aws {
namespace {

// The next line of `text` without its "\n" or "\r\n"; consumes it.
std::string_view NextLine(std::string_view& text) {
  const std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

RequestView RequestFile::View(std::vector<Header>& storage) const {
  storage.clear();
  for (const auto& [name, value] : headers) storage.push_back({name, value});
  return {.method = method, .target = target, .headers = storage, .body = body};
}

Result<RequestFile> ParseRequestFile(std::string_view text, std::string_view name) {
  RequestFile req;
  const std::string_view request_line = NextLine(text);
  const std::size_t first = request_line.find(' ');
  const std::size_t last = request_line.rfind(' ');
  if (first == std::string_view::npos || last == first) {
    return Status::InvalidArgument(
        fmt::format("{}:1: expected 'METHOD TARGET HTTP/1.1', got '{}'", name, request_line));
  }
  req.method = std::string(request_line.substr(0, first));
  req.target = std::string(request_line.substr(first + 1, last - first - 1));
  for (int line_no = 2; !text.empty(); ++line_no) {
    const std::string_view line = NextLine(text);
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !req.headers.empty()) {
      req.headers.back().second += '\n';
      req.headers.back().second += line;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: expected 'Name: value', got '{}'", name, line_no, line));
    }
    req.headers.emplace_back(std::string(line.substr(0, colon)),
                             std::string(line.substr(colon + 1)));
  }
  req.body = std::string(text);
  return req;
}

}  // namespace faultline::aws
