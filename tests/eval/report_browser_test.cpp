// The run report as a browser draws it: headless Chromium screenshots a report with curves and one
// without, and the curve colour must fill the first chart's area in the first and be absent in the
// second. Without chromium the test fails and says how to install it (a skip would read as a pass).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "megasft/eval/run_report.h"
#include "tests/eval/png_image.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;

constexpr int kWindowWidth = 1200, kWindowHeight = 2000;
constexpr int kStartupSeconds = 120;  // a cold chromium on a loaded 2-core machine is slow to start

std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    for (const char* name : {"chromium", "chromium-browser"})
      if (fs::exists(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  return "";
}

// A report of `steps` metric records (0: an empty metrics.jsonl, so no chart at all).
fs::path make_report(const std::string& name, int steps) {
  const fs::path dir = fs::temp_directory_path() / ("megasft_browser_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream metrics(dir / "metrics.jsonl");
  for (int step = 1; step <= steps; ++step)
    metrics << "{\"step\":" << step << ",\"loss\":" << 2.0 / step << ",\"ce\":" << 1.5 / step
            << ",\"grad_norm\":" << 1 + 0.01 * step << ",\"lr\":" << 1e-5
            << ",\"tokens_per_s\":" << 1000 + step << "}\n";
  metrics.close();
  return write_run_report({dir.string(), {}, "", name});
}

testing::PngImage screenshot(const std::string& chromium, const fs::path& html) {
  const fs::path dir = html.parent_path();
  const fs::path png = dir / "screenshot.png", log = dir / "chromium.log";
  fs::remove(png);
  std::ostringstream command;
  command << "timeout " << kStartupSeconds << " '" << chromium
          << "' --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run"
          << " --user-data-dir='" << (dir / "profile").string() << "' --screenshot='"
          << png.string() << "' --window-size=" << kWindowWidth << "," << kWindowHeight
          << " 'file://" << fs::absolute(html).string() << "' > '" << log.string() << "' 2>&1";
  const int status = std::system(command.str().c_str());
  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << command.str() << "\n" << output;
  EXPECT_TRUE(fs::is_regular_file(png)) << "chromium wrote no screenshot:\n" << output;
  return fs::is_regular_file(png) ? testing::read_png(png.string()) : testing::PngImage{};
}

TEST(ReportInBrowser, ChartsRenderInHeadlessChromium) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << "chromium is not installed: run `apt-get install chromium` "
                                    "(Debian; `tools/dev test` installs "
                                    "it with the other test packages)";

  const auto with_curves = screenshot(chromium, make_report("curves", 60));
  const auto without = screenshot(chromium, make_report("empty", 0));
  ASSERT_EQ(with_curves.width, kWindowWidth);
  ASSERT_EQ(with_curves.height, kWindowHeight);
  ASSERT_EQ(without.width, kWindowWidth);

  // The loss curve is series 0 of the first chart, which the page lays out top left below the
  // headings: its colour must be there, drawn by the browser from the inline SVG.
  const Rgb loss_colour = series_colour(0);
  const int first_chart =
      testing::count_colour(with_curves, loss_colour, 30, 0, 0, kWindowWidth / 2, 600);
  EXPECT_GT(first_chart, 300) << "the first chart's curve is missing from the screenshot";
  const int page =
      testing::count_colour(with_curves, loss_colour, 30, 0, 0, kWindowWidth, kWindowHeight);
  const int empty_page =
      testing::count_colour(without, loss_colour, 30, 0, 0, kWindowWidth, kWindowHeight);
  EXPECT_GT(page, 1500) << "every chart draws its first series in this colour";
  EXPECT_LT(empty_page, 50) << "a report without metrics should have no curves";
  // Text renders too: the report without curves still has dark heading pixels.
  EXPECT_GT(testing::count_colour(without, {0.13, 0.13, 0.13}, 60, 0, 0, kWindowWidth, 200), 100);
}

}  // namespace
}  // namespace megasft::eval
