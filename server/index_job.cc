#include "server/index_job.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/corpus_file_reader.h"
#include "common/ordered_parallel.h"
#include "common/quality_signals.h"
#include "common/status_macros.h"
#include "server/job_memory.h"

namespace shardstream {

namespace {

constexpr size_t kMinDocumentListBytes = kMiB;

// A document's part of its file's digest: its content hash, size and metadata, in order.
void AddToDigest(const v1::DocRecord& doc, Hasher128* digest) {
  digest->UpdateHash(Hash128{doc.hash_hi(), doc.hash_lo()});
  digest->UpdateU64(doc.text_bytes());
  digest->UpdateU64(doc.metadata_size());
  for (const v1::MetadataField& field : doc.metadata()) {
    digest->UpdateString(field.key());
    digest->UpdateString(field.value());
  }
}

}  // namespace

absl::Status IndexOptions::Validate() const {
  if (corpus_paths.empty()) return absl::InvalidArgumentError("no corpus path given (--corpus)");
  if (text_field.empty()) return absl::InvalidArgumentError("--text-field is empty");
  if (jobs < 1 || jobs > 256) {
    return absl::InvalidArgumentError(absl::StrCat("--jobs must be in [1, 256], got ", jobs));
  }
  RETURN_IF_ERROR(ValidateSourceName(source));
  if (partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("--partitions must be in [1, ", kMaxPartitions, "], got ", partitions));
  }
  if (max_line_bytes < 1024) {
    return absl::InvalidArgumentError("max_line_bytes must be at least 1024");
  }
  if (const size_t least = LeastMemoryBytes(); MemoryBytes() < least) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--memory-mib ", MemoryBytes() / kMiB, " cannot hold ", jobs,
        " reader(s) of lines up to --max-line-mib ", max_line_bytes / kMiB, " (",
        LineBytes() / kMiB, " MiB each) and their documents: give at least --memory-mib ",
        (least + kMiB - 1) / kMiB, ", or fewer --jobs, or a lower --max-line-mib"));
  }
  return absl::OkStatus();
}

size_t IndexOptions::MemoryBytes() const {
  return memory_bytes > 0 ? memory_bytes : std::max(kDefaultJobMemoryBytes, LeastMemoryBytes());
}

size_t IndexOptions::LeastMemoryBytes() const {
  const size_t readers = static_cast<size_t>(std::max(jobs, 1));
  return BudgetForJobShare(readers * LineBytes() + (2 * readers + 2) * kMinDocumentListBytes);
}

size_t IndexOptions::LineBytes() const { return ReaderMemoryBytes(max_line_bytes); }

CatalogOptions IndexOptions::CatalogMemory() const { return CatalogMemoryOf(MemoryBytes()); }

size_t IndexOptions::DocumentListBytes() const {
  // After the catalog's part and the readers' lines: the files being read or waiting
  // (RunOrdered runs 2 × jobs ahead), the one being committed, and its write batch.
  const size_t lists = 2 * static_cast<size_t>(std::max(jobs, 1)) + 2;
  const size_t lines = static_cast<size_t>(std::max(jobs, 1)) * LineBytes();
  const size_t left = JobShareOf(MemoryBytes());
  const size_t records = left - std::min(left, lines) - DedupBytes();
  return std::max(kMinDocumentListBytes, records / lists);
}

size_t IndexOptions::DedupBytes() const {
  const size_t readers = static_cast<size_t>(std::max(jobs, 1));
  const size_t taken = readers * LineBytes() + (2 * readers + 2) * kMinDocumentListBytes;
  const size_t left = JobShareOf(MemoryBytes());
  return (left - std::min(left, taken)) / 4;
}

struct IndexJob::WorkItem {
  const CorpusFile* file;
  std::optional<v1::FileRecord> previous;  // the catalog's record of the same path, if any
};

struct IndexJob::FileOutcome {
  absl::Status status;     // not OK: the file could not be read at all
  absl::Status job_error;  // not OK: the job cannot go on (a spill file could not be written)
  v1::FileRecord record;
  DocumentList docs;
};

IndexJob::IndexJob(Catalog* catalog, IndexOptions options)
    : catalog_(catalog), options_(std::move(options)) {}

IndexProgress IndexJob::progress() const {
  return IndexProgress{files_total_.load(), files_done_.load(), docs_read_.load(),
                       text_bytes_read_.load()};
}

IndexJob::FileOutcome IndexJob::ReadFile(const CorpusFile& file, CorpusFileReader& reader,
                                         QualitySignalComputer& quality) {
  FileOutcome outcome{absl::OkStatus(),
                      absl::OkStatus(),
                      {},
                      DocumentList(catalog_->dir(), options_.DocumentListBytes())};
  Hasher128 digest;
  uint64_t text_bytes = 0;
  uint64_t longest_doc_bytes = 0;  // of the documents read (an upper bound for those kept)
  v1::DocRecord doc;
  auto on_document = [&](uint64_t line, const ParsedLine& parsed) {
    doc.Clear();
    const Hash128 hash = HashBytes(parsed.text);
    doc.set_line(line);
    doc.set_text_bytes(parsed.text.size());
    doc.set_hash_hi(hash.hi);
    doc.set_hash_lo(hash.lo);
    for (const auto& [key, value] : parsed.metadata) {
      v1::MetadataField* field = doc.add_metadata();
      field->set_key(std::string(key));
      field->set_value(value);
    }
    quality.Compute(parsed.text, doc.mutable_quality());
    AddToDigest(doc, &digest);
    text_bytes += doc.text_bytes();
    longest_doc_bytes = std::max<uint64_t>(longest_doc_bytes, doc.text_bytes());
    docs_read_.fetch_add(1, std::memory_order_relaxed);
    text_bytes_read_.fetch_add(parsed.text.size(), std::memory_order_relaxed);
    outcome.job_error = outcome.docs.Append(doc);
    return outcome.job_error.ok();
  };
  absl::StatusOr<FileScanResult> scan =
      reader.Read(file.absolute_path, file.compression, on_document);
  if (!outcome.job_error.ok()) return outcome;
  if (!scan.ok()) {
    outcome.status = scan.status();
    return outcome;
  }
  if (scan->unverified_from_line > 0) {
    // Documents the integrity check failed to vouch for (the last ones) are not taken; they
    // are counted as bad lines. The digest and sizes are those of the documents kept.
    digest = Hasher128();
    text_bytes = 0;
    uint64_t kept = 0;
    std::unique_ptr<DocumentSource> docs = outcome.docs.Read();
    while (true) {
      absl::StatusOr<bool> more = docs->Next(&doc);
      if (!more.ok()) {
        outcome.job_error = more.status();
        return outcome;
      }
      if (!*more || doc.line() >= scan->unverified_from_line) break;
      AddToDigest(doc, &digest);
      text_bytes += doc.text_bytes();
      ++kept;
    }
    outcome.docs.KeepFirst(kept);
  }
  v1::FileRecord& r = outcome.record;
  r.set_path(file.relative_path);
  r.set_root(file.root);
  r.set_source(options_.source);
  r.set_compression(file.compression);
  r.set_max_line_bytes(options_.max_line_bytes);
  r.set_size_bytes(file.size_bytes);
  r.set_mtime_ns(file.mtime_ns);
  r.set_checksum_hi(scan->checksum.hi);
  r.set_checksum_lo(scan->checksum.lo);
  r.set_text_bytes(text_bytes);
  r.set_longest_line_bytes(scan->longest_line_bytes);
  r.set_longest_doc_bytes(longest_doc_bytes);
  r.set_decoded_bytes(scan->decoded_bytes);
  r.set_lines(scan->lines);
  for (v1::BadLineCount& bad : scan->bad_lines) *r.add_bad_lines() = std::move(bad);
  r.set_damaged(scan->damaged);
  r.set_error(scan->error);
  const Hash128 d = digest.Digest();
  r.set_digest_hi(d.hi);
  r.set_digest_lo(d.lo);
  outcome.record.set_num_docs(outcome.docs.size());
  return outcome;
}

absl::Status IndexJob::Commit(const WorkItem& item, FileOutcome outcome, IndexSummary* summary) {
  const CorpusFile& file = *item.file;
  RETURN_IF_ERROR(outcome.job_error);
  if (!outcome.status.ok()) {
    // Leave any previous record alone: the file may be readable again next time.
    summary->unreadable.push_back({file.absolute_path, std::string(outcome.status.message())});
    return absl::OkStatus();
  }
  // Here, not in the readers: the committer is the one thread that reads the catalog's meta.
  outcome.record.set_partition(PartitionOfPath(file.relative_path, catalog_->partitions()));
  const v1::FileRecord& r = outcome.record;
  summary->raw_bytes_read += file.size_bytes;
  summary->decoded_bytes_read += r.decoded_bytes();
  for (const v1::BadLineCount& bad : r.bad_lines()) summary->bad_lines_read += bad.count();
  if (r.damaged()) summary->damaged.push_back({file.relative_path, r.error()});
  if (file.size_bytes == 0) summary->empty.push_back(file.relative_path);

  if (item.previous.has_value()) {
    const v1::FileRecord& prev = *item.previous;
    if (prev.digest_hi() == r.digest_hi() && prev.digest_lo() == r.digest_lo() &&
        prev.num_docs() == r.num_docs()) {
      v1::FileRecord refreshed = r;
      refreshed.set_file_id(prev.file_id());
      RETURN_IF_ERROR(catalog_->RefreshFile(refreshed, *outcome.docs.Read()));
      ++summary->files_refreshed;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(catalog_->RemoveFile(prev.file_id()));
    summary->docs_removed += prev.num_docs();
    ++summary->files_reindexed;
  } else {
    ++summary->files_added;
  }
  summary->docs_added += r.num_docs();
  summary->text_bytes_added += r.text_bytes();
  return catalog_->AddFile(std::move(outcome.record), *outcome.docs.Read()).status();
}

absl::StatusOr<IndexSummary> IndexJob::Run() {
  RETURN_IF_ERROR(options_.Validate());
  const absl::Time start = absl::Now();
  IndexSummary summary;
  const Hash128 version_before = catalog_->version();

  ASSIGN_OR_RETURN(CorpusListing listing, ListCorpusFiles(options_.corpus_paths));
  summary.files_found = listing.files.size();
  summary.files_ignored = listing.ignored.size();
  for (const UnreadablePath& u : listing.unreadable)
    summary.unreadable.push_back({u.path, u.error});
  RETURN_IF_ERROR(catalog_->SetTextField(options_.text_field));
  {
    // P first (fixed at the first index), then the owned set parsed against it.
    RETURN_IF_ERROR(catalog_->SetPartitioning(options_.partitions, nullptr));
    if (!options_.own.empty()) {
      ASSIGN_OR_RETURN(std::vector<uint32_t> owned,
                       ParsePartitionSet(options_.own, catalog_->partitions()));
      RETURN_IF_ERROR(catalog_->SetPartitioning(0, &owned));
    }
  }
  const uint32_t partitions = catalog_->partitions();
  std::vector<bool> owned(partitions, false);
  for (uint32_t p : catalog_->owned_partitions()) owned[p] = true;

  // Plan: what to drop, what to read. Only this run's source is compared with the disk.
  std::map<std::string, v1::FileRecord> indexed;  // by relative path
  for (const auto& [id, record] : catalog_->files()) {
    if (SourceOf(record) == options_.source) indexed.emplace(record.path(), record);
  }
  std::vector<WorkItem> work;
  for (const CorpusFile& file : listing.files) {
    if (!owned[PartitionOfPath(file.relative_path, partitions)]) {
      ++summary.files_not_owned;  // stays in `indexed` if it was: removed below
      continue;
    }
    auto found = indexed.find(file.relative_path);
    if (found == indexed.end()) {
      work.push_back({&file, std::nullopt});
      continue;
    }
    const v1::FileRecord& prev = found->second;
    if (prev.root() == file.root && prev.size_bytes() == file.size_bytes &&
        prev.mtime_ns() == file.mtime_ns) {
      ++summary.files_unchanged;
    } else {
      work.push_back({&file, prev});
    }
    indexed.erase(found);
  }
  // One version computation at the end, not one per commit; commits sized to the budget.
  catalog_->DeferVersion();
  catalog_->set_max_batch_bytes(options_.DocumentListBytes());
  catalog_->set_dedup_memory_bytes(options_.DedupBytes());
  // What is left of `indexed` is gone from disk (or no longer owned): drop it first, in path
  // order. Files under a path that could not be listed are not known to be gone: kept.
  for (const auto& entry : indexed) {
    const v1::FileRecord& record = entry.second;  // (clang 14 cannot capture bindings)
    const bool owned_now = owned[PartitionOfPath(record.path(), partitions)];
    if (owned_now && std::any_of(listing.unreadable.begin(), listing.unreadable.end(),
                                 [&](const UnreadablePath& u) {
                                   return u.Covers(record.root(), record.path());
                                 })) {
      ++summary.files_kept_unlisted;
      continue;
    }
    RETURN_IF_ERROR(catalog_->RemoveFile(record.file_id()));
    ++summary.files_removed;
    summary.docs_removed += record.num_docs();
  }

  // Read in parallel, commit in order (one atomic commit per file, in path order).
  files_total_.store(work.size());
  auto make_worker = [this, &work] {
    CorpusFileReaderOptions reader_options;
    reader_options.text_field = options_.text_field;
    reader_options.max_line_bytes = options_.max_line_bytes;
    return [this, &work, reader = std::make_shared<CorpusFileReader>(reader_options),
            quality = std::make_shared<QualitySignalComputer>()](size_t i) {
      return ReadFile(*work[i].file, *reader, *quality);
    };
  };
  absl::Status status = RunOrdered<FileOutcome>(
      work.size(), options_.jobs, make_worker, [&](size_t i, FileOutcome outcome) {
        absl::Status s = Commit(work[i], std::move(outcome), &summary);
        files_done_.store(i + 1);
        return s;
      });
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(catalog_->WriteDedupEntries());
  RETURN_IF_ERROR(catalog_->UpdateVersion());
  RETURN_IF_ERROR(catalog_->Flush());

  summary.catalog_files = catalog_->files().size();
  for (const auto& [id, record] : catalog_->files()) summary.catalog_docs += record.num_docs();
  summary.version = catalog_->version();
  summary.version_changed = summary.version != version_before;
  summary.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return summary;
}

}  // namespace shardstream
