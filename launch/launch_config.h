// LaunchConfig: megasft-run's command line, spelled as torchrun spells it, parsed without side
// effects. Every bad value is rejected here (as a megasft::Error naming the option) so main() can
// exit 2.
#pragma once

#include <string>
#include <vector>

namespace megasft::launch {

struct LaunchConfig {
  int nproc_per_node = 1;
  int nnodes = 1;     // only 1 for now; kept so a multi-node rendezvous can read it later
  int node_rank = 0;  // only 0 for now
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool standalone = false;      // pick a free port on 127.0.0.1 instead of master_addr/master_port
  std::string rdzv_id;          // empty: the rendezvous generates one
  double grace_period_s = 5.0;  // SIGTERM -> SIGKILL delay when stopping workers
  bool help = false;
  std::vector<std::string> program;  // program and its arguments; non-empty unless help
};

// args excludes argv[0]. Options end at the first non-option argument or at "--".
LaunchConfig parse_launch_args(const std::vector<std::string>& args);

// The -h/--help text.
std::string launch_usage();

}  // namespace megasft::launch
