// `megasft stats` under megasft-run at TP = 1 and 2 against a float64 computation on the tiny
// checkpoints: p_target and every top-k sum at every position, the offsets, and packed rows split
// into their conversations. The summary's medians and taus are printed.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include "megasft/data/token_dataset.h"
#include "tests/model/command_runner.h"
#include "tests/model/tiny_reference.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

// A whole dataset of the output file as float64 (or int64 for the integer ones), flattened.
at::Tensor read_h5(const std::string& path, const char* name, bool integer = false) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(set, 0) << name;
  hid_t space = H5Dget_space(set);
  const auto n = H5Sget_simple_extent_npoints(space);
  auto out = at::empty({n}, integer ? at::kLong : at::kDouble);
  if (n > 0)
    H5Dread(set, integer ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
            out.data_ptr());
  H5Sclose(space);
  H5Dclose(set);
  H5Fclose(file);
  return out;
}

struct Expected {
  std::vector<double> p_target, topk_sum;
  std::vector<int64_t> offsets = {0};
};

// Rows of random tokens; with `packed`, row 1 holds two conversations (position ids restart).
data::TokenizedSamples make_rows(int64_t vocab, bool packed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(31);
  data::TokenizedSamples s;
  s.vocab_size = vocab;
  s.tokenizer = "random";
  s.offsets = {0};
  for (int64_t length : {9, 14, 1, 6}) {
    auto ids = at::randint(0, vocab, {length}, gen, at::kLong);
    for (int64_t t = 0; t < length; ++t) {
      s.tokens.push_back(static_cast<int32_t>(ids[t].item<int64_t>()));
      const bool restart = packed && length == 14 && t == 8;
      s.loss_mask.push_back(t > 0 && !restart && t % 3 != 1);
      if (packed) s.position_ids.push_back(restart ? 0 : (length == 14 && t > 8 ? t - 8 : t));
    }
    s.offsets.push_back(static_cast<int64_t>(s.tokens.size()));
  }
  return s;
}

Expected reference(const std::map<std::string, at::Tensor>& weights, const TinyModelSpec& spec,
                   const data::TokenizedSamples& rows, const std::vector<int>& ks) {
  Expected e;
  for (size_t r = 0; r + 1 < rows.offsets.size(); ++r) {
    std::vector<std::pair<int64_t, int64_t>> runs;  // conversations of the row
    int64_t start = rows.offsets[r];
    for (int64_t t = start + 1; t < rows.offsets[r + 1]; ++t)
      if (!rows.position_ids.empty() && rows.position_ids[t] == 0)
        runs.emplace_back(start, t), start = t;
    runs.emplace_back(start, rows.offsets[r + 1]);
    for (auto [begin, end] : runs) {
      if (end - begin < 2) continue;
      std::vector<int64_t> ids(rows.tokens.begin() + begin, rows.tokens.begin() + end);
      auto probs = at::softmax(reference_logits(weights, spec, at::tensor(ids, at::kLong)), -1);
      auto sorted = std::get<0>(probs.sort(-1, /*descending=*/true)).cumsum(-1);
      for (size_t t = 0; t + 1 < ids.size(); ++t) {
        e.p_target.push_back(probs[t][ids[t + 1]].item<double>());
        for (int k : ks) e.topk_sum.push_back(sorted[t][k - 1].item<double>());
      }
    }
    e.offsets.push_back(static_cast<int64_t>(e.p_target.size()));
  }
  return e;
}

void check_stats(const TinyModelSpec& spec, int nproc, bool packed) {
  const std::string label =
      spec.architecture + " nproc " + std::to_string(nproc) + (packed ? " packed" : "");
  ScratchDir dir;
  auto weights = write_tiny_checkpoint(dir.file("model"), spec);
  auto rows = make_rows(40, packed);  // fewer tokens than Qwen2's 53 head rows, as real Qwen2.5 has
  data::write_token_dataset(dir.file("data.h5"), rows);
  const std::vector<int> ks = {1, 2, 3, 5, 10};
  auto result = run_megasft(nproc,
                            {"stats", "--model", dir.file("model"), "--data", dir.file("data.h5"),
                             "--output", dir.file("stats.h5"), "--chunk-tokens", "4"},
                            dir);
  ASSERT_EQ(result.exit_code, 0) << label << "\n" << output_of(result);
  std::cout << label << ":\n" << result.out;
  EXPECT_NE(result.out.find("tau(0.7)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("supervised positions"), std::string::npos) << result.out;

  auto want = reference(weights, spec, rows, ks);
  const auto out = dir.file("stats.h5");
  EXPECT_EQ(mismatch(label + " k", read_h5(out, "k", true),
                     at::tensor(std::vector<int64_t>{1, 2, 3, 5, 10}), 0, 0),
            "");
  EXPECT_EQ(mismatch(label + " sample_offsets", read_h5(out, "sample_offsets", true),
                     at::tensor(want.offsets), 0, 0),
            "");
  EXPECT_EQ(mismatch(label + " p_target", read_h5(out, "p_target"), at::tensor(want.p_target), 1e-4,
                     1e-7),
            "");
  EXPECT_EQ(mismatch(label + " topk_sum", read_h5(out, "topk_sum"), at::tensor(want.topk_sum), 1e-4,
                     1e-7),
            "");
}

TEST(StatsCommand, TinyQwen2MatchesFloat64AtTp1) { check_stats(tiny_qwen2_spec(), 1, false); }
TEST(StatsCommand, TinyQwen2MatchesFloat64AtTp2) { check_stats(tiny_qwen2_spec(), 2, false); }
TEST(StatsCommand, TinyLlamaPackedRowsMatchFloat64AtTp2) {
  check_stats(tiny_llama_spec(), 2, true);
}

}  // namespace
// --plots: the paper's Figures 3 and 2 from the same run, as PNG and SVG (their pixels are checked by
// tests/eval/stats_figures_test.cpp; here that stats wires them with k = 1..10).
TEST(StatsCommand, PlotsTheFiguresAtTp2) {
  ScratchDir dir;
  write_tiny_checkpoint(dir.file("model"), tiny_qwen2_spec());
  data::write_token_dataset(dir.file("data.h5"), make_rows(40, false));
  auto result = run_megasft(2,
                            {"stats", "--model", dir.file("model"), "--data", dir.file("data.h5"), "--output",
                             dir.file("stats.h5"), "--plots", dir.file("figures"),
                             "--plot-token-text", "false"},  // the fixture's tokenizer.json is a stub
                            dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  for (const char* name : {"topk_cumulative.png", "topk_cumulative.svg", "target_probability_heatmap.png",
                           "target_probability_heatmap.svg"}) {
    const auto path = dir.file(std::string("figures/") + name);
    EXPECT_GT(file_text(path).size(), 100u) << path;
  }
  EXPECT_EQ(mismatch("k", read_h5(dir.file("stats.h5"), "k", true), at::arange(1, 11, at::kLong), 0, 0), "");
}

}  // namespace megasft::testing
