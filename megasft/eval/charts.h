// The three chart kinds megasft draws (training curves, distributions, per-token heatmaps), each
// returned with the Axes its data were mapped through, so a test can find a value's pixel.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "megasft/eval/plot_canvas.h"

namespace megasft::eval {

struct Chart {
  Figure figure;
  Axes axes;
};

// One curve; x and y have the same length. A point with a non-finite x or y breaks the line (a
// metric logged as null for some steps leaves a gap instead of a false straight segment).
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LineChartSpec {
  AxisLabels labels;
  std::vector<Series>
      series;  // colour i is series_colour(i); a legend row appears for named series
  int width = 560, height = 300;
};
Chart line_chart(const LineChartSpec& spec);

// Quantiles by linear interpolation between order statistics (numpy's default), over the finite
// values only; with no finite value every field is NaN and count is 0.
struct DistributionSummary {
  double p05 = NAN, q1 = NAN, median = NAN, q3 = NAN, p95 = NAN, mean = NAN;
  int64_t count = 0;
};
DistributionSummary summarize_distribution(std::vector<double> values);

// A box per category: the box spans the quartiles, the whiskers the 5th to 95th percentile (the
// tails of millions of token positions would otherwise flatten the boxes), a black bar at the
// median and a dot at the mean. Category i sits at x = i.
struct DistributionChartSpec {
  AxisLabels labels;
  std::vector<std::string> categories;
  std::vector<std::vector<double>> values;  // [categories][samples]
  double y_min = NAN, y_max = NAN;          // NaN: from the data
  int width = 640, height = 360;
};
Chart distribution_chart(const DistributionChartSpec& spec);

// Rows of coloured cells with a colour bar on the right. Rows may differ in length; a NaN cell is
// drawn light grey (no value). The axes map cell (r, c) to x in [c, c + 1] and y in [r, r + 1],
// row 0 on top.
struct HeatmapSpec {
  AxisLabels labels;  // y_label is unused: each row carries its own label
  std::string colour_label;
  std::vector<std::string> row_labels;
  std::vector<std::vector<double>> rows;
  // Optional, the shape of rows: text written upwards inside each cell (e.g. the decoded token),
  // clipped to the cell. Must be valid UTF-8.
  std::vector<std::vector<std::string>> cell_text;
  double v_min = 0, v_max = 1;
  double cell_width = 6, cell_height = 18;  // pixels
};
Chart heatmap(const HeatmapSpec& spec);

}  // namespace megasft::eval
