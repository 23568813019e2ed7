#include "extension/zip.h"

#include <limits>

#include "core/crc32.h"

namespace faultline::extension {

namespace {

// 2026-11-25 00:00:00 in MS-DOS form.
constexpr std::uint16_t kDosDate = ((2026 - 1980) << 9) | (11 << 5) | 25;
constexpr std::uint16_t kDosTime = 0;
constexpr std::uint32_t kIfReg = 0100000, kIfDir = 0040000;

void Put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& out, std::uint32_t v) {
  Put16(out, static_cast<std::uint16_t>(v & 0xffff));
  Put16(out, static_cast<std::uint16_t>(v >> 16));
}

}  // namespace

Result<std::string> WriteZip(const std::vector<ZipEntry>& entries) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
  std::string out, central;
  for (const ZipEntry& e : entries) {
    if (e.name.empty() || e.name.size() > 0xffff) {
      return Status::InvalidArgument("zip entry: expected a name of 1..65535 bytes");
    }
    if (out.size() + e.data.size() + e.name.size() + 30 > kMax) {
      return Status::InvalidArgument("zip entry " + e.name + ": the archive would pass 4 GiB");
    }
    const bool dir = e.name.back() == '/';
    const std::uint32_t crc = internal::Crc32(e.data);
    const auto size = static_cast<std::uint32_t>(e.data.size());
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto name_len = static_cast<std::uint16_t>(e.name.size());
    // Local file header.
    Put32(out, 0x04034b50);
    Put16(out, 20);  // version needed: 2.0
    Put16(out, 0);   // flags
    Put16(out, 0);   // method: stored
    Put16(out, kDosTime);
    Put16(out, kDosDate);
    Put32(out, crc);
    Put32(out, size);
    Put32(out, size);
    Put16(out, name_len);
    Put16(out, 0);  // extra
    out += e.name;
    out += e.data;
    // Central directory entry.
    Put32(central, 0x02014b50);
    Put16(central, (3 << 8) | 20);  // made by: Unix, 2.0 (so the mode is read)
    Put16(central, 20);
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, kDosTime);
    Put16(central, kDosDate);
    Put32(central, crc);
    Put32(central, size);
    Put32(central, size);
    Put16(central, name_len);
    Put16(central, 0);  // extra
    Put16(central, 0);  // comment
    Put16(central, 0);  // disk
    Put16(central, 0);  // internal attributes
    Put32(central, ((dir ? kIfDir : kIfReg) | (e.mode & 07777)) << 16 | (dir ? 0x10 : 0));
    Put32(central, offset);
    central += e.name;
  }
  if (entries.size() > 0xffff || out.size() + central.size() + 22 > kMax) {
    return Status::InvalidArgument("zip: too many entries or over 4 GiB");
  }
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  Put32(out, 0x06054b50);
  Put16(out, 0);
  Put16(out, 0);
  Put16(out, static_cast<std::uint16_t>(entries.size()));
  Put16(out, static_cast<std::uint16_t>(entries.size()));
  Put32(out, static_cast<std::uint32_t>(central.size()));
  Put32(out, central_offset);
  Put16(out, 0);  // comment
  return out;
}

}  // namespace faultline::extension
