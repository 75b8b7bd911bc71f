#include "megasft/data/batch_sampler.h"

#include <algorithm>
#include <numeric>

#include "kernels/check.h"
#include "megasft/data/rng.h"

namespace megasft::data {

BatchSampler::BatchSampler(const TokenDataset& data, int64_t seq_len, int64_t batch_size,
                           uint64_t seed, int32_t pad_id, int64_t dp_rank, int64_t dp_size)
    : data_(&data),
      seq_len_(seq_len),
      batch_size_(batch_size),
      seed_(seed),
      pad_id_(pad_id),
      dp_rank_(dp_rank),
      dp_size_(dp_size) {
  MEGASFT_CHECK(batch_size >= 1, "BatchSampler: batch_size must be >= 1, got ", batch_size);
  MEGASFT_CHECK(seq_len >= 2, "BatchSampler: seq_len must be >= 2, got ", seq_len);
  MEGASFT_CHECK(dp_size >= 1, "BatchSampler: dp_size must be >= 1, got ", dp_size);
  MEGASFT_CHECK(dp_rank >= 0 && dp_rank < dp_size, "BatchSampler: dp_rank ", dp_rank,
                " is out of range [0, ", dp_size, ")");
  MEGASFT_CHECK(pad_id >= 0 && pad_id < data.vocab_size(), "BatchSampler: pad_id ", pad_id,
                " is outside the vocabulary [0, ", data.vocab_size(), ") of dataset file '",
                data.path(), "'");
  MEGASFT_CHECK(data.num_samples() > 0, "BatchSampler: dataset file '", data.path(),
                "' has no samples");
}

int64_t BatchSampler::epoch() const { return consumed_ / data_->num_samples(); }

void BatchSampler::skip_to(int64_t consumed_samples) {
  MEGASFT_CHECK(consumed_samples >= 0, "BatchSampler::skip_to: consumed_samples must be >= 0, got ",
                consumed_samples);
  consumed_ = consumed_samples;
}

int64_t BatchSampler::sample_at(int64_t stream_position) {
  const int64_t n = data_->num_samples();
  const int64_t epoch = stream_position / n;
  if (epoch != cached_epoch_) {
    // Fisher-Yates with our own range mapping: the order depends only on (seed, epoch).
    permutation_.resize(static_cast<size_t>(n));
    std::iota(permutation_.begin(), permutation_.end(), int64_t{0});
    SplitMix64 rng(derive_seed(seed_, static_cast<uint64_t>(epoch)));
    for (int64_t i = n - 1; i > 0; --i) {
      const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
      std::swap(permutation_[static_cast<size_t>(i)], permutation_[static_cast<size_t>(j)]);
    }
    cached_epoch_ = epoch;
  }
  return permutation_[static_cast<size_t>(stream_position % n)];
}

void BatchSampler::fill_row(int64_t row, int64_t sample, Batch& batch) const {
  const auto tokens = data_->tokens(sample);
  const auto mask = data_->loss_mask(sample);
  const auto n = static_cast<int64_t>(tokens.size());
  int64_t* input = batch.input_ids.data() + row * seq_len_;
  int64_t* labels = batch.labels.data() + row * seq_len_;
  for (int64_t t = 0; t < std::min(n, seq_len_); ++t) input[t] = tokens[t];
  if (!batch.position_ids.empty()) {
    const auto positions = data_->position_ids(sample);
    int64_t* out = batch.position_ids.data() + row * seq_len_;
    for (int64_t t = 0; t < seq_len_; ++t)
      out[t] = t < n ? positions[t] : (t == 0 ? 0 : out[t - 1] + 1);
  }
  // The label at the last kept position may be a token beyond the window: it is still a valid
  // next-token target for the visible context.
  for (int64_t t = 0; t < seq_len_ && t + 1 < n; ++t) {
    if (mask[t + 1] == 1) {
      labels[t] = tokens[t + 1];
      ++batch.num_supervised;
    }
  }
}

Batch BatchSampler::next() {
  Batch batch;
  batch.batch_size = batch_size_;
  batch.seq_len = seq_len_;
  batch.input_ids.assign(static_cast<size_t>(batch_size_ * seq_len_), pad_id_);
  batch.labels.assign(static_cast<size_t>(batch_size_ * seq_len_), kIgnoreLabel);
  batch.sample_ids.resize(static_cast<size_t>(batch_size_));
  if (data_->packed()) batch.position_ids.assign(static_cast<size_t>(batch_size_ * seq_len_), 0);
  const int64_t first = consumed_ + dp_rank_ * batch_size_;
  for (int64_t row = 0; row < batch_size_; ++row) {
    const int64_t sample = sample_at(first + row);
    batch.sample_ids[static_cast<size_t>(row)] = sample;
    fill_row(row, sample, batch);
  }
  consumed_ += batch_size_ * dp_size_;
  return batch;
}

}  // namespace megasft::data
