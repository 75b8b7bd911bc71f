// Where SED-SFT's tau comes from for a run, in order: --tau; the checkpoint being resumed; the run
// directory's tau.json from `megasft calibrate` (when its k, r and positions match); a calibration.
#pragma once

#include <nlohmann/json.hpp>

#include "megasft/model/llama_model.h"
#include "megasft/train/train_options.h"

namespace megasft::train {

// Returns the objective options with tau set (when the objective uses one) and describes where it came
// from in `record` (for metadata.json); the first rank prints it.
// checkpoint_tau: the tau a resumed checkpoint was trained with (NaN if none); it wins over the
// tau file and calibration, so a resumed run keeps its threshold.
objectives::ObjectiveOptions resolve_tau(const TrainOptions& options, const model::LlamaModel& model,
                                         const parallel::CommunicatorPtr& pipeline, bool leader,
                                         nlohmann::json& record, double checkpoint_tau);

}  // namespace megasft::train
