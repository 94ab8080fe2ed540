#include "server/tokenize_job.h"

#include <deque>
#include <filesystem>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/corpus_file_reader.h"
#include "common/decoded_stream.h"
#include "common/ordered_parallel.h"
#include "common/status_macros.h"
#include "server/indexed_documents.h"
#include "server/job_memory.h"
#include "server/plan_column.h"
#include "server/token_pack.h"

namespace shardstream {
namespace {

// The token that ends a document when --eos is not given: the popular models' end-of-text
// tokens by name (GPT-2/Qwen, Llama 3, Gemma, Llama 2/Mistral, DeepSeek), else the first
// special added token that is not a begin, unknown or padding token.
std::optional<TokenId> DefaultEos(const Tokenizer& tokenizer) {
  for (const char* name :
       {"<|endoftext|>", "<|end_of_text|>", "<eos>", "</s>", "<｜end▁of▁sentence｜>"}) {
    if (std::optional<TokenId> id = tokenizer.AddedTokenId(name)) return id;
  }
  for (const AddedToken& a : tokenizer.added_tokens()) {
    const std::string& c = a.content;
    const bool not_an_end = c == "<s>" || c == "<unk>" || c == "<pad>" || c == "<bos>" ||
                            c.find("begin") != std::string::npos;
    if (a.special && !not_an_end) return a.id;
  }
  return std::nullopt;
}

std::string DefaultName(const std::string& path) {
  std::filesystem::path p(path);
  std::string stem = p.stem().string();
  if ((stem == "tokenizer" || stem == "vocab") && p.has_parent_path()) {
    std::string dir = std::filesystem::absolute(p).parent_path().filename().string();
    if (!dir.empty()) return dir;
  }
  return stem;
}

void AppendPacked(const std::vector<TokenId>& ids, uint32_t width, std::string* out) {
  out->resize(ids.size() * width);
  char* p = out->data();
  for (TokenId id : ids) {
    for (uint32_t b = 0; b < width; ++b) *p++ = static_cast<char>(id >> (8 * b));
  }
}

// A batch of texts is handed over once it holds this many bytes; at most kQueuedBytes wait
// (or one batch, however large). With the batch being filled and the one being encoded, the
// hand-over holds at most 4 MiB of small documents, or three times the longest document.
constexpr size_t kBatchBytes = kMiB;
constexpr size_t kQueuedBytes = 2 * kMiB;

// Batches of document texts from a file's reader thread to its encoder, at most `max_bytes`
// waiting (or one batch). Thread-safe.
class DocQueue {
 public:
  struct Batch {
    std::vector<std::string> texts;
    size_t bytes = 0;
  };

  explicit DocQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Blocks while the queue is full; drops the batch after Cancel().
  void Push(Batch batch) {
    absl::MutexLock lock(&mu_);
    while (!cancelled_ && !batches_.empty() && queued_bytes_ + batch.bytes > max_bytes_) {
      cv_.Wait(&mu_);
    }
    if (!cancelled_ && !batch.texts.empty()) {
      queued_bytes_ += batch.bytes;
      batches_.push_back(std::move(batch));
    }
    cv_.SignalAll();
  }
  // No more Push() calls.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    cv_.SignalAll();
  }
  // The consumer gives up: the producer should stop.
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    batches_.clear();
    queued_bytes_ = 0;
    cv_.SignalAll();
  }
  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  // The next batch; false once closed and drained (or cancelled).
  bool Pop(Batch* batch) {
    absl::MutexLock lock(&mu_);
    while (batches_.empty() && !closed_ && !cancelled_) cv_.Wait(&mu_);
    if (batches_.empty() || cancelled_) return false;
    *batch = std::move(batches_.front());
    batches_.pop_front();
    queued_bytes_ -= batch->bytes;
    cv_.SignalAll();
    return true;
  }

 private:
  const size_t max_bytes_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Batch> batches_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::Status TokenizeOptions::Validate() const {
  if (tokenizer_path.empty()) return absl::InvalidArgumentError("--tokenizer is required");
  if (jobs < 1 || jobs > 256) {
    return absl::InvalidArgumentError(absl::StrCat("--jobs must be in [1, 256], got ", jobs));
  }
  return absl::OkStatus();
}

CatalogOptions TokenizeOptions::CatalogMemory() const {
  return CatalogMemoryOf(memory_bytes > 0 ? memory_bytes : kDefaultJobMemoryBytes);
}

size_t TokenizeOptions::WorkerBytes() {
  // The parser's buffers for lines up to what it keeps between files; the hand-over of small
  // documents (kBatchBytes filling, kQueuedBytes waiting, one batch being encoded) and their
  // ids and packed tokens; the encoder's cache.
  return ReaderMemoryBytes(CorpusFileReader::kKeptLineBytes) + 2 * kBatchBytes + kQueuedBytes +
         8 * kBatchBytes + Encoder::kMaxCacheBytes;
}

size_t TokenizeOptions::FileBytes(const v1::FileRecord& file) {
  const uint64_t limit = file.max_line_bytes() > 0 ? file.max_line_bytes() : kDefaultMaxLineBytes;
  bool skipped_long_lines = false;  // the line buffer grew to the limit before giving up
  for (const v1::BadLineCount& bad : file.bad_lines()) {
    skipped_long_lines |= bad.kind() == v1::BAD_LINE_TOO_LONG;
  }
  // Records from before the longest line and document were kept: as long as the file allows.
  const bool known = file.longest_line_bytes() > 0 || file.num_docs() == 0;
  uint64_t line = known ? file.longest_line_bytes() : std::min(limit, file.decoded_bytes());
  if (skipped_long_lines) line = limit;
  const uint64_t doc = known ? file.longest_doc_bytes() : std::min(line, file.text_bytes());
  return ReaderMemoryBytes(line) + kEncodeBytesPerTextByte * doc + TokenPackWriter::kBufferBytes +
         kRecordBytesPerDoc * file.num_docs();
}

absl::Status TokenizeJob::CheckBudget(const std::vector<const v1::FileRecord*>& work, size_t jobs,
                                      size_t* budget) const {
  const v1::FileRecord* largest = nullptr;
  size_t largest_bytes = 0;
  for (const v1::FileRecord* file : work) {
    if (const size_t bytes = TokenizeOptions::FileBytes(*file); bytes > largest_bytes) {
      largest = file;
      largest_bytes = bytes;
    }
  }
  // The workers and the largest file.
  const size_t workers = jobs * TokenizeOptions::WorkerBytes();
  const size_t least = BudgetForJobShare(workers + largest_bytes);
  *budget =
      options_.memory_bytes > 0 ? options_.memory_bytes : std::max(kDefaultJobMemoryBytes, least);
  if (*budget >= least || largest == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--memory-mib ", *budget / kMiB, " cannot hold ", jobs, " job(s) (",
                   TokenizeOptions::WorkerBytes() / kMiB, " MiB each) and the file ",
                   largest->path(), " (its longest line is ", largest->longest_line_bytes() / kMiB,
                   " MiB, its longest document ", largest->longest_doc_bytes() / kMiB,
                   " MiB: ", largest_bytes / kMiB, " MiB to tokenize): give at least --memory-mib ",
                   least / kMiB, jobs > 1 ? ", or fewer --jobs" : ""));
}

struct TokenizeJob::FileTokens {
  MemoryGate::Grant memory;  // FileBytes() of the file, held until it is committed
  absl::Status status;  // not OK: the file could not be tokenized (reason in the message)
  v1::TokenizedFile record;
  std::unique_ptr<TokenFileWriter> tokens;  // finished when status is OK
  uint64_t text_bytes = 0;
};

TokenizeJob::TokenizeJob(Catalog* catalog, TokenizeOptions options)
    : catalog_(catalog), options_(std::move(options)) {}

TokenizeProgress TokenizeJob::progress() const {
  return {files_total_.load(), files_done_.load(), docs_.load(), text_bytes_.load()};
}

TokenizeJob::FileTokens TokenizeJob::TokenizeFile(const v1::FileRecord& file,
                                                  const v1::TokenizerRecord& record,
                                                  CorpusFileReader& reader, Encoder& encoder) {
  FileTokens out;
  absl::StatusOr<std::unique_ptr<TokenFileWriter>> writer =
      TokenStore(catalog_).NewFileWriter(record, file);
  if (!writer.ok()) {
    out.status = writer.status();
    return out;
  }
  out.tokens = *std::move(writer);
  // Two stages: a reader thread decompresses, parses and checks documents against the catalog;
  // this thread encodes them and writes the token pack.
  DocQueue queue(kQueuedBytes);
  absl::Status read_status;  // written by the reader, read after it joined
  PlanColumnBuilder column;  // likewise
  std::thread read_thread([&] {
    DocQueue::Batch batch;
    read_status = ReadIndexedDocuments(
        *catalog_, file, reader,
        [&column](uint64_t, const v1::DocRecord& doc) {
          column.Add(doc);
          return true;
        },
        [&](uint64_t, std::string_view text) {
          if (queue.cancelled()) return false;
          batch.texts.emplace_back(text);
          batch.bytes += text.size();
          if (batch.bytes >= kBatchBytes) {
            queue.Push(std::move(batch));
            batch = DocQueue::Batch();
          }
          return true;
        });
    queue.Push(std::move(batch));
    queue.Close();
  });
  uint64_t doc_index = 0;
  std::vector<TokenId> ids;
  std::string packed;
  absl::Status write_status;
  for (DocQueue::Batch batch; queue.Pop(&batch);) {
    for (const std::string& text : batch.texts) {
      ids.clear();
      // Documents in the catalog are valid UTF-8 (the index checked), so this cannot fail.
      write_status.Update(encoder.EncodeTo(text, EncodeMode::kOrdinary, &ids));
      AppendPacked(ids, record.token_bytes(), &packed);
      if (write_status.ok())
        write_status.Update(out.tokens->Add(file.first_doc_id() + doc_index, packed));
      if (!write_status.ok()) break;
      out.record.add_token_counts(static_cast<uint32_t>(ids.size()));
      out.record.set_tokens(out.record.tokens() + ids.size());
      out.text_bytes += text.size();
      ++doc_index;
      docs_.fetch_add(1, std::memory_order_relaxed);
      text_bytes_.fetch_add(text.size(), std::memory_order_relaxed);
    }
    if (!write_status.ok()) queue.Cancel();
  }
  read_thread.join();
  out.status = !write_status.ok() ? write_status : read_status;
  if (out.status.ok() && doc_index != file.num_docs()) {
    out.status = absl::InternalError("the reader stopped before the end of the file");
  }
  if (out.status.ok()) out.status = out.tokens->Finish();
  if (!out.status.ok()) return out;
  column.MoveInto(&out.record);
  out.record.set_file_id(file.file_id());
  out.record.set_first_doc_id(file.first_doc_id());
  out.record.set_num_docs(file.num_docs());
  out.record.set_digest_hi(file.digest_hi());
  out.record.set_digest_lo(file.digest_lo());
  return out;
}

absl::Status TokenizeJob::AddPlanColumn(TokenStore& store, const Hash128& tokenizer,
                                        uint32_t file_id) {
  ASSIGN_OR_RETURN(v1::TokenizedFile record, store.GetTokenizedFile(tokenizer, file_id));
  PlanColumnBuilder column;
  std::unique_ptr<Catalog::DocCursor> docs =
      catalog_->NewDocCursor(record.first_doc_id(), record.first_doc_id() + record.num_docs());
  uint64_t id;
  v1::DocRecord doc;
  while (true) {
    ASSIGN_OR_RETURN(bool more, docs->Next(&id, &doc));
    if (!more) break;
    column.Add(doc);
  }
  column.MoveInto(&record);
  return store.PutTokenizedFile(tokenizer, record);
}

absl::StatusOr<TokenizeSummary> TokenizeJob::Run() {
  RETURN_IF_ERROR(options_.Validate());
  const absl::Time start = absl::Now();
  // A catalog holding only some partitions and none of their files still gets the tokenizer,
  // so it answers for its (empty) partitions.
  RETURN_IF_ERROR(catalog_->RequireIndexed());
  // The tokenizer, and its record (created on first use).
  v1::TokenizerRecord record;
  ASSIGN_OR_RETURN(std::string definition, ReadFileContents(options_.tokenizer_path));
  std::string merges;
  if (!options_.merges_path.empty()) {
    ASSIGN_OR_RETURN(merges, ReadFileContents(options_.merges_path));
  }
  absl::StatusOr<std::unique_ptr<Tokenizer>> loaded =
      merges.empty() ? Tokenizer::FromJson(definition)
                     : Tokenizer::FromVocabAndMergesText(definition, merges);
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat(options_.tokenizer_path, ": ", loaded.status().message()));
  }
  const Tokenizer& tokenizer = **loaded;
  std::optional<TokenId> eos;
  if (!options_.eos.empty()) {
    eos = tokenizer.AddedTokenId(options_.eos);
    if (!eos.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--eos \"", options_.eos, "\" is not an added token of the tokenizer"));
    }
  } else {
    eos = DefaultEos(tokenizer);
    if (!eos.has_value()) {
      return absl::InvalidArgumentError(
          "the tokenizer has no <|endoftext|> or other special token to separate documents; "
          "add one to added_tokens and pass --eos");
    }
  }
  TokenStore store(catalog_);
  const std::string name =
      options_.name.empty() ? DefaultName(options_.tokenizer_path) : options_.name;
  ASSIGN_OR_RETURN(std::vector<v1::TokenizerRecord> existing, store.ListTokenizers());
  bool found = false;
  for (const v1::TokenizerRecord& r : existing) {
    if (FingerprintOf(r) == tokenizer.fingerprint()) {
      record = r;
      found = true;
    } else if (r.name() == name) {
      return absl::FailedPreconditionError(
          absl::StrCat("the name \"", name, "\" is taken by another tokenizer (",
                       FingerprintOf(r).ToHex().substr(0, 8), "); choose another with --name"));
    }
  }
  if (!found) {
    record.set_name(name);
    record.set_fingerprint_hi(tokenizer.fingerprint().hi);
    record.set_fingerprint_lo(tokenizer.fingerprint().lo);
    record.set_definition(definition);
    record.set_merges_txt(merges);
    record.set_vocab_size(static_cast<uint32_t>(tokenizer.vocab_size()));
    record.set_eos_id(*eos);
    record.set_token_bytes(tokenizer.vocab_size() <= 65536 ? 2 : 4);
    record.set_description(tokenizer.Describe());
    RETURN_IF_ERROR(store.PutTokenizer(record));
  } else if (record.eos_id() != *eos && !options_.eos.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tokenizer \"", record.name(), "\" was tokenized with EOS id ",
                     record.eos_id(), "; its EOS cannot change (the packing depends on it)"));
  }
  const Hash128 fp = tokenizer.fingerprint();

  // What to do: drop what no longer matches the catalog, tokenize what is missing — in catalog
  // order (files by id, whose document ids ascend with them), so that an interrupted run has
  // tokenized a prefix.
  TokenizeSummary summary;
  std::vector<uint32_t> without_column;
  ASSIGN_OR_RETURN(auto done, store.TokenizedFiles(fp, /*heads_only=*/true, &without_column));
  const absl::flat_hash_set<uint32_t> columnless(without_column.begin(), without_column.end());
  std::vector<const v1::FileRecord*> work;
  std::vector<const v1::TokenizedFile*> replaces;
  for (const auto& [id, file] : catalog_->files()) {
    auto it = done.find(id);
    // A pack deleted by hand makes its file stale, so that the next run writes it again.
    const bool current =
        it != done.end() && IsCurrent(it->second, file) &&
        std::filesystem::exists(store.PackPath(fp, it->second.token_pack()));
    if (current || file.num_docs() == 0) {
      if (current) ++summary.files_unchanged;
      if (current && columnless.contains(id)) {
        // Tokenized before plan columns (or with other cleaning rules): add the column from
        // the file's records; the tokens stay.
        RETURN_IF_ERROR(AddPlanColumn(store, fp, id));
        ++summary.plan_columns_added;
      }
      continue;
    }
    work.push_back(&file);
    replaces.push_back(it == done.end() ? nullptr : &it->second);
  }
  for (const auto& [id, tokenized] : done) {
    if (catalog_->files().count(id) == 0) {
      RETURN_IF_ERROR(store.DropFile(fp, tokenized));
      ++summary.files_dropped;
    }
  }
  RETURN_IF_ERROR(store.RemoveLeftovers(fp, done));
  files_total_.store(work.size());
  // The files' memory, in file order (each worker asks with its file's index as the turn).
  const size_t jobs = std::clamp<size_t>(options_.jobs, 1, std::max<size_t>(work.size(), 1));
  size_t budget = 0;
  RETURN_IF_ERROR(CheckBudget(work, jobs, &budget));
  MemoryGate files_memory(JobShareOf(budget) - jobs * TokenizeOptions::WorkerBytes());
  summary.setup_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  auto make_worker = [&] {
    CorpusFileReaderOptions reader_options;
    reader_options.text_field = catalog_->meta().text_field();
    return [&, reader = std::make_shared<CorpusFileReader>(reader_options),
            encoder = std::make_shared<Encoder>(&tokenizer)](size_t i) {
      MemoryGate::Grant memory = files_memory.Acquire(TokenizeOptions::FileBytes(*work[i]), i);
      FileTokens tokens = TokenizeFile(*work[i], record, *reader, *encoder);
      tokens.memory = std::move(memory);
      return tokens;
    };
  };
  RETURN_IF_ERROR(RunOrdered<FileTokens>(
      work.size(), static_cast<int>(jobs), make_worker,
      [&](size_t i, FileTokens tokens) -> absl::Status {
        files_done_.store(i + 1);
        if (!tokens.status.ok()) {
          summary.failed.push_back(
              {std::string(work[i]->path()), std::string(tokens.status.message())});
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(store.CommitFile(fp, tokens.record, *tokens.tokens, replaces[i]));
        ++summary.files_tokenized;
        summary.docs += tokens.record.num_docs();
        summary.tokens += tokens.record.tokens();
        summary.text_bytes += tokens.text_bytes;
        return absl::OkStatus();
      }));
  const absl::Time flush_start = absl::Now();
  RETURN_IF_ERROR(catalog_->Flush());
  summary.flush_seconds = absl::ToDoubleSeconds(absl::Now() - flush_start);
  summary.tokenizer = record;
  ASSIGN_OR_RETURN(summary.status, store.Status(record));
  summary.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return summary;
}

}  // namespace shardstream
