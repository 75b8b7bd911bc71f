// The planner's parameter count against the real model: each stage of one rank's shard of
// model::LlamaModel, built on the meta device, must hold exactly the parameters (names, sizes,
// order) and bytes the planner counts, for Llama-3.1-8B, Llama-3.1-70B and Qwen2.5-7B shapes, tied
// or not.
#include <gtest/gtest.h>

#include <string>

#include "kernels/check.h"
#include "megasft/plan/dry_run.h"
#include "megasft/plan/memory_model.h"
#include "megasft/plan/model_source.h"
#include "megasft/plan/parameter_count.h"

namespace megasft::plan {
namespace {

model::ModelConfig shape(const std::string& name, bool tied = false) {
  auto c = read_model_source(std::string(MEGASFT_SOURCE_DIR) + "/configs/models/" + name + ".cfg");
  c.tie_word_embeddings = tied;
  return c;
}

Layout layout(int tp, int pp, int dp) {
  Layout l;
  l.tp = tp;
  l.pp = pp;
  l.dp = dp;
  return l;
}

// Every stage of every layout: the dry run's list equals the planner's, and so do bytes in bf16 and
// fp32 (the planner's weights term of the memory model, which is what a fit is decided on).
void expect_exact(const model::ModelConfig& c, Layout l, int tp_rank = 0) {
  l.pipeline_layers = split_layers(c.num_layers, l.pp);
  PlanOptions bf16, fp32;
  bf16.global_batch = fp32.global_batch = l.dp;
  bf16.seq_len = fp32.seq_len = 16;
  fp32.params_dtype = "fp32";
  const auto stages = dry_run(c, l, at::kBFloat16, tp_rank);
  const auto stages32 = dry_run(c, l, at::kFloat, tp_rank);
  ASSERT_EQ(static_cast<int>(stages.size()), l.pp);
  for (int s = 0; s < l.pp; ++s) {
    SCOPED_TRACE(l.to_string() + ", stage " + std::to_string(s) + ", TP rank " +
                 std::to_string(tp_rank));
    const auto planned = stage_parameters(c, l.tp, stages[s].range);
    ASSERT_EQ(planned.size(), stages[s].parameters.size());
    for (size_t i = 0; i < planned.size(); ++i) {
      EXPECT_EQ(planned[i].name, stages[s].parameters[i].name);
      EXPECT_EQ(planned[i].numel, stages[s].parameters[i].numel) << planned[i].name;
    }
    EXPECT_EQ(total_numel(planned), stages[s].elements);
    EXPECT_EQ(stage_memory(c, l, s, bf16, 0).weights, static_cast<double>(stages[s].bytes));
    EXPECT_EQ(stage_memory(c, l, s, fp32, 0).weights, static_cast<double>(stages32[s].bytes));
    EXPECT_EQ(stages32[s].bytes, 2 * stages[s].bytes);
  }
}

TEST(PlanParameterCount, Llama31_8B) {
  const auto c = shape("llama-3.1-8b");
  EXPECT_EQ(c.num_parameters(), 8030261248);  // Hugging Face's count for Llama-3.1-8B
  for (auto l :
       {layout(1, 1, 1), layout(2, 4, 2), layout(8, 1, 1), layout(4, 3, 2), layout(1, 32, 1)})
    expect_exact(c, l);
}

TEST(PlanParameterCount, Llama31_70B) {
  const auto c = shape("llama-3.1-70b");
  EXPECT_EQ(c.num_parameters(), 70553706496);
  for (auto l :
       {layout(1, 1, 1), layout(8, 4, 2), layout(8, 8, 1), layout(4, 16, 1), layout(8, 6, 1)})
    expect_exact(c, l);
}

TEST(PlanParameterCount, Qwen25_7B) {
  const auto c = shape("qwen2.5-7b");
  EXPECT_EQ(c.num_parameters(), 7615616512);  // Qwen2.5-7B's 7.61 B, q/k/v biases included
  for (auto l :
       {layout(1, 1, 1), layout(2, 4, 1), layout(4, 7, 1), layout(4, 8, 2), layout(2, 3, 1)})
    expect_exact(c, l);
}

TEST(PlanParameterCount, TiedEmbeddingsLiveOnFirstAndLastStage) {
  for (const char* name : {"llama-3.1-8b", "qwen2.5-7b"}) {
    const auto tied = shape(name, true), untied = shape(name, false);
    for (auto l : {layout(1, 1, 1), layout(2, 4, 1), layout(4, 2, 1)}) {
      expect_exact(tied, l);
      l.pipeline_layers = split_layers(tied.num_layers, l.pp);
      // Under PP the last stage holds its own copy of the embedding shard in place of lm_head: the
      // same size.
      const auto last =
          model::PipelineStage::split(tied.num_layers, l.pp - 1, l.pp, l.pipeline_layers);
      if (l.pp > 1)
        EXPECT_EQ(total_numel(stage_parameters(tied, l.tp, last)),
                  total_numel(stage_parameters(untied, l.tp, last)));
      else
        EXPECT_EQ(total_numel(stage_parameters(untied, l.tp, last)) -
                      total_numel(stage_parameters(tied, l.tp, last)),
                  tied.padded_vocab_size(l.tp) / l.tp * tied.hidden_size);
    }
  }
}

TEST(PlanParameterCount, EveryTensorParallelRankHoldsTheSameShard) {
  const auto c = shape("llama-3.1-70b");
  for (int rank = 0; rank < 8; ++rank) expect_exact(c, layout(8, 2, 1), rank);
  const auto q = shape("qwen2.5-7b");
  for (int rank = 0; rank < 4; ++rank) expect_exact(q, layout(4, 2, 1), rank);
}

TEST(PlanParameterCount, PaddedVocabularyAndShardedKvHeads) {
  auto c = shape("qwen2.5-7b");
  c.num_key_value_heads = 2;  // TP 4 > 2 KV heads: each head's rows shared by two ranks
  expect_exact(c, layout(4, 1, 1));
  auto odd = shape("llama-3.1-8b");
  odd.vocab_size = 128001;  // padded to a multiple of 128 x TP
  expect_exact(odd, layout(8, 2, 1));
  EXPECT_EQ(odd.padded_vocab_size(8) % (128 * 8), 0);
}

TEST(PlanParameterCount, OptimizerShardFollowsTheBucketWalk) {
  // Three parameters and buckets of 1 MiB (262144 fp32 elements): the first two close one bucket,
  // the third closes the last; each is padded to a multiple of DP and split into DP equal shards.
  const std::vector<ShardParameter> p = {{"a", 200000}, {"b", 100001}, {"c", 7}};
  const auto shard = distributed_optimizer_shard(p, 4, 1.0);
  EXPECT_EQ(shard.flat_elements, 300004 + 8);
  EXPECT_EQ(shard.owned_elements, 300004 / 4 + 8 / 4);
  EXPECT_EQ(shard.largest_bucket, 300004);
  const auto one = distributed_optimizer_shard(p, 1, 32);
  EXPECT_EQ(one.flat_elements, 300008);
  EXPECT_EQ(one.owned_elements, 300008);
}

TEST(PlanParameterCount, DryRunErrorsNameTheText) {
  EXPECT_THROW(parse_layout("2,4", 32), Error);
  EXPECT_THROW(parse_layout("2,x,1", 32), Error);
  EXPECT_THROW(parse_layout("1,64,1", 32), Error);
  const auto l = parse_layout("2,3,4", 32);
  EXPECT_EQ(l.pipeline_layers, (std::vector<int64_t>{10, 11, 11}));
}

}  // namespace
}  // namespace megasft::plan
