// Random: a small, seeded, reproducible generator (xoshiro256**, seeded by
// splitmix64). Every random decision in faultline comes from one of these, so
// a run with the same seed makes the same decisions. The algorithms are
// written out here rather than taken from <random>, whose distributions
// differ between standard libraries.
//
// Thread-safety: none; give each thread its own (see Random::ForStream).
#ifndef FAULTLINE_RANDOM_H_
#define FAULTLINE_RANDOM_H_

#include <cstdint>

namespace faultline {

class Random {
 public:
  explicit Random(std::uint64_t seed);

  // A generator for stream `n` of `seed`: independent of the other streams,
  // the same for the same (seed, n).
  static Random ForStream(std::uint64_t seed, std::uint64_t n);

  std::uint64_t Next();
  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi].
  double Uniform(double lo, double hi) { return lo + (hi - lo) * NextDouble(); }
  // Normal with the given mean and standard deviation (Box-Muller).
  double Normal(double mean, double stddev);

 private:
  std::uint64_t s_[4];
};

// A seed from the operating system's entropy, for when the user gave none.
std::uint64_t RandomSeed();

}  // namespace faultline

#endif  // FAULTLINE_RANDOM_H_
