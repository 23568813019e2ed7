// Response streaming through the emulator: a runtime's streamed response
// (Lambda-Runtime-Function-Response-Mode: streaming) reaches an
// InvokeWithResponseStream caller as AWS event stream messages while the
// runtime writes it, and a buffered Invoke whole; error trailers become a
// function error; AWS's size limits for each.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/encoding.h"
#include "http/eventstream.h"
#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace asio = http::asio;
namespace beast = http::beast;
namespace bhttp = http::bhttp;
using tcp = http::tcp;

// A blocking InvokeWithResponseStream caller on a raw socket: the events
// are decoded as the chunks of the answer arrive.
class StreamCaller {
 public:
  StreamCaller(std::uint16_t port, const std::string& function, const std::string& payload,
               const std::map<std::string, std::string>& headers = {})
      : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::Request req(bhttp::verb::post,
                      "/2021-11-15/functions/" + function + "/response-streaming-invocations", 11);
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = payload;
    req.prepare_payload();
    bhttp::write(socket_, req);
    parser_.body_limit(256 * 1024 * 1024);
    on_chunk_ = [this](std::uint64_t, beast::string_view body, boost::system::error_code&) {
      bytes_.append(body.data(), body.size());
      return body.size();
    };
    parser_.on_chunk_body(on_chunk_);
    bhttp::read_header(socket_, buffer_, parser_);
  }

  const bhttp::response_parser<bhttp::string_body>& parser() const { return parser_; }

  // Reads until `count` events in all have arrived, or the answer ends.
  const std::vector<http::EventStreamMessage>& ReadEvents(std::size_t count) {
    for (;;) {
      Decode();
      if (events_.size() >= count || parser_.is_done()) return events_;
      bhttp::read_some(socket_, buffer_, parser_);
    }
  }
  const std::vector<http::EventStreamMessage>& ReadAll() { return ReadEvents(SIZE_MAX); }
  const std::string& error() const { return error_; }

 private:
  void Decode() {
    for (;;) {
      std::size_t used = 0;
      auto m = http::DecodeEventStreamMessage(bytes_, used, error_);
      if (!m) return;
      events_.push_back(std::move(*m));
      bytes_.erase(0, used);
    }
  }

  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  std::function<std::size_t(std::uint64_t, beast::string_view, boost::system::error_code&)>
      on_chunk_;
  std::string bytes_;
  std::string error_;
  std::vector<http::EventStreamMessage> events_;
};

// The payload of every PayloadChunk, concatenated.
std::string Payload(const std::vector<http::EventStreamMessage>& events) {
  std::string out;
  for (const auto& e : events) {
    if (e.Header(":event-type") == "PayloadChunk") out += e.payload;
  }
  return out;
}

json Complete(const std::vector<http::EventStreamMessage>& events) {
  if (events.empty() || events.back().Header(":event-type") != "InvokeComplete") return nullptr;
  return json::parse(events.back().payload);
}

class StreamingTest : public EmulatorFixture {};

// The test plays the runtime itself, over raw HTTP, so that it decides when
// each chunk is written: the caller sees the first chunk while the second
// is not yet written.
TEST_F(StreamingTest, ChunksReachTheCallerWhileTheRuntimeIsStillWriting) {
  FunctionConfig fake = ExampleFunction("fake", "echo");
  fake.command = {"/bin/sh", "-c", "echo \"api=$AWS_LAMBDA_RUNTIME_API\"; exec sleep 30"};
  Start({fake});
  StreamCaller caller(url_.port, "fake", R"({"q": 1})");
  const auto& head = caller.parser().get();
  EXPECT_EQ(head.result(), bhttp::status::ok);
  EXPECT_EQ(head[bhttp::field::content_type], "application/vnd.amazon.eventstream");
  EXPECT_EQ(head["X-Amz-Executed-Version"], "$LATEST");
  EXPECT_FALSE(head["X-Amzn-RequestId"].empty());

  ASSERT_TRUE(WaitForLog("[fake] api=127.0.0.1:")) << LogText();
  std::string api;
  for (const std::string& line : Log()) {
    if (auto at = line.find("api=127.0.0.1:"); at != std::string::npos) api = line.substr(at + 14);
  }
  asio::io_context io;
  tcp::socket runtime(io);
  runtime.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                static_cast<std::uint16_t>(std::stoi(api))));
  beast::flat_buffer buf;
  http::Request next(bhttp::verb::get, "/2018-06-01/runtime/invocation/next", 11);
  next.set(bhttp::field::host, "x");
  bhttp::write(runtime, next);
  http::Response event;
  bhttp::read(runtime, buf, event);
  EXPECT_EQ(event.body(), R"({"q": 1})");
  const std::string id(event["Lambda-Runtime-Aws-Request-Id"]);
  EXPECT_EQ(id, std::string(head["X-Amzn-RequestId"]));

  asio::write(runtime, asio::buffer("POST /2018-06-01/runtime/invocation/" + id +
                                    "/response HTTP/1.1\r\nHost: x\r\n"
                                    "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                                    "Content-Type: text/plain\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "5\r\nfirst\r\n"));
  const auto& first = caller.ReadEvents(1);
  ASSERT_EQ(first.size(), 1u) << caller.error();
  EXPECT_EQ(first[0].Header(":event-type"), "PayloadChunk");
  EXPECT_EQ(first[0].Header(":message-type"), "event");
  EXPECT_EQ(first[0].payload, "first");  // before "second" is written

  asio::write(runtime, asio::buffer(std::string("6\r\nsecond\r\n0\r\n\r\n")));
  http::Response accepted;
  bhttp::read(runtime, buf, accepted);
  EXPECT_EQ(accepted.result(), bhttp::status::accepted);
  const auto& all = caller.ReadAll();
  EXPECT_TRUE(caller.error().empty()) << caller.error();
  EXPECT_EQ(Payload(all), "firstsecond");
  EXPECT_EQ(Complete(all), json::object());
  EXPECT_TRUE(caller.parser().is_done());

  // A second answer for the same id is refused, as for buffered responses.
  asio::write(runtime, asio::buffer("POST /2018-06-01/runtime/invocation/" + id +
                                    "/response HTTP/1.1\r\nHost: x\r\n"
                                    "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  http::Response twice;
  bhttp::read(runtime, buf, twice);
  EXPECT_EQ(twice.result(), bhttp::status::forbidden);
  EXPECT_EQ(json::parse(twice.body())["errorType"], "InvalidStateTransition");
}

TEST_F(StreamingTest, StreamedFunctionThroughBothInvokeApis) {
  Start({ExampleFunction("stream", "stream")});
  // Buffered Invoke: the whole body, as AWS's Invoke returns it.
  auto whole = Invoke("stream", R"({"chunks": 3})");
  EXPECT_EQ(whole.result(), bhttp::status::ok);
  EXPECT_EQ(whole.body(), "chunk 1\nchunk 2\nchunk 3\n");
  EXPECT_EQ(whole[bhttp::field::content_type], "text/plain");
  EXPECT_TRUE(whole["X-Amz-Function-Error"].empty());

  StreamCaller caller(url_.port, "stream", R"({"chunks": 4})", {{"X-Amz-Log-Type", "Tail"}});
  const auto& events = caller.ReadAll();
  EXPECT_TRUE(caller.error().empty()) << caller.error();
  EXPECT_EQ(Payload(events), "chunk 1\nchunk 2\nchunk 3\nchunk 4\n");
  const json complete = Complete(events);
  ASSERT_TRUE(complete.is_object());
  EXPECT_FALSE(complete.contains("ErrorCode"));
  const std::string id(caller.parser().get()["X-Amzn-RequestId"]);
  auto log = http::Base64Decode(complete.value("LogResult", ""));
  ASSERT_TRUE(log.has_value());
  EXPECT_NE(log->find("START RequestId: " + id), std::string::npos) << *log;
  EXPECT_EQ(Metrics("stream")["Invocations"], 2);
  EXPECT_EQ(Metrics("stream")["ColdStarts"], 1);
}

// Error trailers after a partial stream: a function error, as AWS reports it.
TEST_F(StreamingTest, ErrorTrailersBecomeAFunctionError) {
  Start({ExampleFunction("stream", "stream")});
  auto res = Invoke("stream", R"({"chunks": 2, "fail": true})");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res["X-Amz-Function-Error"], "Unhandled");
  json body = json::parse(res.body());
  EXPECT_EQ(body["errorType"], "Function.StreamError");
  EXPECT_EQ(body["errorMessage"], "failed after 2 chunks");

  StreamCaller caller(url_.port, "stream", R"({"chunks": 2, "fail": true})");
  const auto& events = caller.ReadAll();
  EXPECT_EQ(Payload(events), "chunk 1\nchunk 2\n");
  const json complete = Complete(events);
  EXPECT_EQ(complete["ErrorCode"], "Function.StreamError");
  EXPECT_EQ(complete["ErrorDetails"], "failed after 2 chunks");
  EXPECT_EQ(Metrics("stream")["Errors"], 2);
  EXPECT_EQ(Metrics("stream")["ColdStarts"], 1);  // a function error keeps it warm
}

TEST_F(StreamingTest, NonStreamingFunctionsAndErrorsThroughTheStreamApi) {
  FunctionConfig slow = ExampleFunction("slow", "sleep", /*timeout_s=*/1);
  Start({ExampleFunction("echo", "echo"), ExampleFunction("fail", "fail"), slow});
  StreamCaller echo(url_.port, "echo", R"({"whole": true})");
  const auto& events = echo.ReadAll();
  ASSERT_EQ(events.size(), 2u);  // the whole response as one chunk, then the end
  EXPECT_EQ(events[0].payload, R"({"whole": true})");
  EXPECT_EQ(Complete(events), json::object());

  StreamCaller fail(url_.port, "fail", "{}");
  const json failed = Complete(fail.ReadAll());
  EXPECT_EQ(failed["ErrorCode"], "Function.Boom");
  EXPECT_EQ(Payload(fail.ReadAll()), "");

  StreamCaller timeout(url_.port, "slow", R"({"ms": 2000})");
  const json timed_out = Complete(timeout.ReadAll());
  EXPECT_EQ(timed_out["ErrorCode"], "Sandbox.Timedout");
  EXPECT_NE(timed_out["ErrorDetails"].get<std::string>().find("Task timed out after 1.00 seconds"),
            std::string::npos);

  // Errors before the function runs are ordinary AWS answers.
  StreamCaller missing(url_.port, "nope", "{}");
  EXPECT_EQ(missing.parser().get().result(), bhttp::status::not_found);
  StreamCaller event(url_.port, "echo", "{}", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(event.parser().get().result(), bhttp::status::bad_request);
  StreamCaller dry(url_.port, "echo", "{}", {{"X-Amz-Invocation-Type", "DryRun"}});
  EXPECT_EQ(dry.parser().get().result(), bhttp::status::no_content);
}

// AWS's limits: 6 MB for a buffered response, 200 MB for a streamed one.
TEST_F(StreamingTest, SizeLimitsDependOnHowTheCallerInvokes) {
  Start({ExampleFunction("stream", "stream", 20)});
  const std::string seven_mb = R"({"bytes": 7340032})";
  auto buffered = Invoke("stream", seven_mb);
  EXPECT_EQ(buffered["X-Amz-Function-Error"], "Unhandled");
  EXPECT_EQ(json::parse(buffered.body())["errorType"], "Function.ResponseSizeTooLarge");

  StreamCaller caller(url_.port, "stream", seven_mb);
  const auto& events = caller.ReadAll();
  EXPECT_TRUE(caller.error().empty()) << caller.error();
  EXPECT_EQ(Payload(events).size(), 7340032u);
  EXPECT_EQ(Complete(events), json::object()) << LogText();
}

}  // namespace
}  // namespace faultline::lambda
