// Case "model": a tiny LlamaModel on the TP group must compute what the same model on one process
// computes (built in this worker with ParallelState::single_process() from the same seed): per-token
// CE, every parameter's gradient (replicated ones equal, sharded ones the slice of the full gradient)
// and the global gradient norm. Untied and tied embeddings; the padded vocabulary leaves partial shards.
#include <string>

#include "megasft/model/llama_model.h"
#include "megasft/objectives/vocab_parallel_loss.h"
#include "megasft/optim/adamw.h"
#include "tests/parallel/worker_context.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

struct Result {
  at::Tensor ce;
  double grad_norm = 0;
};

// Forward, per-token CE through the vocab-parallel objective, backward of the mean.
Result train_step(const model::LlamaModel& m, const at::Tensor& ids, const at::Tensor& targets,
                  const parallel::CommunicatorPtr& tp) {
  auto head_input = m.head_input(m.forward(ids));  // [tokens, H] inside the TP region
  objectives::ObjectiveOptions ce;
  ce.kind = objectives::ObjectiveKind::kCrossEntropy;
  auto terms = objectives::vocab_parallel_objective(m.lm_head_logits(head_input), targets, m.vocab_shard(), tp, ce);
  (terms.token_loss.sum() / terms.supervised.sum()).backward();
  return {terms.ce.detach(), optim::clip_grad_norm(m.parameters(), /*max_norm=*/0, tp)};
}

// What this rank's shard of `name` should be, from the single-process gradient.
at::Tensor expected_shard(const parallel::Parameter& p, const at::Tensor& full, const model::ModelConfig& c,
                          int rank, int size) {
  if (!p.is_tensor_parallel()) return full;
  const int64_t dim = p.partition_dim;
  at::Tensor padded = full;
  if (p.full_shape[dim] > full.size(dim)) {  // the vocabulary, padded further at this TP size
    auto shape = full.sizes().vec();
    shape[dim] = p.full_shape[dim] - full.size(dim);
    padded = at::cat({full, at::zeros(shape, full.options())}, dim);
  }
  if (p.name.find("qkv_proj") != std::string::npos) {
    const int64_t kv = c.num_key_value_heads * c.head_dim();
    return block_shard_of(padded, dim, {c.num_attention_heads * c.head_dim(), kv, kv}, rank, size);
  }
  if (p.name.find("gate_up_proj") != std::string::npos)
    return block_shard_of(padded, dim, {c.intermediate_size, c.intermediate_size}, rank, size);
  return shard_of(padded, dim, rank, size);
}

void check_model(WorkerContext& ctx, bool tied) {
  model::ModelConfig c;
  c.vocab_size = 37;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = ctx.size == 4 ? 4 : 2;  // TP must divide the KV heads; 2 exercises GQA
  c.max_position_embeddings = 64;
  c.init_std = 0.3;  // large enough that the logits (and so the gradients) are far from uniform
  c.make_vocab_size_divisible_by = 1;  // 37 -> 38 / 40 at TP 2 / 4: partial last shards
  c.tie_word_embeddings = tied;
  const std::string label = tied ? "tied: " : "untied: ";

  auto gen = seeded(600 + tied);
  auto ids = at::randint(0, c.vocab_size, {2, 9}, gen, at::kLong);
  auto targets = at::cat({ids.narrow(1, 1, 8), at::full({2, 1}, objectives::kIgnoreIndex, at::kLong)}, 1).reshape({-1});
  targets[3] = objectives::kIgnoreIndex;

  model::LlamaModel parallel_model(c, ctx.tp());
  parallel_model.initialize(1234);
  auto single = parallel::ParallelState::single_process();
  model::LlamaModel single_model(c, single->tensor());
  single_model.initialize(1234);

  Result got = train_step(parallel_model, ids, targets, ctx.tp());
  Result want = train_step(single_model, ids, targets, single->tensor());
  ctx.expect(mismatch(label + "per-token CE", got.ce, want.ce, 1e-5, 1e-6));
  ctx.expect_true(std::abs(got.grad_norm - want.grad_norm) <= 1e-5 * want.grad_norm,
                  label + "gradient norm " + std::to_string(got.grad_norm) + " vs single-process " +
                      std::to_string(want.grad_norm));

  const auto& mine = parallel_model.parameters();
  const auto& full = single_model.parameters();
  ctx.expect_true(mine.size() == full.size(), label + "parameter count differs from TP=1");
  for (size_t i = 0; i < std::min(mine.size(), full.size()); ++i) {
    ctx.expect_true(mine[i].name == full[i].name, label + "parameter order: " + mine[i].name);
    auto g = full[i].value.grad();
    auto scale = g.abs().max().item<double>();
    ctx.expect(mismatch(label + "grad of " + mine[i].name, mine[i].value.grad(),
                        expected_shard(mine[i], g, c, ctx.rank, ctx.size), 1e-4, 1e-5 * scale));
  }
}

}  // namespace

void run_model_case(WorkerContext& ctx) {
  check_model(ctx, /*tied=*/false);
  check_model(ctx, /*tied=*/true);
}

}  // namespace megasft::testing
