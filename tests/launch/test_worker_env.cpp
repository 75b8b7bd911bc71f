// Unit tests of the environment each worker receives, and of exit-status wording.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "launch/worker_env.h"
#include "launch/worker_process.h"

namespace megasft::launch {
namespace {

std::string lookup(const std::vector<std::string>& env, const std::string& name) {
  std::string value = "<unset>";
  int seen = 0;
  for (const std::string& entry : env) {
    if (entry.rfind(name + "=", 0) == 0) {
      value = entry.substr(name.size() + 1);
      ++seen;
    }
  }
  EXPECT_LE(seen, 1) << name << " appears twice";
  return value;
}

Rendezvous two_workers() {
  Rendezvous r;
  r.master_addr = "127.0.0.1";
  r.master_port = 1234;
  r.run_id = "run";
  r.local_world_size = 2;
  r.world_size = 2;
  return r;
}

TEST(WorkerEnv, MergeReplacesAndKeepsOrder) {
  auto merged = merge_environment({{"A", "1"}, {"RANK", "stale"}, {"B", "2"}}, {{"RANK", "3"}});
  EXPECT_EQ(merged, (std::vector<std::string>{"A=1", "B=2", "RANK=3"}));
}

TEST(WorkerEnv, PlanSetsTorchrunVariables) {
  LaunchConfig config;
  config.program = {"train", "--x"};
  EnvVars base = {{"PATH", "/bin"}, {"RANK", "99"}};
  WorkerPlan plan = plan_workers(config, two_workers(), base);
  ASSERT_EQ(plan.workers.size(), 2u);
  EXPECT_TRUE(plan.sets_omp_num_threads);
  for (int i = 0; i < 2; ++i) {
    const WorkerLaunch& w = plan.workers[i];
    const std::string r = std::to_string(i);
    EXPECT_EQ(w.local_rank, i);
    EXPECT_EQ(w.rank, i);
    EXPECT_EQ(w.argv, config.program);
    EXPECT_EQ(lookup(w.env, "PATH"), "/bin");
    EXPECT_EQ(lookup(w.env, "RANK"), r);
    EXPECT_EQ(lookup(w.env, "LOCAL_RANK"), r);
    EXPECT_EQ(lookup(w.env, "ROLE_RANK"), r);
    EXPECT_EQ(lookup(w.env, "GROUP_RANK"), "0");
    EXPECT_EQ(lookup(w.env, "WORLD_SIZE"), "2");
    EXPECT_EQ(lookup(w.env, "LOCAL_WORLD_SIZE"), "2");
    EXPECT_EQ(lookup(w.env, "ROLE_WORLD_SIZE"), "2");
    EXPECT_EQ(lookup(w.env, "MASTER_ADDR"), "127.0.0.1");
    EXPECT_EQ(lookup(w.env, "MASTER_PORT"), "1234");
    EXPECT_EQ(lookup(w.env, "TORCHELASTIC_RESTART_COUNT"), "0");
    EXPECT_EQ(lookup(w.env, "TORCHELASTIC_MAX_RESTARTS"), "0");
    EXPECT_EQ(lookup(w.env, "TORCHELASTIC_RUN_ID"), "run");
    EXPECT_EQ(lookup(w.env, "OMP_NUM_THREADS"), "1");
  }
}

TEST(WorkerEnv, RestartsAndWorldAcrossNodes) {
  Rendezvous r = two_workers();
  r.group_rank = 1;
  r.group_world_size = 3;
  r.world_size = 6;
  r.rank_offset = 2;
  r.restart_count = 1;
  r.max_restarts = 3;
  LaunchConfig config;
  config.program = {"p"};
  WorkerPlan plan = plan_workers(config, r, {});
  ASSERT_EQ(plan.workers.size(), 2u);
  const auto& env = plan.workers[1].env;
  EXPECT_EQ(plan.workers[1].rank, 3);
  EXPECT_EQ(lookup(env, "RANK"), "3");
  EXPECT_EQ(lookup(env, "LOCAL_RANK"), "1");
  EXPECT_EQ(lookup(env, "GROUP_RANK"), "1");
  EXPECT_EQ(lookup(env, "GROUP_WORLD_SIZE"), "3");
  EXPECT_EQ(lookup(env, "WORLD_SIZE"), "6");
  EXPECT_EQ(lookup(env, "LOCAL_WORLD_SIZE"), "2");
  EXPECT_EQ(lookup(env, "TORCHELASTIC_RESTART_COUNT"), "1");
  EXPECT_EQ(lookup(env, "TORCHELASTIC_MAX_RESTARTS"), "3");
}

TEST(WorkerEnv, OmpNumThreadsOnlyWhenUnsetAndShared) {
  LaunchConfig config;
  config.program = {"p"};
  WorkerPlan kept = plan_workers(config, two_workers(), {{"OMP_NUM_THREADS", "8"}});
  EXPECT_FALSE(kept.sets_omp_num_threads);
  EXPECT_EQ(lookup(kept.workers[1].env, "OMP_NUM_THREADS"), "8");

  Rendezvous one = two_workers();
  one.local_world_size = one.world_size = 1;
  WorkerPlan single = plan_workers(config, one, {});
  EXPECT_FALSE(single.sets_omp_num_threads);
  EXPECT_EQ(lookup(single.workers[0].env, "OMP_NUM_THREADS"), "<unset>");
}

TEST(WorkerProcess, DescribesWaitStatus) {
  // waitpid encodes "exited with c" as c << 8 and "killed by s" as s.
  EXPECT_TRUE(wait_status_succeeded(0));
  EXPECT_FALSE(wait_status_succeeded(3 << 8));
  EXPECT_FALSE(wait_status_succeeded(SIGKILL));
  EXPECT_EQ(describe_wait_status(3 << 8), "failed with exit code 3");
  EXPECT_EQ(describe_wait_status(SIGKILL), "was killed by signal 9 (Killed)");
}

}  // namespace
}  // namespace megasft::launch
