#include "server/near_dedup_job.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/corpus_file_reader.h"
#include "common/ordered_parallel.h"
#include "common/status_macros.h"
#include "server/indexed_documents.h"
#include "server/near_dup_clustering.h"
#include "server/near_dup_store.h"

namespace shardstream {
namespace {

constexpr size_t kLargestClusters = 20;
constexpr size_t kClusterMembersKept = 5;
constexpr size_t kWriteChunk = 10000;
constexpr uint32_t kNoDoc = UINT32_MAX;

// The file and the part of any document, by id.
class PartOfDoc {
 public:
  explicit PartOfDoc(const Catalog& catalog) {
    for (const auto& [id, file] : catalog.files()) {
      if (file.num_docs() > 0) ranges_.push_back({file.first_doc_id(), &file});
    }
    std::sort(ranges_.begin(), ranges_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  // nullptr / nullopt for an id no file holds.
  const v1::FileRecord* FileOf(uint64_t doc_id) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), doc_id,
                               [](uint64_t id, const auto& r) { return id < r.first; });
    if (it == ranges_.begin()) return nullptr;
    --it;
    return doc_id < it->first + it->second->num_docs() ? it->second : nullptr;
  }
  std::optional<PartKey> operator()(uint64_t doc_id) const {
    const v1::FileRecord* file = FileOf(doc_id);
    if (file == nullptr) return std::nullopt;
    return PartOf(*file);
  }

 private:
  std::vector<std::pair<uint64_t, const v1::FileRecord*>> ranges_;
};

// DATA_LOSS unless `signature` has the permutations the job works with.
absl::Status CheckSignature(const std::vector<uint16_t>& signature, uint32_t permutations) {
  if (signature.size() == permutations) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("a signature of ", signature.size(), " values; expected ",
                                          permutations, " (run `shardstream dedup`)"));
}

struct FileSignatures {
  absl::Status status;
  v1::MinHashFile record;
  std::unique_ptr<SignatureWriter> signatures;  // finished when status is OK
  uint64_t text_bytes = 0;
  uint64_t docs = 0;
};

}  // namespace

absl::Status NearDedupOptions::Validate() const {
  RETURN_IF_ERROR(minhash.Validate());
  if (!(threshold > 0 && threshold <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threshold must be in (0, 1], got ", threshold));
  }
  if (jobs < 1 || jobs > 256) {
    return absl::InvalidArgumentError(absl::StrCat("--jobs must be in [1, 256], got ", jobs));
  }
  if (!(verify_margin >= 0 && verify_margin < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--verify-margin must be in [0, 1), got ", verify_margin));
  }
  if (memory_bytes < (size_t{1} << 20)) {
    return absl::InvalidArgumentError("--memory-mib must be at least 1");
  }
  return absl::OkStatus();
}

NearDedupJob::NearDedupJob(Catalog* catalog, NearDedupOptions options)
    : catalog_(catalog), options_(std::move(options)) {}

NearDedupProgress NearDedupJob::progress() const {
  NearDedupProgress p;
  p.clustering = clustering_.load();
  p.files_total = files_total_.load();
  p.files_done = files_done_.load();
  p.docs = docs_.load();
  p.text_bytes = text_bytes_.load();
  p.bands_total = bands_total_.load();
  p.bands_done = bands_done_.load();
  return p;
}

absl::Status NearDedupJob::Sign(NearDedupSummary* summary) {
  NearDupStore store(catalog_);
  const Hash128 params = options_.minhash.Fingerprint();
  ASSIGN_OR_RETURN(auto done, store.SignedFiles());
  // In catalog order (file ids, like document ids, ascend in commit order), like tokenize: an
  // interrupted run has signed a prefix.
  std::vector<const v1::FileRecord*> work;
  std::vector<const v1::MinHashFile*> replaces;
  for (const auto& [id, file] : catalog_->files()) {
    auto it = done.find(id);
    const bool current = it != done.end() && IsCurrent(it->second, file, params);
    if (current) ++summary->files_unchanged;
    if (current || file.num_docs() == 0) continue;
    work.push_back(&file);
    replaces.push_back(it == done.end() ? nullptr : &it->second);
  }
  for (const auto& [id, signed_file] : done) {
    if (catalog_->files().count(id) == 0) {
      RETURN_IF_ERROR(store.DropFile(signed_file));
      ++summary->files_dropped;
    }
  }
  RETURN_IF_ERROR(store.RemoveLeftoverSstFiles());
  files_total_.store(work.size());
  const PartOfDoc part_of(*catalog_);
  auto make_worker = [&] {
    CorpusFileReaderOptions reader_options;
    reader_options.text_field = catalog_->meta().text_field();
    return [&, reader = std::make_shared<CorpusFileReader>(reader_options),
            hasher = std::make_shared<MinHasher>(options_.minhash)](size_t i) {
      const v1::FileRecord& file = *work[i];
      const PartKey part = PartOf(file);
      FileSignatures out;
      out.signatures = store.NewFileWriter(file.file_id());
      std::vector<uint16_t> signature;
      uint64_t signed_docs = 0;
      absl::Status write_status;
      out.status = ReadIndexedDocuments(
          *catalog_, file, *reader,
          // An exact copy of an earlier document of the same part shares its signature.
          [&](uint64_t, const v1::DocRecord& doc) {
            return !doc.has_duplicate_of() || part_of(doc.duplicate_of()) != part;
          },
          [&](uint64_t doc_id, std::string_view text) {
            if (hasher->Sign(text, &signature)) {
              write_status = out.signatures->Add(doc_id, signature);
              if (!write_status.ok()) return false;
              ++signed_docs;
            }
            out.text_bytes += text.size();
            ++out.docs;
            docs_.fetch_add(1, std::memory_order_relaxed);
            text_bytes_.fetch_add(text.size(), std::memory_order_relaxed);
            return true;
          });
      if (out.status.ok()) out.status = write_status;
      if (out.status.ok()) out.status = out.signatures->Finish();
      out.record.set_file_id(file.file_id());
      out.record.set_first_doc_id(file.first_doc_id());
      out.record.set_num_docs(file.num_docs());
      out.record.set_digest_hi(file.digest_hi());
      out.record.set_digest_lo(file.digest_lo());
      out.record.set_params_hi(params.hi);
      out.record.set_params_lo(params.lo);
      out.record.set_signed_docs(signed_docs);
      return out;
    };
  };
  return RunOrdered<FileSignatures>(
      work.size(), options_.jobs, make_worker,
      [&](size_t i, FileSignatures result) -> absl::Status {
        files_done_.store(i + 1);
        const v1::FileRecord& file = *work[i];
        if (!result.status.ok()) {
          summary->failed.push_back(
              {std::string(file.path()), std::string(result.status.message())});
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(store.CommitFile(result.record, *result.signatures, replaces[i]));
        ++summary->files_signed;
        summary->docs_signed += result.docs;
        summary->text_bytes += result.text_bytes;
        return absl::OkStatus();
      });
}

absl::Status NearDedupJob::Cluster(NearDedupSummary* summary) {
  NearDupStore store(catalog_);
  const uint32_t permutations = options_.minhash.permutations;
  if (catalog_->meta().next_doc_id() > kNoDoc) {
    return absl::FailedPreconditionError("dedup supports catalogs of up to 2^32 - 1 document ids");
  }
  // The documents to cluster, in canonical order: per part, the first copy of each text.
  const PartOfDoc part_of(*catalog_);
  std::vector<uint32_t> doc_of_g, source_of_g, bytes_of_g, part_starts;
  std::vector<uint32_t> g_of_source(catalog_->meta().next_doc_id(), kNoDoc);
  for (const PartFiles& part : catalog_->Parts()) {
    part_starts.push_back(static_cast<uint32_t>(doc_of_g.size()));
    absl::flat_hash_set<std::pair<uint64_t, uint64_t>> seen;
    for (const v1::FileRecord* file : part.files) {
      RETURN_IF_ERROR(catalog_->ForEachDocInRange(
          file->first_doc_id(), file->first_doc_id() + file->num_docs(),
          [&](uint64_t id, const v1::DocRecord& doc) {
            if (!seen.insert({doc.hash_hi(), doc.hash_lo()}).second) return true;
            const uint64_t source =
                doc.has_duplicate_of() && part_of(doc.duplicate_of()) == part.key
                    ? doc.duplicate_of()
                    : id;
            g_of_source[source] = static_cast<uint32_t>(doc_of_g.size());
            doc_of_g.push_back(static_cast<uint32_t>(id));
            source_of_g.push_back(static_cast<uint32_t>(source));
            bytes_of_g.push_back(
                static_cast<uint32_t>(std::min<uint64_t>(doc.text_bytes(), kNoDoc)));
            return true;
          }));
    }
  }
  if (part_starts.empty()) part_starts.push_back(0);

  const LshBands bands = OptimalBands(options_.threshold, permutations);
  bands_total_.store(bands.bands);
  ClusteringInput input;
  input.docs = static_cast<uint32_t>(doc_of_g.size());
  input.part_starts = part_starts;
  input.permutations = permutations;
  uint64_t signed_docs = 0;  // documents the scan reached (one without words has no signature)
  input.scan = [&](const std::function<void(uint32_t, const uint16_t*)>& emit) {
    absl::Status status;
    signed_docs = 0;
    RETURN_IF_ERROR(
        store.ForEachSignature([&](uint64_t doc_id, const std::vector<uint16_t>& signature) {
          if (!status.ok() || doc_id >= g_of_source.size() || g_of_source[doc_id] == kNoDoc) {
            return;
          }
          status = CheckSignature(signature, permutations);
          if (status.ok()) emit(g_of_source[doc_id], signature.data());
          ++signed_docs;
        }));
    return status;
  };
  input.read = [&](uint32_t g, std::vector<uint16_t>* out) {
    RETURN_IF_ERROR(store.ReadSignature(source_of_g[g], out));
    return CheckSignature(*out, permutations);
  };
  // Exact Jaccard of the pairs too close to call: the shingle sets of their documents, each
  // file read once (in parallel), compared.
  uint64_t verified_docs = 0;
  input.exact = [&](const std::vector<std::pair<uint32_t, uint32_t>>& pairs)
      -> absl::StatusOr<std::vector<double>> {
    std::map<const v1::FileRecord*, absl::flat_hash_set<uint64_t>> wanted;
    for (const auto& [a, b] : pairs) {
      for (uint32_t g : {a, b}) {
        const v1::FileRecord* file = part_of.FileOf(source_of_g[g]);
        if (file == nullptr) return absl::InternalError("a clustered document has no file");
        wanted[file].insert(source_of_g[g]);
      }
    }
    std::vector<std::pair<const v1::FileRecord*, const absl::flat_hash_set<uint64_t>*>> files;
    for (const auto& [file, ids] : wanted) files.push_back({file, &ids});
    using Sets = std::vector<std::pair<uint64_t, std::vector<uint64_t>>>;
    using FileSets = std::pair<absl::Status, Sets>;
    absl::flat_hash_map<uint64_t, std::vector<uint64_t>> shingles;
    auto make_worker = [&] {
      CorpusFileReaderOptions reader_options;
      reader_options.text_field = catalog_->meta().text_field();
      return [&, reader = std::make_shared<CorpusFileReader>(reader_options),
              hasher = std::make_shared<MinHasher>(options_.minhash)](size_t i) {
        FileSets out;
        out.first = ReadIndexedDocuments(
            *catalog_, *files[i].first, *reader,
            [&](uint64_t id, const v1::DocRecord&) { return files[i].second->contains(id); },
            [&](uint64_t id, std::string_view text) {
              out.second.emplace_back(id, std::vector<uint64_t>());
              hasher->ShingleSet(text, &out.second.back().second);
              return true;
            });
        return out;
      };
    };
    RETURN_IF_ERROR(RunOrdered<FileSets>(files.size(), options_.jobs, make_worker,
                                         [&](size_t, FileSets result) -> absl::Status {
                                           RETURN_IF_ERROR(result.first);
                                           for (auto& [id, set] : result.second)
                                             shingles[id] = std::move(set);
                                           return absl::OkStatus();
                                         }));
    verified_docs = shingles.size();
    std::vector<double> exact;
    exact.reserve(pairs.size());
    for (const auto& [a, b] : pairs) {
      auto x = shingles.find(source_of_g[a]), y = shingles.find(source_of_g[b]);
      if (x == shingles.end() || y == shingles.end()) {
        return absl::FailedPreconditionError("a corpus file changed during dedup; run it again");
      }
      exact.push_back(ExactJaccard(x->second, y->second));
    }
    return exact;
  };
  ClusteringOptions cluster_options;
  cluster_options.threshold = options_.threshold;
  cluster_options.verify_margin = options_.verify_margin;
  cluster_options.bands = bands;
  cluster_options.memory_bytes = options_.memory_bytes;
  cluster_options.progress = [&](uint32_t done) { bands_done_.store(done); };
  ASSIGN_OR_RETURN(Clustering clustering, ClusterNearDuplicates(input, cluster_options));
  summary->passes = clustering.passes;

  // The record and the near duplicates.
  v1::NearDedupRecord record;
  record.set_algorithm_version(kNearDedupAlgorithmVersion);
  record.set_permutations(permutations);
  record.set_ngram(options_.minhash.ngram);
  record.set_seed(options_.minhash.seed);
  record.set_threshold(options_.threshold);
  record.set_bands(bands.bands);
  record.set_rows(bands.rows);
  record.set_dataset_version_hi(catalog_->version().hi);
  record.set_dataset_version_lo(catalog_->version().lo);
  record.set_candidate_pairs(clustering.candidate_pairs);
  record.set_joined_pairs(clustering.joined_pairs);
  record.set_verified_pairs(clustering.verified_pairs);
  record.set_verified_docs(verified_docs);
  record.set_verify_margin(cluster_options.verify_margin);
  const std::vector<uint32_t>& root = clustering.root;
  std::vector<uint32_t> size(root.size(), 0);
  std::vector<uint64_t> bytes(root.size(), 0);
  for (uint32_t g = 0; g < root.size(); ++g) {
    ++size[root[g]];
    if (root[g] != g) bytes[root[g]] += bytes_of_g[g];
  }
  record.set_signed_docs(signed_docs);

  std::vector<uint32_t> roots;
  for (uint32_t g = 0; g < root.size(); ++g) {
    if (root[g] == g && size[g] >= 2) roots.push_back(g);
  }
  record.set_near_duplicate_clusters(roots.size());
  const size_t top = std::min(kLargestClusters, roots.size());
  std::partial_sort(roots.begin(), roots.begin() + top, roots.end(), [&](uint32_t a, uint32_t b) {
    return size[a] != size[b] ? size[a] > size[b] : a < b;
  });
  roots.resize(top);
  absl::flat_hash_map<uint32_t, v1::NearDedupCluster*> largest;  // by root
  for (uint32_t r : roots) {
    v1::NearDedupCluster* c = record.add_largest_clusters();
    largest[r] = c;
    c->set_representative(doc_of_g[r]);
    c->set_size(size[r]);
    c->set_bytes(bytes[r]);
  }

  RETURN_IF_ERROR(store.BeginClustering());
  std::vector<std::pair<uint64_t, v1::NearDuplicate>> chunk;
  std::vector<uint16_t> a, b;
  uint64_t near_docs = 0, near_bytes = 0;
  for (uint32_t g = 0; g < root.size(); ++g) {
    const uint32_t r = root[g];
    if (r == g) continue;
    ++near_docs;
    near_bytes += bytes_of_g[g];
    RETURN_IF_ERROR(input.read(g, &a));
    RETURN_IF_ERROR(input.read(r, &b));
    v1::NearDuplicate dup;
    dup.set_representative(doc_of_g[r]);
    dup.set_jaccard(static_cast<float>(EstimatedJaccard(a.data(), b.data(), permutations)));
    chunk.emplace_back(doc_of_g[g], dup);
    auto c = largest.find(r);
    if (c != largest.end() && c->second->members_size() < static_cast<int>(kClusterMembersKept)) {
      c->second->add_members(doc_of_g[g]);
    }
    if (chunk.size() >= kWriteChunk) {
      RETURN_IF_ERROR(store.PutNearDuplicates(chunk));
      chunk.clear();
    }
  }
  RETURN_IF_ERROR(store.PutNearDuplicates(chunk));
  record.set_near_duplicate_docs(near_docs);
  record.set_near_duplicate_bytes(near_bytes);
  RETURN_IF_ERROR(store.FinishClustering(record));
  summary->record = std::move(record);
  return absl::OkStatus();
}

absl::StatusOr<NearDedupSummary> NearDedupJob::Run() {
  RETURN_IF_ERROR(options_.Validate());
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(catalog_->RequireIndexed());
  NearDedupSummary summary;
  RETURN_IF_ERROR(Sign(&summary));
  summary.sign_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!summary.failed.empty()) {
    summary.seconds = summary.sign_seconds;
    return summary;
  }
  clustering_.store(true);
  const absl::Time cluster_start = absl::Now();
  NearDupStore store(catalog_);
  ASSIGN_OR_RETURN(std::optional<v1::NearDedupRecord> previous, store.Record());
  // Nothing changed since a complete clustering with these parameters: it stands.
  const bool unchanged =
      previous.has_value() && summary.files_signed == 0 && summary.files_dropped == 0 &&
      previous->algorithm_version() == kNearDedupAlgorithmVersion &&
      previous->permutations() == options_.minhash.permutations &&
      previous->ngram() == options_.minhash.ngram && previous->seed() == options_.minhash.seed &&
      previous->threshold() == options_.threshold &&
      previous->verify_margin() == options_.verify_margin &&
      Hash128{previous->dataset_version_hi(), previous->dataset_version_lo()} ==
          catalog_->version();
  if (unchanged) {
    summary.record = *previous;
  } else {
    RETURN_IF_ERROR(Cluster(&summary));
  }
  RETURN_IF_ERROR(catalog_->Flush());
  summary.cluster_seconds = absl::ToDoubleSeconds(absl::Now() - cluster_start);
  summary.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return summary;
}

}  // namespace shardstream
