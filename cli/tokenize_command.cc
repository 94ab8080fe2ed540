#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/progress_line.h"
#include "server/catalog.h"
#include "server/tokenize_job.h"

namespace shardstream::cli {

int RunTokenizeCommand(const std::vector<std::string>& args) {
  std::string db;
  TokenizeOptions options;
  FlagParser flags(
      "shardstream tokenize --db DIR --tokenizer FILE [--merges merges.txt] [--name NAME] "
      "[--eos TOKEN] [--jobs N] [--memory-mib M]",
      "Tokenizes every indexed document into the catalog's token store for this tokenizer\n"
      "(ordinary mode: special-token strings in the data stay text). Re-running tokenizes only\n"
      "what `index` added or changed; interrupting is safe. Several tokenizers can coexist.");
  flags.AddString("db", &db, "catalog directory (built by `shardstream index`)");
  flags.AddString("tokenizer", &options.tokenizer_path, "tokenizer.json (or GPT-2 vocab.json)");
  flags.AddString("merges", &options.merges_path, "merges.txt, with a vocab.json --tokenizer");
  flags.AddString("name", &options.name, "friendly name (default: from the file name)");
  flags.AddString("eos", &options.eos,
                  "token appended after each document (default: <|endoftext|> or the first "
                  "special token)");
  flags.AddInt("jobs", &options.jobs, "files tokenized in parallel");
  int memory_mib = 0;
  flags.AddInt("memory-mib", &memory_mib,
               "memory budget, MiB: the catalog's memtables and cache, each job's buffers and "
               "the files being tokenized, by their longest line and document (a file waits "
               "for its share). Default: 1024, or what the largest file and --jobs need");
  flags.Require("db");
  flags.Require("tokenizer");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "tokenize")) return *exit_status;
  options.memory_bytes = static_cast<size_t>(std::max(memory_mib, 0)) << 20;  // 0: the default
  if (absl::Status s = options.Validate(); !s.ok()) {
    return Fail("tokenize", s.message(), kExitUsage);
  }
  CatalogOptions catalog_options = options.CatalogMemory();
  catalog_options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, catalog_options);
  if (!catalog.ok()) {
    return Fail("tokenize", catalog.status().message());
  }
  TokenizeJob job(catalog->get(), options);
  absl::StatusOr<TokenizeSummary> result;
  {
    ProgressLine progress([&job] {
      TokenizeProgress p = job.progress();
      return absl::StrFormat("tokenizing: %d/%d files, %d docs, %s of text", p.files_done,
                             p.files_total, p.docs, Mib(p.text_bytes));
    });
    result = job.Run();
  }
  if (!result.ok()) {
    return Fail("tokenize", result.status().message(),
                absl::IsInvalidArgument(result.status()) ? kExitUsage : kExitFailed);
  }
  const TokenizeSummary& s = *result;
  for (const FileProblem& p : s.failed)
    std::cerr << "warning: not tokenized: " << p.path << ": " << p.error << "\n";
  std::cout << absl::StrFormat(
      "tokenized %d files (%d unchanged, %d dropped, %d failed): %d docs, %s of text, %d "
      "tokens, %.2f s (setup %.2f s, flush %.2f s; %.1f MB/s in between); tokenizer \"%s\" (%s, "
      "EOS %d): %d/%d files, %d docs, %d "
      "tokens%s\n",
      s.files_tokenized, s.files_unchanged, s.files_dropped, s.failed.size(), s.docs,
      Mib(s.text_bytes), s.tokens, s.seconds, s.setup_seconds, s.flush_seconds,
      s.text_bytes / 1e6 / std::max(1e-9, s.seconds - s.setup_seconds - s.flush_seconds),
      s.tokenizer.name(), FingerprintOf(s.tokenizer).ToHex().substr(0, 16), s.tokenizer.eos_id(),
      s.status.files_done, s.status.files, s.status.docs, s.status.tokens,
      s.status.complete() ? ", complete" : ", INCOMPLETE");
  return s.status.complete() ? kExitOk : kExitFailed;
}

}  // namespace shardstream::cli
