// Case "layers": ColumnParallelLinear (two output blocks, bias), RowParallelLinear (bias) and
// VocabParallelEmbedding (padded vocabulary, ids on every shard) against the float64 single-process
// composition: forward output, input gradient, and this rank's weight/bias gradient shards as slices
// of the full gradients of L = sum(Y * G) for a random upstream G.
#include "parallel/layers.h"

#include <string>

#include "tests/parallel/worker_context.h"
#include "tests/support/tensor_compare.h"

namespace megasft::testing {
namespace {

constexpr double kRtol = 1e-5, kAtol = 1e-6;

parallel::ParameterList parameters_of(const parallel::ColumnParallelLinear& layer) {
  parallel::ParameterList out;
  layer.append_parameters(out);
  return out;
}
parallel::ParameterList parameters_of(const parallel::RowParallelLinear& layer) {
  parallel::ParameterList out;
  layer.append_parameters(out);
  return out;
}

void column_parallel(WorkerContext& ctx) {
  const int64_t in = 6;
  const std::vector<int64_t> blocks = {8, 4};
  auto gen = seeded(101);
  auto w0 = at::randn({blocks[0], in}, gen, at::kDouble), w1 = at::randn({blocks[1], in}, gen, at::kDouble);
  auto b0 = at::randn({blocks[0]}, gen, at::kDouble), b1 = at::randn({blocks[1]}, gen, at::kDouble);
  auto x = at::randn({3, 5, in}, gen, at::kDouble);
  auto g = at::randn({3, 5, blocks[0] + blocks[1]}, gen, at::kDouble);  // upstream gradient, full

  parallel::ColumnParallelLinear layer("col", in, blocks, /*bias=*/true, ctx.tp());
  layer.load_full({w0.to(at::kFloat), w1.to(at::kFloat)}, {b0.to(at::kFloat), b1.to(at::kFloat)});
  auto x_leaf = x.to(at::kFloat).requires_grad_(true);
  auto y = layer.forward(x_leaf);
  (y * block_shard_of(g, -1, blocks, ctx.rank, ctx.size).to(at::kFloat)).sum().backward();

  // Reference on the full layer, in double.
  auto w = at::cat({w0, w1}, 0), b = at::cat({b0, b1}, 0);
  auto y_full = at::matmul(x, w.t()) + b;
  auto gx = at::matmul(g, w);                                    // dL/dX, complete on every rank
  auto gw = at::matmul(g.reshape({-1, g.size(-1)}).t(), x.reshape({-1, in}));  // [out, in]
  auto gb = g.reshape({-1, g.size(-1)}).sum(0);
  ctx.expect(mismatch("column output", y, block_shard_of(y_full, -1, blocks, ctx.rank, ctx.size), kRtol, kAtol));
  ctx.expect(mismatch("column input grad", x_leaf.grad(), gx, kRtol, kAtol));
  auto params = parameters_of(layer);
  ctx.expect_true(params.size() == 2 && params[0].partition_dim == 0 && params[1].partition_dim == 0,
                  "column parameters: expected weight and bias split on dim 0");
  ctx.expect_true(params[0].full_shape == std::vector<int64_t>{12, in}, "column weight full_shape");
  ctx.expect(mismatch("column weight grad", params[0].value.grad(),
                      block_shard_of(gw, 0, blocks, ctx.rank, ctx.size), kRtol, kAtol));
  ctx.expect(mismatch("column bias grad", params[1].value.grad(),
                      block_shard_of(gb, 0, blocks, ctx.rank, ctx.size), kRtol, kAtol));
}

void row_parallel(WorkerContext& ctx) {
  const int64_t in = 8, out = 5;
  auto gen = seeded(202);
  auto w = at::randn({out, in}, gen, at::kDouble), b = at::randn({out}, gen, at::kDouble);
  auto x = at::randn({3, 4, in}, gen, at::kDouble);
  auto g = at::randn({3, 4, out}, gen, at::kDouble);

  parallel::RowParallelLinear layer("row", in, out, /*bias=*/true, ctx.tp());
  layer.load_full(w.to(at::kFloat), b.to(at::kFloat));
  auto x_local = shard_of(x, -1, ctx.rank, ctx.size).to(at::kFloat).requires_grad_(true);
  auto y = layer.forward(x_local);  // replicated
  (y * g.to(at::kFloat)).sum().backward();

  auto y_full = at::matmul(x, w.t()) + b;
  auto gx = at::matmul(g, w);
  auto gw = at::matmul(g.reshape({-1, out}).t(), x.reshape({-1, in}));
  ctx.expect(mismatch("row output", y, y_full, kRtol, kAtol));
  ctx.expect(mismatch("row input grad", x_local.grad(), shard_of(gx, -1, ctx.rank, ctx.size), kRtol, kAtol));
  auto params = parameters_of(layer);
  ctx.expect_true(params.size() == 2 && params[0].partition_dim == 1 && params[1].partition_dim == -1,
                  "row parameters: expected weight split on dim 1 and a replicated bias");
  ctx.expect(mismatch("row weight grad", params[0].value.grad(), shard_of(gw, 1, ctx.rank, ctx.size),
                      kRtol, kAtol));
  ctx.expect(mismatch("row bias grad", params[1].value.grad(), g.reshape({-1, out}).sum(0), kRtol, kAtol));
}

void vocab_parallel_embedding(WorkerContext& ctx) {
  const int64_t vocab = 10, padded = 12, hidden = 4;  // 12 splits over 1, 2 and 4 ranks
  auto gen = seeded(303);
  auto w = at::randn({vocab, hidden}, gen, at::kDouble);
  // Every id appears (so every shard serves lookups), plus random repeats.
  auto ids = at::cat({at::randperm(vocab, gen, at::kLong), at::randint(0, vocab, {11}, gen, at::kLong)})
                 .reshape({3, 7});
  auto g = at::randn({3, 7, hidden}, gen, at::kDouble);

  parallel::VocabParallelEmbedding layer("emb", padded, hidden, ctx.tp());
  layer.load_full(w.to(at::kFloat));
  auto y = layer.forward(ids);
  (y * g.to(at::kFloat)).sum().backward();

  auto w_padded = at::cat({w, at::zeros({padded - vocab, hidden}, at::kDouble)}, 0);
  auto gw = at::zeros_like(w_padded).index_add_(0, ids.reshape({-1}), g.reshape({-1, hidden}));
  ctx.expect_true(layer.vocab_start() == ctx.rank * padded / ctx.size && layer.rows_local() == padded / ctx.size,
                  "embedding shard bounds");
  ctx.expect(mismatch("embedding weight shard", layer.weight(), shard_of(w_padded, 0, ctx.rank, ctx.size).to(at::kFloat), 0, 0));
  ctx.expect(mismatch("embedding output", y, w.index_select(0, ids.reshape({-1})).reshape({3, 7, hidden}),
                      kRtol, kAtol));
  ctx.expect(mismatch("embedding weight grad", layer.weight().grad(), shard_of(gw, 0, ctx.rank, ctx.size),
                      kRtol, kAtol));
}

}  // namespace

void run_layers_case(WorkerContext& ctx) {
  column_parallel(ctx);
  row_parallel(ctx);
  vocab_parallel_embedding(ctx);
}

}  // namespace megasft::testing
