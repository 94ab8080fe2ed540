#include "server/corpus_stats.h"

#include <algorithm>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json_writer.h"
#include "common/status_macros.h"
#include "server/cleaning_rules.h"
#include "server/near_dup_store.h"

namespace shardstream {

std::string BucketLabel(const Histogram& h, size_t i) {
  if (i + 1 >= h.counts.size()) return absl::StrCat(">= ", h.lower_bounds[i]);
  if (h.lower_bounds[i] + 1 == h.lower_bounds[i + 1]) return absl::StrCat(h.lower_bounds[i]);
  return absl::StrCat(h.lower_bounds[i], "-", h.lower_bounds[i + 1] - 1);
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.1f %s", v, units[u]);
}

namespace {

Histogram MakeHistogram(std::vector<uint64_t> lower_bounds) {
  Histogram h;
  h.counts.assign(lower_bounds.size(), 0);
  h.lower_bounds = std::move(lower_bounds);
  return h;
}

std::string_view MetadataValue(const v1::DocRecord& doc, std::string_view key) {
  for (const v1::MetadataField& field : doc.metadata()) {
    if (field.key() == key) return field.value();
  }
  return {};
}

void WriteHistogram(const Histogram& h, JsonWriter* w) {
  w->BeginArray();
  for (size_t i = 0; i < h.counts.size(); ++i) {
    w->BeginObject();
    w->Key("min");
    w->Uint(h.lower_bounds[i]);
    w->Key("max");
    if (i + 1 < h.counts.size()) {
      w->Uint(h.lower_bounds[i + 1] - 1);
    } else {
      w->Null();
    }
    w->Key("docs");
    w->Uint(h.counts[i]);
    w->EndObject();
  }
  w->EndArray();
}

void WriteCounts(const std::map<std::string, uint64_t>& counts, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [key, count] : counts) {
    w->Key(key);
    w->Uint(count);
  }
  w->EndObject();
}

void TableHistogram(const std::string& title, const Histogram& h, uint64_t total,
                    std::string* out) {
  absl::StrAppend(out, title, "\n");
  for (size_t i = 0; i < h.counts.size(); ++i) {
    const std::string range = BucketLabel(h, i);
    absl::StrAppendFormat(out, "  %-18s %12d  %7s\n", range, h.counts[i],
                          Percent(h.counts[i], total));
  }
}

}  // namespace

void Histogram::Add(uint64_t value) {
  auto it = std::upper_bound(lower_bounds.begin(), lower_bounds.end(), value);
  ++counts[static_cast<size_t>(it - lower_bounds.begin()) - 1];
}

std::string BadLineKindName(v1::BadLineKind kind) {
  std::string name = v1::BadLineKind_Name(kind);
  std::string_view view = name;
  if (view.starts_with("BAD_LINE_")) view.remove_prefix(9);
  return absl::AsciiStrToLower(std::string(view));
}

std::string CompressionName(v1::Compression compression) {
  switch (compression) {
    case v1::COMPRESSION_NONE:
      return "none";
    case v1::COMPRESSION_GZIP:
      return "gzip";
    case v1::COMPRESSION_ZSTD:
      return "zstd";
    default:
      return "unspecified";
  }
}

std::string DocLabel(const Catalog& catalog, uint64_t doc_id, const v1::DocRecord& doc) {
  const std::string_view repo = MetadataValue(doc, "repo_name");
  const std::string_view path = MetadataValue(doc, "path");
  if (!repo.empty() && !path.empty())
    return absl::StrCat(std::string(repo), "/", std::string(path));
  auto file = catalog.files().find(doc.file_id());
  if (file == catalog.files().end()) return absl::StrCat("document ", doc_id);
  return absl::StrCat(file->second.path(), ":", doc.line());
}

absl::StatusOr<CorpusStats> ComputeCorpusStats(const Catalog& catalog,
                                               const CorpusStatsOptions& options) {
  CorpusStats s;
  s.text_field = catalog.meta().text_field();
  s.version_hex = catalog.version().ToHex();
  s.partitions = catalog.partitions();
  s.held_partitions = catalog.owned_partitions();
  for (const auto& [id, file] : catalog.files()) {
    ++s.files;
    CorpusStats::Source& source = s.sources[SourceOf(file)];
    ++source.files;
    source.docs += file.num_docs();
    ++s.files_by_compression[CompressionName(file.compression())];
    if (file.damaged()) ++s.damaged_files;
    if (file.size_bytes() == 0) ++s.empty_files;
    if (file.bad_lines_size() > 0) ++s.files_with_bad_lines;
    s.compressed_bytes += file.size_bytes();
    s.decoded_bytes += file.decoded_bytes();
    for (const v1::BadLineCount& bad : file.bad_lines()) {
      s.bad_lines += bad.count();
      s.bad_lines_by_kind[BadLineKindName(bad.kind())] += bad.count();
    }
  }

  s.doc_bytes =
      MakeHistogram({0, 1, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20});
  s.max_line_chars = MakeHistogram({0, 1, 50, 80, 100, 120, 200, 500, 1001, 10001});
  s.mean_line_chars = MakeHistogram({0, 10, 20, 30, 40, 50, 60, 80, 100, 101});
  s.alnum_percent = MakeHistogram({0, 10, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100});
  const std::span<const CleaningRule> rules = CleaningRules();
  const FilterPreset& clean_preset = *FindFilterPreset("codeparrot-clean");
  for (const CleaningRule& rule : rules) s.rule_flags[rule.name] = 0;
  std::unordered_map<std::string, uint64_t> repos;

  RETURN_IF_ERROR(catalog.ForEachDoc([&](uint64_t id, const v1::DocRecord& doc) {
    ++s.docs;
    s.text_bytes += doc.text_bytes();
    const bool duplicate = doc.has_duplicate_of();
    if (duplicate) {
      ++s.duplicate_docs;
      s.duplicate_bytes += doc.text_bytes();
    } else {
      ++s.unique_docs;
      s.unique_bytes += doc.text_bytes();
    }
    ++s.licenses[std::string(MetadataValue(doc, "license"))];
    std::string_view repo = MetadataValue(doc, "repo_name");
    if (!repo.empty()) ++repos[std::string(repo)];

    const v1::QualitySignals& q = doc.quality();
    s.doc_bytes.Add(doc.text_bytes());
    s.max_line_chars.Add(q.max_line_chars());
    s.mean_line_chars.Add(q.num_lines() == 0 ? 0 : q.line_chars_total() / q.num_lines());
    s.alnum_percent.Add(q.code_points() == 0 ? 0 : 100 * q.alnum_chars() / q.code_points());
    for (const CleaningRule& rule : rules) {
      if (!rule.drops(q)) continue;
      ++s.rule_flags[rule.name];
      s.rule_bytes[rule.name] += doc.text_bytes();
      std::vector<uint64_t>& examples = s.rule_examples[rule.name];
      if (examples.size() < options.rule_examples) examples.push_back(id);
    }
    if (!duplicate && !clean_preset.Drops(q)) {
      ++s.codeparrot_clean_docs;
      s.codeparrot_clean_bytes += doc.text_bytes();
    }
    return true;
  }));

  const NearDupStore near_store(&catalog);
  ASSIGN_OR_RETURN(std::optional<v1::NearDedupRecord> near_record, near_store.Record());
  ASSIGN_OR_RETURN(NearDedupState near_state, near_store.State());
  s.near_dedup.state = NearDedupStateName(near_state);
  if (near_record.has_value()) {
    s.near_dedup.record = *near_record;
    auto label = [&](uint64_t id) -> absl::StatusOr<std::string> {
      absl::StatusOr<v1::DocRecord> doc = catalog.GetDoc(id);
      if (absl::IsNotFound(doc.status())) return absl::StrCat("document ", id, " (removed)");
      RETURN_IF_ERROR(doc.status());
      return DocLabel(catalog, id, *doc);
    };
    for (const v1::NearDedupCluster& c : near_record->largest_clusters()) {
      CorpusStats::NearDedup::Cluster cluster;
      ASSIGN_OR_RETURN(cluster.representative, label(c.representative()));
      cluster.size = c.size();
      cluster.bytes = c.bytes();
      for (uint64_t member : c.members()) {
        ASSIGN_OR_RETURN(std::string m, label(member));
        cluster.members.push_back(std::move(m));
      }
      s.near_dedup.largest.push_back(std::move(cluster));
    }
  }

  TokenStore store(&catalog);
  ASSIGN_OR_RETURN(std::vector<v1::TokenizerRecord> tokenizers, store.ListTokenizers());
  for (const v1::TokenizerRecord& t : tokenizers) {
    ASSIGN_OR_RETURN(TokenStoreStatus status, store.Status(t));
    s.tokenizers.push_back(std::move(status));
  }
  std::sort(s.tokenizers.begin(), s.tokenizers.end(),
            [](const auto& a, const auto& b) { return a.tokenizer.name() < b.tokenizer.name(); });
  if (options.per_file) {
    for (const auto& [id, file] : catalog.files()) s.per_file.push_back(file);
    std::sort(s.per_file.begin(), s.per_file.end(),
              [](const v1::FileRecord& a, const v1::FileRecord& b) { return a.path() < b.path(); });
  }
  s.distinct_repos = repos.size();
  std::vector<std::pair<std::string, uint64_t>> ranked(repos.begin(), repos.end());
  const size_t top = std::min(options.top_repos, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + top, ranked.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  ranked.resize(top);
  s.top_repos = std::move(ranked);
  return s;
}

std::string CorpusStatsToJson(const CorpusStats& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("schema");
  w.String("shardstream.stats.v1");
  w.Key("version");
  w.String(s.version_hex);
  w.Key("text_field");
  w.String(s.text_field);
  w.Key("partitions");
  w.Uint(s.partitions);
  w.Key("held_partitions");
  w.BeginArray();
  for (uint32_t p : s.held_partitions) w.Uint(p);
  w.EndArray();
  w.Key("sources");
  w.BeginObject();
  for (const auto& [name, source] : s.sources) {
    w.Key(name);
    w.BeginObject();
    w.Key("files");
    w.Uint(source.files);
    w.Key("docs");
    w.Uint(source.docs);
    w.EndObject();
  }
  w.EndObject();
  w.Key("files");
  w.Uint(s.files);
  w.Key("docs");
  w.Uint(s.docs);
  w.Key("unique_docs");
  w.Uint(s.unique_docs);
  w.Key("duplicate_docs");
  w.Uint(s.duplicate_docs);
  w.Key("bad_lines");
  w.Uint(s.bad_lines);
  w.Key("damaged_files");
  w.Uint(s.damaged_files);
  w.Key("text_bytes");
  w.Uint(s.text_bytes);
  w.Key("unique_bytes");
  w.Uint(s.unique_bytes);
  w.Key("duplicate_bytes");
  w.Uint(s.duplicate_bytes);
  w.Key("empty_files");
  w.Uint(s.empty_files);
  w.Key("files_with_bad_lines");
  w.Uint(s.files_with_bad_lines);
  w.Key("compressed_bytes");
  w.Uint(s.compressed_bytes);
  w.Key("decoded_bytes");
  w.Uint(s.decoded_bytes);
  w.Key("files_by_compression");
  WriteCounts(s.files_by_compression, &w);
  w.Key("bad_lines_by_kind");
  WriteCounts(s.bad_lines_by_kind, &w);
  w.Key("licenses");
  WriteCounts(s.licenses, &w);
  w.Key("distinct_repos");
  w.Uint(s.distinct_repos);
  w.Key("top_repos");
  w.BeginArray();
  for (const auto& [repo, docs] : s.top_repos) {
    w.BeginObject();
    w.Key("repo_name");
    w.String(repo);
    w.Key("docs");
    w.Uint(docs);
    w.EndObject();
  }
  w.EndArray();
  w.Key("histograms");
  w.BeginObject();
  w.Key("doc_bytes");
  WriteHistogram(s.doc_bytes, &w);
  w.Key("max_line_chars");
  WriteHistogram(s.max_line_chars, &w);
  w.Key("mean_line_chars");
  WriteHistogram(s.mean_line_chars, &w);
  w.Key("alnum_percent");
  WriteHistogram(s.alnum_percent, &w);
  w.EndObject();
  w.Key("cleaning");
  w.BeginObject();
  w.Key("rules");
  WriteCounts(s.rule_flags, &w);
  w.Key("codeparrot_clean_docs");
  w.Uint(s.codeparrot_clean_docs);
  w.Key("codeparrot_clean_bytes");
  w.Uint(s.codeparrot_clean_bytes);
  w.EndObject();
  const v1::NearDedupRecord& near = s.near_dedup.record;
  w.Key("near_duplicate_docs");
  w.Uint(near.near_duplicate_docs());
  w.Key("near_duplicate_clusters");
  w.Uint(near.near_duplicate_clusters());
  w.Key("near_duplicate_bytes");
  w.Uint(near.near_duplicate_bytes());
  w.Key("near_dedup");
  w.BeginObject();
  w.Key("state");
  w.String(s.near_dedup.state);
  w.Key("threshold");
  w.Double(near.threshold());
  w.Key("permutations");
  w.Uint(near.permutations());
  w.Key("ngram");
  w.Uint(near.ngram());
  w.Key("bands");
  w.Uint(near.bands());
  w.Key("rows");
  w.Uint(near.rows());
  w.Key("signed_docs");
  w.Uint(near.signed_docs());
  w.Key("candidate_pairs");
  w.Uint(near.candidate_pairs());
  w.Key("verify_margin");
  w.Double(near.verify_margin());
  w.Key("verified_pairs");
  w.Uint(near.verified_pairs());
  w.Key("joined_pairs");
  w.Uint(near.joined_pairs());
  w.Key("largest_clusters");
  w.BeginArray();
  for (const CorpusStats::NearDedup::Cluster& c : s.near_dedup.largest) {
    w.BeginObject();
    w.Key("representative");
    w.String(c.representative);
    w.Key("size");
    w.Uint(c.size);
    w.Key("bytes");
    w.Uint(c.bytes);
    w.Key("members");
    w.BeginArray();
    for (const std::string& m : c.members) w.String(m);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.Key("tokenizers");
  w.BeginArray();
  for (const TokenStoreStatus& t : s.tokenizers) {
    w.BeginObject();
    w.Key("name");
    w.String(t.tokenizer.name());
    w.Key("fingerprint");
    w.String(FingerprintOf(t.tokenizer).ToHex());
    w.Key("vocab_size");
    w.Uint(t.tokenizer.vocab_size());
    w.Key("eos_id");
    w.Uint(t.tokenizer.eos_id());
    w.Key("files_done");
    w.Uint(t.files_done);
    w.Key("files");
    w.Uint(t.files);
    w.Key("docs");
    w.Uint(t.docs);
    w.Key("tokens");
    w.Uint(t.tokens);
    w.Key("complete");
    w.Bool(t.complete());
    w.EndObject();
  }
  w.EndArray();
  if (!s.per_file.empty()) {
    w.Key("per_file");
    w.BeginArray();
    for (const v1::FileRecord& f : s.per_file) {
      w.BeginObject();
      w.Key("path");
      w.String(f.path());
      w.Key("compression");
      w.String(CompressionName(f.compression()));
      w.Key("size_bytes");
      w.Uint(f.size_bytes());
      w.Key("docs");
      w.Uint(f.num_docs());
      w.Key("first_doc_id");
      w.Uint(f.first_doc_id());
      w.Key("text_bytes");
      w.Uint(f.text_bytes());
      w.Key("lines");
      w.Uint(f.lines());
      w.Key("damaged");
      w.Bool(f.damaged());
      w.Key("error");
      w.String(f.error());
      w.Key("bad_lines");
      w.BeginObject();
      for (const v1::BadLineCount& bad : f.bad_lines()) {
        w.Key(BadLineKindName(bad.kind()));
        w.BeginObject();
        w.Key("count");
        w.Uint(bad.count());
        w.Key("first_line");
        w.Uint(bad.first_line());
        w.Key("first_error");
        w.String(bad.first_error());
        w.EndObject();
      }
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.str() + "\n";
}

std::string CorpusStatsToTable(const CorpusStats& s) {
  std::string out;
  absl::StrAppendFormat(&out, "dataset version   %s (text field \"%s\")\n", s.version_hex,
                        s.text_field);
  absl::StrAppendFormat(&out, "partitions        %s of %d held\n",
                        FormatPartitionSet(s.held_partitions, s.partitions), s.partitions);
  for (const auto& [name, source] : s.sources) {
    absl::StrAppendFormat(&out, "  source %-8s %d files, %d docs\n", name, source.files,
                          source.docs);
  }
  std::string by_format;
  for (const auto& [name, count] : s.files_by_compression) {
    absl::StrAppend(&by_format, by_format.empty() ? "" : ", ", count, " ", name);
  }
  absl::StrAppendFormat(&out, "files             %d (%s), %s on disk, %s decoded\n", s.files,
                        by_format.empty() ? "none" : by_format, HumanBytes(s.compressed_bytes),
                        HumanBytes(s.decoded_bytes));
  absl::StrAppendFormat(&out, "  damaged         %d\n  empty           %d\n  with bad lines  %d\n",
                        s.damaged_files, s.empty_files, s.files_with_bad_lines);
  absl::StrAppendFormat(&out, "bad lines         %d\n", s.bad_lines);
  for (const auto& [kind, count] : s.bad_lines_by_kind) {
    absl::StrAppendFormat(&out, "  %-15s %d\n", kind, count);
  }
  absl::StrAppendFormat(&out, "documents         %d, %s of text\n", s.docs,
                        HumanBytes(s.text_bytes));
  absl::StrAppendFormat(&out, "  unique          %d (%s), %s\n", s.unique_docs,
                        Percent(s.unique_docs, s.docs), HumanBytes(s.unique_bytes));
  absl::StrAppendFormat(&out, "  duplicates      %d (%s), %s\n", s.duplicate_docs,
                        Percent(s.duplicate_docs, s.docs), HumanBytes(s.duplicate_bytes));
  absl::StrAppend(&out, "licenses\n");
  std::vector<std::pair<std::string, uint64_t>> licenses(s.licenses.begin(), s.licenses.end());
  std::sort(licenses.begin(), licenses.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [license, count] : licenses) {
    absl::StrAppendFormat(&out, "  %-18s %12d  %7s\n", license.empty() ? "(none)" : license, count,
                          Percent(count, s.docs));
  }
  absl::StrAppendFormat(&out, "top repositories (of %d)\n", s.distinct_repos);
  for (const auto& [repo, count] : s.top_repos) {
    absl::StrAppendFormat(&out, "  %-40s %8d\n", repo, count);
  }
  TableHistogram("document size (bytes)", s.doc_bytes, s.docs, &out);
  TableHistogram("longest line (characters)", s.max_line_chars, s.docs, &out);
  TableHistogram("mean line length (characters)", s.mean_line_chars, s.docs, &out);
  TableHistogram("alphanumeric characters (%)", s.alnum_percent, s.docs, &out);
  absl::StrAppend(&out, "cleaning rules (documents flagged, of all documents)\n");
  for (const CleaningRule& rule : CleaningRules()) {
    uint64_t n = s.rule_flags.at(rule.name);
    absl::StrAppendFormat(&out, "  %-24s %10d  %7s  %s\n", rule.name, n, Percent(n, s.docs),
                          rule.description);
  }
  absl::StrAppendFormat(&out,
                        "codeparrot-clean preset keeps %d documents (%s), %s "
                        "(dedup + line length + alnum + autogenerated)\n",
                        s.codeparrot_clean_docs, Percent(s.codeparrot_clean_docs, s.docs),
                        HumanBytes(s.codeparrot_clean_bytes));
  const v1::NearDedupRecord& near = s.near_dedup.record;
  if (s.near_dedup.state == "not run") {
    absl::StrAppend(&out, "near duplicates   (not searched: run `shardstream dedup`)\n");
  } else {
    absl::StrAppendFormat(
        &out,
        "near duplicates   %d (%s) in %d clusters, %s saved (Jaccard >= %g, %d-word shingles, "
        "%d permutations)%s\n",
        near.near_duplicate_docs(), Percent(near.near_duplicate_docs(), s.docs),
        near.near_duplicate_clusters(), HumanBytes(near.near_duplicate_bytes()), near.threshold(),
        near.ngram(), near.permutations(),
        s.near_dedup.state == "stale" ? "; STALE: files changed, run `shardstream dedup`" : "");
    // The ten largest clusters, each with a few of its members (stats --json has more).
    for (size_t i = 0; i < std::min<size_t>(10, s.near_dedup.largest.size()); ++i) {
      const CorpusStats::NearDedup::Cluster& c = s.near_dedup.largest[i];
      absl::StrAppendFormat(&out, "  %5d docs  %-50s %s saved\n", c.size, c.representative,
                            HumanBytes(c.bytes));
      for (size_t m = 0; m < std::min<size_t>(3, c.members.size()); ++m) {
        absl::StrAppendFormat(&out, "%13s %s\n", "", c.members[m]);
      }
      if (c.size > 4) absl::StrAppendFormat(&out, "%13s ... and %d more\n", "", c.size - 4);
    }
  }
  absl::StrAppend(&out, "tokenizers\n");
  if (s.tokenizers.empty()) absl::StrAppend(&out, "  (none: run `shardstream tokenize`)\n");
  for (const TokenStoreStatus& t : s.tokenizers) {
    absl::StrAppendFormat(
        &out, "  %-16s %s  %d tokens in %d docs (%.2f bytes/token), %d/%d files%s\n",
        t.tokenizer.name(), FingerprintOf(t.tokenizer).ToHex().substr(0, 16), t.tokens, t.docs,
        t.tokens == 0 ? 0.0 : static_cast<double>(s.text_bytes) / t.tokens, t.files_done, t.files,
        t.complete() ? "" : " (INCOMPLETE)");
  }
  if (!s.per_file.empty()) {
    absl::StrAppend(&out, "files\n");
    for (const v1::FileRecord& f : s.per_file) {
      uint64_t bad = 0;
      for (const v1::BadLineCount& b : f.bad_lines()) bad += b.count();
      absl::StrAppendFormat(&out, "  %s: %d docs, %s, %d bad lines%s%s\n", f.path(), f.num_docs(),
                            HumanBytes(f.size_bytes()), bad, f.damaged() ? ", DAMAGED: " : "",
                            f.error());
      for (const v1::BadLineCount& b : f.bad_lines()) {
        absl::StrAppendFormat(&out, "    %s: %d (first at line %d: %s)\n",
                              BadLineKindName(b.kind()), b.count(), b.first_line(),
                              b.first_error());
      }
    }
  }
  return out;
}

}  // namespace shardstream
