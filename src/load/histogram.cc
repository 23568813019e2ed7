#include "load/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace faultline::load {
namespace {

constexpr int kHalfBits = Histogram::kSubBucketBits - 1;  // 10

// Which power-of-two bucket `us` falls in: 0 below 2048, then one per octave.
int BucketOf(std::int64_t us) {
  const auto v =
      static_cast<std::uint64_t>(us) | static_cast<std::uint64_t>(Histogram::kSubBucketCount - 1);
  return (63 - std::countl_zero(v)) - kHalfBits;
}

}  // namespace

Histogram::Histogram() : counts_(kCountsLen, 0) {}

std::size_t Histogram::IndexOf(std::int64_t us) {
  const int bucket = BucketOf(us);
  const std::int64_t sub = us >> bucket;
  return static_cast<std::size_t>((std::int64_t{bucket + 1} << kHalfBits) +
                                  (sub - kSubBucketHalfCount));
}

std::int64_t Histogram::ValueFromIndex(std::size_t index) {
  int bucket = static_cast<int>(index >> kHalfBits) - 1;
  auto sub = static_cast<std::int64_t>(index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

std::int64_t Histogram::LowestEquivalentUs(std::int64_t us) { return ValueFromIndex(IndexOf(us)); }

std::int64_t Histogram::HighestEquivalentUs(std::int64_t us) {
  return LowestEquivalentUs(us) + (std::int64_t{1} << BucketOf(us)) - 1;
}

void Histogram::RecordUs(std::int64_t us) {
  if (us < 0 || us > kHighestUs) {
    ++out_of_range_;
    us = std::clamp<std::int64_t>(us, 0, kHighestUs);
  }
  ++counts_[IndexOf(us)];
  if (count_ == 0 || us < min_) min_ = us;
  if (count_ == 0 || us > max_) max_ = us;
  // Welford's running mean and sum of squared deviations: exact enough for
  // any run, and mergeable (Chan et al.).
  ++count_;
  const auto x = static_cast<double>(us);
  const double delta = x - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (x - mean_);
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kCountsLen; ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  const auto n_a = static_cast<double>(count_);
  const auto n_b = static_cast<double>(other.count_);
  const double n = n_a + n_b;
  const double delta = other.mean_ - mean_;
  mean_ += delta * n_b / n;
  m2_ += other.m2_ + delta * delta * n_a * n_b / n;
  count_ += other.count_;
  out_of_range_ += other.out_of_range_;
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  out_of_range_ = 0;
  min_ = 0;
  max_ = 0;
  mean_ = 0;
  m2_ = 0;
}

double Histogram::mean_us() const { return count_ == 0 ? 0.0 : mean_; }

double Histogram::stddev_us() const {
  if (count_ == 0) return 0.0;
  return std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_)));
}

std::int64_t Histogram::ValueAtPercentileUs(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  const auto wanted = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(
             std::ceil(percentile / 100.0 * static_cast<double>(count_) - 1e-9)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kCountsLen; ++i) {
    seen += counts_[i];
    if (seen >= wanted) {
      return std::clamp(HighestEquivalentUs(ValueFromIndex(i)), min_, max_);
    }
  }
  return max_;
}

Histogram::Stats Histogram::Summarize() const {
  return Stats{.count = count_,
               .min_us = min_us(),
               .mean_us = mean_us(),
               .stddev_us = stddev_us(),
               .p50_us = ValueAtPercentileUs(50),
               .p75_us = ValueAtPercentileUs(75),
               .p90_us = ValueAtPercentileUs(90),
               .p99_us = ValueAtPercentileUs(99),
               .p99_9_us = ValueAtPercentileUs(99.9),
               .p99_99_us = ValueAtPercentileUs(99.99),
               .max_us = max_us()};
}

}  // namespace faultline::load
