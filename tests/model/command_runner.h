// Running `megasft` subcommands under megasft-run from the model tests, and reading back what they
// wrote.
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/launcher_process.h"

namespace megasft::testing {

inline LauncherResult run_megasft(int nproc, const std::vector<std::string>& args,
                                  const ScratchDir& dir) {
  std::vector<std::string> argv = {"--standalone", "--nproc-per-node", std::to_string(nproc),
                                   std::string(MEGASFT_BIN_DIR) + "/megasft"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_launcher(argv, dir, {{"OMP_NUM_THREADS", "1"}}, 180);
}

inline std::string output_of(const LauncherResult& r) {
  return "--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

inline std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace megasft::testing
