// Peak memory of one GPU (one pipeline stage's rank) under a layout: weights, fp32 main gradients,
// the distributed optimizer's shard, the activations of the micro-batches 1F1B keeps in flight, the
// fused LM head's buffers, p2p and communication buffers, and the runtime's own reserve.
#pragma once

#include <cstdint>
#include <string>

#include "megasft/model/model_config.h"
#include "megasft/model/pipeline_stage.h"
#include "megasft/plan/layout.h"
#include "megasft/plan/plan_options.h"

namespace megasft::plan {

// All in bytes. Two phases peak separately: the pipeline (forward and backward of the
// micro-batches) and the optimizer step (after the pipeline has freed every activation).
struct StageMemory {
  int stage = 0;
  model::PipelineStage range;
  int64_t parameters = 0;      // elements on this rank
  int64_t owned_elements = 0;  // optimizer shard elements on this DP rank
  int64_t in_flight = 1;  // micro-batches whose activations 1F1B holds at once: min(P - stage, M)

  // Held for the whole step.
  double weights = 0;  // parameters in their dtype
  double main_grads =
      0;  // fp32 gradient accumulators, every local element (bucket padding included)
  double optimizer_states =
      0;  // fp32 master weights, two Adam moments and two 0/1 masks: 20 B per owned element
  double runtime = 0;  // context, workspaces, communication library buffers (the cluster file)
  double held() const { return weights + main_grads + optimizer_states + runtime; }

  // The pipeline phase.
  double activations_per_micro_batch =
      0;                           // every layer's saved tensors plus the stage's own (input, norm)
  double other_micro_batches = 0;  // (in_flight - 1) x the above
  double p2p_held = 0;  // input gradients whose sends are waited for only at the step's end
  double backward_peak =
      0;  // the micro-batch being run: its activations + head, or its parameter .grad + working set
  std::string backward_peak_cause;
  double pipeline_peak() const { return held() + other_micro_batches + p2p_held + backward_peak; }

  // The optimizer step.
  double step_transient = 0;  // reduced gradient shard and Adam's denominator: 8 B per owned element
  double dp_buffers = 0;  // the largest bucket's reduce-scatter input and all-gather output, fp32
  double step_peak() const { return held() + step_transient + dp_buffers; }

  double peak() const { return pipeline_peak() > step_peak() ? pipeline_peak() : step_peak(); }
};

// Parts of the backward peak, exposed for the report and the tests.
struct HeadMemory {
  double saved =
      0;  // fp32 gradients of the hidden states and of the head weight, computed in forward
  double forward =
      0;  // transient of the chunk loop: fp32 copy of a bf16 head, one [chunk, V/t] logits buffer
  double backward =
      0;  // transient of the backward: both saved gradients scaled by the incoming gradient
};
HeadMemory head_memory(const model::ModelConfig& config, const Layout& layout,
                       const PlanOptions& options);

// `runtime_bytes` is the cluster's reserve (or, on CPU, the process's measured baseline).
StageMemory stage_memory(const model::ModelConfig& config, const Layout& layout, int stage,
                         const PlanOptions& options, double runtime_bytes);

}  // namespace megasft::plan
