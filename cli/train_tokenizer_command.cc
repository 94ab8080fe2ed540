#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/progress_line.h"
#include "common/corpus_file_reader.h"
#include "common/json_writer.h"
#include "common/ordered_parallel.h"
#include "common/tokenizer.h"
#include "server/bpe_trainer.h"
#include "server/catalog.h"
#include "server/catalog_plan.h"
#include "server/cleaning_rules.h"
#include "server/indexed_documents.h"

namespace shardstream::cli {
namespace {

// The pre-token counts of one file's selected documents (those `filters` keep, or all with
// `all_docs`, up to `last_doc_id`), and the held-out ones.
struct FileWords {
  absl::Status status;
  WordCounter words;
  uint64_t docs = 0, bytes = 0;
  std::vector<std::string> held_out;  // with --report: every N-th selected document
};

// Python's keywords and the builtins code uses most: the CodeParrot chapter's check of a code
// tokenizer is how many of these are single tokens.
constexpr const char* kPythonWords[] = {
    "False",      "None",      "True",     "and",    "as",     "assert",   "async",   "await",
    "break",      "class",     "continue", "def",    "del",    "elif",     "else",    "except",
    "finally",    "for",       "from",     "global", "if",     "import",   "in",      "is",
    "lambda",     "nonlocal",  "not",      "or",     "pass",   "raise",    "return",  "try",
    "while",      "with",      "yield",    "abs",    "all",    "any",      "bool",    "dict",
    "dir",        "enumerate", "filter",   "float",  "format", "getattr",  "hasattr", "int",
    "isinstance", "iter",      "len",      "list",   "map",    "max",      "min",     "next",
    "object",     "open",      "print",    "range",  "repr",   "reversed", "round",   "set",
    "setattr",    "sorted",    "str",      "sum",    "super",  "tuple",    "type",    "zip"};

// What --report prints for one tokenizer on the held-out documents.
struct HeldOutScore {
  uint64_t tokens = 0, bytes = 0, docs = 0;
  size_t used_ids = 0, vocab = 0;
};

HeldOutScore Score(const Tokenizer& tokenizer, const std::vector<std::string>& docs) {
  HeldOutScore s;
  Encoder encoder(&tokenizer);
  std::vector<bool> used(tokenizer.vocab_size(), false);
  std::vector<TokenId> ids;
  for (const std::string& doc : docs) {
    ids.clear();
    if (!encoder.EncodeTo(doc, EncodeMode::kOrdinary, &ids).ok()) continue;
    s.tokens += ids.size();
    s.bytes += doc.size();
    ++s.docs;
    for (TokenId id : ids) used[id] = true;
  }
  s.vocab = tokenizer.vocab_size();
  s.used_ids = static_cast<size_t>(std::count(used.begin(), used.end(), true));
  return s;
}

std::string Report(const Tokenizer& trained, const Tokenizer* baseline,
                   const std::vector<std::string>& held_out) {
  std::string out = absl::StrFormat("report on %d held-out documents:\n", held_out.size());
  auto line = [&out](const std::string& name, const HeldOutScore& s) {
    absl::StrAppendFormat(&out,
                          "  %-10s %.2f bytes/token, %.0f tokens/document, %d of %d ids used "
                          "(%.1f%% never used)\n",
                          name, static_cast<double>(s.bytes) / std::max<uint64_t>(s.tokens, 1),
                          static_cast<double>(s.tokens) / std::max<uint64_t>(s.docs, 1), s.used_ids,
                          s.vocab, 100.0 * (s.vocab - s.used_ids) / std::max<size_t>(s.vocab, 1));
  };
  const HeldOutScore mine = Score(trained, held_out);
  line("trained", mine);
  if (baseline != nullptr) {
    const HeldOutScore base = Score(*baseline, held_out);
    line("baseline", base);
    absl::StrAppendFormat(&out, "  the trained tokenizer needs %.1f%% of the baseline's tokens\n",
                          100.0 * mine.tokens / std::max<uint64_t>(base.tokens, 1));
  }
  auto single_tokens = [](const Tokenizer& t, const char* prefix) {
    Encoder encoder(&t);
    int n = 0;
    for (const char* word : kPythonWords) {
      auto ids = encoder.Encode(std::string(prefix) + word, EncodeMode::kOrdinary);
      n += ids.ok() && ids->size() == 1;
    }
    return n;
  };
  const int total = static_cast<int>(std::size(kPythonWords));
  absl::StrAppendFormat(
      &out, "  Python keywords and builtins that are one token: %d/%d alone, %d/%d after a space",
      single_tokens(trained, ""), total, single_tokens(trained, " "), total);
  if (baseline != nullptr) {
    absl::StrAppendFormat(&out, " (baseline: %d/%d, %d/%d)", single_tokens(*baseline, ""), total,
                          single_tokens(*baseline, " "), total);
  }
  std::vector<std::pair<size_t, TokenId>> lengths;
  for (TokenId id = 0; id < trained.vocab_size(); ++id) {
    if (auto bytes = trained.TokenBytes(id)) lengths.emplace_back(bytes->size(), id);
  }
  std::sort(lengths.rbegin(), lengths.rend());
  absl::StrAppend(&out, "\n  longest tokens:");
  for (size_t i = 0; i < std::min<size_t>(8, lengths.size()); ++i) {
    std::string quoted;
    JsonWriter::AppendQuoted(*trained.TokenBytes(lengths[i].second), &quoted);
    absl::StrAppend(&out, " ", quoted);
  }
  out += "\n";
  return out;
}

FileWords CountFile(const Catalog& catalog, const v1::FileRecord& file, const DocFilters& filters,
                    bool all_docs, int held_out_every, uint64_t last_doc_id,
                    CorpusFileReader& reader) {
  FileWords out;
  out.status = ReadIndexedDocuments(
      catalog, file, reader,
      [&](uint64_t id, const v1::DocRecord& doc) {
        return id <= last_doc_id && (all_docs || filters.Keeps(doc));
      },
      [&](uint64_t id, std::string_view text) {
        // Held out: documents whose id is a multiple of held_out_every (0: none).
        if (held_out_every > 0 && id % held_out_every == 0) {
          out.held_out.emplace_back(text);
        } else {
          out.words.AddText(text);
          ++out.docs;
          out.bytes += text.size();
        }
        return true;
      });
  return out;
}

}  // namespace

int RunTrainTokenizerCommand(const std::vector<std::string>& args) {
  std::string db, out_path, filter = "none";
  int vocab_size = 32768, min_frequency = 0, jobs = 1;
  std::vector<std::string> specials;
  bool all_docs = false, no_dedup = false, no_special = false;
  std::string alphabet = "full";
  FlagParser flags(
      "shardstream train-tokenizer --db DIR --vocab-size N --out tokenizer.json "
      "[--min-frequency F] [--special TOKEN...] [--all-docs | --no-dedup --filter PRESET] "
      "[--sample-docs N | --sample-bytes N] [--jobs N] [--report]",
      "Trains a byte-level BPE tokenizer (the CodeParrot recipe: GPT-2 regex, no prefix space,\n"
      "all 256 bytes, special tokens first) on the indexed documents, read from the corpus\n"
      "files in id order. The result equals Hugging Face's BpeTrainer on the same documents:\n"
      "same ids, same merges in the same order. Writes a tokenizer.json both load.");
  flags.AddString("db", &db, "catalog directory");
  flags.AddInt("vocab-size", &vocab_size, "vocabulary size: specials + 256 bytes + merges");
  flags.AddString("out", &out_path, "where to write tokenizer.json");
  flags.AddInt("min-frequency", &min_frequency, "stop when the best pair occurs fewer times");
  flags.AddList("special", &specials, "special tokens (default: <|endoftext|>)");
  flags.AddBool("no-special", &no_special, "no special token at all");
  flags.AddString("alphabet", &alphabet,
                  "full: all 256 bytes (CodeParrot); seen: only bytes in the data (HF default)");
  flags.AddBool("all-docs", &all_docs, "train on every document, duplicates included");
  flags.AddBool("no-dedup", &no_dedup, "keep duplicates (with --filter)");
  flags.AddString("filter", &filter, "document filter preset: none, codeparrot-clean");
  flags.AddInt("jobs", &jobs, "files read and counted in parallel");
  int sample_docs = 0;
  std::string sample_bytes_text = "0";
  flags.AddInt("sample-docs", &sample_docs, "train on the first N selected documents (by id)");
  flags.AddString("sample-bytes", &sample_bytes_text,
                  "train on the first selected documents up to N bytes of text");
  bool report = false;
  int held_out_every = 20;
  std::string compare_with;
  flags.AddBool("report", &report,
                "hold out documents and report bytes/token, tokens/document, unused ids, "
                "Python keywords as single tokens, longest tokens");
  flags.AddInt("held-out-every", &held_out_every,
               "with --report: hold out the documents whose id is a multiple of N");
  flags.AddString("compare-with", &compare_with,
                  "with --report: a baseline tokenizer.json (for example GPT-2's)");
  flags.Require("db");
  flags.Require("out");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "train-tokenizer")) {
    return *exit_status;
  }
  BpeTrainerOptions options;
  options.vocab_size = static_cast<size_t>(std::max(vocab_size, 0));
  options.min_frequency = static_cast<uint64_t>(std::max(min_frequency, 0));
  if (!specials.empty()) options.special_tokens = specials;
  if (no_special) options.special_tokens.clear();
  if (alphabet != "full" && alphabet != "seen") {
    return Fail("train-tokenizer", "--alphabet must be full or seen", kExitUsage);
  }
  options.full_alphabet = alphabet == "full";
  DocFilters filters;
  filters.dedup = !no_dedup;
  filters.preset = filter;
  if (absl::Status s = options.Validate(); !s.ok())
    return Fail("train-tokenizer", s.message(), kExitUsage);
  if (absl::Status s = filters.Validate(); !s.ok())
    return Fail("train-tokenizer", s.message(), kExitUsage);
  if (FindFilterPreset(filters.preset)->near_dedup) {
    return Fail("train-tokenizer",
                "train-tokenizer samples without near-dedup; use --filter none or "
                "codeparrot-clean",
                kExitUsage);
  }
  if (jobs < 1) return Fail("train-tokenizer", "--jobs must be at least 1", kExitUsage);

  CatalogOptions catalog_options;
  catalog_options.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, catalog_options);
  if (!catalog.ok()) return Fail("train-tokenizer", catalog.status().message());
  const absl::Time start = absl::Now();
  std::vector<const v1::FileRecord*> files;
  for (const auto& [id, f] : (*catalog)->files()) files.push_back(&f);
  std::sort(files.begin(), files.end(), [](const v1::FileRecord* a, const v1::FileRecord* b) {
    return a->first_doc_id() < b->first_doc_id();
  });
  // A sample is the first selected documents in id order: find the last id it takes.
  uint64_t last_doc_id = UINT64_MAX;
  uint64_t sample_bytes = 0;
  if (!absl::SimpleAtoi(sample_bytes_text, &sample_bytes) || sample_docs < 0) {
    return Fail("train-tokenizer", "--sample-docs and --sample-bytes take non-negative integers",
                kExitUsage);
  }
  if (sample_docs > 0 || sample_bytes > 0) {
    uint64_t n = 0, sampled_bytes = 0;
    absl::Status s = (*catalog)->ForEachDoc([&](uint64_t id, const v1::DocRecord& doc) {
      if (!all_docs && !filters.Keeps(doc)) return true;
      ++n;
      sampled_bytes += doc.text_bytes();
      last_doc_id = id;
      return !((sample_docs > 0 && n >= static_cast<uint64_t>(sample_docs)) ||
               (sample_bytes > 0 && sampled_bytes >= sample_bytes));
    });
    if (!s.ok()) return Fail("train-tokenizer", s.message());
  }
  WordCounter words;
  uint64_t docs = 0, bytes = 0;
  std::vector<std::string> held_out;
  std::atomic<uint64_t> files_done{0};
  CorpusFileReaderOptions reader_options;
  reader_options.text_field = (*catalog)->meta().text_field();
  std::unique_ptr<ProgressLine> progress = std::make_unique<ProgressLine>([&] {
    return absl::StrFormat("counting pre-tokens: %d/%d files", files_done.load(), files.size());
  });
  absl::Status status = RunOrdered<FileWords>(
      files.size(), jobs,
      [&] {
        return [&, reader = std::make_shared<CorpusFileReader>(reader_options)](size_t i) {
          return CountFile(**catalog, *files[i], filters, all_docs,
                           report ? std::max(held_out_every, 2) : 0, last_doc_id, *reader);
        };
      },
      [&](size_t, FileWords counted) {
        if (!counted.status.ok()) return counted.status;
        files_done.fetch_add(1);
        words.Merge(std::move(counted.words));
        for (std::string& doc : counted.held_out) held_out.push_back(std::move(doc));
        docs += counted.docs;
        bytes += counted.bytes;
        return absl::OkStatus();
      });
  progress.reset();
  if (!status.ok()) return Fail("train-tokenizer", status.message());
  const absl::Time counted = absl::Now();
  progress = std::make_unique<ProgressLine>([] { return std::string("merging pairs"); });
  absl::StatusOr<TrainedBpe> trained = TrainBpe(words.counts(), options);
  progress.reset();
  if (!trained.ok()) return Fail("train-tokenizer", trained.status().message());
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << trained->ToTokenizerJson();
  if (!out) return Fail("train-tokenizer", absl::StrCat("cannot write ", out_path));
  std::cout << absl::StrFormat(
      "trained on %d documents (%s, %d distinct pre-tokens): %d tokens, %d merges; "
      "%.2f s (counting %.2f s, merging %.2f s); wrote %s\n",
      docs, Mib(bytes), words.counts().size(), trained->vocab.size(), trained->merges.size(),
      absl::ToDoubleSeconds(absl::Now() - start), absl::ToDoubleSeconds(counted - start),
      absl::ToDoubleSeconds(absl::Now() - counted), out_path);
  if (report) {
    absl::StatusOr<std::unique_ptr<Tokenizer>> mine =
        Tokenizer::FromJson(trained->ToTokenizerJson());
    if (!mine.ok()) return Fail("train-tokenizer", mine.status().message());
    std::unique_ptr<Tokenizer> baseline;
    if (!compare_with.empty()) {
      absl::StatusOr<std::unique_ptr<Tokenizer>> b = Tokenizer::FromJsonFile(compare_with);
      if (!b.ok()) return Fail("train-tokenizer", b.status().message(), kExitUsage);
      baseline = std::move(*b);
    }
    std::cout << Report(**mine, baseline.get(), held_out);
  }
  return kExitOk;
}

}  // namespace shardstream::cli
