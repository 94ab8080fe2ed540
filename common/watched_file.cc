#include "common/watched_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace shardstream {
namespace {

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int64_t Nanos(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

}  // namespace

absl::StatusOr<std::shared_ptr<const std::string>> WatchedFile::Contents() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", BaseName(path_), ": ", std::strerror(errno)));
  }
  const Stamp now{st.st_ino, st.st_dev, st.st_size, Nanos(st.st_mtim), Nanos(st.st_ctim)};
  absl::MutexLock lock(&mu_);
  if (contents_ != nullptr && now == stamp_) return contents_;
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(BaseName(path_), " is larger than ", kMaxBytes, " bytes"));
  }
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", BaseName(path_), ": ", std::strerror(errno)));
  }
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0 && text.size() <= kMaxBytes) {
    text.append(buffer, static_cast<size_t>(n));
  }
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", BaseName(path_), ": ", std::strerror(read_errno)));
  }
  if (text.size() > kMaxBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(BaseName(path_), " is larger than ", kMaxBytes, " bytes"));
  }
  // The stamp of before the read: a change during the read is seen by the next call.
  stamp_ = now;
  contents_ = std::make_shared<const std::string>(std::move(text));
  return contents_;
}

}  // namespace shardstream
