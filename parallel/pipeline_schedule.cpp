// 1F1B with asynchronous sends and blocking receives: a stage never blocks on a send, so the
// send-forward/receive-backward pairs of neighbouring stages cannot wait on each other.
#include "parallel/pipeline_schedule.h"

#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <deque>
#include <memory>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"

namespace megasft::parallel {
namespace {

// Tags keep a step's messages apart: forward activations and backward gradients of micro-batch i.
int forward_tag(int64_t i) { return static_cast<int>(2 * i); }
int backward_tag(int64_t i) { return static_cast<int>(2 * i + 1); }

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

class StageRunner {
 public:
  StageRunner(const PipelineStep& step, const CommunicatorPtr& pipeline)
      : step_(step), pp_(pipeline), first_(pipeline->rank() == 0), last_(pipeline->rank() == pipeline->size() - 1) {}

  void forward(int64_t i) {
    NvtxRange range("pipeline_forward");
    at::Tensor input;
    if (!first_) {
      input = at::empty(step_.activation_shape, at::TensorOptions().dtype(step_.activation_dtype));
      pp_->recv(input, pp_->rank() - 1, forward_tag(i));
      release_sent_outputs();
      input.requires_grad_(true);
    }
    const auto start = Clock::now();
    at::Tensor output = step_.forward(i, input);
    compute_s_ += seconds_since(start);
    if (!last_) {
      MEGASFT_CHECK(output.sizes() == at::IntArrayRef(step_.activation_shape), "pipeline stage ", pp_->rank(),
                    " produced ", output.sizes(), ", expected ", at::IntArrayRef(step_.activation_shape));
      sent_outputs_.push_back(output);
      forward_sends_.push_back(pp_->isend(output.detach(), pp_->rank() + 1, forward_tag(i)));
    }
    in_flight_.push_back({i, input, output});
  }

  void backward() {
    NvtxRange range("pipeline_backward");
    MEGASFT_CHECK(!in_flight_.empty(), "pipeline backward without a pending forward");
    InFlight oldest = std::move(in_flight_.front());
    in_flight_.pop_front();
    at::Tensor grad;
    if (!last_) {
      grad = at::empty(step_.activation_shape, at::TensorOptions().dtype(step_.activation_dtype));
      pp_->recv(grad, pp_->rank() + 1, backward_tag(oldest.index));
      release_sent_outputs();
    }
    const auto start = Clock::now();
    if (last_)
      torch::autograd::backward({oldest.output});
    else
      torch::autograd::backward({oldest.output}, {grad});
    if (step_.after_backward) step_.after_backward();
    compute_s_ += seconds_since(start);
    if (!first_) {
      MEGASFT_CHECK(oldest.input.grad().defined(), "pipeline stage ", pp_->rank(), " got no input gradient");
      backward_sends_.push_back(pp_->isend(oldest.input.grad(), pp_->rank() - 1, backward_tag(oldest.index)));
    }
  }

  void finish() {
    release_sent_outputs();
    for (auto& send : backward_sends_) send->wait();
  }
  double compute_seconds() const { return compute_s_; }

 private:
  struct InFlight {
    int64_t index;
    at::Tensor input, output;
  };

  // After a receive, the sends posted before it have been taken by the next stage (it had to post
  // this receive's matching send after its own receive of them): their storage can go, while the
  // autograd graph behind each output stays for the backward (Megatron's deallocate_output_tensor).
  void release_sent_outputs() {
    while (!forward_sends_.empty()) {
      forward_sends_.front()->wait();
      forward_sends_.pop_front();
      sent_outputs_.front().set_data(at::empty({0}, sent_outputs_.front().options()));
      sent_outputs_.pop_front();
    }
  }

  const PipelineStep& step_;
  CommunicatorPtr pp_;
  bool first_, last_;
  std::deque<InFlight> in_flight_;
  std::deque<at::Tensor> sent_outputs_;
  std::deque<std::unique_ptr<PendingSend>> forward_sends_;
  std::vector<std::unique_ptr<PendingSend>> backward_sends_;
  double compute_s_ = 0;
};

}  // namespace

PipelineTimings run_one_f_one_b(const PipelineStep& step, const CommunicatorPtr& pipeline) {
  MEGASFT_CHECK(step.micro_batches >= 1, "a pipeline step needs at least one micro-batch");
  const auto start = Clock::now();
  StageRunner stage(step, pipeline);
  const int64_t stages = pipeline->size(), rank = pipeline->rank();
  const int64_t warmup = std::min(stages - rank - 1, step.micro_batches);
  for (int64_t i = 0; i < warmup; ++i) stage.forward(i);
  for (int64_t i = warmup; i < step.micro_batches; ++i) {
    stage.forward(i);
    stage.backward();
  }
  for (int64_t i = 0; i < warmup; ++i) stage.backward();
  stage.finish();
  return {stage.compute_seconds(), seconds_since(start)};
}

at::Tensor pipeline_inference_forward(const std::function<at::Tensor(const at::Tensor&)>& stage_forward,
                                      const at::Tensor& first_input, const std::vector<int64_t>& activation_shape,
                                      at::ScalarType activation_dtype, const CommunicatorPtr& pipeline) {
  const int rank = pipeline->rank(), stages = pipeline->size();
  at::Tensor input = first_input;
  if (rank > 0) {
    input = at::empty(activation_shape, at::TensorOptions().dtype(activation_dtype));
    pipeline->recv(input, rank - 1, 0);
  }
  at::Tensor output = stage_forward(input);
  if (rank == stages - 1) return output;
  pipeline->isend(output.contiguous(), rank + 1, 0)->wait();
  return at::Tensor();
}

}  // namespace megasft::parallel
