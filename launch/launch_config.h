// LaunchConfig: megasft-run's options, spelled as torchrun spells them, parsed without side
// effects from three layers: cluster defaults (Slurm, OpenMPI), MEGASFT_RUN_<NAME> variables, then
// the command line (last wins). Every bad value is a megasft::Error naming its source (exit 2).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launch/cluster_env.h"
#include "launch/log_spec.h"

namespace megasft::launch {

// torchrun's defaults: c10d rendezvous port, dynamic rendezvous join timeout, monitor interval.
inline constexpr int kDefaultRdzvPort = 29400;
inline constexpr double kDefaultRdzvTimeoutS = 600.0;
inline constexpr double kDefaultMonitorIntervalS = 0.1;
// Prefix of the environment variables that set options: --nproc-per-node -> ..._NPROC_PER_NODE.
inline constexpr const char* kEnvPrefix = "MEGASFT_RUN_";

struct LaunchConfig {
  int nproc_per_node = 1;
  int nnodes = 1;      // --nnodes MIN:MAX runs a fixed world of MAX nodes
  int nnodes_min = 1;  // MIN as given, only to say that it is not used
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string rdzv_host;  // --rdzv-endpoint; empty: the store is at master_addr:master_port
  int rdzv_port = 0;
  bool standalone = false;  // 127.0.0.1 and a free port, one node
  std::string rdzv_id;      // empty: generated (by node 0 when there are several)
  double rdzv_timeout_s = kDefaultRdzvTimeoutS;
  int max_restarts = 0;
  double monitor_interval_s = kDefaultMonitorIntervalS;
  std::string log_dir;                       // empty: workers write to the launcher's console
  std::optional<StreamSelection> redirects;  // unset: both streams when --log-dir is given
  StreamSelection tee;
  double grace_period_s = 5.0;  // SIGTERM -> SIGKILL delay when stopping workers
  bool help = false;
  std::vector<std::string> program;  // program and its arguments; non-empty unless help
  std::vector<std::string> notes;    // where defaults came from, printed by main on stderr

  // Several launchers meet through a store hosted by node 0's launcher.
  bool uses_store() const { return nnodes > 1 || !rdzv_host.empty(); }
  // Where that store listens: --rdzv-endpoint, else master_addr:master_port (torchrun's static).
  std::string store_host() const { return rdzv_host.empty() ? master_addr : rdzv_host; }
  int store_port() const { return rdzv_host.empty() ? master_port : rdzv_port; }
  // Streams of local_rank that go to log files: --redirects, plus whatever --tee copies.
  int file_streams(int local_rank) const;
};

// The command line alone, without cluster defaults or MEGASFT_RUN_* (args excludes argv[0]).
// Options end at the first non-option argument or at "--".
LaunchConfig parse_launch_args(const std::vector<std::string>& args);

// Cluster defaults from env, then MEGASFT_RUN_* variables from env, then args.
LaunchConfig parse_launch_command(const std::vector<std::string>& args, const EnvMap& env);

// The -h/--help text.
std::string launch_usage();

}  // namespace megasft::launch
