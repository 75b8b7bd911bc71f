// Which SFT objective to optimise and its hyper-parameters, as objectives.md defines them.
// Parsed from --objective and its options; validate() rejects values the math cannot use.
#pragma once

#include <cmath>
#include <limits>
#include <string>

namespace megasft::objectives {

enum class ObjectiveKind { kCrossEntropy, kSed, kSedNoMask };

struct ObjectiveOptions {
  ObjectiveKind kind = ObjectiveKind::kSed;
  int top_k = 2;             // k of the top-k probability sum S_t
  double sed_lambda = 1.0;   // weight of the (p_y - 1/2)^2 penalty
  double sed_ratio = 0.7;    // r: tau is the (1 - r) quantile of S_t at calibration
  double tau = std::numeric_limits<double>::quiet_NaN();  // NaN until given or calibrated

  bool uses_tau() const { return kind == ObjectiveKind::kSed; }
  void validate() const;  // also requires tau to be set when the objective uses it
};

ObjectiveKind parse_objective_kind(const std::string& name);  // "ce" | "sed" | "sed-nomask"
std::string objective_kind_name(ObjectiveKind kind);

}  // namespace megasft::objectives
