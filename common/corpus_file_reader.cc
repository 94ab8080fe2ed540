#include "common/corpus_file_reader.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "common/decoded_stream.h"
#include "common/line_reader.h"
#include "common/status_macros.h"

namespace shardstream {
namespace {
constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";
}  // namespace

CorpusFileReader::CorpusFileReader(CorpusFileReaderOptions options)
    : options_(std::move(options)), parser_(options_.text_field) {}

absl::StatusOr<FileScanResult> CorpusFileReader::Read(const std::string& path,
                                                      v1::Compression compression,
                                                      const DocumentCallback& on_document) {
  return Read(path, compression, on_document, options_.max_line_bytes);
}

absl::StatusOr<FileScanResult> CorpusFileReader::Read(const std::string& path,
                                                      v1::Compression compression,
                                                      const DocumentCallback& on_document,
                                                      size_t max_line_bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<DecodedStream> stream, DecodedStream::Open(path, compression));
  FileScanResult result;
  std::map<v1::BadLineKind, v1::BadLineCount> bad;
  auto count_bad = [&bad](v1::BadLineKind kind, uint64_t line, std::string message) {
    v1::BadLineCount& entry = bad[kind];
    if (entry.count() == 0) {
      entry.set_kind(kind);
      entry.set_first_line(line);
      entry.set_first_error(std::move(message));
    }
    entry.set_count(entry.count() + 1);
  };

  LineReader lines(stream.get(), max_line_bytes);
  Line line;
  ParsedLine doc;
  LineError error;
  // The documents an integrity check failure could still take back: those delivered since the
  // stream's settled offset last moved whose line ends after it. A failure's unverified_from
  // is the settled offset, and when it moves (a member starts) it passes every line delivered
  // before, so a first line and a count describe them, in constant memory.
  uint64_t candidates_after = DecodedStream::kNone;
  uint64_t first_candidate = 0, candidates = 0;
  while (lines.Next(&line)) {
    ++result.lines;
    if (line.number == 1 && line.text.starts_with(kUtf8ByteOrderMark)) {
      line.text.remove_prefix(kUtf8ByteOrderMark.size());  // not part of the first document
    }
    if (line.too_long) {
      count_bad(v1::BAD_LINE_TOO_LONG, line.number, "line longer than max_line_bytes");
      continue;
    }
    result.longest_line_bytes = std::max<uint64_t>(result.longest_line_bytes, line.text.size());
    if (JsonLineParser::IsBlank(line.text)) {
      ++result.blank_lines;
      continue;
    }
    if (!parser_.Parse(line.text, &doc, &error)) {
      count_bad(error.kind, line.number, std::move(error.message));
      continue;
    }
    if (const uint64_t settled = stream->settled(); settled != candidates_after) {
      candidates_after = settled;
      candidates = 0;
    }
    if (line.end > candidates_after && candidates++ == 0) first_candidate = line.number;
    if (!on_document(line.number, doc)) break;
  }
  if (!lines.status().ok()) {
    if (!absl::IsDataLoss(lines.status())) return lines.status();
    result.damaged = true;
    result.error = std::string(lines.status().message());
    const uint64_t from = stream->unverified_from();
    if (from != DecodedStream::kNone && from == candidates_after && candidates > 0) {
      result.unverified_from_line = first_candidate;
      count_bad(v1::BAD_LINE_UNVERIFIED, first_candidate,
                "decoded from data whose integrity check failed: " + result.error);
      bad[v1::BAD_LINE_UNVERIFIED].set_count(candidates);
    }
  }
  result.decoded_bytes = lines.decoded_bytes();
  if (result.longest_line_bytes > kKeptLineBytes) parser_.ReleaseMemory();
  for (auto& [kind, entry] : bad) result.bad_lines.push_back(std::move(entry));
  ASSIGN_OR_RETURN(result.checksum, stream->raw().FinishChecksum());
  result.raw_bytes = stream->raw().bytes_read();
  return result;
}

}  // namespace shardstream
