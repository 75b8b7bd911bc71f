// Where each Hugging Face tensor lives in megasft's parameters: fused q|k|v and gate|up split into
// their HF names, and every tensor-parallel shard mapped to the rows or columns of the HF tensors
// it holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/model/model_config.h"
#include "parallel/parameter.h"

namespace megasft::checkpoint {

struct HfTensor {
  std::string name;  // e.g. "model.layers.0.self_attn.k_proj.weight"
  std::vector<int64_t> shape;
};

// `length` entries along `dim`: param.value.narrow(dim, param_offset, length) is
// HF tensor `tensor`.narrow(dim, tensor_offset, length). Padding rows of a parameter are in no
// piece.
struct HfPiece {
  std::string tensor;
  int64_t dim = 0;
  int64_t param_offset = 0;
  int64_t tensor_offset = 0;
  int64_t length = 0;
};

// The HF tensors that parameter `p` is made of (one, or one per fused block), with their full
// shapes.
std::vector<HfTensor> hf_tensors_of(const parallel::Parameter& p, const model::ModelConfig& config);
// The pieces of those tensors that TP rank `rank` of `size` holds in `p`.
std::vector<HfPiece> hf_pieces(const parallel::Parameter& p, const model::ModelConfig& config,
                               int rank, int size);

// Every tensor name a transformers checkpoint of this architecture has, in transformers' module
// order (lm_head omitted when the embeddings are tied).
std::vector<std::string> hf_tensor_names(const model::ModelConfig& config);

}  // namespace megasft::checkpoint
