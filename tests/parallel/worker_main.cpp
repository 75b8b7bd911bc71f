// megasft-test-worker CASE: one rank of a multi-rank test, started by megasft-run (test_parallel).
// It joins a tensor-parallel group of the whole world, runs the case and exits 0 when every check
// passed, 1 (printing each mismatch) otherwise.
#include <chrono>
#include <exception>
#include <iostream>
#include <map>
#include <string>

#include "tests/parallel/worker_context.h"

using megasft::testing::WorkerContext;

int main(int argc, char** argv) {
  const std::map<std::string, void (*)(WorkerContext&)> cases = {
      {"layers", megasft::testing::run_layers_case},
      {"mappings", megasft::testing::run_mappings_case},
      {"objective", megasft::testing::run_objective_case},
      {"model", megasft::testing::run_model_case},
      {"hf_model", megasft::testing::run_hf_model_case},
      {"sampler", megasft::testing::run_sampler_case},
      {"rollout", megasft::testing::run_rollout_case}};
  if (argc != 2 || !cases.count(argv[1])) {
    std::cerr << "usage: megasft-test-worker layers|mappings|objective|model|hf_model|sampler|rollout" << std::endl;
    return 2;
  }
  const std::string name = argv[1];
  WorkerContext ctx;
  try {
    auto env = megasft::parallel::DistributedEnv::from_environment();
    ctx.state = megasft::parallel::ParallelState::initialize(env, env.world_size, 1,
                                                             std::chrono::seconds(30));
    ctx.rank = ctx.state->tp_rank();
    ctx.size = ctx.state->layout().tp;
    cases.at(name)(ctx);
    ctx.state->world()->barrier();  // nobody tears down the store while others still talk
  } catch (const std::exception& e) {
    std::cerr << "rank " << ctx.rank << " case " << name << ": exception: " << e.what() << std::endl;
    return 1;
  }
  for (const auto& failure : ctx.failures)
    std::cerr << "rank " << ctx.rank << "/" << ctx.size << " case " << name << ": " << failure << std::endl;
  if (!ctx.failures.empty()) return 1;
  std::cout << "rank " << ctx.rank << "/" << ctx.size << " case " << name << ": ok" << std::endl;
  return 0;
}
