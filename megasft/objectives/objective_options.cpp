// Parsing and validation of the objective options; messages name the command-line option.
#include "megasft/objectives/objective_options.h"

#include "kernels/check.h"

namespace megasft::objectives {

ObjectiveKind parse_objective_kind(const std::string& name) {
  if (name == "ce") return ObjectiveKind::kCrossEntropy;
  if (name == "sed") return ObjectiveKind::kSed;
  if (name == "sed-nomask") return ObjectiveKind::kSedNoMask;
  MEGASFT_FAIL("--objective '", name, "' is not known (expected ce, sed or sed-nomask)");
}

std::string objective_kind_name(ObjectiveKind kind) {
  switch (kind) {
    case ObjectiveKind::kCrossEntropy: return "ce";
    case ObjectiveKind::kSed: return "sed";
    case ObjectiveKind::kSedNoMask: return "sed-nomask";
  }
  return "?";
}

void ObjectiveOptions::validate() const {
  MEGASFT_CHECK(top_k >= 1 && top_k <= 64, "--top-k ", top_k, " must be in [1, 64]");
  MEGASFT_CHECK(sed_lambda >= 0 && std::isfinite(sed_lambda), "--sed-lambda ", sed_lambda,
                " must be a finite non-negative number");
  MEGASFT_CHECK(sed_ratio > 0 && sed_ratio < 1, "--sed-ratio ", sed_ratio, " must be in (0, 1)");
  if (uses_tau())
    MEGASFT_CHECK(std::isfinite(tau), "--objective sed needs tau: pass --tau, or --sed-ratio with "
                  "calibration data to calibrate it");
}

}  // namespace megasft::objectives
