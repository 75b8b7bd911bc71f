// Unit tests of megasft-run's option parsing: command line, MEGASFT_RUN_* variables, validation
// of options together, --redirects/--tee values, and the one-node rendezvous. No process starts.
#include <gtest/gtest.h>

#include "kernels/check.h"
#include "launch/launch_config.h"
#include "launch/rendezvous.h"

namespace megasft::launch {
namespace {

using Args = std::vector<std::string>;

// The error text of parsing args (with env), or "" if it parsed.
std::string parse_error(const Args& args, const EnvMap& env = {}) {
  try {
    parse_launch_command(args, env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not found in: " << text;
}

TEST(LaunchConfig, Defaults) {
  LaunchConfig c = parse_launch_args({"train", "--lr", "1"});
  EXPECT_EQ(c.nproc_per_node, 1);
  EXPECT_EQ(c.nnodes, 1);
  EXPECT_EQ(c.node_rank, 0);
  EXPECT_EQ(c.master_addr, "127.0.0.1");
  EXPECT_EQ(c.master_port, 29500);
  EXPECT_EQ(c.rdzv_host, "");
  EXPECT_FALSE(c.standalone);
  EXPECT_EQ(c.rdzv_id, "");
  EXPECT_DOUBLE_EQ(c.rdzv_timeout_s, 600.0);
  EXPECT_EQ(c.max_restarts, 0);
  EXPECT_DOUBLE_EQ(c.monitor_interval_s, 0.1);
  EXPECT_EQ(c.log_dir, "");
  EXPECT_FALSE(c.redirects.has_value());
  EXPECT_FALSE(c.tee.any());
  EXPECT_DOUBLE_EQ(c.grace_period_s, 5.0);
  EXPECT_FALSE(c.help);
  EXPECT_FALSE(c.uses_store());
  EXPECT_TRUE(c.notes.empty());
  EXPECT_EQ(c.program, (Args{"train", "--lr", "1"}));
}

TEST(LaunchConfig, AllSpellings) {
  for (const Args& args : {Args{"--nproc-per-node", "4", "p"}, Args{"--nproc_per_node", "4", "p"},
                           Args{"--nproc-per-node=4", "p"}, Args{"--nproc_per_node=4", "p"}}) {
    LaunchConfig c = parse_launch_args(args);
    EXPECT_EQ(c.nproc_per_node, 4) << args[0];
    EXPECT_EQ(c.program, Args{"p"});
  }
  LaunchConfig c = parse_launch_args({"--master_addr=10.0.0.1",
                                      "--master-port",
                                      "1234",
                                      "--grace_period=0.5",
                                      "--rdzv_id",
                                      "abc",
                                      "--nnodes=3",
                                      "--node_rank=2",
                                      "--rdzv-endpoint",
                                      "node01:4000",
                                      "--rdzv_backend",
                                      "c10d",
                                      "--rdzv-timeout",
                                      "30",
                                      "--max_restarts=2",
                                      "--monitor-interval",
                                      "0.5",
                                      "--log_dir",
                                      "/tmp/logs",
                                      "--redirects",
                                      "1",
                                      "--tee=0:2,1:3",
                                      "--no_python",
                                      "--nproc-per-node",
                                      "2",
                                      "prog"});
  EXPECT_EQ(c.master_addr, "10.0.0.1");
  EXPECT_EQ(c.master_port, 1234);
  EXPECT_DOUBLE_EQ(c.grace_period_s, 0.5);
  EXPECT_EQ(c.rdzv_id, "abc");
  EXPECT_EQ(c.nnodes, 3);
  EXPECT_EQ(c.node_rank, 2);
  EXPECT_EQ(c.rdzv_host, "node01");
  EXPECT_EQ(c.rdzv_port, 4000);
  EXPECT_TRUE(c.uses_store());
  EXPECT_EQ(c.store_host(), "node01");
  EXPECT_EQ(c.store_port(), 4000);
  EXPECT_DOUBLE_EQ(c.rdzv_timeout_s, 30);
  EXPECT_EQ(c.max_restarts, 2);
  EXPECT_DOUBLE_EQ(c.monitor_interval_s, 0.5);
  EXPECT_EQ(c.log_dir, "/tmp/logs");
  ASSERT_TRUE(c.redirects.has_value());
  EXPECT_EQ(c.redirects->all, kStdout);
  EXPECT_EQ(c.tee.for_local_rank(0), kStderr);
  EXPECT_EQ(c.tee.for_local_rank(1), kBothStreams);
  EXPECT_EQ(c.program, Args{"prog"});

  EXPECT_TRUE(parse_launch_args({"--standalone", "p"}).standalone);
}

TEST(LaunchConfig, StoreEndpointDefaultsToMaster) {
  LaunchConfig c = parse_launch_args(
      {"--nnodes", "2", "--master-addr", "10.0.0.7", "--master-port", "6000", "p"});
  EXPECT_TRUE(c.uses_store());
  EXPECT_EQ(c.store_host(), "10.0.0.7");
  EXPECT_EQ(c.store_port(), 6000);

  c = parse_launch_args({"--rdzv-endpoint", "node01", "p"});  // torchrun's c10d port
  EXPECT_EQ(c.store_port(), kDefaultRdzvPort);
  EXPECT_TRUE(c.uses_store()) << "an explicit endpoint is honoured even for one node";
  c = parse_launch_args({"--rdzv-endpoint=[::1]:5000", "p"});
  EXPECT_EQ(c.rdzv_host, "::1");
  EXPECT_EQ(c.rdzv_port, 5000);
}

TEST(LaunchConfig, NnodesMinMaxRunsFixedAtMax) {
  LaunchConfig c = parse_launch_args({"--nnodes", "1:4", "--node-rank", "3", "p"});
  EXPECT_EQ(c.nnodes, 4);
  EXPECT_EQ(c.nnodes_min, 1);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_TRUE(Contains(c.notes[0], "fixed world of 4 nodes (MAX)"));
  EXPECT_TRUE(parse_launch_args({"--nnodes", "2:2", "p"}).notes.empty());
}

TEST(LaunchConfig, OptionsEndAtProgramOrDoubleDash) {
  // The program's own options, even ones megasft-run knows, belong to the program.
  LaunchConfig c = parse_launch_args({"--nproc-per-node", "2", "prog", "--nproc-per-node", "9"});
  EXPECT_EQ(c.nproc_per_node, 2);
  EXPECT_EQ(c.program, (Args{"prog", "--nproc-per-node", "9"}));

  c = parse_launch_args({"--standalone", "--", "--weird-program-name", "-x"});
  EXPECT_EQ(c.program, (Args{"--weird-program-name", "-x"}));
}

TEST(LaunchConfig, Help) {
  EXPECT_TRUE(parse_launch_args({"-h"}).help);
  EXPECT_TRUE(parse_launch_args({"--help"}).help);
  for (const char* documented :
       {"--nproc-per-node", "--rdzv-endpoint", "--rdzv-timeout", "--max-restarts", "--tee",
        "MEGASFT_RUN_", "SLURM_JOB_ID", "OMPI_COMM_WORLD_RANK", "exit status"}) {
    EXPECT_TRUE(Contains(launch_usage(), documented));
  }
}

TEST(LaunchConfig, EnvironmentSetsOptionsAndCommandLineWins) {
  EnvMap env = {{"MEGASFT_RUN_NPROC_PER_NODE", "3"},
                {"MEGASFT_RUN_MAX_RESTARTS", "4"},
                {"MEGASFT_RUN_RDZV_ENDPOINT", "10.0.0.2:7000"},
                {"MEGASFT_RUN_NNODES", "2"},
                {"MEGASFT_RUN_NODE_RANK", "1"},
                {"MEGASFT_RUN_TEE", "3"},
                {"MEGASFT_RUN_STANDALONE", "false"},
                {"UNRELATED", "x"}};
  LaunchConfig c = parse_launch_command({"p"}, env);
  EXPECT_EQ(c.nproc_per_node, 3);
  EXPECT_EQ(c.max_restarts, 4);
  EXPECT_EQ(c.rdzv_host, "10.0.0.2");
  EXPECT_EQ(c.rdzv_port, 7000);
  EXPECT_EQ(c.nnodes, 2);
  EXPECT_EQ(c.node_rank, 1);
  EXPECT_EQ(c.tee.all, kBothStreams);
  EXPECT_FALSE(c.standalone);

  c = parse_launch_command({"--nproc-per-node", "5", "--max-restarts=0", "p"}, env);
  EXPECT_EQ(c.nproc_per_node, 5);
  EXPECT_EQ(c.max_restarts, 0);

  EXPECT_TRUE(parse_launch_command({"p"}, {{"MEGASFT_RUN_STANDALONE", "1"}}).standalone);
}

TEST(LaunchConfig, BadEnvironmentNamesTheVariable) {
  EXPECT_TRUE(Contains(parse_error({"p"}, {{"MEGASFT_RUN_NPROC_PER_NODE", "x"}}),
                       "'x' for MEGASFT_RUN_NPROC_PER_NODE"));
  EXPECT_TRUE(Contains(parse_error({"p"}, {{"MEGASFT_RUN_NPROC", "2"}}),
                       "unknown variable MEGASFT_RUN_NPROC"));
  EXPECT_TRUE(Contains(parse_error({"p"}, {{"MEGASFT_RUN_HELP", "1"}}),
                       "unknown variable MEGASFT_RUN_HELP"));
  EXPECT_TRUE(Contains(parse_error({"p"}, {{"MEGASFT_RUN_STANDALONE", "maybe"}}),
                       "'maybe' for MEGASFT_RUN_STANDALONE"));
}

TEST(LaunchConfig, BadValuesNameOptionAndValue) {
  struct Case {
    Args args;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {{"--nproc-per-node", "0", "p"}, {"--nproc-per-node", "'0'"}},
      {{"--nproc-per-node", "-3", "p"}, {"--nproc-per-node", "'-3'"}},
      {{"--nproc_per_node=4x", "p"}, {"--nproc_per_node", "'4x'"}},
      {{"--nproc-per-node", "", "p"}, {"--nproc-per-node", "''"}},
      {{"--master-port", "0", "p"}, {"--master-port", "'0'"}},
      {{"--master-port", "65536", "p"}, {"--master-port", "'65536'"}},
      {{"--master-port", "http", "p"}, {"--master-port", "'http'"}},
      {{"--master-addr=", "p"}, {"--master-addr"}},
      {{"--grace-period", "-1", "p"}, {"--grace-period", "'-1'"}},
      {{"--grace-period", "nan", "p"}, {"--grace-period", "'nan'"}},
      {{"--grace-period", "5s", "p"}, {"--grace-period", "'5s'"}},
      {{"--rdzv-timeout", "0", "p"}, {"--rdzv-timeout", "'0'", "> 0"}},
      {{"--monitor-interval", "-1", "p"}, {"--monitor-interval", "'-1'"}},
      {{"--max-restarts", "-1", "p"}, {"--max-restarts", "'-1'"}},
      {{"--nnodes", "0", "p"}, {"--nnodes", "'0'"}},
      {{"--nnodes", "4:2", "p"}, {"--nnodes", "'4:2'"}},
      {{"--nnodes", "two", "p"}, {"--nnodes", "'two'"}},
      {{"--node-rank", "3", "p"}, {"--node-rank 3 must be below --nnodes 1"}},
      {{"--nnodes", "2", "--node-rank", "2", "p"}, {"--node-rank 2 must be below --nnodes 2"}},
      {{"--rdzv-endpoint", ":29400", "p"}, {"--rdzv-endpoint", "HOST:PORT"}},
      {{"--rdzv-endpoint", "host:port", "p"}, {"--rdzv-endpoint", "'host:port'"}},
      {{"--rdzv-endpoint", "fe80::1:5", "p"}, {"--rdzv-endpoint", "[ADDRESS]:PORT"}},
      {{"--rdzv-backend", "etcd", "p"}, {"--rdzv-backend", "'etcd'"}},
      {{"--redirects", "4", "--log-dir", "d", "p"}, {"--redirects", "'4'"}},
      {{"--tee", "0:1,0:2", "p"}, {"--tee", "local rank 0 is given twice"}},
      {{"--tee", "x:1", "p"}, {"--tee", "LOCAL_RANK:STREAMS"}},
      {{"--tee", "2:1", "--nproc-per-node", "2", "p"}, {"--tee names local rank 2"}},
      {{"--redirects", "3", "p"}, {"--redirects needs --log-dir"}},
      {{"--standalone", "--nnodes", "2", "p"}, {"--standalone", "--nnodes 2"}},
      {{"--standalone", "--rdzv-endpoint", "h:1", "p"}, {"--standalone", "--rdzv-endpoint"}},
      {{"--standalone=yes", "p"}, {"--standalone", "takes no value"}},
      {{"--master-port"}, {"--master-port", "requires a value"}},
      {{"--bogus", "p"}, {"unknown option '--bogus'"}},
      {{"-x", "p"}, {"unknown option '-x'"}},
      {{"--nproc-per-node", "2"}, {"missing program"}},
      {{}, {"missing program"}},
  };
  for (const Case& c : cases) {
    std::string error = parse_error(c.args);
    ASSERT_NE(error, "") << "accepted: " << (c.args.empty() ? "" : c.args[0]);
    for (const std::string& text : c.expected) EXPECT_TRUE(Contains(error, text));
  }
  // --redirects 0 sends nothing to files, so it needs no --log-dir.
  EXPECT_EQ(parse_error({"--redirects", "0", "p"}), "");
}

TEST(LogSpec, StreamSelections) {
  StreamSelection all = parse_stream_selection("--tee", "3");
  EXPECT_EQ(all.for_local_rank(0), kBothStreams);
  EXPECT_EQ(all.for_local_rank(7), kBothStreams);
  EXPECT_EQ(all.max_named_local_rank(), -1);
  EXPECT_TRUE(all.any());
  EXPECT_FALSE(parse_stream_selection("--tee", "0").any());

  StreamSelection per_rank = parse_stream_selection("--redirects", "0:1,2:2");
  EXPECT_EQ(per_rank.for_local_rank(0), kStdout);
  EXPECT_EQ(per_rank.for_local_rank(1), kNoStreams) << "unlisted ranks get none, as in torchrun";
  EXPECT_EQ(per_rank.for_local_rank(2), kStderr);
  EXPECT_EQ(per_rank.max_named_local_rank(), 2);
  EXPECT_FALSE(parse_stream_selection("--tee", "0:0,1:0").any());
  for (const char* bad : {"", "-1", "3,1", "0:", ":1", "0:1,", "0:4", "a"}) {
    EXPECT_THROW(parse_stream_selection("--tee", bad), Error) << bad;
  }
}

TEST(LogSpec, FileStreamsFollowLogDirRedirectsAndTee) {
  LaunchConfig c = parse_launch_args({"p"});
  EXPECT_EQ(c.file_streams(0), kNoStreams) << "no --log-dir, no files";
  c = parse_launch_args({"--log-dir", "d", "p"});
  EXPECT_EQ(c.file_streams(0), kBothStreams) << "--log-dir alone captures both streams";
  c = parse_launch_args({"--log-dir", "d", "--redirects", "1", "p"});
  EXPECT_EQ(c.file_streams(0), kStdout);
  c = parse_launch_args({"--log-dir", "d", "--redirects", "0", "--tee", "0:2", "p"});
  EXPECT_EQ(c.file_streams(0), kStderr) << "--tee writes the files it copies from";
  EXPECT_EQ(c.file_streams(1), kNoStreams);
}

TEST(Rendezvous, SingleNode) {
  LaunchConfig c = parse_launch_args(
      {"--nproc-per-node", "3", "--master-port", "4000", "--max-restarts", "2", "p"});
  Rendezvous r = resolve_rendezvous(c);
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  EXPECT_EQ(r.master_port, 4000);
  EXPECT_EQ(r.world_size, 3);
  EXPECT_EQ(r.local_world_size, 3);
  EXPECT_EQ(r.group_rank, 0);
  EXPECT_EQ(r.group_world_size, 1);
  EXPECT_EQ(r.rank_offset, 0);
  EXPECT_EQ(r.restart_count, 0);
  EXPECT_EQ(r.max_restarts, 2);
  EXPECT_FALSE(r.run_id.empty());
  EXPECT_NE(r.run_id, resolve_rendezvous(c).run_id) << "generated ids must differ per run";
  EXPECT_EQ(resolve_rendezvous(parse_launch_args({"--rdzv-id", "x", "p"})).run_id, "x");
  EXPECT_THROW(resolve_rendezvous(parse_launch_args({"--nnodes", "2", "p"})), Error);
}

TEST(Rendezvous, StandaloneUsesLoopbackAndAFreePort) {
  LaunchConfig c = parse_launch_args({"--standalone", "--master-addr", "10.1.2.3", "p"});
  Rendezvous r = resolve_rendezvous(c);
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  EXPECT_GT(r.master_port, 0);
  EXPECT_LE(r.master_port, 65535);
  EXPECT_THROW(pick_free_port("not-an-ip"), Error);
  EXPECT_GT(pick_free_port("0.0.0.0"), 0);
}

}  // namespace
}  // namespace megasft::launch
