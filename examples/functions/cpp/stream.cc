// stream: a response-streaming function. The payload
// {"chunks": N, "ms": D, "fail": true} makes it write N chunks
// ("chunk 1\n", "chunk 2\n", ...) as one streamed response
// (Lambda-Runtime-Function-Response-Mode: streaming), sleeping D
// milliseconds before each chunk after the first; with "fail": true the
// stream then ends with the error trailers (Function.StreamError) instead of
// ending cleanly. Defaults: 3 chunks, 0 ms, no failure. With
// {"bytes": B} it streams B bytes of 'x' instead, in 64 KiB chunks (to show
// the size limits).
//
// The numbers are read by hand: the example functions link no JSON library.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "faultline/lambda_runtime.h"

namespace {

using faultline::Status;
using faultline::lambda::RuntimeClient;

// The non-negative integer value of `"key":`, if there is one.
std::optional<std::int64_t> Number(std::string_view payload, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  size_t i = payload.find(quoted);
  if (i == std::string_view::npos) return std::nullopt;
  i += quoted.size();
  while (i < payload.size() && (payload[i] == ' ' || payload[i] == ':')) ++i;
  std::int64_t n = 0;
  size_t digits = 0;
  for (; i < payload.size() && payload[i] >= '0' && payload[i] <= '9' && digits < 12;
       ++i, ++digits) {
    n = n * 10 + (payload[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  return n;
}

Status Produce(std::string_view payload, const RuntimeClient::ChunkWriter& write) {
  if (auto bytes = Number(payload, "bytes")) {
    const std::string block(64 * 1024, 'x');
    for (std::int64_t left = *bytes; left > 0;) {
      const auto n = static_cast<std::size_t>(std::min<std::int64_t>(left, block.size()));
      if (Status s = write(std::string_view(block).substr(0, n)); !s.ok()) return s;
      left -= static_cast<std::int64_t>(n);
    }
    return Status::Ok();
  }
  const std::int64_t chunks = Number(payload, "chunks").value_or(3);
  const auto pause = std::chrono::milliseconds(Number(payload, "ms").value_or(0));
  for (std::int64_t i = 1; i <= chunks; ++i) {
    if (i > 1) std::this_thread::sleep_for(pause);
    if (Status s = write("chunk " + std::to_string(i) + "\n"); !s.ok()) return s;
  }
  if (payload.find("\"fail\": true") != std::string_view::npos ||
      payload.find("\"fail\":true") != std::string_view::npos) {
    return Status::Internal("failed after " + std::to_string(chunks) + " chunks");
  }
  return Status::Ok();
}

}  // namespace

int main() {
  const char* endpoint = std::getenv("AWS_LAMBDA_RUNTIME_API");
  auto client = RuntimeClient::Connect(endpoint != nullptr ? endpoint : "");
  if (!client.ok()) {
    std::fprintf(stderr, "stream: %s\n", client.status().message().c_str());
    return 1;
  }
  for (;;) {
    auto req = client->NextInvocation();
    if (!req.ok()) {
      std::fprintf(stderr, "stream: %s\n", req.status().message().c_str());
      return 1;
    }
    Status posted = client->PostStreamingResponse(
        req->request_id, "text/plain",
        [&](const RuntimeClient::ChunkWriter& write) { return Produce(req->payload, write); });
    // A 4xx (over the size limit) ends this invocation only.
    if (!posted.ok()) std::fprintf(stderr, "stream: %s\n", posted.message().c_str());
  }
}
