// Step metrics: one JSON object per line in <run dir>/metrics.jsonl, and a human progress line
// (step, loss, tokens/s, ETA). Only the first rank writes; the others hold a disabled logger.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace megasft::train {

class MetricsLogger {
 public:
  // keep_through_step > 0 (a resumed run): the records of steps up to it are kept, later ones dropped.
  MetricsLogger(const std::string& path, bool enabled, int64_t keep_through_step = 0);
  void log(const nlohmann::json& record);  // flushed at once, so a crash keeps every finished step
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool enabled_;
  std::ofstream file_;
};

// "1h02m", "3m05s", "42s"
std::string format_duration(double seconds);

// "[step 20/200] loss 2.1234 (ce 2.1000 + penalty 0.0234) | mask_rate 0.31 | gnorm 1.2 | lr 9.0e-04 |
//  4,500 tok/s | ETA 1m05s"
std::string format_progress_line(const nlohmann::json& record, int64_t max_steps, double eta_s);

}  // namespace megasft::train
