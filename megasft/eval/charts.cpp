#include "megasft/eval/charts.h"

#include <algorithm>
#include <numbers>

#include "kernels/check.h"

namespace megasft::eval {
namespace {

// Room around a plot area for tick labels, axis labels and the title line (see draw_axes).
constexpr double kMarginLeft = 66, kMarginRight = 16, kMarginTop = 30, kMarginBottom = 42;
constexpr double kLegendRow = 16;  // extra top margin when a legend row is drawn
constexpr double kLineWidth = 1.8;

Axes plot_area(double width, double height, double extra_top, double extra_right = 0) {
  Axes axes;
  axes.left = kMarginLeft;
  axes.top = kMarginTop + extra_top;
  axes.width = width - kMarginLeft - kMarginRight - extra_right;
  axes.height = height - axes.top - kMarginBottom;
  MEGASFT_CHECK(axes.width > 10 && axes.height > 10, "chart of ", width, "x", height,
                " pixels leaves no room for its plot area");
  return axes;
}

void draw_no_data(cairo_t* cr, const Axes& axes) {
  cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
  draw_text(cr, "no data", axes.left + axes.width / 2, axes.top + axes.height / 2, 12,
            Anchor::kCentre);
}

// Strokes the finite runs of a series; an isolated finite point becomes a dot so it stays visible.
void draw_series(cairo_t* cr, const Axes& axes, const Series& s) {
  const size_t n = s.x.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && !(std::isfinite(s.x[i]) && std::isfinite(s.y[i]))) ++i;
    size_t end = i;
    while (end < n && std::isfinite(s.x[end]) && std::isfinite(s.y[end])) ++end;
    if (end == i + 1) {
      cairo_arc(cr, axes.px(s.x[i]), axes.py(s.y[i]), 2.5, 0, 2 * std::numbers::pi);
      cairo_fill(cr);
    } else if (end > i) {
      cairo_move_to(cr, axes.px(s.x[i]), axes.py(s.y[i]));
      for (size_t j = i + 1; j < end; ++j) cairo_line_to(cr, axes.px(s.x[j]), axes.py(s.y[j]));
      cairo_stroke(cr);
    }
    i = end;
  }
}

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

}  // namespace

Chart line_chart(const LineChartSpec& spec) {
  std::vector<double> xs, ys;
  bool named = false;
  for (const auto& s : spec.series) {
    MEGASFT_CHECK(s.x.size() == s.y.size(), "series '", s.name, "' has ", s.x.size(), " x and ",
                  s.y.size(), " y values");
    // Every x counts towards the x range, so charts of one run's steps share their x axis even
    // where a metric starts late (mask_rate is null before the penalty starts).
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.x[i])) xs.push_back(s.x[i]);
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) ys.push_back(s.y[i]);
    }
    named = named || !s.name.empty();
  }
  Chart chart{Figure(spec.width, spec.height),
              plot_area(spec.width, spec.height, named ? kLegendRow : 0)};
  Axes& axes = chart.axes;
  const Range x = finite_range(xs, 0), y = finite_range(ys);
  axes.x_min = x.lo, axes.x_max = x.hi, axes.y_min = y.lo, axes.y_max = y.hi;
  cairo_t* cr = chart.figure.cr();
  draw_axes(cr, axes, spec.labels);
  if (ys.empty()) draw_no_data(cr, axes);

  cairo_save(cr);
  cairo_rectangle(cr, axes.left, axes.top, axes.width, axes.height);
  cairo_clip(cr);
  cairo_set_line_width(cr, kLineWidth);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (size_t k = 0; k < spec.series.size(); ++k) {
    set_colour(cr, series_colour(k));
    draw_series(cr, axes, spec.series[k]);
  }
  cairo_restore(cr);

  // Legend: a row between the title and the plot, left to right, so it never covers a curve.
  double legend_x = axes.left;
  for (size_t k = 0; k < spec.series.size() && named; ++k) {
    const double baseline = kMarginTop + 6;
    set_colour(cr, series_colour(k));
    cairo_set_line_width(cr, 3);
    cairo_move_to(cr, legend_x, baseline - 4);
    cairo_line_to(cr, legend_x + 16, baseline - 4);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    draw_text(cr, spec.series[k].name, legend_x + 20, baseline, 10, Anchor::kLeft);
    cairo_text_extents_t extents;
    cairo_set_font_size(cr, 10);
    cairo_text_extents(cr, spec.series[k].name.c_str(), &extents);
    legend_x += 20 + extents.x_advance + 14;
  }
  return chart;
}

DistributionSummary summarize_distribution(std::vector<double> values) {
  std::erase_if(values, [](double v) { return !std::isfinite(v); });
  DistributionSummary summary;
  summary.count = static_cast<int64_t>(values.size());
  if (values.empty()) return summary;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  summary.mean = sum / static_cast<double>(values.size());
  summary.p05 = quantile_of_sorted(values, 0.05);
  summary.q1 = quantile_of_sorted(values, 0.25);
  summary.median = quantile_of_sorted(values, 0.5);
  summary.q3 = quantile_of_sorted(values, 0.75);
  summary.p95 = quantile_of_sorted(values, 0.95);
  return summary;
}

Chart distribution_chart(const DistributionChartSpec& spec) {
  MEGASFT_CHECK(spec.categories.size() == spec.values.size(),
                "distribution chart: ", spec.categories.size(), " categories but ",
                spec.values.size(), " value lists");
  std::vector<DistributionSummary> summaries;
  std::vector<double> extremes;
  for (const auto& values : spec.values) {
    summaries.push_back(summarize_distribution(values));
    extremes.push_back(summaries.back().p05);
    extremes.push_back(summaries.back().p95);
  }
  Chart chart{Figure(spec.width, spec.height), plot_area(spec.width, spec.height, 0)};
  Axes& axes = chart.axes;
  const Range y = finite_range(extremes);
  axes.x_min = -0.5;
  axes.x_max = static_cast<double>(std::max<size_t>(spec.categories.size(), 1)) - 0.5;
  axes.y_min = std::isnan(spec.y_min) ? y.lo : spec.y_min;
  axes.y_max = std::isnan(spec.y_max) ? y.hi : spec.y_max;
  cairo_t* cr = chart.figure.cr();
  draw_axes(cr, axes, spec.labels, {.x_ticks = false});

  const double half_box = std::min(0.3 * axes.width / (axes.x_max - axes.x_min), 24.0);
  const Rgb colour = series_colour(0);
  for (size_t i = 0; i < summaries.size(); ++i) {
    const auto& s = summaries[i];
    const double x = axes.px(static_cast<double>(i));
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    draw_text(cr, spec.categories[i], x, axes.top + axes.height + 14, 10, Anchor::kCentre);
    if (s.count == 0) continue;
    cairo_set_line_width(cr, 1.2);
    cairo_move_to(cr, x, axes.py(s.p05));  // whiskers from the box to the 5th and 95th percentiles
    cairo_line_to(cr, x, axes.py(s.q1));
    cairo_move_to(cr, x, axes.py(s.q3));
    cairo_line_to(cr, x, axes.py(s.p95));
    for (double end : {s.p05, s.p95}) {
      cairo_move_to(cr, x - half_box / 2, axes.py(end));
      cairo_line_to(cr, x + half_box / 2, axes.py(end));
    }
    cairo_stroke(cr);
    const double top = axes.py(s.q3), bottom = axes.py(s.q1);
    cairo_rectangle(cr, x - half_box, top, 2 * half_box, bottom - top);
    set_colour(cr, colour, 0.35);
    cairo_fill_preserve(cr);
    set_colour(cr, colour);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, x - half_box, axes.py(s.median));
    cairo_line_to(cr, x + half_box, axes.py(s.median));
    cairo_stroke(cr);
    cairo_arc(cr, x, axes.py(s.mean), 2.5, 0, 2 * std::numbers::pi);
    cairo_fill(cr);
  }
  return chart;
}

Chart heatmap(const HeatmapSpec& spec) {
  MEGASFT_CHECK(spec.row_labels.size() == spec.rows.size(), "heatmap: ", spec.row_labels.size(),
                " row labels for ", spec.rows.size(), " rows");
  MEGASFT_CHECK(spec.cell_text.empty() || spec.cell_text.size() == spec.rows.size(),
                "heatmap: cell_text has ", spec.cell_text.size(), " rows, values ",
                spec.rows.size());
  MEGASFT_CHECK(spec.v_max > spec.v_min, "heatmap: v_max ", spec.v_max, " <= v_min ", spec.v_min);
  size_t columns = 1;
  for (const auto& row : spec.rows) columns = std::max(columns, row.size());
  constexpr double kColourBar = 76;  // the bar, its ticks and its label
  const double plot_w = static_cast<double>(columns) * spec.cell_width;
  const double plot_h =
      static_cast<double>(std::max<size_t>(spec.rows.size(), 1)) * spec.cell_height;
  // Wide enough for the title and the x label too, whatever the number of columns.
  const double text_w = std::max(kMarginLeft + text_width(spec.labels.title, kTitleFontSize),
                                 text_width(spec.labels.x_label, kLabelFontSize) + 8);
  const int width = static_cast<int>(std::ceil(
      std::max({kMarginLeft + plot_w + kColourBar + kMarginRight, text_w + kMarginRight, 360.0})));
  const int height = static_cast<int>(std::ceil(kMarginTop + plot_h + kMarginBottom));
  Chart chart{Figure(width, height), {}};
  Axes& axes = chart.axes;
  axes = {kMarginLeft,
          kMarginTop,
          plot_w,
          plot_h,
          0,
          static_cast<double>(columns),
          static_cast<double>(std::max<size_t>(spec.rows.size(), 1)),
          0};
  cairo_t* cr = chart.figure.cr();

  const double span = spec.v_max - spec.v_min;
  for (size_t r = 0; r < spec.rows.size(); ++r) {
    const auto& row = spec.rows[r];
    if (!spec.cell_text.empty())
      MEGASFT_CHECK(spec.cell_text[r].size() == row.size(), "heatmap: row ", r, " has ", row.size(),
                    " values but ", spec.cell_text[r].size(), " texts");
    for (size_t c = 0; c < row.size(); ++c) {
      const double t = (row[c] - spec.v_min) / span;
      const Rgb colour = viridis(t);
      set_colour(cr, colour);
      const double x0 = axes.px(static_cast<double>(c)), y0 = axes.py(static_cast<double>(r));
      cairo_rectangle(cr, x0, y0, spec.cell_width, spec.cell_height);
      cairo_fill(cr);
      if (spec.cell_text.empty() || spec.cell_text[r][c].empty()) continue;
      cairo_save(cr);
      cairo_rectangle(cr, x0, y0, spec.cell_width, spec.cell_height);
      cairo_clip(cr);
      const bool dark = 0.299 * colour.r + 0.587 * colour.g + 0.114 * colour.b < 0.5;
      cairo_set_source_rgb(cr, dark ? 1 : 0, dark ? 1 : 0, dark ? 1 : 0);
      const double size = std::min(spec.cell_width * 0.8, 10.0);
      draw_text(cr, spec.cell_text[r][c], x0 + spec.cell_width * 0.5 + size * 0.35,
                y0 + spec.cell_height - 2, size, Anchor::kLeft, -std::numbers::pi / 2);
      cairo_restore(cr);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    draw_text(cr, spec.row_labels[r], axes.left - 5, axes.py(static_cast<double>(r) + 0.5) + 3.5,
              10, Anchor::kRight);
  }
  draw_axes(cr, axes, spec.labels, {.y_ticks = false, .grid = false});

  // The colour bar: a linear gradient through viridis' anchors, which is exactly viridis() (linear
  // between its anchors), in PNG and SVG alike.
  const double bar_x = axes.left + plot_w + 14, bar_w = 12;
  Axes bar{bar_x, axes.top, bar_w, plot_h, 0, 1, spec.v_min, spec.v_max};
  cairo_pattern_t* gradient =
      cairo_pattern_create_linear(0, bar.py(spec.v_min), 0, bar.py(spec.v_max));
  for (int i = 0; i < kViridisAnchors; ++i) {
    const double t = static_cast<double>(i) / (kViridisAnchors - 1);
    const Rgb c = viridis(t);
    cairo_pattern_add_color_stop_rgb(gradient, t, c.r, c.g, c.b);
  }
  cairo_rectangle(cr, bar_x, axes.top, bar_w, plot_h);
  cairo_set_source(cr, gradient);
  cairo_fill(cr);
  cairo_pattern_destroy(gradient);
  const auto ticks = nice_ticks(spec.v_min, spec.v_max, std::max(2, static_cast<int>(plot_h / 30)));
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : span;
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  for (double t : ticks) {
    cairo_move_to(cr, bar_x + bar_w, bar.py(t));
    cairo_line_to(cr, bar_x + bar_w + 3, bar.py(t));
    cairo_stroke(cr);
    draw_text(cr, format_tick(t, step), bar_x + bar_w + 5, bar.py(t) + 3.5, 9, Anchor::kLeft);
  }
  if (!spec.colour_label.empty())
    draw_text(cr, spec.colour_label, bar_x + bar_w + 44, axes.top + plot_h / 2, 10, Anchor::kCentre,
              -std::numbers::pi / 2);
  return chart;
}

}  // namespace megasft::eval
