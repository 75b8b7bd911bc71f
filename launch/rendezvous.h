// Rendezvous: where this node sits in one attempt of the job (group rank, global rank offset, world
// size, master). A one-node job resolves it locally; several nodes agree on it through the store.
#pragma once

#include <string>

#include "launch/launch_config.h"

namespace megasft::launch {

struct Rendezvous {
  std::string master_addr;
  int master_port = 0;
  std::string run_id;
  int group_rank = 0;        // this node's index among nodes
  int group_world_size = 1;  // number of nodes
  int local_world_size = 1;  // workers on this node
  int world_size = 1;        // workers in the job
  int rank_offset = 0;       // global rank of this node's local rank 0
  int restart_count = 0;     // the attempt number: TORCHELASTIC_RESTART_COUNT
  int max_restarts = 0;
};

// Resolves a job that needs no store (config.uses_store() is false); picks a port for --standalone.
Rendezvous resolve_rendezvous(const LaunchConfig& config);

// A TCP port on host ("0.0.0.0": every interface) that was free when asked: bind port 0, read it
// back, release it. Racy by nature (as in torchrun); rank 0 binds it a moment later.
int pick_free_port(const std::string& host);

// A random id for TORCHELASTIC_RUN_ID when none was given.
std::string generate_run_id();

}  // namespace megasft::launch
