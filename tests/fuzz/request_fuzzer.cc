// Request validation: any bytes, read as a StreamRequest, PlanRequest, SequencesRequest or
// DecodeRequest (the first byte chooses), against a real catalog with a real token store. The
// logic must answer each with batches or a status that says what is wrong, never crash; a
// stream is pulled for at most a few batches.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/index_job.h"
#include "server/shard_service_logic.h"
#include "server/tokenize_job.h"

namespace {

using shardstream::Catalog;

Catalog* MakeCatalog() {
  const std::string dir = absl::StrCat(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                                       "/shardstream-request-fuzz-", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/corpus");
  for (int f = 0; f < 3; ++f) {
    std::ofstream out(absl::StrCat(dir, "/corpus/f", f, ".jsonl"));
    for (int d = 0; d < 20; ++d) {
      out << "{\"content\":\"def f" << f << "_" << d << "(x):\\n    return x * " << d << "\\n\"}\n";
    }
    out << "{\"content\":\"def f0_0(x):\\n    return x * 0\\n\"}\n";  // an exact duplicate
  }
  absl::StatusOr<std::unique_ptr<Catalog>> writable = Catalog::Open(dir + "/db", {});
  if (!writable.ok()) std::abort();
  shardstream::IndexOptions index;
  index.corpus_paths = {dir + "/corpus"};
  if (!shardstream::IndexJob(writable->get(), index).Run().ok()) std::abort();
  shardstream::TokenizeOptions tokenize;
  tokenize.tokenizer_path = SHARDSTREAM_TEST_DATA_DIR "/gpt2/tokenizer.json";
  if (!shardstream::TokenizeJob(writable->get(), tokenize).Run().ok()) std::abort();
  writable->reset();
  shardstream::CatalogOptions read_only;
  read_only.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(dir + "/db", read_only);
  if (!catalog.ok()) std::abort();
  return catalog->release();
}

void CheckError(const absl::Status& status) {
  if (!status.ok() && status.message().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Catalog* catalog = MakeCatalog();
  static auto* logic = [] {
    shardstream::ServerLimits limits;
    limits.max_streams = 4;
    limits.max_seq_len = 1 << 12;
    limits.max_batch_tokens = 1 << 14;
    return new shardstream::ShardServiceLogic(catalog, limits);
  }();
  if (size == 0) return 0;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const int n = static_cast<int>(size - 1);
  switch (data[0] % 4) {
    case 0: {
      shardstream::v1::StreamRequest request;
      if (!request.ParseFromArray(bytes, n)) return 0;
      auto stream = logic->OpenStream(request);
      CheckError(stream.status());
      if (!stream.ok()) return 0;
      shardstream::v1::Batch batch;
      for (int i = 0; i < 3; ++i) {
        absl::StatusOr<bool> more = (*stream)->Next(&batch);
        CheckError(more.status());
        if (!more.ok() || !*more) break;
      }
      return 0;
    }
    case 1: {
      shardstream::v1::PlanRequest request;
      if (request.ParseFromArray(bytes, n)) CheckError(logic->GetPlan(request).status());
      return 0;
    }
    case 2: {
      shardstream::v1::SequencesRequest request;
      if (request.ParseFromArray(bytes, n)) CheckError(logic->ReadSequences(request).status());
      return 0;
    }
    default: {
      shardstream::v1::DecodeRequest request;
      if (request.ParseFromArray(bytes, n)) CheckError(logic->Decode(request).status());
      return 0;
    }
  }
}
