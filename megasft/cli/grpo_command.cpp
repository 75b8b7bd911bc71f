// `megasft grpo`: parse options, join the process group, run GRPO, print the summary.
#include <chrono>
#include <iostream>

#include "megasft/cli/commands.h"
#include "megasft/rl/grpo_trainer.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {

int grpo_command(const Args& args) {
  auto options = rl::GrpoOptions::parse(args);
  if (options.show_help) {
    std::cout << rl::GrpoOptions::help();
    return 0;
  }
  auto env = parallel::DistributedEnv::from_environment();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.dist_timeout_s * 1000));
  auto state = parallel::ParallelState::initialize(env, options.tp, options.pp, timeout);
  auto summary = rl::run_grpo(options, state);
  if (state->is_first_rank()) {
    std::cout << "\nmegasft grpo: done, step " << summary.steps << " in " << summary.elapsed_s << " s\n"
              << "  reward     " << summary.first_reward << " (step " << summary.first_step << ") -> "
              << summary.last_reward << " (step " << summary.steps << ")\n";
    if (summary.eval_before >= 0 || summary.eval_after >= 0)
      std::cout << "  held-out greedy accuracy  before " << summary.eval_before << "  after " << summary.eval_after
                << (summary.eval_change ? "  " + summary.eval_change->describe() : std::string()) << "\n";
    std::cout << "  metrics    " << summary.metrics_path << "\n";
  }
  return 0;
}

}  // namespace megasft::cli
