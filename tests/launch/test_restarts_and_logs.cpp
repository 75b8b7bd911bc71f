// End-to-end tests of one node's restarts (--max-restarts), per-rank log files (--log-dir,
// --redirects), console copies with a rank prefix (--tee), MEGASFT_RUN_* options and what a
// worker inherits. /bin/sh workers; every run has a deadline.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/launch/launch_test_util.h"
#include "tests/support/launcher_process.h"

namespace megasft::launch::testing {
using namespace megasft::testing;
namespace {

// A shell loop that waits until `file` has more lines than this attempt's number, i.e. until the
// worker writing it has started this attempt (a failing rank must not kill it before that).
std::string wait_for_line_of_this_attempt(const std::string& file) {
  return "while [ \"$(cat " + file +
         " 2>/dev/null | wc -l)\" -le $TORCHELASTIC_RESTART_COUNT ]; "
         "do sleep 0.02; done; ";
}

// Two workers; each appends "attempt <TORCHELASTIC_RESTART_COUNT> max <...>" to runs.<RANK>.
// Rank 1 fails (exit 3) in every attempt below `until_attempt`, once rank 0 has written its line;
// rank 0 waits in those attempts to be stopped.
std::string restart_script(const ScratchDir& dir, int until_attempt) {
  const std::string failing =
      "[ $TORCHELASTIC_RESTART_COUNT -lt " + std::to_string(until_attempt) + " ]";
  return "echo attempt $TORCHELASTIC_RESTART_COUNT max $TORCHELASTIC_MAX_RESTARTS >> " +
         dir.path() + "/runs.$RANK; if " + failing + "; then if [ $RANK = 1 ]; then " +
         wait_for_line_of_this_attempt(dir.path() + "/runs.0") + "exit 3; fi; sleep 30; fi";
}

TEST(Restarts, FailedAttemptIsRestartedAndTheJobSucceeds) {
  ScratchDir dir;
  auto result = run_launcher(
      concat({"--nproc-per-node", "2", "--max-restarts", "2"}, sh(restart_script(dir, 1))), dir, {},
      30);
  ASSERT_FALSE(result.timed_out) << output_of(result);
  EXPECT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_TRUE(Contains(result.err, "worker rank 1 (local rank 1, pid "));
  EXPECT_TRUE(Contains(result.err,
                       "attempt 0 failed: worker rank 1 (node 0, local rank 1) "
                       "failed with exit code 3; restarting the job (restart 1 of 2)"));
  EXPECT_EQ(read_file(dir.file("runs.0")), "attempt 0 max 2\nattempt 1 max 2\n");
  EXPECT_EQ(read_file(dir.file("runs.1")), "attempt 0 max 2\nattempt 1 max 2\n");
}

TEST(Restarts, ExhaustedRestartsExitOneNamingTheRank) {
  ScratchDir dir;
  auto result = run_launcher(
      concat({"--nproc-per-node", "2", "--max-restarts", "1"}, sh(restart_script(dir, 100))), dir,
      {}, 30);
  ASSERT_FALSE(result.timed_out) << output_of(result);
  EXPECT_EQ(result.exit_code, 1) << output_of(result);
  EXPECT_TRUE(Contains(result.err, "restarting the job (restart 1 of 1)"));
  EXPECT_TRUE(Contains(result.err,
                       "job failed: worker rank 1 (node 0, local rank 1) failed with "
                       "exit code 3; no restarts left (--max-restarts 1)"));
  EXPECT_EQ(read_file(dir.file("runs.1")), "attempt 0 max 1\nattempt 1 max 1\n");
}

TEST(Restarts, SignalIsNotRestarted) {
  ScratchDir dir;
  std::string script = "sleep 30 & " + publish("$!", dir.path() + "/sleeper.$RANK") + "; wait";
  // A non-interactive sh starts `sleep &` with SIGINT ignored, so it is SIGKILLed after 1 s.
  LauncherProcess launcher(concat({"--max-restarts", "3", "--grace-period", "1"}, sh(script)), dir);
  ASSERT_TRUE(wait_for_file(dir.file("sleeper.0"), 10));
  kill(launcher.pid(), SIGINT);
  auto result = launcher.wait(15);
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 128 + SIGINT) << output_of(result);
  EXPECT_EQ(result.err.find("restarting"), std::string::npos) << result.err;
  EXPECT_TRUE(process_gone(read_pid(dir.file("sleeper.0"))));
}

TEST(WorkerLogs, FilesPerAttemptAndLocalRank) {
  ScratchDir dir;
  const std::string logs = dir.file("logs");
  // Attempt 0 fails on rank 1, so both attempts leave logs.
  const std::string script =
      "echo out rank $RANK attempt $TORCHELASTIC_RESTART_COUNT; "
      "echo err rank $RANK attempt $TORCHELASTIC_RESTART_COUNT >&2; "
      "echo >> " +
      dir.path() +
      "/started.$RANK; "
      "if [ $RANK = 1 ] && [ $TORCHELASTIC_RESTART_COUNT = 0 ]; then " +
      wait_for_line_of_this_attempt(dir.path() + "/started.0") +
      "exit 4; fi; "
      "if [ $TORCHELASTIC_RESTART_COUNT = 0 ]; then sleep 30; fi";
  auto result = run_launcher(concat({"--nproc-per-node", "2", "--max-restarts", "1", "--log-dir",
                                     logs, "--rdzv-id", "myrun"},
                                    sh(script)),
                             dir, {}, 30);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_TRUE(Contains(result.err, "worker logs in " + logs + "/myrun/attempt_0/<local_rank>/"));
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (int rank = 0; rank < 2; ++rank) {
      const std::string base =
          logs + "/myrun/attempt_" + std::to_string(attempt) + "/" + std::to_string(rank) + "/";
      const std::string tag =
          "rank " + std::to_string(rank) + " attempt " + std::to_string(attempt);
      EXPECT_EQ(read_file(base + "stdout.log"), "out " + tag + "\n") << base;
      EXPECT_EQ(read_file(base + "stderr.log"), "err " + tag + "\n") << base;
    }
  }
  EXPECT_EQ(result.out, "") << "redirected output must not reach the console";
  EXPECT_EQ(result.err.find("err rank"), std::string::npos) << result.err;
}

TEST(WorkerLogs, PerRankRedirects) {
  ScratchDir dir;
  const std::string logs = dir.file("logs");
  // Local rank 0: stdout to its file, stderr to the console; local rank 1: all to the console.
  auto result = run_launcher(
      concat({"--nproc-per-node", "2", "--log-dir", logs, "--rdzv-id", "r", "--redirects", "0:1"},
             sh("echo out$RANK; echo err$RANK >&2")),
      dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_EQ(read_file(logs + "/r/attempt_0/0/stdout.log"), "out0\n");
  EXPECT_FALSE(std::filesystem::exists(logs + "/r/attempt_0/0/stderr.log"));
  EXPECT_FALSE(std::filesystem::exists(logs + "/r/attempt_0/1/stdout.log"));
  EXPECT_TRUE(std::filesystem::is_directory(logs + "/r/attempt_0/1"));
  EXPECT_EQ(result.out, "out1\n");
  EXPECT_TRUE(Contains(result.err, "err0\n"));
  EXPECT_TRUE(Contains(result.err, "err1\n"));
}

TEST(WorkerLogs, TeePrefixesConsoleLinesWithTheGlobalRank) {
  ScratchDir dir;
  const std::string logs = dir.file("logs");
  // A line without its newline must still come out, ended, when the worker exits.
  const std::string script =
      "echo hello from $RANK; printf 'second line\\n'; echo oops $RANK >&2; printf partial$RANK";
  auto result = run_launcher(
      concat({"--nproc-per-node", "2", "--tee", "3", "--log-dir", logs, "--rdzv-id", "t"},
             sh(script)),
      dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  for (int rank = 0; rank < 2; ++rank) {
    const std::string r = std::to_string(rank);
    EXPECT_TRUE(Contains(result.out, "[rank" + r + "]:hello from " + r + "\n"));
    EXPECT_TRUE(Contains(result.out, "[rank" + r + "]:second line\n"));
    EXPECT_TRUE(Contains(result.out, "[rank" + r + "]:partial" + r + "\n"));
    EXPECT_TRUE(Contains(result.err, "[rank" + r + "]:oops " + r + "\n"));
    // The file holds the worker's bytes exactly, without prefixes.
    EXPECT_EQ(read_file(logs + "/t/attempt_0/" + r + "/stdout.log"),
              "hello from " + r + "\nsecond line\npartial" + r);
    EXPECT_EQ(read_file(logs + "/t/attempt_0/" + r + "/stderr.log"), "oops " + r + "\n");
  }
}

TEST(WorkerLogs, TeeWithoutLogDirOnlyPrefixes) {
  ScratchDir dir;
  auto result = run_launcher(
      concat({"--nproc-per-node", "2", "--tee", "0:1"}, sh("echo out$RANK; echo err$RANK >&2")),
      dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_TRUE(Contains(result.out, "[rank0]:out0\n"));
  EXPECT_TRUE(Contains(result.out, "out1\n"));
  EXPECT_EQ(result.out.find("[rank1]"), std::string::npos) << result.out;
  EXPECT_TRUE(Contains(result.err, "err0\n"));
  EXPECT_EQ(result.err.find("[rank0]"), std::string::npos) << result.err;
}

TEST(EnvironmentOptions, MegasftRunVariablesAndCommandLineWins) {
  ScratchDir dir;
  const std::string script = "env > " + dir.path() + "/env.$RANK";
  auto result = run_launcher(sh(script), dir,
                             {{"MEGASFT_RUN_NPROC_PER_NODE", "3"},
                              {"MEGASFT_RUN_RDZV_ID", "from-env"},
                              {"MEGASFT_RUN_MAX_RESTARTS", "5"}});
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  ASSERT_TRUE(std::filesystem::exists(dir.file("env.2")));
  auto env = read_env_dump(dir.file("env.2"));
  EXPECT_EQ(env["WORLD_SIZE"], "3");
  EXPECT_EQ(env["TORCHELASTIC_RUN_ID"], "from-env");
  EXPECT_EQ(env["TORCHELASTIC_MAX_RESTARTS"], "5");

  ScratchDir dir2;
  result =
      run_launcher(concat({"--nproc-per-node", "1"}, sh("env > " + dir2.path() + "/env.$RANK")),
                   dir2, {{"MEGASFT_RUN_NPROC_PER_NODE", "3"}});
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_EQ(read_env_dump(dir2.file("env.0"))["WORLD_SIZE"], "1");
  EXPECT_FALSE(std::filesystem::exists(dir2.file("env.1")));
}

TEST(WorkerInheritance, OnlyStandardFdsAndDefaultSigpipe) {
  ScratchDir dir;
  // /proc/self/fd of `ls` itself shows 0-2 plus the directory it reads; anything else leaked.
  // SigIgn's bit 13 (0x1000) is SIGPIPE: a worker must see it at its default action.
  const std::string script = "ls /proc/self/fd | wc -l > " + dir.path() + "/fds; " +
                             "grep SigIgn /proc/self/status > " + dir.path() + "/sigign";
  auto result = run_launcher(concat({"--tee", "3"}, sh(script)), dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_EQ(read_file(dir.file("fds")), "4\n");
  const std::string sigign = read_file(dir.file("sigign"));
  ASSERT_FALSE(sigign.empty());
  unsigned long long mask = std::stoull(sigign.substr(sigign.find(':') + 1), nullptr, 16);
  EXPECT_EQ(mask & (1ull << (SIGPIPE - 1)), 0u) << sigign;
}

}  // namespace
}  // namespace megasft::launch::testing
