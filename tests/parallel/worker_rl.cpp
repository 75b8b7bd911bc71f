// Cases "sampler" and "rollout": GRPO's vocab-parallel pieces at TP = N against references each rank
// computes itself from the full tensors.
//   sampler: draws from sample_vocab_parallel against the exact (top-k / top-p restricted) softmax by a
//            chi-square test; greedy is the argmax; token log-probs and entropies, and their gradients,
//            against float64 autograd on the full logits.
//   rollout: greedy generation with the KV cache picks, at every step, the argmax of a full forward of
//            the sequence so far; rollout log-probs (greedy and sampled) equal the trainer's recomputation.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "megasft/model/llama_model.h"
#include "megasft/rl/rollout_engine.h"
#include "megasft/rl/vocab_parallel_logprobs.h"
#include "parallel/mappings.h"
#include "tests/parallel/worker_context.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

model::VocabShard shard_for(int64_t vocab, int rank, int size) {
  model::VocabShard s;
  s.local_cols = (vocab + size - 1) / size;
  s.start = s.local_cols * rank;
  s.valid_cols = std::clamp<int64_t>(vocab - s.start, 0, s.local_cols);
  s.vocab_size = vocab;
  return s;
}

// The distribution the sampler must follow, in double, from the full logits (HF order: top-k, then top-p
// on the renormalised distribution; the most probable token always kept).
std::vector<double> restricted_distribution(const std::vector<double>& z, const rl::SamplingParams& p) {
  const size_t v = z.size();
  std::vector<size_t> order(v);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return z[a] > z[b]; });
  const size_t k = p.top_k > 0 ? std::min<size_t>(p.top_k, v) : v;
  std::vector<double> prob(v, 0.0);
  double total = 0;
  for (size_t i = 0; i < k; ++i) total += std::exp(z[order[i]] / p.temperature);
  double before = 0;
  std::vector<size_t> kept;
  for (size_t i = 0; i < k; ++i) {
    const double q = std::exp(z[order[i]] / p.temperature) / total;
    if (i > 0 && before >= p.top_p) break;
    kept.push_back(order[i]);
    before += q;
  }
  double kept_total = 0;
  for (size_t t : kept) kept_total += std::exp(z[t] / p.temperature);
  for (size_t t : kept) prob[t] = std::exp(z[t] / p.temperature) / kept_total;
  return prob;
}

// Upper alpha = 1e-4 quantile of chi-square with df degrees of freedom (Wilson-Hilferty).
double chi_square_critical(int df) {
  const double z = 3.719, a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

void check_sampler(WorkerContext& ctx) {
  const int64_t vocab = 13, draws = 20000;
  auto gen = seeded(11);
  auto z_full = at::randn({vocab}, gen, at::kDouble) * 1.5;
  std::vector<double> z(z_full.data_ptr<double>(), z_full.data_ptr<double>() + vocab);
  const auto shard = shard_for(vocab, ctx.rank, ctx.size);
  auto logits = at::full({draws, shard.local_cols}, 100.0f, at::kFloat);  // padding columns: huge, must be ignored
  logits.narrow(1, 0, shard.valid_cols).copy_(z_full.narrow(0, shard.start, shard.valid_cols).to(at::kFloat).expand({draws, shard.valid_cols}));
  auto seeds = at::arange(draws, at::kLong) * 7919 + 13;
  const std::vector<rl::SamplingParams> settings = {{0.8, 1.0, 0}, {1.0, 1.0, 3}, {1.0, 0.7, 0}, {1.2, 0.8, 5}};
  for (const auto& p : settings) {
    const std::string name = "T=" + std::to_string(p.temperature) + " top_p=" + std::to_string(p.top_p) +
                             " top_k=" + std::to_string(p.top_k);
    auto sampled = rl::sample_vocab_parallel(logits, seeds, shard, ctx.tp(), p);
    std::vector<double> expected = restricted_distribution(z, p), observed(vocab, 0.0);
    auto tokens = sampled.tokens.accessor<int64_t, 1>();
    bool in_range = true;
    for (int64_t i = 0; i < draws; ++i) {
      if (tokens[i] < 0 || tokens[i] >= vocab) in_range = false;
      else observed[tokens[i]] += 1;
    }
    ctx.expect_true(in_range, name + ": a token outside the vocabulary was drawn");
    double chi2 = 0;
    int support = 0;
    for (int64_t t = 0; t < vocab; ++t) {
      if (expected[t] == 0) {
        ctx.expect_true(observed[t] == 0, name + ": token " + std::to_string(t) + " is outside top-k/top-p but drawn");
        continue;
      }
      ++support;
      const double e = expected[t] * draws;
      chi2 += (observed[t] - e) * (observed[t] - e) / e;
    }
    if (support > 1)
      ctx.expect_true(chi2 < chi_square_critical(support - 1),
                      name + ": chi-square " + std::to_string(chi2) + " over " + std::to_string(support - 1) +
                          " degrees of freedom exceeds " + std::to_string(chi_square_critical(support - 1)));
    // Log-probabilities over the whole vocabulary at the temperature, not the restricted one.
    auto ref = at::log_softmax(z_full / p.temperature, 0);
    ctx.expect(mismatch(name + " logprobs", sampled.logprobs, ref.index_select(0, sampled.tokens), 1e-6, 1e-6));
  }
  auto greedy = rl::sample_vocab_parallel(logits.narrow(0, 0, 4), seeds.narrow(0, 0, 4), shard, ctx.tp(), {0.0, 1.0, 0});
  const int64_t argmax = z_full.argmax().item<int64_t>();
  ctx.expect_true((greedy.tokens == argmax).all().item<bool>(), "greedy is not the argmax");
}

void check_token_logprobs(WorkerContext& ctx) {
  const int64_t vocab = 37, hidden = 16, tokens = 11;
  const double temperature = 0.7;
  auto gen = seeded(5);
  auto h_full = at::randn({tokens, hidden}, gen, at::kDouble);
  auto w_full = at::randn({vocab, hidden}, gen, at::kDouble) * 0.5;
  auto targets = at::randint(0, vocab, {tokens}, gen, at::kLong);
  targets[3] = -1;
  auto a = at::randn({tokens}, gen, at::kDouble), b = at::randn({tokens}, gen, at::kDouble);
  // Reference in float64 on the full logits.
  auto h_ref = h_full.clone().requires_grad_(true), w_ref = w_full.clone().requires_grad_(true);
  auto log_p = at::log_softmax(at::mm(h_ref, w_ref.t()) / temperature, 1);
  auto valid = targets.ge(0);
  auto logp_ref = at::where(valid, log_p.gather(1, targets.clamp_min(0).unsqueeze(1)).squeeze(1), at::zeros({tokens}, at::kDouble));
  auto entropy_ref = at::where(valid, -(log_p.exp() * log_p).sum(1), at::zeros({tokens}, at::kDouble));
  (a * logp_ref + b * entropy_ref).sum().backward();
  // Under test: this rank's shard, padding rows of the head filled with noise that must not matter.
  const auto shard = shard_for(vocab, ctx.rank, ctx.size);
  auto w_local = at::randn({shard.local_cols, hidden}, gen, at::kFloat);
  w_local.narrow(0, 0, shard.valid_cols).copy_(w_full.narrow(0, shard.start, shard.valid_cols));
  w_local.requires_grad_(true);
  auto h = h_full.to(at::kFloat).requires_grad_(true);
  auto out = rl::vocab_parallel_token_logprobs(parallel::copy_to_tensor_parallel_region(h, ctx.tp()), w_local, targets,
                                               temperature, shard, ctx.tp(), /*chunk_tokens=*/4);
  (a.to(at::kFloat) * out.logprobs + b.to(at::kFloat) * out.entropy).sum().backward();
  ctx.expect(mismatch("token logprobs", out.logprobs.to(at::kDouble), logp_ref.detach(), 1e-5, 1e-5));
  ctx.expect(mismatch("token entropy", out.entropy.to(at::kDouble), entropy_ref.detach(), 1e-5, 1e-5));
  ctx.expect(mismatch("grad hidden", h.grad().to(at::kDouble), h_ref.grad(), 1e-4, 1e-4));
  auto expected_w = at::zeros({shard.local_cols, hidden}, at::kDouble);
  expected_w.narrow(0, 0, shard.valid_cols).copy_(w_ref.grad().narrow(0, shard.start, shard.valid_cols));
  ctx.expect(mismatch("grad head shard (padding rows 0)", w_local.grad().to(at::kDouble), expected_w, 1e-4, 1e-4));
}

model::ModelConfig tiny_config(int tp) {
  model::ModelConfig c;
  c.vocab_size = 37;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = tp == 4 ? 4 : 2;
  c.max_position_embeddings = 64;
  c.rope_theta = 10000;
  c.make_vocab_size_divisible_by = 4;
  c.init_std = 0.5;  // peaked logits: greedy choices far from ties
  return c;
}

// Full logits of sequence `ids` [1, S] gathered over TP: [S, V] double.
at::Tensor full_logits(const model::LlamaModel& m, const at::Tensor& ids, const parallel::CommunicatorPtr& tp) {
  at::NoGradGuard no_grad;
  auto local = m.lm_head_logits(m.head_input(m.forward(ids))).to(at::kDouble);  // [S, V_local]
  auto all = tp->all_gather(local);                                              // [tp, S, V_local]
  return all.permute({1, 0, 2}).reshape({ids.size(1), -1}).narrow(1, 0, m.config().vocab_size);
}

void check_rollout(WorkerContext& ctx) {
  const auto config = tiny_config(ctx.size);
  model::LlamaModel m(config, ctx.tp());
  m.initialize(3);
  auto gen = seeded(9);
  std::vector<std::vector<int32_t>> prompts;
  for (int64_t n : {5, 9, 2}) {
    auto ids = at::randint(3, config.vocab_size, {n}, gen, at::kLong);
    prompts.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + n);
  }
  for (const bool greedy : {true, false}) {
    rl::GenerationOptions o;
    o.max_new_tokens = 7;
    o.batch_size = 2;  // two batches: rows of different prompt lengths share one
    o.stop_ids = {2};
    o.seed = 17;
    o.sampling = greedy ? rl::SamplingParams{0.0, 1.0, 0} : rl::SamplingParams{1.0, 1.0, 0};
    auto rollouts = rl::generate(m, *ctx.state, prompts, {0, 1, 2}, o);
    const std::string mode = greedy ? "greedy" : "sampled";
    for (size_t r = 0; r < rollouts.size(); ++r) {
      const auto& ro = rollouts[r];
      std::vector<int64_t> seq(ro.prompt.begin(), ro.prompt.end());
      seq.insert(seq.end(), ro.response.begin(), ro.response.end());
      const int64_t p = static_cast<int64_t>(ro.prompt.size()), n = static_cast<int64_t>(ro.response.size());
      auto ids = at::tensor(std::vector<int64_t>(seq.begin(), seq.end() - 1), at::kLong).unsqueeze(0);
      auto logits = full_logits(m, ids, ctx.tp());
      auto targets = at::full({p + n - 1}, -1, at::kLong);
      for (int64_t j = 0; j < n; ++j) targets[p - 1 + j] = ro.response[j];
      if (greedy)
        for (int64_t j = 0; j < n; ++j)
          ctx.expect_true(logits[p - 1 + j].argmax().item<int64_t>() == ro.response[j],
                          mode + " row " + std::to_string(r) + " token " + std::to_string(j) +
                              " is not the argmax of a full forward");
      // The trainer's recomputation (fp32, vocab-parallel) of the same tokens.
      at::NoGradGuard no_grad;
      auto recomputed = rl::vocab_parallel_token_logprobs(m.head_input(m.forward(ids)), m.lm_head_weight(), targets, 1.0,
                                                          m.vocab_shard(), ctx.tp(), 8)
                            .logprobs.narrow(0, p - 1, n)
                            .to(at::kDouble);
      ctx.expect(mismatch(mode + " rollout logprobs vs recomputed, row " + std::to_string(r),
                          at::tensor(ro.logprobs, at::kDouble), recomputed, 1e-5, 1e-5));
      ctx.expect_true(ro.stopped == (n > 0 && ro.response.back() == 2), mode + ": stopped flag wrong");
    }
  }
}

}  // namespace

void run_sampler_case(WorkerContext& ctx) {
  check_sampler(ctx);
  check_token_logprobs(ctx);
}

void run_rollout_case(WorkerContext& ctx) { check_rollout(ctx); }

}  // namespace megasft::testing
