// Bytes one decoder layer keeps from forward to backward for one micro-batch, counted tensor by
// tensor from what megasft's layers save (llama_layers.cpp), beside Megatron's formula for
// comparison.
#pragma once

#include <cstdint>

#include "megasft/model/model_config.h"

namespace megasft::plan {

struct MicroBatchShape {
  int64_t micro_batch = 1;    // b
  int64_t seq_len = 1;        // s
  int64_t element_bytes = 2;  // e: activations in the parameters' dtype (bf16 2, fp32 4)
  int tp = 1;                 // t
  bool sequence_parallel = false;
  int64_t tokens() const { return micro_batch * seq_len; }
  // The divisor of what lives between layers (norms, residuals): t under sequence parallelism.
  int64_t sequence_divisor() const { return sequence_parallel ? tp : 1; }
};

struct LayerActivations {
  double norms = 0;      // both RMSNorms: fp32 copy of the input, its square, the normalised output
  double attention = 0;  // qkv input, contiguous q/k/v copies, context, softmax output, causal mask
  double mlp = 0;        // the linear inputs, gate|up, silu(gate), the product
  double saved() const { return norms + attention + mlp; }
  double input = 0;  // the layer input: all that --recompute keeps
  double working =
      0;  // transient peak while the layer runs (scores, their gradients, all-reduce copy)
};

LayerActivations layer_activations(const model::ModelConfig& config, const MicroBatchShape& shape);

// Korthikanti et al. 2022 (arXiv 2205.05198), eq. 1-5, with 16-bit activations: sbh(34 + 5as/h) per
// GPT layer, sbh(10 + 24/t + 5as/(ht)) under TP, sbh/t (34 + 5as/h) with SP, 2sbh with full
// recompute. Adapted to a Llama layer the same way (no dropout; RMSNorm; GQA with kv heads of
// head_dim d; SwiGLU of size f): 4sbh (norms) + 6sbh + 4sb kv d + 2as^2b (attention) + 2sbh + 8sbf
// (MLP), where the norms and the two linear inputs (8sbh) are divided by t only under SP. What
// Megatron would keep, for the report.
double megatron_layer_bytes(const model::ModelConfig& config, const MicroBatchShape& shape,
                            bool recompute);

}  // namespace megasft::plan
