// Every term in seconds for one rank of one stage; DP groups, TP groups and stages run in parallel,
// so a step takes the slowest stage's schedule. Megatron rank order (TP adjacent, then DP, then PP)
// decides which links a group uses: DP crosses nodes once TP x DP exceeds a node, PP once TP x DP x
// PP does.
#include "megasft/plan/time_model.h"

#include <algorithm>
#include <cmath>

#include "megasft/model/pipeline_stage.h"
#include "megasft/plan/activation_memory.h"
#include "megasft/plan/parameter_count.h"

namespace megasft::plan {
namespace {

// Small-message latency of one NCCL collective or send (assumption, from nccl-tests on 8-GPU
// NVSwitch nodes: all-reduce of a few KiB takes 10-20 us; across nodes over 400 Gb/s RoCE/IB, 20-40
// us).
constexpr double kLatencyNvlinkS = 15e-6, kLatencyInterNodeS = 30e-6;
// Elementwise traffic: what a layer keeps is written in forward, read in backward, and its gradient
// is written and read once more: 4 passes (a rebuild under recompute adds 2). The head's logits
// chunk is written, read for the top-k and the sum of exponentials, rewritten as its gradient, read
// by two GEMMs.
constexpr double kActivationPasses = 4, kRecomputePasses = 2, kLogitsPasses = 5;
// The update reads and writes the master weights and both moments (24 B per owned element), reads the
// gradient twice (norm, Adam), writes and reads Adam's denominator, and the norm's chunked float64
// pass reads and writes about 24 B more: about 64 B per owned element.
constexpr double kOptimizerTrafficPerOwned = 64;

double ring_all_reduce_s(double bytes, int ranks, double bandwidth, double latency) {
  if (ranks <= 1) return 0;
  return 2.0 * (ranks - 1) / ranks * bytes / bandwidth + latency;
}

}  // namespace

double model_flops_per_token(const model::ModelConfig& c, int64_t seq_len) {
  const double h = static_cast<double>(c.hidden_size), d = static_cast<double>(c.head_dim());
  const double q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const double layer_matmul = h * (q + 2 * kv) + q * h + 3 * h * c.intermediate_size;
  const double head = static_cast<double>(c.vocab_size) * h;
  return 6 * (c.num_layers * layer_matmul + head) + 12.0 * c.num_layers * seq_len * q;
}

StepTime step_time(const model::ModelConfig& c, const Layout& layout, const PlanOptions& o,
                   const ClusterSpec& cluster) {
  StepTime st;
  const int t = layout.tp, P = layout.pp;
  st.micro_batches = o.global_batch / (layout.micro_batch * layout.dp);
  const double M = static_cast<double>(st.micro_batches);
  const double e = static_cast<double>(o.element_bytes()), h = static_cast<double>(c.hidden_size);
  const double tokens = static_cast<double>(layout.micro_batch * o.seq_len);
  const double d = static_cast<double>(c.head_dim());
  const double q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const double vocab_local = static_cast<double>(vocab_rows_per_rank(c, t));
  const MicroBatchShape shape{layout.micro_batch, o.seq_len, o.element_bytes(), t,
                              layout.sequence_parallel};
  const auto layer = layer_activations(c, shape);

  const int node = cluster.gpus_per_node;
  st.dp_crosses_nodes = layout.tp * layout.dp > node;
  st.pp_crosses_nodes = P > 1 && layout.tp * layout.dp * P > node;
  const double nvlink = cluster.nvlink_bytes_per_s(), network = cluster.inter_node_bytes_per_s();

  // Per token and TP rank, forward: the layer's GEMMs and attention's QK^T and PV over the full s x
  // s (megasft masks the upper triangle rather than skipping it).
  const double layer_flops = 2 * (h * (q + 2 * kv) + q * h + 3 * h * c.intermediate_size) / t +
                             2 * 2 * static_cast<double>(o.seq_len) * q / t;
  const double between_stages = e * tokens * h / shape.sequence_divisor();
  const double p2p_bandwidth = st.pp_crosses_nodes ? network : nvlink;
  const double p2p_latency = st.pp_crosses_nodes ? kLatencyInterNodeS : kLatencyNvlinkS;
  const double chunks = std::ceil(tokens / static_cast<double>(o.loss_chunk_tokens));

  double slowest = 0, sum = 0;
  for (int s = 0; s < P; ++s) {
    const auto range = model::PipelineStage::split(c.num_layers, s, P, layout.pipeline_layers);
    const double L = static_cast<double>(range.num_layers);
    StageTime time;
    const double passes = layout.recompute ? 4.0 : 3.0;  // forward, backward (2x), and the rebuild
    double flops = passes * tokens * L * layer_flops;
    double traffic =
        L * layer.saved() * (kActivationPasses + (layout.recompute ? kRecomputePasses : 0));
    // TP: per layer two reductions forward and two in backward (the conjugate copies), two more to
    // rebuild.
    double all_reduces =
        L * (layout.recompute ? 6 : 4) + (range.is_first ? 1 : 0) + (range.is_last ? 1 : 0);
    time.tp_comm = all_reduces * ring_all_reduce_s(e * tokens * h, t, nvlink, kLatencyNvlinkS);
    if (range.is_last) {
      flops += 6 * tokens * vocab_local *
               h;  // logits, then the gradients of hidden states and head weight
      traffic += kLogitsPasses * 4 * tokens * vocab_local;
      // The objective's exchange per chunk: k + 1 floats all-gathered, one or four doubles
      // all-reduced.
      const double gathered = 4.0 * tokens * (o.top_k + 1) * (t - 1);
      if (t > 1) time.tp_comm += gathered / nvlink + 2 * chunks * kLatencyNvlinkS;
    }
    time.compute = flops / cluster.flops_per_s();
    time.memory = traffic / cluster.hbm_bytes_per_s();
    if (P > 1) time.p2p = 2 * (between_stages / p2p_bandwidth + p2p_latency);
    st.stages.push_back(time);
    slowest = std::max(slowest, time.total());
    sum += time.total();
  }
  st.pipeline = (M - 1) * slowest + sum;
  st.bubble = (P - 1) / M;

  // DP: every stage's group reduces and gathers its own flat buffer at once; the largest one
  // decides.
  double flat = 0, owned = 0;
  for (int s = 0; s < P; ++s) {
    const auto range = model::PipelineStage::split(c.num_layers, s, P, layout.pipeline_layers);
    const auto shard =
        distributed_optimizer_shard(stage_parameters(c, t, range), layout.dp, o.grad_bucket_mb);
    flat = std::max(flat, static_cast<double>(shard.flat_elements));
    owned = std::max(owned, static_cast<double>(shard.owned_elements));
  }
  if (layout.dp > 1) {
    const double bandwidth = st.dp_crosses_nodes ? network : nvlink;
    const double latency = st.dp_crosses_nodes ? kLatencyInterNodeS : kLatencyNvlinkS;
    const double buckets = std::ceil(flat * 4 / (o.grad_bucket_mb * (1 << 20)));
    // Reduce-scatter and all-gather each move (DP - 1) / DP of the fp32 buffer: one all-reduce's
    // worth.
    const double full =
        ring_all_reduce_s(4 * flat, layout.dp, bandwidth, 0) + 2 * buckets * latency;
    st.dp_comm = (1 - o.dp_overlap) * full;
  }
  if (c.tie_word_embeddings && P > 1)
    st.embedding_sync =
        4 * vocab_local * h / (st.pp_crosses_nodes ? network : nvlink) + kLatencyInterNodeS;
  st.optimizer =
      (kOptimizerTrafficPerOwned * owned + 4 * flat + e * flat) / cluster.hbm_bytes_per_s();
  st.total = st.pipeline + st.dp_comm + st.embedding_sync + st.optimizer;

  const double step_tokens = static_cast<double>(o.global_batch * o.seq_len);
  st.model_flops = step_tokens * model_flops_per_token(c, o.seq_len);
  const double gpus = layout.world_size();
  st.tokens_per_s_per_gpu = step_tokens / st.total / gpus;
  st.mfu = st.model_flops / (st.total * gpus * cluster.dense_bf16_tflops * 1e12);
  return st;
}

}  // namespace megasft::plan
