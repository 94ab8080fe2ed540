#include "server/catalog_selection.h"

#include <algorithm>
#include <atomic>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ordered_parallel.h"
#include "common/status_macros.h"
#include "server/cleaning_rules.h"
#include "server/near_dup_store.h"
#include "server/plan_column.h"
#include "server/usable_cores.h"

namespace shardstream {
namespace {

// The most threads one selection build uses (each selects one part at a time).
constexpr int kBuildThreads = 8;

// The most bytes of per-document fields one part's records keep between the two passes of
// exact dedup.
constexpr size_t kKeptRecordBytes = size_t{64} << 20;

struct ContentHashBits {
  size_t operator()(const std::pair<uint64_t, uint64_t>& hash) const {
    return static_cast<size_t>(hash.first ^ hash.second);
  }
};

}  // namespace

absl::Status DocFilters::Validate() const {
  if (FindFilterPreset(preset) == nullptr) {
    std::vector<std::string> names;
    for (const FilterPreset& p : FilterPresets()) names.push_back(p.name);
    return absl::InvalidArgumentError(absl::StrCat("unknown filter preset \"", preset.substr(0, 64),
                                                   "\"; use ", absl::StrJoin(names, " or ")));
  }
  return absl::OkStatus();
}

Hash128 DocFilters::Fingerprint(const Hash128* near_dedup) const {
  Hasher128 h;
  h.UpdateString("shardstream.filters.v2");
  h.UpdateU64(dedup);
  const FilterPreset* p = FindFilterPreset(preset);
  h.UpdateString(preset);
  if (p != nullptr) {
    h.UpdateU64(p->version);
    h.UpdateU64(p->rules.size());
    for (const CleaningRule* rule : p->rules) {
      h.UpdateString(rule->name);
      h.UpdateString(rule->definition);
    }
    // Only presets with near_dedup hash it, so the other fingerprints stay what they were.
    if (p->near_dedup && near_dedup != nullptr) h.UpdateHash(*near_dedup);
  }
  return h.Digest();
}

bool DocFilters::Keeps(const v1::DocRecord& doc) const {
  if (dedup && doc.has_duplicate_of()) return false;
  const FilterPreset* p = FindFilterPreset(preset);
  return p == nullptr || !p->Drops(doc.quality());
}

absl::StatusOr<std::shared_ptr<const CatalogSelection>> CatalogSelection::Build(
    const Catalog* catalog, const std::string& tokenizer_name, const DocFilters& filters) {
  RETURN_IF_ERROR(filters.Validate());  // the preset is looked up below
  const TokenStore store(catalog);
  ASSIGN_OR_RETURN(v1::TokenizerRecord tokenizer, store.FindTokenizer(tokenizer_name));
  const Hash128 fingerprint = FingerprintOf(tokenizer);
  const PackPages pages = store.PackPagesFor(fingerprint);
  // The files' records are read when their parts are selected, each once; a file without current
  // tokens stops the build, and then the store's progress is read for the message.
  std::atomic<bool> incomplete = false;
  auto incomplete_error = [&](const absl::Status& first) -> absl::Status {
    ASSIGN_OR_RETURN(const TokenStoreStatus status, store.Status(tokenizer));
    if (status.complete()) return first;  // tokenized meanwhile
    return absl::FailedPreconditionError(
        absl::StrCat("tokenizer \"", tokenizer.name(),
                     "\" is not fully tokenized yet: ", status.files_done, " of ", status.files,
                     " files; run `shardstream tokenize` (with the same tokenizer) first"));
  };
  if (catalog->meta().next_doc_id() > UINT32_MAX) {
    return absl::FailedPreconditionError("plans support catalogs of up to 2^32 document ids");
  }
  const FilterPreset& preset = *FindFilterPreset(filters.preset);
  const uint8_t mask = PresetMask(preset);
  // Near duplicates to drop: from a clustering of the catalog as it is.
  absl::flat_hash_set<uint64_t> near_duplicates;
  Hash128 near_dedup;
  if (preset.near_dedup) {
    const NearDupStore near_store(catalog);
    ASSIGN_OR_RETURN(std::optional<v1::NearDedupRecord> record, near_store.Record());
    ASSIGN_OR_RETURN(NearDedupState state, near_store.State());
    if (state != NearDedupState::kCurrent) {
      return absl::FailedPreconditionError(
          absl::StrCat("filter \"", preset.name,
                       "\" needs near duplicates of the catalog as it is, and its "
                       "near-dedup is ",
                       NearDedupStateName(state), "; run `shardstream dedup` first"));
    }
    near_dedup = NearDedupFingerprint(*record);
    RETURN_IF_ERROR(near_store.ForEachNearDuplicate(
        [&](uint64_t doc_id, const v1::NearDuplicate&) { near_duplicates.insert(doc_id); }));
  }
  auto selection = std::shared_ptr<CatalogSelection>(new CatalogSelection());
  selection->catalog_ = catalog;
  selection->tokenizer_ = tokenizer;
  selection->filters_ = filters.Fingerprint(preset.near_dedup ? &near_dedup : nullptr);
  selection->held_ = catalog->owned_partitions();
  selection->partitions_ = catalog->partitions();

  // A file's record, checked against the catalog.
  auto record_of = [&](const v1::FileRecord& file) -> absl::StatusOr<v1::TokenizedFile> {
    absl::StatusOr<v1::TokenizedFile> tf = store.GetTokenizedFile(fingerprint, file.file_id());
    if (tf.ok() ? !IsCurrent(*tf, file) : absl::IsNotFound(tf.status())) {
      incomplete = true;
      return absl::FailedPreconditionError(
          absl::StrCat("file ", file.path(), " has no current tokens; run `shardstream tokenize`"));
    }
    RETURN_IF_ERROR(tf.status());
    if (tf->token_counts_size() != static_cast<int>(file.num_docs())) {
      return absl::DataLossError(absl::StrCat("the tokens record of file ", file.path(),
                                              " does not match it; run `shardstream tokenize`"));
    }
    return tf;
  };
  // Parts are selected in parallel, and a part's files' records are read in parallel: with
  // fewer parts than threads, the threads left over read ahead within each part.
  const std::vector<PartFiles> parts = catalog->Parts();
  const int threads = ThreadsUpTo(kBuildThreads);
  const int part_threads = std::clamp<int>(static_cast<int>(parts.size()), 1, threads);
  const int file_threads = std::max(1, threads / part_threads);
  // A file's record and pack, read on a worker.
  struct FileRead {
    absl::StatusOr<v1::TokenizedFile> record;
    absl::StatusOr<std::shared_ptr<const TokenPack>> pack;
  };
  auto read_file = [&](const v1::FileRecord& file) {
    FileRead read{record_of(file), absl::UnknownError("not opened")};
    if (!read.record.ok()) return read;
    read.pack = store.OpenPack(tokenizer, *read.record, pages);
    if (absl::IsNotFound(read.pack.status())) {
      read.pack = absl::FailedPreconditionError(
          absl::StrCat("the tokens of file ", file.path(), " are missing (",
                       read.pack.status().message(), "); run `shardstream tokenize`"));
    }
    return read;
  };
  // Calls use(f, record, pack) for files [begin, end) of `part`, in order.
  auto for_each_file = [&](const PartFiles& part, size_t begin, size_t end, auto use) {
    return RunOrdered<FileRead>(
        end - begin, file_threads,
        [&] { return [&](size_t i) { return read_file(*part.files[begin + i]); }; },
        [&](size_t i, FileRead read) -> absl::Status {
          RETURN_IF_ERROR(read.record.status());
          RETURN_IF_ERROR(read.pack.status());
          return use(begin + i, *std::move(read.record), *std::move(read.pack));
        });
  };
  using HashSet = absl::flat_hash_set<std::pair<uint64_t, uint64_t>, ContentHashBits>;
  // One part's selection; none when the filters drop every document.
  auto select_part =
      [&](const PartFiles& part) -> absl::StatusOr<std::shared_ptr<const PartSelection>> {
    std::vector<std::shared_ptr<const TokenPack>> packs;  // of its files, in order
    HugePageVector<const char*> tokens;
    std::vector<uint32_t> counts;
    std::vector<PartSelection::IdRun> id_runs;
    tokens.reserve(part.docs);
    counts.reserve(part.docs);
    // Exact dedup: the texts of documents flagged as copies (plan_column.h), the only ones
    // that may occur twice; with a file of the part without a column, every text may.
    HashSet repeated;
    bool all_columns = true;
    // The records that pass read, kept for the next while they fit kKeptRecordBytes, so that
    // most parts read each record once.
    std::vector<v1::TokenizedFile> kept;
    size_t kept_bytes = 0;
    bool keeping = true;
    if (filters.dedup) {
      RETURN_IF_ERROR(for_each_file(
          part, 0, part.files.size(),
          [&](size_t, v1::TokenizedFile tf, std::shared_ptr<const TokenPack> pack) {
            if (!HasPlanColumn(tf)) all_columns = false;
            if (all_columns) {
              for (uint64_t i = 0; i < tf.num_docs(); ++i) {
                if (ColumnFlags(tf, i) & kCopyFlag) {
                  const Hash128 h = ColumnHash(tf, i);
                  repeated.insert({h.hi, h.lo});
                }
              }
            }
            const size_t bytes = sizeof(uint32_t) * tf.token_counts_size() +
                                 tf.doc_hashes().size() + tf.doc_flags().size();
            keeping = keeping && kept_bytes + bytes <= kKeptRecordBytes;  // a prefix of the files
            if (keeping) {
              kept.push_back(std::move(tf));
              packs.push_back(std::move(pack));
              kept_bytes += bytes;
            }
            return absl::OkStatus();
          }));
    }
    // Whether a text must be looked up in the texts seen so far.
    const bool check_copies = filters.dedup && (!all_columns || !repeated.empty());
    HashSet seen;  // of the texts that may repeat, those met so far in canonical order
    const uint32_t token_bytes = tokenizer.token_bytes();
    auto add_file = [&](const v1::FileRecord& file, const v1::TokenizedFile& tf,
                        const TokenPack& pack) -> absl::Status {
      absl::Status damaged;
      // Keeps document `id` of the file, unless a copy of an earlier text (hashed by hash(),
      // called only when needed), dropped by the rules, or a near duplicate. False (with
      // `damaged`) when its ids in the pack do not match its count.
      auto keep = [&](uint64_t id, auto hash, bool dropped_by_rules) {
        if (check_copies) {
          const Hash128 h = hash();
          const std::pair<uint64_t, uint64_t> key{h.hi, h.lo};
          if ((!all_columns || repeated.contains(key)) && !seen.insert(key).second) return true;
        }
        if (dropped_by_rules) return true;
        if (!near_duplicates.empty() && near_duplicates.contains(id)) return true;
        const uint32_t count = tf.token_counts(static_cast<int>(id - file.first_doc_id()));
        absl::StatusOr<std::string_view> ids = pack.Tokens(id);
        if (!ids.ok() || ids->size() != size_t{count} * token_bytes) {
          damaged = !ids.ok() ? ids.status()
                              : absl::DataLossError(absl::StrCat(
                                    "the tokens of document ", id, " (file ", file.path(),
                                    ") do not match its count; run `shardstream tokenize`"));
          return false;
        }
        if (id_runs.empty() || id != id_runs.back().id + (tokens.size() - id_runs.back().index)) {
          id_runs.push_back({static_cast<uint32_t>(tokens.size()), static_cast<uint32_t>(id)});
        }
        tokens.push_back(ids->data());
        counts.push_back(count);
        return true;
      };
      if (HasPlanColumn(tf)) {
        // The plan column: no DocRecord read.
        for (uint64_t i = 0; i < file.num_docs(); ++i) {
          const bool intact = keep(
              file.first_doc_id() + i, [&] { return ColumnHash(tf, i); },
              (ColumnFlags(tf, i) & mask) != 0);
          if (!intact) return damaged;
        }
        return absl::OkStatus();
      }
      // Tokenized before plan columns (until `tokenize` runs again): the DocRecords.
      auto keep_doc = [&](uint64_t id, const v1::DocRecord& doc) {
        auto hash = [&] { return Hash128{doc.hash_hi(), doc.hash_lo()}; };
        return keep(id, hash, preset.Drops(doc.quality()));
      };
      RETURN_IF_ERROR(catalog->ForEachDocInRange(file.first_doc_id(),
                                                 file.first_doc_id() + file.num_docs(), keep_doc));
      return damaged;
    };
    for (size_t f = 0; f < kept.size(); ++f) {
      RETURN_IF_ERROR(add_file(*part.files[f], kept[f], *packs[f]));
    }
    kept.clear();
    RETURN_IF_ERROR(
        for_each_file(part, packs.size(), part.files.size(),
                      [&](size_t f, v1::TokenizedFile tf, std::shared_ptr<const TokenPack> pack) {
                        packs.push_back(std::move(pack));
                        return add_file(*part.files[f], tf, *packs.back());
                      }));
    if (tokens.empty()) return nullptr;
    if (tokens.size() < tokens.capacity() * 9 / 10) {  // filters dropped many
      tokens.shrink_to_fit();
      counts.shrink_to_fit();
    }
    id_runs.shrink_to_fit();
    return std::make_shared<const PartSelection>(
        PartSelection{part.key, part.version, std::move(tokens),
                      std::make_shared<const std::vector<uint32_t>>(std::move(counts)),
                      std::move(id_runs), std::move(packs)});
  };
  const absl::Status built = RunOrdered<absl::StatusOr<std::shared_ptr<const PartSelection>>>(
      parts.size(), part_threads, [&] { return [&](size_t i) { return select_part(parts[i]); }; },
      [&](size_t, absl::StatusOr<std::shared_ptr<const PartSelection>> part) -> absl::Status {
        RETURN_IF_ERROR(part.status());
        if (*part != nullptr) selection->parts_.push_back(*std::move(part));
        return absl::OkStatus();
      });
  if (!built.ok()) return incomplete ? incomplete_error(built) : built;
  return selection;
}

uint64_t PartSelection::doc_id(size_t i) const {
  const auto run =
      std::prev(std::upper_bound(id_runs.begin(), id_runs.end(), i,
                                 [](size_t index, const IdRun& r) { return index < r.index; }));
  return run->id + (i - run->index);
}

size_t CatalogSelection::MemoryBytes() const {
  size_t total = 0;
  for (const auto& part : parts_) {
    total += part->tokens.capacity() * sizeof(const char*) +
             part->counts->capacity() * sizeof(uint32_t) +
             part->id_runs.capacity() * sizeof(PartSelection::IdRun);
  }
  return total;
}

}  // namespace shardstream
