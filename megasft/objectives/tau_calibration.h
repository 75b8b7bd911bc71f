// SED-SFT's tau: the (1 - r) quantile of the top-k probability sums S_t of the initial model on
// held-out data, so about a fraction r of positions has S_t >= tau and is left unpenalised.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/data/token_dataset.h"
#include "megasft/model/llama_model.h"

namespace megasft::objectives {

struct TauCalibration {
  double tau = 0;
  int top_k = 2;
  double ratio = 0.7;
  int64_t samples = 0;     // examples run
  int64_t positions = 0;   // S_t values collected
  std::string positions_mode = "all";  // all | supervised
  std::string data_path;
};

// sorted(S)[-floor(r * len(S))], as objectives.md states it; needs floor(r * len(S)) >= 1.
double tau_from_topk_sums(std::vector<float> sums, double ratio);

// One forward per example over the first `samples` examples (truncated to seq_len), in eval mode
// (no gradient). positions_mode "all": every position; "supervised": positions whose next token is
// supervised. Every TP rank computes the same value.
// Under pipeline parallelism (`pipeline` of more than one rank) the examples flow through the stages;
// the last stage collects S_t and every stage receives the same result.
TauCalibration calibrate_tau(const model::LlamaModel& model, const data::TokenDataset& heldout,
                             int64_t samples, const std::string& positions_mode, int top_k,
                             double ratio, int64_t seq_len, const parallel::CommunicatorPtr& tp,
                             int64_t chunk_tokens = 1024, const parallel::CommunicatorPtr& pipeline = {});

// The calibration as a JSON file (`megasft calibrate` writes it, `megasft train` reads it). Reading
// a malformed file is an error naming the file and the field.
nlohmann::json tau_calibration_json(const TauCalibration& calibration);  // also what metadata.json records
void write_tau_file(const std::string& path, const TauCalibration& calibration);
TauCalibration read_tau_file(const std::string& path);

}  // namespace megasft::objectives
