// Each HF tensor is assembled on TP rank 0 by one all-reduce: every rank starts from -0.0 and
// writes only the pieces it owns. x + (-0.0) == x for every x (+0.0 included), so the sum
// reproduces each value exactly, and a value held on one rank reaches the file bit for bit.
#include "megasft/checkpoint/hf_export.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/check.h"
#include "megasft/checkpoint/hf_layout.h"
#include "megasft/checkpoint/safetensors_writer.h"
#include "megasft/model/hf_config.h"

namespace megasft::checkpoint {
namespace fs = std::filesystem;
namespace {

// Files of a Hugging Face folder that describe the model or its tokenizer, copied as they are.
constexpr const char* kCopiedFiles[] = {
    "generation_config.json",  "tokenizer.json",    "tokenizer_config.json",
    "special_tokens_map.json", "vocab.json",        "merges.txt",
    "tokenizer.model",         "added_tokens.json", "chat_template.jinja",
    "chat_template.json"};

std::string shard_file_name(int stage, int stages) {
  if (stages == 1) return kSingleSafetensors;
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05d-of-%05d.safetensors", stage + 1, stages);
  return name;
}

void write_text(const fs::path& path, const std::string& text) {
  const auto temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary);
    out << text;
    MEGASFT_CHECK(out.good(), "cannot write '", temporary, "'");
  }
  fs::rename(temporary, path);
}

void write_index(const fs::path& dir, int stages) {
  nlohmann::json index;
  int64_t total = 0;
  for (int s = 0; s < stages; ++s) {
    SafetensorsFile file((dir / shard_file_name(s, stages)).string());
    for (const auto& e : file.entries()) {
      index["weight_map"][e.name] = shard_file_name(s, stages);
      total += e.end - e.begin;
    }
  }
  index["metadata"] = {{"total_size", total}};
  write_text(dir / kSafetensorsIndex, index.dump(2) + "\n");
}

void write_config_and_tokenizer(const model::ModelConfig& config, const HfExportOptions& options) {
  const fs::path out(options.dir), source(options.source_dir);
  const bool uniform = options.dtypes_from == nullptr;
  if (!options.source_dir.empty() && fs::exists(source / "config.json")) {
    if (uniform) {
      std::ifstream in(source / "config.json");
      auto j = nlohmann::json::parse(in);
      j["torch_dtype"] = torch_dtype_name(options.dtype);
      write_text(out / "config.json", j.dump(2) + "\n");
    } else {
      fs::copy_file(source / "config.json", out / "config.json",
                    fs::copy_options::overwrite_existing);
    }
  } else {
    write_text(out / "config.json",
               model::hf_config_json(config, torch_dtype_name(options.dtype)).dump(2) + "\n");
  }
  if (options.source_dir.empty()) return;
  for (const char* name : kCopiedFiles)
    if (fs::exists(source / name))
      fs::copy_file(source / name, out / name, fs::copy_options::overwrite_existing);
}

}  // namespace

at::ScalarType parse_export_dtype(const std::string& name, const std::string& option) {
  if (name == "bf16") return at::kBFloat16;
  if (name == "fp16") return at::kHalf;
  if (name == "fp32") return at::kFloat;
  MEGASFT_FAIL(option, " '", name, "' must be bf16, fp16 or fp32");
}

std::string torch_dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kBFloat16:
      return "bfloat16";
    case at::kHalf:
      return "float16";
    case at::kFloat:
      return "float32";
    case at::kDouble:
      return "float64";
    default:
      MEGASFT_FAIL("no transformers torch_dtype for ", c10::toString(type));
  }
}

void export_hf(const model::LlamaModel& model, const parallel::CommunicatorPtr& pipeline,
               const HfExportOptions& options) {
  at::NoGradGuard no_grad;
  const auto& config = model.config();
  const auto& tp = model.tensor_group();
  const bool writer = tp->rank() == 0;
  const int stage = pipeline->rank(), stages = pipeline->size();
  MEGASFT_CHECK(!options.dir.empty(), "export needs an output folder");
  if (writer) fs::create_directories(options.dir);

  // What this stage writes: the HF tensors of its parameters, the tied embedding's second copy
  // excluded.
  std::vector<TensorSpec> specs;
  std::vector<std::pair<const parallel::Parameter*, HfTensor>> order;
  for (const auto& p : model.parameters()) {
    if (p.is_duplicate) continue;
    for (auto& t : hf_tensors_of(p, config)) {
      const auto dtype =
          options.dtypes_from ? options.dtypes_from->entry(t.name).dtype : options.dtype;
      specs.push_back({t.name, dtype, t.shape});
      order.emplace_back(&p, std::move(t));
    }
  }
  std::unique_ptr<SafetensorsWriter> file;
  if (writer)
    file = std::make_unique<SafetensorsWriter>(
        (fs::path(options.dir) / shard_file_name(stage, stages)).string(), specs);
  for (const auto& [p, t] : order) {
    auto full =
        at::full(t.shape, -0.0, at::kFloat);  // [see the file comment: -0.0 is the sum's identity]
    if (p->is_tensor_parallel() || tp->rank() == 0) {
      auto value = p->value.detach();
      for (const auto& piece : hf_pieces(*p, config, tp->rank(), tp->size()))
        if (piece.tensor == t.name)
          full.narrow(piece.dim, piece.tensor_offset, piece.length)
              .copy_(value.narrow(piece.dim, piece.param_offset, piece.length));
    }
    if (tp->size() > 1) tp->all_reduce(full, parallel::ReduceOp::kSum);
    if (writer) file->write(t.name, full);
  }
  if (writer) file->finish();

  if (stages > 1)
    pipeline->barrier();  // every stage's file is complete before the index reads them
  if (writer && stage == 0) {
    if (stages > 1) write_index(options.dir, stages);
    write_config_and_tokenizer(config, options);
  }
  if (stages > 1) pipeline->barrier();
  if (tp->size() > 1) tp->barrier();
}

}  // namespace megasft::checkpoint
