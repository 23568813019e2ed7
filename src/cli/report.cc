// `faultline report JOURNAL -o report.html`: a journal of `faultline run`
// or `chaos run` as one self-contained HTML page.
//
//   JOURNAL --ReadJournalFile--> json --RenderReport--> html --WriteReport--> -o FILE
//
// Exit codes: 0 written; 2 a usage error or a journal that cannot be read
// or is no journal; 1 the page could not be written.
#include "experiment/report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <string>

#include "cli/cli.h"
#include "cli/commands.h"

namespace faultline::cli {
namespace {

namespace ex = faultline::experiment;

constexpr std::string_view kReportHelp =
    "Write a journal (what `faultline run` or `chaos run` wrote) as one self-contained\n"
    "HTML page: the verdict and what the exit code meant, a timeline of every activity\n"
    "with the fault windows shaded, each probe's numeric values over time, latency\n"
    "charts of `faultline load --json` probes, the rollbacks, and every output.\n"
    "The page loads nothing and runs no script: open it anywhere, attach it, archive it.";

constexpr std::string_view kReportFooter =
    "Exit: 0 when the page was written; 2 when the journal cannot be read, is larger\n"
    "than 64 MiB or is no journal; 1 when the page cannot be written.\n\n"
    "Examples:\n"
    "  faultline run --journal-path journal.json experiment.yaml; faultline report journal.json\n"
    "  faultline report journal.json -o reports/2026-12-02.html\n"
    "  chaos run --journal-path j.json exp.json && faultline report j.json -o j.html\n";

}  // namespace

int RunReport(const Context& ctx) {
  CLI::App app{std::string(kReportHelp), "faultline report"};
  std::string journal_path;
  std::string output = "report.html";
  app.add_option("JOURNAL", journal_path, "the journal to report on (JSON)")->required();
  app.add_option("-o,--output", output, "where to write the page (default: report.html)");
  app.footer(std::string(kReportFooter));
  if (auto code = ParseFlags(app, ctx)) return *code;

  Result<ex::json> journal = ex::ReadJournalFile(journal_path);
  if (!journal.ok()) {
    fmt::print(ctx.err, "faultline report: {}\n", journal.status().message());
    return kExitUsage;
  }
  ex::ReportOptions options;
  options.source = journal_path;
  Result<std::string> html = ex::RenderReport(*journal, options);
  if (!html.ok()) {
    fmt::print(ctx.err, "faultline report: {}: {}\n", journal_path, html.status().message());
    return html.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (Status s = ex::WriteReport(output, *html); !s.ok()) {
    fmt::print(ctx.err, "faultline report: {}\n", s.message());
    return kExitFailure;
  }
  fmt::print(ctx.out, "faultline report: wrote {} ({} KiB)\n", output,
             (html->size() + 1023) / 1024);
  return kExitOk;
}

}  // namespace faultline::cli
