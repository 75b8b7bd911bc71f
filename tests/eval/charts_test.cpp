// Charts checked by their pixels: a line's colour where its data map, nothing in a NaN gap, a
// heatmap cell's colour equal to the colour map at its value, a box plot's median bar.
#include "megasft/eval/charts.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "kernels/check.h"
#include "tests/eval/png_image.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;
using testing::count_colour;
using testing::near_colour;
using testing::Pixel;
using testing::read_png;

testing::PngImage render(const Chart& chart, const std::string& name) {
  const fs::path path = fs::temp_directory_path() / ("megasft_charts_" + name + ".png");
  chart.figure.write_png(path.string());
  return read_png(path.string());
}

// Pixels of `colour` in the 7x7 square around (x, y).
int colour_near(const testing::PngImage& image, const Rgb& colour, double x, double y) {
  const int cx = static_cast<int>(x), cy = static_cast<int>(y);
  return count_colour(image, colour, 40, cx - 3, cy - 3, cx + 4, cy + 4);
}

LineChartSpec two_series_with_a_gap() {
  LineChartSpec spec;
  spec.labels = {"Loss", "step", "loss"};
  Series rising{"rising", {}, {}}, flat{"flat", {}, {}};
  for (int i = 0; i <= 20; ++i) {
    rising.x.push_back(i);
    rising.y.push_back(i >= 9 && i <= 11 ? NAN : i);  // a gap from x = 9 to 11
    flat.x.push_back(i);
    flat.y.push_back(2);
  }
  spec.series = {rising, flat};
  return spec;
}

TEST(LineChart, LinesAppearWhereTheirDataMapAndNotInAGap) {
  const Chart chart = line_chart(two_series_with_a_gap());
  const auto image = render(chart, "line");
  ASSERT_EQ(image.width, 560);
  ASSERT_EQ(image.height, 300);
  const Axes& a = chart.axes;
  for (double x : {1.5, 4.0, 7.5, 14.0, 18.5})
    EXPECT_GT(colour_near(image, series_colour(0), a.px(x), a.py(x)), 3) << "rising at x = " << x;
  EXPECT_EQ(colour_near(image, series_colour(0), a.px(10), a.py(10)), 0) << "the NaN gap is drawn";
  EXPECT_GT(colour_near(image, series_colour(1), a.px(10), a.py(2)), 3) << "the flat series";
  EXPECT_EQ(colour_near(image, series_colour(1), a.px(10), a.py(15)), 0);
}

TEST(LineChart, SvgHasOnePathPerUnbrokenRunAndTheLegend) {
  const std::string svg = line_chart(two_series_with_a_gap()).figure.svg();
  std::string error;
  ASSERT_TRUE(testing::tags_balance(svg, &error)) << error;
  // cairo writes a path's colour in its style, as percentages: tab10 blue 0x1f77b4.
  const std::string blue_stroke = "stroke:rgb(12.156863%,46.666667%,70.588235%)";
  EXPECT_EQ(testing::count_substring(svg, blue_stroke), 3)
      << "two runs around the gap and the legend";
}

TEST(LineChart, EmptyDataDrawsAxesWithoutFailing) {
  LineChartSpec spec;
  spec.series = {{"x", {1, 2}, {NAN, NAN}}};
  EXPECT_NO_THROW(render(line_chart(spec), "empty"));
  spec.series = {{"bad", {1, 2}, {1}}};
  EXPECT_THROW(line_chart(spec), Error);
}

TEST(DistributionSummary, QuantilesInterpolateLikeNumpy) {
  std::vector<double> values;
  for (int i = 101; i >= 1; --i) values.push_back(i);
  values.push_back(NAN);
  const auto s = summarize_distribution(values);
  EXPECT_EQ(s.count, 101);
  EXPECT_DOUBLE_EQ(s.p05, 6);
  EXPECT_DOUBLE_EQ(s.q1, 26);
  EXPECT_DOUBLE_EQ(s.median, 51);
  EXPECT_DOUBLE_EQ(s.q3, 76);
  EXPECT_DOUBLE_EQ(s.p95, 96);
  EXPECT_DOUBLE_EQ(s.mean, 51);
  const auto halves = summarize_distribution({0, 1});
  EXPECT_DOUBLE_EQ(halves.median, 0.5);
  EXPECT_EQ(summarize_distribution({NAN}).count, 0);
}

TEST(DistributionChart, BoxesSpanTheQuartilesWithTheMedianInBlack) {
  DistributionChartSpec spec;
  spec.categories = {"1", "2"};
  spec.values = {{0.1, 0.2, 0.3, 0.4, 0.5}, {0.5, 0.6, 0.7, 0.8, 0.9}};
  spec.y_min = 0, spec.y_max = 1;
  const Chart chart = distribution_chart(spec);
  const auto image = render(chart, "box");
  const Axes& a = chart.axes;
  EXPECT_TRUE(near_colour(image.at(a.px(0) + 5, a.py(0.3)), {0, 0, 0}, 10)) << "median of box 0";
  EXPECT_TRUE(near_colour(image.at(a.px(1) + 5, a.py(0.7)), {0, 0, 0}, 10)) << "median of box 1";
  // Inside the box, between quartile and median: the box fill (palette blue at 35 % on white).
  const Pixel fill = image.at(a.px(1) + 5, a.py(0.65));
  EXPECT_LT(fill.r, 200);
  EXPECT_GT(fill.b, fill.r);
  // Above the 95th percentile: background.
  EXPECT_EQ(image.at(a.px(0) + 5, a.py(0.8)).r, 255);
}

TEST(Heatmap, CellsHaveTheColourMapValueOfTheirNumber) {
  HeatmapSpec spec;
  spec.row_labels = {"a", "b"};
  spec.rows = {{0.0, 0.25, 0.5, 0.75, 1.0}, {0.9, NAN, 0.1}};
  spec.cell_width = 12, spec.cell_height = 16;
  const Chart chart = heatmap(spec);
  const auto image = render(chart, "heatmap");
  const Axes& a = chart.axes;
  for (size_t r = 0; r < spec.rows.size(); ++r)
    for (size_t c = 0; c < spec.rows[r].size(); ++c) {
      const Pixel p = image.at(a.px(c + 0.5), a.py(r + 0.5));
      const Rgb expected = viridis(spec.rows[r][c]);  // NaN: the map's grey
      EXPECT_TRUE(near_colour(p, expected, 1))
          << "cell " << r << "," << c << " is " << p.r << " " << p.g << " " << p.b;
    }
  // Past the end of the short row: background, not a cell.
  EXPECT_EQ(image.at(a.px(4.5), a.py(1.5)).g, 255);
  // The colour bar runs from the map's bottom colour to its top one: a pixel row's colour is the
  // map at its centre's height.
  const double bar_x = a.left + a.width + 20;
  for (int y = static_cast<int>(a.top); y < a.top + a.height; y += 5) {
    const double t = 1 - (y + 0.5 - a.top) / a.height;
    EXPECT_TRUE(near_colour(image.at(bar_x, y), viridis(t), 4)) << "colour bar at t = " << t;
  }
}

TEST(Heatmap, CellTextMustMatchTheRows) {
  HeatmapSpec spec;
  spec.row_labels = {"a"};
  spec.rows = {{0.5, 0.5}};
  spec.cell_text = {{"x"}};
  EXPECT_THROW(heatmap(spec), Error);
  spec.cell_text = {{"x", "y"}};
  spec.cell_width = 14;
  EXPECT_NO_THROW(render(heatmap(spec), "text"));
}

}  // namespace
}  // namespace megasft::eval
