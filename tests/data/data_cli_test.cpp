// `megasft tokenize` and `megasft preprocess` as processes, with the tiny tokenizer (no network):
// output formats, exit codes, bad rows on stderr with their line number, the summary line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <set>

#include "megasft/data/demo_math.h"
#include "megasft/data/token_dataset.h"
#include "temp_dir.h"
#include "tiny_tokenizer.h"

namespace megasft::data {
namespace {

using testing::TempDir;

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `megasft ARGS < stdin_text` with a 60 s bound, capturing stdout and stderr.
CommandResult megasft(const TempDir& dir, const std::string& args,
                      const std::string& stdin_text = "") {
  std::ofstream(dir.file("stdin.txt"), std::ios::binary) << stdin_text;
  const std::string cmd = std::string("timeout 60 '") + MEGASFT_BIN_DIR + "/megasft' " + args +
                          " < '" + dir.file("stdin.txt") + "' > '" + dir.file("stdout.txt") +
                          "' 2> '" + dir.file("stderr.txt") + "'";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_all(dir.file("stdout.txt")),
          read_all(dir.file("stderr.txt"))};
}

std::string tiny_tokenizer(const TempDir& dir) {
  return testing::write_json(dir.file("tokenizer.json"), testing::tiny_tokenizer_json());
}

TEST(TokenizeCommand, EncodesLinesAndDecodesBack) {
  TempDir dir;
  const std::string tok = " --tokenizer '" + tiny_tokenizer(dir) + "'";
  // 259 = "hello", 264 = " world", 271 = <|eot_id|> in the tiny vocabulary.
  CommandResult r = megasft(dir, "tokenize" + tok, "hello world\nhello<|eot_id|>\n\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[259,264]\n[259,271]\n[]\n");
  r = megasft(dir, "tokenize --json" + tok, "\"hello\\n world\"\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[259,10,264]\n");
  r = megasft(dir, "tokenize --decode --json" + tok, "[259,10,264]\n[240,159]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"hello\\n world\"\n\"\xEF\xBF\xBD\"\n");
  r = megasft(dir, "tokenize --decode" + tok, "[259,264]\n");
  EXPECT_EQ(r.out, "hello world\n");
}

TEST(TokenizeCommand, ErrorsNameTheLine) {
  TempDir dir;
  const std::string tok = " --tokenizer '" + tiny_tokenizer(dir) + "'";
  CommandResult r = megasft(dir, "tokenize --json" + tok, "\"ok\"\nnot json\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("stdin line 2 is not a JSON string"), std::string::npos) << r.err;
  r = megasft(dir, "tokenize --decode" + tok, "[1, 99999999]\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("token id 99999999"), std::string::npos) << r.err;
  r = megasft(dir, "tokenize" + tok, "ok\n\xC3\x28\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("stdin line 2"), std::string::npos) << r.err;
  r = megasft(dir, "tokenize --tokenizer '" + dir.file("none.json") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("none.json"), std::string::npos) << r.err;
}

TEST(PreprocessCommand, SkipsBadRowsLoudlyOrFails) {
  TempDir dir;
  {
    std::ofstream in(dir.file("in.jsonl"));
    in << R"({"messages":[{"role":"user","content":"hello"},{"role":"assistant","content":"world"}]})"
          "\n"
       << R"({"prompt":"hello","response":"world"})"
          "\n"
       << R"({"prompt": "no response")"
          "\n"
       << R"({"prompt":"a","response":"b"})"
          "\n";
  }
  const std::string base = "preprocess --input '" + dir.file("in.jsonl") + "' --tokenizer '" +
                           tiny_tokenizer(dir) + "' --output '" + dir.file("out.h5") + "'";
  CommandResult r = megasft(dir, base + " --template llama3 --max-length 64 --pack");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("in.jsonl:3: skipped bad row: invalid JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("preprocess: 4 lines, 3 samples (1 bad rows skipped"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("packed into"), std::string::npos) << r.out;
  const TokenDataset data = TokenDataset::open(dir.file("out.h5"));
  EXPECT_TRUE(data.packed());

  std::filesystem::remove(dir.file("out.h5"));
  r = megasft(dir, base + " --template llama3 --on-bad-row fail");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in.jsonl:3: bad row (--on-bad-row fail): invalid JSON"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.h5")));

  r = megasft(dir, base + " --template llama3 --pack");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--pack needs --max-length"), std::string::npos) << r.err;
  r = megasft(dir, base + " --template qwen2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = megasft(dir, base + " --template mistral");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown chat template 'mistral'"), std::string::npos) << r.err;
  r = megasft(dir, base);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--template llama3|llama3.1|qwen2 is required"), std::string::npos) << r.err;
}

// GRPO's prompt files from make-demo-data: the same problems as the token datasets with the number of
// each answer's \boxed{} as the gold answer, and RL prompts that are in neither split.
TEST(MakeDemoDataCommand, WritesPromptFilesForGrpo) {
  TempDir dir;
  auto r = megasft(dir, "make-demo-data --output " + dir.file("train.h5") + " --heldout " + dir.file("heldout.h5") +
                            " --samples 50 --heldout-samples 20 --seed 9 --prompts-jsonl " + dir.file("train.jsonl") +
                            " --heldout-prompts-jsonl " + dir.file("heldout.jsonl") + " --rl-prompts-jsonl " +
                            dir.file("rl.jsonl") + " --rl-prompts 30");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = [&](const std::string& name) {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_all(dir.file(name)));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  };
  const auto train = rows("train.jsonl"), heldout = rows("heldout.jsonl"), rl = rows("rl.jsonl");
  ASSERT_EQ(train.size(), 50u);
  ASSERT_EQ(heldout.size(), 20u);
  ASSERT_EQ(rl.size(), 30u);
  const auto problems = generate_arithmetic_problems(9, 50);
  for (size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(train[i]["prompt"], problems[i].prompt);
    const std::string boxed = "\\boxed{" + train[i]["answer"].get<std::string>() + "}";
    EXPECT_NE(problems[i].answer.find(boxed), std::string::npos) << problems[i].answer;
  }
  std::set<std::string> seen;
  for (const auto& row : train) seen.insert(row["prompt"]);
  for (const auto& row : heldout) EXPECT_TRUE(seen.insert(row["prompt"]).second) << row.dump();
  for (const auto& row : rl) EXPECT_TRUE(seen.insert(row["prompt"]).second) << row.dump();
}

}  // namespace
}  // namespace megasft::data
