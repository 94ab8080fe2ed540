#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "server/catalog.h"
#include "server/corpus_report.h"
#include "server/report_html.h"

namespace shardstream::cli {

int RunReportCommand(const std::vector<std::string>& args) {
  std::string db, out_path;
  ReportOptions options;
  int examples = static_cast<int>(options.examples_per_rule);
  int sample = static_cast<int>(options.vocabulary_sample_docs);
  FlagParser flags(
      "shardstream report --db DIR --out report.html [--examples N] [--vocabulary-sample N]",
      "Writes one self-contained HTML page on what the catalog holds (docs/report.md):\n"
      "document sizes, quality signals, licences, top repositories, exact and near\n"
      "duplicates side by side, what each cleaning rule drops, sources, and how each\n"
      "tokenized tokenizer fits the corpus. It loads nothing: open it anywhere.");
  flags.AddString("db", &db, "catalog directory");
  flags.AddString("out", &out_path, "the HTML file to write");
  flags.AddInt("examples", &examples, "example documents per cleaning rule");
  flags.AddInt("vocabulary-sample", &sample,
               "documents whose tokens are counted for the vocabulary use");
  flags.Require("db");
  flags.Require("out");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "report")) return *exit_status;
  if (examples < 0 || sample < 1) {
    return Fail("report", "--examples must be >= 0 and --vocabulary-sample >= 1", kExitUsage);
  }
  options.examples_per_rule = static_cast<size_t>(examples);
  options.vocabulary_sample_docs = static_cast<size_t>(sample);
  CatalogOptions catalog_options;
  catalog_options.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, catalog_options);
  if (!catalog.ok()) return Fail("report", catalog.status().message());
  absl::StatusOr<CorpusReport> report = BuildCorpusReport(**catalog, options);
  if (!report.ok()) return Fail("report", report.status().message());
  const std::string title = std::filesystem::path(db).lexically_normal().filename().string();
  const std::string html = RenderReportHtml(*report, title.empty() ? db : title);
  const std::string tmp = out_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << html;
    if (!out.flush()) return Fail("report", absl::StrFormat("cannot write %s", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, out_path, ec);
  if (ec) return Fail("report", absl::StrFormat("cannot write %s: %s", out_path, ec.message()));
  for (const std::string& e : report->read_errors) std::cerr << "warning: " << e << "\n";
  std::cout << absl::StrFormat(
      "wrote %s (%d bytes): %d documents, %d exact and %d near "
      "duplicates, %d tokenizers\n",
      out_path, html.size(), report->stats.docs, report->stats.duplicate_docs,
      report->stats.near_dedup.record.near_duplicate_docs(), report->tokenizers.size());
  return kExitOk;
}

}  // namespace shardstream::cli
