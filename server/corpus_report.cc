#include "server/corpus_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/minhash.h"
#include "common/status_macros.h"
#include "common/tokenizer.h"
#include "server/catalog_schema.h"
#include "server/cleaning_rules.h"
#include "server/indexed_documents.h"
#include "server/near_dup_store.h"
#include "server/token_store.h"

namespace shardstream {
namespace {

// Python 3.11's keyword.kwlist.
constexpr const char* kPythonKeywords[] = {
    "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
    "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
    "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
    "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};

// The first `lines` lines of `text`.
std::string FirstLines(std::string_view text, size_t lines, bool* truncated) {
  size_t end = 0;
  for (size_t n = 0; n < lines && end < text.size(); ++n) {
    const size_t nl = text.find('\n', end);
    end = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  // Very long lines (minified code) are cut too.
  constexpr size_t kMaxBytes = 8 << 10;
  if (end > kMaxBytes) end = kMaxBytes;
  *truncated = end < text.size();
  return std::string(text.substr(0, end));
}

// Tokens per document: the median and 90th percentile over the tokenized files' counts.
void TokenPercentiles(const std::map<uint32_t, v1::TokenizedFile>& files,
                      CorpusReport::TokenizerFit* fit) {
  std::vector<uint32_t> counts;
  for (const auto& [id, f] : files)
    counts.insert(counts.end(), f.token_counts().begin(), f.token_counts().end());
  if (counts.empty()) return;
  auto at = [&](double q) {
    const size_t i = std::min(counts.size() - 1, static_cast<size_t>(q * counts.size()));
    std::nth_element(counts.begin(), counts.begin() + i, counts.end());
    return counts[i];
  };
  fit->median_tokens_per_doc = at(0.5);
  fit->p90_tokens_per_doc = at(0.9);
}

absl::StatusOr<CorpusReport::TokenizerFit> FitOf(const Catalog& catalog,
                                                 const TokenStoreStatus& status,
                                                 const ReportOptions& options) {
  const TokenStore store(&catalog);
  const v1::TokenizerRecord& record = status.tokenizer;
  CorpusReport::TokenizerFit fit;
  fit.name = record.name();
  fit.vocab_size = record.vocab_size();
  fit.complete = status.complete();
  fit.docs = status.docs;
  fit.tokens = status.tokens;
  ASSIGN_OR_RETURN(auto files, store.TokenizedFiles(FingerprintOf(record)));
  // The documents of the current tokenized files, each with its file's pack.
  std::vector<std::pair<uint64_t, const TokenPack*>> doc_ids;
  std::vector<std::shared_ptr<const TokenPack>> packs;
  for (const auto& [id, f] : files) {
    auto file = catalog.files().find(id);
    if (file == catalog.files().end() || !IsCurrent(f, file->second)) continue;
    fit.text_bytes += file->second.text_bytes();
    ASSIGN_OR_RETURN(packs.emplace_back(), store.OpenPack(record, f));
    for (uint64_t d = 0; d < f.num_docs(); ++d) {
      doc_ids.emplace_back(f.first_doc_id() + d, packs.back().get());
    }
  }
  fit.bytes_per_token = fit.tokens == 0 ? 0 : static_cast<double>(fit.text_bytes) / fit.tokens;
  fit.mean_tokens_per_doc = fit.docs == 0 ? 0 : static_cast<double>(fit.tokens) / fit.docs;
  TokenPercentiles(files, &fit);

  // The vocabulary used: ids seen in an evenly spaced sample of documents.
  std::vector<bool> seen(record.vocab_size(), false);
  const size_t step =
      std::max<size_t>(1, doc_ids.size() / std::max<size_t>(1, options.vocabulary_sample_docs));
  const uint32_t width = record.token_bytes();
  for (size_t i = 0; i < doc_ids.size(); i += step) {
    ASSIGN_OR_RETURN(const std::string_view packed, doc_ids[i].second->Tokens(doc_ids[i].first));
    ++fit.sampled_docs;
    for (size_t p = 0; p + width <= packed.size(); p += width) {
      uint32_t id = 0;
      for (uint32_t b = 0; b < width; ++b)
        id |= uint32_t{static_cast<uint8_t>(packed[p + b])} << (8 * b);
      ++fit.sampled_tokens;
      if (id < seen.size() && !seen[id]) {
        seen[id] = true;
        ++fit.distinct_ids_seen;
      }
    }
  }
  fit.unused_vocabulary =
      record.vocab_size() == 0
          ? 0
          : 1.0 - static_cast<double>(fit.distinct_ids_seen) / record.vocab_size();

  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, TokenStore::LoadTokenizer(record));
  Encoder encoder(tokenizer.get());
  for (const char* keyword : kPythonKeywords) {
    // As keywords appear in code: after a space (indentation, `x = not y`).
    ASSIGN_OR_RETURN(std::vector<TokenId> ids,
                     encoder.Encode(absl::StrCat(" ", keyword), EncodeMode::kOrdinary));
    (ids.size() == 1 ? fit.single_token_keywords : fit.split_keywords).push_back(keyword);
  }
  return fit;
}

}  // namespace

absl::StatusOr<CorpusReport> BuildCorpusReport(const Catalog& catalog,
                                               const ReportOptions& options) {
  if (const v1::DatasetMeta& meta = catalog.meta();
      meta.dedup_unwritten_end() > meta.dedup_unwritten_first()) {
    // The exact-duplicate groups come from the dedup family, which lacks these documents.
    return absl::FailedPreconditionError(absl::StrCat(
        "catalog ", catalog.dir(), ": the dedup entries of documents ",
        meta.dedup_unwritten_first(), "..", meta.dedup_unwritten_end() - 1,
        " are not written yet (an index run is adding them, or was interrupted): wait for it to "
        "finish, or run `shardstream index` again"));
  }
  CorpusReport report;
  CorpusStatsOptions stats_options;
  stats_options.top_repos = 20;
  stats_options.rule_examples = options.examples_per_rule;
  ASSIGN_OR_RETURN(report.stats, ComputeCorpusStats(catalog, stats_options));
  // An example document, labelled; its text comes later (`wanted`: every example's id).
  std::vector<uint64_t> wanted;
  auto example = [&](uint64_t id) -> absl::StatusOr<ReportExample> {
    ASSIGN_OR_RETURN(v1::DocRecord doc, catalog.GetDoc(id));
    wanted.push_back(id);
    ReportExample example;
    example.doc_id = id;
    example.label = DocLabel(catalog, id, doc);
    example.text_bytes = doc.text_bytes();
    return example;
  };

  // Cleaning rules, as the stats scan counted them, with their first examples.
  for (const CleaningRule& rule : CleaningRules()) {
    CorpusReport::Rule out;
    out.name = rule.name;
    out.description = rule.description;
    out.definition = rule.definition;
    out.probabilistic = rule.probabilistic;
    out.docs = report.stats.rule_flags[rule.name];
    out.bytes = report.stats.rule_bytes[rule.name];
    for (uint64_t id : report.stats.rule_examples[rule.name]) {
      ASSIGN_OR_RETURN(ReportExample e, example(id));
      out.examples.push_back(std::move(e));
    }
    report.rules.push_back(std::move(out));
  }

  // The texts with the most copies: runs of one hash in the dedup family, smallest id first.
  struct Run {
    uint64_t copies = 0, first = 0;
    std::vector<uint64_t> others;
  };
  std::vector<Run> top;
  Run current;
  std::string current_hash;
  auto close_run = [&] {
    if (current.copies < 2) return;
    top.push_back(current);
    std::sort(top.begin(), top.end(), [](const Run& a, const Run& b) {
      return a.copies != b.copies ? a.copies > b.copies : a.first < b.first;
    });
    if (top.size() > options.exact_groups) top.pop_back();
  };
  RETURN_IF_ERROR(catalog.ForEachEntry(catalog_schema::kDedupFamily,
                                       [&](std::string_view key, std::string_view) {
                                         const std::string_view hash = key.substr(0, 16);
                                         const uint64_t id = catalog_schema::DocIdFromDedupKey(key);
                                         if (hash != current_hash) {
                                           close_run();
                                           current = Run{0, id, {}};
                                           current_hash = std::string(hash);
                                         }
                                         ++current.copies;
                                         if (id != current.first && current.others.size() < 5)
                                           current.others.push_back(id);
                                       }));
  close_run();
  for (const Run& run : top) {
    CorpusReport::ExactGroup group;
    group.copies = run.copies;
    ASSIGN_OR_RETURN(group.original, example(run.first));
    for (uint64_t other : run.others) {
      ASSIGN_OR_RETURN(v1::DocRecord copy, catalog.GetDoc(other));
      group.copy_labels.push_back(DocLabel(catalog, other, copy));
    }
    report.exact_groups.push_back(std::move(group));
  }

  // Near duplicates side by side: the largest clusters' representative and first member.
  const NearDupStore near_store(&catalog);
  for (const v1::NearDedupCluster& c : report.stats.near_dedup.record.largest_clusters()) {
    if (report.near_pairs.size() >= options.near_pairs || c.members_size() == 0) break;
    absl::StatusOr<ReportExample> rep = example(c.representative());
    absl::StatusOr<ReportExample> member = example(c.members(0));
    if (absl::IsNotFound(rep.status()) || absl::IsNotFound(member.status())) {
      continue;  // a stale clustering
    }
    RETURN_IF_ERROR(rep.status());
    RETURN_IF_ERROR(member.status());
    ASSIGN_OR_RETURN(std::optional<v1::NearDuplicate> dup,
                     near_store.GetNearDuplicate(c.members(0)));
    CorpusReport::NearPair pair;
    pair.cluster_size = c.size();
    pair.representative = *std::move(rep);
    pair.member = *std::move(member);
    pair.estimated_jaccard = dup.has_value() ? dup->jaccard() : 0;
    report.near_pairs.push_back(std::move(pair));
  }

  // The example texts, each file read once.
  ASSIGN_OR_RETURN(auto texts, ReadDocumentTexts(catalog, wanted, &report.read_errors));
  auto fill = [&](ReportExample* e) {
    auto it = texts.find(e->doc_id);
    if (it != texts.end()) e->text = FirstLines(it->second, options.example_lines, &e->truncated);
  };
  for (CorpusReport::Rule& rule : report.rules) {
    for (ReportExample& e : rule.examples) fill(&e);
  }
  for (CorpusReport::ExactGroup& g : report.exact_groups) fill(&g.original);
  if (!report.near_pairs.empty()) {
    // The exact Jaccard as dedup's verification computes it, with the clustering's parameters.
    const v1::NearDedupRecord& record = report.stats.near_dedup.record;
    MinHashParams params;
    params.permutations = record.permutations();
    params.ngram = record.ngram();
    params.seed = record.seed();
    MinHasher hasher(params);
    std::vector<uint64_t> a, b;
    for (CorpusReport::NearPair& p : report.near_pairs) {
      fill(&p.representative);
      fill(&p.member);
      auto x = texts.find(p.representative.doc_id), y = texts.find(p.member.doc_id);
      if (x == texts.end() || y == texts.end()) continue;
      hasher.ShingleSet(x->second, &a);
      hasher.ShingleSet(y->second, &b);
      p.exact_jaccard = ExactJaccard(a, b);
    }
  }

  for (const TokenStoreStatus& status : report.stats.tokenizers) {
    ASSIGN_OR_RETURN(CorpusReport::TokenizerFit fit, FitOf(catalog, status, options));
    report.tokenizers.push_back(std::move(fit));
  }
  return report;
}

}  // namespace shardstream
