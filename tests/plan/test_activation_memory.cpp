// The activation tally against what LibTorch really keeps: the heap's live bytes (glibc's
// mallinfo2, which counts every tensor LibTorch's CPU allocator holds) after a stage's forward,
// before backward.
#include <gtest/gtest.h>
#include <malloc.h>

#include "megasft/model/llama_model.h"
#include "megasft/plan/activation_memory.h"
#include "megasft/plan/memory_model.h"
#include "parallel/communicator.h"

namespace megasft::plan {
namespace {

double live_heap_bytes() {
  const auto info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

model::ModelConfig small(int64_t hidden, int64_t intermediate, int64_t heads, int64_t kv_heads) {
  model::ModelConfig c;
  c.vocab_size = 96;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_layers = 2;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.max_position_embeddings = 1024;
  c.rope_theta = 10000;
  c.make_vocab_size_divisible_by = 8;
  return c;
}

// A middle stage (no embedding, no head) of two layers: live bytes kept by its forward, without the
// output, against two layers' tally. In fp32 the first norm's "copy" is the stage input, allocated
// before.
void expect_tally(const model::ModelConfig& c, int64_t batch, int64_t seq, bool bf16,
                  bool recompute) {
  SCOPED_TRACE("h " + std::to_string(c.hidden_size) + " heads " +
               std::to_string(c.num_attention_heads) + "/" + std::to_string(c.num_key_value_heads) +
               " b " + std::to_string(batch) + " s " + std::to_string(seq) +
               (bf16 ? " bf16" : " fp32") + (recompute ? " recompute" : ""));
  auto group = parallel::make_single_rank_communicator("tp", 0);
  model::LlamaModel stage(c, group, {0, c.num_layers, false, false});
  stage.set_activation_recompute(recompute);
  const auto dtype = bf16 ? at::kBFloat16 : at::kFloat;
  for (const auto& p : stage.parameters()) p.value.set_data(p.value.detach().to(dtype));
  auto input = at::randn({batch, seq, c.hidden_size}).to(dtype).requires_grad_(true);

  const double before = live_heap_bytes();
  auto output = stage.forward(input);
  const double kept = live_heap_bytes() - before - output.numel() * output.element_size();

  const MicroBatchShape shape{batch, seq, bf16 ? 2 : 4, 1, false};
  const auto layer = layer_activations(c, shape);
  const double input_bytes = static_cast<double>(input.numel() * input.element_size());
  double expected = recompute ? (c.num_layers - 1) * layer.input
                              : c.num_layers * layer.saved() - (bf16 ? 0 : input_bytes);
  EXPECT_NEAR(kept / expected, 1.0, 0.05) << "kept " << kept << " B, tally " << expected << " B";
}

TEST(PlanActivationMemory, TallyMatchesTheLiveHeapAfterForward) {
  for (bool bf16 : {false, true}) {
    expect_tally(small(128, 384, 4, 2), 8, 192, bf16, false);  // the demo's shape (GQA)
    expect_tally(small(256, 768, 8, 8), 4, 256, bf16, false);  // no GQA
    expect_tally(small(256, 704, 8, 2), 2, 512, bf16,
                 false);  // long sequence: the softmax dominates
    expect_tally(small(128, 384, 4, 2), 8, 192, bf16, true);  // recompute keeps the layer inputs
  }
}

TEST(PlanActivationMemory, SequenceParallelSplitsOnlyWhatLivesBetweenLinears) {
  const auto c = small(4096, 14336, 32, 8);
  const auto plain = layer_activations(c, {1, 4096, 2, 4, false});
  const auto sp = layer_activations(c, {1, 4096, 2, 4, true});
  EXPECT_DOUBLE_EQ(sp.norms, plain.norms / 4);
  EXPECT_DOUBLE_EQ(sp.attention, plain.attention);  // the gathered linear inputs are kept whole
  EXPECT_DOUBLE_EQ(sp.mlp, plain.mlp);
  EXPECT_DOUBLE_EQ(sp.input, plain.input / 4);
  // Megatron keeps less (no fp32 norm copies, no separate q/k/v copies), with SP everything / t.
  EXPECT_LT(megatron_layer_bytes(c, {1, 4096, 2, 4, true}, false), sp.saved());
  EXPECT_DOUBLE_EQ(megatron_layer_bytes(c, {1, 4096, 2, 4, false}, true), 2.0 * 4096 * 4096);
}

TEST(PlanActivationMemory, OneFOneBKeepsMoreMicroBatchesOnEarlierStages) {
  auto c = small(1024, 2816, 8, 4);
  c.num_layers = 8;
  Layout l;
  l.pp = 4;
  l.pipeline_layers = {2, 2, 2, 2};
  PlanOptions o;
  o.seq_len = 512;
  o.global_batch = 16;
  for (int s = 0; s < 4; ++s) EXPECT_EQ(stage_memory(c, l, s, o, 0).in_flight, 4 - s);
  o.global_batch = 2;  // fewer micro-batches than stages: at most M in flight
  EXPECT_EQ(stage_memory(c, l, 0, o, 0).in_flight, 2);
  o.global_batch = 16;
  auto with_recompute = l;
  with_recompute.recompute = true;
  EXPECT_LT(stage_memory(c, with_recompute, 1, o, 0).activations_per_micro_batch,
            stage_memory(c, l, 1, o, 0).activations_per_micro_batch / 10);
}

}  // namespace
}  // namespace megasft::plan
