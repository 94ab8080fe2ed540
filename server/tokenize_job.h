// `shardstream tokenize`: fills the token store of one tokenizer from the indexed corpus.
//
// Each corpus file is read once, sequentially, through the same reader as the index; every
// document is checked against its catalog record (line number and content hash) before its
// tokens are stored, so tokens always belong to exactly the indexed text. Files are encoded in
// parallel and committed file by file in catalog order: an interrupted run
// resumes where it stopped and ends with the same store as an uninterrupted one. Files whose
// tokens match the catalog are skipped (incremental after `index` adds files); tokens of files
// that changed or left the catalog are dropped.
#ifndef SHARDSTREAM_SERVER_TOKENIZE_JOB_H_
#define SHARDSTREAM_SERVER_TOKENIZE_JOB_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/catalog.h"
#include "server/index_job.h"  // FileProblem
#include "server/token_store.h"

namespace shardstream {

struct TokenizeOptions {
  std::string tokenizer_path;  // tokenizer.json, or GPT-2 vocab.json with merges_path
  std::string merges_path;     // merges.txt; empty for tokenizer.json
  // Friendly name; default: the tokenizer file's name without extension (or its directory's
  // name for tokenizer.json / vocab.json).
  std::string name;
  // The token appended after every document when packing. Default: "<|endoftext|>" if the
  // tokenizer has it, else its first special added token.
  std::string eos;
  int jobs = 1;  // files encoded in parallel
  // What the job may hold, whatever the shape of the files (server/job_memory.h): RocksDB's
  // part (CatalogMemory()), each job's fixed part (WorkerBytes()), and per file being read,
  // waiting or being committed its FileBytes(), handed out in file order. A file's bytes follow
  // from its longest line and document, which the index recorded. 0: 1 GiB, or what the
  // largest file and the jobs need when that is more. Run() refuses a budget that cannot hold
  // the largest file and says how much it needs.
  size_t memory_bytes = 0;

  // The catalog options that keep RocksDB's part within memory_bytes (or 1 GiB for 0).
  CatalogOptions CatalogMemory() const;
  // Every job's own memory, whatever its files: the hand-over of texts between its reader and
  // encoder, the encoder's cache and scratch, and what its reader keeps between files.
  static size_t WorkerBytes();
  // What tokenizing `file` holds until it is committed: its reader's line, its longest
  // document in the hand-over, ids, packed tokens and the encoder's working set (measured: at
  // most 36 bytes per byte of one document, reader included, over 5 shapes × 3 tokenizers),
  // its record (token counts and plan column), and its pack writer's buffer and offsets.
  static size_t FileBytes(const v1::FileRecord& file);
  // The bytes per text byte of a document that FileBytes() reserves for encoding it.
  static constexpr size_t kEncodeBytesPerTextByte = 40;
  // A document's part of its file's TokenizedFile (4 bytes of count and 17 of plan column, and
  // their serialization) and its 8-byte offset in the pack being written.
  static constexpr size_t kRecordBytesPerDoc = 56;

  absl::Status Validate() const;
};

struct TokenizeSummary {
  v1::TokenizerRecord tokenizer;
  uint64_t files_tokenized = 0;
  uint64_t files_unchanged = 0;  // already tokenized with the current content
  uint64_t files_dropped = 0;    // tokens of files no longer in the catalog
  uint64_t plan_columns_added = 0;  // unchanged files given their plan column (plan_column.h)
  uint64_t docs = 0;             // documents tokenized by this run
  uint64_t text_bytes = 0;
  uint64_t tokens = 0;
  std::vector<FileProblem> failed;  // unreadable, or changed on disk since `index`
  TokenStoreStatus status;          // the store afterwards
  double seconds = 0;               // the whole run
  double setup_seconds = 0;         // of which loading the tokenizer and planning the work
  double flush_seconds = 0;         // of which the final flush of the store to SST files
};

struct TokenizeProgress {
  uint64_t files_total = 0, files_done = 0, docs = 0, text_bytes = 0;
};

class TokenizeJob {
 public:
  // `catalog` is borrowed, open for writing, for the job's lifetime.
  TokenizeJob(Catalog* catalog, TokenizeOptions options);
  absl::StatusOr<TokenizeSummary> Run();
  TokenizeProgress progress() const;  // thread-safe

 private:
  struct FileTokens;
  FileTokens TokenizeFile(const v1::FileRecord& file, const v1::TokenizerRecord& record,
                          class CorpusFileReader& reader, class Encoder& encoder);
  // Writes a tokenized file's record again with its plan column, from its DocRecords.
  absl::Status AddPlanColumn(TokenStore& store, const Hash128& tokenizer, uint32_t file_id);
  // INVALID_ARGUMENT when the budget cannot hold `jobs` workers and the largest of `work`.
  absl::Status CheckBudget(const std::vector<const v1::FileRecord*>& work, size_t jobs,
                           size_t* budget) const;

  Catalog* const catalog_;
  const TokenizeOptions options_;
  std::atomic<uint64_t> files_total_{0}, files_done_{0}, docs_{0}, text_bytes_{0};
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_TOKENIZE_JOB_H_
