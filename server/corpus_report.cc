#include "server/corpus_report.h"

#include <algorithm>
#include <set>
#include <unordered_set>

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

double Jaccard(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  // Both sorted and unique (Shingles()).
  std::vector<std::string> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  const size_t all = a.size() + b.size() - common.size();
  return all == 0 ? 1.0 : static_cast<double>(common.size()) / static_cast<double>(all);
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
  std::vector<uint64_t> doc_ids;  // of the current tokenized files
  for (const auto& [id, f] : files) {
    auto file = catalog.files().find(id);
    if (file == catalog.files().end() || !IsCurrent(f, file->second)) continue;
    fit.text_bytes += file->second.text_bytes();
    for (uint64_t d = 0; d < f.num_docs(); ++d) doc_ids.push_back(f.first_doc_id() + d);
  }
  fit.bytes_per_token = fit.tokens == 0 ? 0 : static_cast<double>(fit.text_bytes) / fit.tokens;
  fit.mean_tokens_per_doc = fit.docs == 0 ? 0 : static_cast<double>(fit.tokens) / fit.docs;
  TokenPercentiles(files, &fit);

  // The vocabulary used: ids seen in an evenly spaced sample of documents.
  std::vector<bool> seen(record.vocab_size(), false);
  const size_t step =
      std::max<size_t>(1, doc_ids.size() / std::max<size_t>(1, options.vocabulary_sample_docs));
  std::string packed;
  const uint32_t width = record.token_bytes();
  for (size_t i = 0; i < doc_ids.size(); i += step) {
    absl::Status s = store.ReadTokens(FingerprintOf(record), doc_ids[i], &packed);
    if (absl::IsNotFound(s)) continue;  // a document without tokens (empty text)
    RETURN_IF_ERROR(s);
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
  CorpusReport report;
  CorpusStatsOptions stats_options;
  stats_options.top_repos = 20;
  ASSIGN_OR_RETURN(report.stats, ComputeCorpusStats(catalog, stats_options));

  // Cleaning rules: bytes and the first examples of each (one scan of the documents).
  std::vector<uint64_t> wanted;
  for (const CleaningRule& rule : CleaningRules()) {
    report.rules.push_back({rule.name, rule.description, rule.definition, rule.probabilistic});
  }
  RETURN_IF_ERROR(catalog.ForEachDoc([&](uint64_t id, const v1::DocRecord& doc) {
    const std::span<const CleaningRule> rules = CleaningRules();
    for (size_t r = 0; r < rules.size(); ++r) {
      if (!rules[r].drops(doc.quality())) continue;
      CorpusReport::Rule& out = report.rules[r];
      ++out.docs;
      out.bytes += doc.text_bytes();
      if (out.examples.size() < options.examples_per_rule) {
        out.examples.push_back({id, DocLabel(catalog, id, doc), doc.text_bytes()});
        wanted.push_back(id);
      }
    }
    return true;
  }));

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
    ASSIGN_OR_RETURN(v1::DocRecord doc, catalog.GetDoc(run.first));
    group.original = {run.first, DocLabel(catalog, run.first, doc), doc.text_bytes()};
    wanted.push_back(run.first);
    for (uint64_t other : run.others) {
      ASSIGN_OR_RETURN(v1::DocRecord copy, catalog.GetDoc(other));
      group.copy_labels.push_back(DocLabel(catalog, other, copy));
    }
    report.exact_groups.push_back(std::move(group));
  }

  // Near duplicates side by side: the largest clusters' representative and first member.
  const NearDupStore near_store(&catalog);
  std::map<uint64_t, float> jaccard_of;
  std::set<uint64_t> members;
  for (const v1::NearDedupCluster& c : report.stats.near_dedup.record.largest_clusters()) {
    if (report.near_pairs.size() >= options.near_pairs || c.members_size() == 0) break;
    CorpusReport::NearPair pair;
    pair.cluster_size = c.size();
    absl::StatusOr<v1::DocRecord> rep = catalog.GetDoc(c.representative());
    absl::StatusOr<v1::DocRecord> member = catalog.GetDoc(c.members(0));
    if (!rep.ok() || !member.ok()) continue;  // a stale clustering
    pair.representative = {c.representative(), DocLabel(catalog, c.representative(), *rep),
                           rep->text_bytes()};
    pair.member = {c.members(0), DocLabel(catalog, c.members(0), *member), member->text_bytes()};
    members.insert(c.members(0));
    wanted.push_back(c.representative());
    wanted.push_back(c.members(0));
    report.near_pairs.push_back(std::move(pair));
  }
  if (!members.empty()) {
    RETURN_IF_ERROR(near_store.ForEachNearDuplicate([&](uint64_t id, const v1::NearDuplicate& d) {
      if (members.count(id) > 0) jaccard_of[id] = d.jaccard();
    }));
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
  const uint32_t ngram = std::max<uint32_t>(1, report.stats.near_dedup.record.ngram());
  for (CorpusReport::NearPair& p : report.near_pairs) {
    fill(&p.representative);
    fill(&p.member);
    p.estimated_jaccard = jaccard_of[p.member.doc_id];
    auto a = texts.find(p.representative.doc_id), b = texts.find(p.member.doc_id);
    if (a != texts.end() && b != texts.end()) {
      p.exact_jaccard = Jaccard(Shingles(a->second, ngram), Shingles(b->second, ngram));
    }
  }

  for (const TokenStoreStatus& status : report.stats.tokenizers) {
    ASSIGN_OR_RETURN(CorpusReport::TokenizerFit fit, FitOf(catalog, status, options));
    report.tokenizers.push_back(std::move(fit));
  }
  return report;
}

}  // namespace shardstream
