// Test helpers for figures: a PNG read back through cairo into 8-bit RGB pixels, colour matching
// with a tolerance for antialiasing, and a tag-balance check of an SVG document.
#pragma once

#include <cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "megasft/eval/plot_canvas.h"

namespace megasft::eval::testing {

struct Pixel {
  int r = 0, g = 0, b = 0;
};

struct PngImage {
  int width = 0, height = 0;
  std::vector<Pixel> pixels;  // row-major
  Pixel at(double x, double y) const {
    return pixels[static_cast<size_t>(static_cast<int>(y) * width + static_cast<int>(x))];
  }
};

// Fails the test (and returns an empty image) if the file is not a PNG cairo can read.
inline PngImage read_png(const std::string& path) {
  PngImage image;
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  const cairo_status_t status = cairo_surface_status(surface);
  EXPECT_EQ(status, CAIRO_STATUS_SUCCESS) << path << ": " << cairo_status_to_string(status);
  if (status == CAIRO_STATUS_SUCCESS) {
    image.width = cairo_image_surface_get_width(surface);
    image.height = cairo_image_surface_get_height(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    const unsigned char* data = cairo_image_surface_get_data(surface);
    const cairo_format_t format = cairo_image_surface_get_format(surface);
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        const uint32_t v = *reinterpret_cast<const uint32_t*>(data + y * stride + 4 * x);
        // ARGB32 is premultiplied; figures are opaque, so alpha is 255 and the channels are plain.
        const int alpha = format == CAIRO_FORMAT_ARGB32 ? static_cast<int>(v >> 24) : 255;
        Pixel p{static_cast<int>((v >> 16) & 0xff), static_cast<int>((v >> 8) & 0xff),
                static_cast<int>(v & 0xff)};
        if (alpha == 0) p = {255, 255, 255};  // transparent reads as the page behind it
        image.pixels.push_back(p);
      }
  }
  cairo_surface_destroy(surface);
  return image;
}

inline bool near_colour(const Pixel& p, const Rgb& c, int tolerance) {
  return std::abs(p.r - static_cast<int>(std::lround(c.r * 255))) <= tolerance &&
         std::abs(p.g - static_cast<int>(std::lround(c.g * 255))) <= tolerance &&
         std::abs(p.b - static_cast<int>(std::lround(c.b * 255))) <= tolerance;
}

// Pixels within `tolerance` of colour inside the box [x0, x1) x [y0, y1), clamped to the image.
inline int count_colour(const PngImage& image, const Rgb& colour, int tolerance, int x0, int y0,
                        int x1, int y1) {
  int count = 0;
  for (int y = std::max(0, y0); y < std::min(image.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(image.width, x1); ++x)
      count +=
          near_colour(image.pixels[static_cast<size_t>(y * image.width + x)], colour, tolerance);
  return count;
}

// True when every element opened is closed in order (comments, prologs and self-closing tags
// allowed): enough to catch a truncated or interleaved SVG without an XML library.
inline bool tags_balance(const std::string& xml, std::string* error = nullptr) {
  std::vector<std::string> open;
  const auto fail = [&](const std::string& message) {
    if (error) *error = message;
    return false;
  };
  for (size_t at = xml.find('<'); at != std::string::npos; at = xml.find('<', at + 1)) {
    const size_t end = xml.find('>', at);
    if (end == std::string::npos) return fail("unterminated tag");
    const std::string tag = xml.substr(at + 1, end - at - 1);
    if (tag.empty() || tag[0] == '?' || tag[0] == '!' || tag.back() == '/') continue;
    const size_t name_end = tag.find_first_of(" \t\n/");
    if (tag[0] == '/') {
      const std::string name =
          tag.substr(1, name_end == std::string::npos ? std::string::npos : name_end - 1);
      if (open.empty() || open.back() != name)
        return fail("</" + name + "> closes " + (open.empty() ? "nothing" : open.back()));
      open.pop_back();
    } else {
      open.push_back(tag.substr(0, name_end));
    }
  }
  return open.empty() || fail("<" + open.back() + "> never closed");
}

inline int count_substring(const std::string& text, const std::string& what) {
  int count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++count;
  return count;
}

}  // namespace megasft::eval::testing
