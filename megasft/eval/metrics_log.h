// A run's metrics.jsonl read into columns: one JSON object per line (written by the SFT and GRPO
// trainers), each numeric field a column indexed by line, with NaN where a line has null or lacks
// it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace megasft::eval {

struct MetricsLog {
  std::vector<std::string> fields;  // numeric fields in order of first appearance
  std::map<std::string, std::vector<double>> columns;  // field -> [rows]; NaN: null or absent
  size_t rows = 0;

  bool has(const std::string& field) const;  // a column with at least one finite value
  // The x of each row: the "step" column where every row has one, else 1, 2, ... (the line number
  // among records).
  std::vector<double> steps() const;
};

// Blank lines are skipped; a line that is not a JSON object is an error naming path:line. Numbers
// and booleans are read; strings, arrays and objects are not curves and are ignored. A missing file
// is an error naming the path.
MetricsLog read_metrics_log(const std::string& path);

}  // namespace megasft::eval
