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
  int jobs = 1;  // files encoded in parallel; memory: 2 × jobs files' tokens
  absl::Status Validate() const;
};

struct TokenizeSummary {
  v1::TokenizerRecord tokenizer;
  uint64_t files_tokenized = 0;
  uint64_t files_unchanged = 0;  // already tokenized with the current content
  uint64_t files_dropped = 0;    // tokens of files no longer in the catalog
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

  Catalog* const catalog_;
  const TokenizeOptions options_;
  std::atomic<uint64_t> files_total_{0}, files_done_{0}, docs_{0}, text_bytes_{0};
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_TOKENIZE_JOB_H_
