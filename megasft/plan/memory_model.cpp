// The phases of one step on one stage, as megasft runs them (sft_trainer.cpp,
// pipeline_schedule.cpp, distributed_optimizer.cpp, fused_head_loss.cpp):
//   pipeline  1F1B keeps min(P - stage, M) micro-batches' activations; the one being backpropagated
//             turns its activations into parameter .grad (in the parameters' dtype) until the
//             optimizer moves them into the fp32 main gradients and drops them, micro-batch by
//             micro-batch. Activations fall and .grad grows linearly through the stage, so the peak
//             is at one end: all activations (+ the head's buffers on the last stage), or all
//             .grad.
//   step      the reduced gradient shard and Adam's denominator (the clipping norm is accumulated in
//             float64 over chunks of a million elements).
#include "megasft/plan/memory_model.h"

#include <algorithm>

#include "kernels/check.h"
#include "megasft/plan/activation_memory.h"
#include "megasft/plan/parameter_count.h"

namespace megasft::plan {
namespace {

constexpr double kFloat32 = 4, kInt64 = 8, kFloat64 = 8;
// Per owned element during the step: the reduced gradient and Adam's denominator (fp32); the norm is
// accumulated in float64 over chunks of a million elements, a fixed 16 MiB.
constexpr double kStepBytesPerOwned = 2 * kFloat32;
// Master weights, exp_avg and exp_avg_sq: three fp32 vectors per owned element.
constexpr double kOptimizerBytesPerOwned = 3 * kFloat32;

}  // namespace

HeadMemory head_memory(const model::ModelConfig& c, const Layout& layout, const PlanOptions& o) {
  const double e = static_cast<double>(o.element_bytes()), h = static_cast<double>(c.hidden_size);
  const double vocab_local = static_cast<double>(vocab_rows_per_rank(c, layout.tp));
  const double tokens =
      static_cast<double>(layout.micro_batch * o.seq_len);  // the head sees the whole sequence
  const double chunk = std::min(static_cast<double>(o.loss_chunk_tokens), tokens);
  HeadMemory m;
  m.saved = kFloat32 * vocab_local * h + kFloat32 * tokens * h;
  // Per chunk: the statistics exchange (k + 1 floats per token from every TP rank, one or four
  // sums).
  const double sums = o.objective == "gem" ? 4 : 1;
  const double statistics =
      kFloat32 * chunk * (o.top_k + 1) * (layout.tp + 1) + 2 * kFloat64 * chunk * sums;
  const double head_input =
      e * tokens * h * (layout.sequence_parallel ? 1.0 + 1.0 / layout.tp : 1.0);
  m.forward = (e < kFloat32 ? kFloat32 * vocab_local * h : 0) +
              kFloat32 * chunk * (vocab_local + h) + statistics + head_input;
  m.backward =
      kFloat32 * vocab_local * h + kFloat32 * tokens * h + (e < kFloat32 ? e * tokens * h : 0);
  return m;
}

StageMemory stage_memory(const model::ModelConfig& c, const Layout& layout, int stage,
                         const PlanOptions& o, double runtime_bytes) {
  MEGASFT_CHECK(layout.micro_batch >= 1 && o.global_batch % (layout.micro_batch * layout.dp) == 0,
                "global batch ", o.global_batch, " is not a multiple of micro-batch ",
                layout.micro_batch, " x DP ", layout.dp);
  StageMemory m;
  m.stage = stage;
  m.range = model::PipelineStage::split(c.num_layers, stage, layout.pp, layout.pipeline_layers);
  const auto parameters = stage_parameters(c, layout.tp, m.range);
  const auto shard = distributed_optimizer_shard(parameters, layout.dp, o.grad_bucket_mb);
  m.parameters = total_numel(parameters);
  m.owned_elements = shard.owned_elements;

  const double e = static_cast<double>(o.element_bytes()), h = static_cast<double>(c.hidden_size);
  const int64_t micro_batches = o.global_batch / (layout.micro_batch * layout.dp);
  const MicroBatchShape shape{layout.micro_batch, o.seq_len, o.element_bytes(), layout.tp,
                              layout.sequence_parallel};
  const double tokens = static_cast<double>(shape.tokens());
  const double between_stages = e * tokens * h / shape.sequence_divisor();  // [b, s(/t), h]
  const auto layer = layer_activations(c, shape);
  const double layers = static_cast<double>(m.range.num_layers);

  m.weights = e * m.parameters;
  m.main_grads = kFloat32 * shard.flat_elements;
  m.optimizer_states = kOptimizerBytesPerOwned * shard.owned_elements;
  m.runtime = runtime_bytes;

  // One micro-batch's activations on this stage. Under recompute each layer keeps its input only
  // (the first one's is the stage input). In fp32 without recompute the first norm's "fp32 copy" is
  // the stage input itself, already counted in the layer.
  double per_micro_batch = layers * (layout.recompute ? layer.input : layer.saved());
  if (m.range.is_first)  // the embedding keeps the ids (and, under TP, the out-of-shard mask)
    per_micro_batch += kInt64 * tokens + (layout.tp > 1 ? tokens : 0);
  else if (!layout.recompute && e < kFloat32)
    per_micro_batch += between_stages;
  if (m.range.is_last)
    per_micro_batch += layer.norms / 2;  // the final RMSNorm, one of a layer's two
  m.activations_per_micro_batch = per_micro_batch;
  m.in_flight = std::min<int64_t>(layout.pp - stage, micro_batches);
  m.other_micro_batches = static_cast<double>(m.in_flight - 1) * per_micro_batch;

  // A stage's output waits for the next stage's receive; its input gradients are sent with isend
  // and waited for only when the schedule ends, so every later backward adds one.
  if (!m.range.is_last) m.p2p_held += between_stages;
  if (!m.range.is_first)
    m.p2p_held +=
        static_cast<double>(std::max<int64_t>(0, micro_batches - m.in_flight)) * between_stages;

  const double working =
      layer.working + (layout.recompute ? layer.saved() : 0);  // recompute rebuilds one layer
  const double grads = e * m.parameters;
  m.backward_peak = per_micro_batch + working;
  m.backward_peak_cause = "activations + one layer's working set";
  if (grads + working > m.backward_peak) {
    m.backward_peak = grads + working;
    m.backward_peak_cause = "parameter .grad + one layer's working set";
  }
  if (m.range.is_last) {
    const auto head = head_memory(c, layout, o);
    const double head_grad = e * static_cast<double>(vocab_rows_per_rank(c, layout.tp)) * h;
    const double with_head =
        per_micro_batch + head.saved + std::max(head.forward, head.backward + head_grad);
    if (with_head > m.backward_peak) {
      m.backward_peak = with_head;
      m.backward_peak_cause = "activations + fused LM head buffers";
    }
  }

  m.step_transient = kStepBytesPerOwned * shard.owned_elements;
  m.dp_buffers = layout.dp > 1 ? 2 * kFloat32 * shard.largest_bucket : 0;
  return m;
}

}  // namespace megasft::plan
