#include "cli/jsonl_encoding.h"

#include <deque>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/corpus_files.h"
#include "common/decimal_table.h"
#include "common/decoded_stream.h"
#include "common/json_line_parser.h"
#include "common/line_reader.h"
#include "common/status_macros.h"

namespace shardstream::cli {
namespace {

// Consecutive lines: their texts (in one buffer) on the way in, their printed ids on the way
// out.
struct Batch {
  uint64_t seq = 0;
  std::string text_bytes;         // the lines' texts, one after another
  std::vector<size_t> text_ends;  // where each line's text ends in text_bytes
  std::vector<bool> has_text;     // false: a bad line, printed as `null`
  std::string printed;
  absl::Status status;  // of encoding

  size_t lines() const { return text_ends.size(); }
  std::string_view text(size_t i) const {
    const size_t begin = i == 0 ? 0 : text_ends[i - 1];
    return std::string_view(text_bytes).substr(begin, text_ends[i] - begin);
  }
  void AddLine(std::string_view text, bool ok) {
    text_bytes.append(text);
    text_ends.push_back(text_bytes.size());
    has_text.push_back(ok);
  }
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

void EncodeAndPrint(Encoder& encoder, EncodeMode mode, const DecimalTable& decimal,
                    std::vector<TokenId>& ids, Batch& batch) {
  for (size_t i = 0; i < batch.lines(); ++i) {
    if (!batch.has_text[i]) {
      batch.printed.append("null\n");
      continue;
    }
    ids.clear();
    batch.status = encoder.EncodeTo(batch.text(i), mode, &ids);
    if (!batch.status.ok()) return;
    AppendIdsLine(decimal, ids, &batch.printed);
  }
  batch.text_bytes = std::string();  // what waits to be written is only its printed form
}

}  // namespace

void AppendIdsLine(const DecimalTable& decimal, const std::vector<TokenId>& ids, std::string* out) {
  const size_t start = out->size();
  out->resize(start + ids.size() * DecimalTable::kMaxWrittenBytes + 3);
  char* const begin = out->data() + start;
  char* p = begin;
  *p++ = '[';
  for (const TokenId id : ids) p = decimal.WriteWithComma(id, p);
  if (!ids.empty()) --p;  // the last comma
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
      summary.lines += batch.lines();
      summary.text_bytes += batch.text_bytes.size();
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
      batch.AddLine(ok ? doc.text : std::string_view(), ok);
      if (batch.text_bytes.size() >= kBatchBytes || batch.lines() >= kBatchLines) push();
    }
    if (!stopped && batch.lines() > 0) push();
    read_status = lines.status();
    pipeline.CloseInput();
  });
  const DecimalTable decimal(static_cast<uint32_t>(tokenizer.vocab_size()));
  std::vector<std::thread> encoders;
  for (size_t t = 0; t < jobs; ++t) {
    encoders.emplace_back([&] {
      Encoder encoder(&tokenizer);  // warm for the whole file
      std::vector<TokenId> ids;
      for (Batch batch; pipeline.PopInput(&batch);) {
        EncodeAndPrint(encoder, options.mode, decimal, ids, batch);
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
