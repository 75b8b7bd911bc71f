// The fused, chunked head + objective against the same objective on materialised logits with autograd
// through the head matmul: loss, metric sums and the gradients of hidden states and head weight must
// agree for every objective and every chunk size (1 token, an uneven split, one chunk), with a head
// that has padding rows and a tied-style leaf weight.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "megasft/objectives/fused_head_loss.h"
#include "megasft/objectives/vocab_parallel_loss.h"
#include "parallel/communicator.h"
#include "tests/support/tensor_compare.h"

namespace megasft::objectives {
namespace {

constexpr int64_t kTokens = 23, kHidden = 12, kVocab = 29, kPaddedVocab = 32;

struct Case {
  ObjectiveKind kind;
  kernels::GemWeight gem_h = kernels::GemWeight::kLogSigmoid;
};

class FusedHeadLoss : public ::testing::TestWithParam<Case> {};

TEST_P(FusedHeadLoss, MatchesMaterialisedLogitsForEveryChunkSize) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(77);
  auto hidden = at::randn({kTokens, kHidden}, gen, at::kDouble).to(at::kFloat);
  auto weight = (at::randn({kPaddedVocab, kHidden}, gen, at::kDouble) * 0.7).to(at::kFloat);
  weight.narrow(0, kVocab, kPaddedVocab - kVocab).fill_(5.0f);  // padding rows: large, never a logit
  auto targets = at::randint(0, kVocab, {kTokens}, gen, at::kLong);
  targets[2] = targets[11] = targets[20] = kIgnoreIndex;
  const double n = targets.ne(kIgnoreIndex).sum().item<double>();
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  model::VocabShard shard{0, kPaddedVocab, kVocab, kVocab};
  ObjectiveOptions options;
  options.kind = GetParam().kind;
  options.gem_h = GetParam().gem_h;
  options.tau = 0.6;

  // Reference: logits materialised, autograd through the matmul and the objective.
  auto h_ref = hidden.clone().requires_grad_(true), w_ref = weight.clone().requires_grad_(true);
  auto terms = vocab_parallel_objective(at::mm(h_ref, w_ref.t()), targets, shard, tp, options);
  auto ref_loss = terms.token_loss.sum() / n;
  ref_loss.backward();

  for (int64_t chunk : {int64_t{1}, int64_t{7}, kTokens}) {
    auto h = hidden.clone().requires_grad_(true), w = weight.clone().requires_grad_(true);
    auto fused = fused_vocab_parallel_head_loss(h, w, targets, 1.0 / n, shard, tp, options, chunk);
    fused.loss.backward();
    EXPECT_NEAR(fused.loss.item<double>(), ref_loss.item<double>(), 1e-6) << "chunk " << chunk;
    EXPECT_EQ(testing::mismatch("hidden gradient", h.grad(), h_ref.grad(), 1e-5, 1e-6), "") << "hidden gradient, chunk " << chunk;
    EXPECT_EQ(testing::mismatch("head gradient", w.grad(), w_ref.grad(), 1e-5, 1e-6), "") << "head gradient, chunk " << chunk;
    EXPECT_EQ(w.grad().narrow(0, kVocab, kPaddedVocab - kVocab).abs().max().item<float>(), 0.0f)
        << "padding rows of the head get no gradient";
    EXPECT_DOUBLE_EQ(fused.sums[kSumCount].item<double>(), n);
    EXPECT_NEAR(fused.sums[kSumCe].item<double>(), terms.ce.sum().item<double>(), 1e-4);
    EXPECT_NEAR(fused.sums[kSumPTarget].item<double>(), terms.p_target.sum().item<double>(), 1e-5);
  }
}

TEST(FusedHeadLossGrad, NoGradientWorkWithoutGradMode) {
  auto tp = parallel::make_single_rank_communicator("tp", 0);
  auto hidden = at::randn({5, 4}), weight = at::randn({6, 4}).requires_grad_(true);
  auto targets = at::tensor(std::vector<int64_t>{0, 1, 2, 3, 4}, at::kLong);
  ObjectiveOptions options;
  options.kind = ObjectiveKind::kCrossEntropy;
  at::NoGradGuard no_grad;
  auto out = fused_vocab_parallel_head_loss(hidden, weight, targets, 0.2, {0, 6, 6, 6}, tp, options, 2);
  auto expected = (at::logsumexp(at::mm(hidden, weight.t()), 1) -
                   at::mm(hidden, weight.t()).gather(1, targets.unsqueeze(1)).squeeze(1)).mean();
  EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-5);
  EXPECT_FALSE(out.loss.requires_grad());
}

INSTANTIATE_TEST_SUITE_P(Objectives, FusedHeadLoss,
                         ::testing::Values(Case{ObjectiveKind::kCrossEntropy}, Case{ObjectiveKind::kSed},
                                           Case{ObjectiveKind::kSedNoMask},
                                           Case{ObjectiveKind::kGem, kernels::GemWeight::kLinear},
                                           Case{ObjectiveKind::kGem, kernels::GemWeight::kLogSigmoid},
                                           Case{ObjectiveKind::kDft}),
                         [](const auto& info) {
                           return objective_kind_name(info.param.kind) == "sed-nomask"
                                      ? std::string("sed_nomask")
                                      : objective_kind_name(info.param.kind) +
                                            (info.param.kind == ObjectiveKind::kGem ? "_" + gem_h_name(info.param.gem_h) : "");
                         });

}  // namespace
}  // namespace megasft::objectives
