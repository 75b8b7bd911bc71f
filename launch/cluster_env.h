// Cluster defaults: inside a Slurm allocation or an OpenMPI job, the node count, this node's rank
// and node 0's address come from the scheduler's variables, so one command line serves every node.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace megasft::launch {

// The launcher's environment by name (a copy of environ, so parsing stays a pure function).
using EnvMap = std::map<std::string, std::string>;
EnvMap environment_map();

// Default port of the launchers' store inside Slurm: 29500 + SLURM_JOB_ID % 1000, so two jobs
// sharing a node rarely pick the same one (an explicit --master-port always wins).
inline constexpr int kSlurmBasePort = 29500;
inline constexpr int kSlurmPortSpread = 1000;

struct ClusterDefaults {
  std::string source;  // "Slurm", "OpenMPI", "OpenMPI+Slurm", or "" when neither was found
  std::optional<int> nnodes;
  std::optional<int> node_rank;
  std::optional<std::string> master_addr;
  std::optional<int> master_port;
  std::optional<std::string> run_id;

  // "defaults from Slurm: nnodes=2 node_rank=1 master_addr=node01 ..." (empty if no source).
  std::string describe() const;
};

// Slurm: nnodes = SLURM_STEP_NUM_NODES (else SLURM_NNODES), node rank = SLURM_NODEID, master addr
// = first host of SLURM_STEP_NODELIST (else SLURM_JOB_NODELIST, SLURM_NODELIST), master port =
// kSlurmBasePort + SLURM_JOB_ID % kSlurmPortSpread, run id = SLURM_JOB_ID.
// OpenMPI, one launcher per node (mpirun --map-by ppr:1:node): nnodes = OMPI_COMM_WORLD_SIZE,
// node rank = OMPI_COMM_WORLD_RANK; they win over Slurm's when both are set (mpirun inside an
// allocation), Slurm still giving the address. OpenMPI has no variable for node 0's host.
// Malformed values throw megasft::Error naming the variable.
ClusterDefaults detect_cluster(const EnvMap& env);

// Expands Slurm's compact host list: "node[01-03,07],gpu5" -> node01 node02 node03 node07 gpu5.
// Zero padding follows the lower bound ("[08-10]" -> 08 09 10); several bracket groups in one
// name multiply ("r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2).
std::vector<std::string> expand_slurm_nodelist(const std::string& nodelist);

}  // namespace megasft::launch
