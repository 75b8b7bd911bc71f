#include "megasft/eval/metrics_log.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/check.h"

namespace megasft::eval {

bool MetricsLog::has(const std::string& field) const {
  const auto it = columns.find(field);
  if (it == columns.end()) return false;
  for (double v : it->second)
    if (std::isfinite(v)) return true;
  return false;
}

std::vector<double> MetricsLog::steps() const {
  const auto it = columns.find("step");
  bool complete = it != columns.end();
  for (size_t i = 0; complete && i < rows; ++i) complete = std::isfinite(it->second[i]);
  if (complete) return it->second;
  std::vector<double> index(rows);
  for (size_t i = 0; i < rows; ++i) index[i] = static_cast<double>(i + 1);
  return index;
}

MetricsLog read_metrics_log(const std::string& path) {
  MEGASFT_CHECK(std::filesystem::is_regular_file(path), "metrics file '", path,
                "' does not exist (a run directory holds metrics.jsonl)");
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "cannot read metrics file '", path, "'");
  MetricsLog log;
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      MEGASFT_FAIL(path, ":", line_number, ": not JSON: ", e.what());
    }
    MEGASFT_CHECK(record.is_object(), path, ":", line_number, ": expected a JSON object, got ",
                  record.type_name());
    for (const auto& [field, value] : record.items()) {
      double number = NAN;
      if (value.is_number())
        number = value.get<double>();
      else if (value.is_boolean())
        number = value.get<bool>() ? 1 : 0;
      else if (!value.is_null())
        continue;
      auto [it, inserted] = log.columns.try_emplace(field, std::vector<double>(log.rows, NAN));
      if (inserted) log.fields.push_back(field);
      it->second.push_back(number);
    }
    ++log.rows;
    for (auto& [field, column] : log.columns) column.resize(log.rows, NAN);  // absent fields
  }
  return log;
}

}  // namespace megasft::eval
