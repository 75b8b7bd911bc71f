// Worker environment: the variables torchrun exports to each worker, merged over the launcher's
// own. Pure functions (no processes), so the exact environment a worker sees is unit-testable.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "launch/launch_config.h"
#include "launch/rendezvous.h"
#include "launch/worker_process.h"

namespace megasft::launch {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_*, ... for one worker.
EnvVars torchrun_env_vars(const Rendezvous& rdzv, int local_rank);

// The launcher's environment (environ) as name/value pairs, in order.
EnvVars current_environment();

// base with overrides applied (replacing same-named entries), as "NAME=value" strings for exec.
std::vector<std::string> merge_environment(const EnvVars& base, const EnvVars& overrides);

struct WorkerPlan {
  std::vector<WorkerLaunch> workers;
  bool sets_omp_num_threads = false;  // torchrun prints a note when it does this
};

// One WorkerLaunch per local rank. Like torchrun, OMP_NUM_THREADS=1 is added when the base
// environment lacks it and more than one worker shares the node.
WorkerPlan plan_workers(const LaunchConfig& config, const Rendezvous& rdzv, const EnvVars& base);

}  // namespace megasft::launch
