// `shardstream report`: what is inside a catalog, gathered for one self-contained HTML page
// (docs/report.md). BuildCorpusReport collects the numbers and examples; RenderReportHtml
// (report_html.h) draws them.
#ifndef SHARDSTREAM_SERVER_CORPUS_REPORT_H_
#define SHARDSTREAM_SERVER_CORPUS_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/catalog.h"
#include "server/corpus_stats.h"

namespace shardstream {

struct ReportOptions {
  size_t examples_per_rule = 3;           // documents shown per cleaning rule
  size_t exact_groups = 5;                // most-copied texts shown
  size_t near_pairs = 4;                  // near-duplicate clusters shown side by side
  size_t example_lines = 40;              // lines of each example text shown
  size_t vocabulary_sample_docs = 20000;  // documents whose tokens are counted per tokenizer
};

// A document shown as an example.
struct ReportExample {
  uint64_t doc_id = 0;
  std::string label;  // DocLabel
  uint64_t text_bytes = 0;
  std::string text;  // the first ReportOptions::example_lines lines; "" when unreadable
  bool truncated = false;
};

struct CorpusReport {
  CorpusStats stats;
  std::vector<std::string> read_errors;  // files examples could not be read from

  // What each cleaning rule flags (all documents), with examples.
  struct Rule {
    std::string name, description, definition;
    bool probabilistic = false;
    uint64_t docs = 0, bytes = 0;
    std::vector<ReportExample> examples;
  };
  std::vector<Rule> rules;

  // The texts with the most copies.
  struct ExactGroup {
    uint64_t copies = 0;  // documents with this text, the original included
    ReportExample original;
    std::vector<std::string> copy_labels;  // the first few copies
  };
  std::vector<ExactGroup> exact_groups;

  // The largest near-duplicate clusters: representative and first other member.
  struct NearPair {
    uint64_t cluster_size = 0;
    ReportExample representative, member;
    double estimated_jaccard = 0;  // as dedup stored it
    double exact_jaccard = -1;     // over the shingles of the full texts; -1 if unreadable
  };
  std::vector<NearPair> near_pairs;

  // How each tokenized tokenizer fits this corpus.
  struct TokenizerFit {
    std::string name;
    uint32_t vocab_size = 0;
    bool complete = false;
    uint64_t docs = 0, tokens = 0, text_bytes = 0;
    double bytes_per_token = 0;
    double mean_tokens_per_doc = 0;
    uint64_t median_tokens_per_doc = 0, p90_tokens_per_doc = 0;
    uint64_t sampled_docs = 0, sampled_tokens = 0;
    uint64_t distinct_ids_seen = 0;                  // in the sample
    double unused_vocabulary = 0;                    // 1 - distinct_ids_seen / vocab_size
    std::vector<std::string> single_token_keywords;  // Python keywords encoded as one token
    std::vector<std::string> split_keywords;         // the others
  };
  std::vector<TokenizerFit> tokenizers;
};

absl::StatusOr<CorpusReport> BuildCorpusReport(const Catalog& catalog,
                                               const ReportOptions& options = {});

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CORPUS_REPORT_H_
