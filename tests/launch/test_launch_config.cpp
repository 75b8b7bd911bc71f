// Unit tests of megasft-run's option parsing and rendezvous, without starting any process.
#include <gtest/gtest.h>

#include "kernels/check.h"
#include "launch/launch_config.h"
#include "launch/rendezvous.h"

namespace megasft::launch {
namespace {

using Args = std::vector<std::string>;

// The error text of parsing args, or "" if it parsed.
std::string parse_error(const Args& args) {
  try {
    parse_launch_args(args);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchConfig, Defaults) {
  LaunchConfig c = parse_launch_args({"train", "--lr", "1"});
  EXPECT_EQ(c.nproc_per_node, 1);
  EXPECT_EQ(c.nnodes, 1);
  EXPECT_EQ(c.node_rank, 0);
  EXPECT_EQ(c.master_addr, "127.0.0.1");
  EXPECT_EQ(c.master_port, 29500);
  EXPECT_FALSE(c.standalone);
  EXPECT_EQ(c.rdzv_id, "");
  EXPECT_DOUBLE_EQ(c.grace_period_s, 5.0);
  EXPECT_FALSE(c.help);
  EXPECT_EQ(c.program, (Args{"train", "--lr", "1"}));
}

TEST(LaunchConfig, AllSpellings) {
  for (const Args& args : {Args{"--nproc-per-node", "4", "p"}, Args{"--nproc_per_node", "4", "p"},
                           Args{"--nproc-per-node=4", "p"}, Args{"--nproc_per_node=4", "p"}}) {
    LaunchConfig c = parse_launch_args(args);
    EXPECT_EQ(c.nproc_per_node, 4) << args[0];
    EXPECT_EQ(c.program, Args{"p"});
  }
  LaunchConfig c = parse_launch_args({"--master_addr=10.0.0.1", "--master-port", "1234",
                                      "--grace_period=0.5", "--rdzv_id", "abc", "--node_rank=0",
                                      "--nnodes=1:1", "--no_python", "--standalone", "prog"});
  EXPECT_EQ(c.master_addr, "10.0.0.1");
  EXPECT_EQ(c.master_port, 1234);
  EXPECT_DOUBLE_EQ(c.grace_period_s, 0.5);
  EXPECT_EQ(c.rdzv_id, "abc");
  EXPECT_TRUE(c.standalone);
  EXPECT_EQ(c.program, Args{"prog"});
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
  EXPECT_NE(launch_usage().find("--nproc-per-node"), std::string::npos);
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
      {{"--nnodes", "2", "p"}, {"--nnodes", "'2'", "multi-node"}},
      {{"--nnodes", "1:4", "p"}, {"--nnodes", "'1:4'", "multi-node"}},
      {{"--nnodes", "two", "p"}, {"--nnodes", "'two'"}},
      {{"--node-rank", "3", "p"}, {"--node-rank", "'3'", "multi-node"}},
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
    for (const std::string& text : c.expected) {
      EXPECT_NE(error.find(text), std::string::npos) << "'" << text << "' not in: " << error;
    }
  }
}

TEST(Rendezvous, SingleNode) {
  LaunchConfig c = parse_launch_args({"--nproc-per-node", "3", "--master-port", "4000", "p"});
  Rendezvous r = resolve_rendezvous(c);
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  EXPECT_EQ(r.master_port, 4000);
  EXPECT_EQ(r.world_size, 3);
  EXPECT_EQ(r.local_world_size, 3);
  EXPECT_EQ(r.group_rank, 0);
  EXPECT_EQ(r.group_world_size, 1);
  EXPECT_EQ(r.rank_offset, 0);
  EXPECT_FALSE(r.run_id.empty());
  EXPECT_NE(r.run_id, resolve_rendezvous(c).run_id) << "generated ids must differ per run";
  EXPECT_EQ(resolve_rendezvous(parse_launch_args({"--rdzv-id", "x", "p"})).run_id, "x");
}

TEST(Rendezvous, StandaloneUsesLoopbackAndAFreePort) {
  LaunchConfig c = parse_launch_args({"--standalone", "--master-addr", "10.1.2.3", "p"});
  Rendezvous r = resolve_rendezvous(c);
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  EXPECT_GT(r.master_port, 0);
  EXPECT_LE(r.master_port, 65535);
  EXPECT_THROW(pick_free_port("not-an-ip"), Error);
}

}  // namespace
}  // namespace megasft::launch
