// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320: the CRC of zip, gzip
// and AWS's event stream framing).
//
// A pure function; thread-safe.
#ifndef FAULTLINE_CORE_CRC32_H_
#define FAULTLINE_CORE_CRC32_H_

#include <cstdint>
#include <string_view>

namespace faultline::internal {

// The CRC of `data`, continuing from `crc` (0 to start), so that
// Crc32(b, Crc32(a)) == Crc32(a + b).
std::uint32_t Crc32(std::string_view data, std::uint32_t crc = 0);

}  // namespace faultline::internal

#endif  // FAULTLINE_CORE_CRC32_H_
