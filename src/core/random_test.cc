#include "faultline/random.h"

#include <gtest/gtest.h>

#include <cmath>

namespace faultline {
namespace {

TEST(RandomTest, SameSeedSameSequence) {
  Random a(17), b(17), c(18);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    std::uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(RandomTest, StreamsDiffer) {
  Random a = Random::ForStream(5, 0), b = Random::ForStream(5, 1);
  EXPECT_NE(a.Next(), b.Next());
  Random c = Random::ForStream(5, 1);
  Random d = Random::ForStream(5, 1);
  EXPECT_EQ(c.Next(), d.Next());
}

TEST(RandomTest, NextDoubleInUnitInterval) {
  Random r(1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double x = r.NextDouble();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    sum += x;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

TEST(RandomTest, NormalMoments) {
  Random r(2);
  const int n = 100000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    double x = r.Normal(10, 3);
    sum += x;
    sq += x * x;
  }
  double mean = sum / n;
  EXPECT_NEAR(mean, 10, 0.05);
  EXPECT_NEAR(std::sqrt(sq / n - mean * mean), 3, 0.05);
}

TEST(RandomTest, KnownValuesPinTheAlgorithm) {
  // A replayed experiment must make the same draws on every build: these are
  // xoshiro256** seeded by splitmix64(0), computed independently.
  Random r(0);
  EXPECT_EQ(r.Next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(r.Next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(r.Next(), 0x1a5f849d4933e6e0ULL);
}

TEST(RandomTest, RandomSeedIsNonZero) { EXPECT_NE(RandomSeed(), 0u); }

}  // namespace
}  // namespace faultline
