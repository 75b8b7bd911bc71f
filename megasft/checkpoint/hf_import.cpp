// Import: check the folder's tensor names against the architecture, then fill each parameter piece
// by piece (hf_layout.h) from slice reads of the memory-mapped files.
#include "megasft/checkpoint/hf_import.h"

#include <set>

#include "kernels/check.h"
#include "megasft/checkpoint/hf_layout.h"

namespace megasft::checkpoint {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_tensor_names(const model::ModelConfig& config, const HfCheckpoint& checkpoint) {
  const auto expected = hf_tensor_names(config);
  const std::set<std::string> known(expected.begin(), expected.end());
  for (const auto& name : checkpoint.tensor_names()) {
    if (known.count(name) || ends_with(name, ".rotary_emb.inv_freq")) continue;
    if (name == "lm_head.weight" && config.tie_word_embeddings)
      continue;  // transformers ties it anyway
    MEGASFT_FAIL("model folder '", checkpoint.dir(), "' has tensor '", name, "', which a ",
                 config.architecture, " with this config.json does not have");
  }
}

}  // namespace

void load_hf_weights(const model::LlamaModel& model, const HfCheckpoint& checkpoint) {
  const auto& config = model.config();
  check_tensor_names(config, checkpoint);
  const auto& tp = model.tensor_group();
  at::NoGradGuard no_grad;
  for (const auto& p : model.parameters()) {
    for (const auto& t : hf_tensors_of(p, config)) {
      const auto& e = checkpoint.entry(t.name);
      MEGASFT_CHECK(e.shape == t.shape, "tensor '", t.name, "' in '",
                    checkpoint.file_of(t.name).path(), "' has shape ", at::IntArrayRef(e.shape),
                    " but config.json implies ", at::IntArrayRef(t.shape));
      MEGASFT_CHECK(at::isFloatingType(e.dtype), "tensor '", t.name, "' in '",
                    checkpoint.file_of(t.name).path(), "' has dtype ", c10::toString(e.dtype),
                    ", not a floating-point weight");
    }
    auto value = p.value.detach();
    value.zero_();  // vocabulary padding rows stay zero
    for (const auto& piece : hf_pieces(p, config, tp->rank(), tp->size())) {
      auto slice =
          checkpoint.read_slice(piece.tensor, piece.dim, piece.tensor_offset, piece.length);
      value.narrow(piece.dim, piece.param_offset, piece.length).copy_(slice);
    }
  }
}

void load_initial_weights(model::LlamaModel& model, const std::string& model_dir, uint64_t seed) {
  if (model_dir.empty())
    model.initialize(seed);
  else
    load_hf_weights(model, HfCheckpoint(model_dir));
}

}  // namespace megasft::checkpoint
