// megasft-run: a torchrun-compatible launcher for one node.
// Exit status: 0 all workers succeeded, 1 a worker failed, 2 bad options, 128+N got signal N.
#include <iostream>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "launch/launch_config.h"
#include "launch/rendezvous.h"
#include "launch/worker_env.h"
#include "launch/worker_group.h"

namespace launch = megasft::launch;

int main(int argc, char** argv) {
  launch::LaunchConfig config;
  try {
    config = launch::parse_launch_args(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const megasft::Error& e) {
    std::cerr << "megasft-run: error: " << e.what() << "\n"
              << "Try 'megasft-run --help' for more information." << std::endl;
    return 2;
  }
  if (config.help) {
    std::cout << launch::launch_usage();
    return 0;
  }

  try {
    launch::Rendezvous rdzv = launch::resolve_rendezvous(config);
    launch::WorkerPlan plan = launch::plan_workers(config, rdzv, launch::current_environment());
    if (plan.sets_omp_num_threads) {
      // torchrun prints the same advice: K workers each using every core would oversubscribe.
      std::cerr << "megasft-run: setting OMP_NUM_THREADS=1 for each worker to avoid overloading "
                   "the system; set it yourself to tune performance"
                << std::endl;
    }
    launch::WorkerGroup group(std::move(plan.workers), config.grace_period_s);
    launch::GroupOutcome outcome = group.run();
    if (std::string line = launch::describe_outcome(outcome); !line.empty()) {
      std::cerr << line << std::endl;
    }
    return outcome.exit_code;
  } catch (const megasft::Error& e) {
    std::cerr << "megasft-run: error: " << e.what() << std::endl;
    return 1;
  }
}
