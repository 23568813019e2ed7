// Text helpers shared by the readers of rule files (src/core/rules.cc) and
// functions.yaml (src/lambda/config.cc): quoting values for "got ..." in
// error messages, listing known keys, "did you mean" suggestions, and the
// character classes and number shapes of YAML 1.2's core schema.
//
// Internal to faultline: not part of the public API under include/.
//
// Thread-safety: every function is pure (no shared state); call from any
// thread.
#ifndef FAULTLINE_CORE_TEXT_H_
#define FAULTLINE_CORE_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "faultline/status.h"

namespace faultline::internal {

// The largest rule or configuration file faultline reads (16 MiB): a bigger
// one is refused before a byte of it is read, so that a huge or endless
// file (a log pointed at by mistake, /dev/zero) costs nothing.
inline constexpr std::uint64_t kMaxFileBytes = std::uint64_t{16} * 1024 * 1024;

// A file's content and its modification time.
struct FileText {
  std::string text;
  std::int64_t mtime_ns = 0;  // st_mtim, nanoseconds since the Unix epoch
};

// The whole of the file at `path`, read through one close-on-exec
// descriptor. A regular file over `limit` bytes (by fstat) is refused
// unread; any other file (a pipe, a device) is read until `limit` + 1 bytes
// and refused there. Errors name the path: kNotFound "PATH: no such file",
// kInvalidArgument "PATH: 17825792 bytes (17.0 MiB) is over the limit of
// 16777216 bytes (16.0 MiB) for a rule or configuration file", kIoError
// "PATH: cannot open: ..." or "PATH: cannot read: ...".
Result<FileText> ReadFileText(const std::string& path, std::uint64_t limit = kMaxFileBytes);
// ReadFileText(path)'s text.
Result<std::string> ReadWholeFile(const std::string& path);

// `s` in double quotes, with '"', '\\', newlines, tabs and other control
// characters escaped, cut after 60 bytes (at a UTF-8 boundary) with "...":
// for "got ..." in messages.
std::string Quote(std::string_view s);

// `keys` joined by ", ": for "known keys: ..." in messages.
std::string JoinKeys(std::span<const std::string_view> keys);

// Levenshtein distance (insertions, deletions, substitutions each count 1).
// Quadratic: call on short strings only.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The first of `known` closest to `key` by EditDistance when that distance
// is at most 2, for "did you mean"; empty when none is that close or `key`
// is longer than 64 bytes. The result views an element of `known`.
std::string_view Suggest(std::string_view key, std::span<const std::string_view> known);

// ASCII character classes (independent of the C locale).
bool IsDigit(char c);   // 0-9
bool IsLetter(char c);  // a-z, A-Z
bool IsSpace(char c);   // ' ', \t, \n, \r, \f, \v

// True if `s` is non-empty and all ASCII digits.
bool AllDigits(std::string_view s);

// True if `s` is a decimal number as YAML 1.2's core schema writes it:
// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool IsDecimal(std::string_view s);

// True for the other numbers the core schema knows: .inf, .nan (in their
// spellings, signed or not) and 0x1f, 0o17. The readers do not accept them,
// but report them as numbers, not strings, in "got ...".
bool IsOtherYamlNumber(std::string_view s);

// The value of a YAML 1.2 core-schema bool ("true", "True", "TRUE", "false",
// "False", "FALSE"), or nullopt if `s` is not one.
std::optional<bool> BoolText(std::string_view s);

}  // namespace faultline::internal

#endif  // FAULTLINE_CORE_TEXT_H_
