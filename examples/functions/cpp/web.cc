// web: a function behind a function URL. It answers by the event's rawPath
// (payload format 2.0), so tests and examples see every kind of answer a
// URL turns into HTTP:
//   /proxy    {"statusCode": 201, "headers": {"X-Answer": "proxy"},
//              "cookies": ["a=1", "b=2"], "body": "created"}
//   /text     "hello" (a JSON string: the URL sends hello)
//   /binary   {"statusCode": 200, "isBase64Encoded": true, "body": "AAEC"} (bytes 0 1 2)
//   /fail     a function error (the URL answers 502)
//   /stream   a streamed HTTP answer: prelude {"statusCode": 202, "headers":
//             {"Content-Type": "text/plain"}}, 8 NUL bytes, "part 1\n" "part 2\n" "part 3\n"
//   /sleep/N  sleeps N ms, then answers {"slept_ms": N}
//   anything else: the event itself, as its JSON body
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "faultline/lambda_runtime.h"

namespace {

using faultline::Status;
using faultline::lambda::RuntimeClient;

std::string RawPath(std::string_view event) {
  const std::size_t i = event.find("\"rawPath\":\"");
  if (i == std::string_view::npos) return "";
  const std::size_t start = i + 11, end = event.find('"', start);
  return std::string(event.substr(start, end - start));
}

Status Answer(RuntimeClient& client, const faultline::lambda::InvocationRequest& req) {
  const std::string path = RawPath(req.payload);
  if (path == "/proxy") {
    return client.PostResponse(req.request_id,
                               R"({"statusCode":201,"headers":{"X-Answer":"proxy"},)"
                               R"("cookies":["a=1","b=2"],"body":"created"})");
  }
  if (path == "/text") return client.PostResponse(req.request_id, R"("hello")");
  if (path == "/binary") {
    return client.PostResponse(req.request_id,
                               R"({"statusCode":200,"isBase64Encoded":true,"body":"AAEC",)"
                               R"("headers":{"Content-Type":"application/octet-stream"}})");
  }
  if (path == "/fail") return client.PostError(req.request_id, "Function.Web", "asked to fail");
  if (path.starts_with("/sleep/")) {
    const int ms = std::atoi(path.c_str() + 7);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return client.PostResponse(req.request_id, "{\"slept_ms\":" + std::to_string(ms) + "}");
  }
  if (path == "/stream") {
    return client.PostStreamingResponse(
        req.request_id, "application/vnd.awslambda.http-integration-response",
        [](const RuntimeClient::ChunkWriter& write) {
          const std::string prelude =
              R"({"statusCode":202,"headers":{"Content-Type":"text/plain"}})";
          if (Status s = write(prelude + std::string(8, '\0')); !s.ok()) return s;
          for (int i = 1; i <= 3; ++i) {
            if (Status s = write("part " + std::to_string(i) + "\n"); !s.ok()) return s;
          }
          return Status::Ok();
        });
  }
  return client.PostResponse(req.request_id, req.payload);
}

}  // namespace

int main() {
  const char* endpoint = std::getenv("AWS_LAMBDA_RUNTIME_API");
  auto client = RuntimeClient::Connect(endpoint != nullptr ? endpoint : "");
  if (!client.ok()) {
    std::fprintf(stderr, "web: %s\n", client.status().message().c_str());
    return 1;
  }
  for (;;) {
    auto req = client->NextInvocation();
    if (!req.ok()) {
      std::fprintf(stderr, "web: %s\n", req.status().message().c_str());
      return 1;
    }
    if (Status s = Answer(*client, *req); !s.ok()) {
      std::fprintf(stderr, "web: %s\n", s.message().c_str());
    }
  }
}
