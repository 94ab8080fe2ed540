// `shardstream stats`: what the catalog holds, computed with one scan of its documents.
#ifndef SHARDSTREAM_SERVER_CORPUS_STATS_H_
#define SHARDSTREAM_SERVER_CORPUS_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/catalog.h"
#include "server/token_store.h"

namespace shardstream {

// Counts documents into buckets [bounds[i], bounds[i+1]); the last bucket is open-ended.
struct Histogram {
  std::vector<uint64_t> lower_bounds;  // ascending, first is 0
  std::vector<uint64_t> counts;        // same size
  void Add(uint64_t value);
};

struct CorpusStats {
  std::string text_field;
  std::string version_hex;
  // Partitions: P of the dataset and those this catalog holds.
  uint32_t partitions = 1;
  std::vector<uint32_t> held_partitions;
  // Per source: files and documents (duplicates included).
  struct Source {
    uint64_t files = 0;
    uint64_t docs = 0;
  };
  std::map<std::string, Source> sources;
  // Files.
  uint64_t files = 0;
  std::map<std::string, uint64_t> files_by_compression;  // "none", "gzip", "zstd"
  uint64_t damaged_files = 0;
  uint64_t empty_files = 0;  // no bytes at all
  uint64_t files_with_bad_lines = 0;
  uint64_t compressed_bytes = 0;  // on-disk size of all files
  uint64_t decoded_bytes = 0;
  // Lines.
  uint64_t bad_lines = 0;
  std::map<std::string, uint64_t> bad_lines_by_kind;  // "invalid_json", ... (see kind names)
  // Documents.
  uint64_t docs = 0;
  uint64_t text_bytes = 0;
  uint64_t unique_docs = 0;
  uint64_t unique_bytes = 0;
  uint64_t duplicate_docs = 0;
  uint64_t duplicate_bytes = 0;
  std::map<std::string, uint64_t> licenses;                 // "license" metadata; "" when absent
  std::vector<std::pair<std::string, uint64_t>> top_repos;  // "repo_name", most documents first
  uint64_t distinct_repos = 0;
  Histogram doc_bytes;  // text_bytes per document
  Histogram max_line_chars;
  Histogram mean_line_chars;  // floor(line_chars_total / num_lines)
  Histogram alnum_percent;    // floor(100 * alnum_chars / code_points)
  // Cleaning: documents each rule flags (over all documents), by rule name.
  std::map<std::string, uint64_t> rule_flags;
  std::map<std::string, uint64_t> rule_bytes;  // their text bytes
  // The first CorpusStatsOptions::rule_examples flagged document ids of each rule, in id order.
  std::map<std::string, std::vector<uint64_t>> rule_examples;
  // The codeparrot-clean preset: unique documents no preset rule drops.
  uint64_t codeparrot_clean_docs = 0;
  uint64_t codeparrot_clean_bytes = 0;
  // Near duplicates (`shardstream dedup`), from its last complete clustering.
  struct NearDedup {
    std::string state = "not run";  // NearDedupStateName: "not run", "stale", "current"
    v1::NearDedupRecord record;     // zeros when not run
    struct Cluster {
      std::string representative;        // DocLabel of the document kept
      uint64_t size = 0;                 // documents, the representative included
      uint64_t bytes = 0;                // text bytes of the others
      std::vector<std::string> members;  // DocLabel of the first few others
    };
    std::vector<Cluster> largest;  // most documents first
  };
  NearDedup near_dedup;
  // Token stores, by tokenizer name.
  std::vector<TokenStoreStatus> tokenizers;
  // Per-file records in path order; filled only with CorpusStatsOptions::per_file.
  std::vector<v1::FileRecord> per_file;
};

struct CorpusStatsOptions {
  size_t top_repos = 10;  // how many repositories to list
  bool per_file = false;  // also list every file with its counts and problems
  size_t rule_examples = 0;  // flagged documents to keep per rule (the report's examples)
};

absl::StatusOr<CorpusStats> ComputeCorpusStats(const Catalog& catalog,
                                               const CorpusStatsOptions& options = {});

// The documented, stable JSON form (docs/stats-json.md).
std::string CorpusStatsToJson(const CorpusStats& stats);
// A table for people.
std::string CorpusStatsToTable(const CorpusStats& stats);

// "12.3 MiB"; "45.6%" of `whole` ("-" when whole is 0); a histogram bucket's range ("0",
// "1-255", ">= 1048576").
std::string HumanBytes(uint64_t bytes);
std::string Percent(uint64_t part, uint64_t whole);
std::string BucketLabel(const Histogram& h, size_t i);

// How a person finds a document: its "repo_name/path" metadata when it has them (CodeParrot),
// else "<corpus file>:<line>".
std::string DocLabel(const Catalog& catalog, uint64_t doc_id, const v1::DocRecord& doc);

// Lowercase name of a bad-line kind, as used in stats ("invalid_json", "missing_field", ...).
std::string BadLineKindName(v1::BadLineKind kind);
std::string CompressionName(v1::Compression compression);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CORPUS_STATS_H_
