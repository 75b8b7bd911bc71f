#include "megasft/data/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace megasft::data {

namespace {

constexpr auto kTerminalInterval = std::chrono::milliseconds(100);
constexpr auto kLogInterval = std::chrono::milliseconds(30000);
constexpr int kBarWidth = 24;

std::string clock_time(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  std::ostringstream out;
  if (s >= 3600)
    out << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60;
  else
    out << s / 60;
  out << ":" << std::setw(2) << std::setfill('0') << s % 60;
  return out.str();
}

}  // namespace

ProgressBar::ProgressBar(std::string label, std::string unit, std::FILE* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      out_(out),
      tty_(::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (tty_ && drawn_ && !finished_) std::fputc('\n', out_);
}

std::string ProgressBar::format(const std::string& label, const std::string& unit, int64_t done,
                                int64_t total, int64_t items, double seconds) {
  const double fraction = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  const double rate = seconds > 0 ? done / 1e6 / seconds : 0.0;
  std::ostringstream line;
  line << label << " [" << std::string(filled, '#') << std::string(kBarWidth - filled, '.') << "] "
       << std::setw(3) << static_cast<int>(fraction * 100) << "% " << items << " " << unit << " "
       << std::fixed << std::setprecision(1) << rate << " MB/s";
  if (fraction > 0 && fraction < 1) {
    line << " ETA " << clock_time(seconds * (1 - fraction) / fraction);
  } else if (fraction >= 1) {
    line << " in " << clock_time(seconds);
  }
  return line.str();
}

void ProgressBar::draw(int64_t done, int64_t total, int64_t items) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string line = format(label_, unit_, done, total, items, seconds);
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", line.c_str());  // \033[K clears what a longer line left
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(int64_t done_bytes, int64_t total_bytes, int64_t items) {
  if (!started_) {  // rates count from the first update, not from set-up work before it
    started_ = true;
    start_ = last_draw_ = std::chrono::steady_clock::now();
  }
  last_done_ = done_bytes;
  last_total_ = total_bytes;
  last_items_ = items;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= (tty_ ? kTerminalInterval : kLogInterval)) {
    draw(done_bytes, total_bytes, items);
  }
}

void ProgressBar::message(const std::string& text) {
  if (tty_ && drawn_ && !finished_) std::fputs("\r\033[K", out_);
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  if (tty_ && drawn_ && !finished_) draw(last_done_, last_total_, last_items_);
}

void ProgressBar::finish() {
  if (finished_) return;
  if (tty_) {
    draw(last_done_, last_total_, last_items_);
    std::fputc('\n', out_);
  } else if (drawn_) {
    draw(last_done_, last_total_, last_items_);  // logs got partial lines: close with the total
  }
  finished_ = true;
}

}  // namespace megasft::data
