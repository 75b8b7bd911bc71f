#include "megasft/eval/plot_canvas.h"

#include <cairo-svg.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <utility>

#include "kernels/check.h"

namespace megasft::eval {
namespace {

constexpr std::array<uint32_t, 10> kPalette = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                               0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
// Viridis sampled at t = 0, 1/8, ..., 1; linear interpolation between these nine stays within a
// couple of 8-bit steps of the full 256-entry table.
constexpr std::array<uint32_t, kViridisAnchors> kViridis = {
    0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c, 0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};
constexpr const char* kFontFamily = "DejaVu Sans";

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Replays the recorded drawing onto `target` and finishes it (which flushes an SVG stream).
void replay(cairo_surface_t* recording, cairo_surface_t* target) {
  cairo_t* cr = cairo_create(target);
  cairo_set_source_surface(cr, recording, 0, 0);
  cairo_paint(cr);
  const cairo_status_t status = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_flush(target);
  MEGASFT_CHECK(status == CAIRO_STATUS_SUCCESS,
                "replaying a figure failed: ", cairo_status_to_string(status));
}

void write_file(const std::string& path, const std::string& bytes) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    MEGASFT_CHECK(out.good(), "cannot write '", tmp, "'");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

Rgb rgb_from_hex(uint32_t hex) {
  return {((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0, (hex & 0xff) / 255.0};
}

Rgb series_colour(size_t i) { return rgb_from_hex(kPalette[i % kPalette.size()]); }

Rgb viridis(double t) {
  if (std::isnan(t)) return {0.8, 0.8, 0.8};
  t = std::clamp(t, 0.0, 1.0) * (kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), kViridis.size() - 2);
  const double f = t - static_cast<double>(i);
  const Rgb a = rgb_from_hex(kViridis[i]), b = rgb_from_hex(kViridis[i + 1]);
  return {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

Figure::Figure(int width, int height) : width_(width), height_(height) {
  MEGASFT_CHECK(width > 0 && height > 0, "figure size must be positive, got ", width, "x", height);
  const cairo_rectangle_t extents = {0, 0, static_cast<double>(width), static_cast<double>(height)};
  recording_ = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents);
  cr_ = cairo_create(recording_);
  cairo_set_source_rgb(cr_, 1, 1, 1);
  cairo_paint(cr_);
  cairo_select_font_face(cr_, kFontFamily, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

Figure::~Figure() {
  if (cr_) cairo_destroy(cr_);
  if (recording_) cairo_surface_destroy(recording_);
}

Figure::Figure(Figure&& other) noexcept
    : recording_(std::exchange(other.recording_, nullptr)),
      cr_(std::exchange(other.cr_, nullptr)),
      width_(other.width_),
      height_(other.height_) {}

Figure& Figure::operator=(Figure&& other) noexcept {
  std::swap(recording_, other.recording_);
  std::swap(cr_, other.cr_);
  std::swap(width_, other.width_);
  std::swap(height_, other.height_);
  return *this;
}

void Figure::check_status(const std::string& what) const {
  MEGASFT_CHECK(cr_ != nullptr, "writing ", what, ": the figure was moved from");
  const cairo_status_t status = cairo_status(cr_);
  MEGASFT_CHECK(status == CAIRO_STATUS_SUCCESS, "writing ", what,
                ": drawing the figure failed: ", cairo_status_to_string(status));
}

void Figure::write_png(const std::string& path) const {
  check_status(path);
  cairo_surface_t* image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width_, height_);
  replay(recording_, image);
  std::string bytes;
  const cairo_status_t status = cairo_surface_write_to_png_stream(image, append_to_string, &bytes);
  cairo_surface_destroy(image);
  MEGASFT_CHECK(status == CAIRO_STATUS_SUCCESS, "encoding PNG '", path,
                "' failed: ", cairo_status_to_string(status));
  write_file(path, bytes);
}

std::string Figure::svg() const {
  check_status("an SVG figure");
  std::string bytes;
  cairo_surface_t* svg =
      cairo_svg_surface_create_for_stream(append_to_string, &bytes, width_, height_);
  replay(recording_, svg);
  cairo_surface_finish(svg);  // the closing tags are written only when the surface finishes
  const cairo_status_t status = cairo_surface_status(svg);
  cairo_surface_destroy(svg);
  MEGASFT_CHECK(status == CAIRO_STATUS_SUCCESS,
                "writing an SVG figure failed: ", cairo_status_to_string(status));
  return bytes;
}

void Figure::write_svg(const std::string& path) const { write_file(path, svg()); }

Range finite_range(const std::vector<double>& values, double pad) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi) return {0, 1};
  if (lo == hi) {
    const double half = lo == 0 ? 1 : std::abs(lo) * 0.5;
    return {lo - half, hi + half};
  }
  const double margin = (hi - lo) * pad;
  return {lo - margin, hi + margin};
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi) || target < 1) return ticks;
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  // The step of 1, 2, 5 or 10 times the magnitude whose interval count is closest to the target.
  double step = magnitude, best = INFINITY;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    const double miss = std::abs((hi - lo) / (m * magnitude) - target);
    if (miss < best) best = miss, step = m * magnitude;
  }
  // A relative epsilon keeps ticks that sit on the range's ends despite rounding; integer multiples
  // of the step do not accumulate error as repeated addition would.
  const double eps = step * 1e-9;
  for (auto i = static_cast<int64_t>(std::ceil((lo - eps) / step)); i * step <= hi + eps; ++i)
    ticks.push_back(i == 0 ? 0.0 : static_cast<double>(i) * step);
  return ticks;
}

std::string format_tick(double value, double step) {
  if (value == 0) return "0";
  char buffer[32];
  const double magnitude = std::max(std::abs(value), std::abs(step));
  if (value != 0 && (magnitude >= 1e6 || magnitude < 1e-3)) {
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
  } else {
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(buffer, sizeof buffer, "%.*f", std::clamp(decimals, 0, 6), value);
  }
  return buffer;
}

void set_colour(cairo_t* cr, const Rgb& colour, double alpha) {
  cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, alpha);
}

double text_width(std::string_view text, double size) {
  cairo_surface_t* scratch = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t* cr = cairo_create(scratch);
  cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  const std::string owned(text);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, owned.c_str(), &extents);
  cairo_destroy(cr);
  cairo_surface_destroy(scratch);
  return extents.x_advance;
}

void draw_text(cairo_t* cr, std::string_view text, double x, double y, double size, Anchor anchor,
               double angle) {
  const std::string owned(text);  // cairo needs a terminating NUL
  cairo_save(cr);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, owned.c_str(), &extents);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  const double shift = anchor == Anchor::kLeft     ? 0
                       : anchor == Anchor::kCentre ? extents.x_advance / 2
                                                   : extents.x_advance;
  cairo_move_to(cr, -shift, 0);
  cairo_show_text(cr, owned.c_str());
  cairo_restore(cr);
}

void draw_axes(cairo_t* cr, const Axes& axes, const AxisLabels& labels, const AxesStyle& style) {
  constexpr double kTickFont = 10, kTitleBaseline = 18;
  const double right = axes.left + axes.width, bottom = axes.top + axes.height;
  cairo_save(cr);
  cairo_set_line_width(cr, 1);
  if (style.x_ticks) {
    const auto ticks =
        nice_ticks(axes.x_min, axes.x_max, std::max(2, static_cast<int>(axes.width / 80)));
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    for (double t : ticks) {
      const double x = std::round(axes.px(t)) + 0.5;  // half pixels keep 1-px lines crisp
      const double grey = style.grid ? 0.9 : 0.3;
      cairo_set_source_rgb(cr, grey, grey, grey);
      cairo_move_to(cr, x, style.grid ? axes.top : bottom);
      cairo_line_to(cr, x, bottom + (style.grid ? 0 : 4));  // without a grid: a tick mark below
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      draw_text(cr, format_tick(t, step), x, bottom + 14, kTickFont, Anchor::kCentre);
    }
  }
  if (style.y_ticks) {
    const auto ticks =
        nice_ticks(std::min(axes.y_min, axes.y_max), std::max(axes.y_min, axes.y_max),
                   std::max(2, static_cast<int>(axes.height / 50)));
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    for (double t : ticks) {
      const double y = std::round(axes.py(t)) + 0.5;
      const double grey = style.grid ? 0.9 : 0.3;
      cairo_set_source_rgb(cr, grey, grey, grey);
      cairo_move_to(cr, style.grid ? right : axes.left - 4, y);
      cairo_line_to(cr, axes.left, y);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      draw_text(cr, format_tick(t, step), axes.left - 5, y + 3.5, kTickFont, Anchor::kRight);
    }
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_rectangle(cr, std::round(axes.left) + 0.5, std::round(axes.top) + 0.5,
                  std::round(axes.width), std::round(axes.height));
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (!labels.x_label.empty()) {
    // Centred under the plot, but never starting left of the figure when the plot is narrow.
    const double centre =
        std::max(axes.left + axes.width / 2, text_width(labels.x_label, kLabelFontSize) / 2 + 4);
    draw_text(cr, labels.x_label, centre, bottom + 32, kLabelFontSize, Anchor::kCentre);
  }
  if (!labels.y_label.empty())
    draw_text(cr, labels.y_label, axes.left - 48, axes.top + axes.height / 2, kLabelFontSize,
              Anchor::kCentre, -std::numbers::pi / 2);
  if (!labels.title.empty())
    draw_text(cr, labels.title, axes.left, kTitleBaseline, kTitleFontSize, Anchor::kLeft);
  cairo_restore(cr);
}

}  // namespace megasft::eval
