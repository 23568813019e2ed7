// The zip writer, read back by Python's zipfile: local headers, central directory, Unix modes.
#include "extension/zip.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace faultline::extension {
namespace {

std::uint32_t Le32(const std::string& s, std::size_t at) {
  return static_cast<std::uint8_t>(s[at]) | static_cast<std::uint8_t>(s[at + 1]) << 8 |
         static_cast<std::uint8_t>(s[at + 2]) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 3])) << 24;
}

TEST(ZipTest, PythonReadsItBackWithModes) {
  auto zip = WriteZip({{"extensions/", "", 0755},
                       {"extensions/faultline", "#!/bin/sh\necho hi\n", 0755},
                       {"README", std::string(100000, 'x'), 0644}});
  ASSERT_TRUE(zip.ok());
  EXPECT_EQ(Le32(*zip, 0), 0x04034b50u);
  const std::string path = ::testing::TempDir() + "/faultline_zip_test.zip";
  {
    std::ofstream out(path, std::ios::binary);
    out << *zip;
  }
  const std::string script =
      "import sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "assert z.testzip() is None\n"
      "for i in z.infolist(): print(i.filename, oct(i.external_attr >> 16), i.file_size)\n";
  const std::string cmd = "python3 -c '" + script + "' " + path + " > " + path + ".out";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(path + ".out");
  std::string listing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(listing,
            "extensions/ 0o40755 0\n"
            "extensions/faultline 0o100755 18\n"
            "README 0o100644 100000\n");
  std::remove(path.c_str());
  std::remove((path + ".out").c_str());
}

TEST(ZipTest, SameInputSameBytes) {
  auto a = WriteZip({{"a", "1", 0644}});
  auto b = WriteZip({{"a", "1", 0644}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(WriteZip({{"", "x", 0644}}).ok());
}

}  // namespace
}  // namespace faultline::extension
