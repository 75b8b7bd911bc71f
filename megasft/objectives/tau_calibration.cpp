// Tau calibration: the same vocab-parallel top-k statistics as the loss, on a held-out sample.
#include "megasft/objectives/tau_calibration.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "megasft/objectives/vocab_parallel_loss.h"
#include "parallel/pipeline_schedule.h"

namespace megasft::objectives {

double tau_from_topk_sums(std::vector<float> sums, double ratio) {
  const auto count = static_cast<int64_t>(std::floor(ratio * static_cast<double>(sums.size())));
  MEGASFT_CHECK(count >= 1, "tau calibration needs floor(r * positions) >= 1, got r = ", ratio,
                " and ", sums.size(), " positions: use more calibration samples");
  std::sort(sums.begin(), sums.end());
  return sums[sums.size() - count];
}

TauCalibration calibrate_tau(const model::LlamaModel& model, const data::TokenDataset& heldout,
                             int64_t samples, const std::string& positions_mode, int top_k,
                             double ratio, int64_t seq_len, const parallel::CommunicatorPtr& tp,
                             int64_t chunk_tokens, const parallel::CommunicatorPtr& pipeline) {
  const bool pipelined = pipeline && pipeline->size() > 1;
  const bool last_stage = model.stage().is_last;
  NvtxRange range("calibrate_tau");
  MEGASFT_CHECK(positions_mode == "all" || positions_mode == "supervised",
                "calibration positions '", positions_mode, "' must be all or supervised");
  MEGASFT_CHECK(heldout.num_samples() > 0, "calibration data '", heldout.path(), "' has no samples");
  at::NoGradGuard no_grad;
  TauCalibration result;
  result.top_k = top_k;
  result.ratio = ratio;
  result.positions_mode = positions_mode;
  result.data_path = heldout.path();
  result.samples = std::min(samples, heldout.num_samples());

  std::vector<float> sums;
  for (int64_t i = 0; i < result.samples; ++i) {
    auto tokens = heldout.tokens(i);
    auto mask = heldout.loss_mask(i);
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(tokens.size()), seq_len);
    if (n == 0) continue;
    // Padded at the end to the sequence-parallel multiple: causal attention keeps the first n exact.
    const int64_t multiple = model.sequence_multiple();
    const int64_t padded = (n + multiple - 1) / multiple * multiple;
    std::vector<int64_t> id_values(tokens.begin(), tokens.begin() + n);
    id_values.resize(padded, 0);
    auto ids = at::tensor(id_values, at::kLong).unsqueeze(0);
    at::Tensor positions;  // a packed row: each conversation from position 0, attending only to itself
    if (heldout.packed()) {
      const auto stored = heldout.position_ids(i);
      std::vector<int64_t> values(stored.begin(), stored.begin() + n);
      for (int64_t t = n; t < padded; ++t) values.push_back(values.back() + 1);
      positions = at::tensor(values, at::kLong).unsqueeze(0);
    }
    at::Tensor hidden;
    if (pipelined) {
      hidden = parallel::pipeline_inference_forward([&](const at::Tensor& x) { return model.forward(x, positions); }, ids,
                                                    model.activation_shape(1, padded),
                                                    model.parameters().front().value.scalar_type(), pipeline);
      if (!last_stage) continue;
    } else {
      hidden = model.forward(ids, positions);
    }
    auto head_input = model.head_input(hidden);  // [padded, H]
    // Chunked so the logits of a long sequence never exist whole.
    std::vector<at::Tensor> chunks;
    for (int64_t start = 0; start < n; start += chunk_tokens)
      chunks.push_back(vocab_parallel_topk_sum(
          model.lm_head_logits(head_input.narrow(0, start, std::min(chunk_tokens, n - start))),
          model.vocab_shard(), tp, top_k));
    auto s = at::cat(chunks);
    auto values = s.accessor<float, 1>();
    for (int64_t t = 0; t < n; ++t) {
      const bool supervised = t + 1 < static_cast<int64_t>(mask.size()) && mask[t + 1] == 1;
      if (positions_mode == "all" || supervised) sums.push_back(values[t]);
    }
  }
  if (pipelined) {  // the last stage computed tau; every stage gets it
    auto shared = at::zeros({2}, at::kDouble);
    if (last_stage) {
      shared[0] = tau_from_topk_sums(sums, ratio);
      shared[1] = static_cast<double>(sums.size());
    }
    pipeline->broadcast(shared, pipeline->size() - 1);
    result.tau = shared[0].item<double>();
    result.positions = static_cast<int64_t>(shared[1].item<double>());
    return result;
  }
  result.positions = static_cast<int64_t>(sums.size());
  result.tau = tau_from_topk_sums(std::move(sums), ratio);
  return result;
}

nlohmann::json tau_calibration_json(const TauCalibration& c) {
  return {{"tau", c.tau},         {"top_k", c.top_k},         {"ratio", c.ratio},
          {"samples", c.samples}, {"positions", c.positions}, {"positions_mode", c.positions_mode},
          {"data", c.data_path}};
}

void write_tau_file(const std::string& path, const TauCalibration& c) {
  const nlohmann::json j = tau_calibration_json(c);
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << j.dump(2) << '\n';
    MEGASFT_CHECK(out.good(), "cannot write tau file '", temporary, "'");
  }
  std::filesystem::rename(temporary, path);
}

TauCalibration read_tau_file(const std::string& path) {
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "cannot open tau file '", path, "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    MEGASFT_FAIL("tau file '", path, "' is not valid JSON: ", e.what());
  }
  auto field = [&](const char* name) -> const nlohmann::json& {
    MEGASFT_CHECK(j.contains(name), "tau file '", path, "' has no field '", name, "'");
    return j[name];
  };
  TauCalibration c;
  try {
    c.tau = field("tau").get<double>();
    c.top_k = field("top_k").get<int>();
    c.ratio = field("ratio").get<double>();
    c.samples = field("samples").get<int64_t>();
    c.positions = field("positions").get<int64_t>();
    c.positions_mode = field("positions_mode").get<std::string>();
    c.data_path = j.value("data", "");
  } catch (const nlohmann::json::exception& e) {
    MEGASFT_FAIL("tau file '", path, "': a field has the wrong type: ", e.what());
  }
  MEGASFT_CHECK(std::isfinite(c.tau) && c.tau >= 0 && c.tau <= 1, "tau file '", path, "': tau = ", c.tau,
                " is not a probability sum in [0, 1]");
  return c;
}

}  // namespace megasft::objectives
