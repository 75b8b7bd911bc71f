// Distributed checkpoints end to end: exact resume (bit-identical losses and checkpoint bytes), loading
// at other layouts, a writer killed with SIGKILL in the middle of a save, and corrupt files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {
namespace fs = std::filesystem;

struct Layout {
  int tp, pp, dp;
  std::string name() const { return std::to_string(tp) + std::to_string(pp) + std::to_string(dp); }
};

LauncherResult train(const Layout& l, const ScratchDir& dir, const std::string& run, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--tp", std::to_string(l.tp), "--pp", std::to_string(l.pp), "--objective", "sed",
                                   "--tau", "0.3", "--model.tie-word-embeddings", "true"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_training(l.tp * l.pp * l.dp, dir.file(run), dir, args);
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(Checkpoints, ResumeIsBitExact) {
  ScratchDir dir;
  const Layout one{1, 1, 1};
  auto whole = train(one, dir, "whole", {"--max-steps", "20", "--save", dir.file("ck-whole")});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  auto first = train(one, dir, "split", {"--max-steps", "20", "--save", dir.file("ck-split"), "--exit-interval", "10"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(fs::exists(dir.file("ck-split") + "/iter_0000010/model_optim.h5"));
  auto second = train(one, dir, "split", {"--max-steps", "20", "--save", dir.file("ck-split"), "--resume"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("resumed from"), std::string::npos) << second.out;

  auto a = read_metrics(dir.file("whole")), b = read_metrics(dir.file("split"));
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 20u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["loss"].get<double>(), b[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(a[i]["grad_norm"].get<double>(), b[i]["grad_norm"].get<double>()) << "step " << i + 1;
  }
  // Parameters and optimizer state: the final checkpoints are the same bytes.
  EXPECT_TRUE(read_bytes(dir.file("ck-whole") + "/iter_0000020/model_optim.h5") ==
              read_bytes(dir.file("ck-split") + "/iter_0000020/model_optim.h5"));
}

// A checkpoint saved at one layout continues at another: the next step's loss agrees with the
// uninterrupted one-rank run within 1e-5.
TEST(Checkpoints, LoadsAtEveryOtherLayout) {
  ScratchDir dir;
  const std::vector<Layout> chain = {{1, 1, 1}, {2, 1, 1}, {1, 2, 1}, {1, 1, 2}, {2, 2, 1}};
  auto reference = train(chain[0], dir, "reference", {"--max-steps", "6"});
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  const double step4 = read_metrics(dir.file("reference"))[3]["loss"].get<double>();
  for (size_t i = 0; i < chain.size(); ++i) {
    const std::string saved = dir.file("ck-" + chain[i].name());
    auto save = train(chain[i], dir, "save-" + chain[i].name(),
                      {"--max-steps", "6", "--save", saved, "--exit-interval", "3"});
    ASSERT_EQ(save.exit_code, 0) << chain[i].name() << "\n" << save.err;
    for (const Layout& target : {chain[(i + 1) % chain.size()], chain[(i + chain.size() - 1) % chain.size()]}) {
      const std::string run = "load-" + chain[i].name() + "-at-" + target.name();
      auto load = train(target, dir, run, {"--max-steps", "4", "--load", saved + "/iter_0000003"});
      ASSERT_EQ(load.exit_code, 0) << run << "\n" << load.err;
      auto metrics = read_metrics(dir.file(run));
      ASSERT_EQ(metrics.size(), 1u) << run;
      EXPECT_EQ(metrics[0]["step"].get<int64_t>(), 4);
      EXPECT_NEAR(metrics[0]["loss"].get<double>(), step4, 1e-5 * step4) << run;
    }
  }
}

TEST(Checkpoints, KilledDuringSaveResumesFromThePreviousOne) {
  ScratchDir dir;
  const Layout layout{2, 1, 1};
  const std::string root = dir.file("ck");
  auto whole = train(layout, dir, "whole", {"--max-steps", "6"});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  std::vector<std::string> args = {"--standalone", "--nproc-per-node", "2", megasft_binary(), "train",
                                   "--config", source_path("tests/integration/tiny-llama.cfg"), "--train-data",
                                   demo_data().train, "--run-dir", dir.file("crash"), "--tp", "2", "--objective", "sed",
                                   "--tau", "0.3", "--model.tie-word-embeddings", "true", "--max-steps", "6",
                                   "--save", root, "--save-interval", "2"};
  auto crashed = run_launcher(args, dir, {{"OMP_NUM_THREADS", "1"}, {"MEGASFT_FAULT_KILL_IN_SAVE", "4"}}, 120);
  EXPECT_NE(crashed.exit_code, 0);
  EXPECT_NE(crashed.err.find("signal 9"), std::string::npos) << crashed.err;
  EXPECT_TRUE(fs::exists(root + "/iter_0000002/metadata.json"));
  EXPECT_TRUE(fs::exists(root + "/iter_0000004.tmp"));  // the half-written save, never renamed
  EXPECT_FALSE(fs::exists(root + "/iter_0000004"));
  EXPECT_EQ(read_bytes(root + "/latest"), "iter_0000002\n");

  args.push_back("--resume");
  auto resumed = run_launcher(args, dir, {{"OMP_NUM_THREADS", "1"}}, 120);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("at step 2"), std::string::npos) << resumed.out;
  EXPECT_FALSE(fs::exists(root + "/iter_0000004.tmp"));
  auto expected = read_metrics(dir.file("whole")), got = read_metrics(dir.file("crash"));
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back()["loss"].get<double>(), expected.back()["loss"].get<double>());
}

TEST(Checkpoints, CorruptCheckpointIsNamedAndSkippedOnResume) {
  ScratchDir dir;
  const Layout layout{1, 1, 1};
  const std::string root = dir.file("ck");
  auto run = train(layout, dir, "run", {"--max-steps", "4", "--save", root, "--save-interval", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Overwrite bytes in the middle of the newest file, keeping its size: the checksums must catch it.
  const std::string newest = root + "/iter_0000004/model_optim.h5";
  std::string bytes = read_bytes(newest);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 4096; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes;

  auto direct = train(layout, dir, "direct", {"--max-steps", "6", "--load", root + "/iter_0000004"});
  EXPECT_NE(direct.exit_code, 0);
  EXPECT_FALSE(direct.timed_out);
  EXPECT_NE(direct.err.find(newest), std::string::npos) << direct.err;

  auto resumed = train(layout, dir, "run", {"--max-steps", "6", "--save", root, "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("warning: skipping checkpoint"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.out.find("at step 2"), std::string::npos) << resumed.out;

  // A truncated file is caught before HDF5 reads it.
  fs::resize_file(root + "/iter_0000006/model_optim.h5", 1000);
  auto truncated = train(layout, dir, "trunc", {"--max-steps", "8", "--load", root + "/iter_0000006"});
  EXPECT_NE(truncated.exit_code, 0);
  EXPECT_NE(truncated.err.find("truncated"), std::string::npos) << truncated.err;
}

// A checkpoint exported as a Hugging Face folder: the same bytes whatever layout exports it (here a
// TP=2 checkpoint exported at TP=1 and TP=2), and a folder `megasft train --model-dir` loads.
TEST(Checkpoints, ExportsToHuggingFaceAtAnyLayout) {
  ScratchDir dir;
  const std::string root = dir.file("ck");
  auto run = train({2, 1, 1}, dir, "run", {"--max-steps", "3", "--save", root});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (int nproc : {1, 2}) {
    auto convert = run_launcher({"--standalone", "--nproc-per-node", std::to_string(nproc), megasft_binary(), "convert",
                                 "--from-checkpoint", root, "--to-hf", dir.file("hf" + std::to_string(nproc)),
                                 "--dtype", "fp32"},
                                dir, {{"OMP_NUM_THREADS", "1"}}, 120);
    ASSERT_EQ(convert.exit_code, 0) << convert.err;
  }
  const std::string exported = read_bytes(dir.file("hf1") + "/model.safetensors");
  EXPECT_GT(exported.size(), 80000u);
  EXPECT_TRUE(exported == read_bytes(dir.file("hf2") + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir.file("hf1") + "/config.json"));
  auto reload = run_launcher({"--standalone", "--nproc-per-node", "2", megasft_binary(), "train", "--model-dir",
                              dir.file("hf1"), "--train-data", demo_data().train, "--run-dir", dir.file("reload"),
                              "--tp", "2", "--objective", "ce", "--max-steps", "1", "--seq-length", "96",
                              "--model.make-vocab-size-divisible-by", "8"},
                             dir, {{"OMP_NUM_THREADS", "1"}}, 120);
  EXPECT_EQ(reload.exit_code, 0) << reload.err;
}

}  // namespace
}  // namespace megasft::testing
