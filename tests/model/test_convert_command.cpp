// `megasft convert` under megasft-run: the round trip through megasft's sharded model reproduces
// every tensor bit for bit in its dtype at TP = 1, 2 and with two pipeline stages, and copies
// config.json, generation_config.json and the tokenizer; a bad folder fails naming the file and
// what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "megasft/checkpoint/hf_checkpoint.h"
#include "tests/model/command_runner.h"
#include "tests/model/tiny_checkpoint.h"

namespace megasft::testing {
namespace {

namespace fs = std::filesystem;

at::Tensor bits(const at::Tensor& t) {
  switch (c10::elementSize(t.scalar_type())) {
    case 2:
      return t.view(at::kShort);
    case 4:
      return t.view(at::kInt);
    default:
      return t.view(at::kLong);
  }
}

void expect_same_checkpoint(const std::string& a, const std::string& b, const std::string& label) {
  checkpoint::HfCheckpoint from(a), to(b);
  ASSERT_EQ(from.tensor_names(), to.tensor_names()) << label;
  for (const auto& name : from.tensor_names()) {
    auto x = from.read(name), y = to.read(name);
    ASSERT_EQ(x.scalar_type(), y.scalar_type()) << label << ": " << name;
    ASSERT_EQ(x.sizes(), y.sizes()) << label << ": " << name;
    EXPECT_TRUE(at::equal(bits(x), bits(y))) << label << ": " << name << " differs";
  }
  for (const char* file : {"config.json", "generation_config.json", "tokenizer.json"})
    EXPECT_EQ(file_text(a + "/" + file), file_text(b + "/" + file)) << label << ": " << file;
}

TEST(ConvertCommand, RoundTripIsBitExactAtEveryLayout) {
  ScratchDir dir;
  auto llama = tiny_llama_spec();  // bf16 weights, fp32 norms, sharded, tied
  auto qwen = tiny_qwen2_spec();   // fp32, biases, one KV head
  auto fp16 = tiny_llama_spec();
  fp16.dtype = at::kHalf;
  fp16.tied = false;
  fp16.sharded = false;
  write_tiny_checkpoint(dir.file("llama"), llama);
  write_tiny_checkpoint(dir.file("qwen"), qwen);
  write_tiny_checkpoint(dir.file("fp16"), fp16);
  struct Case {
    std::string model;
    int nproc;
    std::vector<std::string> extra;
  };
  for (const auto& c : std::vector<Case>{{"llama", 1, {}},
                                         {"llama", 2, {}},
                                         {"qwen", 2, {}},
                                         {"fp16", 2, {"--pp", "2"}},
                                         {"llama", 2, {"--pp", "2"}}}) {
    const std::string label =
        c.model + " nproc " + std::to_string(c.nproc) + (c.extra.empty() ? "" : " pp 2");
    const std::string out =
        dir.file(c.model + "-out-" + std::to_string(c.nproc) + (c.extra.empty() ? "" : "-pp"));
    std::vector<std::string> args = {"convert", "--from-hf", dir.file(c.model), "--to-hf", out};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    auto result = run_megasft(c.nproc, args, dir);
    ASSERT_EQ(result.exit_code, 0) << label << "\n" << output_of(result);
    expect_same_checkpoint(dir.file(c.model), out, label);
    EXPECT_EQ(fs::exists(out + "/model.safetensors.index.json"), !c.extra.empty()) << label;
  }
}

TEST(ConvertCommand, BadFoldersAreNamed) {
  ScratchDir dir;
  auto spec = tiny_qwen2_spec();
  auto expect_failure = [&](const std::string& model, const std::vector<std::string>& parts) {
    auto result = run_megasft(1, {"convert", "--from-hf", model, "--to-hf", dir.file("out")}, dir);
    EXPECT_NE(result.exit_code, 0) << output_of(result);
    for (const auto& part : parts)
      EXPECT_NE(result.err.find(part), std::string::npos) << part << "\n" << output_of(result);
  };
  write_tiny_checkpoint(dir.file("arch"), spec);
  auto config = nlohmann::json::parse(file_text(dir.file("arch/config.json")));
  config["architectures"] = {"GPT2LMHeadModel"};
  std::ofstream(dir.file("arch/config.json")) << config.dump();
  expect_failure(dir.file("arch"), {"arch/config.json", "architecture 'GPT2LMHeadModel'"});

  write_tiny_checkpoint(dir.file("cut"), spec);
  fs::resize_file(dir.file("cut/model.safetensors"),
                  fs::file_size(dir.file("cut/model.safetensors")) - 100);
  expect_failure(dir.file("cut"), {"cut/model.safetensors", "truncated"});

  spec.tied = true;  // config.json says untied below, so lm_head.weight is missing
  write_tiny_checkpoint(dir.file("missing"), spec);
  config = nlohmann::json::parse(file_text(dir.file("missing/config.json")));
  config["tie_word_embeddings"] = false;
  std::ofstream(dir.file("missing/config.json")) << config.dump();
  expect_failure(dir.file("missing"),
                 {"tensor 'lm_head.weight' not found", "missing/model.safetensors"});
}

}  // namespace
}  // namespace megasft::testing
