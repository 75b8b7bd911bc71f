// The key/value cache of batched generation: per decoder layer of this stage, the keys and values of
// this rank's KV heads for every position generated so far, preallocated to the longest sequence.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace megasft::model {

struct LayerKvCache {
  at::Tensor keys;    // [B, kv_local, capacity, head_dim], rotated by RoPE
  at::Tensor values;  // [B, kv_local, capacity, head_dim]
};

// Rows are left-padded, so every row writes position `length` at once; `key_valid` says which cached
// slots hold a real token (pads never receive attention).
struct KvCache {
  int64_t capacity = 0;
  int64_t length = 0;          // slots filled
  at::Tensor key_valid;        // [B, capacity] bool
  std::vector<LayerKvCache> layers;  // this stage's layers, in order; allocated on first use
};

}  // namespace megasft::model
