// `megasft train`: parse options, join the process group, run SFT, print the summary.
#include <chrono>
#include <cmath>
#include <iostream>

#include "megasft/cli/commands.h"
#include "megasft/train/sft_trainer.h"
#include "megasft/train/train_options.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {

int train_command(const Args& args) {
  auto options = train::TrainOptions::parse(args);
  if (options.show_help) {
    std::cout << train::TrainOptions::help();
    return 0;
  }
  auto env = parallel::DistributedEnv::from_environment();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.dist_timeout_s * 1000));
  auto state = parallel::ParallelState::initialize(env, options.tp, options.pp, timeout);
  auto summary = train::run_sft(options, state);
  if (state->is_first_rank() && summary.steps == 0) {
    std::cout << "\nmegasft train: nothing to do, the checkpoint is already at --max-steps " << options.max_steps
              << std::endl;
  } else if (state->is_first_rank()) {
    std::cout << "\nmegasft train: done, step " << summary.steps << " reached in " << summary.elapsed_s << " s\n"
              << "  loss       " << summary.first_loss << " (step " << summary.first_step << ") -> "
              << summary.last_loss << " (step " << summary.steps << ")\n";
    if (!std::isnan(summary.tau)) std::cout << "  tau        " << summary.tau << "\n";
    if (!std::isnan(summary.last_mask_rate))
      std::cout << "  mask rate  " << summary.last_mask_rate << " (last step; fraction with M = 0)\n";
    std::cout << "  metrics    " << summary.metrics_path << "\n";
  }
  return 0;
}

}  // namespace megasft::cli
