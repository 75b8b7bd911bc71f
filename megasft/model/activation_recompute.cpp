// Reentrant checkpointing as a custom autograd function: backward rebuilds the layer's graph from the
// saved input and backpropagates through it, which also accumulates the layer's parameter gradients.
#include "megasft/model/activation_recompute.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace megasft::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct LayerFunction : torch::CustomClassHolder {
  std::function<at::Tensor(const at::Tensor&)> fn;
};

struct RecomputeFunction : torch::autograd::Function<RecomputeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, at::IValue fn_value) {
    ctx->save_for_backward({input});
    ctx->saved_data["fn"] = fn_value;
    auto fn = c10::static_intrusive_pointer_cast<LayerFunction>(fn_value.toCapsule());
    return fn->fn(input);  // forward runs without grad inside a custom function: nothing is kept
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto fn = c10::static_intrusive_pointer_cast<LayerFunction>(ctx->saved_data["fn"].toCapsule());
    auto input = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    at::Tensor output;
    {
      at::AutoGradMode enable(true);
      output = fn->fn(input);
    }
    torch::autograd::backward({output}, {grads[0]});
    return {input.grad(), at::Tensor()};
  }
};

}  // namespace

at::Tensor recompute_in_backward(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& input) {
  if (!at::GradMode::is_enabled()) return fn(input);
  auto holder = c10::make_intrusive<LayerFunction>();
  holder->fn = fn;
  return RecomputeFunction::apply(input, at::IValue::make_capsule(holder));
}

}  // namespace megasft::model
