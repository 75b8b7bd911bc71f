// The forward of Hugging Face checkpoints loaded into megasft at TP = 1 against the float64
// reference: tiny Llama (llama3 rope scaling, tied, GQA, bf16, sharded files) and Qwen2 (q/k/v
// biases, untied head with rows past the tokenizer, fp32). TP = 2 and 4 run in
// tests/parallel/worker_hf_model.cpp.
#include <gtest/gtest.h>

#include "kernels/check.h"
#include "megasft/checkpoint/hf_import.h"
#include "megasft/model/hf_config.h"
#include "megasft/model/rotary_embedding.h"
#include "parallel/parallel_state.h"
#include "tests/data/temp_dir.h"
#include "tests/model/tiny_reference.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

using data::testing::TempDir;

at::Tensor full_logits(const model::LlamaModel& m, const at::Tensor& ids) {
  at::NoGradGuard no_grad;
  auto logits =
      m.lm_head_logits(m.head_input(m.forward(ids.unsqueeze(0))));  // [S, V_padded] at TP = 1
  return logits.narrow(1, 0, m.config().vocab_size);
}

// 1e-5 relative to the scale of the logits (elementwise relative error is meaningless near zero).
std::string compare_logits(const std::string& what, const at::Tensor& got, const at::Tensor& want) {
  return mismatch(what, got, want, 1e-5, 1e-5 * want.abs().max().item<double>());
}

void check_forward(const TinyModelSpec& spec, const std::string& label) {
  TempDir dir;
  auto weights = write_tiny_checkpoint(dir.file("model"), spec);
  auto config = model::read_hf_config(dir.file("model") + "/config.json");
  auto single = parallel::ParallelState::single_process();
  model::LlamaModel m(config, single->tensor());
  checkpoint::load_hf_weights(m, checkpoint::HfCheckpoint(dir.file("model")));
  auto ids = at::tensor(
      std::vector<int64_t>{3, 17, 0, spec.vocab_size - 1, 8, 8, 25, 1, 40, 5, 12, 30}, at::kLong);
  EXPECT_EQ(compare_logits(label, full_logits(m, ids), reference_logits(weights, spec, ids)), "");

  // The padded vocabulary rows exist, are zero, and are outside the shard's valid columns.
  const auto shard = m.vocab_shard();
  EXPECT_EQ(shard.local_cols, 128);
  EXPECT_EQ(shard.valid_cols, spec.vocab_size);
  EXPECT_EQ(m.lm_head_weight()
                .narrow(0, spec.vocab_size, 128 - spec.vocab_size)
                .abs()
                .max()
                .item<double>(),
            0.0);
}

TEST(HfModel, TinyLlamaMatchesFloat64Reference) {
  check_forward(tiny_llama_spec(), "tiny Llama logits");
}

TEST(HfModel, TinyQwen2MatchesFloat64Reference) {
  check_forward(tiny_qwen2_spec(), "tiny Qwen2 logits");
}

TEST(HfModel, Fp16SingleFileUntiedLlama) {
  auto spec = tiny_llama_spec();
  spec.dtype = at::kHalf;
  spec.sharded = false;
  spec.tied = false;
  spec.llama3_rope = false;
  check_forward(spec, "fp16 Llama logits");
}

TEST(HfModel, RopeFrequenciesFollowLlama3Scaling) {
  auto spec = tiny_llama_spec();
  spec.head_dim = 64;  // enough frequencies to cover all three bands
  TempDir dir;
  write_tiny_checkpoint(dir.file("model"), spec);
  auto config = model::read_hf_config(dir.file("model") + "/config.json");
  EXPECT_EQ(config.rope_scaling.type, "llama3");
  EXPECT_EQ(mismatch("llama3 inverse frequencies", model::rope_inverse_frequencies(config),
                     reference_inv_freq(spec), 1e-6, 0),
            "");
  config.rope_scaling.type = "default";
  spec.llama3_rope = false;
  EXPECT_EQ(mismatch("default inverse frequencies", model::rope_inverse_frequencies(config),
                     reference_inv_freq(spec), 1e-6, 0),
            "");
}

TEST(HfModel, ShapeMismatchAndUnexpectedTensorsAreNamed) {
  TempDir dir;
  write_tiny_checkpoint(dir.file("model"), tiny_qwen2_spec());
  auto config = model::read_hf_config(dir.file("model") + "/config.json");
  auto single = parallel::ParallelState::single_process();
  config.intermediate_size = 64;  // the checkpoint has 48
  model::LlamaModel wrong(config, single->tensor());
  try {
    checkpoint::load_hf_weights(wrong, checkpoint::HfCheckpoint(dir.file("model")));
    FAIL() << "a shape mismatch loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.gate_proj.weight"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json implies [64, 32]"), std::string::npos)
        << e.what();
  }
  config.intermediate_size = 48;
  config.num_layers = 1;  // layer 1's tensors are then unexpected
  model::LlamaModel shorter(config, single->tensor());
  try {
    checkpoint::load_hf_weights(shorter, checkpoint::HfCheckpoint(dir.file("model")));
    FAIL() << "extra tensors loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has tensor 'model.layers.1."), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace megasft::testing
