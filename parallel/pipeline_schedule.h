// The 1F1B pipeline schedule (warm-up, steady state, cool-down) of one training step on one stage,
// with activations and their gradients sent point-to-point between neighbouring stages.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <vector>

#include "parallel/communicator.h"

namespace megasft::parallel {

struct PipelineStep {
  int64_t micro_batches = 1;
  std::vector<int64_t> activation_shape;  // what flows between stages, the same for every micro-batch
  at::ScalarType activation_dtype = at::kFloat;
  // Runs micro-batch `index` forward on this stage. `input` is the previous stage's activation (a leaf
  // that requires grad), undefined on the first stage. Returns the activation for the next stage, or
  // on the last stage the scalar loss to backpropagate.
  std::function<at::Tensor(int64_t index, const at::Tensor& input)> forward;
  // Called after each micro-batch's backward (e.g. to move gradients into fp32 accumulators).
  std::function<void()> after_backward;
};

// Megatron's non-interleaved 1F1B: stage s runs min(P - s - 1, M) warm-up forwards, then alternates
// one forward and one backward, then drains the remaining backwards. With one stage it is forward
// then backward per micro-batch. A stage output is released (its storage freed, its autograd graph
// kept) once the next stage has it, so at most P - s activations of outputs are held at once.
// Where the step's time went on this stage: the bubble is the time not spent computing.
struct PipelineTimings {
  double compute_s = 0;  // inside forward and backward of this stage
  double total_s = 0;    // the whole schedule, waiting on neighbours included
};

PipelineTimings run_one_f_one_b(const PipelineStep& step, const CommunicatorPtr& pipeline);

// Forward only, one micro-batch (inference, calibration): the first stage runs `stage_forward` on
// `first_input`, every later stage on what it receives. Returns the last stage's output there and an
// undefined tensor on the other stages.
at::Tensor pipeline_inference_forward(const std::function<at::Tensor(const at::Tensor&)>& stage_forward,
                                      const at::Tensor& first_input, const std::vector<int64_t>& activation_shape,
                                      at::ScalarType activation_dtype, const CommunicatorPtr& pipeline);

}  // namespace megasft::parallel
