#include "common/decoded_stream.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_FRAMEHEADERSIZE_MAX
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {
namespace {

constexpr size_t kRawChunkBytes = 1 << 20;

absl::Status ErrnoStatus(int err, const std::string& what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

// Input buffer shared by the compressed formats.
class ChunkBuffer {
 public:
  ChunkBuffer() : data_(kRawChunkBytes) {}
  // Refills when empty. Returns false at end of file.
  absl::StatusOr<bool> Refill(RawFile& raw) {
    if (pos_ < len_) return true;
    ASSIGN_OR_RETURN(size_t n, raw.Read(data_.data(), data_.size()));
    pos_ = 0;
    len_ = n;
    return n > 0;
  }
  uint8_t* begin() { return data_.data() + pos_; }
  size_t size() const { return len_ - pos_; }
  void Consume(size_t n) { pos_ += n; }

 private:
  std::vector<uint8_t> data_;
  size_t pos_ = 0;
  size_t len_ = 0;
};

class PlainStream final : public DecodedStream {
 public:
  using DecodedStream::DecodedStream;
  absl::StatusOr<size_t> Read(char* out, size_t n) override {
    return raw_->Read(reinterpret_cast<uint8_t*>(out), n);
  }
};

const char* IsalErrorName(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid lookback distance";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header or trailer";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "CRC-32 mismatch";
    default:
      return "inflate error";
  }
}

// gzip through ISA-L's inflate (several times zlib's speed). Handles multi-member files, and
// zero bytes after the last member (block padding some writers add).
class GzipStream final : public DecodedStream {
 public:
  explicit GzipStream(std::unique_ptr<RawFile> raw) : DecodedStream(std::move(raw)) {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
    settled_ = 0;
  }

  absl::StatusOr<size_t> Read(char* out, size_t n) override {
    if (!pending_error_.ok()) return pending_error_;
    while (true) {
      if (member_finished_) {
        // The previous member ended; anything after it must be another member, or padding.
        ASSIGN_OR_RETURN(bool more, SkipZeroPadding());
        if (!more) return 0;
        isal_inflate_reset(&state_);
        state_.crc_flag = ISAL_GZIP;
        member_finished_ = false;
        member_start_ = decoded_;
        settled_ = member_start_;
        ++members_;
      }
      ASSIGN_OR_RETURN(bool more, in_.Refill(*raw_));
      if (!more && raw_->bytes_read() == 0) return 0;  // an empty file holds no member
      state_.next_in = in_.begin();
      state_.avail_in = static_cast<uint32_t>(in_.size());
      n = std::min<size_t>(n, uint32_t{1} << 30);  // ISA-L counts in 32 bits
      state_.next_out = reinterpret_cast<uint8_t*>(out);
      state_.avail_out = static_cast<uint32_t>(n);
      int ret = isal_inflate(&state_);
      in_.Consume(in_.size() - state_.avail_in);
      size_t produced = n - state_.avail_out;
      decoded_ += produced;
      if (ret < 0) {
        // Nothing checked what this member decoded so far: damaged deflate data can decode to
        // plausible text before the decoder (or the CRC at the member's end) notices.
        unverified_from_ = member_start_;
        pending_error_ = absl::DataLossError(
            absl::StrCat("corrupt gzip data (", IsalErrorName(ret), ") in member ", members_ + 1,
                         " near compressed byte ", raw_->bytes_read() - in_.size()));
        // Hand out what was decoded before the damage first; the error comes next call.
        if (produced > 0) return produced;
        return pending_error_;
      }
      if (state_.block_state == ISAL_BLOCK_FINISH) member_finished_ = true;
      if (produced > 0) return produced;
      if (member_finished_) continue;
      if (!more) {
        return absl::DataLossError(absl::StrCat("truncated gzip data: the file ends inside member ",
                                                members_ + 1, " after ", raw_->bytes_read(),
                                                " compressed bytes"));
      }
    }
  }

 private:
  // Skips zero bytes after a member. False at the end of the file (nothing but zeros followed).
  absl::StatusOr<bool> SkipZeroPadding() {
    while (true) {
      ASSIGN_OR_RETURN(bool more, in_.Refill(*raw_));
      if (!more) return false;
      const uint8_t* p = in_.begin();
      size_t zeros = 0;
      while (zeros < in_.size() && p[zeros] == 0) ++zeros;
      in_.Consume(zeros);
      if (in_.size() > 0) return true;
    }
  }

  inflate_state state_;
  ChunkBuffer in_;
  bool member_finished_ = false;
  int members_ = 0;
  uint64_t member_start_ = 0;   // decoded offset where the current member began
  absl::Status pending_error_;  // a decode error to report after the bytes before it
};

// zstd, any number of frames. Windows up to 2 GiB (`zstd --long=31`) are accepted: the memory
// a frame needs is what its writer chose (at most its window, and never more than its size).
class ZstdStream final : public DecodedStream {
 public:
  explicit ZstdStream(std::unique_ptr<RawFile> raw)
      : DecodedStream(std::move(raw)), dctx_(ZSTD_createDCtx()) {
    ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX);
  }
  ~ZstdStream() override { ZSTD_freeDCtx(dctx_); }

  absl::StatusOr<size_t> Read(char* out, size_t n) override {
    if (!pending_error_.ok()) return pending_error_;
    while (true) {
      ASSIGN_OR_RETURN(bool more, in_.Refill(*raw_));
      if (!more && !frame_open_) return 0;  // between frames (or an empty file): a clean end
      if (!frame_open_) settled_ = frame_start_ = decoded_;
      // At most the input the next block needs (the decoder's hint): a call then decodes at
      // most one block, so a corrupt block loses no output of the blocks before it (zstd does
      // not report the output of a call that fails).
      ZSTD_inBuffer input{in_.begin(), std::min(in_.size(), next_input_), 0};
      ZSTD_outBuffer output{out, n, 0};
      size_t ret = ZSTD_decompressStream(dctx_, &output, &input);
      in_.Consume(input.pos);
      decoded_ += output.pos;
      if (ZSTD_isError(ret)) {
        if (ZSTD_getErrorCode(ret) == ZSTD_error_checksum_wrong) unverified_from_ = frame_start_;
        pending_error_ = absl::DataLossError(
            absl::StrCat("corrupt zstd data (", ZSTD_getErrorName(ret), ") near compressed byte ",
                         raw_->bytes_read() - in_.size()));
        if (output.pos > 0) return output.pos;
        return pending_error_;
      }
      // ret == 0: a frame just ended and was fully flushed.
      frame_open_ = ret != 0;
      if (!frame_open_) settled_ = kNone;  // the frame's checksum (if any) passed
      next_input_ = ret == 0 ? ZSTD_FRAMEHEADERSIZE_MAX : ret;
      if (output.pos > 0) return output.pos;
      if (!more) {
        return absl::DataLossError(absl::StrCat("truncated zstd data: the file ends inside a ",
                                                "frame after ", raw_->bytes_read(),
                                                " compressed bytes"));
      }
    }
  }

 private:
  ZSTD_DCtx* const dctx_;
  ChunkBuffer in_;
  bool frame_open_ = false;
  size_t next_input_ = ZSTD_FRAMEHEADERSIZE_MAX;
  uint64_t frame_start_ = 0;    // decoded offset where the current frame began
  absl::Status pending_error_;  // a decode error to report after the bytes before it
};

}  // namespace

absl::StatusOr<std::unique_ptr<RawFile>> RawFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<RawFile>(new RawFile(path, fd));
}

RawFile::~RawFile() { ::close(fd_); }

absl::StatusOr<size_t> RawFile::Read(uint8_t* out, size_t n) {
  while (true) {
    ssize_t got = ::read(fd_, out, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("cannot read ", path_));
    }
    hasher_.Update(std::string_view(reinterpret_cast<const char*>(out), got));
    bytes_read_ += got;
    return static_cast<size_t>(got);
  }
}

absl::StatusOr<Hash128> RawFile::FinishChecksum() {
  std::vector<uint8_t> buf(kRawChunkBytes);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, Read(buf.data(), buf.size()));
    if (n == 0) break;
  }
  return hasher_.Digest();
}

absl::StatusOr<std::string> ReadFileContents(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<RawFile> file, RawFile::Open(path));
  std::string out;
  std::vector<uint8_t> buf(kRawChunkBytes);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, file->Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

absl::StatusOr<std::unique_ptr<DecodedStream>> DecodedStream::Open(const std::string& path,
                                                                   v1::Compression compression) {
  ASSIGN_OR_RETURN(std::unique_ptr<RawFile> raw, RawFile::Open(path));
  switch (compression) {
    case v1::COMPRESSION_NONE:
      return std::unique_ptr<DecodedStream>(new PlainStream(std::move(raw)));
    case v1::COMPRESSION_GZIP:
      return std::unique_ptr<DecodedStream>(new GzipStream(std::move(raw)));
    case v1::COMPRESSION_ZSTD:
      return std::unique_ptr<DecodedStream>(new ZstdStream(std::move(raw)));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown compression ", static_cast<int>(compression), " for ", path));
  }
}

}  // namespace shardstream
