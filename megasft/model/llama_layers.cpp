// Llama decoder layer math. Attention is the plain causal composition (LibTorch 1.13 has no fused SDPA);
// heads are split over TP, so each rank attends with its own query and key/value heads.
#include "megasft/model/llama_layers.h"

#include <cmath>
#include <limits>

#include "kernels/check.h"
#include "parallel/mappings.h"

namespace megasft::model {

at::Tensor init_normal(at::Generator& gen, at::IntArrayRef shape, double std) {
  return at::normal(0.0, std, shape, gen);
}

// --- RMSNorm ----------------------------------------------------------------------------------

RMSNorm::RMSNorm(std::string name, int64_t hidden, double eps, bool sequence_parallel) : eps_(eps) {
  weight_.name = std::move(name);
  weight_.value = at::ones({hidden}, at::TensorOptions(at::kFloat).device(parallel::parameter_device())).requires_grad_(true);
  weight_.full_shape = {hidden};
  weight_.sequence_parallel = sequence_parallel;
}

at::Tensor RMSNorm::forward(const at::Tensor& x) const {
  auto x32 = x.to(at::kFloat);
  auto inv_rms = at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return (x32 * inv_rms).to(x.scalar_type()) * weight_.value;
}

// --- Attention --------------------------------------------------------------------------------

Attention::Attention(const std::string& prefix, const ModelConfig& c, const parallel::CommunicatorPtr& tp,
                     bool sequence_parallel)
    : tp_(tp),
      heads_local_(c.num_attention_heads / tp->size()),
      kv_heads_local_(c.replicates_kv_heads(tp->size()) ? 1 : c.num_key_value_heads / tp->size()),
      head_dim_(c.head_dim()),
      shared_kv_head_(c.replicates_kv_heads(tp->size()) ? tp->rank() / (tp->size() / c.num_key_value_heads) : -1),
      qkv_proj_(prefix + ".qkv_proj", c.hidden_size,
                {c.num_attention_heads * c.head_dim(), c.num_key_value_heads * c.head_dim(),
                 c.num_key_value_heads * c.head_dim()},
                c.qkv_bias, tp, sequence_parallel),
      o_proj_(prefix + ".o_proj", c.num_attention_heads * c.head_dim(), c.hidden_size, false, tp,
              sequence_parallel) {}

std::array<at::Tensor, 3> Attention::project_qkv(const at::Tensor& x, const RotaryEmbedding& rope,
                                                 const at::Tensor& position_ids) const {
  auto projected = qkv_proj_.forward(x);  // the whole sequence, also under sequence parallelism
  const int64_t batch = projected.size(0), seq = projected.size(1);
  auto qkv = projected.split_with_sizes(qkv_proj_.local_block_sizes(), -1);
  auto heads = [&](const at::Tensor& t, int64_t n) {  // [B,S,n*D] -> [B,n,S,D]
    return t.reshape({batch, seq, n, head_dim_}).transpose(1, 2);
  };
  auto k_rows = shared_kv_head_ >= 0 ? gather_shared_kv_head(qkv[1]) : qkv[1];
  auto v_rows = shared_kv_head_ >= 0 ? gather_shared_kv_head(qkv[2]) : qkv[2];
  return {rope.apply(heads(qkv[0], heads_local_), position_ids), rope.apply(heads(k_rows, kv_heads_local_), position_ids),
          heads(v_rows, kv_heads_local_)};
}

at::Tensor Attention::attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& masked) const {
  if (kv_heads_local_ != heads_local_) {  // GQA: each KV head serves a contiguous group of queries
    const int64_t group = heads_local_ / kv_heads_local_;
    k = k.repeat_interleave(group, 1);
    v = v.repeat_interleave(group, 1);
  }
  auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim_));
  auto probs = at::softmax(scores.masked_fill(masked, -std::numeric_limits<float>::infinity()), -1);
  const int64_t batch = q.size(0), seq = q.size(2);
  auto context = at::matmul(probs, v).transpose(1, 2).reshape({batch, seq, heads_local_ * head_dim_});
  return o_proj_.forward(context);
}

at::Tensor Attention::forward(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids) const {
  auto [q, k, v] = project_qkv(x, rope, position_ids);
  const int64_t seq = q.size(2);
  auto future = at::ones({seq, seq}, at::kBool).triu(1);  // [S, S]
  if (position_ids.defined()) {  // packed rows: [B, 1, S, S], also masking other conversations
    auto conversation = position_ids.eq(0).cumsum(1);  // [B, S]
    future = future.logical_or(conversation.unsqueeze(2).ne(conversation.unsqueeze(1))).unsqueeze(1);
  }
  return attend(q, k, v, future);
}

at::Tensor Attention::forward_cached(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids,
                                     KvCache& cache, LayerKvCache& layer) const {
  auto [q, k, v] = project_qkv(x, rope, position_ids);
  const int64_t batch = q.size(0), seq = q.size(2), start = cache.length, end = start + seq;
  MEGASFT_CHECK(end <= cache.capacity, "KV cache of ", cache.capacity, " positions cannot take ", seq,
                " more after ", start);
  if (!layer.keys.defined()) {
    layer.keys = at::empty({batch, kv_heads_local_, cache.capacity, head_dim_}, k.options());
    layer.values = at::empty({batch, kv_heads_local_, cache.capacity, head_dim_}, v.options());
  }
  layer.keys.narrow(2, start, seq).copy_(k);
  layer.values.narrow(2, start, seq).copy_(v);
  // Query i (slot start + i) sees slot j when j <= start + i and slot j holds a token: [B, 1, s, end].
  // A pad always sees itself, so its row stays finite: a NaN there would reach real tokens as 0 * NaN.
  auto slot = at::arange(end, at::kLong);
  auto query_slot = at::arange(start, end, at::kLong);
  auto future = slot.unsqueeze(0).gt(query_slot.unsqueeze(1));  // [s, end]
  auto itself = slot.unsqueeze(0).eq(query_slot.unsqueeze(1));  // [s, end]
  auto pad_key = cache.key_valid.narrow(1, 0, end).logical_not().unsqueeze(1);  // [B, 1, end]
  auto masked = future.unsqueeze(0).logical_or(pad_key.logical_and(itself.logical_not().unsqueeze(0))).unsqueeze(1);
  return attend(q, layer.keys.narrow(2, 0, end), layer.values.narrow(2, 0, end), masked);
}

at::Tensor Attention::gather_shared_kv_head(const at::Tensor& rows) const {
  // Sequence parallelism's gather (forward all-gather, backward reduce-scatter along dim 1), applied to
  // the feature axis moved to dim 1: [B, kv_local, S] -> [B, kv_heads * head_dim, S], every head whole.
  auto all_heads = parallel::gather_from_sequence_parallel_region(rows.transpose(1, 2), tp_);
  return all_heads.narrow(1, shared_kv_head_ * head_dim_, head_dim_).transpose(1, 2);  // [B, S, head_dim]
}

void Attention::initialize(at::Generator& gen, const ModelConfig& c) {
  const int64_t q = c.num_attention_heads * c.head_dim(), kv = c.num_key_value_heads * c.head_dim();
  const double out_std = c.init_std / std::sqrt(2.0 * c.num_layers);
  auto wq = init_normal(gen, {q, c.hidden_size}, c.init_std);
  auto wk = init_normal(gen, {kv, c.hidden_size}, c.init_std);
  auto wv = init_normal(gen, {kv, c.hidden_size}, c.init_std);
  std::vector<at::Tensor> biases;
  if (c.qkv_bias) biases = {at::zeros({q}), at::zeros({kv}), at::zeros({kv})};
  qkv_proj_.load_full({wq, wk, wv}, biases);
  o_proj_.load_full(init_normal(gen, {c.hidden_size, q}, out_std));
}

void Attention::append_parameters(parallel::ParameterList& out) const {
  qkv_proj_.append_parameters(out);
  o_proj_.append_parameters(out);
}

// --- SwiGLUMLP --------------------------------------------------------------------------------

SwiGLUMLP::SwiGLUMLP(const std::string& prefix, const ModelConfig& c, const parallel::CommunicatorPtr& tp,
                     bool sequence_parallel)
    : gate_up_proj_(prefix + ".gate_up_proj", c.hidden_size, {c.intermediate_size, c.intermediate_size},
                    false, tp, sequence_parallel),
      down_proj_(prefix + ".down_proj", c.intermediate_size, c.hidden_size, false, tp, sequence_parallel) {}

at::Tensor SwiGLUMLP::forward(const at::Tensor& x) const {
  auto gate_up = gate_up_proj_.forward(x).chunk(2, -1);
  return down_proj_.forward(at::silu(gate_up[0]) * gate_up[1]);
}

void SwiGLUMLP::initialize(at::Generator& gen, const ModelConfig& c) {
  const double out_std = c.init_std / std::sqrt(2.0 * c.num_layers);
  auto gate = init_normal(gen, {c.intermediate_size, c.hidden_size}, c.init_std);
  auto up = init_normal(gen, {c.intermediate_size, c.hidden_size}, c.init_std);
  gate_up_proj_.load_full({gate, up});
  down_proj_.load_full(init_normal(gen, {c.hidden_size, c.intermediate_size}, out_std));
}

void SwiGLUMLP::append_parameters(parallel::ParameterList& out) const {
  gate_up_proj_.append_parameters(out);
  down_proj_.append_parameters(out);
}

// --- DecoderLayer -----------------------------------------------------------------------------

DecoderLayer::DecoderLayer(int64_t index, const ModelConfig& c, const parallel::CommunicatorPtr& tp,
                           bool sequence_parallel)
    : input_layernorm_("model.layers." + std::to_string(index) + ".input_layernorm.weight",
                       c.hidden_size, c.rms_norm_eps, sequence_parallel && tp->size() > 1),
      self_attn_("model.layers." + std::to_string(index) + ".self_attn", c, tp, sequence_parallel),
      post_attention_layernorm_(
          "model.layers." + std::to_string(index) + ".post_attention_layernorm.weight", c.hidden_size,
          c.rms_norm_eps, sequence_parallel && tp->size() > 1),
      mlp_("model.layers." + std::to_string(index) + ".mlp", c, tp, sequence_parallel) {}

at::Tensor DecoderLayer::forward(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids) const {
  auto h = x + self_attn_.forward(input_layernorm_.forward(x), rope, position_ids);
  return h + mlp_.forward(post_attention_layernorm_.forward(h));
}

at::Tensor DecoderLayer::forward_cached(const at::Tensor& x, const RotaryEmbedding& rope,
                                        const at::Tensor& position_ids, KvCache& cache, LayerKvCache& layer) const {
  auto h = x + self_attn_.forward_cached(input_layernorm_.forward(x), rope, position_ids, cache, layer);
  return h + mlp_.forward(post_attention_layernorm_.forward(h));
}

void DecoderLayer::initialize(at::Generator& gen, const ModelConfig& c) {
  self_attn_.initialize(gen, c);
  mlp_.initialize(gen, c);
}

void DecoderLayer::append_parameters(parallel::ParameterList& out) const {
  out.push_back(input_layernorm_.parameter());
  self_attn_.append_parameters(out);
  out.push_back(post_attention_layernorm_.parameter());
  mlp_.append_parameters(out);
}

}  // namespace megasft::model
