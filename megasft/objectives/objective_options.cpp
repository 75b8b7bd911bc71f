// Parsing and validation of the objective options; messages name the command-line option.
#include "megasft/objectives/objective_options.h"

#include "kernels/check.h"

namespace megasft::objectives {

ObjectiveKind parse_objective_kind(const std::string& name) {
  if (name == "ce") return ObjectiveKind::kCrossEntropy;
  if (name == "sed") return ObjectiveKind::kSed;
  if (name == "sed-nomask") return ObjectiveKind::kSedNoMask;
  if (name == "gem") return ObjectiveKind::kGem;
  if (name == "dft") return ObjectiveKind::kDft;
  MEGASFT_FAIL("--objective '", name, "' is not known (expected ce, sed, sed-nomask, gem or dft)");
}

std::string objective_kind_name(ObjectiveKind kind) {
  switch (kind) {
    case ObjectiveKind::kCrossEntropy: return "ce";
    case ObjectiveKind::kSed: return "sed";
    case ObjectiveKind::kSedNoMask: return "sed-nomask";
    case ObjectiveKind::kGem: return "gem";
    case ObjectiveKind::kDft: return "dft";
  }
  return "?";
}

kernels::GemWeight parse_gem_h(const std::string& name) {
  if (name == "linear") return kernels::GemWeight::kLinear;
  if (name == "logsigmoid") return kernels::GemWeight::kLogSigmoid;
  MEGASFT_FAIL("--gem-h '", name, "' is not known (expected linear or logsigmoid)");
}

std::string gem_h_name(kernels::GemWeight h) {
  return h == kernels::GemWeight::kLinear ? "linear" : "logsigmoid";
}

void ObjectiveOptions::validate() const {
  MEGASFT_CHECK(top_k >= 1 && top_k <= 64, "--top-k ", top_k, " must be in [1, 64]");
  MEGASFT_CHECK(sed_lambda >= 0 && std::isfinite(sed_lambda), "--sed-lambda ", sed_lambda,
                " must be a finite non-negative number");
  MEGASFT_CHECK(sed_ratio > 0 && sed_ratio < 1, "--sed-ratio ", sed_ratio, " must be in (0, 1)");
  MEGASFT_CHECK(gem_beta > 0 && std::isfinite(gem_beta), "--gem-beta ", gem_beta, " must be positive");
  if (uses_tau())
    MEGASFT_CHECK(std::isfinite(tau), "--objective sed needs tau: pass --tau, or --sed-ratio with "
                  "calibration data to calibrate it");
}

}  // namespace megasft::objectives
