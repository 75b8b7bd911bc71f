// Case "hf_model": tiny Hugging Face checkpoints (tests/model/tiny_checkpoint.h) loaded at this TP
// size, each rank reading only its slices. The gathered logits must equal the float64 reference;
// every parameter's gradient must equal the matching rows/columns of the TP = 1 model's gradient
// (through the HF names, so fused q|k|v and gate|up are compared block by block), and the gradient
// norm must match. The Qwen2 checkpoint has one KV head: at TP = 2 and 4 that head is shared, which
// exercises the all-gather of its k/v activations and the reduce-scatter that sums its gradients.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "megasft/checkpoint/hf_import.h"
#include "megasft/checkpoint/hf_layout.h"
#include "megasft/model/hf_config.h"
#include "megasft/objectives/vocab_parallel_loss.h"
#include "megasft/optim/adamw.h"
#include "megasft/optim/distributed_optimizer.h"
#include "tests/model/tiny_reference.h"
#include "tests/parallel/worker_context.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

struct Step {
  at::Tensor logits;  // [T, vocab] gathered, no padding
  double clip_norm = 0, optimizer_norm = 0;
};

Step run(const model::LlamaModel& m, const parallel::ParallelState& state, const at::Tensor& ids,
         const at::Tensor& targets) {
  const auto& tp = m.tensor_group();
  auto logits = m.lm_head_logits(m.head_input(m.forward(ids)));  // [T, V_local]
  objectives::ObjectiveOptions ce;
  ce.kind = objectives::ObjectiveKind::kCrossEntropy;
  auto terms = objectives::vocab_parallel_objective(logits, targets, m.vocab_shard(), tp, ce);
  (terms.token_loss.sum() / terms.supervised.sum()).backward();
  Step step;
  auto gathered = tp->all_gather(logits.detach().contiguous());  // [tp, T, V_local]
  step.logits = at::cat(gathered.unbind(0), 1).narrow(1, 0, m.config().vocab_size);
  step.clip_norm = optim::clip_grad_norm(m.parameters(), /*max_norm=*/0, tp);
  // The distributed optimizer's norm (it takes the gradients; lr 0 leaves the weights unchanged).
  std::vector<at::Tensor> grads;
  for (const auto& p : m.parameters()) grads.push_back(p.value.grad().clone());
  optim::DistributedOptimizer optimizer(m.parameters(), state, {});
  optimizer.accumulate_gradients();
  step.optimizer_norm = optimizer.step(/*lr=*/0, /*max_norm=*/0);
  for (size_t i = 0; i < grads.size(); ++i) m.parameters()[i].value.mutable_grad() = grads[i];
  return step;
}

// The TP = 1 model's gradients under their Hugging Face names.
std::map<std::string, at::Tensor> hf_gradients(const model::LlamaModel& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.parameters())
    for (const auto& piece : checkpoint::hf_pieces(p, m.config(), 0, 1))
      out[piece.tensor] = p.value.grad().narrow(piece.dim, piece.param_offset, piece.length);
  return out;
}

// sequence_parallel: the parallel model runs with Megatron's sequence parallelism (its norms'
// gradients are then partial sums over TP, which the test adds up before comparing).
void check(WorkerContext& ctx, const TinyModelSpec& spec, const std::string& label,
           int64_t divisible_by, bool sequence_parallel = false) {
  const std::string dir =
      std::filesystem::temp_directory_path() /
      ("megasft_hf_worker_" + std::to_string(::getpid()) + "_" + std::to_string(spec.seed));
  auto weights = write_tiny_checkpoint(dir, spec);  // every rank its own copy of the same files
  auto config = model::read_hf_config(dir + "/config.json");
  config.make_vocab_size_divisible_by = divisible_by;
  checkpoint::HfCheckpoint files(dir);

  model::LlamaModel parallel_model(config, ctx.tp(), model::PipelineStage::whole(config.num_layers),
                                   sequence_parallel);
  checkpoint::load_hf_weights(parallel_model, files);
  auto single = parallel::ParallelState::single_process();
  model::LlamaModel single_model(config, single->tensor());
  checkpoint::load_hf_weights(single_model, files);
  std::filesystem::remove_all(dir);

  auto gen = seeded(700 + spec.seed);
  constexpr int64_t kSeq = 12;  // a multiple of every TP size, for sequence parallelism
  auto ids = at::randint(0, spec.vocab_size, {2, kSeq}, gen, at::kLong);
  auto targets = at::randint(0, spec.vocab_size, {2 * kSeq}, gen, at::kLong);
  targets[5] = objectives::kIgnoreIndex;
  Step got = run(parallel_model, *ctx.state, ids, targets);
  Step want = run(single_model, *single, ids, targets);

  for (int64_t b = 0; b < 2; ++b) {
    auto reference = reference_logits(weights, spec, ids[b]);
    ctx.expect(mismatch(label + "logits of sequence " + std::to_string(b),
                        got.logits.narrow(0, b * kSeq, kSeq), reference, 1e-5,
                        1e-5 * reference.abs().max().item<double>()));
  }
  // A packed row: conversations of 5 and 7 tokens with position ids restarting, each computed as if
  // alone.
  {
    at::NoGradGuard no_grad;
    auto positions =
        at::cat({at::arange(5, at::kLong), at::arange(kSeq - 5, at::kLong)}).unsqueeze(0);
    auto packed = parallel_model.lm_head_logits(
        parallel_model.head_input(parallel_model.forward(ids.narrow(0, 0, 1), positions)));
    auto all = at::cat(ctx.tp()->all_gather(packed.contiguous()).unbind(0), 1)
                   .narrow(1, 0, config.vocab_size);
    auto expected = at::cat({reference_logits(weights, spec, ids[0].narrow(0, 0, 5)),
                             reference_logits(weights, spec, ids[0].narrow(0, 5, kSeq - 5))});
    ctx.expect(mismatch(label + "packed row logits", all, expected, 1e-5,
                        1e-5 * expected.abs().max().item<double>()));
  }
  auto same_norm = [&](double a, double b, const std::string& what) {
    ctx.expect_true(std::abs(a - b) <= 1e-5 * b,
                    label + what + " " + std::to_string(a) + " vs TP=1 " + std::to_string(b));
  };
  same_norm(got.optimizer_norm, want.optimizer_norm, "distributed optimizer norm");
  if (!sequence_parallel) {  // clip_grad_norm does not sum sequence-parallel partial gradients
    same_norm(got.clip_norm, want.clip_norm, "clip_grad_norm");
    same_norm(got.optimizer_norm, got.clip_norm, "distributed optimizer norm vs clip_grad_norm");
  }

  const auto full = hf_gradients(single_model);
  for (const auto& p : parallel_model.parameters()) {
    auto grad = p.value.grad().clone();
    if (p.sequence_parallel) ctx.tp()->all_reduce(grad, parallel::ReduceOp::kSum);
    auto covered = at::zeros_like(grad, at::kBool);
    // The tolerance scales with the whole parameter's gradient: k_proj's bias alone has a gradient
    // that is zero in exact arithmetic (softmax ignores a shift shared by a query's scores), so
    // only noise.
    double scale = 0;
    for (const auto& t : checkpoint::hf_tensors_of(p, config))
      scale = std::max(scale, full.at(t.name).abs().max().item<double>());
    for (const auto& piece : checkpoint::hf_pieces(p, config, ctx.rank, ctx.size)) {
      const auto& expected =
          full.at(piece.tensor).narrow(piece.dim, piece.tensor_offset, piece.length);
      ctx.expect(mismatch(label + "grad of " + piece.tensor + " in " + p.name,
                          grad.narrow(piece.dim, piece.param_offset, piece.length), expected, 1e-4,
                          1e-5 * scale + 1e-9));
      covered.narrow(piece.dim, piece.param_offset, piece.length).fill_(true);
    }
    // Vocabulary padding: zero weights and zero gradients.
    ctx.expect_true(
        p.value.detach().masked_select(covered.logical_not()).abs().sum().item<double>() == 0,
        label + p.name + ": padding rows are not zero");
    ctx.expect_true(grad.masked_select(covered.logical_not()).abs().sum().item<double>() == 0,
                    label + p.name + ": padding rows have a gradient");
  }
}

}  // namespace

void run_hf_model_case(WorkerContext& ctx) {
  check(ctx, tiny_llama_spec(), "tiny Llama: ", 128);
  check(ctx, tiny_qwen2_spec(),
        "tiny Qwen2 (1 KV head): ", 1);  // 53 rows: partial last shards at TP 2, 4
  auto untied = tiny_llama_spec();
  untied.tied = false;
  untied.num_kv_heads = 1;
  untied.seed = 13;
  check(ctx, untied, "untied Llama (1 KV head): ", 4);
  check(ctx, tiny_qwen2_spec(), "tiny Qwen2 (1 KV head), sequence parallel: ", 1, true);
}

}  // namespace megasft::testing
