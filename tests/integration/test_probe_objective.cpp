// `megasft probe-objective` at TP = 1, 2, 4 for every objective, on a vocabulary of 37 (so shards are
// uneven and padded), against a float64 autograd computation of objectives.md on the full logits. The
// reference differentiates a composition whose stop-gradient terms (SED's mask, GEM's q and w, DFT's
// p_y) are detached, and is itself checked by central finite differences with those terms frozen.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <ATen/ATen.h>

#include <cmath>

#include "megasft/objectives/objective_options.h"
#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {

using objectives::ObjectiveKind;
constexpr int64_t kTokens = 24, kVocab = 37;

struct Case {
  const char* name;
  std::vector<std::string> args;
  ObjectiveKind kind;
  bool gem_linear = false;
  int top_k = 2;  // 12 exceeds the shard width at TP = 4 (37 columns -> 10 per shard)
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

struct Frozen {  // values the gradient treats as constants, taken at the base point
  at::Tensor mask, q, w, p;
};

// l_t for every token (0 where ignored), with the constants supplied or computed (and detached).
at::Tensor reference_losses(const at::Tensor& z, const at::Tensor& targets, const Case& c, double tau,
                            Frozen* frozen, bool use_frozen) {
  auto sup = targets.ne(-100);
  auto y = at::where(sup, targets, at::zeros_like(targets)).unsqueeze(1);
  auto lse = at::logsumexp(z, 1);
  auto zy = z.gather(1, y).squeeze(1);
  auto ce = lse - zy;
  auto p = (zy - lse).exp();
  at::Tensor loss;
  if (c.kind == ObjectiveKind::kCrossEntropy) loss = ce;
  if (c.kind == ObjectiveKind::kSed || c.kind == ObjectiveKind::kSedNoMask) {
    if (!use_frozen) {
      auto s = std::get<0>(at::softmax(z, 1).topk(c.top_k, 1)).sum(1);
      frozen->mask = c.kind == ObjectiveKind::kSed ? s.lt(tau).to(at::kDouble).detach() : at::ones_like(s);
    }
    loss = ce + 1.0 * frozen->mask * (p - 0.5).pow(2);
  }
  if (c.kind == ObjectiveKind::kGem) {
    if (!use_frozen) {
      frozen->q = at::softmax(z / 0.7, 1).detach();
      frozen->w = c.gem_linear ? at::ones_like(z) : at::sigmoid(0.01 * (z - zy.unsqueeze(1))).detach();
    }
    loss = (frozen->q * frozen->w * (z - zy.unsqueeze(1))).sum(1);
  }
  if (c.kind == ObjectiveKind::kDft) {
    if (!use_frozen) frozen->p = p.detach();
    loss = frozen->p * ce;
  }
  return at::where(sup, loss, at::zeros_like(loss));
}

void write_input(const std::string& path, const at::Tensor& logits, const at::Tensor& targets) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {kTokens, kVocab};
  hid_t space = H5Screate_simple(2, dims, nullptr);
  hid_t ds = H5Dcreate2(file, "logits", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  auto f = logits.to(at::kFloat).contiguous();
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.data_ptr());
  H5Dclose(ds);
  H5Sclose(space);
  hid_t tspace = H5Screate_simple(1, dims, nullptr);
  hid_t tds = H5Dcreate2(file, "targets", H5T_STD_I64LE, tspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(tds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, targets.data_ptr());
  H5Dclose(tds);
  H5Sclose(tspace);
  H5Fclose(file);
}

at::Tensor read_dataset(const std::string& path, const char* name, at::IntArrayRef shape, at::ScalarType type) {
  auto out = at::empty(shape, type);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(ds, 0) << name;
  hid_t mem = type == at::kDouble ? H5T_NATIVE_DOUBLE : type == at::kFloat ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8;
  EXPECT_GE(H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()), 0) << name;
  H5Dclose(ds);
  H5Fclose(file);
  return out;
}

class ProbeObjective : public ::testing::TestWithParam<Case> {};

TEST_P(ProbeObjective, MatchesFloat64ReferenceAtEveryTPSize) {
  const Case& c = GetParam();
  at::manual_seed(1234);
  auto logits = (at::randn({kTokens, kVocab}, at::kDouble) * 3.0).to(at::kFloat).to(at::kDouble);
  auto targets = at::randint(0, kVocab, {kTokens}, at::kLong);
  for (int64_t t : {3, 10, 17}) targets[t] = -100;
  auto sup = targets.ne(-100);
  const double n = sup.sum().item<double>();

  // A tau between two S values near the median, so no token sits on the mask boundary.
  auto s = std::get<0>(at::softmax(logits, 1).topk(c.top_k, 1)).sum(1).masked_select(sup);
  auto sorted = std::get<0>(s.sort());
  const int64_t mid = sorted.size(0) / 2;
  const double tau = 0.5 * (sorted[mid - 1].item<double>() + sorted[mid].item<double>());

  auto z = logits.clone().requires_grad_(true);
  Frozen frozen;
  auto losses = reference_losses(z, targets, c, tau, &frozen, false);
  auto mean = losses.sum() / n;
  mean.backward();
  auto grad = z.grad();

  // The reference's autograd against central differences, with the stop-gradient terms frozen.
  for (auto [t, j] : {std::pair<int64_t, int64_t>{0, 5}, {4, 36}, {9, 0}, {20, 17}}) {
    const double h = 1e-6;
    auto plus = logits.clone(), minus = logits.clone();
    plus[t][j] += h;
    minus[t][j] -= h;
    const double fd = (reference_losses(plus, targets, c, tau, &frozen, true).sum().item<double>() -
                       reference_losses(minus, targets, c, tau, &frozen, true).sum().item<double>()) /
                      (2 * h * n);
    EXPECT_NEAR(fd, grad[t][j].item<double>(), 1e-7) << c.name << " finite difference at " << t << "," << j;
  }

  ScratchDir dir;
  const std::string input = dir.file("logits.h5");
  write_input(input, logits, targets);
  for (int tp : {1, 2, 4}) {
    const std::string output = dir.file("probe" + std::to_string(tp) + ".h5");
    std::vector<std::string> args = {"--standalone", "--nproc-per-node", std::to_string(tp), megasft_binary(),
                                     "probe-objective", "--input", input, "--output", output, "--tau",
                                     std::to_string(tau), "--top-k", std::to_string(c.top_k)};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto result = run_launcher(args, dir, {{"OMP_NUM_THREADS", "1"}}, 60);
    ASSERT_EQ(result.exit_code, 0) << c.name << " TP=" << tp << "\n" << result.out << result.err;

    const double loss = read_dataset(output, "loss", {}, at::kDouble).item<double>();
    EXPECT_NEAR(loss, mean.item<double>(), 1e-5 * std::abs(mean.item<double>()) + 1e-6) << c.name << " TP=" << tp;
    auto token_loss = read_dataset(output, "token_loss", {kTokens}, at::kDouble);
    EXPECT_TRUE(at::allclose(token_loss, losses.detach(), 1e-5, 1e-5)) << c.name << " TP=" << tp;
    auto probe_grad = read_dataset(output, "grad", {kTokens, kVocab}, at::kFloat).to(at::kDouble);
    const double err = (probe_grad - grad).abs().max().item<double>();
    EXPECT_LT(err, 1e-6) << c.name << " TP=" << tp << ": max gradient error " << err;
    auto p_target = read_dataset(output, "p_target", {kTokens}, at::kDouble);
    auto lse = at::logsumexp(logits, 1);
    auto y = at::where(sup, targets, at::zeros_like(targets)).unsqueeze(1);
    auto p_ref = at::where(sup, (logits.gather(1, y).squeeze(1) - lse).exp(), at::zeros_like(lse));
    EXPECT_TRUE(at::allclose(p_target, p_ref, 1e-6, 1e-7)) << c.name << " TP=" << tp;
    auto topk_sum = read_dataset(output, "topk_sum", {kTokens}, at::kDouble);
    auto topk_ref = std::get<0>(at::softmax(logits, 1).topk(c.top_k, 1)).sum(1) * sup.to(at::kDouble);
    EXPECT_TRUE(at::allclose(topk_sum, topk_ref, 1e-6, 1e-7)) << c.name << " TP=" << tp;
    if (c.kind == ObjectiveKind::kSed) {
      auto mask = read_dataset(output, "mask", {kTokens}, at::kByte).to(at::kDouble);
      EXPECT_TRUE(at::equal(mask, frozen.mask * sup.to(at::kDouble))) << "SED mask at TP=" << tp;
      EXPECT_GT(mask.sum().item<double>(), 0.0);
      EXPECT_LT(mask.sum().item<double>(), n);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, ProbeObjective,
    ::testing::Values(Case{"ce", {"--objective", "ce"}, ObjectiveKind::kCrossEntropy},
                      Case{"sed", {"--objective", "sed"}, ObjectiveKind::kSed},
                      Case{"sed_top12", {"--objective", "sed"}, ObjectiveKind::kSed, false, 12},
                      Case{"sed_nomask", {"--objective", "sed-nomask"}, ObjectiveKind::kSedNoMask},
                      Case{"gem_linear", {"--objective", "gem", "--gem-h", "linear"}, ObjectiveKind::kGem, true},
                      Case{"gem_logsigmoid", {"--objective", "gem", "--gem-h", "logsigmoid"}, ObjectiveKind::kGem},
                      Case{"dft", {"--objective", "dft"}, ObjectiveKind::kDft}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace megasft::testing
