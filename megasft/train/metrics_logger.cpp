#include "megasft/train/metrics_logger.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "kernels/check.h"

namespace megasft::train {

MetricsLogger::MetricsLogger(const std::string& path, bool enabled, int64_t keep_through_step)
    : path_(path), enabled_(enabled) {
  if (!enabled_) return;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::vector<std::string> kept;
  if (keep_through_step > 0) {
    std::ifstream previous(path);
    for (std::string line; std::getline(previous, line);) {
      try {
        if (!line.empty() && nlohmann::json::parse(line).at("step").get<int64_t>() <= keep_through_step)
          kept.push_back(line);
      } catch (const std::exception&) {  // a line cut short by a crash: dropped
      }
    }
  }
  file_.open(path, std::ios::out | std::ios::trunc);
  for (const auto& line : kept) file_ << line << '\n';
  MEGASFT_CHECK(file_.good(), "cannot write metrics file '", path, "'");
}

void MetricsLogger::log(const nlohmann::json& record) {
  if (!enabled_) return;
  file_ << record.dump() << '\n';
  file_.flush();
  MEGASFT_CHECK(file_.good(), "writing metrics file '", path_, "' failed");
}

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  else if (total >= 60)
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", total / 60, total % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%lds", total);
  return buffer;
}

std::string format_progress_line(const nlohmann::json& r, int64_t max_steps, double eta_s) {
  char buffer[320];
  std::string loss_terms;
  if (r["mask_rate"].is_null()) {  // ce, gem, dft: the loss is not ce + penalty
    std::snprintf(buffer, sizeof buffer, "loss %.4f (ce %.4f)", r["loss"].get<double>(), r["ce"].get<double>());
  } else {
    std::snprintf(buffer, sizeof buffer, "loss %.4f (ce %.4f + penalty %.4f) | mask_rate %.3f",
                  r["loss"].get<double>(), r["ce"].get<double>(), r["penalty"].get<double>(),
                  r["mask_rate"].get<double>());
  }
  loss_terms = buffer;
  std::snprintf(buffer, sizeof buffer, "[step %ld/%ld] %s | acc %.3f | gnorm %.3f | lr %.2e | %.0f tok/s | ETA %s",
                r["step"].get<int64_t>(), max_steps, loss_terms.c_str(), r["accuracy"].get<double>(),
                r["grad_norm"].get<double>(), r["lr"].get<double>(), r["tokens_per_s"].get<double>(),
                format_duration(eta_s).c_str());
  return buffer;
}

}  // namespace megasft::train
