// Both readers already exist: config.json goes through hf_config.h, a .cfg through TrainOptions,
// whose description of the [model] keys is the only one (a second copy here would drift from it).
#include "megasft/plan/model_source.h"

#include "kernels/check.h"
#include "megasft/model/hf_config.h"
#include "megasft/train/train_options.h"

namespace megasft::plan {

model::ModelConfig read_model_source(const std::string& path) {
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (json) return model::read_hf_config(path);
  // TrainOptions insists on training data, which planning never reads: the model file stands in for
  // it. A recipe's tp is validated against its model too; the planner checks every TP size it tries
  // itself.
  try {
    return train::TrainOptions::parse({"--config", path, "--train-data", path}).model;
  } catch (const Error& e) {
    MEGASFT_FAIL("model file '", path, "': ", e.what());
  }
}

}  // namespace megasft::plan
