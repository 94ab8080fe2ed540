#include <iostream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "server/catalog.h"
#include "server/corpus_stats.h"

namespace shardstream::cli {

int RunStatsCommand(const std::vector<std::string>& args) {
  std::string db;
  bool json = false;
  int top_repos = 10;
  FlagParser flags("shardstream stats --db DIR [--json] [--files] [--top-repos N]",
                   "Shows what the catalog in DIR holds: files, documents, duplicates, bad lines,\n"
                   "licenses, top repositories, size and quality distributions, and how many\n"
                   "documents each usual cleaning rule would drop. --json prints the stable\n"
                   "schema documented in docs/stats-json.md.");
  flags.AddString("db", &db, "catalog directory");
  flags.AddBool("json", &json, "print JSON instead of a table");
  flags.AddInt("top-repos", &top_repos, "repositories to list");
  bool per_file = false;
  flags.AddBool("files", &per_file, "also list every file: documents, bad lines, damage");
  flags.Require("db");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "stats")) return *exit_status;
  CatalogOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, options);
  if (!catalog.ok()) {
    return Fail("stats", catalog.status().message());
  }
  CorpusStatsOptions stats_options;
  stats_options.top_repos = static_cast<size_t>(std::max(top_repos, 0));
  stats_options.per_file = per_file;
  absl::StatusOr<CorpusStats> stats = ComputeCorpusStats(**catalog, stats_options);
  if (!stats.ok()) {
    return Fail("stats", stats.status().message());
  }
  std::cout << (json ? CorpusStatsToJson(*stats) : CorpusStatsToTable(*stats));
  return kExitOk;
}

}  // namespace shardstream::cli
