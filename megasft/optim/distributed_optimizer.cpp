// The distributed optimizer's step. Without sharding (or with one DP rank) every rank owns every
// element and the reduction is an all-reduce; the arithmetic of the update is identical either way.
#include "megasft/optim/distributed_optimizer.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"

namespace megasft::optim {

DistributedOptimizer::DistributedOptimizer(parallel::ParameterList parameters,
                                           const parallel::ParallelState& state,
                                           DistributedOptimizerOptions options)
    : parameters_(std::move(parameters)),
      options_(options),
      tp_(state.tensor()),
      pp_(state.pipeline()),
      dp_(state.data()),
      embedding_(state.embedding()),
      tp_rank_(state.tp_rank()) {
  const bool shard = options_.shard_over_data_parallel && state.data()->size() > 1;
  dp_size_ = shard ? state.data()->size() : 1;
  dp_rank_ = shard ? state.dp_rank() : 0;

  // Parameters are laid out in order; a bucket closes once it holds bucket_mb, padded to DP shards.
  const auto bucket_elements = std::max<int64_t>(1, static_cast<int64_t>(options_.bucket_mb * (1 << 20) / 4));
  int64_t cursor = 0;
  Bucket open;
  for (const auto& p : parameters_) {
    offsets_.push_back(cursor);
    cursor += p.value.numel();
    if (cursor - open.start >= bucket_elements || &p == &parameters_.back()) {
      open.end = open.start + (cursor - open.start + dp_size_ - 1) / dp_size_ * dp_size_;
      cursor = open.end;
      buckets_.push_back(open);
      open = Bucket{cursor, cursor, 0};
    }
  }
  total_ = cursor;
  for (auto& b : buckets_) {
    b.owned_offset = owned_;
    owned_ += shard_size(b);
  }

  main_grad_ = at::zeros({total_}, at::kFloat);
  auto flat = at::zeros({total_}, at::kFloat);
  for (size_t i = 0; i < parameters_.size(); ++i)
    flat.narrow(0, offsets_[i], parameters_[i].value.numel()).copy_(parameters_[i].value.detach().reshape({-1}));
  master_ = at::empty({owned_}, at::kFloat);
  for (const auto& b : buckets_)
    master_.narrow(0, b.owned_offset, shard_size(b)).copy_(flat.narrow(0, owned_start(b), shard_size(b)));
  exp_avg_ = at::zeros_like(master_);
  exp_avg_sq_ = at::zeros_like(master_);
  // Replicated parameters have the same gradient on every TP rank: count them on TP rank 0 only; the
  // last stage's copy of a tied embedding is counted on the first stage.
  for (const auto& b : buckets_) {
    const int64_t lo = owned_start(b), hi = lo + shard_size(b);
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const auto& p = parameters_[i];
      const int64_t p_lo = std::max(lo, offsets_[i]), p_hi = std::min(hi, offsets_[i] + p.value.numel());
      if (p_lo >= p_hi) continue;
      segments_.push_back({b.owned_offset + p_lo - lo, p_hi - p_lo, p.value.dim() >= 2,
                           (p.is_tensor_parallel() || tp_rank_ == 0) && !p.is_duplicate});
    }
  }
}

void DistributedOptimizer::accumulate_gradients() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto& value = parameters_[i].value;
    if (!value.grad().defined()) continue;
    main_grad_.narrow(0, offsets_[i], value.numel()).add_(value.grad().reshape({-1}).to(at::kFloat));
    value.mutable_grad() = at::Tensor();
  }
}

void DistributedOptimizer::write_parameters(const at::Tensor& flat_values, int64_t start, int64_t end) {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const int64_t lo = std::max(start, offsets_[i]), hi = std::min(end, offsets_[i] + parameters_[i].value.numel());
    if (lo >= hi) continue;
    auto target = parameters_[i].value.detach().view({-1}).narrow(0, lo - offsets_[i], hi - lo);
    target.copy_(flat_values.narrow(0, lo - start, hi - lo));
  }
}

at::Tensor DistributedOptimizer::gather_flat(const at::Tensor& owned) const {
  auto flat = at::zeros({total_}, at::kFloat);
  for (const auto& b : buckets_) {
    auto shard = owned.narrow(0, b.owned_offset, shard_size(b));
    flat.narrow(0, b.start, b.end - b.start).copy_(dp_size_ > 1 ? dp_->all_gather(shard).reshape({-1}) : shard);
  }
  return flat;
}

std::vector<DistributedOptimizer::ParameterState> DistributedOptimizer::gather_state() const {
  at::NoGradGuard no_grad;
  auto master = gather_flat(master_), exp_avg = gather_flat(exp_avg_), exp_avg_sq = gather_flat(exp_avg_sq_);
  std::vector<ParameterState> state;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto shape = parameters_[i].value.sizes();
    const int64_t n = parameters_[i].value.numel();
    state.push_back({master.narrow(0, offsets_[i], n).view(shape).clone(),
                     exp_avg.narrow(0, offsets_[i], n).view(shape).clone(),
                     exp_avg_sq.narrow(0, offsets_[i], n).view(shape).clone()});
  }
  return state;
}

void DistributedOptimizer::load_state(const std::vector<ParameterState>& state, int64_t steps_taken) {
  at::NoGradGuard no_grad;
  MEGASFT_CHECK(state.size() == parameters_.size(), "optimizer state for ", state.size(), " parameters, model has ",
                parameters_.size());
  auto flats = std::array<at::Tensor, 3>{at::zeros({total_}, at::kFloat), at::zeros({total_}, at::kFloat),
                                         at::zeros({total_}, at::kFloat)};
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& p = parameters_[i];
    const at::Tensor* parts[3] = {&state[i].master, &state[i].exp_avg, &state[i].exp_avg_sq};
    for (int k = 0; k < 3; ++k) {
      MEGASFT_CHECK(parts[k]->sizes() == p.value.sizes(), "optimizer state of ", p.name, " has shape ",
                    parts[k]->sizes(), ", the parameter ", p.value.sizes());
      flats[k].narrow(0, offsets_[i], p.value.numel()).copy_(parts[k]->reshape({-1}));
    }
  }
  at::Tensor* owned[3] = {&master_, &exp_avg_, &exp_avg_sq_};
  for (int k = 0; k < 3; ++k)
    for (const auto& b : buckets_)
      owned[k]->narrow(0, b.owned_offset, shard_size(b)).copy_(flats[k].narrow(0, owned_start(b), shard_size(b)));
  write_parameters(flats[0], 0, total_);
  step_ = steps_taken;
}

double DistributedOptimizer::step(double lr, double max_norm) {
  NvtxRange range("optimizer_step");
  at::NoGradGuard no_grad;
  ++step_;
  // 0. Tied embeddings: both pipeline copies take the sum of their gradients, so they stay equal.
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].tied_across_stages) continue;
    auto slice = main_grad_.narrow(0, offsets_[i], parameters_[i].value.numel());
    embedding_->all_reduce(slice, parallel::ReduceOp::kSum);
  }

  // Sequence parallelism: replicated parameters saw only this rank's part of the sequence.
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].sequence_parallel) continue;
    auto slice = main_grad_.narrow(0, offsets_[i], parameters_[i].value.numel());
    tp_->all_reduce(slice, parallel::ReduceOp::kSum);
  }

  // 1. Reduce gradients over DP, bucket by bucket, to the owners of each shard.
  auto grad = at::empty({owned_}, at::kFloat);
  for (const auto& b : buckets_) {
    NvtxRange bucket_range("grad_reduce_bucket");
    auto bucket = main_grad_.narrow(0, b.start, b.end - b.start);
    if (dp_size_ > 1) {
      grad.narrow(0, b.owned_offset, shard_size(b)).copy_(dp_->reduce_scatter(bucket));
    } else {
      if (dp_->size() > 1) dp_->all_reduce(bucket, parallel::ReduceOp::kSum);
      grad.narrow(0, b.owned_offset, shard_size(b)).copy_(bucket);
    }
  }
  main_grad_.zero_();

  // 2. Global norm over every rank's distinct elements, in double so it does not depend on the layout.
  // Accumulated in double a million elements at a time, so no full-size float64 copy is ever made.
  constexpr int64_t kNormChunk = 1 << 20;
  double local_squares = 0;
  for (const auto& seg : segments_) {
    if (!seg.in_norm) continue;
    for (int64_t start = 0; start < seg.length; start += kNormChunk)
      local_squares += grad.narrow(0, seg.owned_offset + start, std::min(kNormChunk, seg.length - start))
                           .to(at::kDouble).pow(2).sum().item<double>();
  }
  auto squares = at::full({1}, local_squares, at::kDouble);
  if (dp_size_ > 1) dp_->all_reduce(squares, parallel::ReduceOp::kSum);
  tp_->all_reduce(squares, parallel::ReduceOp::kSum);
  pp_->all_reduce(squares, parallel::ReduceOp::kSum);
  const double norm = std::sqrt(squares.item<double>());
  if (max_norm > 0 && norm > max_norm) grad.mul_(max_norm / (norm + 1e-6));

  // 3. AdamW on the owned fp32 master weights, then every rank gets the new values.
  if (options_.adam.weight_decay > 0)
    for (const auto& seg : segments_)
      if (seg.decay) master_.narrow(0, seg.owned_offset, seg.length).mul_(1.0 - lr * options_.adam.weight_decay);
  adam_update_(master_, grad, exp_avg_, exp_avg_sq_, lr, step_, options_.adam);
  for (const auto& b : buckets_) {
    auto shard = master_.narrow(0, b.owned_offset, shard_size(b));
    auto values = dp_size_ > 1 ? dp_->all_gather(shard).reshape({-1}) : shard;
    write_parameters(values, b.start, b.end);
  }
  return norm;
}

}  // namespace megasft::optim
