// Figures 2 and 3 from synthetic `megasft stats` arrays: files written, shapes checked, k list.
#include "megasft/eval/stats_figures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "kernels/check.h"
#include "tests/eval/png_image.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;

// Three samples of 40 positions; the first 10 of each are prompt (unsupervised).
struct Synthetic {
  std::vector<int> k = with_plotted_k({});
  std::vector<double> topk_sum, p_target;
  std::vector<uint8_t> supervised;
  std::vector<int64_t> offsets = {0};
  std::vector<int32_t> target;
  Synthetic() {
    for (int sample = 0; sample < 3; ++sample) {
      for (int t = 0; t < 40; ++t) {
        const double p = 0.5 + 0.5 * std::sin(t + sample);
        p_target.push_back(p);
        supervised.push_back(t >= 10);
        target.push_back(t % 7);
        double sum = 0;
        for (int k_i : k)
          sum = std::max(sum, 1 - std::pow(0.6, k_i) * (1 - 0.1 * sample)), topk_sum.push_back(sum);
      }
      offsets.push_back(static_cast<int64_t>(p_target.size()));
    }
  }
  StatsFigureData view(bool with_text) const {
    StatsFigureData data{k, topk_sum, p_target, supervised, offsets, target, {}};
    // Token 0 is a newline, the others " tok": the heatmap must make both printable.
    if (with_text)
      data.token_text = [](int32_t id) { return std::string(id == 0 ? "\n" : " tok"); };
    return data;
  }
};

TEST(StatsFigures, WritesPngAndSvgOfBothFigures) {
  const fs::path dir = fs::temp_directory_path() / "megasft_stats_figures";
  fs::remove_all(dir);
  const Synthetic data;
  const auto paths = write_stats_figures(dir.string(), data.view(/*with_text=*/false));
  ASSERT_EQ(paths.size(), 4u);
  for (const char* name : {"topk_cumulative.png", "topk_cumulative.svg",
                           "target_probability_heatmap.png", "target_probability_heatmap.svg"})
    EXPECT_TRUE(fs::is_regular_file(dir / name)) << name;
  const auto boxes = testing::read_png((dir / "topk_cumulative.png").string());
  EXPECT_EQ(boxes.width, 640);
  // Every k = 1..10 is a category: the box colour appears across the plot's width.
  EXPECT_GT(testing::count_colour(boxes, series_colour(0), 30, 0, 0, boxes.width, boxes.height),
            200);
  const auto cells = testing::read_png((dir / "target_probability_heatmap.png").string());
  EXPECT_EQ(cells.height, 30 + 3 * 18 + 42);  // margins + three sample rows
  std::string error;
  std::ifstream svg(dir / "topk_cumulative.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(testing::tags_balance(text, &error)) << error;
}

TEST(StatsFigures, TokenTextGoesInsideTallerCells) {
  const fs::path dir = fs::temp_directory_path() / "megasft_stats_figures_text";
  fs::remove_all(dir);
  StatsFigureOptions options;
  options.heatmap_samples = 2;
  options.heatmap_positions = 16;
  const Synthetic data;
  write_target_probability_heatmap(dir.string(), data.view(/*with_text=*/true), options);
  const auto cells = testing::read_png((dir / "target_probability_heatmap.png").string());
  EXPECT_EQ(cells.height, 30 + 2 * 64 + 42);
}

TEST(StatsFigures, ShapeMismatchesAreErrors) {
  Synthetic data;
  StatsFigureData view = data.view(false);
  view.topk_sum = view.topk_sum.subspan(1);
  EXPECT_THROW(write_topk_cumulative_figure("/tmp/megasft_never", view), Error);
  view = data.view(false);
  view.sample_offsets = view.sample_offsets.first(2);
  EXPECT_THROW(write_target_probability_heatmap("/tmp/megasft_never", view, {}), Error);
}

TEST(StatsFigures, PlottedKAddsOneToTenToTheUsersList) {
  EXPECT_EQ(with_plotted_k({1, 2, 3, 5, 10}), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(with_plotted_k({20, 1}).back(), 20);
  EXPECT_EQ(with_plotted_k({20, 1}).size(), 11u);
}

TEST(StatsFigures, PrintableTokenIsOneLineOfValidUtf8) {
  EXPECT_EQ(printable_token(" the"), "\u00b7the");
  EXPECT_EQ(printable_token("a\nb\t"), "a\u21b5b?");
  EXPECT_EQ(printable_token("\xe4\xb8"), "\ufffd");  // a cut multi-byte character
}

}  // namespace
}  // namespace megasft::eval
