// A sequence of prompt p (P tokens) and response r (R tokens) predicts r[j] at position P - 1 + j.
#include "megasft/rl/grpo_batch.h"

#include "kernels/check.h"

namespace megasft::rl {

std::vector<bool> mixed_reward_groups(const at::Tensor& rewards, int64_t group_size) {
  MEGASFT_CHECK(group_size >= 1 && rewards.dim() == 1 && rewards.size(0) % group_size == 0, "reward groups: ",
                rewards.size(0), " rewards do not split into groups of ", group_size);
  auto r = rewards.to(at::kDouble).contiguous();
  const auto reward = r.accessor<double, 1>();
  std::vector<bool> mixed(static_cast<size_t>(r.size(0) / group_size), false);
  for (size_t g = 0; g < mixed.size(); ++g) {
    const int64_t first = static_cast<int64_t>(g) * group_size;
    for (int64_t i = 1; i < group_size && !mixed[g]; ++i) mixed[g] = reward[first + i] != reward[first];
  }
  return mixed;
}

int64_t policy_sequence_length(const std::vector<PolicySequence>& sequences) {
  int64_t length = 1;
  for (const auto& s : sequences)
    if (s.rollout)
      length = std::max<int64_t>(length, static_cast<int64_t>(s.rollout->prompt.size() + s.rollout->response.size()) - 1);
  return length;
}

std::vector<PolicyMicroBatch> make_policy_micro_batches(const std::vector<PolicySequence>& sequences,
                                                       int64_t micro_batch_size, int64_t length, int32_t pad_id) {
  MEGASFT_CHECK(micro_batch_size >= 1, "micro-batch size must be >= 1");
  std::vector<PolicyMicroBatch> out;
  for (size_t begin = 0; begin < sequences.size(); begin += static_cast<size_t>(micro_batch_size)) {
    PolicyMicroBatch mb;
    mb.input_ids = at::full({micro_batch_size, length}, pad_id, at::kLong);
    mb.targets = at::full({micro_batch_size, length}, -1, at::kLong);
    mb.advantages = at::zeros({micro_batch_size, length}, at::kDouble);
    auto input = mb.input_ids.accessor<int64_t, 2>();
    auto target = mb.targets.accessor<int64_t, 2>();
    auto advantage = mb.advantages.accessor<double, 2>();
    for (int64_t b = 0; b < micro_batch_size && begin + b < sequences.size(); ++b) {
      const auto& s = sequences[begin + static_cast<size_t>(b)];
      if (!s.rollout) continue;
      const auto& prompt = s.rollout->prompt;
      const auto& response = s.rollout->response;
      const int64_t p = static_cast<int64_t>(prompt.size()), r = static_cast<int64_t>(response.size());
      MEGASFT_CHECK(p + r - 1 <= length, "sequence of ", p + r, " tokens does not fit length ", length + 1);
      for (int64_t t = 0; t < p + r - 1; ++t) input[b][t] = t < p ? prompt[t] : response[t - p];
      for (int64_t j = 0; j < r; ++j) {
        target[b][p - 1 + j] = response[j];
        advantage[b][p - 1 + j] = s.advantage;
      }
    }
    mb.mask = mb.targets.ge(0).to(at::kDouble);
    out.push_back(std::move(mb));
  }
  return out;
}

}  // namespace megasft::rl
