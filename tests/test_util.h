// Helpers for tests: a temporary directory, and writing (compressed) files with zlib and zstd,
// which are independent of the decoders under test.
#ifndef SHARDSTREAM_TESTS_TEST_UTIL_H_
#define SHARDSTREAM_TESTS_TEST_UTIL_H_

#include <string>
#include <string_view>

namespace shardstream::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Path(std::string_view relative) const;  // path() + "/" + relative

 private:
  std::string path_;
};

// Writes `bytes` to `path`, creating parent directories.
void WriteFile(const std::string& path, std::string_view bytes);
std::string ReadFile(const std::string& path);

// One gzip member (zlib, level 6) holding `data`.
std::string Gzip(std::string_view data);
// One zstd frame (level 3) holding `data`.
std::string Zstd(std::string_view data);

}  // namespace shardstream::testing

#endif  // SHARDSTREAM_TESTS_TEST_UTIL_H_
