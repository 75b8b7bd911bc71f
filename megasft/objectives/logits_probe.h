// `megasft probe-objective`: an objective evaluated on logits dumped to HDF5, each TP rank reading only
// its vocabulary shard, with the token-mean loss, per-token terms and the full gradient written back.
#pragma once

#include <string>

#include "megasft/objectives/objective_options.h"
#include "parallel/communicator.h"

namespace megasft::objectives {

// Input: /logits float32 [T, V], /targets int64 [T] (-100 = ignored). Output (written by rank 0,
// gradient columns by each rank in turn, renamed into place at the end): /loss float64 scalar (the
// token mean), /token_loss, /p_target, /topk_sum float64 [T], /mask uint8 [T] (SED's M_t, 1 =
// penalised), /grad float32 [T, V] (gradient of the token mean w.r.t. the logits).
// SED without tau takes tau from this file's S_t at every position with options.sed_ratio.
struct ProbeResult {
  double loss = 0;
  double tau = 0;  // NaN unless SED
  int64_t tokens = 0;
  int64_t supervised = 0;
  int64_t vocab = 0;
};

ProbeResult probe_objective(const std::string& input, const std::string& output, ObjectiveOptions options,
                            const parallel::CommunicatorPtr& tp);

}  // namespace megasft::objectives
