#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/progress_line.h"
#include "server/catalog.h"
#include "server/near_dedup_job.h"

namespace shardstream::cli {

int RunDedupCommand(const std::vector<std::string>& args) {
  std::string db, threshold = "0.7", verify_margin = "0";
  int jobs = 1, permutations = 256, ngram = 5, memory_mib = 1024;
  FlagParser flags(
      "shardstream dedup --db DIR [--threshold 0.7] [--verify-margin 0] [--jobs N] "
      "[--permutations 256] [--ngram 5] [--memory-mib 1024]",
      "Finds near-duplicate documents (MinHash over 5-word shingles, LSH bands, Jaccard at\n"
      "or above --threshold; docs/dedup.md) and stores their clusters in the catalog. Each\n"
      "cluster keeps its first document; `--filter near-dedup` drops the others, `stats` and\n"
      "`report` show them. Re-running signs only what `index` added or changed; interrupting\n"
      "is safe. Exact duplicates stay as they are (plans drop them anyway).");
  flags.AddString("db", &db, "catalog directory (built by `shardstream index`)");
  flags.AddString("threshold", &threshold, "Jaccard similarity that makes a near duplicate");
  flags.AddString("verify-margin", &verify_margin,
                  "decide candidates whose estimate is this close to the threshold on their "
                  "exact Jaccard (reads them again; 0.1: precision 1.0 on the planted corpus)");
  flags.AddInt("jobs", &jobs, "files signed in parallel");
  flags.AddInt("permutations", &permutations, "MinHash functions per signature");
  flags.AddInt("ngram", &ngram, "words per shingle");
  flags.AddInt("memory-mib", &memory_mib,
               "memory for the clustering's band arrays (less: more passes, same result)");
  flags.Require("db");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "dedup")) return *exit_status;
  NearDedupOptions options;
  if (!absl::SimpleAtod(threshold, &options.threshold)) {
    return Fail("dedup", "--threshold must be a number in (0, 1]", kExitUsage);
  }
  if (!absl::SimpleAtod(verify_margin, &options.verify_margin)) {
    return Fail("dedup", "--verify-margin must be a number in [0, 1)", kExitUsage);
  }
  options.jobs = jobs;
  options.minhash.permutations = static_cast<uint32_t>(std::max(permutations, 0));
  options.minhash.ngram = static_cast<uint32_t>(std::max(ngram, 0));
  options.memory_bytes = static_cast<size_t>(std::max(memory_mib, 0)) << 20;
  if (absl::Status s = options.Validate(); !s.ok()) return Fail("dedup", s.message(), kExitUsage);
  CatalogOptions catalog_options;
  catalog_options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, catalog_options);
  if (!catalog.ok()) return Fail("dedup", catalog.status().message());

  NearDedupJob job(catalog->get(), options);
  absl::StatusOr<NearDedupSummary> result;
  {
    ProgressLine progress([&job] {
      NearDedupProgress p = job.progress();
      if (p.clustering) {
        return absl::StrFormat("dedup: clustering, %d/%d bands", p.bands_done, p.bands_total);
      }
      return absl::StrFormat("dedup: signing %d/%d files, %d docs, %s of text", p.files_done,
                             p.files_total, p.docs, Mib(p.text_bytes));
    });
    result = job.Run();
  }
  if (!result.ok()) {
    return Fail("dedup", result.status().message(),
                absl::IsInvalidArgument(result.status()) ? kExitUsage : kExitFailed);
  }
  const NearDedupSummary& s = *result;
  for (const FileProblem& p : s.failed)
    std::cerr << "warning: not signed: " << p.path << ": " << p.error << "\n";
  if (!s.failed.empty()) {
    return Fail("dedup", absl::StrFormat("%d files could not be read; no clustering written "
                                         "(fix them or run `shardstream index`, then rerun)",
                                         s.failed.size()));
  }
  const v1::NearDedupRecord& r = s.record;
  std::cout << absl::StrFormat(
      "signed %d files (%d unchanged, %d dropped): %d docs, %s of text, %.2f s; clustered %d "
      "docs (threshold %g, %d bands × %d rows, %d pass%s, %d candidate pairs, %d verified on "
      "%d texts, %d joined) in "
      "%.2f s: %d near duplicates in %d clusters, %s; total %.2f s\n",
      s.files_signed, s.files_unchanged, s.files_dropped, s.docs_signed, Mib(s.text_bytes),
      s.sign_seconds, r.signed_docs(), r.threshold(), r.bands(), r.rows(), s.passes,
      s.passes == 1 ? "" : "es", r.candidate_pairs(), r.verified_pairs(), r.verified_docs(),
      r.joined_pairs(), s.cluster_seconds, r.near_duplicate_docs(), r.near_duplicate_clusters(),
      Mib(r.near_duplicate_bytes()), s.seconds);
  return kExitOk;
}

}  // namespace shardstream::cli
