#include "server/grpc_shard_server.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/server_info.h"
#include "client/server_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/batches_ahead.h"
#include "server/index_job.h"
#include "server/local_stream.h"
#include "server/stream_pacer.h"
#include "server/tokenize_job.h"
#include "shardstream/v1/shard_service.grpc.pb.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

// A real server on 127.0.0.1 port 0 over a small indexed and tokenized corpus.
class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string lines;
    for (int i = 0; i < 200; ++i) {
      lines += absl::StrCat(R"({"content": "def f)", i, R"((x):\n    return x * )", i,
                            R"( + 1  # some words to make the document longer\n"})", "\n");
    }
    WriteFile(dir_.Path("corpus/a.jsonl"), lines);
    {
      auto writer = Catalog::Open(dir_.Path("db"), {});
      ASSERT_TRUE(writer.ok());
      IndexOptions index;
      index.corpus_paths = {dir_.Path("corpus")};
      ASSERT_TRUE(IndexJob(writer->get(), index).Run().ok());
      TokenizeOptions tokenize;
      tokenize.tokenizer_path = std::string(SHARDSTREAM_TEST_DATA_DIR) + "/gpt2/tokenizer.json";
      ASSERT_TRUE(TokenizeJob(writer->get(), tokenize).Run().ok());
    }
    CatalogOptions read_only;
    read_only.read_only = true;
    auto catalog = Catalog::Open(dir_.Path("db"), read_only);
    ASSERT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
  }

  void StartServer(uint32_t max_streams = 8, ShardServerOptions options = {}) {
    options.limits.max_streams = max_streams;
    options.limits.max_batch_tokens = 1 << 16;
    auto server = ShardServer::Start(catalog_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
    stub_ = v1::ShardService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  static v1::StreamRequest Request() {
    v1::StreamRequest r;
    r.set_tokenizer("gpt2");
    r.set_seq_len(32);
    r.set_batch_size(2);
    r.set_seed(1);
    return r;
  }

  // Whether a new stream of Request() gets its first batch (then cancelled).
  bool NewStreamGivesABatch() {
    grpc::ClientContext context;
    auto call = stub_->StreamBatches(&context, Request());
    v1::Batch batch;
    const bool read = call->Read(&batch);
    context.TryCancel();
    call->Finish();
    return read;
  }

  // Whether the server's open streams drop to none within `within` (polled).
  bool NoStreamsWithin(absl::Duration within) {
    const absl::Time deadline = absl::Now() + within;
    while (server_->active_streams() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return server_->active_streams() == 0;
  }

  // The status of a stream that is expected to fail before its first batch.
  grpc::Status StreamStatus(const v1::StreamRequest& request) {
    grpc::ClientContext context;
    auto call = stub_->StreamBatches(&context, request);
    v1::Batch batch;
    while (call->Read(&batch)) {
    }
    return call->Finish();
  }

  TempDir dir_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ShardServer> server_;
  std::unique_ptr<v1::ShardService::Stub> stub_;
};

// Twelve requests at once for three new plans (and three for an unknown tokenizer): each plan
// is built once and every waiter gets the result of its build.
TEST_F(GrpcServerTest, ConcurrentRequestsBuildEachNewPlanOnce) {
  ShardServiceLogic logic(catalog_.get(), ServerLimits());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, not_found{0};
  for (int t = 0; t < 15; ++t) {
    threads.emplace_back([&, t] {
      v1::PlanRequest request;
      request.set_tokenizer(t < 12 ? "gpt2" : "no-such-tokenizer");
      request.set_seq_len(16 * (1 + t % 3));
      absl::StatusOr<v1::PlanResponse> plan = logic.GetPlan(request);
      if (plan.ok() && plan->parts_size() > 0) ++ok;
      if (absl::IsNotFound(plan.status())) ++not_found;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(not_found.load(), 3);
  EXPECT_EQ(logic.plans_cached(), 3u);
  EXPECT_EQ(logic.selections_cached(), 1u);  // the three seq_lens share what gpt2 keeps
  // 3 plans and 3 failed builds (one per unknown key; a failure is not kept).
  EXPECT_EQ(logic.plans_built(), 6u);
  const uint64_t built = logic.plans_built();
  v1::PlanRequest again;
  again.set_tokenizer("gpt2");
  again.set_seq_len(32);
  ASSERT_TRUE(logic.GetPlan(again).ok());
  EXPECT_EQ(logic.plans_built(), built);  // kept
}

TEST_F(GrpcServerTest, GetInfoDescribesTheCatalog) {
  StartServer();
  grpc::ClientContext context;
  v1::GetInfoResponse info;
  ASSERT_TRUE(stub_->GetInfo(&context, v1::GetInfoRequest(), &info).ok());
  EXPECT_EQ(info.docs(), 200u);
  EXPECT_EQ(info.dataset_version(), catalog_->version().ToHex());
  ASSERT_EQ(info.tokenizers_size(), 1);
  EXPECT_EQ(info.tokenizers(0).name(), "gpt2");
  EXPECT_TRUE(info.tokenizers(0).ready());
  EXPECT_EQ(info.tokenizers(0).eos_id(), 50256u);
}

// At two seq_lens: the second plan shares the first one's selection (no record read again).
// With the batches made ahead on a thread of their own, and made in turn.
TEST_F(GrpcServerTest, StreamsWhatTheEmbeddedStreamGives) {
  for (const auto& [make_ahead, seq_len] :
       {std::pair{ShardServerOptions::MakeAhead::kAlways, 32u},
        std::pair{ShardServerOptions::MakeAhead::kAlways, 48u},
        std::pair{ShardServerOptions::MakeAhead::kNever, 32u},
        std::pair{ShardServerOptions::MakeAhead::kNever, 48u}}) {
    SCOPED_TRACE(absl::StrCat(seq_len, make_ahead == ShardServerOptions::MakeAhead::kAlways
                                           ? " made ahead"
                                           : " made in turn"));
    ShardServerOptions server_options;
    server_options.make_ahead = make_ahead;
    StartServer(8, server_options);
    v1::StreamRequest request = Request();
    request.set_seq_len(seq_len);
    request.set_epochs(1);
    grpc::ClientContext context;
    auto call = stub_->StreamBatches(&context, request);
    PlanSpec spec;
    spec.parts.tokenizer = "gpt2";
    spec.parts.seq_len = seq_len;
    spec.seed = 1;
    StreamOptions options;
    options.rank.batch_size = 2;
    options.rank.epochs = 1;
    auto local = LocalStream::Open({catalog_.get()}, spec, options);
    ASSERT_TRUE(local.ok());
    v1::Batch remote;
    Batch expected;
    size_t batches = 0;
    while (call->Read(&remote)) {
      ASSERT_TRUE(*(*local)->Next(&expected));
      ASSERT_EQ(remote.dtype(), v1::TOKEN_DTYPE_UINT16);
      ASSERT_EQ(remote.seq_len(), seq_len);
      ASSERT_EQ(remote.tokens().size(), expected.tokens.size() * 2);
      for (size_t i = 0; i < expected.tokens.size(); ++i) {
        const auto* p = reinterpret_cast<const uint8_t*>(remote.tokens().data());
        ASSERT_EQ(p[2 * i] | (p[2 * i + 1] << 8), expected.tokens[i]);
      }
      EXPECT_EQ(remote.cursor(), expected.cursor);
      ++batches;
    }
    EXPECT_TRUE(call->Finish().ok());
    EXPECT_FALSE(*(*local)->Next(&expected));  // the epoch ended on both sides
    EXPECT_GT(batches, 10u);
  }
}

// The ranks of a job are paced (StreamPacer): rank 0 read as fast as it can never gets a batch
// more than 2 epochs past rank 1, read slowly; with pacing off, it runs ahead to its end.
TEST_F(GrpcServerTest, TheRanksOfAJobStayWithinTwoEpochs) {
  for (const bool paced : {true, false}) {
    SCOPED_TRACE(paced);
    ServerLimits limits;
    limits.pace_jobs = paced;
    ShardServiceLogic logic(catalog_.get(), limits);
    v1::StreamRequest request = Request();
    request.set_world_size(2);
    request.set_epochs(10);
    auto rank0 = logic.OpenStream(request);
    request.set_rank(1);
    auto rank1 = logic.OpenStream(request);
    ASSERT_TRUE(rank0.ok() && rank1.ok());
    std::atomic<uint64_t> fastest{0};  // the last epoch rank 0 got
    std::thread fast([&] {
      v1::Batch batch;
      while (*(*rank0)->Next(&batch)) fastest = batch.epoch();
    });
    uint64_t most_ahead = 0, batches = 0;
    v1::Batch batch;
    while (*(*rank1)->Next(&batch)) {
      const uint64_t ahead = fastest.load() - std::min(fastest.load(), batch.epoch());
      most_ahead = std::max(most_ahead, ahead);
      if (paced) {
        ASSERT_LE(ahead, StreamPacer::kMostEpochsAhead) << "rank 1 at epoch " << batch.epoch();
      }
      ++batches;
      absl::SleepFor(absl::Milliseconds(2));  // slow, but never stalled (1 s)
    }
    fast.join();
    EXPECT_GT(batches, 50u);
    if (paced) {
      EXPECT_GE(most_ahead, 1u);  // held back, not stopped
    } else {
      EXPECT_GT(most_ahead, StreamPacer::kMostEpochsAhead);
    }
  }
}

// BatchesAhead gives a stream's batches in order however they are made: on its thread a group
// ahead, in the caller's thread, or switching between the two (spare_core() changing), to the
// stream's end.
TEST_F(GrpcServerTest, BatchesMadeAheadAreTheStreamsBatches) {
  ShardServiceLogic logic(catalog_.get(), ServerLimits());
  v1::StreamRequest request = Request();
  request.set_epochs(2);
  auto direct = logic.OpenStream(request);
  ASSERT_TRUE(direct.ok()) << direct.status();
  std::vector<std::string> expected;
  v1::Batch batch;
  while (*(*direct)->Next(&batch)) expected.push_back(batch.SerializeAsString());
  direct->reset();
  ASSERT_GT(expected.size(), 3 * BatchesAhead::kMostGroup);
  for (const int pattern : {0, 1, 2}) {  // always ahead; never; ahead 2 groups in 3
    SCOPED_TRACE(pattern);
    auto stream = logic.OpenStream(request);
    ASSERT_TRUE(stream.ok());
    int asked = 0;
    BatchesAhead ahead(stream->get(), [&] {
      ++asked;
      return pattern == 0 || (pattern == 2 && asked % 3 != 0);
    });
    for (size_t i = 0; i < expected.size(); ++i) {
      absl::StatusOr<const v1::Batch*> next = ahead.Next();
      ASSERT_TRUE(next.ok()) << next.status();
      ASSERT_NE(*next, nullptr) << i;
      ASSERT_EQ((*next)->SerializeAsString(), expected[i]) << i;
    }
    absl::StatusOr<const v1::Batch*> end = ahead.Next();
    ASSERT_TRUE(end.ok());
    EXPECT_EQ(*end, nullptr);
    if (pattern == 1) {
      EXPECT_EQ(ahead.made_ahead(), 0u);
    } else {
      EXPECT_GT(ahead.made_ahead(), expected.size() / 2);
      EXPECT_LT(ahead.made_ahead(), expected.size());  // the first batch is made here
    }
  }
}

TEST_F(GrpcServerTest, Int32DtypeCarriesTheSameIds) {
  StartServer();
  std::vector<std::string> payloads;
  for (v1::TokenDtype dtype : {v1::TOKEN_DTYPE_UINT16, v1::TOKEN_DTYPE_INT32}) {
    v1::StreamRequest request = Request();
    request.set_dtype(dtype);
    grpc::ClientContext context;
    auto call = stub_->StreamBatches(&context, request);
    v1::Batch batch;
    ASSERT_TRUE(call->Read(&batch));
    EXPECT_EQ(batch.dtype(), dtype);
    payloads.push_back(batch.tokens());
    context.TryCancel();
    call->Finish();
  }
  ASSERT_EQ(payloads[1].size(), 2 * payloads[0].size());
  for (size_t i = 0; i < payloads[0].size() / 2; ++i) {
    const auto* a = reinterpret_cast<const uint8_t*>(payloads[0].data()) + 2 * i;
    const auto* b = reinterpret_cast<const uint8_t*>(payloads[1].data()) + 4 * i;
    ASSERT_EQ(a[0] | (a[1] << 8), b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) << i;
  }
}

TEST_F(GrpcServerTest, InvalidRequestsGetTheirExactCodes) {
  StartServer();
  v1::StreamRequest r = Request();
  r.set_seq_len(0);
  EXPECT_EQ(StreamStatus(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  r = Request();
  r.set_world_size(2);
  r.set_rank(2);
  grpc::Status s = StreamStatus(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("rank 2"));
  r = Request();
  r.set_batch_size(4096);  // × 32 tokens is above the server's 65,536-token batch limit
  s = StreamStatus(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("limit"));
  r = Request();
  r.set_tokenizer("nope");
  EXPECT_EQ(StreamStatus(r).error_code(), grpc::StatusCode::NOT_FOUND);
  r = Request();
  r.set_start_cursor("garbage");
  EXPECT_EQ(StreamStatus(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  r = Request();
  r.set_start_cursor("ss2.00000000.00000000.00000000.00000000.32.1.0.0");
  s = StreamStatus(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("data version"));
  r = Request();
  r.set_seq_len(1 << 15);
  r.set_batch_size(1);
  EXPECT_EQ(StreamStatus(r).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // too little data
  r = Request();
  r.set_filter_preset("bogus");
  EXPECT_EQ(StreamStatus(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  r = Request();
  r.set_mix("default=");
  EXPECT_EQ(StreamStatus(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  r = Request();
  r.set_mix("python=1");
  s = StreamStatus(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("python"));
}

TEST_F(GrpcServerTest, ReadSequencesGivesTheRowsOfTheEmbeddedStream) {
  StartServer();
  v1::PlanRequest plan;
  plan.set_tokenizer("gpt2");
  plan.set_seq_len(32);
  v1::PlanResponse info;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetPlan(&context, plan, &info).ok());
  }
  ASSERT_EQ(info.partitions(), 1u);
  ASSERT_EQ(info.parts_size(), 1);
  EXPECT_EQ(info.parts(0).source(), "default");
  // One part: global sequence k of epoch 0 is the part's sequence k, so rows 0..5 of a
  // single-rank stream with batch 2 are sequences 0..5.
  v1::SequencesRequest request;
  *request.mutable_plan() = plan;
  request.set_seed(1);
  request.set_source("default");
  request.set_partition(0);
  request.set_version_hi(info.parts(0).version_hi());
  request.set_version_lo(info.parts(0).version_lo());
  v1::SequenceRun* run = request.add_runs();
  run->set_epoch(0);
  run->set_first(0);
  run->set_count(6);
  v1::SequencesResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ReadSequences(&context, request, &response).ok());
  }
  std::string streamed;
  {
    grpc::ClientContext context;
    auto call = stub_->StreamBatches(&context, Request());
    v1::Batch batch;
    for (int i = 0; i < 3 && call->Read(&batch); ++i) streamed += batch.tokens();
    context.TryCancel();
    call->Finish();
  }
  EXPECT_EQ(response.tokens(), streamed);
  EXPECT_EQ(response.sequences(), 6u);

  // Another version, another part, out of range, too many: each its code.
  auto status_of = [&](const v1::SequencesRequest& r) {
    grpc::ClientContext context;
    v1::SequencesResponse out;
    return stub_->ReadSequences(&context, r, &out);
  };
  v1::SequencesRequest r = request;
  r.set_version_lo(r.version_lo() ^ 1);
  EXPECT_EQ(status_of(r).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  r = request;
  r.set_source("python");
  EXPECT_EQ(status_of(r).error_code(), grpc::StatusCode::NOT_FOUND);
  r = request;
  r.mutable_runs(0)->set_first(info.parts(0).sequences());
  EXPECT_EQ(status_of(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  r = request;
  r.mutable_runs(0)->set_count(3000);  // × 32 tokens is above the 65,536-token limit
  grpc::Status too_many = status_of(r);
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_many.error_message(), HasSubstr("fewer"));
}

// Also for a stream whose batches are made ahead: cancelled, it stops its thread and ends.
TEST_F(GrpcServerTest, StreamLimitIsResourceExhaustedAndFreedOnCancel) {
  for (const auto make_ahead :
       {ShardServerOptions::MakeAhead::kNever, ShardServerOptions::MakeAhead::kAlways}) {
    ShardServerOptions server_options;
    server_options.make_ahead = make_ahead;
    StartServer(/*max_streams=*/1, server_options);
    auto context = std::make_unique<grpc::ClientContext>();
    auto first = stub_->StreamBatches(context.get(), Request());
    v1::Batch batch;
    ASSERT_TRUE(first->Read(&batch));
    grpc::Status s = StreamStatus(Request());
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(), HasSubstr("another server"));
    context->TryCancel();
    first->Finish();
    // The slot comes back once the server notices the cancellation.
    EXPECT_TRUE(NoStreamsWithin(absl::Seconds(2)));
    EXPECT_TRUE(NewStreamGivesABatch());
  }
}

TEST_F(GrpcServerTest, ShutdownEndsOpenStreamsWithUnavailable) {
  StartServer();
  grpc::ClientContext context;
  auto call = stub_->StreamBatches(&context, Request());
  v1::Batch batch;
  ASSERT_TRUE(call->Read(&batch));
  server_->Shutdown(absl::Seconds(5));
  while (call->Read(&batch)) {
  }
  EXPECT_EQ(call->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  server_->Wait();
}

// What Kubernetes' gRPC probes see (the client library's CheckHealth).
Health HealthOf(int port) {
  absl::StatusOr<Health> h = CheckHealth(absl::StrCat("127.0.0.1:", port), absl::Seconds(10));
  EXPECT_TRUE(h.ok()) << h.status();
  return h.value_or(Health::kUnknown);
}

TEST_F(GrpcServerTest, HealthServiceSaysServing) {
  StartServer();
  EXPECT_EQ(HealthOf(server_->port()), Health::kServing);
}

TEST_F(GrpcServerTest, DecodeReturnsTheText) {
  StartServer();
  v1::DecodeRequest request;
  request.set_tokenizer("gpt2");
  for (uint32_t id : {4299, 277, 33529, 1441, 352}) request.add_ids(id);
  v1::DecodeResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->Decode(&context, request, &response).ok());
  EXPECT_EQ(response.text(), "def f(): return 1");
}

}  // namespace
}  // namespace shardstream

namespace shardstream {
namespace {

TEST_F(GrpcServerTest, APreparingServerIsNotServingUntilItServesACatalog) {
  ShardServerOptions options;
  auto server = ShardServer::StartPreparing(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_EQ(HealthOf(port), Health::kNotServing);
  (*server)->SetPreparing("indexing: 3/40 files");
  auto stub = v1::ShardService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  v1::GetInfoResponse info;
  {
    grpc::ClientContext context;
    grpc::Status s = stub->GetInfo(&context, v1::GetInfoRequest(), &info);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(s.error_message(), HasSubstr("indexing: 3/40 files"));
  }
  (*server)->Serve(catalog_.get());
  EXPECT_EQ(HealthOf(port), Health::kServing);
  grpc::ClientContext context;
  EXPECT_TRUE(stub->GetInfo(&context, v1::GetInfoRequest(), &info).ok());
  EXPECT_EQ(info.tokenizers(0).name(), "gpt2");
}

}  // namespace
}  // namespace shardstream

namespace shardstream {
namespace {

TEST_F(GrpcServerTest, SecondServerOnTheSamePortRefusesToStart) {
  StartServer();
  ShardServerOptions options;
  options.listen = absl::StrCat("127.0.0.1:", server_->port());
  auto second = ShardServer::Start(catalog_.get(), options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen"));
}

TEST_F(GrpcServerTest, ALongTokenizerNameIsCutAndNoServerPathIsShown) {
  StartServer();
  v1::PlanRequest plan;
  plan.set_tokenizer(std::string(20000, 'n'));
  plan.set_seq_len(32);
  v1::PlanResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->GetPlan(&context, plan, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);  // not RESOURCE_EXHAUSTED
  EXPECT_LT(s.error_message().size(), 300u);
  EXPECT_THAT(s.error_message(), HasSubstr("available: gpt2"));
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr(dir_.path())));
}

}  // namespace
}  // namespace shardstream

namespace shardstream {
namespace {

// Finding: clients that stopped reading (SIGSTOPped, say) held every slot of --max-streams
// forever. Now a Write() blocked longer than the write timeout cancels its stream.
TEST_F(GrpcServerTest, StalledClientsReleaseTheirSlots) {
  ShardServerOptions options;
  options.write_timeout = absl::Milliseconds(300);
  StartServer(/*max_streams=*/2, options);
  v1::StreamRequest big = Request();
  big.set_seq_len(64);
  big.set_batch_size(64);  // 16 KiB per batch: the flow-control windows fill after some
  big.set_dtype(v1::TOKEN_DTYPE_INT32);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Batch>>> stalled;
  v1::Batch batch;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    stalled.push_back(stub_->StreamBatches(contexts.back().get(), big));
    ASSERT_TRUE(stalled.back()->Read(&batch)) << stalled.back()->Finish().error_message();
    // ... and never read again
  }
  EXPECT_EQ(StreamStatus(Request()).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The server cancels both once their writes have been blocked for 300 ms.
  ASSERT_TRUE(NoStreamsWithin(absl::Seconds(10)));
  EXPECT_TRUE(NewStreamGivesABatch());
  for (auto& context : contexts) context->TryCancel();
  for (auto& call : stalled) {
    while (call->Read(&batch)) {
    }
    grpc::Status s = call->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  }
}

// GET http://127.0.0.1:port/metrics over a plain socket: the Prometheus text.
std::string ScrapeMetrics(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, n);
  close(fd);
  return response;
}

TEST_F(GrpcServerTest, EachStreamLogsOneLineWhenItOpensAndOneWhenItEnds) {
  ShardServerOptions options;
  options.metrics_listen = "127.0.0.1:0";
  StartServer(8, options);
  v1::StreamRequest r = Request();
  r.set_epochs(1);
  ::testing::internal::CaptureStderr();
  grpc::ClientContext context;
  auto call = stub_->StreamBatches(&context, r);
  v1::Batch batch;
  int batches = 0;
  uint64_t tokens = 0;
  while (call->Read(&batch)) {
    ++batches;
    tokens += uint64_t{batch.rows()} * batch.seq_len();
  }
  ASSERT_TRUE(call->Finish().ok());
  // The end line is written before the status reaches the client.
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("stream opened peer=ipv4:127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr("rank=0/1 tokenizer=gpt2 seq_len=32 batch_size=2"));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("stream ended peer=")));
  EXPECT_THAT(log, HasSubstr(absl::StrCat(" batches=", batches, " tokens=", tokens, " ")));
  EXPECT_THAT(log, HasSubstr("status=OK"));
  EXPECT_GT(batches, 1);
  // The metrics count the same stream.
  const std::string metrics = ScrapeMetrics(server_->metrics_port());
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("\nshardstream_batches_total ", batches, "\n")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat(
                           "\nshardstream_tokens_served_total{rpc=\"StreamBatches\"} ", tokens)));
  EXPECT_THAT(metrics, HasSubstr("\nshardstream_streams_total{code=\"OK\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nshardstream_streams_open 0\n"));
  EXPECT_THAT(metrics, HasSubstr("\nshardstream_time_to_first_batch_seconds_count 1\n"));
}

// Finding: a RESOURCE_EXHAUSTED that no retry can cure (a message over a size limit) was
// retried for the whole retry deadline. Only the server's stream limit is retried now, and
// (finding: 64 Reader clients starting at once against --max-streams 72 failed) gRPC's full
// thread pool, whose refusal is a fixed text of gRPC's synchronous server.
TEST_F(GrpcServerTest, ResourceExhaustedIsRetriedOnlyForTheStreamLimitAndAFullThreadPool) {
  StartServer(/*max_streams=*/1);
  grpc::ClientContext context;
  auto first = stub_->StreamBatches(&context, Request());
  v1::Batch batch;
  ASSERT_TRUE(first->Read(&batch));
  const grpc::Status limit = StreamStatus(Request());
  ASSERT_EQ(limit.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(IsRetryable(limit));
  context.TryCancel();
  first->Finish();
  grpc::ChannelArguments tiny;
  tiny.SetMaxReceiveMessageSize(16);
  auto small = v1::ShardService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials(), tiny));
  grpc::ClientContext info_context;
  v1::GetInfoResponse info;
  const grpc::Status too_big = small->GetInfo(&info_context, v1::GetInfoRequest(), &info);
  ASSERT_EQ(too_big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << too_big.error_message();
  EXPECT_FALSE(IsRetryable(too_big));
  EXPECT_TRUE(IsRetryable(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Server Threadpool Exhausted")));
  EXPECT_FALSE(IsRetryable(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Server Threadpool Exhausted again")));
  EXPECT_TRUE(IsRetryable(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")));
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")));
}

// The probe port (--health-listen) answers what the main port's health service answers:
// NOT_SERVING while preparing, SERVING, NOT_SERVING while draining.
TEST_F(GrpcServerTest, TheProbePortFollowsPreparingServingAndDraining) {
  ShardServerOptions options;
  options.health_listen = "127.0.0.1:0";
  options.limits.max_batch_tokens = 1 << 16;
  auto server = ShardServer::StartPreparing(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string probe = absl::StrCat("127.0.0.1:", (*server)->health_port());
  ASSERT_NE(probe, absl::StrCat("127.0.0.1:", (*server)->port()));
  EXPECT_EQ(*CheckHealth(probe, absl::Seconds(5)), Health::kNotServing);
  (*server)->Serve(catalog_.get());
  EXPECT_EQ(*CheckHealth(probe, absl::Seconds(5)), Health::kServing);
  // A stream whose client does not read keeps the drain going for its grace period. Without
  // BDP probing the client's receive window stays at its initial 64 KiB, so the server's writes
  // block within a few batches however fast it produces them (with probing, a server slowed
  // down by a sanitizer never filled the grown window, saw the drain between two batches and
  // ended the stream at once).
  grpc::ChannelArguments fixed_window;
  fixed_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stub = v1::ShardService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                grpc::InsecureChannelCredentials(), fixed_window));
  v1::StreamRequest big = Request();
  big.set_seq_len(64);
  big.set_batch_size(64);
  grpc::ClientContext context;
  auto call = stub->StreamBatches(&context, big);
  v1::Batch batch;
  ASSERT_TRUE(call->Read(&batch));
  absl::SleepFor(absl::Milliseconds(500));  // the server's Write() now waits on the window
  std::thread drain([&] { (*server)->Shutdown(absl::Seconds(3)); });
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<Health> draining = CheckHealth(probe, absl::Seconds(2));
  EXPECT_TRUE(draining.ok()) << draining.status();
  EXPECT_EQ(draining.value_or(Health::kUnknown), Health::kNotServing);
  context.TryCancel();
  drain.join();
  (*server)->Wait();
}

}  // namespace
}  // namespace shardstream
