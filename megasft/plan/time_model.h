// Time of one optimizer step under a layout: GEMM FLOPs at the cluster's matmul efficiency,
// elementwise traffic over HBM, TP collectives over NVLink, the 1F1B makespan with its p2p sends,
// and the DP reduce-scatter / all-gather over NVLink or the inter-node links; then tokens/s per GPU
// and MFU.
#pragma once

#include <cstdint>
#include <vector>

#include "megasft/model/model_config.h"
#include "megasft/plan/cluster_spec.h"
#include "megasft/plan/layout.h"
#include "megasft/plan/plan_options.h"

namespace megasft::plan {

// Model FLOPs per trained token (PaLM's MFU convention, Chowdhery et al. 2022, app. B): 6 x the
// matmul parameters (decoder layers and LM head; embedding lookups and norms are not matmuls) plus
// 12 L s a d for attention's two s x s products, forward and backward.
double model_flops_per_token(const model::ModelConfig& config, int64_t seq_len);

struct StageTime {     // one micro-batch, forward and backward, on one stage; seconds
  double compute = 0;  // GEMMs, recomputation included
  double memory =
      0;  // elementwise kernels: what the layers keep and rebuild, read and written over HBM
  double tp_comm =
      0;  // all-reduces (or SP's all-gather + reduce-scatter pairs) over NVLink, not overlapped
  double p2p = 0;  // the activation sent forward and its gradient sent back
  double total() const { return compute + memory + tp_comm + p2p; }
};

struct StepTime {
  std::vector<StageTime> stages;
  int64_t micro_batches = 1;
  double pipeline = 0;  // 1F1B makespan: (M - 1) x slowest stage + sum over stages
  double bubble = 0;    // (P - 1) / M: the pipeline's idle time relative to the busy time
  double dp_comm =
      0;  // reduce-scatter of fp32 main gradients + all-gather of fp32 master shards, exposed part
  double embedding_sync =
      0;                 // tied embeddings under PP: the first and last stage sum their gradients
  double optimizer = 0;  // the update's memory traffic
  double total = 0;
  bool dp_crosses_nodes = false;
  bool pp_crosses_nodes = false;
  double model_flops = 0;  // per step
  double tokens_per_s_per_gpu = 0;
  double mfu = 0;  // model FLOPs / (step time x GPUs x dense peak)
};

StepTime step_time(const model::ModelConfig& config, const Layout& layout,
                   const PlanOptions& options, const ClusterSpec& cluster);

}  // namespace megasft::plan
