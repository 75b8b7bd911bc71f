// The drawing surface of megasft's figures: a Figure records its drawing once on a cairo recording
// surface and replays it onto a PNG image or an SVG document, so both show the same chart, text
// included.
#pragma once

#include <cairo.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace megasft::eval {

struct Rgb {
  double r = 0, g = 0, b = 0;  // each in [0, 1]
};

// 0xRRGGBB -> Rgb.
Rgb rgb_from_hex(uint32_t hex);
// The i-th colour of a ten-colour qualitative palette (matplotlib's "tab10" hues), cycling.
Rgb series_colour(size_t i);
// The viridis colour map at t in [0, 1] (clamped; NaN gives grey): perceptually uniform and still
// readable in greyscale, so a probability heatmap does not invent edges.
Rgb viridis(double t);
constexpr int kViridisAnchors =
    9;  // viridis() interpolates linearly between 9 evenly spaced colours

// A figure of width x height pixels on a white background. Move-only: it owns cairo objects.
class Figure {
 public:
  Figure(int width, int height);
  ~Figure();
  Figure(Figure&& other) noexcept;
  Figure& operator=(Figure&& other) noexcept;
  Figure(const Figure&) = delete;
  Figure& operator=(const Figure&) = delete;

  cairo_t* cr() const { return cr_; }
  int width() const { return width_; }
  int height() const { return height_; }

  // Each checks cairo's status first: a drawing error (e.g. text that is not UTF-8) would otherwise
  // leave a silently blank figure. Files are written to path.tmp and renamed.
  void write_png(const std::string& path) const;
  void write_svg(const std::string& path) const;
  std::string svg() const;  // the SVG document in memory (for inlining into HTML)

 private:
  void check_status(const std::string& what) const;
  cairo_surface_t* recording_ = nullptr;
  cairo_t* cr_ = nullptr;
  int width_ = 0, height_ = 0;
};

// A plot area: a rectangle of the figure in pixels and the data range it shows. y grows upwards
// (y_max at the top); a heatmap sets y_min > y_max to put its first row at the top.
struct Axes {
  double left = 0, top = 0, width = 0, height = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * width; }
  double py(double y) const { return top + (y_max - y) / (y_max - y_min) * height; }
};

// The finite range of values, widened by `pad` of its span on each side; a constant series gets a
// span of its own size (or 1 around 0) and no finite value gives [0, 1].
struct Range {
  double lo = 0, hi = 1;
};
Range finite_range(const std::vector<double>& values, double pad = 0.05);

// About `target` round tick positions (steps of 1, 2 or 5 times a power of ten) inside [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target);
// A tick label with as many decimals as the step needs; very large or small values in %g form.
std::string format_tick(double value, double step);

enum class Anchor { kLeft, kCentre, kRight };
// Text in DejaVu Sans (every Debian machine with fontconfig has it) at baseline y; `angle` in
// radians turns it around (x, y).
void draw_text(cairo_t* cr, std::string_view text, double x, double y, double size, Anchor anchor,
               double angle = 0);
void set_colour(cairo_t* cr, const Rgb& colour, double alpha = 1);
// The advance width of text as draw_text sets it, for sizing a figure before drawing it.
double text_width(std::string_view text, double size);
constexpr double kTitleFontSize = 13, kLabelFontSize = 11;

// Grid lines, the frame, tick labels and axis labels; the title goes on the figure's first line
// (baseline 18 px), so a chart keeps at least 28 px above its plot area.
struct AxisLabels {
  std::string title, x_label, y_label;
};
struct AxesStyle {
  bool x_ticks = true, y_ticks = true;
  bool grid = true;  // light lines at the ticks (off where they would cross a heatmap's cells)
};
void draw_axes(cairo_t* cr, const Axes& axes, const AxisLabels& labels,
               const AxesStyle& style = {});

}  // namespace megasft::eval
