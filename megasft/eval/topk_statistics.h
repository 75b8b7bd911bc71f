// Per-token statistics of a model on a token dataset (the SED-SFT paper's Figures 2 and 3): at
// every position, the target's probability and the cumulative top-k probabilities, computed
// vocab-parallel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/data/token_dataset.h"
#include "megasft/model/llama_model.h"

namespace megasft::eval {

struct TopkStatisticsOptions {
  std::vector<int> top_k = {1, 2, 3, 5, 10};  // ascending, distinct
  int64_t max_samples = 0;                    // 0: every row of the dataset
  int64_t max_length = 0;  // longest sequence run at once; 0: the model's max_position_embeddings
  int64_t chunk_tokens = 1024;  // positions per chunk of logits (bounds memory)
};

// One entry per predicted position, identical on every TP rank. A position t of row i predicts
// token t + 1 of the same sequence; packed rows are split where position_ids restart, so each
// conversation runs alone, as in training.
struct TopkStatistics {
  std::vector<int> k;
  std::vector<double> p_target;  // [N]
  std::vector<double> topk_sum;  // [N, k.size()] row-major: sum of the k largest probabilities
  std::vector<int32_t> target;   // [N] the predicted token
  std::vector<uint8_t>
      supervised;                 // [N] 1 when the target is supervised (loss_mask of token t + 1)
  std::vector<int64_t> position;  // [N] t, the position inside its row
  std::vector<int64_t> sample_offsets;  // [rows + 1] into the N positions
  int64_t truncated_positions = 0;      // positions past max_length, not computed
};

TopkStatistics compute_topk_statistics(const model::LlamaModel& model,
                                       const data::TokenDataset& data,
                                       const TopkStatisticsOptions& options);

// HDF5: /p_target f64 [N], /topk_sum f64 [N, K], /k i64 [K], /sample_offsets i64 [rows + 1],
// /target i32 [N], /supervised u8 [N], /position i64 [N]; attributes format = "megasft-topk-stats",
// model, data. Written to path.tmp, then renamed.
void write_topk_statistics(const std::string& path, const TopkStatistics& stats,
                           const std::string& model_dir, const std::string& data_path);

// The summary printed by `megasft stats`: per k, the median top-k sum and the tau that each ratio r
// gives (tau_from_topk_sums, as calibration computes it), over all positions and over supervised
// ones.
std::string summarize_topk_statistics(const TopkStatistics& stats,
                                      const std::vector<double>& ratios);

}  // namespace megasft::eval
