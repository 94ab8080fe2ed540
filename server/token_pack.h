// Token packs: the token ids of one tokenized corpus file, flat on disk next to the catalog's
// RocksDB and read through a memory map, so that a document's tokens are an offset lookup and
// a copy out of the page cache (no index search, no block decompression), and the many small
// documents of a sequence cost a few cache misses each instead of a RocksDB lookup each.
//
// Layout (little-endian), written once and never changed:
//   payload   the packed ids of the file's documents in id order (token_bytes each)
//   offsets   num_docs + 1 × u64: where each document's ids start in the payload; the last is
//             the payload's size
//   footer    u64 first_doc_id, u64 num_docs, u32 token_bytes, u32 format (1),
//             u64 payload bytes, 8 bytes of magic "ssTokPk1"
// A pack is checked against its TokenizedFile record when opened (footer, size) and every
// document's range when read, so a damaged or foreign file is DATA_LOSS, never a bad read.
#ifndef SHARDSTREAM_SERVER_TOKEN_PACK_H_
#define SHARDSTREAM_SERVER_TOKEN_PACK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace shardstream {

// What a pack must hold, from its record.
struct TokenPackShape {
  uint64_t first_doc_id = 0;
  uint64_t num_docs = 0;
  uint32_t token_bytes = 2;
};

// Writes a pack to a temporary name beside `path`; Finish() syncs it and renames it to `path`.
// A writer destroyed before Finish() removes its temporary file. Not thread-safe.
class TokenPackWriter {
 public:
  // What the writer buffers before writing (besides 8 bytes per document of offsets).
  static constexpr size_t kBufferBytes = size_t{1} << 20;

  static absl::StatusOr<std::unique_ptr<TokenPackWriter>> Create(std::string path,
                                                                 const TokenPackShape& shape);
  ~TokenPackWriter();
  TokenPackWriter(const TokenPackWriter&) = delete;
  TokenPackWriter& operator=(const TokenPackWriter&) = delete;

  // Ids must ascend within the shape's range; a document not added has no tokens.
  // `packed`: shape.token_bytes per id.
  absl::Status Add(uint64_t doc_id, std::string_view packed);
  // Writes the offsets and footer, syncs, and renames the file to its path (then syncs the
  // directory): once it returns OK, the pack is on disk under its name.
  absl::Status Finish();

  const std::string& path() const { return path_; }

 private:
  TokenPackWriter(std::string path, const TokenPackShape& shape, int fd);
  absl::Status Write(std::string_view bytes);
  absl::Status FlushBuffer();

  const std::string path_, temp_path_;
  const TokenPackShape shape_;
  int fd_;
  std::vector<uint64_t> offsets_;  // of the documents added so far, and the payload's end
  uint64_t payload_bytes_ = 0;
  std::string buffer_;
  bool finished_ = false;
};

// How a pack is mapped. kHuge: 2 MiB-aligned and advised for transparent huge pages, so that
// the random reads of small documents take one TLB entry per 2 MiB, not per 4 KiB, once the
// kernel holds the file in 2 MiB folios; it then reads the file 2 MiB around each miss, so only for
// packs that fit in memory (TokenStore decides).
enum class PackPages { kSmall, kHuge };

// Thread-safe (immutable after Open).
class TokenPack {
 public:
  // Maps the pack at `path`; DATA_LOSS when it is not a pack of `shape`, NOT_FOUND when there
  // is no such file. Packs are shared: opening a path that is open already (in any plan of the
  // process) returns the same mapping, however `pages` asks for it.
  static absl::StatusOr<std::shared_ptr<const TokenPack>> Open(const std::string& path,
                                                               const TokenPackShape& shape,
                                                               PackPages pages = PackPages::kSmall);
  ~TokenPack();
  TokenPack(const TokenPack&) = delete;
  TokenPack& operator=(const TokenPack&) = delete;

  uint64_t first_doc_id() const { return shape_.first_doc_id; }
  uint64_t num_docs() const { return shape_.num_docs; }
  bool Holds(uint64_t doc_id) const {
    return doc_id >= shape_.first_doc_id && doc_id - shape_.first_doc_id < shape_.num_docs;
  }
  // The packed ids of a document of the pack (empty for one without tokens). DATA_LOSS when
  // its range is damaged.
  absl::StatusOr<std::string_view> Tokens(uint64_t doc_id) const;
  // Bytes of the file.
  size_t size() const { return size_; }
  // Whether it is mapped for huge pages (PackPages::kHuge, where the mapping could be made).
  bool huge_pages() const { return huge_pages_; }
  // The mapping's first byte.
  const char* data() const { return data_; }

 private:
  TokenPack(std::string path, const TokenPackShape& shape, const char* data, size_t size);

  const std::string path_;
  const TokenPackShape shape_;
  const char* const data_;  // the mapping
  const size_t size_;
  const char* offsets_ = nullptr;  // num_docs + 1 little-endian u64
  uint64_t payload_bytes_ = 0;
  bool huge_pages_ = false;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_TOKEN_PACK_H_
