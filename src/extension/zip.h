// Zip: a minimal zip archive writer for Lambda layers (stored entries, CRC-32,
// Unix modes), so `faultline layer build` needs no zip library or program.
//
//   {name, data, mode}... --WriteZip--> bytes (local headers, data, central
//                                       directory, end record)
//
// Entries are stored (not compressed); names use '/' and are written in the
// order given; a name ending in '/' is a directory. Every entry gets the same
// timestamp, so the same inputs give the same bytes. Archives over 4 GiB
// (zip64) are refused.
//
// Thread-safety: plain functions.
#ifndef FAULTLINE_EXTENSION_ZIP_H_
#define FAULTLINE_EXTENSION_ZIP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/status.h"

namespace faultline::extension {

struct ZipEntry {
  std::string name;           // "bin/faultline", "extensions/" (a directory)
  std::string data;           // empty for a directory
  std::uint32_t mode = 0644;  // Unix permission bits (0755: executable)
};

// The archive, or an error naming the entry that does not fit.
Result<std::string> WriteZip(const std::vector<ZipEntry>& entries);

}  // namespace faultline::extension

#endif  // FAULTLINE_EXTENSION_ZIP_H_
