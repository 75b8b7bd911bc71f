// `megasft calibrate`: SED-SFT's tau from held-out data with the run's initial model, printed and
// written to <run-dir>/tau.json, where `megasft train` picks it up.
#include <iostream>
#include <map>

#include "megasft/checkpoint/hf_import.h"
#include "megasft/cli/commands.h"
#include "megasft/data/token_dataset.h"
#include "megasft/model/llama_model.h"
#include "megasft/objectives/tau_calibration.h"
#include "megasft/train/train_options.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {

int calibrate_command(const Args& args) {
  // calibrate's short spellings are the training options' long ones, so one config serves both.
  static const std::map<std::string, std::string> kAliases = {
      {"--data", "--calibration-data"},
      {"--samples", "--calibration-samples"},
      {"--positions", "--calibration-positions"}};
  Args translated;
  for (const auto& arg : args) {
    auto alias = kAliases.find(arg);
    translated.push_back(alias == kAliases.end() ? arg : alias->second);
  }
  auto options = train::TrainOptions::parse(translated, train::TrainOptions::Purpose::kCalibrate);
  if (options.show_help) {
    std::cout << "usage: megasft calibrate --config FILE --data HELDOUT.h5 [--samples 100] "
                 "[--positions all|supervised] [training options]\n"
                 "Prints tau and writes <run-dir>/tau.json for `megasft train`.\n";
    return 0;
  }
  auto env = parallel::DistributedEnv::from_environment();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.dist_timeout_s * 1000));
  auto state = parallel::ParallelState::initialize(env, options.tp, options.pp, timeout);

  model::LlamaModel model(options.model, state->tensor(),
                          model::PipelineStage::split(options.model.num_layers, state->pp_rank(),
                                                      state->layout().pp, options.pipeline_layers),
                          options.sequence_parallel);
  checkpoint::load_initial_weights(model, options.model_dir, static_cast<uint64_t>(options.seed));
  auto heldout = data::TokenDataset::open(options.calibration_data);
  auto calibration = objectives::calibrate_tau(
      model, heldout, options.calibration_samples, options.calibration_positions, options.objective.top_k,
      options.objective.sed_ratio, options.seq_length, state->tensor(), options.loss_chunk_tokens,
      state->pipeline());
  if (state->is_first_rank()) {
    objectives::write_tau_file(options.tau_file(), calibration);
    std::cout << "tau = " << calibration.tau << "\n"
              << "  k = " << calibration.top_k << ", r = " << calibration.ratio << ", n = "
              << calibration.samples << " samples, " << calibration.positions << " positions ("
              << calibration.positions_mode << ")\n"
              << "  written to " << options.tau_file() << std::endl;
  }
  return 0;
}

}  // namespace megasft::cli
