// The SED-SFT mask M_t = 1[S_t < tau] is a STRICT comparison (objectives.md): a token whose top-k
// sum equals tau is not penalised, one just below is. tau is taken from the float32 path the trainer
// calibrates with (vocab_parallel_topk_sum), so the tie is exact. Also: invalid targets are rejected.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "megasft/objectives/vocab_parallel_loss.h"
#include "parallel/communicator.h"
#include "tests/support/objective_reference.h"

namespace megasft::objectives {
namespace {

constexpr int64_t kVocab = 11;

model::VocabShard shard_of(int64_t vocab, int64_t local_cols) {
  return model::VocabShard{0, local_cols, vocab, vocab};
}

ObjectiveOptions sed(int k, double tau) {
  ObjectiveOptions o;
  o.kind = ObjectiveKind::kSed;
  o.top_k = k;
  o.tau = tau;
  return o;
}

at::Tensor random_logits(uint64_t seed, int64_t tokens) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return (at::randn({tokens, kVocab}, gen, at::kDouble) * 2.0).to(at::kFloat);
}

TEST(SedMaskBoundary, TopkSumEqualToTauIsNotMaskedJustBelowIs) {
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  const int64_t tokens = 16;
  for (int k : {1, 2, 3}) {
    auto logits = random_logits(40 + k, tokens);
    auto targets = at::arange(tokens, at::kLong).remainder(kVocab);
    auto s = vocab_parallel_topk_sum(logits, shard_of(kVocab, kVocab), tp, k);  // float32
    for (int64_t t = 0; t < tokens; ++t) {
      const float tie = s[t].item<float>();
      auto at_tau = vocab_parallel_objective(logits, targets, shard_of(kVocab, kVocab), tp, sed(k, tie));
      EXPECT_EQ(at_tau.topk_sum[t].item<float>(), tie) << "k " << k << " token " << t;
      EXPECT_EQ(at_tau.mask[t].item<float>(), 0.0f)
          << "S_t == tau must not be penalised (strict <): k " << k << " token " << t << " tau " << tie;
      EXPECT_EQ(at_tau.penalty[t].item<float>(), 0.0f);
      // The next float above S_t: now S_t < tau.
      const float above = std::nextafter(tie, std::numeric_limits<float>::infinity());
      auto below_tau = vocab_parallel_objective(logits, targets, shard_of(kVocab, kVocab), tp, sed(k, above));
      EXPECT_EQ(below_tau.mask[t].item<float>(), 1.0f)
          << "S_t just below tau must be penalised: k " << k << " token " << t << " tau " << above;
      EXPECT_GT(below_tau.penalty[t].item<float>(), 0.0f);
    }
  }
}

TEST(SedMaskBoundary, ExactlyRepresentableTie) {
  // One dominant logit: S_1 = exp(0 - 0) = 1 exactly in any precision, so tau = 1 is a true tie.
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  auto logits = at::full({1, kVocab}, -1e4f);
  logits[0][4] = 0.0f;
  auto targets = at::full({1}, 4, at::kLong);
  auto tie = vocab_parallel_objective(logits, targets, shard_of(kVocab, kVocab), tp, sed(1, 1.0));
  EXPECT_EQ(tie.topk_sum.item<float>(), 1.0f);
  EXPECT_EQ(tie.mask.item<float>(), 0.0f);
  auto below = vocab_parallel_objective(logits, targets, shard_of(kVocab, kVocab), tp,
                                        sed(1, std::nextafter(1.0, 2.0)));
  EXPECT_EQ(below.mask.item<float>(), 1.0f);
  // p_y = 1 so the penalty is lambda * (1 - 1/2)^2 = 1/4.
  EXPECT_FLOAT_EQ(below.penalty.item<float>(), 0.25f);
}

// The error for `bad_target` at token 2 must name the id.
void expect_rejected(int64_t bad_target, int64_t local_cols) {
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  auto logits = random_logits(3, 5);
  if (local_cols > kVocab) logits = at::cat({logits, at::zeros({5, local_cols - kVocab})}, 1);
  auto targets = at::tensor(std::vector<int64_t>{1, -100, bad_target, 0, 2}, at::kLong);
  ObjectiveOptions ce;
  ce.kind = ObjectiveKind::kCrossEntropy;
  try {
    vocab_parallel_objective(logits, targets, shard_of(kVocab, local_cols), tp, ce);
    ADD_FAILURE() << "target " << bad_target << " was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("target id " + std::to_string(bad_target)), std::string::npos) << what;
  }
}

TEST(ObjectiveTargets, OutOfVocabularyTargetsAreRejected) {
  expect_rejected(kVocab, kVocab);           // one past the vocabulary
  expect_rejected(kVocab + 2, kVocab + 4);   // a TP padding column is not a token
  expect_rejected(1000, kVocab);
  expect_rejected(-1, kVocab);               // negative ids other than -100
  expect_rejected(-101, kVocab);
  expect_rejected(-99, kVocab);
}

TEST(ObjectiveTargets, AllIgnoredGivesZeros) {
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  auto logits = random_logits(9, 4).requires_grad_(true);
  auto targets = at::full({4}, testing::kIgnore, at::kLong);
  auto terms = vocab_parallel_objective(logits, targets, shard_of(kVocab, kVocab), tp, sed(2, 0.9));
  EXPECT_TRUE(terms.token_loss.eq(0).all().item<bool>());
  EXPECT_TRUE(terms.mask.eq(0).all().item<bool>());
  terms.token_loss.sum().backward();
  EXPECT_TRUE(logits.grad().eq(0).all().item<bool>());
}

}  // namespace
}  // namespace megasft::objectives
