#include "common/corpus_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace shardstream {
namespace {

namespace fs = std::filesystem;

struct StatResult {
  bool ok = false;
  bool regular = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string error;
};

StatResult StatFollowingLinks(const std::string& path) {
  StatResult r;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    r.error = std::strerror(errno);
    return r;
  }
  r.ok = true;
  r.regular = S_ISREG(st.st_mode);
  r.size = static_cast<uint64_t>(st.st_size);
  r.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return r;
}

// Adds the file at `absolute` (relative path `relative` under `root`) to the listing.
void AddFile(const std::string& root, const std::string& relative, const std::string& absolute,
             CorpusListing* listing) {
  StatResult st = StatFollowingLinks(absolute);
  if (!st.ok) {
    listing->unreadable.push_back({absolute, st.error, root, relative});
    return;
  }
  if (!st.regular) {
    if (!fs::is_directory(absolute)) listing->ignored.push_back(absolute);
    return;
  }
  std::optional<v1::Compression> compression =
      CorpusCompressionFromName(fs::path(relative).filename().string());
  if (!compression.has_value()) {
    listing->ignored.push_back(absolute);
    return;
  }
  listing->files.push_back(
      CorpusFile{root, relative, absolute, *compression, st.size, st.mtime_ns});
}

// Lists `dir` (under `root`) and, depth first, its subdirectories (not those reached through
// symbolic links). A directory that cannot be opened or read to its end is reported as
// unreadable; what was listed from it before the error is kept.
void Walk(const std::string& root, const fs::path& dir, CorpusListing* listing) {
  const std::string relative =
      dir == fs::path(root) ? std::string() : dir.lexically_relative(root).generic_string();
  auto unreadable = [&](const std::error_code& ec) {
    listing->unreadable.push_back({dir.string(), ec.message(), root, relative});
  };
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return unreadable(ec);
  std::vector<fs::path> subdirectories;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      unreadable(ec);
      break;
    }
    const fs::directory_entry& entry = *it;
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      if (!entry.is_symlink(type_ec)) subdirectories.push_back(entry.path());
      continue;
    }
    AddFile(root, entry.path().lexically_relative(root).generic_string(), entry.path().string(),
            listing);
  }
  for (const fs::path& sub : subdirectories) Walk(root, sub, listing);
}

}  // namespace

bool UnreadablePath::Covers(std::string_view file_root, std::string_view file_relative) const {
  if (file_root != root) return false;
  if (relative_path.empty() || file_relative == relative_path) return true;
  return file_relative.size() > relative_path.size() && file_relative.starts_with(relative_path) &&
         file_relative[relative_path.size()] == '/';
}

std::optional<v1::Compression> CorpusCompressionFromName(std::string_view file_name) {
  std::string lower(file_name);
  for (char& c : lower) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  std::string_view base = lower;
  v1::Compression compression = v1::COMPRESSION_NONE;
  if (base.ends_with(".gz")) {
    compression = v1::COMPRESSION_GZIP;
    base.remove_suffix(3);
  } else if (base.ends_with(".zst")) {
    compression = v1::COMPRESSION_ZSTD;
    base.remove_suffix(4);
  }
  if (base.ends_with(".jsonl") || base.ends_with(".json")) return compression;
  return std::nullopt;
}

absl::StatusOr<CorpusListing> ListCorpusFiles(const std::vector<std::string>& paths) {
  CorpusListing listing;
  for (const std::string& input : paths) {
    std::error_code ec;
    fs::path absolute = fs::absolute(input, ec);
    if (ec)
      return absl::InvalidArgumentError(absl::StrCat("corpus path ", input, ": ", ec.message()));
    absolute = absolute.lexically_normal();
    if (absolute.has_filename() == false && absolute.has_parent_path()) {
      absolute = absolute.parent_path();  // "dir/" -> "dir"
    }
    if (!fs::exists(absolute, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("corpus path ", input, " does not exist; pass a directory or a file"));
    }
    if (!fs::is_directory(absolute, ec)) {
      AddFile(absolute.parent_path().string(), absolute.filename().string(), absolute.string(),
              &listing);
      continue;
    }
    Walk(absolute.string(), absolute, &listing);
  }
  std::sort(
      listing.files.begin(), listing.files.end(),
      [](const CorpusFile& a, const CorpusFile& b) { return a.relative_path < b.relative_path; });
  for (size_t i = 1; i < listing.files.size(); ++i) {
    if (listing.files[i].relative_path == listing.files[i - 1].relative_path) {
      return absl::InvalidArgumentError(absl::StrCat(
          "two corpus files have the same relative path ", listing.files[i].relative_path, ": ",
          listing.files[i - 1].absolute_path, " and ", listing.files[i].absolute_path,
          "; pass their common parent directory instead"));
    }
  }
  std::sort(listing.ignored.begin(), listing.ignored.end());
  return listing;
}

}  // namespace shardstream
