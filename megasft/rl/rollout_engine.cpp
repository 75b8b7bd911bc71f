// The decode loop. Prompts are left-padded so that every row writes the same cache slot at each step;
// positions count real tokens only, so a padded row sees the RoPE positions of an unpadded one.
#include "megasft/rl/rollout_engine.h"

#include <algorithm>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "kernels/vocab_parallel_sampling.h"
#include "parallel/pipeline_schedule.h"

namespace megasft::rl {
namespace {

// The random stream of one sampled token: (run seed, sample, response position).
int64_t token_seed(uint64_t seed, int64_t sample_id, int64_t position) {
  return static_cast<int64_t>(
      kernels::mix64(kernels::mix64(seed ^ kernels::mix64(static_cast<uint64_t>(sample_id))) + static_cast<uint64_t>(position)));
}

std::vector<Rollout> generate_batch(const model::LlamaModel& model, const parallel::ParallelState& state,
                                    std::vector<std::vector<int32_t>> prompts, const std::vector<int64_t>& sample_ids,
                                    const GenerationOptions& options) {
  const int64_t rows = static_cast<int64_t>(prompts.size());
  const auto& pipeline = state.pipeline();
  const auto& stage = model.stage();
  const int last_stage = state.layout().pp - 1;
  std::vector<Rollout> out(rows);
  int64_t longest = 1;
  for (int64_t r = 0; r < rows; ++r) {
    auto& p = prompts[r];
    MEGASFT_CHECK(!p.empty(), "generation: prompt ", r, " is empty");
    if (static_cast<int64_t>(p.size()) > options.max_prompt_tokens)
      p.erase(p.begin(), p.end() - options.max_prompt_tokens);
    out[r].prompt = p;
    longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  }
  model::KvCache cache;
  cache.capacity = longest + options.max_new_tokens;
  cache.key_valid = at::zeros({rows, cache.capacity}, at::kBool);
  auto input = at::full({rows, longest}, options.pad_id, at::kLong);
  auto positions = at::zeros({rows, longest}, at::kLong);
  auto next_position = at::empty({rows}, at::kLong);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = static_cast<int64_t>(prompts[r].size()), pad = longest - n;
    for (int64_t i = 0; i < n; ++i) input[r][pad + i] = prompts[r][i];
    cache.key_valid[r].narrow(0, pad, n).fill_(true);
    positions[r].narrow(0, pad, n).copy_(at::arange(n, at::kLong));
    next_position[r] = n;
  }
  at::ScalarType activation_dtype = at::kFloat;
  for (const auto& p : model.parameters())
    if (p.value.is_floating_point()) activation_dtype = p.value.scalar_type();
  std::vector<bool> done(rows, false);
  int64_t remaining = rows;
  for (int64_t step = 0; step < options.max_new_tokens && remaining > 0; ++step) {
    NvtxRange range(step == 0 ? "generate_prefill" : "generate_decode");
    const int64_t width = input.size(1);
    auto hidden = parallel::pipeline_inference_forward(
        [&](const at::Tensor& x) { return model.forward_cached(stage.is_first ? input : x, positions, cache); },
        input, model.activation_shape(rows, width), activation_dtype, pipeline);
    auto chosen = at::empty({2, rows}, at::kDouble);  // token ids and their log-probabilities
    if (stage.is_last) {
      auto last = hidden.select(1, width - 1).unsqueeze(1);  // [B, 1, H]
      auto logits = model.lm_head_logits(model.head_input(last)).to(at::kFloat);  // [B, V_local]
      auto seeds = at::empty({rows}, at::kLong);
      for (int64_t r = 0; r < rows; ++r) seeds[r] = token_seed(options.seed, sample_ids[r], step);
      auto sampled = sample_vocab_parallel(logits, seeds, limit_vocabulary(model.vocab_shard(), options.vocab_limit),
                                           model.tensor_group(), options.sampling);
      chosen[0].copy_(sampled.tokens.to(at::kDouble));
      chosen[1].copy_(sampled.logprobs);
    }
    pipeline->broadcast(chosen, last_stage);
    auto tokens = chosen[0].to(at::kLong);
    auto token_of = tokens.accessor<int64_t, 1>();
    auto logprob_of = chosen.accessor<double, 2>();
    for (int64_t r = 0; r < rows; ++r) {
      if (done[r]) continue;
      const auto token = static_cast<int32_t>(token_of[r]);
      out[r].response.push_back(token);
      out[r].logprobs.push_back(logprob_of[1][r]);
      if (std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end()) {
        out[r].stopped = true;
        done[r] = true;
        --remaining;
      }
    }
    // The next step feeds each row its token at the next position; finished rows keep decoding
    // (cheaper than compacting the batch) and their tokens are discarded.
    if (cache.length == cache.capacity) break;
    cache.key_valid.select(1, cache.length).fill_(true);
    input = tokens.unsqueeze(1);
    positions = next_position.unsqueeze(1).clone();
    next_position += 1;
  }
  return out;
}

}  // namespace

void GenerationOptions::validate() const {
  MEGASFT_CHECK(max_prompt_tokens >= 1, "--max-prompt-tokens must be >= 1, got ", max_prompt_tokens);
  MEGASFT_CHECK(max_new_tokens >= 1, "--max-new-tokens must be >= 1, got ", max_new_tokens);
  MEGASFT_CHECK(batch_size >= 1, "--generation-batch-size must be >= 1, got ", batch_size);
  MEGASFT_CHECK(!stop_ids.empty(), "generation needs at least one stop token id");
  sampling.validate();
}

std::vector<Rollout> generate(const model::LlamaModel& model, const parallel::ParallelState& state,
                              const std::vector<std::vector<int32_t>>& prompts, const std::vector<int64_t>& sample_ids,
                              const GenerationOptions& options) {
  options.validate();
  MEGASFT_CHECK(prompts.size() == sample_ids.size(), "generation: ", prompts.size(), " prompts but ",
                sample_ids.size(), " sample ids");
  at::NoGradGuard no_grad;
  std::vector<Rollout> out;
  out.reserve(prompts.size());
  for (size_t begin = 0; begin < prompts.size(); begin += static_cast<size_t>(options.batch_size)) {
    const size_t end = std::min(prompts.size(), begin + static_cast<size_t>(options.batch_size));
    auto batch = generate_batch(model, state, {prompts.begin() + begin, prompts.begin() + end},
                                {sample_ids.begin() + begin, sample_ids.begin() + end}, options);
    for (auto& r : batch) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace megasft::rl
