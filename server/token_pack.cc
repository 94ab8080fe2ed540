#include "server/token_pack.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/huge_pages.h"

namespace shardstream {
namespace {

static_assert(std::endian::native == std::endian::little, "packs are read in place");

constexpr char kMagic[8] = {'s', 's', 'T', 'o', 'k', 'P', 'k', '1'};
constexpr uint32_t kFormat = 1;
constexpr size_t kFooterBytes = 8 + 8 + 4 + 4 + 8 + 8;

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
void Append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

absl::Status Errno(const char* what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

// Writes all of [data, data + size) to `fd`.
absl::Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectoryOf(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("sync directory", dir);
}

// The packs open in this process, by path: plans of one tokenizer share their mappings.
struct OpenPacks {
  absl::Mutex mu;
  std::map<std::string, std::weak_ptr<const TokenPack>> by_path ABSL_GUARDED_BY(mu);
  uint64_t opened ABSL_GUARDED_BY(mu) = 0;  // sweeps the expired every 256
};

OpenPacks& Registry() {
  static auto* const packs = new OpenPacks();
  return *packs;
}

}  // namespace

TokenPackWriter::TokenPackWriter(std::string path, const TokenPackShape& shape, int fd)
    : path_(std::move(path)), temp_path_(path_ + ".tmp"), shape_(shape), fd_(fd) {
  offsets_.reserve(shape.num_docs + 1);
  buffer_.reserve(kBufferBytes);
}

absl::StatusOr<std::unique_ptr<TokenPackWriter>> TokenPackWriter::Create(
    std::string path, const TokenPackShape& shape) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec)
    return absl::InternalError(absl::StrCat("create the folder of ", path, ": ", ec.message()));
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", temp);
  return std::unique_ptr<TokenPackWriter>(new TokenPackWriter(std::move(path), shape, fd));
}

TokenPackWriter::~TokenPackWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) ::unlink(temp_path_.c_str());
}

absl::Status TokenPackWriter::Add(uint64_t doc_id, std::string_view packed) {
  const uint64_t index = doc_id - shape_.first_doc_id;
  if (doc_id < shape_.first_doc_id || index >= shape_.num_docs || index < offsets_.size() ||
      packed.size() % shape_.token_bytes != 0) {
    return absl::InternalError(absl::StrCat("token pack ", path_, ": document ", doc_id,
                                            " out of order or outside the file"));
  }
  offsets_.resize(index + 1, payload_bytes_);  // documents skipped have no tokens
  payload_bytes_ += packed.size();
  return Write(packed);
}

absl::Status TokenPackWriter::Write(std::string_view bytes) {
  if (buffer_.size() + bytes.size() > kBufferBytes) {
    if (absl::Status s = FlushBuffer(); !s.ok()) return s;
  }
  if (bytes.size() >= kBufferBytes) {  // a large document goes out as it is
    return WriteAll(fd_, bytes.data(), bytes.size(), temp_path_);
  }
  buffer_.append(bytes);
  return absl::OkStatus();
}

absl::Status TokenPackWriter::FlushBuffer() {
  absl::Status written = WriteAll(fd_, buffer_.data(), buffer_.size(), temp_path_);
  buffer_.clear();
  return written;
}

absl::Status TokenPackWriter::Finish() {
  offsets_.resize(shape_.num_docs + 1, payload_bytes_);
  for (const uint64_t& offset : offsets_) {
    const std::string_view bytes(reinterpret_cast<const char*>(&offset), sizeof(offset));
    if (absl::Status s = Write(bytes); !s.ok()) return s;
  }
  std::string footer;
  Append(&footer, shape_.first_doc_id);
  Append(&footer, shape_.num_docs);
  Append(&footer, shape_.token_bytes);
  Append(&footer, kFormat);
  Append(&footer, payload_bytes_);
  footer.append(kMagic, sizeof(kMagic));
  if (absl::Status s = Write(footer); !s.ok()) return s;
  if (absl::Status s = FlushBuffer(); !s.ok()) return s;
  offsets_ = std::vector<uint64_t>();  // freed (`= {}` would keep the capacity)
  if (::fsync(fd_) != 0) return Errno("sync", temp_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) return Errno("rename", temp_path_);
  finished_ = true;
  return SyncDirectoryOf(path_);
}

TokenPack::TokenPack(std::string path, const TokenPackShape& shape, const char* data, size_t size)
    : path_(std::move(path)), shape_(shape), data_(data), size_(size) {}

TokenPack::~TokenPack() { ::munmap(const_cast<char*>(data_), size_); }

absl::StatusOr<std::shared_ptr<const TokenPack>> TokenPack::Open(const std::string& path,
                                                                 const TokenPackShape& shape,
                                                                 PackPages pages) {
  OpenPacks& packs = Registry();
  absl::MutexLock lock(&packs.mu);
  if (auto it = packs.by_path.find(path); it != packs.by_path.end()) {
    std::shared_ptr<const TokenPack> open = it->second.lock();
    if (open != nullptr && open->shape_.first_doc_id == shape.first_doc_id &&
        open->shape_.num_docs == shape.num_docs && open->shape_.token_bytes == shape.token_bytes) {
      return open;
    }
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? absl::NotFoundError(absl::StrCat("no token pack ", path))
                           : Errno("open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Errno("stat", path);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  auto damaged = [&](const char* why) {
    return absl::DataLossError(
        absl::StrCat("token pack ", path, " is damaged (", why, "); run `shardstream tokenize`"));
  };
  if (size < kFooterBytes) {
    ::close(fd);
    return damaged("shorter than its footer");
  }
  // For huge pages: mapped from a 2 MiB boundary and advised, so that the kernel reads the file
  // 2 MiB around each miss into 2 MiB page-cache folios, each mapped with one TLB entry (where
  // the filesystem has large folios; elsewhere the advice changes nothing).
  void* map = pages == PackPages::kHuge ? MapAtHugePageBoundary(size, PROT_READ, MAP_SHARED, fd)
                                        : MAP_FAILED;
  const bool huge = map != MAP_FAILED;
  if (huge) {
    ::madvise(map, size, MADV_HUGEPAGE);  // advice: its failure leaves small pages
  } else {
    map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  }
  ::close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) return Errno("map", path);
  const char* const data = static_cast<const char*>(map);
  std::shared_ptr<TokenPack> pack(new TokenPack(path, shape, data, size));
  pack->huge_pages_ = huge;
  const char* footer = data + size - kFooterBytes;
  if (std::memcmp(footer + kFooterBytes - sizeof(kMagic), kMagic, sizeof(kMagic)) != 0 ||
      Load32(footer + 20) != kFormat) {
    return damaged("not a token pack");
  }
  if (Load64(footer) != shape.first_doc_id || Load64(footer + 8) != shape.num_docs ||
      Load32(footer + 16) != shape.token_bytes) {
    return damaged("it holds other documents than its record");
  }
  pack->payload_bytes_ = Load64(footer + 24);
  const uint64_t offset_bytes = 8 * (shape.num_docs + 1);
  if (pack->payload_bytes_ > size || size - pack->payload_bytes_ != offset_bytes + kFooterBytes) {
    return damaged("wrong size");
  }
  pack->offsets_ = data + pack->payload_bytes_;
  if (Load64(pack->offsets_ + 8 * shape.num_docs) != pack->payload_bytes_) {
    return damaged("its offsets do not end at the payload's end");
  }
  if (++packs.opened % 256 == 0)
    std::erase_if(packs.by_path, [](auto& e) { return e.second.expired(); });
  packs.by_path[path] = pack;
  return std::shared_ptr<const TokenPack>(std::move(pack));
}

absl::StatusOr<std::string_view> TokenPack::Tokens(uint64_t doc_id) const {
  if (!Holds(doc_id)) {
    return absl::InternalError(absl::StrCat("document ", doc_id, " is not in ", path_));
  }
  const char* at = offsets_ + 8 * (doc_id - shape_.first_doc_id);
  const uint64_t begin = Load64(at), end = Load64(at + 8);
  if (begin > end || end > payload_bytes_ || (end - begin) % shape_.token_bytes != 0) {
    return absl::DataLossError(absl::StrCat("token pack ", path_, ": document ", doc_id,
                                            " has a damaged range; run `shardstream tokenize`"));
  }
  return std::string_view(data_ + begin, end - begin);
}

}  // namespace shardstream
