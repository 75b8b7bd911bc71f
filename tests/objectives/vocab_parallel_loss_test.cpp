// vocab_parallel_objective on one process (TP = 1) against the float64 reference of objectives.md
// (tests/support/objective_reference.h): every per-token term, and the autograd gradient of
// sum_t w_t * loss_t against both the analytic formula and central finite differences.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <ostream>
#include <string>
#include <vector>

#include "megasft/objectives/vocab_parallel_loss.h"
#include "parallel/communicator.h"
#include "tests/support/objective_reference.h"
#include "tests/support/tensor_compare.h"

namespace megasft::objectives {
namespace {

using testing::kIgnore;
using testing::mismatch;
using testing::reference_grad;
using testing::reference_terms;

constexpr int64_t kTokens = 24;
constexpr int64_t kVocab = 19;

struct Inputs {
  at::Tensor logits;   // [T, V] float32
  at::Tensor targets;  // [T] int64, every fourth token ignored
  at::Tensor weights;  // [T] float32, upstream gradient of token_loss
};

Inputs make_inputs(uint64_t seed, double scale = 2.5) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Inputs in;
  in.logits = (at::randn({kTokens, kVocab}, gen, at::kDouble) * scale).to(at::kFloat);
  in.targets = at::randint(0, kVocab, {kTokens}, gen, at::kLong);
  for (int64_t t = 3; t < kTokens; t += 4) in.targets[t] = kIgnore;
  in.weights = at::rand({kTokens}, gen, at::kDouble).add(0.5).to(at::kFloat);
  return in;
}

model::VocabShard whole_vocab(int64_t local_cols = kVocab) {
  return model::VocabShard{0, local_cols, kVocab, kVocab};
}

ObjectiveOptions options_for(ObjectiveKind kind, int k, double tau = 0.5, double lambda = 0.8) {
  ObjectiveOptions o;
  o.kind = kind;
  o.top_k = k;
  o.sed_lambda = lambda;
  o.tau = tau;
  return o;
}

// Runs the objective on a leaf copy of `logits`, backpropagates sum(w * token_loss), returns terms
// and the logits' gradient.
std::pair<TokenTerms, at::Tensor> run(const at::Tensor& logits, const at::Tensor& targets,
                                      const at::Tensor& weights, const model::VocabShard& shard,
                                      const ObjectiveOptions& options) {
  auto leaf = logits.detach().clone().requires_grad_(true);
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  TokenTerms terms = vocab_parallel_objective(leaf, targets, shard, tp, options);
  (terms.token_loss * weights).sum().backward();
  return {terms, leaf.grad()};
}

// Central differences of sum_t w_t * loss_t(z) in float64, with the mask held at its value at z.
// Perturbing column j of every row at once is exact because loss_t depends on row t only.
at::Tensor finite_difference_grad(const at::Tensor& logits, const Inputs& in, ObjectiveKind kind, int k,
                                  double lambda, double tau) {
  auto z = logits.to(at::kDouble);
  auto mask = reference_terms(z, in.targets, kind, k, lambda, tau).mask;
  auto w = in.weights.to(at::kDouble);
  const double h = 1e-5;
  auto grad = at::zeros_like(z);
  for (int64_t j = 0; j < z.size(1); ++j) {
    auto plus = z.clone(), minus = z.clone();
    plus.select(1, j).add_(h);
    minus.select(1, j).sub_(h);
    auto lp = reference_terms(plus, in.targets, kind, k, lambda, tau, mask).loss;
    auto lm = reference_terms(minus, in.targets, kind, k, lambda, tau, mask).loss;
    grad.select(1, j).copy_(w * (lp - lm) / (2 * h));
  }
  return grad;
}

struct Param {
  ObjectiveKind kind;
  int k;
};
void PrintTo(const Param& p, std::ostream* os) { *os << objective_kind_name(p.kind) << " k=" << p.k; }

class ObjectiveVsReference : public ::testing::TestWithParam<Param> {};

TEST_P(ObjectiveVsReference, TermsAndGradientMatchFloat64) {
  const auto [kind, k] = GetParam();
  Inputs in = make_inputs(1000 + 10 * static_cast<int>(kind) + k);
  // tau strictly between two supervised S values near the median: about half the tokens penalised.
  auto s_ref = reference_terms(in.logits, in.targets, ObjectiveKind::kSedNoMask, k, 0.8, 0).topk_sum;
  const double tau = testing::tau_between(s_ref, in.targets, 0.5);
  const double lambda = 0.8;
  auto ref = reference_terms(in.logits, in.targets, kind, k, lambda, tau);
  if (kind == ObjectiveKind::kSed) {  // the case must exercise both sides of the mask
    const double masked = ref.mask.sum().item<double>();
    EXPECT_GT(masked, 4);
    EXPECT_LT(masked, kTokens * 3 / 4 - 4);
  }

  auto [terms, grad] = run(in.logits, in.targets, in.weights, whole_vocab(), options_for(kind, k, tau, lambda));
  const double rtol = 1e-5, atol = 1e-6;
  EXPECT_EQ(mismatch("token_loss", terms.token_loss, ref.loss, rtol, atol), "");
  EXPECT_EQ(mismatch("ce", terms.ce, ref.ce, rtol, atol), "");
  EXPECT_EQ(mismatch("penalty", terms.penalty, ref.penalty, rtol, atol), "");
  EXPECT_EQ(mismatch("p_target", terms.p_target, ref.p_target, rtol, atol), "");
  EXPECT_EQ(mismatch("topk_sum", terms.topk_sum, ref.topk_sum, rtol, atol), "");
  EXPECT_EQ(mismatch("mask", terms.mask, ref.mask, 0, 0), "");
  EXPECT_EQ(mismatch("correct", terms.correct, ref.correct, 0, 0), "");
  EXPECT_TRUE(terms.supervised.equal(in.targets.ne(kIgnore)));
  EXPECT_EQ(terms.token_loss.scalar_type(), at::kFloat);

  // (a) the analytic gradient of objectives.md, (b) finite differences of the reference loss.
  auto analytic = reference_grad(ref, in.targets, in.weights);
  auto numeric = finite_difference_grad(in.logits, in, kind, k, lambda, tau);
  ASSERT_TRUE(grad.defined());
  EXPECT_EQ(grad.scalar_type(), at::kFloat);
  EXPECT_EQ(mismatch("grad vs analytic", grad, analytic, rtol, atol), "");
  EXPECT_EQ(mismatch("grad vs finite differences", grad, numeric, rtol, 2e-6), "");
  // The reference formula itself agrees with its own finite differences much more tightly.
  EXPECT_EQ(mismatch("analytic vs finite differences", analytic, numeric, 1e-7, 1e-9), "");
  // Ignored tokens get no gradient at all.
  auto ignored = in.targets.eq(kIgnore);
  EXPECT_EQ(grad.index({ignored}).abs().max().item<float>(), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, ObjectiveVsReference,
    ::testing::Values(Param{ObjectiveKind::kCrossEntropy, 2}, Param{ObjectiveKind::kSed, 2},
                      Param{ObjectiveKind::kSedNoMask, 2}, Param{ObjectiveKind::kSed, 5},
                      Param{ObjectiveKind::kSedNoMask, 1}, Param{ObjectiveKind::kSedNoMask, 25}),
    [](const auto& info) {
      const std::string kind = info.param.kind == ObjectiveKind::kSedNoMask
                                   ? "sed_nomask"
                                   : objective_kind_name(info.param.kind);
      return kind + "_k" + std::to_string(info.param.k);
    });

TEST(ObjectivePadding, HugePaddingColumnsChangeNothing) {
  // Columns past valid_cols are TP padding: they must not enter the max, the sum or the top-k,
  // and their gradient must be exactly 0.
  Inputs in = make_inputs(77);
  const int64_t pad = 5;
  auto padded = at::cat({in.logits, at::full({kTokens, pad}, 1e30f)}, 1);
  auto options = options_for(ObjectiveKind::kSedNoMask, 3);
  auto [plain_terms, plain_grad] = run(in.logits, in.targets, in.weights, whole_vocab(), options);
  auto [pad_terms, pad_grad] = run(padded, in.targets, in.weights, whole_vocab(kVocab + pad), options);
  auto ref = reference_terms(in.logits, in.targets, options.kind, options.top_k, options.sed_lambda, 0);
  EXPECT_EQ(mismatch("padded token_loss", pad_terms.token_loss, ref.loss, 1e-5, 1e-6), "");
  EXPECT_EQ(mismatch("padded topk_sum", pad_terms.topk_sum, ref.topk_sum, 1e-5, 1e-6), "");
  EXPECT_EQ(mismatch("padded correct", pad_terms.correct, ref.correct, 0, 0), "");
  EXPECT_TRUE(pad_terms.token_loss.equal(plain_terms.token_loss));
  EXPECT_EQ(mismatch("padded grad", pad_grad.narrow(1, 0, kVocab),
                     reference_grad(ref, in.targets, in.weights), 1e-5, 1e-6), "");
  EXPECT_TRUE(pad_grad.narrow(1, kVocab, pad).eq(0).all().item<bool>());
}

TEST(ObjectiveDtypes, Bfloat16LogitsAreComputedInFloat32) {
  // The statistics of bf16 logits are those of the bf16 values taken exactly, not bf16 arithmetic;
  // the gradient comes back in the logits' dtype.
  Inputs in = make_inputs(5);
  auto bf16 = in.logits.to(at::kBFloat16);
  auto options = options_for(ObjectiveKind::kSedNoMask, 2);
  auto [terms, grad] = run(bf16, in.targets, in.weights, whole_vocab(), options);
  auto ref = reference_terms(bf16, in.targets, options.kind, options.top_k, options.sed_lambda, 0);
  EXPECT_EQ(terms.token_loss.scalar_type(), at::kFloat);
  EXPECT_EQ(mismatch("bf16 token_loss", terms.token_loss, ref.loss, 1e-5, 1e-6), "");
  EXPECT_EQ(grad.scalar_type(), at::kBFloat16);
  EXPECT_EQ(mismatch("bf16 grad", grad, reference_grad(ref, in.targets, in.weights), 1e-2, 1e-3), "");
}

TEST(ObjectiveLambda, LambdaZeroIsCrossEntropy) {
  Inputs in = make_inputs(6);
  auto [sed, sed_grad] = run(in.logits, in.targets, in.weights, whole_vocab(),
                             options_for(ObjectiveKind::kSedNoMask, 2, 0.5, 0.0));
  auto ref = reference_terms(in.logits, in.targets, ObjectiveKind::kCrossEntropy, 2, 0, 0);
  EXPECT_EQ(mismatch("lambda 0 loss", sed.token_loss, ref.ce, 1e-5, 1e-6), "");
  EXPECT_EQ(mismatch("lambda 0 penalty", sed.penalty, at::zeros({kTokens}), 0, 0), "");
  EXPECT_EQ(mismatch("lambda 0 grad", sed_grad, reference_grad(ref, in.targets, in.weights), 1e-5, 1e-6), "");
}

}  // namespace
}  // namespace megasft::objectives
