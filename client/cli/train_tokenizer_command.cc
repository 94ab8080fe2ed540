#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/cli/commands.h"
#include "client/cli/flags.h"
#include "common/corpus_file_reader.h"
#include "common/ordered_parallel.h"
#include "server/bpe_trainer.h"
#include "server/catalog.h"
#include "server/plan.h"

namespace shardstream::cli {
namespace {

// The pre-token counts of one file's selected documents (those the catalog has at those lines,
// with those hashes, that `filters` keep; all with `all_docs`).
struct FileWords {
  absl::Status status;
  WordCounter words;
  uint64_t docs = 0, bytes = 0;
};

FileWords CountFile(const Catalog& catalog, const v1::FileRecord& file, const DocFilters& filters,
                    bool all_docs, CorpusFileReader& reader) {
  FileWords out;
  std::vector<std::pair<uint64_t, Hash128>> wanted;  // (line, hash) of selected documents
  std::vector<uint64_t> lines;                        // lines of all indexed documents
  out.status = catalog.ForEachDocInRange(
      file.first_doc_id(), file.first_doc_id() + file.num_docs(),
      [&](uint64_t, const v1::DocRecord& doc) {
        if (all_docs || filters.Keeps(doc)) {
          wanted.emplace_back(doc.line(), Hash128{doc.hash_hi(), doc.hash_lo()});
        }
        return true;
      });
  if (!out.status.ok() || wanted.empty()) return out;
  size_t next = 0;
  const std::string path = (std::filesystem::path(file.root()) / file.path()).string();
  absl::StatusOr<FileScanResult> scan =
      reader.Read(path, file.compression(), [&](uint64_t line, const ParsedLine& doc) {
        if (line < wanted[next].first) return true;  // not selected
        if (line != wanted[next].first || HashBytes(doc.text) != wanted[next].second) {
          out.status = absl::FailedPreconditionError(absl::StrCat(
              path, " changed since it was indexed (line ", line, "); run `shardstream index`"));
          return false;
        }
        out.words.AddText(doc.text);
        ++out.docs;
        out.bytes += doc.text.size();
        return ++next < wanted.size();
      });
  if (!scan.ok()) out.status = scan.status();
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
      "[--jobs N]",
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
  if (absl::Status s = options.Validate(); !s.ok()) return Fail("train-tokenizer", s.message(), kExitUsage);
  if (absl::Status s = filters.Validate(); !s.ok()) return Fail("train-tokenizer", s.message(), kExitUsage);
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
  WordCounter words;
  uint64_t docs = 0, bytes = 0;
  CorpusFileReaderOptions reader_options;
  reader_options.text_field = (*catalog)->meta().text_field();
  absl::Status status = RunOrdered<FileWords>(
      files.size(), jobs,
      [&] {
        return [&, reader = std::make_shared<CorpusFileReader>(reader_options)](size_t i) {
          return CountFile(**catalog, *files[i], filters, all_docs, *reader);
        };
      },
      [&](size_t, FileWords counted) {
        if (!counted.status.ok()) return counted.status;
        words.Merge(std::move(counted.words));
        docs += counted.docs;
        bytes += counted.bytes;
        return absl::OkStatus();
      });
  if (!status.ok()) return Fail("train-tokenizer", status.message());
  const absl::Time counted = absl::Now();
  absl::StatusOr<TrainedBpe> trained = TrainBpe(words.counts(), options);
  if (!trained.ok()) return Fail("train-tokenizer", trained.status().message());
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << trained->ToTokenizerJson();
  if (!out) return Fail("train-tokenizer", absl::StrCat("cannot write ", out_path));
  std::cout << absl::StrFormat(
      "trained on %d documents (%.1f MiB, %d distinct pre-tokens): %d tokens, %d merges; "
      "%.2f s (counting %.2f s, merging %.2f s); wrote %s\n",
      docs, bytes / 1048576.0, words.counts().size(), trained->vocab.size(),
      trained->merges.size(), absl::ToDoubleSeconds(absl::Now() - start),
      absl::ToDoubleSeconds(counted - start), absl::ToDoubleSeconds(absl::Now() - counted),
      out_path);
  return kExitOk;
}

}  // namespace shardstream::cli
