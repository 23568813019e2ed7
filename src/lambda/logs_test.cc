// The platform's log lines: REPORT as AWS writes it (pure), and, end to
// end, every line a function wrote before it answered logged before its END
// line and inside its Tail.
#include "lambda/logs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/encoding.h"
#include "lambda/emulator_fixture.h"

namespace faultline::lambda {
namespace {

using json = nlohmann::json;
namespace bhttp = http::bhttp;

TEST(FormatReport, WarmColdTimeoutAndError) {
  ReportFields f{.request_id = "id", .duration_ms = 12.684, .max_memory_used_mb = 45};
  EXPECT_EQ(FormatReport(f),
            "REPORT RequestId: id\tDuration: 12.68 ms\tBilled Duration: 13 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 45 MB\t");
  f.init_ms = 295.33;  // billed since August 2025: ceil(12.684 + 295.33) = 309
  EXPECT_EQ(FormatReport(f),
            "REPORT RequestId: id\tDuration: 12.68 ms\tBilled Duration: 309 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 45 MB\tInit Duration: 295.33 ms\t");
  f = {.request_id = "t", .duration_ms = 3000, .max_memory_used_mb = 73, .status = "timeout"};
  EXPECT_EQ(FormatReport(f),
            "REPORT RequestId: t\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 73 MB\tStatus: timeout");
  f = {.request_id = "e",
       .duration_ms = 5.5,
       .memory_size_mb = 1024,
       .max_memory_used_mb = 9,
       .status = "error",
       .error_type = "Runtime.ExitError"};
  EXPECT_EQ(FormatReport(f),
            "REPORT RequestId: e\tDuration: 5.50 ms\tBilled Duration: 6 ms\tMemory Size: 1024 "
            "MB\tMax Memory Used: 9 MB\tStatus: error\tError Type: Runtime.ExitError");
}

class LogsTest : public EmulatorFixture {
 protected:
  // The decoded Tail of an invocation.
  static std::string Tail(const http::Response& res) {
    return http::Base64Decode(std::string(res["X-Amz-Log-Result"])).value_or("<no tail>");
  }
};

TEST_F(LogsTest, EveryLineBeforeTheAnswerIsBeforeEndAndInTheTail) {
  Start({ExampleFunction("chatty", "chatty")});
  for (int i = 0; i < 20; ++i) {
    auto res = Invoke("chatty", R"({"lines": 300})", {{"X-Amz-Log-Type", "Tail"}});
    ASSERT_EQ(res.result(), bhttp::status::ok);
    const std::string id(res["X-Amzn-RequestId"]);
    const std::string tail = Tail(res);
    const std::size_t last = tail.find("line 300 of 300\n");
    const std::size_t end = tail.find("END RequestId: " + id);
    ASSERT_NE(last, std::string::npos) << "call " << i << ": " << tail;
    ASSERT_NE(end, std::string::npos) << tail;
    EXPECT_LT(last, end);
    EXPECT_LE(tail.size(), 4096u);
  }
  // And in the whole log: the 300 lines of each call come before its END.
  const std::vector<std::string> log = Log();
  int lines = 0;
  for (const std::string& l : log) {
    if (l.find("] line ") != std::string::npos) ++lines;
    if (l.find("] END RequestId: ") != std::string::npos) {
      EXPECT_EQ(lines, 300);
      lines = 0;
    }
  }
}

TEST_F(LogsTest, ReportSaysTimeoutAndErrorAndMemoryAfterACrash) {
  Start({ExampleFunction("slow", "sleep", /*timeout_s=*/1), ExampleFunction("crash", "crash")});
  auto timed_out = Invoke("slow", R"({"ms": 3000})", {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_NE(Tail(timed_out).find("MB\tInit Duration: "), std::string::npos) << Tail(timed_out);
  ASSERT_TRUE(WaitForLog("\tStatus: timeout"));
  auto crashed = Invoke("crash", "{}", {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_EQ(crashed["X-Amz-Function-Error"], "Unhandled");
  ASSERT_TRUE(WaitForLog("\tStatus: error\tError Type: Runtime.ExitError"));
  for (const std::string& line : Log()) {
    if (line.find("[crash] REPORT") == std::string::npos) continue;
    const std::size_t at = line.find("Max Memory Used: ");
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(std::atoi(line.c_str() + at + 17), 0) << line;  // read after the crash
  }
}

}  // namespace
}  // namespace faultline::lambda
