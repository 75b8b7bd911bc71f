// Shared set-up of the end-to-end tests: a small demo dataset made once per test binary, and
// `megasft train` runs under megasft-run whose metrics.jsonl is read back.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/launcher_process.h"

namespace megasft::testing {

// train.h5 / heldout.h5 made by `megasft make-demo-data` in a scratch dir that lives for the binary.
struct DemoData {
  std::string train;
  std::string heldout;
};
const DemoData& demo_data();

std::string source_path(const std::string& relative);  // a file of the repository
std::string megasft_binary();

// megasft-run --standalone --nproc-per-node N megasft train --run-dir DIR extra..., plus --config
// tests/integration/tiny-llama.cfg and the demo data as --train-data and --calibration-data where
// extra does not give them.
LauncherResult run_training(int nproc, const std::string& run_dir, const ScratchDir& dir,
                            const std::vector<std::string>& extra, double timeout_s = 240);

std::vector<nlohmann::json> read_metrics(const std::string& run_dir);

}  // namespace megasft::testing
