// `shardstream`: the one CLI. Subcommands are thin: they parse flags into options structs and
// call the libraries.
#include <malloc.h>
#include <sys/resource.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/deadlock_detection.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"index", shardstream::cli::RunIndexCommand,
     "index JSON-lines corpus files into a RocksDB catalog (incremental, crash-safe)"},
    {"stats", shardstream::cli::RunStatsCommand,
     "show what a catalog holds: documents, duplicates, bad lines, licenses, quality"},
    {"tokenize", shardstream::cli::RunTokenizeCommand,
     "tokenize every indexed document into the catalog's token store (incremental)"},
    {"stream", shardstream::cli::RunStreamCommand,
     "stream shuffled, packed token batches of one rank (--db embedded, --server remote)"},
    {"serve", shardstream::cli::RunServeCommand,
     "the shard server daemon: token batches over gRPC"},
    {"health", shardstream::cli::RunHealthCommand,
     "ask a server's gRPC health service (what Kubernetes probes see): exit 0 if SERVING"},
    {"dedup", shardstream::cli::RunDedupCommand,
     "find near-duplicate documents (MinHash LSH) and store their clusters (incremental)"},
    {"report", shardstream::cli::RunReportCommand,
     "write one self-contained HTML page on what the catalog holds"},
    {"train-tokenizer", shardstream::cli::RunTrainTokenizerCommand,
     "train a byte-level BPE tokenizer on the indexed documents (= Hugging Face's trainer)"},
    {"dump", shardstream::cli::RunDumpCommand, "print every catalog record (debugging, diffs)"},
    {"encode", shardstream::cli::RunEncodeCommand,
     "encode text or JSON lines with a tokenizer.json (exact Hugging Face ids)"},
    {"decode", shardstream::cli::RunDecodeCommand, "decode JSON arrays of token ids to text"},
};

void PrintUsage(std::ostream& out) {
  out << "usage: shardstream <command> [flags]   (shardstream <command> --help for its flags)\n\n"
         "commands:\n";
  for (const Command& c : kCommands) {
    const std::string name = c.name;
    out << "  " << name << std::string(name.size() < 17 ? 17 - name.size() : 1, ' ') << c.summary
        << "\n";
  }
}

// Every command may hold many files open (RocksDB's table files, corpus files read in
// parallel, a daemon's connections): take the soft descriptor limit up to the hard one, as
// servers do, instead of failing at an arbitrary default of 1024.
void RaiseOpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Memory a job frees must be free for its other threads and for the system: glibc serves
// large blocks from per-thread arenas once a freed mapping has raised its mmap threshold (up to
// 32 MiB), so three threads that take turns with 100 MB of 20 MB vectors kept 300 MB. A fixed
// threshold keeps every block of 4 MiB or more in its own mapping, unmapped when freed; the
// budgets (--memory-mib) then bound resident memory, not just what is in use. (Measured on
// 80 MB of Python: tokenize time unchanged within noise, RSS 154 → 124 MB; at 1 MiB, 5-10%
// slower from the page faults of fresh mappings.)
void ReturnLargeBlocksToTheSystem() { mallopt(M_MMAP_THRESHOLD, 4 << 20); }

}  // namespace

int main(int argc, char** argv) {
  RaiseOpenFileLimit();
  ReturnLargeBlocksToTheSystem();
  shardstream::SkipMutexDeadlockDetection();
  if (argc < 2) {
    PrintUsage(std::cerr);
    return shardstream::cli::kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return shardstream::cli::kExitOk;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(args);
  }
  std::cerr << "shardstream: unknown command \"" << name << "\"\n";
  PrintUsage(std::cerr);
  return shardstream::cli::kExitUsage;
}
