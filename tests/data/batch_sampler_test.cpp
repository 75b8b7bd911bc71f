#include "megasft/data/batch_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "kernels/check.h"
#include "temp_dir.h"

namespace megasft::data {
namespace {

using testing::TempDir;

constexpr int32_t kPad = 0;
constexpr int64_t kVocab = 50;

// Samples of varied length (including 0 and 1) with irregular masks, to exercise every label rule.
TokenizedSamples synthetic_samples(int64_t count) {
  TokenizedSamples s;
  s.vocab_size = kVocab;
  s.tokenizer = "test";
  s.offsets.push_back(0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t length = (i * 7) % 23;  // 0..22
    for (int64_t t = 0; t < length; ++t) {
      s.tokens.push_back(static_cast<int32_t>(1 + (i * 13 + t * 5) % (kVocab - 1)));
      s.loss_mask.push_back(static_cast<uint8_t>((t * 3 + i) % 4 != 0));
    }
    s.offsets.push_back(static_cast<int64_t>(s.tokens.size()));
  }
  return s;
}

class BatchSamplerTest : public ::testing::Test {
 protected:
  TokenDataset make(int64_t count) {
    const std::string path = dir_.file("samples_" + std::to_string(count) + ".h5");
    write_token_dataset(path, synthetic_samples(count));
    return TokenDataset::open(path);
  }
  TempDir dir_;
};

// The specification, written out independently of the sampler.
void expect_row_matches_spec(const TokenDataset& data, const Batch& b, int64_t row) {
  const int64_t sid = b.sample_ids[row];
  const auto x = data.tokens(sid);
  const auto m = data.loss_mask(sid);
  const auto n = static_cast<int64_t>(x.size());
  for (int64_t t = 0; t < b.seq_len; ++t) {
    const int64_t input = t < n ? x[t] : kPad;
    const int64_t label = (t + 1 < n && m[t + 1] == 1) ? x[t + 1] : -100;
    EXPECT_EQ(b.input_ids[row * b.seq_len + t], input) << "sample " << sid << " t=" << t;
    EXPECT_EQ(b.labels[row * b.seq_len + t], label) << "sample " << sid << " t=" << t;
  }
}

TEST_F(BatchSamplerTest, LabelsAreShiftedAndMaskedAsSpecified) {
  const TokenDataset data = make(30);
  for (int64_t seq_len : {2, 5, 16, 40}) {
    BatchSampler sampler(data, seq_len, 4, /*seed=*/9, kPad);
    for (int step = 0; step < 10; ++step) {
      const Batch b = sampler.next();
      ASSERT_EQ(b.batch_size, 4);
      ASSERT_EQ(b.seq_len, seq_len);
      ASSERT_EQ(b.input_ids.size(), static_cast<size_t>(4 * seq_len));
      ASSERT_EQ(b.labels.size(), b.input_ids.size());
      ASSERT_EQ(b.sample_ids.size(), 4u);
      for (int64_t row = 0; row < 4; ++row) expect_row_matches_spec(data, b, row);
      EXPECT_EQ(b.num_supervised, std::count_if(b.labels.begin(), b.labels.end(),
                                                [](int64_t l) { return l != -100; }));
    }
  }
}

TEST_F(BatchSamplerTest, TruncatesLongSamples) {
  TokenizedSamples s;
  s.vocab_size = kVocab;
  s.tokenizer = "test";
  s.tokens = {10, 11, 12, 13, 14, 15, 16, 17};
  s.loss_mask = {0, 0, 1, 1, 1, 1, 1, 1};
  s.offsets = {0, 8};
  const std::string path = dir_.file("long.h5");
  write_token_dataset(path, s);
  const TokenDataset data = TokenDataset::open(path);
  BatchSampler sampler(data, /*seq_len=*/4, /*batch_size=*/1, 0, kPad);
  const Batch b = sampler.next();
  EXPECT_EQ(b.input_ids, (std::vector<int64_t>{10, 11, 12, 13}));
  // The last kept position still predicts the next (cut-off) token.
  EXPECT_EQ(b.labels, (std::vector<int64_t>{-100, 12, 13, 14}));
  EXPECT_EQ(b.num_supervised, 3);
}

TEST_F(BatchSamplerTest, DeterministicForASeed) {
  const TokenDataset data = make(25);
  BatchSampler a(data, 8, 3, 77, kPad);
  BatchSampler b(data, 8, 3, 77, kPad);
  BatchSampler c(data, 8, 3, 78, kPad);
  int differing = 0;
  for (int step = 0; step < 20; ++step) {
    const Batch x = a.next();
    const Batch y = b.next();
    const Batch z = c.next();
    EXPECT_EQ(x.sample_ids, y.sample_ids);
    EXPECT_EQ(x.input_ids, y.input_ids);
    EXPECT_EQ(x.labels, y.labels);
    differing += x.sample_ids != z.sample_ids;
  }
  EXPECT_GT(differing, 10);
}

TEST_F(BatchSamplerTest, EachSampleOncePerEpochWithTailCarriedOver) {
  const int64_t n = 10;
  const TokenDataset data = make(n);
  BatchSampler sampler(data, 4, /*batch_size=*/3, 5, kPad);
  std::vector<int64_t> stream;
  std::vector<std::vector<int64_t>> orders;
  for (int step = 0; step < 10; ++step) {  // 30 samples = exactly 3 epochs
    EXPECT_EQ(sampler.epoch(), static_cast<int64_t>(stream.size()) / n);
    EXPECT_EQ(sampler.consumed_samples(), static_cast<int64_t>(stream.size()));
    const Batch b = sampler.next();
    stream.insert(stream.end(), b.sample_ids.begin(), b.sample_ids.end());
  }
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  for (int64_t e = 0; e < 3; ++e) {
    std::vector<int64_t> epoch(stream.begin() + e * n, stream.begin() + (e + 1) * n);
    orders.push_back(epoch);
    std::sort(epoch.begin(), epoch.end());
    EXPECT_EQ(epoch, all) << "epoch " << e;
  }
  EXPECT_NE(orders[0], orders[1]);  // reshuffled every epoch
  EXPECT_EQ(sampler.epoch(), 3);
}

TEST_F(BatchSamplerTest, DataParallelRanksPartitionTheGlobalBatch) {
  const TokenDataset data = make(17);
  const int64_t dp = 3;
  const int64_t per_rank = 2;
  BatchSampler global(data, 12, per_rank * dp, 11, kPad);
  std::vector<BatchSampler> ranks;
  for (int64_t r = 0; r < dp; ++r) ranks.emplace_back(data, 12, per_rank, 11, kPad, r, dp);
  for (int step = 0; step < 12; ++step) {  // crosses several epoch boundaries (17 is prime)
    const Batch g = global.next();
    std::vector<int64_t> ids;
    std::vector<int64_t> inputs;
    std::vector<int64_t> labels;
    std::set<int64_t> positions_seen;
    for (int64_t r = 0; r < dp; ++r) {
      const Batch b = ranks[r].next();
      ids.insert(ids.end(), b.sample_ids.begin(), b.sample_ids.end());
      inputs.insert(inputs.end(), b.input_ids.begin(), b.input_ids.end());
      labels.insert(labels.end(), b.labels.begin(), b.labels.end());
      EXPECT_EQ(ranks[r].consumed_samples(), global.consumed_samples());
    }
    EXPECT_EQ(ids, g.sample_ids) << "step " << step;
    EXPECT_EQ(inputs, g.input_ids);
    EXPECT_EQ(labels, g.labels);
    // Disjoint within an epoch: a global batch repeats a sample only across an epoch boundary.
    const int64_t first = step * per_rank * dp;
    const bool crosses = first / 17 != (first + per_rank * dp - 1) / 17;
    if (!crosses) {
      EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), ids.size());
    }
  }
}

TEST_F(BatchSamplerTest, SkipToReproducesTheSameBatches) {
  const TokenDataset data = make(13);
  for (int64_t dp_rank : {0, 1}) {
    BatchSampler original(data, 6, 4, 3, kPad, dp_rank, 2);
    for (int step = 0; step < 5; ++step) original.next();
    const int64_t consumed = original.consumed_samples();
    EXPECT_EQ(consumed, 5 * 4 * 2);
    BatchSampler resumed(data, 6, 4, 3, kPad, dp_rank, 2);
    resumed.skip_to(consumed);
    EXPECT_EQ(resumed.epoch(), original.epoch());
    for (int step = 0; step < 6; ++step) {
      const Batch a = original.next();
      const Batch b = resumed.next();
      EXPECT_EQ(a.sample_ids, b.sample_ids);
      EXPECT_EQ(a.input_ids, b.input_ids);
      EXPECT_EQ(a.labels, b.labels);
    }
    resumed.skip_to(0);  // rewinding works too
    BatchSampler fresh(data, 6, 4, 3, kPad, dp_rank, 2);
    EXPECT_EQ(resumed.next().sample_ids, fresh.next().sample_ids);
  }
}

TEST_F(BatchSamplerTest, RejectsBadArguments) {
  const TokenDataset data = make(5);
  EXPECT_THROW(BatchSampler(data, 8, 0, 1, kPad), Error);
  EXPECT_THROW(BatchSampler(data, 1, 2, 1, kPad), Error);
  EXPECT_THROW(BatchSampler(data, 8, 2, 1, kPad, 2, 2), Error);
  EXPECT_THROW(BatchSampler(data, 8, 2, 1, kPad, 0, 0), Error);
  EXPECT_THROW(BatchSampler(data, 8, 2, 1, /*pad_id=*/-1), Error);
  EXPECT_THROW(BatchSampler(data, 8, 2, 1, /*pad_id=*/kVocab), Error);
  const TokenDataset empty = make(0);
  EXPECT_THROW(BatchSampler(empty, 8, 2, 1, kPad), Error);
  BatchSampler ok(data, 8, 2, 1, kPad);
  EXPECT_THROW(ok.skip_to(-1), Error);
}

}  // namespace
}  // namespace megasft::data
