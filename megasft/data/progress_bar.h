// A progress bar for long data jobs on stderr: bytes done, items, MB/s and ETA. On a terminal it
// redraws one line at most 10 times a second; otherwise (logs, CI) it prints a plain line every
// 30 seconds, so redirected output stays readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace megasft::data {

class ProgressBar {
 public:
  // `label` prefixes the line, `unit` names the items ("rows").
  ProgressBar(std::string label, std::string unit, std::FILE* out = stderr);
  ~ProgressBar();  // ends a terminal line so later output starts clean

  // Rates and the ETA count from the first call (call it with 0 done when the work starts).
  void update(int64_t done_bytes, int64_t total_bytes, int64_t items);
  void finish();  // draws the final state once and ends the line
  // Prints `text` on its own line above the bar (a terminal bar is redrawn at the next update).
  void message(const std::string& text);

  // The text of one update, for tests: "label [####......]  40% 1200 rows 3.1 MB/s ETA 0:12".
  static std::string format(const std::string& label, const std::string& unit, int64_t done,
                            int64_t total, int64_t items, double seconds);

 private:
  void draw(int64_t done, int64_t total, int64_t items);

  std::string label_, unit_;
  std::FILE* out_;
  bool tty_;
  bool started_ = false;
  bool drawn_ = false;
  bool finished_ = false;
  int64_t last_done_ = 0, last_total_ = 0, last_items_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace megasft::data
