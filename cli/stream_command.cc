#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/security_flags.h"
#include "client/channel.h"
#include "client/reader.h"
#include "common/json_writer.h"
#include "common/batch_stream.h"
#include "server/catalog.h"
#include "server/local_stream.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream::cli {
namespace {

// Writes batches as one NumPy array [batches, rows, seq_len]; the header is rewritten with the
// final batch count on Close().
class NpyWriter {
 public:
  NpyWriter(const std::string& path, bool wide) : out_(path, std::ios::binary), wide_(wide) {
    out_.write(std::string(kHeaderBytes, ' ').data(), kHeaderBytes);  // placeholder
  }
  bool ok() const { return static_cast<bool>(out_); }
  void Add(const Batch& b) {
    rows_ = b.rows;
    seq_len_ = b.seq_len;
    ++batches_;
    if (wide_) {
      out_.write(reinterpret_cast<const char*>(b.tokens.data()), b.tokens.size() * 4);
    } else {
      std::string narrow(b.tokens.size() * 2, '\0');
      for (size_t i = 0; i < b.tokens.size(); ++i) {
        narrow[2 * i] = static_cast<char>(b.tokens[i]);
        narrow[2 * i + 1] = static_cast<char>(b.tokens[i] >> 8);
      }
      out_.write(narrow.data(), narrow.size());
    }
  }
  bool Close() {
    std::string dict =
        absl::StrFormat("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                        wide_ ? "<i4" : "<u2", batches_, rows_, seq_len_);
    std::string header("\x93NUMPY\x01\x00", 8);  // magic, format version 1.0
    const uint16_t len = kHeaderBytes - 10;
    header.push_back(static_cast<char>(len & 0xFF));
    header.push_back(static_cast<char>(len >> 8));
    dict.resize(len - 1, ' ');
    header += dict + "\n";
    out_.seekp(0);
    out_.write(header.data(), header.size());
    out_.close();
    return static_cast<bool>(out_);
  }

 private:
  static constexpr size_t kHeaderBytes = 128;  // multiple of 64, as the format asks
  std::ofstream out_;
  bool wide_;
  uint64_t batches_ = 0;
  uint32_t rows_ = 0, seq_len_ = 0;
};

// A served batch as the embedded stream's struct (so both modes print the same bytes).
void FromProto(const v1::Batch& p, Batch* b) {
  b->epoch = p.epoch();
  b->step = p.step();
  b->rank = p.rank();
  b->rows = p.rows();
  b->seq_len = p.seq_len();
  b->cursor = p.cursor();
  const size_t width = p.dtype() == v1::TOKEN_DTYPE_INT32 ? 4 : 2;
  const size_t n = p.tokens().size() / width;
  const auto* bytes = reinterpret_cast<const uint8_t*>(p.tokens().data());
  b->tokens.resize(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = 0;
    for (size_t k = 0; k < width; ++k) v |= uint32_t{bytes[i * width + k]} << (8 * k);
    b->tokens[i] = v;
  }
  b->doc_starts.clear();
  for (const v1::RowStarts& row : p.doc_starts()) {
    b->doc_starts.emplace_back(row.offsets().begin(), row.offsets().end());
  }
}

void AppendJsonBatch(const Batch& b, std::string* out) {
  JsonWriter w;
  w.BeginObject();
  w.Key("epoch");
  w.Uint(b.epoch);
  w.Key("step");
  w.Uint(b.step);
  w.Key("rank");
  w.Uint(b.rank);
  w.Key("tokens");
  w.BeginArray();
  for (uint32_t r = 0; r < b.rows; ++r) {
    w.BeginArray();
    for (uint32_t c = 0; c < b.seq_len; ++c) w.Uint(b.tokens[size_t{r} * b.seq_len + c]);
    w.EndArray();
  }
  w.EndArray();
  if (!b.doc_starts.empty()) {
    w.Key("doc_starts");
    w.BeginArray();
    for (const auto& row : b.doc_starts) {
      w.BeginArray();
      for (uint32_t s : row) w.Uint(s);
      w.EndArray();
    }
    w.EndArray();
  }
  w.Key("cursor");
  w.String(b.cursor);
  w.EndObject();
  out->append(w.str());
  out->push_back('\n');
}

}  // namespace

int RunStreamCommand(const std::vector<std::string>& args) {
  std::vector<std::string> dbs;
  std::string server, format, out_path, tokenizer, resume, filter = "none", mix;
  int seq_len = 1024, batch_size = 8, rank = 0, world_size = 1, epochs = 0, max_batches = 0;
  std::string seed_text = "0";
  bool no_dedup = false, doc_boundaries = false;
  ClientSecurity security;
  int retry_deadline_seconds = 120;
  FlagParser flags(
      "shardstream stream (--db DIR [DIR...] | --server HOST:PORT[,...]) --tokenizer NAME "
      "--seq-len L --batch-size B --seed S "
      "[--rank r --world-size W] [--epochs N] [--max-batches N] [--resume CURSOR] [--no-dedup] "
      "[--filter PRESET] [--mix NAME=W,...] [--doc-boundaries] [--format jsonl|text|npy] "
      "[--out PATH] " + std::string(kClientSecurityUsage),
      "Streams shuffled, packed [batch, seq_len] token batches of one rank from the token\n"
      "stores of catalogs (embedded) or shard servers (remote), which together must hold every\n"
      "partition of the dataset. The stream is a pure function of (the parts' data versions,\n"
      "tokenizer, filters, seq_len, seed, mixture) — never of how many catalogs, servers or\n"
      "replicas hold them: every batch carries a cursor, and --resume CURSOR continues exactly\n"
      "after it, also with another world size, batch size or set of servers.");
  flags.AddList("db", &dbs, "catalog directories (embedded mode; repeat or list several)");
  flags.AddString("server", &server,
                  "HOST:PORT[,HOST:PORT...] of shard servers (remote mode; same output)");
  flags.AddString("mix", &mix,
                  "sources and weights, NAME=W[,NAME=W...] (default: all, by size)");
  flags.AddString("tokenizer", &tokenizer, "tokenizer name (or fingerprint prefix)");
  flags.AddInt("seq-len", &seq_len, "tokens per sequence");
  flags.AddInt("batch-size", &batch_size, "sequences per batch for this rank");
  flags.AddString("seed", &seed_text, "shuffle seed (unsigned 64-bit)");
  flags.AddInt("rank", &rank, "this rank");
  flags.AddInt("world-size", &world_size, "number of ranks");
  flags.AddInt("epochs", &epochs, "stop after this many epochs (0: never)");
  flags.AddInt("max-batches", &max_batches, "stop after this many batches (0: no limit)");
  flags.AddString("resume", &resume, "continue after this cursor");
  flags.AddBool("no-dedup", &no_dedup, "keep duplicate documents");
  flags.AddString("filter", &filter,
                  "document filter preset: none, codeparrot-clean, near-dedup (after "
                  "`shardstream dedup`), codeparrot-clean-near-dedup");
  flags.AddBool("doc-boundaries", &doc_boundaries, "report where documents start in each row");
  flags.AddString("format", &format, "jsonl (default off a TTY), text (default on a TTY), npy");
  flags.AddString("out", &out_path, "write to this file instead of stdout (required for npy)");
  AddClientSecurityFlags(&flags, &security);
  flags.AddInt("retry-deadline-seconds", &retry_deadline_seconds,
               "with --server: give up when no data arrived for this long");
  flags.Require("tokenizer");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "stream")) return *exit_status;
  if (dbs.empty() == server.empty()) {
    std::cerr << "shardstream stream: give exactly one of --db (embedded) and --server (remote)\n";
    return kExitUsage;
  }
  PlanSpec spec;
  StreamOptions options;
  spec.parts.tokenizer = tokenizer;
  spec.parts.filters.dedup = !no_dedup;
  spec.parts.filters.preset = filter;
  if (seq_len < 1 || batch_size < 1 || rank < 0 || world_size < 1 || epochs < 0 ||
      max_batches < 0 || !absl::SimpleAtoi(seed_text, &spec.seed)) {
    std::cerr << "shardstream stream: --seq-len, --batch-size, --world-size must be positive, "
                 "--rank, --epochs, --max-batches non-negative, --seed an unsigned integer\n";
    return kExitUsage;
  }
  spec.parts.seq_len = static_cast<uint32_t>(seq_len);
  options.rank.batch_size = static_cast<uint32_t>(batch_size);
  options.rank.rank = static_cast<uint32_t>(rank);
  options.rank.world_size = static_cast<uint32_t>(world_size);
  options.rank.epochs = static_cast<uint64_t>(epochs);
  options.resume_cursor = resume;
  options.doc_boundaries = doc_boundaries;
  if (format.empty()) format = ::isatty(STDOUT_FILENO) && out_path.empty() ? "text" : "jsonl";
  if (format != "jsonl" && format != "text" && format != "npy") {
    std::cerr << "shardstream stream: --format must be jsonl, text or npy\n";
    return kExitUsage;
  }
  if (format == "npy" && out_path.empty()) {
    std::cerr << "shardstream stream: --format npy needs --out FILE.npy\n";
    return kExitUsage;
  }
  absl::StatusOr<Mixture> mixture = Mixture::Parse(mix);
  if (!mixture.ok()) return Fail("stream", mixture.status().message(), kExitUsage);
  spec.mixture = *mixture;
  if (absl::Status s = spec.parts.Validate(); !s.ok()) {
    return Fail("stream", s.message(), kExitUsage);
  }
  if (absl::Status s = options.Validate(spec.parts.seq_len); !s.ok()) {
    return Fail("stream", s.message(), kExitUsage);
  }

  const absl::Time start = absl::Now();
  // The batch source: the catalog here (embedded), or shard servers through the client Reader.
  // Both yield the same batches, so every format below prints the same bytes.
  std::function<absl::StatusOr<bool>(Batch*)> next_batch;
  std::function<std::string()> cursor_now;
  std::function<absl::StatusOr<std::string>(const std::vector<TokenId>&)> decode;
  std::optional<bool> wide;  // npy dtype, known from the tokenizer or the first batch
  std::vector<std::unique_ptr<Catalog>> catalogs;
  std::unique_ptr<LocalStream> stream;
  std::unique_ptr<Tokenizer> decoder;
  std::unique_ptr<Reader> reader;
  std::shared_ptr<v1::ShardService::Stub> decode_stub;
  if (!dbs.empty()) {
    CatalogOptions catalog_options;
    catalog_options.read_only = true;
    std::vector<const Catalog*> borrowed;
    for (const std::string& db : dbs) {
      absl::StatusOr<std::unique_ptr<Catalog>> opened = Catalog::Open(db, catalog_options);
      if (!opened.ok()) {
        return Fail("stream", opened.status().message());
      }
      catalogs.push_back(std::move(*opened));
      borrowed.push_back(catalogs.back().get());
    }
    absl::StatusOr<std::unique_ptr<LocalStream>> s = LocalStream::Open(borrowed, spec, options);
    if (!s.ok()) {
      return Fail("stream", s.status().message(),
                  absl::IsInvalidArgument(s.status()) ? kExitUsage : kExitFailed);
    }
    stream = std::move(*s);
    const StreamPlan& plan = stream->plan();
    uint64_t docs = 0, epoch_tokens = 0;
    for (const PartSize& p : plan.parts()) {
      docs += p.docs;
      epoch_tokens += p.tokens;
    }
    std::cerr << absl::StrFormat(
        "plan: %d documents in %d part(s), %d tokens per epoch, %d sequences of %d, %d steps per "
        "epoch for world size %d × batch %d; tokenizer \"%s\"%s; starting at %s\n",
        docs, plan.parts().size(), epoch_tokens, plan.epoch_sequences(), seq_len,
        stream->stream().steps_per_epoch(), world_size, batch_size, stream->tokenizer().name(),
        spec.mixture.natural() ? "" : absl::StrCat("; mixture ", spec.mixture.ToString()),
        stream->stream().cursor());
    wide = stream->tokenizer().token_bytes() > 2;
    next_batch = [&](Batch* b) { return stream->Next(b); };
    cursor_now = [&] { return stream->stream().cursor(); };
    decode = [&](const std::vector<TokenId>& ids) -> absl::StatusOr<std::string> {
      if (decoder == nullptr) {
        absl::StatusOr<std::unique_ptr<Tokenizer>> t =
            TokenStore::LoadTokenizer(stream->tokenizer());
        if (!t.ok()) return t.status();
        decoder = std::move(*t);
      }
      return decoder->Decode(ids);
    };
  } else {
    ReaderOptions reader_options;
    reader_options.servers = absl::StrSplit(server, ',', absl::SkipEmpty());
    reader_options.security = security;
    if (retry_deadline_seconds < 1) {
      return Fail("stream", "--retry-deadline-seconds must be >= 1", kExitUsage);
    }
    reader_options.retry_deadline = absl::Seconds(retry_deadline_seconds);
    v1::StreamRequest& r = reader_options.request;
    r.set_tokenizer(tokenizer);
    r.set_seq_len(spec.parts.seq_len);
    r.set_batch_size(options.rank.batch_size);
    r.set_seed(spec.seed);
    r.set_rank(options.rank.rank);
    r.set_world_size(options.rank.world_size);
    r.set_epochs(options.rank.epochs);
    r.set_mix(mix);
    r.set_start_cursor(resume);
    r.set_no_dedup(no_dedup);
    r.set_filter_preset(filter);
    r.set_doc_boundaries(doc_boundaries);
    absl::StatusOr<std::unique_ptr<Reader>> opened = Reader::Open(reader_options);
    if (!opened.ok()) {
      return Fail("stream", opened.status().message(), kExitUsage);
    }
    reader = std::move(*opened);
    std::cerr << "streaming from " << server << "\n";
    next_batch = [&](Batch* b) -> absl::StatusOr<bool> {
      v1::Batch proto;
      absl::StatusOr<bool> more = reader->Next(&proto);
      if (!more.ok() || !*more) return more;
      FromProto(proto, b);
      if (!wide.has_value()) wide = proto.dtype() == v1::TOKEN_DTYPE_INT32;
      return true;
    };
    cursor_now = [&] { return reader->cursor(); };
    decode = [&, first = reader_options.servers.front()](
                 const std::vector<TokenId>& ids) -> absl::StatusOr<std::string> {
      if (decode_stub == nullptr) {
        absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
            OpenChannel(first, security, grpc::ChannelArguments());
        if (!channel.ok()) return channel.status();
        decode_stub = v1::ShardService::NewStub(*channel);
      }
      v1::DecodeRequest request;
      request.set_tokenizer(tokenizer);
      request.mutable_ids()->Add(ids.begin(), ids.end());
      v1::DecodeResponse response;
      grpc::ClientContext context;
      grpc::Status s = decode_stub->Decode(&context, request, &response);
      if (!s.ok())
        return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
      return response.text();
    };
  }
  std::ofstream file;
  std::unique_ptr<NpyWriter> npy;
  std::ostream* out = &std::cout;
  if (format != "npy" && !out_path.empty()) {
    file.open(out_path, std::ios::binary);
    out = &file;
  }
  Batch batch;
  uint64_t batches = 0, tokens = 0;
  std::string buffer;
  while (max_batches == 0 || batches < static_cast<uint64_t>(max_batches)) {
    absl::StatusOr<bool> more = next_batch(&batch);
    if (!more.ok()) {
      return Fail("stream", more.status().message());
    }
    if (!*more) break;
    ++batches;
    tokens += batch.tokens.size();
    buffer.clear();
    if (format == "npy") {
      if (npy == nullptr) {
        npy = std::make_unique<NpyWriter>(out_path, wide.value_or(false));
        if (!npy->ok()) {
          std::cerr << "shardstream stream: cannot write " << out_path << "\n";
          return kExitFailed;
        }
      }
      npy->Add(batch);
      continue;
    }
    if (format == "jsonl") {
      AppendJsonBatch(batch, &buffer);
    } else {
      absl::StrAppendFormat(&buffer, "=== epoch %d step %d rank %d (cursor after: %s)\n",
                            batch.epoch, batch.step, batch.rank, batch.cursor);
      for (uint32_t r = 0; r < batch.rows; ++r) {
        std::vector<TokenId> row(batch.tokens.begin() + size_t{r} * batch.seq_len,
                                 batch.tokens.begin() + size_t{r + 1} * batch.seq_len);
        absl::StatusOr<std::string> text = decode(row);
        if (!text.ok()) {
          std::cerr << "shardstream stream: decode: " << text.status().message() << "\n";
          return kExitFailed;
        }
        absl::StrAppendFormat(&buffer, "--- row %d\n%s\n", r, *text);
      }
    }
    out->write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  }
  out->flush();
  if (format == "npy" && npy == nullptr)
    npy = std::make_unique<NpyWriter>(out_path, wide.value_or(false));
  if (npy != nullptr && !npy->Close()) {
    std::cerr << "shardstream stream: cannot write " << out_path << "\n";
    return kExitFailed;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cerr << absl::StrFormat(
      "streamed %d batches, %d tokens in %.2f s (%.1f M tokens/s%s); resume with --resume %s\n",
      batches, tokens, seconds, tokens / 1e6 / std::max(seconds, 1e-9),
      reader ? absl::StrCat(", ", reader->reconnects(), " reconnects") : "", cursor_now());
  return kExitOk;
}

}  // namespace shardstream::cli
