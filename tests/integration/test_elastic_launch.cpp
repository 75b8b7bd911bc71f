// The launcher with the trainer: two launchers as two nodes train exactly like one launcher with all
// the workers, and a worker killed mid-run restarts the whole job from the last checkpoint, ending
// with the same loss as an uninterrupted run.
#include <gtest/gtest.h>

#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {

std::vector<std::string> train_args(const std::string& run_dir, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {megasft_binary(), "train", "--config", source_path("tests/integration/tiny-llama.cfg"),
                                   "--train-data", demo_data().train, "--run-dir", run_dir, "--tp", "2",
                                   "--objective", "sed", "--tau", "0.3", "--max-steps", "6"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

int free_port() {
  auto probe = run_launcher({"--standalone", "--nproc-per-node", "1", "/bin/sh", "-c", "echo $MASTER_PORT"},
                            ScratchDir(), {}, 20);
  return std::stoi(probe.out);
}

TEST(ElasticLaunch, TwoNodesTrainLikeOneNode) {
  ScratchDir dir;
  std::vector<std::string> one = {"--standalone", "--nproc-per-node", "4"};
  for (const auto& a : train_args(dir.file("one"), {})) one.push_back(a);
  auto single = run_launcher(one, dir, {{"OMP_NUM_THREADS", "1"}}, 120);
  ASSERT_EQ(single.exit_code, 0) << single.err;

  const std::string endpoint = "127.0.0.1:" + std::to_string(free_port());
  std::vector<std::unique_ptr<LauncherProcess>> nodes;
  for (int node = 0; node < 2; ++node) {
    std::vector<std::string> args = {"--nnodes", "2", "--node-rank", std::to_string(node), "--nproc-per-node", "2",
                                     "--rdzv-endpoint", endpoint, "--rdzv-id", "two-nodes"};
    for (const auto& a : train_args(dir.file("two"), {})) args.push_back(a);
    nodes.push_back(std::make_unique<LauncherProcess>(args, dir, EnvChanges{{"OMP_NUM_THREADS", "1"}},
                                                      "node" + std::to_string(node)));
  }
  for (auto& node : nodes) {
    auto result = node->wait(180);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  auto a = read_metrics(dir.file("one")), b = read_metrics(dir.file("two"));
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["loss"].get<double>(), b[i]["loss"].get<double>()) << i;
}

TEST(ElasticLaunch, KilledWorkerRestartsFromTheLastCheckpoint) {
  ScratchDir dir;
  std::vector<std::string> plain = {"--standalone", "--nproc-per-node", "2"};
  for (const auto& a : train_args(dir.file("plain"), {})) plain.push_back(a);
  auto uninterrupted = run_launcher(plain, dir, {{"OMP_NUM_THREADS", "1"}}, 120);
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.err;

  std::vector<std::string> elastic = {"--standalone", "--nproc-per-node", "2", "--max-restarts", "1"};
  for (const auto& a : train_args(dir.file("elastic"), {"--save", dir.file("ck"), "--save-interval", "2", "--resume"}))
    elastic.push_back(a);
  auto restarted = run_launcher(elastic, dir, {{"OMP_NUM_THREADS", "1"}, {"MEGASFT_FAULT_KILL_AT_STEP", "3"}}, 180);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_NE(restarted.err.find("signal 9"), std::string::npos) << restarted.err;  // the failure was seen
  EXPECT_NE(restarted.out.find("resumed from"), std::string::npos) << restarted.out;
  auto a = read_metrics(dir.file("plain")), b = read_metrics(dir.file("elastic"));
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(a.back()["loss"].get<double>(), b.back()["loss"].get<double>());
}

// A worker that stops answering: the others' collectives time out (--dist-timeout), they exit naming
// the operation, the launcher stops the hung worker and restarts the job from the last checkpoint.
TEST(ElasticLaunch, HungWorkerIsDetectedByTheCollectiveTimeout) {
  ScratchDir dir;
  std::vector<std::string> plain = {"--standalone", "--nproc-per-node", "2"};
  for (const auto& a : train_args(dir.file("plain"), {})) plain.push_back(a);
  auto uninterrupted = run_launcher(plain, dir, {{"OMP_NUM_THREADS", "1"}}, 120);
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.err;

  std::vector<std::string> elastic = {"--standalone", "--nproc-per-node", "2", "--max-restarts", "1",
                                      "--grace-period", "1"};
  for (const auto& a : train_args(dir.file("elastic"), {"--save", dir.file("ck"), "--save-interval", "2", "--resume",
                                                        "--dist-timeout", "4"}))
    elastic.push_back(a);
  auto restarted = run_launcher(elastic, dir, {{"OMP_NUM_THREADS", "1"}, {"MEGASFT_FAULT_HANG_AT_STEP", "3"}}, 180);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_NE(restarted.err.find("timeout 4 s"), std::string::npos) << restarted.err;  // named by the survivor
  auto a = read_metrics(dir.file("plain")), b = read_metrics(dir.file("elastic"));
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(a.back()["loss"].get<double>(), b.back()["loss"].get<double>());
}

}  // namespace
}  // namespace megasft::testing
