// End-to-end tests of several launchers as the nodes of one job, all on 127.0.0.1: the world they
// agree on, a missing node, a failure on one node stopping the others, restarts of the whole
// job, a signal to one launcher, and Slurm/OpenMPI defaults. /bin/sh workers; bounded in time.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "launch/rendezvous.h"
#include "tests/launch/launch_test_util.h"
#include "tests/support/launcher_process.h"

namespace megasft::launch::testing {
using namespace megasft::testing;
namespace {

constexpr double kDeadlineS = 40;

void publish_file(const std::string& path) { std::ofstream(path) << "go\n"; }

// Polls until something accepts connections on 127.0.0.1:port; false on timeout.
bool wait_for_listener(int port, double timeout_s) {
  for (int i = 0; i < timeout_s * 20; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (up) return true;
    usleep(50 * 1000);
  }
  return false;
}

// The nodes of one job: launcher i runs as node i with the given options and output node<i>.*.
class Job {
 public:
  Job(const ScratchDir& dir, int nnodes) : dir_(dir), nnodes_(nnodes) {
    port_ = pick_free_port("127.0.0.1");
  }
  void start(int node, const std::vector<std::string>& options,
             const std::vector<std::string>& program, const EnvChanges& env = {}) {
    std::vector<std::string> args = {"--nnodes",        std::to_string(nnodes_),
                                     "--node-rank",     std::to_string(node),
                                     "--rdzv-endpoint", "127.0.0.1:" + std::to_string(port_)};
    args = concat(concat(args, options), program);
    launchers_.resize(std::max<size_t>(launchers_.size(), node + 1));
    launchers_[node] =
        std::make_unique<LauncherProcess>(args, dir_, env, "node" + std::to_string(node));
  }
  LauncherProcess& launcher(int node) { return *launchers_.at(node); }
  LauncherResult wait(int node) { return launchers_.at(node)->wait(kDeadlineS); }
  int port() const { return port_; }

 private:
  const ScratchDir& dir_;
  int nnodes_;
  int port_;
  std::vector<std::unique_ptr<LauncherProcess>> launchers_;
};

TEST(MultiNode, TwoNodesFormOneWorld) {
  ScratchDir dir;
  Job job(dir, 2);
  const auto program = sh("env > " + dir.path() + "/env.$RANK");
  job.start(1, {"--nproc-per-node", "2"}, program);  // the later node 0 must still be waited for
  usleep(300 * 1000);
  job.start(0, {"--nproc-per-node", "2"}, program);
  auto r0 = job.wait(0), r1 = job.wait(1);
  ASSERT_EQ(r0.exit_code, 0) << output_of(r0);
  ASSERT_EQ(r1.exit_code, 0) << output_of(r1);
  EXPECT_TRUE(Contains(r1.err, "attempt 0: node 1 of 2, ranks 2..3 of 4"));

  auto env0 = read_env_dump(dir.file("env.0"));
  for (int rank = 0; rank < 4; ++rank) {
    auto env = read_env_dump(dir.file("env." + std::to_string(rank)));
    EXPECT_EQ(env["RANK"], std::to_string(rank));
    EXPECT_EQ(env["LOCAL_RANK"], std::to_string(rank % 2));
    EXPECT_EQ(env["GROUP_RANK"], std::to_string(rank / 2));
    EXPECT_EQ(env["WORLD_SIZE"], "4");
    EXPECT_EQ(env["LOCAL_WORLD_SIZE"], "2");
    EXPECT_EQ(env["GROUP_WORLD_SIZE"], "2");
    EXPECT_EQ(env["MASTER_ADDR"], "127.0.0.1");
    EXPECT_EQ(env["MASTER_PORT"], env0["MASTER_PORT"]);
    EXPECT_EQ(env["TORCHELASTIC_RUN_ID"], env0["TORCHELASTIC_RUN_ID"]);
    EXPECT_EQ(env["TORCHELASTIC_RESTART_COUNT"], "0");
  }
  EXPECT_FALSE(env0["TORCHELASTIC_RUN_ID"].empty());
  EXPECT_NE(env0["MASTER_PORT"], std::to_string(job.port()))
      << "the workers' store must not collide with the launchers' store";
}

TEST(MultiNode, NodesMayRunDifferentWorkerCounts) {
  ScratchDir dir;
  Job job(dir, 2);
  const auto program = sh("echo $RANK $LOCAL_RANK $WORLD_SIZE > " + dir.path() + "/r.$RANK");
  job.start(0, {"--nproc-per-node", "1", "--rdzv-id", "mixed"}, program);
  job.start(1, {"--nproc-per-node", "2"}, program);
  auto r0 = job.wait(0), r1 = job.wait(1);
  ASSERT_EQ(r0.exit_code, 0) << output_of(r0);
  ASSERT_EQ(r1.exit_code, 0) << output_of(r1);
  EXPECT_EQ(read_file(dir.file("r.0")), "0 0 3\n");
  EXPECT_EQ(read_file(dir.file("r.1")), "1 0 3\n");
  EXPECT_EQ(read_file(dir.file("r.2")), "2 1 3\n");
  EXPECT_TRUE(Contains(r1.err, "run id mixed")) << "node 1 adopts node 0's --rdzv-id";
}

TEST(MultiNode, MissingNodeTimesOutNamingIt) {
  ScratchDir dir;
  Job job(dir, 3);
  const auto program = sh("touch " + dir.path() + "/ran.$RANK");
  job.start(0, {"--rdzv-timeout", "4"}, program);
  // Node 1 starts once node 0's store listens, so that only node 2 can be missing however busy
  // the machine is.
  ASSERT_TRUE(wait_for_listener(job.port(), 30));
  job.start(1, {"--rdzv-timeout", "4"}, program);
  auto r0 = job.wait(0), r1 = job.wait(1);
  EXPECT_EQ(r0.exit_code, 3) << output_of(r0);
  EXPECT_EQ(r1.exit_code, 3) << output_of(r1);
  EXPECT_TRUE(Contains(r0.err, "rendezvous timed out after 4 s: missing node rank(s): 2 of 3"));
  EXPECT_TRUE(Contains(r1.err, "missing node rank(s): 2 of 3"));
  EXPECT_LT(r0.seconds, 15);
  EXPECT_LT(r1.seconds, 15);
  EXPECT_FALSE(std::filesystem::exists(dir.file("ran.0"))) << "no worker may start";

  ScratchDir alone_dir;
  Job alone(alone_dir, 2);
  alone.start(1, {"--rdzv-timeout", "1"}, program);
  auto r = alone.wait(1);
  EXPECT_EQ(r.exit_code, 3) << output_of(r);
  EXPECT_TRUE(Contains(r.err, "rendezvous timed out after 1 s: missing node rank(s): 0"));
}

TEST(MultiNode, FailureOnOneNodeStopsTheOthersIncludingAHungWorker) {
  ScratchDir dir;
  Job job(dir, 2);
  // Node 0: rank 0 sleeps (its child too), rank 1 ignores SIGTERM like a worker hung in a
  // collective. Node 1: rank 3 fails once both are running.
  const std::string script =
      "case $RANK in "
      "0) sleep 60 & " +
      publish("$!", dir.path() + "/sleeper") +
      "; wait ;; "
      "1) trap '' TERM; " +
      publish("$$", dir.path() + "/hung") +
      "; while :; do sleep 0.1; done ;; "
      "2) sleep 60 ;; "
      "3) while [ ! -s " +
      dir.path() + "/sleeper ] || [ ! -s " + dir.path() +
      "/hung ]; do sleep 0.05; done; exit 3 ;; esac";
  job.start(0, {"--nproc-per-node", "2", "--grace-period", "1"}, sh(script));
  job.start(1, {"--nproc-per-node", "2", "--grace-period", "1"}, sh(script));
  auto r0 = job.wait(0), r1 = job.wait(1);
  ASSERT_FALSE(r0.timed_out || r1.timed_out) << output_of(r0) << output_of(r1);
  EXPECT_EQ(r0.exit_code, 1) << output_of(r0);
  EXPECT_EQ(r1.exit_code, 1) << output_of(r1);
  const std::string failure = "worker rank 3 (node 1, local rank 1) failed with exit code 3";
  EXPECT_TRUE(Contains(r0.err, failure + "; stopped 2 worker(s)"));
  EXPECT_TRUE(Contains(r0.err, "SIGKILL")) << "the hung worker outlived the grace period";
  EXPECT_TRUE(Contains(r0.err, "job failed: " + failure));
  EXPECT_TRUE(Contains(r1.err, "worker rank 3 (local rank 1, pid "));
  EXPECT_TRUE(Contains(r1.err, "job failed: " + failure));
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper"))));
  EXPECT_TRUE(process_gone(read_pid(dir.file("hung"))));
}

TEST(MultiNode, WholeJobRestartsTogetherAndSucceeds) {
  ScratchDir dir;
  Job job(dir, 2);
  // Rank 2 (node 1) fails in attempt 0; every other worker of attempt 0 waits to be stopped.
  const std::string script = "echo $TORCHELASTIC_RESTART_COUNT $MASTER_PORT >> " + dir.path() +
                             "/runs.$RANK; "
                             "if [ $TORCHELASTIC_RESTART_COUNT = 0 ]; then "
                             "  if [ $RANK = 2 ]; then "
                             "    while [ ! -s " +
                             dir.path() + "/runs.0 ] || [ ! -s " + dir.path() +
                             "/runs.1 ] || [ ! -s " + dir.path() +
                             "/runs.3 ]; do sleep 0.02; done;"
                             "    exit 9; fi; sleep 60; fi";
  job.start(0, {"--nproc-per-node", "2", "--max-restarts", "2"}, sh(script));
  job.start(1, {"--nproc-per-node", "2", "--max-restarts", "2"}, sh(script));
  auto r0 = job.wait(0), r1 = job.wait(1);
  ASSERT_EQ(r0.exit_code, 0) << output_of(r0);
  ASSERT_EQ(r1.exit_code, 0) << output_of(r1);
  const std::string restart =
      "attempt 0 failed: worker rank 2 (node 1, local rank 0) failed "
      "with exit code 9; restarting the job (restart 1 of 2)";
  EXPECT_TRUE(Contains(r0.err, restart));
  EXPECT_TRUE(Contains(r1.err, restart));
  std::set<std::string> ports;
  for (int rank = 0; rank < 4; ++rank) {
    const std::string runs = read_file(dir.file("runs." + std::to_string(rank)));
    ASSERT_EQ(std::count(runs.begin(), runs.end(), '\n'), 2) << "rank " << rank << ":\n" << runs;
    EXPECT_EQ(runs.substr(0, 2), "0 ");
    EXPECT_EQ(runs.substr(runs.find('\n') + 1, 2), "1 ");
    ports.insert(runs.substr(2, runs.find('\n') - 2));
  }
  EXPECT_EQ(ports.size(), 1u) << "attempt 0's MASTER_PORT is the same on every node";
  const std::string runs0 = read_file(dir.file("runs.0"));
  EXPECT_NE(runs0.substr(2, runs0.find('\n') - 2),
            runs0.substr(runs0.find('\n') + 3, runs0.size() - runs0.find('\n') - 4))
      << "each attempt gets a fresh MASTER_PORT:\n"
      << runs0;
}

TEST(MultiNode, ExhaustedRestartsFailEveryNodeNamingTheRank) {
  ScratchDir dir;
  Job job(dir, 2);
  const std::string script =
      "echo x >> " + dir.path() +
      "/runs.$RANK; if [ $RANK = 1 ]; then "
      "while [ \"$(cat " +
      dir.path() +
      "/runs.0 2>/dev/null | wc -l)\" -le "
      "$TORCHELASTIC_RESTART_COUNT ]; do sleep 0.02; done; exit 5; fi; sleep 60";
  job.start(0, {"--max-restarts", "1"}, sh(script));
  job.start(1, {"--max-restarts", "1"}, sh(script));
  auto r0 = job.wait(0), r1 = job.wait(1);
  EXPECT_EQ(r0.exit_code, 1) << output_of(r0);
  EXPECT_EQ(r1.exit_code, 1) << output_of(r1);
  const std::string last =
      "job failed: worker rank 1 (node 1, local rank 0) failed with exit "
      "code 5; no restarts left (--max-restarts 1)";
  EXPECT_TRUE(Contains(r0.err, last));
  EXPECT_TRUE(Contains(r1.err, last));
  EXPECT_EQ(read_file(dir.file("runs.0")), "x\nx\n");
}

TEST(MultiNode, SignalToOneLauncherEndsTheJobEverywhere) {
  ScratchDir dir;
  Job job(dir, 2);
  const std::string script =
      "sleep 60 & " + publish("$!", dir.path() + "/sleeper.$RANK") + "; wait";
  job.start(0, {"--max-restarts", "3"}, sh(script));
  job.start(1, {"--max-restarts", "3"}, sh(script));
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.0"), 15));
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.1"), 15));
  kill(job.launcher(1).pid(), SIGTERM);
  auto r0 = job.wait(0), r1 = job.wait(1);
  EXPECT_EQ(r1.exit_code, 128 + SIGTERM) << output_of(r1);
  EXPECT_EQ(r0.exit_code, 1) << output_of(r0);
  EXPECT_TRUE(Contains(r0.err, "node 1's launcher received SIGTERM"));
  EXPECT_EQ(r0.err.find("restarting"), std::string::npos)
      << "a signal is not a restartable failure";
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper.0"))));
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper.1"))));
}

TEST(MultiNode, Node0LauncherKilledEndsTheOtherNodes) {
  ScratchDir dir;
  Job job(dir, 2);
  const std::string script =
      "sleep 60 & " + publish("$!", dir.path() + "/sleeper.$RANK") + "; wait";
  job.start(0, {"--max-restarts", "2", "--grace-period", "1"}, sh(script));
  job.start(1, {"--max-restarts", "2", "--grace-period", "1"}, sh(script));
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.0"), 15));
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.1"), 15));
  kill(job.launcher(0).pid(), SIGKILL);  // no chance to tell anyone
  auto r1 = job.wait(1);
  ASSERT_FALSE(r1.timed_out) << output_of(r1);
  EXPECT_EQ(r1.exit_code, 1) << output_of(r1);
  EXPECT_TRUE(Contains(r1.err, "lost contact with node 0's launcher"));
  EXPECT_EQ(r1.err.find("restarting"), std::string::npos) << "without node 0 nothing can restart";
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper.1"))));
}

TEST(MultiNode, MismatchedOptionsAreReportedOnBothNodes) {
  ScratchDir dir;
  Job job(dir, 2);
  job.start(0, {"--max-restarts", "1", "--rdzv-timeout", "20"}, sh("true"));
  job.start(1, {"--max-restarts", "2", "--rdzv-timeout", "20"}, sh("true"));
  auto r0 = job.wait(0), r1 = job.wait(1);
  EXPECT_EQ(r1.exit_code, 3) << output_of(r1);
  EXPECT_EQ(r0.exit_code, 3) << output_of(r0);
  EXPECT_TRUE(Contains(r1.err, "does not agree with node 0"));
  EXPECT_TRUE(Contains(r0.err, "--max-restarts 2 vs 1"));
  EXPECT_LT(r0.seconds, 15) << "node 0 must not wait out its timeout";
}

TEST(MultiNode, DuplicateNodeRankIsRejectedAndTheJobGoesOn) {
  ScratchDir dir;
  Job job(dir, 2);
  // The workers hold the job open until the duplicate was turned away: a launcher arriving after
  // node 0 has gone would only find nobody and wait out its timeout.
  const std::string go = dir.file("go");
  const auto program = sh("touch " + dir.path() + "/ran.$RANK.$$; i=0; while [ ! -e " + go +
                          " ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done");
  job.start(0, {}, program);
  job.start(1, {}, program);
  job.start(2, {"--node-rank", "1"}, program);  // launcher "node2" claims node rank 1 as well
  const std::string rejected = "node rank 1 already joined attempt 0";
  for (int i = 0; i < 400; ++i) {
    if (read_file(dir.file("node1.err")).find(rejected) != std::string::npos ||
        read_file(dir.file("node2.err")).find(rejected) != std::string::npos) {
      break;
    }
    usleep(50 * 1000);
  }
  publish_file(go);
  auto r0 = job.wait(0), r1 = job.wait(1), r2 = job.wait(2);
  EXPECT_EQ(r0.exit_code, 0) << output_of(r0);
  const auto& loser = r1.exit_code == 3 ? r1 : r2;
  const auto& winner = r1.exit_code == 3 ? r2 : r1;
  EXPECT_EQ(winner.exit_code, 0) << output_of(winner);
  EXPECT_EQ(loser.exit_code, 3) << output_of(loser);
  EXPECT_TRUE(Contains(loser.err, rejected));
  int ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ran += entry.path().filename().string().rfind("ran.", 0) == 0;
  }
  EXPECT_EQ(ran, 2) << "one worker per node rank";
}

// A port in Slurm's default range (29500 + SLURM_JOB_ID % 1000) that is free now.
int free_slurm_port(int& job_id) {
  for (int offset = 0; offset < 1000; ++offset) {
    const int port = 29500 + (offset * 7919 + getpid()) % 1000;  // spread over the range
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free) {
      job_id = 7000 + (port - 29500);
      return port;
    }
  }
  return -1;
}

TEST(MultiNode, SlurmAllocationGivesTheDefaults) {
  ScratchDir dir;
  int job_id = 0;
  const int port = free_slurm_port(job_id);
  ASSERT_GT(port, 0);
  std::vector<std::unique_ptr<LauncherProcess>> nodes;
  for (int node = 0; node < 2; ++node) {
    EnvChanges env = {{"SLURM_JOB_NODELIST", "127.0.0.[1-2]"},
                      {"SLURM_NNODES", "2"},
                      {"SLURM_NODEID", std::to_string(node)},
                      {"SLURM_JOB_ID", std::to_string(job_id)},
                      {"MEGASFT_RUN_NPROC_PER_NODE", "2"}};
    nodes.push_back(std::make_unique<LauncherProcess>(sh("env > " + dir.path() + "/env.$RANK"), dir,
                                                      env, "node" + std::to_string(node)));
  }
  auto r0 = nodes[0]->wait(kDeadlineS), r1 = nodes[1]->wait(kDeadlineS);
  ASSERT_EQ(r0.exit_code, 0) << output_of(r0);
  ASSERT_EQ(r1.exit_code, 0) << output_of(r1);
  EXPECT_TRUE(Contains(r1.err,
                       "defaults from Slurm: nnodes=2 node_rank=1 master_addr=127.0.0.1 "
                       "master_port=" +
                           std::to_string(port)));
  for (int rank = 0; rank < 4; ++rank) {
    auto env = read_env_dump(dir.file("env." + std::to_string(rank)));
    EXPECT_EQ(env["RANK"], std::to_string(rank));
    EXPECT_EQ(env["GROUP_RANK"], std::to_string(rank / 2));
    EXPECT_EQ(env["WORLD_SIZE"], "4");
    EXPECT_EQ(env["MASTER_ADDR"], "127.0.0.1");
    EXPECT_EQ(env["TORCHELASTIC_RUN_ID"], std::to_string(job_id));
  }
}

TEST(MultiNode, OpenMpiRanksAreNodeRanks) {
  ScratchDir dir;
  const int port = pick_free_port("127.0.0.1");
  std::vector<std::unique_ptr<LauncherProcess>> nodes;
  for (int node = 0; node < 2; ++node) {
    EnvChanges env = {{"OMPI_COMM_WORLD_SIZE", "2"},
                      {"OMPI_COMM_WORLD_RANK", std::to_string(node)},
                      {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}};
    nodes.push_back(std::make_unique<LauncherProcess>(
        concat({"--master-addr", "127.0.0.1", "--master-port", std::to_string(port)},
               sh("echo $RANK $GROUP_RANK $WORLD_SIZE > " + dir.path() + "/r.$RANK")),
        dir, env, "node" + std::to_string(node)));
  }
  auto r0 = nodes[0]->wait(kDeadlineS), r1 = nodes[1]->wait(kDeadlineS);
  ASSERT_EQ(r0.exit_code, 0) << output_of(r0);
  ASSERT_EQ(r1.exit_code, 0) << output_of(r1);
  EXPECT_EQ(read_file(dir.file("r.0")), "0 0 2\n");
  EXPECT_EQ(read_file(dir.file("r.1")), "1 1 2\n");
}

}  // namespace
}  // namespace megasft::launch::testing
