#include "server/document_list.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/varint.h"

namespace shardstream {
namespace {

constexpr size_t kReadBlockBytes = size_t{1} << 20;

absl::Status OsError(const char* what, const std::string& dir) {
  return absl::InternalError(
      absl::StrCat(what, " a spill file in ", dir, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<bool> DocumentSource::NextSerialized(std::string_view* record) {
  ASSIGN_OR_RETURN(bool more, Next(&doc_));
  if (!more) return false;
  doc_.clear_file_id();  // the catalog's to set
  doc_.clear_duplicate_of();
  serialized_.clear();
  doc_.AppendToString(&serialized_);
  *record = serialized_;
  return true;
}

absl::StatusOr<bool> VectorDocumentSource::Next(v1::DocRecord* doc) {
  if (next_ >= docs_.size()) return false;
  *doc = docs_[next_++];
  return true;
}

DocumentList::DocumentList(std::string spill_dir, size_t memory_bytes)
    : spill_dir_(std::move(spill_dir)), memory_limit_(memory_bytes) {}

DocumentList::~DocumentList() {
  if (fd_ >= 0) close(fd_);
}

DocumentList::DocumentList(DocumentList&& other) noexcept { *this = std::move(other); }

DocumentList& DocumentList::operator=(DocumentList&& other) noexcept {
  if (this == &other) return *this;
  if (fd_ >= 0) close(fd_);
  spill_dir_ = std::move(other.spill_dir_);
  memory_limit_ = other.memory_limit_;
  fd_ = std::exchange(other.fd_, -1);
  spilled_bytes_ = std::exchange(other.spilled_bytes_, 0);
  memory_ = std::move(other.memory_);
  size_ = std::exchange(other.size_, 0);
  kept_ = std::exchange(other.kept_, UINT64_MAX);
  return *this;
}

absl::Status DocumentList::Append(const v1::DocRecord& doc) {
  // Sized once: AppendToString would compute the size again.
  const size_t bytes = doc.ByteSizeLong();
  AppendVarint(bytes, &memory_);
  const size_t at = memory_.size();
  memory_.resize(at + bytes);
  doc.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(memory_.data() + at));
  ++size_;
  if (memory_.size() >= memory_limit_) return Spill();
  return absl::OkStatus();
}

void DocumentList::KeepFirst(uint64_t n) { kept_ = n; }

absl::Status DocumentList::Spill() {
  if (fd_ < 0) {
    // An unnamed file where the system has O_TMPFILE, else a named one unlinked at once.
    fd_ = open(spill_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      std::string name = spill_dir_ + "/.shardstream-spill-XXXXXX";
      fd_ = mkostemp(name.data(), O_CLOEXEC);
      if (fd_ < 0) return OsError("cannot create", spill_dir_);
      unlink(name.c_str());
    }
  }
  for (size_t done = 0; done < memory_.size();) {
    const ssize_t n = pwrite(fd_, memory_.data() + done, memory_.size() - done,
                             static_cast<off_t>(spilled_bytes_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return OsError("cannot write", spill_dir_);
    done += static_cast<size_t>(n);
  }
  spilled_bytes_ += memory_.size();
  memory_.clear();
  return absl::OkStatus();
}

class DocumentList::Source : public DocumentSource {
 public:
  explicit Source(const DocumentList& list) : list_(list) {}

  absl::StatusOr<bool> Next(v1::DocRecord* doc) override {
    std::string_view record;
    ASSIGN_OR_RETURN(bool more, NextSerialized(&record));
    if (!more) return false;
    if (!doc->ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      return absl::DataLossError("a spilled document record does not parse");
    }
    return true;
  }

  absl::StatusOr<bool> NextSerialized(std::string_view* record) override {
    if (read_ >= list_.size_ || read_ >= list_.kept_) return false;
    // The next record from the spill file (refilling the block as needed), then from memory.
    while (true) {
      std::string_view rest = pending_;
      uint64_t length = 0;
      if (TakeVarint(&rest, &length) && rest.size() >= length) {
        *record = rest.substr(0, length);
        pending_ = rest.substr(length);
        ++read_;
        return true;
      }
      if (file_offset_ < list_.spilled_bytes_) {
        RETURN_IF_ERROR(Refill());
      } else if (!in_memory_ && pending_.empty()) {
        // The spill file's records are all read (none spans into memory: a spill writes
        // whole records); go on with those in memory.
        in_memory_ = true;
        pending_ = list_.memory_;
      } else {
        return absl::DataLossError("a document list ends inside a record");
      }
    }
  }

 private:
  absl::Status Refill() {
    // Keep the unread part of the block (a record cut by the block's end), then read more.
    std::string next(pending_);
    const size_t want = std::max(kReadBlockBytes, next.size() + kReadBlockBytes);
    const size_t keep = next.size();
    next.resize(keep + std::min<uint64_t>(want - keep, list_.spilled_bytes_ - file_offset_));
    for (size_t done = keep; done < next.size();) {
      const ssize_t n = pread(list_.fd_, next.data() + done, next.size() - done,
                              static_cast<off_t>(file_offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return OsError("cannot read", list_.spill_dir_);
      done += static_cast<size_t>(n);
      file_offset_ += static_cast<uint64_t>(n);
    }
    block_ = std::move(next);
    pending_ = block_;
    return absl::OkStatus();
  }

  const DocumentList& list_;
  std::string block_;
  std::string_view pending_;  // unread records of block_ or of list_.memory_
  uint64_t file_offset_ = 0;
  bool in_memory_ = false;
  uint64_t read_ = 0;
};

std::unique_ptr<DocumentSource> DocumentList::Read() const {
  return std::make_unique<Source>(*this);
}

}  // namespace shardstream
