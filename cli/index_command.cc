#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/progress_line.h"
#include "server/catalog.h"
#include "server/index_job.h"

namespace shardstream::cli {

int RunIndexCommand(const std::vector<std::string>& args) {
  std::string db;
  IndexOptions options;
  bool strict = false;
  int max_line_mib = static_cast<int>(options.max_line_bytes >> 20);
  int memory_mib = 0;
  FlagParser flags(
      "shardstream index --db DIR --corpus PATH [PATH...] [--text-field content] [--jobs N] "
      "[--source NAME] [--partitions P] [--own LIST] [--max-line-mib 64] [--memory-mib M]",
      "Indexes JSON-lines corpus files (.jsonl/.json, optionally .gz/.zst; directories are\n"
      "searched recursively) into the RocksDB catalog in DIR. Re-running updates the catalog:\n"
      "unchanged files are skipped, new files added, changed files re-indexed, removed files\n"
      "dropped. Safe to interrupt at any point and run again. Exits 1 when the catalog ends up\n"
      "with no document (or, with --strict, when any line or file was bad).\n"
      "Every file belongs to one of P partitions by a hash of its path relative to its corpus\n"
      "root (P is fixed at the first index); --own makes the catalog hold only some of them, for\n"
      "a server of a scaled-out dataset. --source labels this run's files for mixtures; a run\n"
      "updates only its own source's files.");
  flags.AddString("db", &db, "catalog directory (created if missing)");
  flags.AddList("corpus", &options.corpus_paths, "corpus directories or files");
  flags.AddString("text-field", &options.text_field, "JSON field holding the document text");
  flags.AddInt("jobs", &options.jobs, "files read in parallel");
  flags.AddInt("max-line-mib", &max_line_mib, "skip (and count) lines longer than this, MiB");
  flags.AddInt("memory-mib", &memory_mib,
               "memory budget, MiB: the catalog's memtables and cache, line buffers and "
               "document records (a file's records beyond its share go to a temporary file in "
               "DIR). Default: 1024, or what --jobs readers of --max-line-mib lines need");
  flags.AddBool("strict", &strict, "exit 1 when any line or file was bad");
  int partitions = 0;
  flags.AddString("source", &options.source, "source label of these files (for --mix)");
  flags.AddInt("partitions", &partitions,
               "P, the dataset's partitions, fixed at the first index (default: the catalog's; 1)");
  flags.AddString("own", &options.own,
                  "partitions this catalog holds: ids and ranges (0-2,5), i/N (p mod N == i) or "
                  "all (default: the catalog's; all)");
  flags.Require("db");
  flags.Require("corpus");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "index")) return *exit_status;
  options.max_line_bytes = static_cast<size_t>(std::max(max_line_mib, 1)) << 20;
  options.memory_bytes = static_cast<size_t>(std::max(memory_mib, 0)) << 20;  // 0: the default
  if (partitions < 0 || partitions > static_cast<int>(kMaxPartitions)) {
    return Fail("index", absl::StrCat("--partitions must be in [1, ", kMaxPartitions, "]"),
                kExitUsage);
  }
  options.partitions = static_cast<uint32_t>(partitions);
  if (absl::Status s = options.Validate(); !s.ok()) {
    return Fail("index", s.message(), kExitUsage);
  }

  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, options.CatalogMemory());
  if (!catalog.ok()) {
    return Fail("index", catalog.status().message());
  }
  IndexJob job(catalog->get(), options);
  absl::StatusOr<IndexSummary> result;
  {
    ProgressLine progress([&job] {
      IndexProgress p = job.progress();
      return absl::StrFormat("indexing: %d/%d files, %d docs, %s of text", p.files_done,
                             p.files_total, p.docs_read, Mib(p.text_bytes_read));
    });
    result = job.Run();
  }
  if (!result.ok()) {
    return Fail("index", result.status().message(),
                absl::IsInvalidArgument(result.status()) ? kExitUsage : kExitFailed);
  }
  const IndexSummary& s = *result;
  for (const FileProblem& p : s.unreadable) {
    std::cerr << "warning: unreadable: " << p.path << ": " << p.error << "\n";
  }
  for (const FileProblem& p : s.damaged) {
    std::cerr << "warning: damaged (documents before the damage kept): " << p.path << ": "
              << p.error << "\n";
  }
  for (const std::string& path : s.empty) std::cerr << "warning: empty file: " << path << "\n";

  // Totals over the whole catalog, for --strict and the summary.
  uint64_t bad_lines = 0, damaged = 0;
  for (const auto& [id, file] : (*catalog)->files()) {
    for (const v1::BadLineCount& bad : file.bad_lines()) bad_lines += bad.count();
    damaged += file.damaged() ? 1 : 0;
  }
  const double mb_per_s = s.seconds > 0 ? s.raw_bytes_read / 1e6 / s.seconds : 0;
  std::cout << absl::StrFormat(
      "indexed %d files (%d added, %d re-indexed, %d refreshed, %d unchanged, %d removed, %d "
      "unreadable paths with %d catalog files under them kept, %d ignored, %d of other "
      "partitions): +%d/-%d docs, %s text read, %d bad "
      "lines in files read; catalog: %d files, %d docs, %d bad lines, %d damaged files, text "
      "field \"%s\", partitions %s of %d, version %s%s; %.2f s (%.1f MB/s on disk)\n",
      s.files_found, s.files_added, s.files_reindexed, s.files_refreshed, s.files_unchanged,
      s.files_removed, s.unreadable.size(), s.files_kept_unlisted, s.files_ignored,
      s.files_not_owned, s.docs_added, s.docs_removed, Mib(s.text_bytes_added), s.bad_lines_read,
      s.catalog_files, s.catalog_docs, bad_lines, damaged, options.text_field,
      FormatPartitionSet((*catalog)->owned_partitions(), (*catalog)->partitions()),
      (*catalog)->partitions(), s.version.ToHex().substr(0, 16),
      s.version_changed ? "" : " (unchanged)", s.seconds, mb_per_s);
  if (s.catalog_docs == 0 && s.files_not_owned > 0) {
    std::cerr << "warning: the partitions this catalog holds have no document yet\n";
  } else if (s.catalog_docs == 0) {
    std::cerr << "shardstream index: nothing could be indexed: no document in " << db << "\n";
    return kExitFailed;
  }
  if (strict && (bad_lines > 0 || damaged > 0 || !s.unreadable.empty())) {
    std::cerr << "shardstream index: --strict: the corpus has bad lines, damaged or unreadable "
                 "files (see above and `shardstream stats`)\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace shardstream::cli
