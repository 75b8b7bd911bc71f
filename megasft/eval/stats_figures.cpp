#include "megasft/eval/stats_figures.h"

#include <algorithm>
#include <filesystem>

#include "kernels/check.h"
#include "megasft/data/unicode_text.h"
#include "megasft/eval/charts.h"

namespace megasft::eval {
namespace {

constexpr int kPlottedKMax = 10;  // the paper's Figure 3 shows k = 1..10

std::vector<std::string> write_both(const Figure& figure, const std::string& dir,
                                    const std::string& stem) {
  const auto base = std::filesystem::path(dir) / stem;
  const std::string png = base.string() + ".png", svg = base.string() + ".svg";
  figure.write_png(png);
  figure.write_svg(svg);
  return {png, svg};
}

void check_shapes(const StatsFigureData& data) {
  const size_t n = data.p_target.size();
  MEGASFT_CHECK(!data.k.empty(), "stats figures: the k list is empty");
  MEGASFT_CHECK(data.topk_sum.size() == n * data.k.size(), "stats figures: topk_sum has ",
                data.topk_sum.size(), " values, expected N ", n, " x K ", data.k.size());
  MEGASFT_CHECK(data.supervised.size() == n, "stats figures: supervised has ",
                data.supervised.size(), " values, p_target ", n);
  MEGASFT_CHECK(!data.token_text || data.target.size() == n, "stats figures: target has ",
                data.target.size(), " values, p_target ", n);
  MEGASFT_CHECK(!data.sample_offsets.empty() && data.sample_offsets.front() == 0 &&
                    data.sample_offsets.back() == static_cast<int64_t>(n) &&
                    std::is_sorted(data.sample_offsets.begin(), data.sample_offsets.end()),
                "stats figures: sample_offsets must rise from 0 to N ", n);
}

}  // namespace

std::vector<int> with_plotted_k(std::vector<int> k) {
  for (int i = 1; i <= kPlottedKMax; ++i) k.push_back(i);
  std::sort(k.begin(), k.end());
  k.erase(std::unique(k.begin(), k.end()), k.end());
  return k;
}

std::string printable_token(std::string_view bytes) {
  const std::string text = data::repair_utf8(bytes);
  std::string out;
  for (char c : text) {
    if (c == ' ')
      out += "\u00b7";
    else if (c == '\n')
      out += "\u21b5";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += '?';
    else
      out += c;
  }
  return out;
}

std::vector<std::string> write_topk_cumulative_figure(const std::string& dir,
                                                      const StatsFigureData& data) {
  check_shapes(data);
  const size_t n = data.p_target.size(), K = data.k.size();
  const bool any_supervised =
      std::any_of(data.supervised.begin(), data.supervised.end(), [](uint8_t s) { return s != 0; });
  DistributionChartSpec spec;
  spec.values.resize(K);
  for (size_t i = 0; i < n; ++i) {
    if (any_supervised && !data.supervised[i]) continue;
    for (size_t j = 0; j < K; ++j) spec.values[j].push_back(data.topk_sum[i * K + j]);
  }
  for (int k : data.k) spec.categories.push_back(std::to_string(k));
  const size_t used = spec.values.front().size();
  spec.labels = {"Cumulative top-k probability (" + std::to_string(used) +
                     (any_supervised ? " supervised" : "") + " positions)",
                 "k", "sum of the k largest probabilities"};
  spec.y_max = 1.0;  // a probability sum; the lower end follows the data so small spreads show
  return write_both(distribution_chart(spec).figure, dir, "topk_cumulative");
}

std::vector<std::string> write_target_probability_heatmap(const std::string& dir,
                                                          const StatsFigureData& data,
                                                          const StatsFigureOptions& options) {
  check_shapes(data);
  MEGASFT_CHECK(options.heatmap_samples > 0 && options.heatmap_positions > 0,
                "stats figures: heatmap_samples ", options.heatmap_samples,
                " and heatmap_positions ", options.heatmap_positions, " must be positive");
  HeatmapSpec spec;
  const bool with_text = static_cast<bool>(data.token_text);
  const size_t rows = data.sample_offsets.size() - 1;
  for (size_t r = 0; r < rows && spec.rows.size() < static_cast<size_t>(options.heatmap_samples);
       ++r) {
    const auto begin = static_cast<size_t>(data.sample_offsets[r]);
    const auto end = static_cast<size_t>(data.sample_offsets[r + 1]);
    // Each row starts at the sample's first supervised position: the response is what Figure 2
    // shows, and a long prompt would otherwise fill the row with grey.
    size_t first = begin;
    while (first < end && !data.supervised[first]) ++first;
    if (first == end) continue;
    const size_t last = std::min(end, first + static_cast<size_t>(options.heatmap_positions));
    std::vector<double> values;
    std::vector<std::string> texts;
    for (size_t i = first; i < last; ++i) {
      values.push_back(data.supervised[i] ? data.p_target[i] : NAN);
      if (with_text) texts.push_back(printable_token(data.token_text(data.target[i])));
    }
    spec.rows.push_back(std::move(values));
    if (with_text) spec.cell_text.push_back(std::move(texts));
    spec.row_labels.push_back("sample " + std::to_string(r));
  }
  spec.labels = {"Target probability per token",
                 "position from the first supervised token (grey: not supervised)", ""};
  spec.colour_label = "p(target)";
  if (with_text) spec.cell_width = 14, spec.cell_height = 64;
  return write_both(heatmap(spec).figure, dir, "target_probability_heatmap");
}

std::vector<std::string> write_stats_figures(const std::string& dir, const StatsFigureData& data,
                                             const StatsFigureOptions& options) {
  auto paths = write_topk_cumulative_figure(dir, data);
  for (auto& path : write_target_probability_heatmap(dir, data, options))
    paths.push_back(std::move(path));
  return paths;
}

}  // namespace megasft::eval
