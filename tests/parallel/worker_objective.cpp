// Case "objective": vocab_parallel_objective on vocabulary shards with padding (V = 17 does not
// split evenly; with 4 ranks the last shard is all padding) against the float64 reference on the full
// logits: per-token terms on every rank, and this rank's slice of the analytic gradient.
#include <algorithm>
#include <string>

#include "megasft/objectives/vocab_parallel_loss.h"
#include "tests/parallel/worker_context.h"
#include "tests/support/objective_reference.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

using objectives::ObjectiveKind;

constexpr int64_t kVocab = 17, kTokens = 20;
constexpr double kRtol = 1e-5, kAtol = 1e-6;

void check_objective(WorkerContext& ctx, ObjectiveKind kind, int k) {
  const std::string label = objectives::objective_kind_name(kind) + " k=" + std::to_string(k) + ": ";
  // One padding column beyond ceil(V / tp) on every shard, so each rank has some.
  const int64_t local_cols = (kVocab + ctx.size - 1) / ctx.size + 1;
  const int64_t start = ctx.rank * local_cols;
  const model::VocabShard shard{start, local_cols, std::clamp<int64_t>(kVocab - start, 0, local_cols), kVocab};

  auto gen = seeded(500 + 10 * static_cast<int>(kind) + k);
  auto logits = (at::randn({kTokens, kVocab}, gen, at::kDouble) * 2.5).to(at::kFloat);
  auto targets = at::randint(0, kVocab, {kTokens}, gen, at::kLong);
  targets[0] = 0;  // the first and last ids, and one in the middle, always occur
  targets[1] = kVocab - 1;
  targets[2] = kVocab / 2;
  for (int64_t t = 4; t < kTokens; t += 5) targets[t] = kIgnore;
  auto weights = at::rand({kTokens}, gen, at::kDouble).add(0.5);

  const double lambda = 0.9;
  auto s = reference_terms(logits, targets, ObjectiveKind::kSedNoMask, k, lambda, 0).topk_sum;
  const double tau = tau_between(s, targets, 0.5);  // about half of the tokens penalised
  auto ref = reference_terms(logits, targets, kind, k, lambda, tau);
  if (kind == ObjectiveKind::kSed) {
    const double masked = ref.mask.sum().item<double>();
    ctx.expect_true(masked >= 4 && masked <= 12, label + "the mask should cover about half the tokens");
  }

  // This rank's columns of the padded logits; padding holds huge values that must never be used.
  auto padded = at::full({kTokens, local_cols * ctx.size}, 1e30f);
  padded.narrow(1, 0, kVocab).copy_(logits);
  auto local = padded.narrow(1, start, local_cols).clone().requires_grad_(true);

  objectives::ObjectiveOptions options;
  options.kind = kind;
  options.top_k = k;
  options.sed_lambda = lambda;
  options.tau = tau;
  auto terms = objectives::vocab_parallel_objective(local, targets, shard, ctx.tp(), options);
  (terms.token_loss * weights.to(at::kFloat)).sum().backward();

  ctx.expect(mismatch(label + "token_loss", terms.token_loss, ref.loss, kRtol, kAtol));
  ctx.expect(mismatch(label + "ce", terms.ce, ref.ce, kRtol, kAtol));
  ctx.expect(mismatch(label + "penalty", terms.penalty, ref.penalty, kRtol, kAtol));
  ctx.expect(mismatch(label + "p_target", terms.p_target, ref.p_target, kRtol, kAtol));
  ctx.expect(mismatch(label + "topk_sum", terms.topk_sum, ref.topk_sum, kRtol, kAtol));
  ctx.expect(mismatch(label + "mask", terms.mask, ref.mask, 0, 0));
  ctx.expect(mismatch(label + "correct", terms.correct, ref.correct, 0, 0));

  auto grad_full = at::zeros({kTokens, local_cols * ctx.size}, at::kDouble);
  grad_full.narrow(1, 0, kVocab).copy_(reference_grad(ref, targets, weights));
  ctx.expect(mismatch(label + "local logits grad", local.grad(), grad_full.narrow(1, start, local_cols),
                      kRtol, kAtol));
}

}  // namespace

void run_objective_case(WorkerContext& ctx) {
  for (int k : {2, 5})
    for (auto kind : {ObjectiveKind::kCrossEntropy, ObjectiveKind::kSed, ObjectiveKind::kSedNoMask})
      check_objective(ctx, kind, k);
}

}  // namespace megasft::testing
