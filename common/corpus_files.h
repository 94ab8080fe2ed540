// Finding corpus files: JSON-lines files (.jsonl, .json), optionally compressed (.gz, .zst).
#ifndef SHARDSTREAM_COMMON_CORPUS_FILES_H_
#define SHARDSTREAM_COMMON_CORPUS_FILES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// The compression of a corpus file named `file_name`, or nullopt when the name is not that of a
// corpus file. Case-insensitive: "a.JSONL.GZ" is gzip.
std::optional<v1::Compression> CorpusCompressionFromName(std::string_view file_name);

struct CorpusFile {
  std::string root;           // absolute directory the relative path starts from
  std::string relative_path;  // '/'-separated, unique across all roots of a listing
  std::string absolute_path;  // root + '/' + relative_path
  v1::Compression compression = v1::COMPRESSION_UNSPECIFIED;
  uint64_t size_bytes = 0;
  int64_t mtime_ns = 0;
};

// A path that could not be listed or stat'ed: what the catalog holds under it is unknown, not
// gone (Covers).
struct UnreadablePath {
  std::string path;  // absolute
  std::string error;
  std::string root;           // the listing root it lies under
  std::string relative_path;  // under `root`; "" for the root itself
  // True when a catalog file at `relative_path` under `root` lies at or under this path.
  bool Covers(std::string_view file_root, std::string_view file_relative_path) const;
};

struct CorpusListing {
  std::vector<CorpusFile> files;           // sorted by relative_path
  std::vector<std::string> ignored;        // regular files that are not corpus files
  std::vector<UnreadablePath> unreadable;  // could not be listed or stat'ed
};

// Lists the corpus files under `paths`: a directory is searched recursively (following
// symbolic links to files, not to directories), a file is taken as it is with its directory as
// root. A directory that cannot be read (permissions) is reported in `unreadable`, never
// skipped silently. INVALID_ARGUMENT when a path does not exist or two files would share a relative
// path.
absl::StatusOr<CorpusListing> ListCorpusFiles(const std::vector<std::string>& paths);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_CORPUS_FILES_H_
