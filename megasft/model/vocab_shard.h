// Which vocabulary columns one tensor-parallel rank's logits hold. Shared by the model's head and the
// vocab-parallel objectives, which must exclude the padding columns from every max, sum and top-k.
#pragma once

#include <cstdint>

namespace megasft::model {

// Global ids [start, start + local_cols) live here; the first valid_cols are real tokens, the rest padding.
struct VocabShard {
  int64_t start = 0;
  int64_t local_cols = 0;
  int64_t valid_cols = 0;
  int64_t vocab_size = 0;  // the real (unpadded) vocabulary of the whole model
};

}  // namespace megasft::model
