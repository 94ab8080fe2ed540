#include "server/local_stream.h"

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/permutation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/index_job.h"
#include "server/layout_cache.h"
#include "server/plan_column.h"
#include "server/tokenize_job.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

const std::string kData = SHARDSTREAM_TEST_DATA_DIR;

// A corpus of documents of very different lengths (some shorter than a sequence, some spanning
// many), a few duplicates, indexed and tokenized with GPT-2.
class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::mt19937 rng(7);
    const char* words[] = {"def", "return", "self", "x", "=",     "1", "\n", "    ", "import",
                           "os",  "(",      ")",    ":", "class", "é", "😀",  "#",    "comment"};
    texts_ = new std::vector<std::string>();
    for (int f = 0; f < 4; ++f) {
      std::string lines;
      for (int d = 0; d < 60; ++d) {
        std::string text;
        const int n =
            (d % 13 == 0) ? 400 + static_cast<int>(rng() % 800) : static_cast<int>(rng() % 60);
        for (int w = 0; w < n; ++w) text += std::string(words[rng() % 18]) + " ";
        if (d % 17 == 3) text = "duplicated text";
        texts_->push_back(text);
        lines += absl::StrCat(R"({"content": ")", EscapeJson(text), "\"}\n");
      }
      WriteFile(dir_->Path(absl::StrCat("corpus/f", f, ".jsonl")), lines);
    }
    auto catalog = Catalog::Open(dir_->Path("db"), {});
    ASSERT_TRUE(catalog.ok());
    IndexOptions index;
    index.corpus_paths = {dir_->Path("corpus")};
    ASSERT_TRUE(IndexJob(catalog->get(), index).Run().ok());
    TokenizeOptions tokenize;
    tokenize.tokenizer_path = kData + "/gpt2/tokenizer.json";
    tokenize.jobs = 2;
    absl::StatusOr<TokenizeSummary> t = TokenizeJob(catalog->get(), tokenize).Run();
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE(t->status.complete());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete texts_;
  }
  static std::string EscapeJson(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else {
        out += c;
      }
    }
    return out;
  }

  void SetUp() override {
    CatalogOptions read_only;
    read_only.read_only = true;
    auto c = Catalog::Open(dir_->Path("db"), read_only);
    ASSERT_TRUE(c.ok()) << c.status();
    catalog_ = std::move(*c);
  }

  // What a test streams: the plan and the rank's options.
  struct Req {
    PlanSpec plan;
    StreamOptions stream;
  };
  Req Options(uint32_t seq_len, uint32_t batch, uint32_t world = 1, uint32_t rank = 0) {
    Req o;
    o.plan.parts.tokenizer = "gpt2";
    o.plan.parts.seq_len = seq_len;
    o.plan.seed = 42;
    o.stream.rank.batch_size = batch;
    o.stream.rank.world_size = world;
    o.stream.rank.rank = rank;
    return o;
  }
  absl::StatusOr<std::unique_ptr<LocalStream>> Open(const Req& o) {
    return LocalStream::Open({catalog_.get()}, o.plan, o.stream);
  }
  // A writable copy of the suite's catalog in `copy`, for tests that change its records.
  static std::unique_ptr<Catalog> WritableCopy(const TempDir& copy) {
    std::filesystem::copy(dir_->Path("db"), copy.Path("db"),
                          std::filesystem::copy_options::recursive);
    absl::StatusOr<std::unique_ptr<Catalog>> opened = Catalog::Open(copy.Path("db"), {});
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *std::move(opened) : nullptr;
  }
  std::shared_ptr<const CatalogPlan> PlanOf(const Req& o) {
    auto plan = CatalogPlan::Build(catalog_.get(), o.plan.parts);
    EXPECT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ((*plan)->parts().size(), 1u);  // one partition, one source
    return *plan;
  }

  // Up to `max` batches.
  std::vector<Batch> Take(const Req& o, size_t max) {
    auto stream = Open(o);
    EXPECT_TRUE(stream.ok()) << stream.status();
    std::vector<Batch> out;
    Batch b;
    while (out.size() < max) {
      absl::StatusOr<bool> more = (*stream)->Next(&b);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      out.push_back(b);
    }
    return out;
  }

  // All rows of `batches`, in order.
  static std::vector<std::vector<uint32_t>> Rows(const std::vector<Batch>& batches) {
    std::vector<std::vector<uint32_t>> rows;
    for (const Batch& b : batches) {
      for (uint32_t r = 0; r < b.rows; ++r) {
        rows.emplace_back(b.tokens.begin() + size_t{r} * b.seq_len,
                          b.tokens.begin() + size_t{r + 1} * b.seq_len);
      }
    }
    return rows;
  }

  static TempDir* dir_;
  static std::vector<std::string>* texts_;
  std::unique_ptr<Catalog> catalog_;
};

TempDir* StreamTest::dir_ = nullptr;
std::vector<std::string>* StreamTest::texts_ = nullptr;

TEST(Permutation, IsABijectionThatDependsOnTheKey) {
  for (uint64_t n : {1, 2, 3, 10, 1000, 4097}) {
    Permutation p(n, 1), q(n, 2);
    std::set<uint64_t> seen;
    size_t same = 0;
    for (uint64_t i = 0; i < n; ++i) {
      seen.insert(p.At(i));
      same += p.At(i) == q.At(i);
    }
    EXPECT_EQ(seen.size(), n);
    EXPECT_EQ(*seen.rbegin(), n - 1);
    if (n >= 1000) {
      EXPECT_LT(same, n / 50);
    }
  }
}

// The text is an interface (printed by `stream`, pasted into --resume): the header's example,
// hex fingerprints zero-padded to 8 digits, numbers in decimal up to their widest.
TEST(StreamCursor, PrintsTheDocumentedText) {
  StreamCursor c;
  c.dataset_version = 0x0e424d33;
  c.tokenizer = 0xf9022d5c;
  c.filters = 0x5d41402a;
  c.mixture = 0;
  c.seq_len = 1024;
  c.seed = 42;
  c.epoch = 3;
  c.next_sequence = 81920;
  EXPECT_EQ(c.ToString(), "ss2.0e424d33.f9022d5c.5d41402a.00000000.1024.42.3.81920");
  c.dataset_version = 0x1;
  c.tokenizer = 0xffffffff;
  c.filters = 0xabc;
  c.mixture = 0x80000000;
  c.seq_len = 1048576;
  c.seed = ~uint64_t{0};
  c.epoch = 0;
  c.next_sequence = uint64_t{1} << 40;
  EXPECT_EQ(c.ToString(),
            "ss2.00000001.ffffffff.00000abc.80000000.1048576.18446744073709551615.0.1099511627776");
  absl::StatusOr<StreamCursor> parsed = StreamCursor::Parse(c.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, c);
}

TEST(StreamCursor, RoundTripsAndNamesWhatDiffers) {
  PlanIdentity plan{HashBytes("data"), HashBytes("tok"), HashBytes("filters"), HashBytes("mix"),
                    1024, 42};
  StreamCursor c = StreamCursor::At(plan, 3, 4096);
  absl::StatusOr<StreamCursor> parsed = StreamCursor::Parse(c.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, c);
  EXPECT_TRUE(parsed->CheckBelongsTo(plan).ok());
  PlanIdentity other = plan;
  other.seq_len = 2048;
  other.tokenizer = HashBytes("other");
  absl::Status s = parsed->CheckBelongsTo(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("seq_len 1024"));
  EXPECT_THAT(s.message(), HasSubstr("tokenizer"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("seed 42")));
  other = plan;
  other.mixture = HashBytes("another mixture");
  s = parsed->CheckBelongsTo(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("mixture"));
  EXPECT_EQ(StreamCursor::Parse("ss2.zz").status().code(), absl::StatusCode::kInvalidArgument);
  // A 0.1 cursor is refused by name, and a pasted blob is cut in the message.
  EXPECT_THAT(StreamCursor::Parse("ss1.0e424d33.f9022d5c.5d41402a.1024.42.0.64").status().message(),
              HasSubstr("before partitions"));
  EXPECT_LT(StreamCursor::Parse(std::string(20000, 'x')).status().message().size(), 400u);
}

TEST_F(StreamTest, PackingEqualsAnIndependentReconstruction) {
  // Tokenize every kept document on its own, concatenate in the epoch's order with EOS, cut.
  auto tokenizer = Tokenizer::FromJsonFile(kData + "/gpt2/tokenizer.json");
  ASSERT_TRUE(tokenizer.ok());
  Encoder encoder(tokenizer->get());
  Req o = Options(64, 4);
  std::shared_ptr<const CatalogPlan> plan = PlanOf(o);
  const PartPlan& part = *plan->parts()[0];
  auto stream = Open(o);
  ASSERT_TRUE(stream.ok());
  const PlanIdentity identity = (*stream)->plan().identity();
  std::vector<std::vector<uint32_t>> both_epochs;
  for (uint64_t epoch : {0, 1}) {
    PartEpochLayout layout(*part.packing(), PartOrderKey(42, part.key()), epoch);
    std::vector<uint32_t> expected;
    for (size_t j = 0; j < part.packing()->num_docs(); ++j) {
      const uint64_t id = part.doc_id(layout.DocAt(j));
      const std::string& text = (*texts_)[id];  // ids are dense here: one per line, in order
      auto ids = *encoder.Encode(text, EncodeMode::kOrdinary);
      expected.insert(expected.end(), ids.begin(), ids.end());
      expected.push_back(50256);
    }
    EXPECT_EQ(expected.size(), part.packing()->epoch_tokens());
    // Every sequence of the epoch, from a stream starting at that epoch.
    Req from_epoch = o;
    from_epoch.stream.resume_cursor = StreamCursor::At(identity, epoch, 0).ToString();
    from_epoch.stream.rank.epochs = epoch + 1;
    std::vector<std::vector<uint32_t>> rows = Rows(Take(from_epoch, 1 << 20));
    const uint64_t sequences = part.packing()->sequences_per_epoch();
    ASSERT_EQ(rows.size(), sequences / 4 * 4);  // the tail of < one global batch is dropped
    for (size_t k = 0; k < rows.size(); ++k) {
      ASSERT_EQ(rows[k],
                std::vector<uint32_t>(expected.begin() + k * 64, expected.begin() + (k + 1) * 64))
          << "epoch " << epoch << " sequence " << k;
    }
    both_epochs.insert(both_epochs.end(), rows.begin(), rows.end());
  }
  // One stream over both epochs (its reader moving from the first epoch's layout to the
  // second's) gives the rows of the two streams above.
  Req two_epochs = o;
  two_epochs.stream.rank.epochs = 2;
  EXPECT_EQ(Rows(Take(two_epochs, 1 << 20)), both_epochs);
}

TEST_F(StreamTest, DedupDropsLaterCopiesAndNoDedupKeepsThem) {
  Req o = Options(32, 2);
  std::shared_ptr<const CatalogPlan> with = PlanOf(o);
  o.plan.parts.filters.dedup = false;
  std::shared_ptr<const CatalogPlan> without = PlanOf(o);
  std::set<std::string> unique(texts_->begin(), texts_->end());
  EXPECT_EQ(with->parts()[0]->packing()->num_docs(), unique.size());
  EXPECT_EQ(without->parts()[0]->packing()->num_docs(), texts_->size());
  EXPECT_NE(with->filters(), without->filters());
}

// A plan for another seq_len made from a kept plan's selection is the plan built alone, and
// shares the selection's documents and counts, and the epoch layouts built from them.
TEST_F(StreamTest, APlanOfAKeptSelectionEqualsThePlanBuiltAlone) {
  std::shared_ptr<const CatalogPlan> kept = PlanOf(Options(32, 2));
  std::shared_ptr<const CatalogPlan> alone = PlanOf(Options(48, 2));
  std::shared_ptr<const CatalogPlan> shared = CatalogPlan::Of(kept->selection(), 48);
  ASSERT_EQ(shared->parts().size(), alone->parts().size());
  EXPECT_EQ(shared->seq_len(), 48u);
  EXPECT_EQ(shared->filters(), alone->filters());
  for (size_t p = 0; p < alone->parts().size(); ++p) {
    const PartPlan& a = *alone->parts()[p];
    const PartPlan& s = *shared->parts()[p];
    EXPECT_EQ(s.key(), a.key());
    EXPECT_EQ(s.version(), a.version());
    EXPECT_EQ(s.packing()->counts(), a.packing()->counts());
    EXPECT_EQ(s.packing()->seq_len(), 48u);
    EXPECT_EQ(s.packing()->sequences_per_epoch(), a.packing()->sequences_per_epoch());
    EXPECT_NE(s.packing()->sequences_per_epoch(),
              kept->parts()[p]->packing()->sequences_per_epoch());
    for (size_t i = 0; i < a.packing()->num_docs(); ++i) ASSERT_EQ(s.doc_id(i), a.doc_id(i));
    EXPECT_EQ(&s.packing()->counts(), &kept->parts()[p]->packing()->counts());
    // ... and so their epoch layouts; the plan built alone has its own.
    LayoutCache layouts;
    const uint64_t key = PartOrderKey(1, s.key());
    EXPECT_EQ(layouts.Get(s.packing(), key, 0), layouts.Get(kept->parts()[p]->packing(), key, 0));
    EXPECT_NE(layouts.Get(s.packing(), key, 0), layouts.Get(a.packing(), key, 0));
  }
}

TEST_F(StreamTest, ThePlanColumnGivesThePlansOfTheDocumentRecords) {
  // A writable copy: its token records lose their plan column (as records from before it),
  // then get it back from `tokenize`; every plan is the same all along.
  TempDir copy;
  const std::unique_ptr<Catalog> opened = WritableCopy(copy);
  ASSERT_NE(opened, nullptr);
  Catalog* catalog = opened.get();
  TokenStore store(catalog);
  const Hash128 tokenizer = FingerprintOf(*store.FindTokenizer("gpt2"));
  // Doc ids and counts of each filter's plan.
  auto plans = [&] {
    std::vector<std::pair<std::vector<uint64_t>, uint64_t>> out;
    for (const char* preset : {"none", "codeparrot-clean"}) {
      for (bool dedup : {true, false}) {
        PartPlanSpec spec;
        spec.tokenizer = "gpt2";
        spec.seq_len = 32;
        spec.filters.preset = preset;
        spec.filters.dedup = dedup;
        absl::StatusOr<std::shared_ptr<const CatalogPlan>> plan = CatalogPlan::Build(catalog, spec);
        EXPECT_TRUE(plan.ok()) << plan.status();
        if (!plan.ok()) return out;
        const PartPlan& part = *(*plan)->parts()[0];
        std::vector<uint64_t> ids;
        for (size_t i = 0; i < part.packing()->num_docs(); ++i) ids.push_back(part.doc_id(i));
        out.emplace_back(ids, part.packing()->epoch_tokens());
      }
    }
    return out;
  };
  auto columns = [&] {
    size_t with = 0;
    for (const auto& [id, file] : catalog->files()) {
      absl::StatusOr<v1::TokenizedFile> record = store.GetTokenizedFile(tokenizer, id);
      EXPECT_TRUE(record.ok()) << record.status();
      with += record.ok() && HasPlanColumn(*record);
    }
    return with;
  };
  ASSERT_EQ(columns(), catalog->files().size());
  const auto with_columns = plans();
  ASSERT_EQ(with_columns.size(), 4u);
  // The filters matter here: dedup and the cleaning rules each drop documents.
  EXPECT_LT(with_columns[0].first.size(), with_columns[1].first.size());
  EXPECT_LT(with_columns[2].first.size(), with_columns[0].first.size());

  for (const auto& [id, file] : catalog->files()) {
    v1::TokenizedFile record = *store.GetTokenizedFile(tokenizer, id);
    record.clear_doc_hashes();
    record.clear_doc_flags();
    record.clear_rules_hi();
    record.clear_rules_lo();
    ASSERT_TRUE(store.PutTokenizedFile(tokenizer, record).ok());
  }
  ASSERT_EQ(columns(), 0u);
  EXPECT_EQ(plans(), with_columns);

  TokenizeOptions tokenize;
  tokenize.tokenizer_path = kData + "/gpt2/tokenizer.json";
  absl::StatusOr<TokenizeSummary> again = TokenizeJob(catalog, tokenize).Run();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->files_tokenized, 0u);
  EXPECT_EQ(again->plan_columns_added, catalog->files().size());
  EXPECT_EQ(columns(), catalog->files().size());
  EXPECT_EQ(plans(), with_columns);
}

// A token record whose count of a document disagrees with its ids in the pack: the plan is
// refused when built (before any batch), naming the document and what to do.
TEST_F(StreamTest, AnIdsCountThatDisagreesWithThePackIsDataLossAtPlanBuild) {
  TempDir copy;
  const std::unique_ptr<Catalog> catalog = WritableCopy(copy);
  ASSERT_NE(catalog, nullptr);
  PartPlanSpec spec;
  spec.tokenizer = "gpt2";
  spec.seq_len = 32;
  ASSERT_TRUE(CatalogPlan::Build(catalog.get(), spec).ok());
  TokenStore store(catalog.get());
  const Hash128 tokenizer = FingerprintOf(*store.FindTokenizer("gpt2"));
  const auto& [file_id, file] = *std::next(catalog->files().begin(), 2);
  v1::TokenizedFile record = *store.GetTokenizedFile(tokenizer, file_id);
  record.set_token_counts(5, record.token_counts(5) + 1);
  ASSERT_TRUE(store.PutTokenizedFile(tokenizer, record).ok());
  absl::StatusOr<std::shared_ptr<const CatalogPlan>> plan = CatalogPlan::Build(catalog.get(), spec);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kDataLoss) << plan.status();
  EXPECT_THAT(plan.status().message(),
              HasSubstr(absl::StrCat("document ", file.first_doc_id() + 5, " (file ")));
  EXPECT_THAT(plan.status().message(), HasSubstr("run `shardstream tokenize`"));
}

TEST_F(StreamTest, SameInputsSameStreamOtherSeedOtherStream) {
  Req o = Options(48, 3);
  std::vector<Batch> a = Take(o, 20), b = Take(o, 20);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_EQ(Rows(a), Rows(b));
  o.plan.seed = 43;
  EXPECT_NE(Rows(Take(o, 20)), Rows(a));
}

TEST_F(StreamTest, RanksAreDisjointEqualInStepsAndTogetherTheSingleRankStream) {
  const uint32_t world = 3, batch = 2;
  Req single = Options(40, world * batch);
  single.stream.rank.epochs = 1;
  std::vector<Batch> all = Take(single, 1 << 20);
  std::vector<std::vector<Batch>> per_rank;
  for (uint32_t r = 0; r < world; ++r) {
    Req o = Options(40, batch, world, r);
    o.stream.rank.epochs = 1;
    per_rank.push_back(Take(o, 1 << 20));
  }
  for (uint32_t r = 0; r < world; ++r) {
    ASSERT_EQ(per_rank[r].size(), all.size()) << "rank " << r;
  }
  for (size_t step = 0; step < all.size(); ++step) {
    std::vector<uint32_t> joined;
    for (uint32_t r = 0; r < world; ++r) {
      const Batch& b = per_rank[r][step];
      EXPECT_EQ(b.step, step);
      EXPECT_EQ(b.cursor, all[step].cursor);  // every rank resumes from the same point
      joined.insert(joined.end(), b.tokens.begin(), b.tokens.end());
    }
    ASSERT_EQ(joined, all[step].tokens) << "step " << step;
  }
}

TEST_F(StreamTest, ResumingFromEveryCursorGivesTheTail) {
  Req o = Options(256, 4);
  std::vector<Batch> run = Take(o, 60);
  ASSERT_EQ(run.size(), 60u);
  ASSERT_EQ(run.front().epoch, 0u);
  ASSERT_GE(run.back().epoch, 1u);  // the run crosses an epoch boundary
  for (size_t k = 0; k < run.size(); k += 7) {
    Req resumed = o;
    resumed.stream.resume_cursor = run[k].cursor;
    std::vector<Batch> tail = Take(resumed, run.size() - k - 1);
    ASSERT_EQ(Rows(tail), Rows(std::vector<Batch>(run.begin() + k + 1, run.end()))) << k;
  }
}

TEST_F(StreamTest, ElasticResumeContinuesTheSameGlobalSequence) {
  // W=4, B=1 for 5 steps; then W=2, B=2 (same global batch) and W=1, B=3 (another one).
  std::vector<std::vector<Batch>> before(4);
  for (uint32_t r = 0; r < 4; ++r) before[r] = Take(Options(32, 1, 4, r), 5);
  const std::string cursor = before[0].back().cursor;
  Req global = Options(32, 1);  // the single-rank reference order of sequences
  std::vector<std::vector<uint32_t>> reference = Rows(Take(global, 40));
  for (auto [world, batch] : {std::pair<uint32_t, uint32_t>{2, 2}, {1, 3}}) {
    std::vector<std::vector<uint32_t>> rows_by_global(40);
    for (uint32_t r = 0; r < world; ++r) {
      Req o = Options(32, batch, world, r);
      o.stream.resume_cursor = cursor;
      std::vector<Batch> after = Take(o, 3);
      for (size_t step = 0; step < after.size(); ++step) {
        std::vector<std::vector<uint32_t>> rows = Rows({after[step]});
        for (uint32_t i = 0; i < batch; ++i) {
          rows_by_global[20 + step * world * batch + r * batch + i] = rows[i];
        }
      }
    }
    for (size_t k = 20; k < 20 + 3 * world * batch; ++k) {
      ASSERT_EQ(rows_by_global[k], reference[k]) << "W=" << world << " sequence " << k;
    }
  }
}

TEST_F(StreamTest, DocumentBoundariesMarkWhereDocumentsStart) {
  Req o = Options(64, 2);
  o.stream.doc_boundaries = true;
  for (const Batch& b : Take(o, 10)) {
    ASSERT_EQ(b.doc_starts.size(), b.rows);
    for (uint32_t r = 0; r < b.rows; ++r) {
      const uint32_t* row = b.tokens.data() + size_t{r} * b.seq_len;
      for (uint32_t s : b.doc_starts[r]) {
        // A document starts at 0 only if the previous sequence ended with EOS; elsewhere the
        // token before a start is always the EOS of the previous document.
        if (s > 0) {
          EXPECT_EQ(row[s - 1], 50256u);
        }
      }
      for (uint32_t c = 0; c + 1 < b.seq_len; ++c) {
        if (row[c] == 50256u) {
          EXPECT_THAT(b.doc_starts[r], ::testing::Contains(c + 1));
        }
      }
    }
  }
}

TEST_F(StreamTest, BadRequestsGetStatusesThatSayWhatToFix) {
  Req o = Options(32, 2, 2, 2);
  EXPECT_EQ(Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options(32, 2);
  o.plan.parts.tokenizer = "nope";
  absl::Status s = Open(o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("gpt2"));
  o = Options(32, 2);
  o.stream.resume_cursor = Take(Options(64, 2), 1)[0].cursor;
  s = Open(o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("seq_len 64"));
  o = Options(1 << 20, 65536);
  EXPECT_EQ(Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options(4096, 64);
  EXPECT_EQ(Open(o).status().code(), absl::StatusCode::kFailedPrecondition);
  o = Options(32, 2);
  o.plan.parts.filters.preset = "bogus";
  EXPECT_EQ(Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  // A mixture naming a source the dataset does not have.
  o = Options(32, 2);
  o.plan.mixture = *Mixture::Parse("python=1");
  s = Open(o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("default"));
}

TEST_F(StreamTest, EpochTotalsAreTheSumOfTokenCounts) {
  std::shared_ptr<const CatalogPlan> plan = PlanOf(Options(32, 2));
  const PartPacking& packing = *plan->parts()[0]->packing();
  uint64_t sum = 0;
  for (size_t i = 0; i < packing.num_docs(); ++i) sum += packing.token_count(i) + 1;
  EXPECT_EQ(packing.epoch_tokens(), sum);
  EXPECT_EQ(packing.sequences_per_epoch(), sum / 32);
}

}  // namespace
}  // namespace shardstream
