// Plain double-precision math, one step per line of transformers' LlamaModel / Qwen2Model forward.
#include "tests/model/tiny_reference.h"

#include <cmath>
#include <limits>

namespace megasft::testing {
namespace {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  return weight * (x / (x.pow(2).mean(-1, true) + eps).sqrt());
}

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

at::Tensor reference_inv_freq(const TinyModelSpec& s) {
  const int64_t d = s.head_dim;
  std::vector<double> inv(d / 2);
  for (int64_t i = 0; i < d / 2; ++i) {
    double f = 1.0 / std::pow(s.rope_theta, static_cast<double>(2 * i) / static_cast<double>(d));
    if (s.llama3_rope) {  // factor 8, low 1, high 4, original context 64 (tiny_checkpoint.cpp)
      const double factor = 8, low = 1, high = 4, original = 64;
      const double wavelen = 2 * M_PI / f;
      if (wavelen > original / low) {
        f = f / factor;
      } else if (wavelen >= original / high) {
        const double smooth = (original / wavelen - low) / (high - low);
        f = (1 - smooth) * f / factor + smooth * f;
      }
    }
    inv[i] = f;
  }
  return at::tensor(inv, at::kDouble);
}

at::Tensor reference_logits(const std::map<std::string, at::Tensor>& w, const TinyModelSpec& s,
                            const at::Tensor& ids) {
  const int64_t seq = ids.size(0), d = s.head_dim, heads = s.num_heads, kv = s.num_kv_heads;
  const bool bias = s.architecture == "Qwen2ForCausalLM";
  auto x = w.at("model.embed_tokens.weight").index_select(0, ids);  // [S, H]
  auto positions = at::arange(seq, at::kDouble);
  auto angles = at::outer(positions, reference_inv_freq(s));
  angles = at::cat({angles, angles}, -1);  // [S, D]
  auto cos = angles.cos(), sin = angles.sin();
  auto causal = at::ones({seq, seq}, at::kBool).triu(1);
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string l = "model.layers." + std::to_string(i) + ".";
    auto h = rms_norm(x, w.at(l + "input_layernorm.weight"), s.rms_norm_eps);
    auto proj = [&](const char* name) {
      auto y = at::matmul(h, w.at(l + "self_attn." + name + ".weight").t());
      return bias ? y + w.at(l + "self_attn." + name + ".bias") : y;
    };
    auto q = proj("q_proj").reshape({seq, heads, d}).transpose(0, 1);  // [heads, S, D]
    auto k = proj("k_proj").reshape({seq, kv, d}).transpose(0, 1);     // [kv, S, D]
    auto v = proj("v_proj").reshape({seq, kv, d}).transpose(0, 1);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    std::vector<at::Tensor> outputs;
    for (int64_t head = 0; head < heads; ++head) {
      const int64_t g = head / (heads / kv);  // repeat_kv: query head j uses KV head j / n_rep
      auto scores = at::matmul(q[head], k[g].t()) / std::sqrt(static_cast<double>(d));
      scores = scores.masked_fill(causal, -std::numeric_limits<double>::infinity());
      outputs.push_back(at::matmul(at::softmax(scores, -1), v[g]));  // [S, D]
    }
    auto attention = at::cat(outputs, -1);  // [S, heads * D]
    x = x + at::matmul(attention, w.at(l + "self_attn.o_proj.weight").t());
    h = rms_norm(x, w.at(l + "post_attention_layernorm.weight"), s.rms_norm_eps);
    auto gate = at::matmul(h, w.at(l + "mlp.gate_proj.weight").t());
    auto up = at::matmul(h, w.at(l + "mlp.up_proj.weight").t());
    x = x + at::matmul(gate * at::sigmoid(gate) * up, w.at(l + "mlp.down_proj.weight").t());
  }
  x = rms_norm(x, w.at("model.norm.weight"), s.rms_norm_eps);
  const auto& head = s.tied ? w.at("model.embed_tokens.weight") : w.at("lm_head.weight");
  return at::matmul(x, head.t());
}

}  // namespace megasft::testing
