#include "megasft/train/tau_resolution.h"

#include <cmath>
#include <filesystem>
#include <iostream>

#include "kernels/check.h"
#include "megasft/objectives/tau_calibration.h"

namespace megasft::train {
objectives::ObjectiveOptions resolve_tau(const TrainOptions& options, const model::LlamaModel& model,
                                         const parallel::CommunicatorPtr& pipeline, bool leader,
                                         nlohmann::json& record, double checkpoint_tau) {
  objectives::ObjectiveOptions objective = options.objective;
  if (!objective.uses_tau()) return objective;
  if (std::isfinite(objective.tau)) {
    record = {{"tau", objective.tau}, {"source", "--tau"}};
    if (leader) std::cout << "megasft: tau = " << objective.tau << " (given)" << std::endl;
    return objective;
  }
  if (std::isfinite(checkpoint_tau)) {
    objective.tau = checkpoint_tau;
    record = {{"tau", objective.tau}, {"source", "checkpoint"}};
    if (leader) std::cout << "megasft: tau = " << objective.tau << " (from the checkpoint)" << std::endl;
    return objective;
  }

  objectives::TauCalibration calibration;
  std::string source;
  const std::string tau_file = options.tau_file();
  bool from_file = false;
  if (std::filesystem::exists(tau_file)) {
    calibration = objectives::read_tau_file(tau_file);
    from_file = calibration.top_k == objective.top_k && calibration.ratio == objective.sed_ratio &&
                calibration.positions_mode == options.calibration_positions;
    if (!from_file && leader)
      std::cout << "megasft: warning: " << tau_file << " was calibrated with k=" << calibration.top_k
                << ", r=" << calibration.ratio << ", positions " << calibration.positions_mode
                << "; this run uses k=" << objective.top_k << ", r=" << objective.sed_ratio
                << ", positions " << options.calibration_positions << ": calibrating again" << std::endl;
    source = tau_file;
  }
  if (!from_file) {
    MEGASFT_CHECK(!options.calibration_data.empty(),
                  "--objective sed needs tau: pass --tau, run `megasft calibrate` for this run "
                  "directory, or give --calibration-data to calibrate before training");
    auto heldout = data::TokenDataset::open(options.calibration_data);
    calibration = objectives::calibrate_tau(model, heldout, options.calibration_samples,
                                            options.calibration_positions, objective.top_k,
                                            objective.sed_ratio, options.seq_length, model.tensor_group(),
                                            options.loss_chunk_tokens, pipeline);
    source = "calibrated before training";
  }
  objective.tau = calibration.tau;
  record = objectives::tau_calibration_json(calibration);
  record["source"] = source;
  if (leader)
    std::cout << "megasft: tau = " << calibration.tau << " (" << source << "; k=" << calibration.top_k
              << ", r=" << calibration.ratio << ", n=" << calibration.samples << " samples, "
              << calibration.positions << " positions: " << calibration.positions_mode << ")" << std::endl;
  return objective;
}

}  // namespace megasft::train
