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
    listing->unreadable.push_back({absolute, st.error});
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

}  // namespace

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
    const std::string root = absolute.string();
    fs::recursive_directory_iterator it(absolute, fs::directory_options::skip_permission_denied,
                                        ec);
    if (ec) {
      listing.unreadable.push_back({root, ec.message()});
      continue;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) {
        listing.unreadable.push_back({root, ec.message()});
        break;
      }
      const fs::directory_entry& entry = *it;
      if (entry.is_directory(ec)) continue;
      std::string relative = entry.path().lexically_relative(absolute).generic_string();
      AddFile(root, relative, entry.path().string(), &listing);
    }
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
