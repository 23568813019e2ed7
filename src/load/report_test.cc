#include "load/report.h"

#include <gtest/gtest.h>

namespace faultline::load {
namespace {

using namespace std::chrono_literals;

TEST(ScheduleTest, RequestsAreDueAtEvenIntervals) {
  EXPECT_EQ(IntendedSendNs(0, 100), 0);
  EXPECT_EQ(IntendedSendNs(1, 100), 10'000'000);
  EXPECT_EQ(IntendedSendNs(250, 100), 2'500'000'000);
  EXPECT_EQ(IntendedSendNs(1, 3), 333'333'333);
  EXPECT_EQ(IntendedSendNs(3, 3), 1'000'000'000);
  EXPECT_EQ(IntendedSendNs(1'000'000'000, 1'000'000), 1'000'000'000'000);  // no overflow
  EXPECT_EQ(IntendedSendNs(5, 0.5), 10'000'000'000);
}

TEST(ParseDurationTest, AcceptsSecondsAndUnits) {
  EXPECT_EQ(*ParseDuration("5"), 5s);
  EXPECT_EQ(*ParseDuration("5s"), 5s);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseDuration("250us"), 250us);
  EXPECT_EQ(*ParseDuration("2m"), 120s);
  EXPECT_EQ(*ParseDuration("1h"), 3600s);
}

TEST(ParseDurationTest, RefusesZeroNegativeAndJunk) {
  for (const char* bad : {"0", "0s", "-1", "-5s", "", "s", "abc", "5x", "5 s", "1e400", "1e-12",
                          "nan", "inf", "99999999999h"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(d.status().message().find("expected a positive duration"), std::string::npos);
  }
}

TEST(ParseHeaderTest, SplitsNameAndValue) {
  auto h = ParseHeader("X-Request-Id: abc 123 ");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->first, "X-Request-Id");
  EXPECT_EQ(h->second, "abc 123");
  h = ParseHeader("Accept:text/html");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->second, "text/html");
  h = ParseHeader("X-Empty:");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->second, "");
  h = ParseHeader("Authorization: Basic a:b");  // colons in the value are fine
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->second, "Basic a:b");
}

TEST(ParseHeaderTest, RefusesMalformedHeaders) {
  for (const char* bad : {"NoColon", ": value", "Bad Name: x", "X-A\t: x", "X\xc3\xa9: x"}) {
    auto h = ParseHeader(bad);
    ASSERT_FALSE(h.ok()) << bad;
    EXPECT_NE(h.status().message().find("header"), std::string::npos);
  }
}

TEST(IsHttpTokenTest, Methods) {
  EXPECT_TRUE(IsHttpToken("GET"));
  EXPECT_TRUE(IsHttpToken("PURGE"));
  EXPECT_TRUE(IsHttpToken("M-SEARCH"));
  EXPECT_FALSE(IsHttpToken(""));
  EXPECT_FALSE(IsHttpToken("GET /"));
  EXPECT_FALSE(IsHttpToken("GE\nT"));
}

TEST(TallyTest, CountsAndMerges) {
  Tally a, b;
  a.AddError(ErrorKind::kTimeout);
  b.AddError(ErrorKind::kTimeout);
  b.AddError(ErrorKind::kConnectRefused);
  a.statuses[200] = 5;
  b.statuses[503] = 2;
  b.statuses[404] = 1;
  a.responses = 5;
  b.responses = 3;
  a.bytes_read = 100;
  b.bytes_written = 7;
  b.unfinished = 1;
  b.latency.RecordUs(10);
  a.Merge(b);
  EXPECT_EQ(a.error_count(), 3u);
  EXPECT_EQ(a.errors[static_cast<std::size_t>(ErrorKind::kTimeout)], 2u);
  EXPECT_EQ(a.http_error_count(), 3u);
  EXPECT_EQ(a.responses, 8u);
  EXPECT_EQ(a.bytes_read, 100u);
  EXPECT_EQ(a.bytes_written, 7u);
  EXPECT_EQ(a.unfinished, 1u);
  EXPECT_EQ(a.latency.count(), 1u);
  EXPECT_EQ(ErrorKindName(ErrorKind::kBadResponse), "bad_response");
}

// Times are given, not read from a clock: the series is pure bookkeeping.
TEST(SeriesTest, SecondsFromTwoThreadsAreMergedInOrder) {
  SeriesAggregator agg(2);
  SeriesRecorder a(&agg), b(&agg);
  a.Response(100'000'000, 2ms, false);    // second 0
  b.Response(500'000'000, 4ms, true);     // second 0
  a.Response(1'500'000'000, 8ms, false);  // second 1
  b.Error(2'100'000'000);                 // second 2
  a.Response(3'200'000'000, 1ms, false);  // second 3
  a.Finish();
  b.Finish();
  std::vector<SecondStats> s = agg.Finish();
  ASSERT_EQ(s.size(), 4u);
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i].second, static_cast<std::int64_t>(i));
  EXPECT_EQ(s[0].responses, 2u);
  EXPECT_EQ(s[0].http_errors, 1u);
  EXPECT_EQ(s[0].latency.min_us, 2000);
  EXPECT_EQ(s[0].latency.max_us, 4000);
  EXPECT_EQ(s[1].responses, 1u);
  EXPECT_EQ(s[1].latency.p50_us, 8000);
  EXPECT_EQ(s[2].responses, 0u);
  EXPECT_EQ(s[2].errors, 1u);
  EXPECT_EQ(s[3].responses, 1u);
}

TEST(SeriesTest, QuietSecondsAreZeroesNotGaps) {
  SeriesAggregator agg(1);
  SeriesRecorder a(&agg);
  a.Response(0, 1ms, false);
  a.Response(4'000'000'000, 1ms, false);
  a.Finish();
  std::vector<SecondStats> s = agg.Finish();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].responses, 1u);
  EXPECT_EQ(s[2].responses, 0u);
  EXPECT_EQ(s[2].latency.count, 0u);
  EXPECT_EQ(s[4].responses, 1u);
}

LoadResult SampleResult() {
  LoadResult r;
  r.url = "http://127.0.0.1:8080/";
  r.connections = 8;
  r.threads = 2;
  r.duration_limit_s = 5;
  r.timeout_s = 10;
  r.started_at = "2026-11-25T10:00:00.000Z";
  r.elapsed_s = 2;
  for (int i = 1; i <= 100; ++i) r.tally.latency.RecordUs(i * 100);
  r.tally.responses = 100;
  r.tally.statuses[200] = 97;
  r.tally.statuses[503] = 3;
  r.tally.AddError(ErrorKind::kClosed);
  r.tally.bytes_read = 4096;
  r.tally.bytes_written = 1024;
  r.series.push_back(
      SecondStats{.second = 0, .responses = 100, .latency = r.tally.latency.Summarize()});
  return r;
}

TEST(ToJsonTest, HasTheDocumentedFields) {
  const nlohmann::json j = ToJson(SampleResult());
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["url"], "http://127.0.0.1:8080/");
  EXPECT_EQ(j["options"]["connections"], 8);
  EXPECT_EQ(j["options"]["duration_s"], 5.0);
  EXPECT_TRUE(j["options"]["requests"].is_null());
  EXPECT_TRUE(j["options"]["rate"].is_null());
  EXPECT_EQ(j["coordinated_omission_corrected"], false);
  EXPECT_TRUE(j["interrupted"].is_null());
  EXPECT_EQ(j["requests"]["total"], 101);
  EXPECT_EQ(j["requests"]["responses"], 100);
  EXPECT_EQ(j["requests"]["ok"], 97);
  EXPECT_EQ(j["requests"]["failed"], 4);
  EXPECT_EQ(j["requests"]["unfinished"], 0);
  EXPECT_DOUBLE_EQ(j["requests"]["per_second"].get<double>(), 50.5);
  EXPECT_NEAR(j["error_rate"].get<double>(), 4.0 / 101, 1e-12);
  EXPECT_EQ(j["errors"]["total"], 1);
  EXPECT_EQ(j["errors"]["by_kind"]["closed"], 1);
  EXPECT_EQ(j["errors"]["by_kind"]["timeout"], 0);
  EXPECT_EQ(j["errors"]["by_kind"].size(), kErrorKinds);
  EXPECT_EQ(j["responses"]["by_status"]["200"], 97);
  EXPECT_EQ(j["responses"]["by_status"]["503"], 3);
  EXPECT_EQ(j["responses"]["by_class"]["2xx"], 97);
  EXPECT_EQ(j["responses"]["by_class"]["5xx"], 3);
  const auto& lat = j["latency_ms"];
  EXPECT_EQ(lat["count"], 100);
  EXPECT_DOUBLE_EQ(lat["min"].get<double>(), 0.1);
  // A percentile is the highest value its counter holds (within 0.1 %).
  EXPECT_DOUBLE_EQ(lat["p50"].get<double>(), 5.003);
  EXPECT_DOUBLE_EQ(lat["max"].get<double>(), 10.0);
  double last = 0;
  for (const char* key : {"min", "p50", "p75", "p90", "p99", "p99_9", "p99_99", "max"}) {
    EXPECT_GE(lat[key].get<double>(), last) << key;
    last = lat[key].get<double>();
  }
  EXPECT_EQ(j["transfer"]["bytes_read"], 4096);
  EXPECT_EQ(j["transfer"]["bytes_written"], 1024);
  ASSERT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(j["series"][0]["second"], 0);
  EXPECT_EQ(j["series"][0]["responses"], 100);
  EXPECT_DOUBLE_EQ(j["series"][0]["latency_ms"]["p99"].get<double>(), 9.903);
}

TEST(ToJsonTest, OpenLoopRunsSayTheyAreCorrected) {
  LoadResult r = SampleResult();
  r.rate = 200;
  const nlohmann::json j = ToJson(r);
  EXPECT_EQ(j["coordinated_omission_corrected"], true);
  EXPECT_EQ(j["options"]["rate"], 200.0);
}

TEST(FormatSummaryTest, ShowsTheFigures) {
  const std::string s = FormatSummary(SampleResult());
  EXPECT_NE(s.find("8 connections, 2 threads, 5s"), std::string::npos) << s;
  EXPECT_NE(s.find("Requests:   101 in 2.00s, 50.5 req/s"), std::string::npos) << s;
  EXPECT_NE(s.find("200: 97"), std::string::npos) << s;
  EXPECT_NE(s.find("503: 3"), std::string::npos) << s;
  EXPECT_NE(s.find("closed: 1"), std::string::npos) << s;
  EXPECT_NE(s.find("p50 5.00ms"), std::string::npos) << s;
  EXPECT_NE(s.find("p99 9.90ms"), std::string::npos) << s;
}

TEST(ReportTest, AnInterruptedRunSaysSo) {
  LoadResult r = SampleResult();
  r.interrupted = "SIGINT";
  r.tally.unfinished = 8;
  EXPECT_EQ(ToJson(r)["interrupted"], "SIGINT");
  const std::string s = FormatSummary(r);
  EXPECT_NE(s.find("Interrupted by SIGINT after 2.00s"), std::string::npos) << s;
  EXPECT_NE(s.find("Unfinished: 8 (in flight when interrupted"), std::string::npos) << s;
  EXPECT_EQ(FormatSummary(SampleResult()).find("Interrupted"), std::string::npos);
}

}  // namespace
}  // namespace faultline::load
