// Which SFT objective to optimise and its hyper-parameters, as objectives.md defines them.
// Parsed from --objective and its options; validate() rejects values the math cannot use.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "kernels/vocab_parallel_stats.h"

namespace megasft::objectives {

enum class ObjectiveKind { kCrossEntropy, kSed, kSedNoMask, kGem, kDft };

struct ObjectiveOptions {
  ObjectiveKind kind = ObjectiveKind::kSed;
  int top_k = 2;             // k of the top-k probability sum S_t
  double sed_lambda = 1.0;   // weight of the (p_y - 1/2)^2 penalty
  double sed_ratio = 0.7;    // r: tau is the (1 - r) quantile of S_t at calibration
  double tau = std::numeric_limits<double>::quiet_NaN();  // NaN until given or calibrated
  double gem_beta = 0.7;     // GEM's temperature of q = softmax(z / beta)
  kernels::GemWeight gem_h = kernels::GemWeight::kLogSigmoid;

  bool uses_tau() const { return kind == ObjectiveKind::kSed; }
  bool has_sed_penalty() const { return kind == ObjectiveKind::kSed || kind == ObjectiveKind::kSedNoMask; }
  void validate() const;  // also requires tau to be set when the objective uses it
};

ObjectiveKind parse_objective_kind(const std::string& name);  // ce | sed | sed-nomask | gem | dft
std::string objective_kind_name(ObjectiveKind kind);
kernels::GemWeight parse_gem_h(const std::string& name);      // linear | logsigmoid
std::string gem_h_name(kernels::GemWeight h);

}  // namespace megasft::objectives
