// Unit tests of the cluster defaults: Slurm's compact host lists, and the node count, node rank
// and address that Slurm and OpenMPI variables give megasft-run (below MEGASFT_RUN_* and flags).
#include <gtest/gtest.h>

#include "kernels/check.h"
#include "launch/cluster_env.h"
#include "launch/launch_config.h"

namespace megasft::launch {
namespace {

using Hosts = std::vector<std::string>;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

EnvMap slurm_node(int node_id) {
  return {{"SLURM_JOB_NODELIST", "gpu[07-08]"},
          {"SLURM_NNODES", "2"},
          {"SLURM_NODEID", std::to_string(node_id)},
          {"SLURM_JOB_ID", "123456"}};
}

TEST(SlurmNodelist, Expands) {
  EXPECT_EQ(expand_slurm_nodelist("node1"), Hosts{"node1"});
  EXPECT_EQ(expand_slurm_nodelist("a,b"), (Hosts{"a", "b"}));
  EXPECT_EQ(expand_slurm_nodelist("node[01-03,07]"),
            (Hosts{"node01", "node02", "node03", "node07"}));
  EXPECT_EQ(expand_slurm_nodelist("gpu[8-10]"), (Hosts{"gpu8", "gpu9", "gpu10"}));
  EXPECT_EQ(expand_slurm_nodelist("n[098-101]"), (Hosts{"n098", "n099", "n100", "n101"}));
  EXPECT_EQ(expand_slurm_nodelist("a[1-2],b,c[5]"), (Hosts{"a1", "a2", "b", "c5"}));
  EXPECT_EQ(expand_slurm_nodelist("r[1-2]n[1-2]"), (Hosts{"r1n1", "r1n2", "r2n1", "r2n2"}));
  EXPECT_EQ(expand_slurm_nodelist("node[1-2]-ib"), (Hosts{"node1-ib", "node2-ib"}));
  EXPECT_EQ(expand_slurm_nodelist("10.0.0.[1-2]"), (Hosts{"10.0.0.1", "10.0.0.2"}));
}

TEST(SlurmNodelist, RejectsMalformedLists) {
  for (const char* bad :
       {"", "n[1-", "n[3-1]", "n[a]", "n[]", "n]", "n[1,]", "a,,b", "n[[1]]", "n[1-2"}) {
    EXPECT_NE(error_of([&] { expand_slurm_nodelist(bad); }), "") << bad;
  }
  EXPECT_NE(error_of([] { expand_slurm_nodelist("n[0-99999999]"); }).find("more than"),
            std::string::npos);
}

TEST(ClusterEnv, NothingOutsideAScheduler) {
  EXPECT_EQ(detect_cluster({{"PATH", "/bin"}}).source, "");
  // A partial Slurm environment (sbatch's own shell lacks nothing, but a user may export one
  // variable by hand) is not taken for an allocation.
  EXPECT_EQ(detect_cluster({{"SLURM_JOB_NODELIST", "a,b"}, {"SLURM_NNODES", "2"}}).source, "");
}

TEST(ClusterEnv, SlurmDefaults) {
  ClusterDefaults d = detect_cluster(slurm_node(1));
  EXPECT_EQ(d.source, "Slurm");
  EXPECT_EQ(d.nnodes, 2);
  EXPECT_EQ(d.node_rank, 1);
  EXPECT_EQ(d.master_addr, "gpu07");
  EXPECT_EQ(d.master_port, kSlurmBasePort + 456);
  EXPECT_EQ(d.run_id, "123456");
  EXPECT_NE(d.describe().find("defaults from Slurm: nnodes=2 node_rank=1 master_addr=gpu07"),
            std::string::npos)
      << d.describe();
}

TEST(ClusterEnv, SlurmStepVariablesWin) {
  EnvMap env = slurm_node(0);
  env["SLURM_NNODES"] = "4";
  env["SLURM_JOB_NODELIST"] = "gpu[01-04]";
  env["SLURM_STEP_NODELIST"] = "gpu[03-04]";
  env["SLURM_STEP_NUM_NODES"] = "2";
  ClusterDefaults d = detect_cluster(env);
  EXPECT_EQ(d.nnodes, 2);
  EXPECT_EQ(d.master_addr, "gpu03");
}

TEST(ClusterEnv, MalformedSlurmValuesAreNamed) {
  EnvMap env = slurm_node(0);
  env["SLURM_NODEID"] = "first";
  EXPECT_NE(error_of([&] { detect_cluster(env); }).find("SLURM_NODEID='first'"), std::string::npos);
  env = slurm_node(0);
  env["SLURM_JOB_NODELIST"] = "gpu[07-";
  EXPECT_NE(error_of([&] { detect_cluster(env); }).find("gpu[07-"), std::string::npos);
}

TEST(ClusterEnv, SlurmFeedsTheConfigBelowEnvironmentAndFlags) {
  LaunchConfig c = parse_launch_command({"p"}, slurm_node(1));
  EXPECT_EQ(c.nnodes, 2);
  EXPECT_EQ(c.node_rank, 1);
  EXPECT_EQ(c.master_addr, "gpu07");
  EXPECT_EQ(c.master_port, 29956);
  EXPECT_EQ(c.rdzv_id, "123456");
  EXPECT_TRUE(c.uses_store());
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("Slurm"), std::string::npos);

  EnvMap env = slurm_node(1);
  env["MEGASFT_RUN_MASTER_PORT"] = "7000";
  c = parse_launch_command({"--node-rank", "0", "--master-addr", "10.0.0.9", "p"}, env);
  EXPECT_EQ(c.master_port, 7000);
  EXPECT_EQ(c.node_rank, 0);
  EXPECT_EQ(c.master_addr, "10.0.0.9");
}

TEST(ClusterEnv, OpenMpiOneLauncherPerNode) {
  EnvMap env = {{"OMPI_COMM_WORLD_SIZE", "4"},
                {"OMPI_COMM_WORLD_RANK", "2"},
                {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}};
  ClusterDefaults d = detect_cluster(env);
  EXPECT_EQ(d.source, "OpenMPI");
  EXPECT_EQ(d.nnodes, 4);
  EXPECT_EQ(d.node_rank, 2);
  EXPECT_FALSE(d.master_addr.has_value()) << "OpenMPI names no host for rank 0";
  LaunchConfig c = parse_launch_command({"--master-addr", "10.0.0.1", "p"}, env);
  EXPECT_EQ(c.nnodes, 4);
  EXPECT_EQ(c.node_rank, 2);

  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "2";
  EXPECT_NE(error_of([&] { detect_cluster(env); }).find("one per node"), std::string::npos);
}

TEST(ClusterEnv, OpenMpiInsideSlurm) {
  EnvMap env = slurm_node(0);
  env["OMPI_COMM_WORLD_SIZE"] = "2";
  env["OMPI_COMM_WORLD_RANK"] = "1";
  ClusterDefaults d = detect_cluster(env);
  EXPECT_EQ(d.source, "OpenMPI+Slurm");
  EXPECT_EQ(d.node_rank, 1) << "mpirun's rank wins over the Slurm node id";
  EXPECT_EQ(d.master_addr, "gpu07") << "Slurm still names node 0's host";
  EXPECT_EQ(d.run_id, "123456");
}

}  // namespace
}  // namespace megasft::launch
