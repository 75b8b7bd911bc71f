// The figure surface: ticks, colours, and that PNG and SVG come out of one drawing at the asked
// size.
#include "megasft/eval/plot_canvas.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "kernels/check.h"
#include "tests/eval/png_image.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;
using testing::read_png;

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("megasft_plot_canvas_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(NiceTicks, RoundStepsInsideTheRange) {
  const auto unit = nice_ticks(0, 1, 5);
  ASSERT_EQ(unit.size(), 6u);
  for (size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], 0.2 * i, 1e-12);
  EXPECT_EQ(nice_ticks(3, 97, 4),
            (std::vector<double>{20, 40, 60, 80}));  // 94 / 20 is closest to 4
  EXPECT_EQ(nice_ticks(1e-6, 5e-6, 4).size(), 5u);
  EXPECT_TRUE(nice_ticks(1, 1, 5).empty());
  EXPECT_TRUE(nice_ticks(NAN, 1, 5).empty());
}

TEST(FormatTick, DecimalsFollowTheStep) {
  EXPECT_EQ(format_tick(0.4, 0.2), "0.4");
  EXPECT_EQ(format_tick(20, 10), "20");
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(2e-5, 1e-5), "2e-05");
  EXPECT_EQ(format_tick(0, 1e-5), "0");
}

TEST(FiniteRange, PadsAndSurvivesDegenerateInput) {
  const Range r = finite_range({1, NAN, 3, INFINITY}, 0.5);
  EXPECT_DOUBLE_EQ(r.lo, 0);
  EXPECT_DOUBLE_EQ(r.hi, 4);
  const Range constant = finite_range({2, 2});
  EXPECT_LT(constant.lo, 2);
  EXPECT_GT(constant.hi, 2);
  const Range empty = finite_range({NAN});
  EXPECT_DOUBLE_EQ(empty.lo, 0);
  EXPECT_DOUBLE_EQ(empty.hi, 1);
}

TEST(Viridis, EndsAndMiddleAreTheTableColours) {
  const Rgb lo = viridis(0), hi = viridis(1), mid = viridis(0.5), clamped = viridis(7);
  EXPECT_NEAR(lo.r * 255, 0x44, 1e-9);
  EXPECT_NEAR(hi.g * 255, 0xe7, 1e-9);
  EXPECT_NEAR(mid.g * 255, 0x91, 1e-9);
  EXPECT_DOUBLE_EQ(clamped.b, hi.b);
}

TEST(Figure, PngHasTheAskedSizeAndAWhiteBackground) {
  const fs::path dir = temp_dir("png");
  Figure figure(123, 45);
  set_colour(figure.cr(), rgb_from_hex(0xff0000));
  cairo_rectangle(figure.cr(), 10, 10, 20, 20);
  cairo_fill(figure.cr());
  figure.write_png((dir / "f.png").string());
  const auto image = read_png((dir / "f.png").string());
  ASSERT_EQ(image.width, 123);
  ASSERT_EQ(image.height, 45);
  EXPECT_EQ(image.at(100, 40).r, 255);
  EXPECT_EQ(image.at(100, 40).g, 255);
  EXPECT_EQ(image.at(20, 20).r, 255);
  EXPECT_EQ(image.at(20, 20).g, 0);
  EXPECT_FALSE(fs::exists(dir / "f.png.tmp"));
}

TEST(Figure, SvgIsBalancedAndCarriesTheSizeAndText) {
  Figure figure(200, 100);
  draw_text(figure.cr(), "loss", 10, 20, 12, Anchor::kLeft);
  const std::string svg = figure.svg();
  std::string error;
  EXPECT_TRUE(testing::tags_balance(svg, &error)) << error;
  EXPECT_NE(svg.find("viewBox=\"0 0 200 100\""), std::string::npos) << svg.substr(0, 300);
  EXPECT_NE(svg.find("glyph"), std::string::npos);  // text is drawn as glyph outlines
}

TEST(Figure, ADrawingErrorIsReportedNotABlankFile) {
  const fs::path dir = temp_dir("error");
  Figure figure(50, 50);
  draw_text(figure.cr(), "\xff\xfe not UTF-8", 5, 20, 10, Anchor::kLeft);
  EXPECT_THROW(figure.write_png((dir / "bad.png").string()), Error);
  EXPECT_FALSE(fs::exists(dir / "bad.png"));
}

TEST(Figure, RejectsAnEmptySize) { EXPECT_THROW(Figure(0, 10), Error); }

}  // namespace
}  // namespace megasft::eval
