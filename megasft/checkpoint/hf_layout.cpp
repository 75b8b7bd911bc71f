// The parameters' logical tensors (parallel/parameter.h) are HF tensors, except the fused blocks of
// qkv_proj (q_proj | k_proj | v_proj) and gate_up_proj (gate_proj | up_proj), stacked along
// dimension 0.
#include "megasft/checkpoint/hf_layout.h"

#include <algorithm>

#include "kernels/check.h"

namespace megasft::checkpoint {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The HF tensors stacked along dimension 0 of `p`'s logical tensor, in order.
std::vector<HfTensor> segments(const parallel::Parameter& p, const model::ModelConfig& c) {
  const auto logical = p.logical_shape();
  auto with_rows = [&](const std::string& name, int64_t rows) {
    auto shape = logical;
    shape[0] = rows;
    return HfTensor{name, shape};
  };
  for (const char* kind : {".weight", ".bias"}) {
    const std::string qkv = std::string(".self_attn.qkv_proj") + kind;
    if (ends_with(p.name, qkv)) {
      const auto prefix = p.name.substr(0, p.name.size() - qkv.size()) + ".self_attn.";
      const int64_t q = c.num_attention_heads * c.head_dim(),
                    kv = c.num_key_value_heads * c.head_dim();
      return {with_rows(prefix + "q_proj" + kind, q), with_rows(prefix + "k_proj" + kind, kv),
              with_rows(prefix + "v_proj" + kind, kv)};
    }
  }
  const std::string gate_up = ".mlp.gate_up_proj.weight";
  if (ends_with(p.name, gate_up)) {
    const auto prefix = p.name.substr(0, p.name.size() - gate_up.size()) + ".mlp.";
    return {with_rows(prefix + "gate_proj.weight", c.intermediate_size),
            with_rows(prefix + "up_proj.weight", c.intermediate_size)};
  }
  return {HfTensor{p.name, logical}};
}

}  // namespace

std::vector<HfTensor> hf_tensors_of(const parallel::Parameter& p,
                                    const model::ModelConfig& config) {
  auto tensors = segments(p, config);
  int64_t rows = 0;
  for (const auto& t : tensors) rows += t.shape.at(0);
  MEGASFT_CHECK(rows == p.logical_shape().at(0), "parameter ", p.name, ": its HF tensors have ",
                rows, " rows, the parameter ", p.logical_shape().at(0));
  return tensors;
}

std::vector<HfPiece> hf_pieces(const parallel::Parameter& p, const model::ModelConfig& config,
                               int rank, int size) {
  const auto tensors = hf_tensors_of(p, config);
  const int64_t dim = std::max(p.partition_dim, 0);
  MEGASFT_CHECK(dim == 0 || tensors.size() == 1, "parameter ", p.name,
                " fuses HF tensors along dimension 0 but is "
                "split along dimension ",
                dim);
  std::vector<HfPiece> pieces;
  for (const auto& slice : parallel::tensor_parallel_slices(p, rank, size)) {
    if (dim != 0) {
      pieces.push_back(
          {tensors[0].name, dim, slice.local_offset, slice.logical_offset, slice.length});
      continue;
    }
    int64_t segment_start = 0;
    for (const auto& t : tensors) {
      const int64_t lo = std::max(slice.logical_offset, segment_start);
      const int64_t hi = std::min(slice.logical_offset + slice.length, segment_start + t.shape[0]);
      if (lo < hi)
        pieces.push_back({t.name, 0, slice.local_offset + lo - slice.logical_offset,
                          lo - segment_start, hi - lo});
      segment_start += t.shape[0];
    }
  }
  return pieces;
}

std::vector<std::string> hf_tensor_names(const model::ModelConfig& c) {
  std::vector<std::string> names = {"model.embed_tokens.weight"};
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    names.push_back(layer + "input_layernorm.weight");
    for (const char* proj : {"q_proj", "k_proj", "v_proj"}) {
      names.push_back(layer + "self_attn." + proj + ".weight");
      if (c.qkv_bias) names.push_back(layer + "self_attn." + proj + ".bias");
    }
    names.push_back(layer + "self_attn.o_proj.weight");
    names.push_back(layer + "post_attention_layernorm.weight");
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"})
      names.push_back(layer + "mlp." + proj + ".weight");
  }
  names.push_back("model.norm.weight");
  if (!c.tie_word_embeddings) names.push_back("lm_head.weight");
  return names;
}

}  // namespace megasft::checkpoint
