// What a planned run fixes besides the layout: batch shape, parameter dtype, the fused head's
// chunk, the objective's per-token statistics, the gradient buckets, and how much memory to leave
// free.
#pragma once

#include <cstdint>
#include <string>

namespace megasft::plan {

struct PlanOptions {
  int64_t seq_len = 4096;
  int64_t global_batch = 128;         // sequences per optimizer step
  std::string params_dtype = "bf16";  // bf16 | fp32, as megasft train's --params-dtype
  int64_t loss_chunk_tokens = 1024;   // --loss-chunk-tokens of the fused LM head + objective
  std::string objective =
      "sed";          // ce | sed | sed-nomask | gem | dft: what the head exchanges per token
  int64_t top_k = 2;  // SED's k: the head all-gathers k + 1 floats per token
  double grad_bucket_mb = 32;  // --grad-bucket-mb
  // Fraction of each GPU's memory left unplanned, for the caching allocator's fragmentation.
  double headroom = 0.10;
  // Fraction of the DP reduce-scatter and all-gather hidden behind compute. megasft reduces after
  // the last micro-batch's backward and gathers after the update, so nothing is hidden today: 0.
  double dp_overlap = 0.0;

  int64_t element_bytes() const { return params_dtype == "bf16" ? 2 : 4; }
};

}  // namespace megasft::plan
