// Element-wise comparison of a computed tensor with an independent (usually float64) reference.
// Returns "" when |got - expected| <= atol + rtol * |expected| everywhere, else a description of the
// worst element, so gtest (EXPECT_EQ(..., "")) and the multi-rank worker report mismatches the same way.
#pragma once

#include <ATen/ATen.h>

#include <sstream>
#include <string>

namespace megasft::testing {

inline std::string mismatch(const std::string& what, const at::Tensor& got, const at::Tensor& expected,
                            double rtol, double atol) {
  std::ostringstream out;
  if (!got.defined() || !expected.defined()) {
    out << what << ": undefined tensor (got " << got.defined() << ", expected " << expected.defined() << ")";
    return out.str();
  }
  if (got.sizes() != expected.sizes()) {
    out << what << ": shape " << got.sizes() << ", expected " << expected.sizes();
    return out.str();
  }
  if (got.numel() == 0) return "";
  auto g = got.detach().to(at::kDouble).contiguous().reshape({-1});
  auto e = expected.detach().to(at::kDouble).contiguous().reshape({-1});
  auto error = (g - e).abs();
  auto allowed = e.abs() * rtol + atol;
  // NaN anywhere is a failure: the comparison below is false for NaN, so count it explicitly.
  auto bad = error.gt(allowed).logical_or(g.isnan()).logical_or(e.isnan());
  if (!bad.any().item<bool>()) return "";
  auto excess = at::where(bad, error - allowed, at::zeros_like(error)).nan_to_num(1e300);
  const int64_t i = excess.argmax().item<int64_t>();
  out.precision(10);
  out << what << ": " << bad.sum().item<int64_t>() << " of " << g.numel()
      << " elements out of tolerance (rtol " << rtol << ", atol " << atol << "); worst at flat index "
      << i << ": got " << g[i].item<double>() << ", expected " << e[i].item<double>();
  return out.str();
}

}  // namespace megasft::testing
