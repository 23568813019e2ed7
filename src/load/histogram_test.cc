#include "load/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace faultline::load {
namespace {

TEST(HistogramTest, EmptyHasZeroes) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min_us(), 0);
  EXPECT_EQ(h.max_us(), 0);
  EXPECT_EQ(h.mean_us(), 0.0);
  EXPECT_EQ(h.stddev_us(), 0.0);
  EXPECT_EQ(h.ValueAtPercentileUs(50), 0);
  EXPECT_EQ(h.ValueAtPercentileUs(100), 0);
}

TEST(HistogramTest, ValuesBelow2048UsAreExact) {
  for (std::int64_t v = 0; v < 2048; ++v) {
    EXPECT_EQ(Histogram::LowestEquivalentUs(v), v);
    EXPECT_EQ(Histogram::HighestEquivalentUs(v), v);
  }
  Histogram h;
  for (std::int64_t v = 1; v <= 2000; ++v) h.RecordUs(v);
  EXPECT_EQ(h.ValueAtPercentileUs(0), 1);
  EXPECT_EQ(h.ValueAtPercentileUs(50), 1000);
  EXPECT_EQ(h.ValueAtPercentileUs(90), 1800);
  EXPECT_EQ(h.ValueAtPercentileUs(99.9), 1998);
  EXPECT_EQ(h.ValueAtPercentileUs(100), 2000);
}

// Three significant digits: every counter is at most 1/1000 of its values wide.
TEST(HistogramTest, EveryValueIsHeldWithin3SignificantDigits) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(0, std::log10(60e6));
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<std::int64_t>(std::pow(10.0, exponent(rng)));
    const std::int64_t lo = Histogram::LowestEquivalentUs(v);
    const std::int64_t hi = Histogram::HighestEquivalentUs(v);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE((hi - lo) * 1000, v) << v;
    ASSERT_EQ(Histogram::IndexOf(lo), Histogram::IndexOf(hi)) << v;
    ASSERT_NE(Histogram::IndexOf(hi + 1), Histogram::IndexOf(v)) << v;
  }
}

TEST(HistogramTest, IndicesAreMonotonicAndFitTheFixedArray) {
  std::size_t last = 0;
  for (std::int64_t v = 0; v <= Histogram::kHighestUs; v += 1 + v / 4096) {
    const std::size_t i = Histogram::IndexOf(v);
    ASSERT_GE(i, last) << v;
    last = i;
  }
  EXPECT_LT(Histogram::IndexOf(Histogram::kHighestUs), Histogram::kCountsLen);
  EXPECT_EQ(Histogram::kCountsLen, 17408u);  // 136 KiB of counters, whatever the run
}

TEST(HistogramTest, PercentilesOfAUniformRunAreWithinPrecision) {
  Histogram h;
  for (std::int64_t v = 1; v <= 100000; ++v) h.RecordUs(v);
  auto near = [](std::int64_t got, double want) { return std::abs(got - want) <= want / 1000; };
  EXPECT_TRUE(near(h.ValueAtPercentileUs(50), 50000)) << h.ValueAtPercentileUs(50);
  EXPECT_TRUE(near(h.ValueAtPercentileUs(90), 90000)) << h.ValueAtPercentileUs(90);
  EXPECT_TRUE(near(h.ValueAtPercentileUs(99), 99000)) << h.ValueAtPercentileUs(99);
  EXPECT_TRUE(near(h.ValueAtPercentileUs(99.9), 99900)) << h.ValueAtPercentileUs(99.9);
  EXPECT_EQ(h.ValueAtPercentileUs(100), 100000);
  EXPECT_EQ(h.ValueAtPercentileUs(0), 1);
  EXPECT_EQ(h.min_us(), 1);
  EXPECT_EQ(h.max_us(), 100000);
  EXPECT_NEAR(h.mean_us(), 50000.5, 1e-6);
  EXPECT_NEAR(h.stddev_us(), std::sqrt((100000.0 * 100000.0 - 1) / 12), 1e-3);
}

TEST(HistogramTest, AConstantValueIsReportedExactly) {
  Histogram h;
  for (int i = 0; i < 1000; ++i) h.RecordUs(10'000);  // a server answering in 10 ms
  const Histogram::Stats s = h.Summarize();
  EXPECT_EQ(s.min_us, 10'000);
  EXPECT_EQ(s.p50_us, 10'000);
  EXPECT_EQ(s.p99_us, 10'000);
  EXPECT_EQ(s.p99_99_us, 10'000);
  EXPECT_EQ(s.max_us, 10'000);
  EXPECT_DOUBLE_EQ(s.mean_us, 10'000);
  EXPECT_NEAR(s.stddev_us, 0, 1e-9);
}

TEST(HistogramTest, PercentilesAreOrdered) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(8, 1.5);
  Histogram h;
  for (int i = 0; i < 100000; ++i) h.RecordUs(static_cast<std::int64_t>(dist(rng)));
  const Histogram::Stats s = h.Summarize();
  EXPECT_LE(s.min_us, s.p50_us);
  EXPECT_LE(s.p50_us, s.p75_us);
  EXPECT_LE(s.p75_us, s.p90_us);
  EXPECT_LE(s.p90_us, s.p99_us);
  EXPECT_LE(s.p99_us, s.p99_9_us);
  EXPECT_LE(s.p99_9_us, s.p99_99_us);
  EXPECT_LE(s.p99_99_us, s.max_us);
}

TEST(HistogramTest, MeanAndStddev) {
  Histogram h;
  for (std::int64_t v : {2, 4, 4, 4, 5, 5, 7, 9}) h.RecordUs(v);
  EXPECT_DOUBLE_EQ(h.mean_us(), 5.0);
  EXPECT_DOUBLE_EQ(h.stddev_us(), 2.0);
}

TEST(HistogramTest, NanosecondsAreTruncatedToMicroseconds) {
  Histogram h;
  h.Record(std::chrono::nanoseconds(1999));
  h.Record(std::chrono::milliseconds(3));
  EXPECT_EQ(h.min_us(), 1);
  EXPECT_EQ(h.max_us(), 3000);
}

TEST(HistogramTest, OutOfRangeValuesAreClampedAndCounted) {
  Histogram h;
  h.RecordUs(-5);
  h.RecordUs(Histogram::kHighestUs);  // the top of the range is in range
  h.RecordUs(Histogram::kHighestUs + 1);
  h.RecordUs(std::int64_t{1} << 62);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.out_of_range(), 3u);
  EXPECT_EQ(h.min_us(), 0);
  EXPECT_EQ(h.max_us(), Histogram::kHighestUs);
  EXPECT_EQ(h.ValueAtPercentileUs(100), Histogram::kHighestUs);
  EXPECT_EQ(h.ValueAtPercentileUs(25), 0);
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(9, 1);
  Histogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<std::int64_t>(dist(rng));
    (i % 3 == 0 ? a : b).RecordUs(v);
    all.RecordUs(v);
  }
  a.RecordUs(-1);
  all.RecordUs(-1);
  Histogram merged;
  merged.Merge(a);
  merged.Merge(b);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.out_of_range(), 1u);
  EXPECT_EQ(merged.min_us(), all.min_us());
  EXPECT_EQ(merged.max_us(), all.max_us());
  EXPECT_NEAR(merged.mean_us(), all.mean_us(), all.mean_us() * 1e-9);
  EXPECT_NEAR(merged.stddev_us(), all.stddev_us(), all.stddev_us() * 1e-9);
  for (double p : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    EXPECT_EQ(merged.ValueAtPercentileUs(p), all.ValueAtPercentileUs(p)) << p;
  }
}

TEST(HistogramTest, MergingEmptyHistograms) {
  Histogram a, empty;
  a.RecordUs(5);
  a.Merge(empty);
  EXPECT_EQ(a.count(), 1u);
  EXPECT_EQ(a.min_us(), 5);
  empty.Merge(a);
  EXPECT_EQ(empty.count(), 1u);
  EXPECT_EQ(empty.min_us(), 5);
  EXPECT_EQ(empty.max_us(), 5);
  EXPECT_DOUBLE_EQ(empty.mean_us(), 5);
}

TEST(HistogramTest, ResetForgetsEverything) {
  Histogram h;
  h.RecordUs(100);
  h.RecordUs(-1);
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.out_of_range(), 0u);
  EXPECT_EQ(h.ValueAtPercentileUs(50), 0);
  h.RecordUs(7);
  EXPECT_EQ(h.min_us(), 7);
  EXPECT_EQ(h.ValueAtPercentileUs(50), 7);
}

}  // namespace
}  // namespace faultline::load
