#include "core/crc32.h"

#include <gtest/gtest.h>

namespace faultline::internal {
namespace {

TEST(Crc32Test, StandardCheckValueAndContinuation) {
  EXPECT_EQ(Crc32(""), 0U);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926U);  // the CRC-32 check value
  EXPECT_EQ(Crc32("56789", Crc32("1234")), 0xCBF43926U);
  EXPECT_EQ(Crc32(std::string_view("\0", 1)), 0xD202EF8DU);
}

}  // namespace
}  // namespace faultline::internal
