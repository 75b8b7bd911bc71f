#include "tests/integration/training_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>

namespace megasft::testing {

std::string source_path(const std::string& relative) { return std::string(MEGASFT_SOURCE_DIR) + "/" + relative; }
std::string megasft_binary() { return std::string(MEGASFT_BIN_DIR) + "/megasft"; }

const DemoData& demo_data() {
  static std::unique_ptr<ScratchDir> dir;
  static DemoData data;
  if (!dir) {
    dir = std::make_unique<ScratchDir>();
    data.train = dir->file("train.h5");
    data.heldout = dir->file("heldout.h5");
    auto result = run_launcher({"--nproc-per-node", "1", megasft_binary(), "make-demo-data", "--output",
                                data.train, "--heldout", data.heldout, "--samples", "600",
                                "--heldout-samples", "60", "--seed", "99"},
                               *dir, {}, 60);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  }
  return data;
}

LauncherResult run_training(int nproc, const std::string& run_dir, const ScratchDir& dir,
                            const std::vector<std::string>& extra, double timeout_s) {
  const auto& data = demo_data();
  std::vector<std::string> args = {"--standalone", "--nproc-per-node", std::to_string(nproc),
                                   megasft_binary(), "train", "--run-dir", run_dir};
  // Defaults the test's own options replace (an option given twice is an error).
  auto add_default = [&](const std::string& option, const std::string& value) {
    if (std::find(extra.begin(), extra.end(), option) != extra.end()) return;
    args.push_back(option);
    args.push_back(value);
  };
  add_default("--config", source_path("tests/integration/tiny-llama.cfg"));
  add_default("--train-data", data.train);
  add_default("--calibration-data", data.heldout);
  args.insert(args.end(), extra.begin(), extra.end());
  return run_launcher(args, dir, {{"OMP_NUM_THREADS", "1"}}, timeout_s);
}

std::vector<nlohmann::json> read_metrics(const std::string& run_dir) {
  std::vector<nlohmann::json> records;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) records.push_back(nlohmann::json::parse(line));
  return records;
}

}  // namespace megasft::testing
