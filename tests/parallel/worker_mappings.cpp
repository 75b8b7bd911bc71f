// Case "mappings": the four conjugate tensor-parallel mappings, forward and backward. Each rank feeds
// its own input X_r and upstream gradient G_r; every rank builds all of them from the shared seed,
// so it knows what the collective must produce (sums in double, concatenations, slices).
#include "parallel/mappings.h"

#include <vector>

#include "tests/parallel/worker_context.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

constexpr double kRtol = 1e-6, kAtol = 1e-7;

// One random tensor per rank, identical on every rank.
std::vector<at::Tensor> per_rank(at::Generator& gen, int size, at::IntArrayRef shape) {
  std::vector<at::Tensor> out;
  for (int r = 0; r < size; ++r) out.push_back(at::randn(shape, gen, at::kDouble));
  return out;
}

at::Tensor sum_of(const std::vector<at::Tensor>& xs) {
  auto total = at::zeros_like(xs[0]);
  for (const auto& x : xs) total += x;
  return total;
}

}  // namespace

void run_mappings_case(WorkerContext& ctx) {
  const int r = ctx.rank, n = ctx.size;
  auto gen = seeded(404);
  auto leaf = [](const at::Tensor& t) { return t.to(at::kFloat).requires_grad_(true); };
  auto f32 = [](const at::Tensor& t) { return t.to(at::kFloat); };

  {  // copy: forward identity, backward all-reduce (sum) of the gradients
    auto x = per_rank(gen, n, {3, 5}), g = per_rank(gen, n, {3, 5});
    auto in = leaf(x[r]);
    auto out = parallel::copy_to_tensor_parallel_region(in, ctx.tp());
    ctx.expect(mismatch("copy forward", out, f32(x[r]), 0, 0));
    (out * f32(g[r])).sum().backward();
    ctx.expect(mismatch("copy backward", in.grad(), sum_of(g), kRtol, kAtol));
  }
  {  // reduce: forward all-reduce (sum), backward identity
    auto x = per_rank(gen, n, {4, 3}), g = per_rank(gen, n, {4, 3});
    auto in = leaf(x[r]);
    auto out = parallel::reduce_from_tensor_parallel_region(in, ctx.tp());
    ctx.expect(mismatch("reduce forward", out, sum_of(x), kRtol, kAtol));
    (out * f32(g[r])).sum().backward();
    ctx.expect(mismatch("reduce backward", in.grad(), f32(g[r]), 0, 0));
  }
  {  // scatter: forward this rank's slice of the last dim, backward all-gather of the last dim
    auto x = at::randn({2, 3, 8}, gen, at::kDouble);
    auto g = per_rank(gen, n, {2, 3, 8 / n});
    auto in = leaf(x);
    auto out = parallel::scatter_to_tensor_parallel_region(in, ctx.tp());
    ctx.expect(mismatch("scatter forward", out, shard_of(f32(x), -1, r, n), 0, 0));
    (out * f32(g[r])).sum().backward();
    ctx.expect(mismatch("scatter backward", in.grad(), f32(at::cat(g, -1)), 0, 0));
  }
  {  // gather: forward all-gather of the last dim, backward this rank's slice
    auto x = per_rank(gen, n, {3, 2});
    auto g = per_rank(gen, n, {3, 2 * n});
    auto in = leaf(x[r]);
    auto out = parallel::gather_from_tensor_parallel_region(in, ctx.tp());
    ctx.expect(mismatch("gather forward", out, f32(at::cat(x, -1)), 0, 0));
    (out * f32(g[r])).sum().backward();
    ctx.expect(mismatch("gather backward", in.grad(), shard_of(f32(g[r]), -1, r, n), 0, 0));
  }
}

}  // namespace megasft::testing
