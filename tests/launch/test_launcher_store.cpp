// Unit tests of the launchers' shared state: the store plugin (c10d's TCPStore on 127.0.0.1),
// failure records as they travel through it, and the one-node coordinator.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "kernels/check.h"
#include "launch/job_coordinator.h"
#include "launch/launch_config.h"
#include "launch/launcher_store.h"
#include "launch/signal_watch.h"

namespace megasft::launch {
namespace {

using std::chrono::milliseconds;

TEST(LauncherStore, ServesAndConnectsOnLoopback) {
  const int port = pick_free_port("127.0.0.1");
  auto server = LauncherStore::serve("127.0.0.1", port);
  std::string why;
  auto client = LauncherStore::connect(
      "127.0.0.1", port, LauncherStore::Clock::now() + std::chrono::seconds(5), [](milliseconds) {},
      why);
  ASSERT_NE(client, nullptr) << why;
  EXPECT_EQ(client->endpoint(), "127.0.0.1:" + std::to_string(port));

  EXPECT_EQ(client->get_if_set("k"), std::nullopt);
  server->set("k", "v");
  EXPECT_EQ(client->get_if_set("k"), "v");
  EXPECT_TRUE(client->all_set({"k"}));
  EXPECT_FALSE(client->all_set({"k", "other"}));
  EXPECT_EQ(client->set_first("failed", "first"), "first");
  EXPECT_EQ(server->set_first("failed", "second"), "first") << "the first writer wins";
  EXPECT_EQ(client->add("n", 1), 1);
  EXPECT_EQ(server->add("n", 1), 2);
  EXPECT_EQ(client->add("n", 0), 2);

  EXPECT_THROW(LauncherStore::serve("127.0.0.1", port), Error) << "the port is taken";
  client.reset();  // clients first, as the launchers do (see StoreCoordinator::leave)
  server.reset();
}

// A vanished node 0 is tested end to end (MultiNode.Node0LauncherKilled...): LibTorch 1.13's
// client thread may call std::terminate when its server goes, which only a process survives.
TEST(LauncherStore, ConnectGivesUpAtTheDeadline) {
  const int port = pick_free_port("127.0.0.1");
  std::string why;
  // The deadline includes loading the plugin (LibTorch) on first use, as in a launcher.
  auto start = LauncherStore::Clock::now();
  auto none = LauncherStore::connect(
      "127.0.0.1", port, start + milliseconds(300),
      [](milliseconds d) { std::this_thread::sleep_for(d); }, why);
  EXPECT_EQ(none, nullptr);
  EXPECT_LT(LauncherStore::Clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(why.find("refused"), std::string::npos) << why;
}

TEST(JobFailure, RoundTripsAndDescribes) {
  JobFailure worker;
  worker.kind = JobFailure::Kind::kWorker;
  worker.node_rank = 1;
  worker.rank = 3;
  worker.local_rank = 1;
  worker.what = "failed with exit code 3";
  JobFailure back = JobFailure::decode(worker.encode());
  EXPECT_EQ(back.describe(), "worker rank 3 (node 1, local rank 1) failed with exit code 3");
  EXPECT_TRUE(back.restartable());

  JobFailure signal;
  signal.kind = JobFailure::Kind::kSignal;
  signal.node_rank = 2;
  signal.signo = SIGTERM;
  back = JobFailure::decode(signal.encode());
  EXPECT_EQ(back.describe(), "node 2's launcher received SIGTERM");
  EXPECT_FALSE(back.restartable());

  JobFailure rdzv;
  rdzv.kind = JobFailure::Kind::kRendezvous;
  rdzv.what = "missing node rank(s): 1";
  EXPECT_EQ(JobFailure::decode(rdzv.encode()).describe(), "missing node rank(s): 1");
  EXPECT_THROW(JobFailure::decode("bogus\n1"), Error);
}

TEST(LocalCoordinator, EachAttemptCountsRestartsAndKeepsTheRunId) {
  SignalWatch signals;
  LaunchConfig config =
      parse_launch_args({"--standalone", "--nproc-per-node", "2", "--max-restarts", "2", "p"});
  auto coordinator = make_coordinator(config, signals);
  Rendezvous first = coordinator->join(0), second = coordinator->join(1);
  EXPECT_EQ(first.restart_count, 0);
  EXPECT_EQ(second.restart_count, 1);
  EXPECT_EQ(second.max_restarts, 2);
  EXPECT_EQ(first.run_id, second.run_id);
  EXPECT_EQ(first.world_size, 2);
  EXPECT_EQ(coordinator->poll_failure(0), std::nullopt);
  EXPECT_EQ(coordinator->finish(0, std::nullopt), std::nullopt);
}

}  // namespace
}  // namespace megasft::launch
