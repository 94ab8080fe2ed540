// A corpus file of any bytes, read as plain, gzip or zstd (the first byte chooses) through the
// reader the index and tokenize share: no crash or hang, documents in ascending line order, and
// the result's accounting consistent with what was delivered.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/corpus_file_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shardstream::v1::Compression;
  if (size == 0) return 0;
  static const std::string path = std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") +
                                  "/shardstream-fuzz-" + std::to_string(getpid()) + ".jsonl";
  const Compression compression = data[0] % 3 == 0   ? Compression::COMPRESSION_NONE
                                  : data[0] % 3 == 1 ? Compression::COMPRESSION_GZIP
                                                     : Compression::COMPRESSION_ZSTD;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  shardstream::CorpusFileReaderOptions options;
  options.max_line_bytes = 4096;  // small, so the too-long path runs too
  shardstream::CorpusFileReader reader(options);
  uint64_t last_line = 0, docs = 0;
  absl::StatusOr<shardstream::FileScanResult> scan =
      reader.Read(path, compression, [&](uint64_t line, const shardstream::ParsedLine& doc) {
        if (line <= last_line) std::abort();
        last_line = line;
        ++docs;
        return true;
      });
  if (!scan.ok()) std::abort();  // the file exists and is readable: damage is not an error
  if (scan->lines < docs || scan->raw_bytes != size - 1) std::abort();
  if (scan->unverified_from_line > last_line) std::abort();
  if (compression == Compression::COMPRESSION_NONE && scan->damaged) std::abort();
  return 0;
}
