#include "common/line_reader.h"

#include <algorithm>
#include <cstring>

namespace shardstream {
namespace {
constexpr size_t kInitialBytes = 1 << 20;
constexpr size_t kReadBytes = 1 << 20;
}  // namespace

LineReader::LineReader(DecodedStream* stream, size_t max_line_bytes)
    : stream_(stream), max_line_bytes_(std::max<size_t>(max_line_bytes, 1)) {
  capacity_ = kInitialBytes;
  buffer_.reset(new char[capacity_ + kPaddingBytes]);
}

LineReader::~LineReader() = default;

void LineReader::Reserve(size_t min_free) {
  if (capacity_ - end_ >= min_free) return;
  size_t live = end_ - begin_;
  if (begin_ > 0 && capacity_ - live >= min_free && live <= capacity_ / 2) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, live);
  } else {
    size_t new_capacity = std::max(capacity_ * 2, live + min_free);
    std::unique_ptr<char[]> grown(new char[new_capacity + kPaddingBytes]);
    std::memcpy(grown.get(), buffer_.get() + begin_, live);
    buffer_ = std::move(grown);
    capacity_ = new_capacity;
  }
  scan_ -= begin_;
  end_ = live;
  begin_ = 0;
}

bool LineReader::Fill() {
  if (eof_) return false;
  Reserve(kReadBytes);
  absl::StatusOr<size_t> n = stream_->Read(buffer_.get() + end_, capacity_ - end_);
  if (!n.ok()) {
    status_ = n.status();
    eof_ = true;
    return false;
  }
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  end_ += *n;
  return true;
}

bool LineReader::Next(Line* line) {
  bool skipping = false;  // inside a line longer than max_line_bytes_
  while (true) {
    const char* base = buffer_.get();
    const void* nl = std::memchr(base + scan_, '\n', end_ - scan_);
    if (nl != nullptr) {
      size_t pos = static_cast<const char*>(nl) - base;
      size_t length = pos - begin_;
      ++line_number_;
      decoded_bytes_ += length + 1;
      line->number = line_number_;
      line->end = decoded_bytes_;
      line->too_long = skipping || length > max_line_bytes_;
      line->text = line->too_long ? std::string_view() : std::string_view(base + begin_, length);
      begin_ = scan_ = pos + 1;
      return true;
    }
    scan_ = end_;
    if (end_ - begin_ > max_line_bytes_) {
      // Drop what we have of the overlong line; keep only the fact that it is too long.
      decoded_bytes_ += end_ - begin_;
      begin_ = scan_ = end_;
      skipping = true;
    }
    if (!Fill()) {
      size_t tail = end_ - begin_;
      if (tail == 0 && !skipping) return false;
      if (!status_.ok()) {
        dropped_tail_bytes_ += tail;
        begin_ = scan_ = end_;
        return false;
      }
      // A last line without '\n' at a clean end of stream.
      ++line_number_;
      decoded_bytes_ += tail;
      line->number = line_number_;
      line->end = decoded_bytes_;
      line->too_long = skipping;
      // Fill() may have moved the buffer: address it afresh.
      line->text = skipping ? std::string_view() : std::string_view(buffer_.get() + begin_, tail);
      begin_ = scan_ = end_;
      return true;
    }
  }
}

}  // namespace shardstream
