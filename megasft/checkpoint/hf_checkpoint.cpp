// With an index, the weight_map decides which file holds a tensor (and the file must hold it);
// without one, model.safetensors holds everything.
#include "megasft/checkpoint/hf_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/check.h"

namespace megasft::checkpoint {

HfCheckpoint::HfCheckpoint(std::string dir) : dir_(std::move(dir)) {
  namespace fs = std::filesystem;
  const fs::path root(dir_);
  MEGASFT_CHECK(fs::is_directory(root), "model folder '", dir_,
                "' does not exist or is not a directory");
  const fs::path index = root / kSafetensorsIndex;
  if (fs::exists(index)) {
    std::ifstream in(index);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      MEGASFT_FAIL("'", index.string(), "' is not valid JSON: ", e.what());
    }
    MEGASFT_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(), "'",
                  index.string(), "' has no weight_map object");
    std::map<std::string, size_t> file_index;
    for (const auto& [name, file] : j["weight_map"].items()) {
      MEGASFT_CHECK(file.is_string(), "'", index.string(), "': weight_map.", name,
                    " is not a file name");
      const auto file_name = file.get<std::string>();
      MEGASFT_CHECK(file_name.find('/') == std::string::npos, "'", index.string(), "': weight_map.",
                    name, " names '", file_name, "', outside the folder");
      auto [it, added] = file_index.emplace(file_name, files_.size());
      if (added) files_.push_back(std::make_unique<SafetensorsFile>((root / file_name).string()));
      MEGASFT_CHECK(files_[it->second]->find(name) != nullptr, "'", index.string(),
                    "' puts tensor '", name, "' in '", file_name, "', which does not hold it");
      where_[name] = it->second;
    }
    return;
  }
  const fs::path single = root / kSingleSafetensors;
  MEGASFT_CHECK(fs::exists(single), "model folder '", dir_, "' has neither ", kSingleSafetensors,
                " nor ", kSafetensorsIndex);
  files_.push_back(std::make_unique<SafetensorsFile>(single.string()));
  for (const auto& e : files_[0]->entries()) where_[e.name] = 0;
}

std::vector<std::string> HfCheckpoint::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& [name, file] : where_) names.push_back(name);
  return names;
}

const SafetensorsFile& HfCheckpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) {
    std::string searched;
    for (const auto& f : files_) searched += (searched.empty() ? "" : ", ") + f->path();
    MEGASFT_FAIL("tensor '", name, "' not found in model folder '", dir_, "' (searched ", searched,
                 ")");
  }
  return *files_[it->second];
}

const TensorEntry& HfCheckpoint::entry(const std::string& name) const {
  return file_of(name).entry(name);
}

}  // namespace megasft::checkpoint
