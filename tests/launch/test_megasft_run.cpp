// End-to-end tests of the megasft-run binary with /bin/sh workers: environment, failure handling,
// signal forwarding, bad options. Every run has a deadline, so a hung launcher fails, not blocks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/launch/launch_test_util.h"
#include "tests/support/launcher_process.h"

namespace megasft::launch::testing {
using namespace megasft::testing;
namespace {

TEST(MegasftRun, WorkersGetTorchrunEnvironment) {
  ScratchDir dir;
  auto result = run_launcher(concat({"--nproc_per_node=3", "--master-addr", "127.0.0.1",
                                     "--master-port", "29577", "--rdzv-id", "job42"},
                                    sh("env > " + dir.path() + "/env.$RANK")),
                             dir, {{"OMP_NUM_THREADS", std::nullopt}});
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.err, "OMP_NUM_THREADS=1"));
  for (int rank = 0; rank < 3; ++rank) {
    auto env = read_env_dump(dir.file("env." + std::to_string(rank)));
    const std::string r = std::to_string(rank);
    EXPECT_EQ(env["RANK"], r);
    EXPECT_EQ(env["LOCAL_RANK"], r);
    EXPECT_EQ(env["ROLE_RANK"], r);
    EXPECT_EQ(env["GROUP_RANK"], "0");
    EXPECT_EQ(env["WORLD_SIZE"], "3");
    EXPECT_EQ(env["LOCAL_WORLD_SIZE"], "3");
    EXPECT_EQ(env["ROLE_WORLD_SIZE"], "3");
    EXPECT_EQ(env["MASTER_ADDR"], "127.0.0.1");
    EXPECT_EQ(env["MASTER_PORT"], "29577");
    EXPECT_EQ(env["TORCHELASTIC_RESTART_COUNT"], "0");
    EXPECT_EQ(env["TORCHELASTIC_MAX_RESTARTS"], "0");
    EXPECT_EQ(env["TORCHELASTIC_RUN_ID"], "job42");
    EXPECT_EQ(env["OMP_NUM_THREADS"], "1");
    EXPECT_FALSE(env["PATH"].empty()) << "the launcher's own environment must be inherited";
  }
}

TEST(MegasftRun, KeepsOmpNumThreadsAndGeneratesRunId) {
  ScratchDir dir;
  auto result =
      run_launcher(concat({"--nproc-per-node", "2"}, sh("env > " + dir.path() + "/env.$RANK")), dir,
                   {{"OMP_NUM_THREADS", "7"}});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err.find("OMP_NUM_THREADS"), std::string::npos) << result.err;
  auto env0 = read_env_dump(dir.file("env.0")), env1 = read_env_dump(dir.file("env.1"));
  EXPECT_EQ(env0["OMP_NUM_THREADS"], "7");
  EXPECT_EQ(env0["MASTER_PORT"], "29500");
  EXPECT_FALSE(env0["TORCHELASTIC_RUN_ID"].empty());
  EXPECT_EQ(env0["TORCHELASTIC_RUN_ID"], env1["TORCHELASTIC_RUN_ID"]);
}

TEST(MegasftRun, StandalonePicksUsablePort) {
  ScratchDir dir;
  auto result =
      run_launcher(concat({"--standalone", "--nproc-per-node", "2", "--master-addr", "10.9.9.9"},
                          sh("echo $MASTER_ADDR $MASTER_PORT > " + dir.path() + "/ep.$RANK")),
                   dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::string ep0 = read_file(dir.file("ep.0"));
  EXPECT_EQ(ep0, read_file(dir.file("ep.1")));
  ASSERT_EQ(ep0.rfind("127.0.0.1 ", 0), 0u) << ep0;
  int port = std::stoi(ep0.substr(10));
  ASSERT_GT(port, 0);
  ASSERT_LE(port, 65535);

  // Usable: nothing holds it now, so a server (rank 0's store) can bind it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
}

TEST(MegasftRun, AllWorkersSucceed) {
  ScratchDir dir;
  auto result = run_launcher(sh("exit 0"), dir);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.err, "");
}

TEST(MegasftRun, FailingWorkerStopsTheOthers) {
  ScratchDir dir;
  const std::string pid_file = dir.file("sleeper.pid");
  // Rank 0 leaves a grandchild (sleep) in its process group; rank 1 fails once it is running.
  const std::string script =
      "if [ \"$RANK\" = 1 ]; then "
      "  while [ ! -s " +
      pid_file +
      " ]; do sleep 0.05; done; exit 3; "
      "fi; sleep 60 & " +
      publish("$!", pid_file) + "; wait";
  auto result = run_launcher(concat({"--nproc-per-node", "2"}, sh(script)), dir, {}, 25);
  ASSERT_FALSE(result.timed_out) << result.err;
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_LT(result.seconds, 10.0);
  EXPECT_TRUE(Contains(result.err, "worker rank 1 (local rank 1, pid "));
  EXPECT_TRUE(Contains(result.err, "failed with exit code 3; stopped 1 other worker(s)"));
  EXPECT_TRUE(process_gone(read_pid(pid_file))) << "the sleeping grandchild survived";
}

TEST(MegasftRun, WorkerIgnoringSigtermIsKilledAfterGracePeriod) {
  ScratchDir dir;
  const std::string pid_file = dir.file("stubborn.pid");
  const std::string script =
      "if [ \"$RANK\" = 1 ]; then "
      "  while [ ! -s " +
      pid_file +
      " ]; do sleep 0.05; done; exit 5; "
      "fi; trap '' TERM; " +
      publish("$$", pid_file) + "; while :; do sleep 0.1; done";
  auto result = run_launcher(concat({"--nproc-per-node", "2", "--grace-period", "1"}, sh(script)),
                             dir, {}, 25);
  ASSERT_FALSE(result.timed_out) << result.err;
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_GE(result.seconds, 1.0);
  EXPECT_LT(result.seconds, 10.0);
  EXPECT_TRUE(Contains(result.err, "worker rank 1 (local rank 1"));
  EXPECT_TRUE(Contains(result.err, "exit code 5"));
  EXPECT_TRUE(Contains(result.err, "SIGKILL"));
  EXPECT_TRUE(process_gone(read_pid(pid_file)));
}

TEST(MegasftRun, WorkerKilledBySignalIsReported) {
  ScratchDir dir;
  auto result = run_launcher(sh("kill -9 $$"), dir);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Contains(result.err, "worker rank 0 (local rank 0, pid "));
  EXPECT_TRUE(Contains(result.err, "was killed by signal 9"));
}

TEST(MegasftRun, SigtermIsForwardedToWorkers) {
  ScratchDir dir;
  std::string script = "sleep 60 & " + publish("$!", dir.path() + "/sleeper.$RANK") + "; wait";
  LauncherProcess launcher(concat({"--nproc-per-node", "2"}, sh(script)), dir);
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.0"), 10));
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.1"), 10));
  kill(launcher.pid(), SIGTERM);
  auto result = launcher.wait(15);
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 128 + SIGTERM);
  EXPECT_TRUE(Contains(result.err, "received SIGTERM"));
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper.0"))));
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper.1"))));
}

TEST(MegasftRun, BadOptionsExitWith2) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expected;  // substrings of stderr
  };
  const std::vector<Case> cases = {
      {{"--nproc-per-node", "0"}, {"--nproc-per-node", "'0'"}},
      {{"--nproc_per_node=abc"}, {"--nproc_per_node", "'abc'"}},
      {{"--master-port", "70000"}, {"--master-port", "'70000'"}},
      {{"--master-port=-1"}, {"--master-port", "'-1'"}},
      {{"--grace-period", "soon"}, {"--grace-period", "'soon'"}},
      {{"--nnodes", "two"}, {"--nnodes", "'two'"}},
      {{"--node-rank", "1"}, {"--node-rank 1 must be below --nnodes 1"}},
      {{"--redirects", "3"}, {"--redirects needs --log-dir"}},
      {{"--tee", "7"}, {"--tee", "'7'"}},
      {{"--rdzv-endpoint", "127.0.0.1:x"}, {"--rdzv-endpoint", "'127.0.0.1:x'"}},
      {{"--frobnicate"}, {"unknown option '--frobnicate'"}},
  };
  for (const Case& c : cases) {
    ScratchDir dir;
    auto result = run_launcher(concat(c.args, sh("touch " + dir.path() + "/ran")), dir);
    EXPECT_EQ(result.exit_code, 2) << c.args[0] << ": " << result.err;
    for (const std::string& text : c.expected) EXPECT_TRUE(Contains(result.err, text));
    EXPECT_FALSE(std::filesystem::exists(dir.file("ran"))) << "a worker ran despite " << c.args[0];
  }
  ScratchDir dir;
  auto missing = run_launcher({"--nproc-per-node", "2"}, dir);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, "missing program"));
  auto dangling = run_launcher({"--master-port"}, dir);
  EXPECT_EQ(dangling.exit_code, 2);
  EXPECT_TRUE(Contains(dangling.err, "--master-port requires a value"));
  auto bad_env =
      run_launcher(sh("touch " + dir.path() + "/ran"), dir, {{"MEGASFT_RUN_MAX_RESTART", "2"}});
  EXPECT_EQ(bad_env.exit_code, 2);
  EXPECT_TRUE(Contains(bad_env.err, "unknown variable MEGASFT_RUN_MAX_RESTART"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("ran")));
}

TEST(MegasftRun, HelpExitsZero) {
  ScratchDir dir;
  auto result = run_launcher({"--help"}, dir);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.out, "usage: megasft-run"));
}

TEST(MegasftRun, MissingProgramIsReported) {
  ScratchDir dir;
  auto by_name = run_launcher({"megasft-no-such-program", "--flag"}, dir);
  EXPECT_EQ(by_name.exit_code, 1);
  EXPECT_TRUE(Contains(by_name.err, "cannot execute 'megasft-no-such-program': No such file"));
  EXPECT_TRUE(Contains(by_name.err, "worker rank 0 (local rank 0, pid "));
  EXPECT_TRUE(Contains(by_name.err, "failed with exit code 127"));

  auto by_path = run_launcher({"--nproc-per-node", "2", dir.file("nothing-here")}, dir);
  EXPECT_EQ(by_path.exit_code, 1);
  EXPECT_TRUE(Contains(by_path.err, "cannot execute '" + dir.file("nothing-here") + "'"));
  EXPECT_TRUE(Contains(by_path.err, "exit code 127"));
}

}  // namespace
}  // namespace megasft::launch::testing
