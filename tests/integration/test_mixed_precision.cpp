// bf16 parameters and activations with fp32 master weights and fp32 gradient accumulation: the run
// must learn and track the fp32 run closely (bf16 rounding, about 3 significant digits, is the only
// difference), at one rank and under TP x PP with gradient accumulation.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {

std::vector<nlohmann::json> train(const ScratchDir& dir, const std::string& name, const std::string& dtype, int tp,
                                  int pp) {
  auto result = run_training(tp * pp, dir.file(name), dir,
                             {"--params-dtype", dtype, "--tp", std::to_string(tp), "--pp", std::to_string(pp),
                              "--max-steps", "10", "--objective", "sed", "--tau", "0.3", "--micro-batch-size", "2"});
  EXPECT_EQ(result.exit_code, 0) << name << "\n" << result.err;
  return read_metrics(dir.file(name));
}

TEST(MixedPrecision, Bf16TracksFp32) {
  ScratchDir dir;
  auto fp32 = train(dir, "fp32", "fp32", 1, 1);
  for (auto [tp, pp] : {std::pair{1, 1}, std::pair{2, 2}}) {
    auto bf16 = train(dir, "bf16-" + std::to_string(tp) + std::to_string(pp), "bf16", tp, pp);
    ASSERT_EQ(bf16.size(), fp32.size());
    for (size_t i = 0; i < fp32.size(); ++i) {
      const double a = fp32[i]["loss"].get<double>(), b = bf16[i]["loss"].get<double>();
      EXPECT_LT(std::abs(a - b), 0.02 * a) << "step " << i + 1 << " at tp " << tp << " pp " << pp;
    }
    EXPECT_LT(bf16.back()["loss"].get<double>(), bf16.front()["loss"].get<double>() - 0.3);
  }
}

}  // namespace
}  // namespace megasft::testing
