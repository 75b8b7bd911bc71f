// Rendezvous: where this node sits in the job (group rank, global rank offset, world size, master).
// Only a single node is resolved now; a multi-node rendezvous returns the same struct.
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
};

// Resolves the single-node job described by config (picks a port for --standalone).
Rendezvous resolve_rendezvous(const LaunchConfig& config);

// A TCP port on host that was free when asked: bind port 0, read it back, release it.
// Racy by nature (as in torchrun); rank 0 binds it a moment later.
int pick_free_port(const std::string& host);

// A random id for TORCHELASTIC_RUN_ID when none was given.
std::string generate_run_id();

}  // namespace megasft::launch
