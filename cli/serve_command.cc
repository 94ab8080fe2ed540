#include <malloc.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/log.h"
#include "server/catalog.h"
#include "server/catalog_follower.h"
#include "server/grpc_shard_server.h"
#include "server/index_job.h"
#include "server/near_dedup_job.h"
#include "server/tokenize_job.h"

namespace shardstream::cli {
namespace {

// A pod's start-up: index its partitions of the corpus, tokenize them into the catalog and,
// when asked, find their near duplicates (all incremental and kill -9 safe, so an evicted pod
// resumes where it stopped).
struct Preparation {
  IndexOptions index;
  TokenizeOptions tokenize;
  std::optional<NearDedupOptions> dedup;
};

// The ordinal of a StatefulSet pod from its name ("shard-3" → 3).
std::optional<uint32_t> OrdinalOf(const std::string& pod_name) {
  const size_t dash = pod_name.rfind('-');
  uint32_t ordinal;
  if (dash == std::string::npos || !absl::SimpleAtoi(pod_name.substr(dash + 1), &ordinal)) {
    return std::nullopt;
  }
  return ordinal;
}

// Runs `job` (an IndexJob or TokenizeJob), publishing "<what>: done/total files" as the
// server's preparation progress every 200 ms.
template <typename Job>
auto RunReporting(Job& job, const char* what, ShardServer* server) {
  std::atomic<bool> done{false};
  std::thread progress([&] {
    while (!done.load()) {
      const auto p = job.progress();
      server->SetPreparing(absl::StrFormat("%s: %d/%d files", what, p.files_done, p.files_total));
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  auto result = job.Run();
  done.store(true);
  progress.join();
  return result;
}

absl::Status Prepare(const std::string& db, const Preparation& p, ShardServer* server) {
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, CatalogOptions());
  if (!catalog.ok()) return catalog.status();
  IndexJob index(catalog->get(), p.index);
  absl::StatusOr<IndexSummary> indexed = RunReporting(index, "indexing", server);
  if (!indexed.ok()) return indexed.status();
  LogInfo("indexed partitions ",
          FormatPartitionSet((*catalog)->owned_partitions(), (*catalog)->partitions()), " of ",
          (*catalog)->partitions(), ": ", indexed->catalog_files, " files, ",
          indexed->catalog_docs, " docs (", indexed->files_added + indexed->files_reindexed,
          " read, ", indexed->files_unchanged, " unchanged)");
  TokenizeJob tokenize(catalog->get(), p.tokenize);
  absl::StatusOr<TokenizeSummary> s = RunReporting(tokenize, "tokenizing", server);
  if (!s.ok()) return s.status();
  if (!s->status.complete()) {
    return absl::DataLossError(absl::StrCat(s->failed.size(), " files could not be tokenized; the "
                                            "first: ", s->failed.empty() ? "" : s->failed[0].error));
  }
  LogInfo("tokenized with \"", s->tokenizer.name(), "\": ", s->files_tokenized, " files (",
          s->files_unchanged, " unchanged)");
  if (!p.dedup.has_value()) return absl::OkStatus();
  NearDedupJob dedup(catalog->get(), *p.dedup);
  absl::StatusOr<NearDedupSummary> d = RunReporting(dedup, "near-dedup", server);
  if (!d.ok()) return d.status();
  if (!d->failed.empty()) {
    return absl::DataLossError(absl::StrCat(d->failed.size(),
                                            " files could not be read for "
                                            "near-dedup; the first: ",
                                            d->failed[0].error));
  }
  LogInfo("near-dedup at Jaccard ", d->record.threshold(), ": ", d->record.near_duplicate_docs(),
          " near duplicates in ", d->record.near_duplicate_clusters(), " clusters (",
          d->files_signed, " files signed, ", d->files_unchanged, " unchanged)");
  return absl::OkStatus();
}

}  // namespace

int RunServeCommand(const std::vector<std::string>& args) {
  std::string db, own, ordinal_text, replicas_text;
  Preparation prep;
  ShardServerOptions options;
  options.listen = "127.0.0.1:7711";
  int max_streams = static_cast<int>(options.limits.max_streams);
  int grace_seconds = 10, partitions = 0, tls_reload_seconds = 60, write_timeout_seconds = 120;
  int follow_seconds = 2;
  std::string log_format = "text";
  bool own_from_ordinal = false;
  FlagParser flags(
      "shardstream serve --db DIR --listen HOST:PORT [--threads N] [--max-streams N] "
      "[--grace-seconds S] [--tls-cert F --tls-key F [--tls-client-ca F]] "
      "[--auth-token-file F] [--health-listen HOST:PORT] [--metrics-listen HOST:PORT] "
      "[--log-format text|json] [--write-timeout-seconds S] [--follow-seconds S] "
      "[--make-ahead auto|always|never] [--no-pacing] "
      "[--index-corpus PATH... --tokenizer FILE [--tokenizer-name NAME] [--source NAME] "
      "[--partitions P] [--own LIST | --own-from-ordinal [--ordinal I] [--replicas N]] "
      "[--near-dedup-threshold T] [--jobs N]]",
      "The shard server daemon: serves the catalog's token stores over gRPC\n"
      "(ShardService, proto/shardstream/v1/shard_service.proto; plus gRPC health and\n"
      "reflection). Logs `listening on HOST:PORT` once listening (port 0 picks a free\n"
      "port). SIGTERM or SIGINT: stop accepting, end open streams with UNAVAILABLE after\n"
      "their current batch (clients resume elsewhere), exit 0.\n"
      "With --index-corpus (a Kubernetes pod's start-up), it first indexes its partitions of\n"
      "the corpus and tokenizes them into --db (and with --near-dedup-threshold finds their\n"
      "near duplicates) — incrementally, so a restarted pod resumes —\n"
      "while already listening: the health service says NOT_SERVING and calls get\n"
      "UNAVAILABLE until the catalog is ready, then SERVING. --own-from-ordinal holds the\n"
      "partitions p with p mod N == i, for pod i (--ordinal, else the number at the end of\n"
      "$POD_NAME) of N (--replicas, else $SHARDSTREAM_REPLICAS).\n"
      "Security (docs/security.md): --tls-cert/--tls-key serve TLS, --tls-client-ca\n"
      "requires client certificates signed by that CA (mutual TLS); all are re-read when\n"
      "they change. --auth-token-file requires a bearer token from that file (one per line,\n"
      "re-read when it changes) on every call; it needs TLS, or a loopback --listen.\n"
      "--health-listen serves only the health service in plaintext, for probes.\n"
      "The server follows its catalog: when index or tokenize change --db, new calls get the\n"
      "new version within --follow-seconds; open streams keep theirs to their end.");
  flags.AddString("db", &db, "catalog directory (indexed and tokenized, or to prepare)");
  flags.AddString("listen", &options.listen, "address to listen on, HOST:PORT");
  flags.AddInt("threads", &options.threads,
               "threads polling for new calls (0: gRPC's default); each stream has its own");
  flags.AddInt("max-streams", &max_streams, "concurrent streams; more get RESOURCE_EXHAUSTED");
  flags.AddInt("grace-seconds", &grace_seconds,
               "on SIGTERM, cancel calls still running after this");
  flags.AddString("tls-cert", &options.security.tls_cert_file,
                  "TLS: this server's certificate chain (PEM)");
  flags.AddString("tls-key", &options.security.tls_key_file, "TLS: its private key (PEM)");
  flags.AddString("tls-client-ca", &options.security.tls_client_ca_file,
                  "mutual TLS: require client certificates signed by this CA (PEM)");
  flags.AddInt("tls-reload-seconds", &tls_reload_seconds,
               "how often the certificate files are checked for changes");
  flags.AddString("auth-token-file", &options.security.auth_token_file,
                  "require a bearer token listed in this file (one per line) on every call");
  flags.AddString("health-listen", &options.health_listen,
                  "serve only the gRPC health service here, in plaintext (probes)");
  flags.AddString("metrics-listen", &options.metrics_listen,
                  "serve Prometheus metrics at http://HOST:PORT/metrics");
  flags.AddString("log-format", &log_format, "text, or json (one object per line)");
  flags.AddInt("write-timeout-seconds", &write_timeout_seconds,
               "cancel a stream whose client took no batch for this long");
  std::string make_ahead = "auto";
  flags.AddString("make-ahead", &make_ahead,
                  "make a stream's next batches on a thread of their own while it writes: "
                  "auto (while fewer streams and ReadSequences calls are open than the cores "
                  "this process may use), "
                  "always, never");
  bool no_pacing = false;
  flags.AddBool("no-pacing", &no_pacing,
                "do not keep the ranks of a job within 2 epochs of each other (streams of one "
                "plan, seed, world size and batch size that start together are taken for one "
                "job: docs/serving.md)");
  flags.AddInt("follow-seconds", &follow_seconds,
               "check --db for new data this often (0: serve the catalog as it was at start)");
  flags.AddList("index-corpus", &prep.index.corpus_paths,
                "index these corpus paths into --db before serving (the pod start-up)");
  flags.AddString("tokenizer", &prep.tokenize.tokenizer_path,
                  "with --index-corpus: tokenize with this tokenizer.json before serving");
  flags.AddString("tokenizer-name", &prep.tokenize.name, "its name (default: from the file)");
  flags.AddString("text-field", &prep.index.text_field, "JSON field holding the document text");
  flags.AddString("source", &prep.index.source, "source label of the corpus files");
  flags.AddInt("partitions", &partitions, "P of the dataset (fixed at the first index)");
  flags.AddString("own", &own, "partitions this server holds (0-2,5 / i/N / all)");
  flags.AddBool("own-from-ordinal", &own_from_ordinal,
                "hold the partitions p mod N == i of pod i of N (a StatefulSet)");
  flags.AddString("ordinal", &ordinal_text, "i (default: the number ending $POD_NAME)");
  flags.AddString("replicas", &replicas_text, "N (default: $SHARDSTREAM_REPLICAS)");
  std::string near_dedup_threshold;
  flags.AddString("near-dedup-threshold", &near_dedup_threshold,
                  "with --index-corpus: also find near duplicates at this Jaccard threshold "
                  "(`shardstream dedup`; empty: no)");
  flags.AddInt("jobs", &prep.index.jobs, "files indexed and tokenized in parallel");
  flags.Require("db");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "serve")) return *exit_status;
  if (max_streams < 1 || grace_seconds < 0 || follow_seconds < 0 || tls_reload_seconds < 1 ||
      write_timeout_seconds < 1) {
    std::cerr << "shardstream serve: --max-streams, --tls-reload-seconds and "
                 "--write-timeout-seconds must be >= 1, --grace-seconds and --follow-seconds "
                 ">= 0\n";
    return kExitUsage;
  }
  if (log_format != "text" && log_format != "json") {
    return Fail("serve", "--log-format must be text or json", kExitUsage);
  }
  if (make_ahead == "auto") {
    options.make_ahead = ShardServerOptions::MakeAhead::kWhenCoresSpare;
  } else if (make_ahead == "always") {
    options.make_ahead = ShardServerOptions::MakeAhead::kAlways;
  } else if (make_ahead == "never") {
    options.make_ahead = ShardServerOptions::MakeAhead::kNever;
  } else {
    return Fail("serve", "--make-ahead must be auto, always or never", kExitUsage);
  }
  SetLogFormat(log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  options.security.tls_reload_interval = absl::Seconds(tls_reload_seconds);
  options.write_timeout = absl::Seconds(write_timeout_seconds);
  // Few malloc arenas: with one per stream thread, glibc keeps ~2 MiB per thread that a
  // finished stream's batches left behind (measured: 64 streams, +130 MB).
  mallopt(M_ARENA_MAX, 4);
  options.limits.max_streams = static_cast<uint32_t>(max_streams);
  options.limits.pace_jobs = !no_pacing;
  const bool preparing = !prep.index.corpus_paths.empty();
  if (preparing) {
    if (prep.tokenize.tokenizer_path.empty()) {
      return Fail("serve", "--index-corpus needs --tokenizer FILE", kExitUsage);
    }
    if (own_from_ordinal) {
      if (!own.empty()) return Fail("serve", "give --own or --own-from-ordinal, not both", kExitUsage);
      const char* pod = std::getenv("POD_NAME");
      const char* replicas_env = std::getenv("SHARDSTREAM_REPLICAS");
      if (ordinal_text.empty() && pod != nullptr) ordinal_text = pod;
      if (replicas_text.empty() && replicas_env != nullptr) replicas_text = replicas_env;
      std::optional<uint32_t> ordinal;
      uint32_t value;
      if (absl::SimpleAtoi(ordinal_text, &value)) ordinal = value;
      if (!ordinal.has_value()) ordinal = OrdinalOf(ordinal_text);
      uint32_t replicas;
      if (!ordinal.has_value() || !absl::SimpleAtoi(replicas_text, &replicas) || replicas < 1 ||
          *ordinal >= replicas) {
        return Fail("serve",
                    absl::StrCat("--own-from-ordinal needs an ordinal below the replica count "
                                 "(--ordinal or $POD_NAME like shard-2: \"",
                                 ordinal_text.substr(0, 64), "\"; --replicas or "
                                 "$SHARDSTREAM_REPLICAS: \"", replicas_text.substr(0, 16), "\")"),
                    kExitUsage);
      }
      own = absl::StrCat(*ordinal, "/", replicas);
    }
    if (partitions < 0) return Fail("serve", "--partitions must be positive", kExitUsage);
    prep.index.partitions = static_cast<uint32_t>(partitions);
    prep.index.own = own;
    prep.tokenize.jobs = prep.index.jobs;
    if (!near_dedup_threshold.empty()) {
      prep.dedup.emplace();
      prep.dedup->jobs = prep.index.jobs;
      if (!absl::SimpleAtod(near_dedup_threshold, &prep.dedup->threshold)) {
        return Fail("serve", "--near-dedup-threshold must be a number in (0, 1]", kExitUsage);
      }
      if (absl::Status s = prep.dedup->Validate(); !s.ok()) {
        return Fail("serve", s.message(), kExitUsage);
      }
    }
    if (absl::Status s = prep.index.Validate(); !s.ok()) return Fail("serve", s.message(), kExitUsage);
    if (absl::Status s = prep.tokenize.Validate(); !s.ok()) {
      return Fail("serve", s.message(), kExitUsage);
    }
  } else if (!own.empty() || own_from_ordinal || partitions != 0 ||
             !prep.tokenize.tokenizer_path.empty() || !near_dedup_threshold.empty()) {
    return Fail("serve",
                "--tokenizer, --partitions, --own, --own-from-ordinal and "
                "--near-dedup-threshold prepare a catalog: give them with --index-corpus",
                kExitUsage);
  }
  // Signals are taken by sigwait below, not by handlers: block them before threads start.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CatalogOptions read_only;
  read_only.read_only = true;
  read_only.statistics = true;  // block-cache metrics
  std::shared_ptr<const Catalog> catalog;
  if (!preparing) {  // a prepared catalog: serve it from the first call on
    absl::StatusOr<std::unique_ptr<Catalog>> opened = Catalog::Open(db, read_only);
    if (!opened.ok()) return Fail("serve", opened.status().message());
    catalog = std::move(*opened);
  }
  absl::StatusOr<std::unique_ptr<ShardServer>> server = ShardServer::StartPreparing(options);
  if (server.ok() && catalog != nullptr) (*server)->Serve(catalog);
  if (!server.ok()) {
    return Fail("serve", server.status().message(),
                absl::IsInvalidArgument(server.status()) ? kExitUsage : kExitFailed);
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  // New catalog versions under --db are served from the next call on.
  std::unique_ptr<CatalogFollower> follower;
  auto follow = [&](std::shared_ptr<const Catalog> from) {
    if (follow_seconds == 0) return;
    ShardServer* s = server->get();
    follower = std::make_unique<CatalogFollower>(
        std::move(from), read_only, absl::Seconds(follow_seconds),
        [s](std::shared_ptr<const Catalog> next) {
          LogInfo("catalog changed: serving version ", next->version().ToHex().substr(0, 16),
                  " to new calls (", next->files().size(), " files)");
          s->Serve(std::move(next));
        });
  };
  if (!preparing) {
    LogInfo("listening on ", host, ":", (*server)->port(), " (catalog ", db, ", version ",
            catalog->version().ToHex().substr(0, 16), ")");
    follow(catalog);
  } else {
    LogInfo("listening on ", host, ":", (*server)->port(),
            " (preparing ", db, ": NOT_SERVING until it is indexed and tokenized)");
  }
  // Logged after `listening on` (the first line, which scripts wait for).
  if (!options.health_listen.empty()) {
    LogInfo("health probes on ", options.health_listen.substr(0, options.health_listen.rfind(':')),
            ":", (*server)->health_port(), " (plaintext, health service only)");
  }
  if (!options.metrics_listen.empty()) {
    LogInfo("metrics on http://",
            options.metrics_listen.substr(0, options.metrics_listen.rfind(':')), ":",
            (*server)->metrics_port(), "/metrics");
  }
  // Preparing runs beside the signal wait, so SIGTERM stops a pod at any time (the jobs are
  // resumable: the next start continues).
  std::atomic<int> outcome{preparing ? 0 : 1};  // 0 preparing, 1 serving, 2 failed
  std::thread preparer;
  if (preparing) {
    preparer = std::thread([&] {
      absl::Status s = Prepare(db, prep, server->get());
      absl::StatusOr<std::unique_ptr<Catalog>> opened =
          s.ok() ? Catalog::Open(db, read_only) : absl::StatusOr<std::unique_ptr<Catalog>>(s);
      if (!opened.ok()) {
        std::cerr << "shardstream serve: preparing " << db << ": " << opened.status().message()
                  << "\n";
        outcome.store(2);
        kill(getpid(), SIGTERM);
        return;
      }
      catalog = std::move(*opened);
      (*server)->Serve(catalog);
      follow(catalog);
      outcome.store(1);
      LogInfo("serving ", db, " (version ", catalog->version().ToHex().substr(0, 16),
              ", partitions ",
              FormatPartitionSet(catalog->owned_partitions(), catalog->partitions()), " of ",
              catalog->partitions(), ")");
    });
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  if (outcome.load() == 0) {
    // Still preparing: the index and tokenize jobs are safe to stop anywhere.
    LogInfo("signal ", signal_number, " while preparing: stopping (the next start resumes)");
    (*server)->Shutdown(absl::Seconds(0));
    std::_Exit(kExitOk);
  }
  if (preparer.joinable()) preparer.join();
  if (outcome.load() == 2) {
    (*server)->Shutdown(absl::Seconds(0));
    (*server)->Wait();
    return kExitFailed;
  }
  follower.reset();
  LogInfo("signal ", signal_number, ": draining ", (*server)->active_streams(), " streams");
  (*server)->Shutdown(absl::Seconds(grace_seconds));
  (*server)->Wait();
  LogInfo("stopped");
  return kExitOk;
}

}  // namespace shardstream::cli
