// Histogram: a latency histogram with fixed relative precision, after Gil
// Tene's HdrHistogram (3 significant digits, 1 us to 60 s).
//
//   value (us) --> bucket b = floor(log2(value)) - 10  (0 below 2048 us)
//              --> sub-bucket = value >> b             (1024 .. 2047, or 0 .. 2047 in bucket 0)
//              --> one counter
//
// Values below 2,048 us are counted exactly; above, each counter covers a
// range 1/1024 of its value wide, so any percentile is within 0.1 % of a
// recorded value. The counters are a fixed array (17,408 of them, 136 KiB),
// whatever the number of values: memory does not grow with a run.
// Histograms of the same shape merge by adding counters, so each thread
// keeps its own and they are added at the end.
//
// Values outside 0 .. 60 s are clamped to the nearest bound and counted
// (out_of_range()); min/max/mean/stddev are computed from the exact values
// recorded (after clamping), percentiles from the counters.
//
// Thread-safety: none; one histogram per thread, Merge() after.
#ifndef FAULTLINE_LOAD_HISTOGRAM_H_
#define FAULTLINE_LOAD_HISTOGRAM_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace faultline::load {

class Histogram {
 public:
  // The range, in microseconds: 1 us .. 60 s.
  static constexpr std::int64_t kLowestUs = 1;
  static constexpr std::int64_t kHighestUs = 60'000'000;
  // 3 significant digits: 2 * 10^3 rounded up to a power of two.
  static constexpr int kSubBucketBits = 11;
  static constexpr std::int64_t kSubBucketCount = std::int64_t{1} << kSubBucketBits;  // 2048
  static constexpr std::int64_t kSubBucketHalfCount = kSubBucketCount / 2;            // 1024
  static constexpr int kBucketCount = 16;  // 2048 << 15 > 60 s in us
  static constexpr std::size_t kCountsLen =
      static_cast<std::size_t>((kBucketCount + 1) * kSubBucketHalfCount);

  Histogram();

  // Records one value. Nanoseconds are truncated to microseconds.
  void Record(std::chrono::nanoseconds value) { RecordUs(value.count() / 1000); }
  void RecordUs(std::int64_t us);

  // Adds every value of `other` to this one.
  void Merge(const Histogram& other);
  // Forgets every value (memory stays).
  void Reset();

  std::uint64_t count() const { return count_; }
  // Values clamped into the range (negative, or over 60 s).
  std::uint64_t out_of_range() const { return out_of_range_; }
  // Exact; 0 when empty.
  std::int64_t min_us() const { return count_ == 0 ? 0 : min_; }
  std::int64_t max_us() const { return count_ == 0 ? 0 : max_; }
  double mean_us() const;
  double stddev_us() const;  // population standard deviation

  // The value at `percentile` (0 .. 100): the highest value of the counter
  // that holds the ceil(percentile% of count)-th value (at least the first),
  // kept within [min, max]. 0 when empty.
  std::int64_t ValueAtPercentileUs(double percentile) const;

  // The figures a report shows, in microseconds.
  struct Stats {
    std::uint64_t count = 0;
    std::int64_t min_us = 0;
    double mean_us = 0;
    double stddev_us = 0;
    std::int64_t p50_us = 0;
    std::int64_t p75_us = 0;
    std::int64_t p90_us = 0;
    std::int64_t p99_us = 0;
    std::int64_t p99_9_us = 0;
    std::int64_t p99_99_us = 0;
    std::int64_t max_us = 0;
  };
  Stats Summarize() const;

  // The lowest and highest values counted by the same counter as `us`
  // (equal below 2,048 us). REQUIRES: 0 <= us <= kHighestUs.
  static std::int64_t LowestEquivalentUs(std::int64_t us);
  static std::int64_t HighestEquivalentUs(std::int64_t us);
  // The counter that holds `us`. REQUIRES: 0 <= us <= kHighestUs.
  static std::size_t IndexOf(std::int64_t us);

 private:
  static std::int64_t ValueFromIndex(std::size_t index);

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t out_of_range_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double mean_ = 0;  // us, running (Welford)
  double m2_ = 0;    // sum of squared deviations from the mean, us^2
};

}  // namespace faultline::load

#endif  // FAULTLINE_LOAD_HISTOGRAM_H_
