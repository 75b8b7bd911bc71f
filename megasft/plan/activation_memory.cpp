// The tally follows the autograd graph of DecoderLayer::forward (llama_layers.cpp) under
// LibTorch 1.13, and was checked tensor by tensor against the heap's live bytes (mallinfo2) around
// one forward. b = micro-batch, s = sequence, T = b s tokens, e = activation bytes, t = TP, q =
// heads/t x head_dim, f = intermediate/t; under SP the norms see T/t tokens, the linears the
// gathered T.
//   RMSNorm       x.to(fp32) kept by pow (4 bytes), pow's output kept by mean (4: 1.13's
//   MeanBackward
//                 keeps its input), the normalised x.to(e) kept by "* weight" (e)
//   qkv_proj      its input (the gathered input under SP): e T h. Its output q|k|v is not kept:
//   RoPE's
//                 products keep only cos and sin, and v is copied (repeated to the query heads)
//   q, k, v       reach the batched matmuls as contiguous [b, a/t, s, d] copies: 3 e T q
//   softmax       its output, kept by softmax and by probs @ v: e b (a/t) s^2; the causal mask: s^2
//   bytes o_proj        the context, transposed to [b, s, q]: e T q gate_up_proj  its input e T h,
//   its output gate|up e T 2f (silu and the product keep views of it) silu, mul     silu(gate) e T
//   f kept by the product; the product e T f kept by down_proj
// Everything else is a view or is freed as soon as it is used (a KV head shared by several ranks
// too: its all-gathered rows are consumed by RoPE and the repetition).
#include "megasft/plan/activation_memory.h"

#include <algorithm>

namespace megasft::plan {

LayerActivations layer_activations(const model::ModelConfig& c, const MicroBatchShape& m) {
  const double T = static_cast<double>(m.tokens()), s = static_cast<double>(m.seq_len);
  const double e = static_cast<double>(m.element_bytes), h = static_cast<double>(c.hidden_size);
  const double d = static_cast<double>(c.head_dim());
  const int64_t heads_local = c.num_attention_heads / m.tp;
  const double q = heads_local * d;
  const double f = static_cast<double>(c.intermediate_size) / m.tp;
  const double sp = static_cast<double>(m.sequence_divisor());
  const double scores = e * m.micro_batch * heads_local * s * s;  // one [b, a/t, s, s] tensor

  LayerActivations a;
  a.norms = 2 * (8 + e) * T * h / sp;
  a.attention = e * T * (h + 4 * q) + scores + s * s;
  a.attention += 2 * 2 * e * s * d;  // cos and sin [s, d] kept by RoPE's products, for q and for k
  a.mlp = e * T * (h + 4 * f);
  a.input = e * T * h / sp;
  // Transients: the scores and the masked scores beside the softmax output in forward (two of them,
  // also the gradients of probs and scores in backward), or gate|up's gradient pieces in the MLP's
  // backward; plus the residual stream's gradient and the all-reduce's contiguous copy.
  a.working = std::max(2 * scores, 4 * e * T * f) + 2 * e * T * h;
  return a;
}

double megatron_layer_bytes(const model::ModelConfig& c, const MicroBatchShape& m, bool recompute) {
  const double s = static_cast<double>(m.seq_len), b = static_cast<double>(m.micro_batch);
  const double h = static_cast<double>(c.hidden_size), t = m.tp,
               d = static_cast<double>(c.head_dim());
  const double sbh = s * b * h, kvd = static_cast<double>(c.num_key_value_heads) * d;
  const double f = static_cast<double>(c.intermediate_size);
  const double sp = static_cast<double>(m.sequence_divisor());
  if (recompute) return 2 * sbh / sp;
  const double replicated = 8 * sbh;  // norm inputs and the qkv / gate_up inputs
  const double split =
      4 * sbh + 4 * s * b * kvd + 2 * c.num_attention_heads * s * s * b + 8 * s * b * f;
  return replicated / sp + split / t;
}

}  // namespace megasft::plan
