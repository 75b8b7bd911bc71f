#include "launch/worker_env.h"

#include <unistd.h>

#include <algorithm>

extern char** environ;

namespace megasft::launch {

EnvVars torchrun_env_vars(const Rendezvous& rdzv, int local_rank) {
  const std::string rank = std::to_string(rdzv.rank_offset + local_rank);
  const std::string world_size = std::to_string(rdzv.world_size);
  return {
      {"LOCAL_RANK", std::to_string(local_rank)},
      {"RANK", rank},
      {"GROUP_RANK", std::to_string(rdzv.group_rank)},
      {"ROLE_RANK", rank},
      {"ROLE_NAME", "default"},
      {"LOCAL_WORLD_SIZE", std::to_string(rdzv.local_world_size)},
      {"WORLD_SIZE", world_size},
      {"GROUP_WORLD_SIZE", std::to_string(rdzv.group_world_size)},
      {"ROLE_WORLD_SIZE", world_size},
      {"MASTER_ADDR", rdzv.master_addr},
      {"MASTER_PORT", std::to_string(rdzv.master_port)},
      {"TORCHELASTIC_RESTART_COUNT", std::to_string(rdzv.restart_count)},
      {"TORCHELASTIC_MAX_RESTARTS", std::to_string(rdzv.max_restarts)},
      {"TORCHELASTIC_RUN_ID", rdzv.run_id},
      // The launchers' own store is not for workers: rank 0 creates its TCPStore at MASTER_PORT.
      {"TORCHELASTIC_USE_AGENT_STORE", "False"},
  };
}

EnvVars current_environment() {
  EnvVars vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string::npos) continue;  // malformed entries cannot be passed on faithfully
    vars.emplace_back(text.substr(0, eq), text.substr(eq + 1));
  }
  return vars;
}

std::vector<std::string> merge_environment(const EnvVars& base, const EnvVars& overrides) {
  auto overridden = [&](const std::string& name) {
    return std::any_of(overrides.begin(), overrides.end(),
                       [&](const auto& var) { return var.first == name; });
  };
  std::vector<std::string> merged;
  for (const auto& [name, value] : base) {
    if (!overridden(name)) merged.push_back(name + "=" + value);
  }
  for (const auto& [name, value] : overrides) merged.push_back(name + "=" + value);
  return merged;
}

WorkerPlan plan_workers(const LaunchConfig& config, const Rendezvous& rdzv, const EnvVars& base) {
  WorkerPlan plan;
  bool has_omp = std::any_of(base.begin(), base.end(),
                             [](const auto& var) { return var.first == "OMP_NUM_THREADS"; });
  plan.sets_omp_num_threads = !has_omp && rdzv.local_world_size > 1;
  for (int local_rank = 0; local_rank < rdzv.local_world_size; ++local_rank) {
    EnvVars overrides = torchrun_env_vars(rdzv, local_rank);
    if (plan.sets_omp_num_threads) overrides.emplace_back("OMP_NUM_THREADS", "1");
    WorkerLaunch worker;
    worker.local_rank = local_rank;
    worker.rank = rdzv.rank_offset + local_rank;
    worker.argv = config.program;
    worker.env = merge_environment(base, overrides);
    plan.workers.push_back(std::move(worker));
  }
  return plan;
}

}  // namespace megasft::launch
