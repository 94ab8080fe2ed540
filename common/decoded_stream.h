// Sequential reading of a corpus file's decompressed bytes (plain, gzip via ISA-L, zstd), with a
// checksum of the on-disk bytes computed on the way.
#ifndef SHARDSTREAM_COMMON_DECODED_STREAM_H_
#define SHARDSTREAM_COMMON_DECODED_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// Reads a file's raw bytes in large chunks and hashes every byte it hands out. Not thread-safe.
class RawFile {
 public:
  // NOT_FOUND / PERMISSION_DENIED / INTERNAL with the OS message when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<RawFile>> Open(const std::string& path);
  ~RawFile();
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;

  // Up to `n` bytes into `out`; 0 at end of file. The bytes are added to the checksum.
  absl::StatusOr<size_t> Read(uint8_t* out, size_t n);
  // Reads whatever is left (so the checksum covers the whole file) and returns the checksum of
  // all bytes and their count.
  absl::StatusOr<Hash128> FinishChecksum();
  uint64_t bytes_read() const { return bytes_read_; }
  const std::string& path() const { return path_; }

 private:
  RawFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
  uint64_t bytes_read_ = 0;
  Hasher128 hasher_;
};

// The whole content of a (small) file, such as a tokenizer definition. NOT_FOUND /
// PERMISSION_DENIED / INTERNAL with the OS message, as RawFile::Open and Read say.
absl::StatusOr<std::string> ReadFileContents(const std::string& path);

// The decompressed content of one corpus file. Not thread-safe.
class DecodedStream {
 public:
  static absl::StatusOr<std::unique_ptr<DecodedStream>> Open(const std::string& path,
                                                             v1::Compression compression);
  virtual ~DecodedStream() = default;

  // Reads up to `n` decoded bytes into `out`. Returns 0 only at a clean end of the stream.
  // DATA_LOSS when the stream is truncated or corrupt: every byte returned before it is a
  // correct prefix of the content (for gzip/zstd up to the integrity check at a member's end).
  // Other codes are I/O errors. After an error, do not call Read again.
  virtual absl::StatusOr<size_t> Read(char* out, size_t n) = 0;

  // After a DATA_LOSS error: the decoded offset from which the bytes handed out are suspect,
  // because the integrity check that covers them failed or will never run: the start of a gzip
  // member that turned out corrupt (deflate can decode damaged bytes into plausible text before
  // it fails), or of a zstd frame whose checksum is wrong. A truncated file, or a corrupt zstd
  // block, leaves everything handed out trusted (as `gzip -dc` / `zstd -dc` output it):
  // kNone.
  static constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t unverified_from() const { return unverified_from_; }
  // The decoded offset before which bytes can no longer turn unverified: the start of the
  // gzip member or zstd frame being decoded (everything handed out, for a plain file).
  uint64_t settled() const { return settled_ == kNone ? decoded_ : settled_; }

  RawFile& raw() { return *raw_; }

 protected:
  explicit DecodedStream(std::unique_ptr<RawFile> raw) : raw_(std::move(raw)) {}
  std::unique_ptr<RawFile> raw_;
  uint64_t decoded_ = 0;  // bytes handed out
  uint64_t unverified_from_ = kNone;
  uint64_t settled_ = kNone;  // kNone: all of decoded_
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_DECODED_STREAM_H_
