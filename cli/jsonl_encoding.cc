#include "cli/jsonl_encoding.h"

#include <deque>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/corpus_files.h"
#include "common/decoded_stream.h"
#include "common/json_line_parser.h"
#include "common/line_reader.h"
#include "common/status_macros.h"

namespace shardstream::cli {
namespace {

// Consecutive lines: their texts on the way in, their printed ids on the way out.
struct Batch {
  uint64_t seq = 0;
  std::vector<std::string> texts;
  std::vector<bool> has_text;  // false: a bad line, printed as `null`
  size_t bytes = 0;
  std::string printed;
  absl::Status status;  // of encoding
};

// The two hand-overs, reader → encoders → writer, each bounded by `window` batches: an
// encoder does not take a batch more than `window` ahead of the one being written. Batches
// enter in seq order (one reader). Thread-safe.
class Pipeline {
 public:
  explicit Pipeline(size_t window) : window_(window) {}

  // Blocks while `window` batches wait. False once stopped (the batch is dropped).
  bool PushInput(Batch batch) {
    absl::MutexLock lock(&mu_);
    while (!stopped_ && input_.size() >= window_) cv_.Wait(&mu_);
    if (stopped_) return false;
    input_.push_back(std::move(batch));
    ++pushed_;
    cv_.SignalAll();
    return true;
  }
  void CloseInput() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    cv_.SignalAll();
  }
  // The next batch to encode; false once the input is closed and taken, or stopped.
  bool PopInput(Batch* batch) {
    absl::MutexLock lock(&mu_);
    while (!stopped_ && (input_.empty() ? !closed_ : input_.front().seq >= next_write_ + window_)) {
      cv_.Wait(&mu_);
    }
    if (stopped_ || input_.empty()) return false;
    *batch = std::move(input_.front());
    input_.pop_front();
    cv_.SignalAll();
    return true;
  }
  void PushEncoded(Batch batch) {
    absl::MutexLock lock(&mu_);
    const uint64_t seq = batch.seq;
    encoded_.emplace(seq, std::move(batch));
    cv_.SignalAll();
  }
  // The next batch in input order; false once every batch was written, or stopped.
  bool PopEncoded(Batch* batch) {
    absl::MutexLock lock(&mu_);
    while (!stopped_ && !encoded_.contains(next_write_) && !(closed_ && next_write_ == pushed_)) {
      cv_.Wait(&mu_);
    }
    auto it = encoded_.find(next_write_);
    if (stopped_ || it == encoded_.end()) return false;
    *batch = std::move(it->second);
    encoded_.erase(it);
    ++next_write_;
    cv_.SignalAll();
    return true;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    cv_.SignalAll();
  }

 private:
  const size_t window_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Batch> input_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Batch> encoded_ ABSL_GUARDED_BY(mu_);
  uint64_t pushed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_write_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

char* WriteDecimal(uint32_t value, char* p) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

void EncodeAndPrint(Encoder& encoder, EncodeMode mode, std::vector<TokenId>& ids, Batch& batch) {
  for (size_t i = 0; i < batch.texts.size(); ++i) {
    if (!batch.has_text[i]) {
      batch.printed.append("null\n");
      continue;
    }
    ids.clear();
    batch.status = encoder.EncodeTo(batch.texts[i], mode, &ids);
    if (!batch.status.ok()) return;
    AppendIdsLine(ids, &batch.printed);
  }
  batch.texts = {};  // what waits to be written is only its printed form
}

}  // namespace

void AppendIdsLine(const std::vector<TokenId>& ids, std::string* out) {
  const size_t start = out->size();
  out->resize(start + ids.size() * 11 + 3);  // up to 10 digits and a comma per id
  char* const begin = out->data() + start;
  char* p = begin;
  *p++ = '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) *p++ = ',';
    p = WriteDecimal(ids[i], p);
  }
  *p++ = ']';
  *p++ = '\n';
  out->resize(start + static_cast<size_t>(p - begin));
}

absl::StatusOr<JsonlEncodingSummary> EncodeJsonLines(const Tokenizer& tokenizer,
                                                     const std::string& path,
                                                     const JsonlEncodingOptions& options,
                                                     std::FILE* out,
                                                     const BadLineCallback& on_bad_line) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<DecodedStream> stream,
      DecodedStream::Open(path, CorpusCompressionFromName(path).value_or(v1::COMPRESSION_NONE)));
  const size_t jobs = static_cast<size_t>(std::max(options.jobs, 1));
  Pipeline pipeline(2 * jobs);
  JsonlEncodingSummary summary;
  absl::Status read_status;
  std::thread reader([&] {
    LineReader lines(stream.get(), options.max_line_bytes);
    JsonLineParser parser(options.field);
    Line line;
    ParsedLine doc;
    LineError error;
    Batch batch;
    uint64_t seq = 0;
    bool stopped = false;
    const auto push = [&] {
      summary.lines += batch.texts.size();
      summary.text_bytes += batch.bytes;
      batch.seq = seq++;
      stopped = !pipeline.PushInput(std::move(batch));
      batch = Batch();
    };
    while (!stopped && lines.Next(&line)) {
      const bool ok = !line.too_long && parser.Parse(line.text, &doc, &error);
      if (!ok) {
        ++summary.bad_lines;
        on_bad_line(line.number, line.too_long ? "line too long" : error.message);
      }
      batch.texts.emplace_back(ok ? doc.text : std::string_view());
      batch.has_text.push_back(ok);
      batch.bytes += batch.texts.back().size();
      if (batch.bytes >= kBatchBytes || batch.texts.size() >= kBatchLines) push();
    }
    if (!stopped && !batch.texts.empty()) push();
    read_status = lines.status();
    pipeline.CloseInput();
  });
  std::vector<std::thread> encoders;
  for (size_t t = 0; t < jobs; ++t) {
    encoders.emplace_back([&] {
      Encoder encoder(&tokenizer);  // warm for the whole file
      std::vector<TokenId> ids;
      for (Batch batch; pipeline.PopInput(&batch);) {
        EncodeAndPrint(encoder, options.mode, ids, batch);
        pipeline.PushEncoded(std::move(batch));
      }
    });
  }
  absl::Status write_status;
  for (Batch batch; pipeline.PopEncoded(&batch);) {
    write_status = batch.status;
    if (write_status.ok() &&
        std::fwrite(batch.printed.data(), 1, batch.printed.size(), out) != batch.printed.size()) {
      write_status = absl::InternalError("cannot write the output");
    }
    if (!write_status.ok()) {
      pipeline.Stop();
      break;
    }
  }
  reader.join();
  for (std::thread& t : encoders) t.join();
  RETURN_IF_ERROR(write_status);
  if (!read_status.ok()) {
    return absl::Status(read_status.code(), absl::StrCat(path, ": ", read_status.message()));
  }
  if (std::fflush(out) != 0) return absl::InternalError("cannot write the output");
  return summary;
}

}  // namespace shardstream::cli
