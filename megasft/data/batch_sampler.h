// Deterministic, resumable batches of (input_ids, labels) for one data-parallel rank.
// Every epoch is a fresh seeded permutation; the global stream is cut into per-rank slices.
#pragma once

#include <cstdint>
#include <vector>

#include "megasft/data/token_dataset.h"

namespace megasft::data {

inline constexpr int64_t kIgnoreLabel = -100;

struct Batch {
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  std::vector<int64_t> input_ids;   // [B*S] row-major; pad id after the sample's end
  std::vector<int64_t> labels;      // [B*S] next token where supervised, else kIgnoreLabel
  int64_t num_supervised = 0;       // labels != kIgnoreLabel in this rank's batch
  std::vector<int64_t> sample_ids;  // [B] dataset indices, row order
  // [B*S] for packed datasets: each conversation's positions from 0, padding continuing the last
  // one (so the model resets RoPE and blocks attention across conversations). Empty otherwise.
  std::vector<int64_t> position_ids;
};

// Sample x_0..x_{n-1} with mask m fills one row: input_ids[t] = x_t for t < min(n, S);
// labels[t] = x_{t+1} if t + 1 < n and m[t+1] == 1 (t < S), so longer samples are truncated.
//
// The global stream is the concatenation of per-epoch permutations of all samples; global batch
// k covers stream positions [k*B*D, (k+1)*B*D) and rank r takes its contiguous B of them. A tail
// that does not fill a global batch continues into the next epoch's permutation, so no sample is
// dropped and none repeats within an epoch.
class BatchSampler {
 public:
  // `data` must outlive the sampler. batch_size is per data-parallel rank.
  BatchSampler(const TokenDataset& data, int64_t seq_len, int64_t batch_size, uint64_t seed,
               int32_t pad_id, int64_t dp_rank = 0, int64_t dp_size = 1);

  Batch next();

  // The epoch of the next sample to be drawn (0-based).
  int64_t epoch() const;
  // Samples consumed by all DP ranks together (global), as a checkpoint would record it.
  int64_t consumed_samples() const { return consumed_; }
  // Positions the stream as if `consumed_samples` global samples had been drawn.
  void skip_to(int64_t consumed_samples);

 private:
  int64_t sample_at(int64_t stream_position);
  void fill_row(int64_t row, int64_t sample, Batch& batch) const;

  const TokenDataset* data_;
  int64_t seq_len_;
  int64_t batch_size_;
  uint64_t seed_;
  int32_t pad_id_;
  int64_t dp_rank_;
  int64_t dp_size_;
  int64_t consumed_ = 0;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> permutation_;  // of cached_epoch_
};

}  // namespace megasft::data
