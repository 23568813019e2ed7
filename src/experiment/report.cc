// RenderReport and the file ends of `faultline report`: reading a bounded
// journal, writing the page atomically. The page itself: report_html.cc.
#include "experiment/report.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "experiment/file_write.h"
#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

// "64 MiB", "64.00 MiB (67108865 bytes)", "1000 bytes".
std::string SizeText(std::uint64_t n) {
  if (n < (1 << 20)) return fmt::format("{} bytes", n);
  if (n % (1 << 20) == 0) return fmt::format("{} MiB", n >> 20);
  return fmt::format("{:.2f} MiB ({} bytes)", static_cast<double>(n) / (1 << 20), n);
}

}  // namespace

Result<json> ReadJournalFile(const std::string& path, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::NotFound(fmt::format("{}: cannot read: it is a directory", path));
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return Status::InvalidArgument(
        fmt::format("{}: the journal is {}, more than the {} a report reads", path,
                    SizeText(static_cast<std::uint64_t>(st.st_size)), SizeText(max_bytes)));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  // Read at most one byte past the limit: the file may have grown since stat.
  std::string text;
  text.reserve(std::min(static_cast<std::size_t>(st.st_size), max_bytes) + 1);
  std::array<char, 1 << 16> buf{};
  while (text.size() <= max_bytes) {
    in.read(buf.data(), buf.size());
    if (in.gcount() <= 0) break;
    text.append(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    return Status::NotFound(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  if (text.size() > max_bytes) {
    return Status::InvalidArgument(fmt::format("{}: the journal is more than the {} a report reads",
                                               path, SizeText(max_bytes)));
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return Status::InvalidArgument(fmt::format("{}: not a journal: not valid JSON", path));
  }
  if (!j.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: not a journal: expected a JSON object", path));
  }
  return j;
}

Result<std::string> RenderReport(const json& journal, const ReportOptions& options) {
  if (!journal.is_object()) {
    return Status::InvalidArgument("not a journal: expected a JSON object");
  }
  if (!journal.contains("run") && !journal.contains("steady_states") &&
      !journal.contains("status")) {
    return Status::InvalidArgument(
        "not a journal: it has none of \"run\", \"steady_states\", \"status\" (an experiment? "
        "run it with `faultline run` first, which writes the journal)");
  }
  ReportOptions o = options;
  o.max_points = std::max<std::size_t>(o.max_points, 2);
  try {
    const ReportModel model = BuildModel(journal);
    return RenderPage(journal, model, o);
  } catch (const std::exception& e) {
    // The readers check every type; this is a bug, not bad input.
    return Status::Internal(fmt::format("cannot render the report: {}", e.what()));
  }
}

Status WriteReport(const std::string& path, std::string_view html) {
  return ReplaceFile(path, html, 0644);  // a report is for reading, whatever the umask
}

}  // namespace faultline::experiment
