// The SED-SFT paper's Figures 2 and 3 from `megasft stats` arrays: a per-token heatmap of the
// target probability over a few samples, and the distribution of the top-k cumulative probability.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace megasft::eval {

// Views of TopkStatistics' arrays (topk_statistics.h), kept free of the model and of torch.
struct StatsFigureData {
  std::span<const int> k;                   // [K] ascending
  std::span<const double> topk_sum;         // [N, K] row-major
  std::span<const double> p_target;         // [N]
  std::span<const uint8_t> supervised;      // [N]
  std::span<const int64_t> sample_offsets;  // [rows + 1]
  std::span<const int32_t> target;          // [N] the predicted token (needed with token_text)
  // Optional: a token id's text (any bytes; made printable), written inside the heatmap's cells.
  // Called only for the cells drawn. Empty: the cells carry colour only.
  std::function<std::string(int32_t)> token_text;
};

struct StatsFigureOptions {
  int heatmap_samples = 8;  // rows of the heatmap: the first samples with a supervised token
  int64_t heatmap_positions = 128;  // columns: the first positions of each sample
};

// Figure 3: one box per k of data.k (quartiles, 5th-95th percentile whiskers; with_plotted_k makes
// it 1..10) of the top-k probability sum over supervised positions (every position when none is
// supervised). Writes topk_cumulative.png and .svg into dir; returns the paths written.
std::vector<std::string> write_topk_cumulative_figure(const std::string& dir,
                                                      const StatsFigureData& data);

// Figure 2: rows are samples, columns positions, colour the target probability on [0, 1];
// unsupervised positions (the prompt) are grey. Writes target_probability_heatmap.png and .svg.
std::vector<std::string> write_target_probability_heatmap(const std::string& dir,
                                                          const StatsFigureData& data,
                                                          const StatsFigureOptions& options);

// Both figures; returns the four paths.
std::vector<std::string> write_stats_figures(const std::string& dir, const StatsFigureData& data,
                                             const StatsFigureOptions& options = {});

// The k list that `megasft stats --plots` computes: the user's list and 1..10, sorted and distinct.
std::vector<int> with_plotted_k(std::vector<int> k);

// A token's bytes as one line of valid UTF-8 for a figure: ill-formed bytes become U+FFFD, a space
// U+00B7 and a newline U+21B5, other control bytes '?'.
std::string printable_token(std::string_view bytes);

}  // namespace megasft::eval
