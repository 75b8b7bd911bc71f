// A Hugging Face checkpoint folder's weights: model.safetensors, or the shards that
// model.safetensors.index.json's weight_map lists. Each tensor is found by name in its file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "megasft/checkpoint/safetensors.h"

namespace megasft::checkpoint {

inline constexpr const char* kSafetensorsIndex = "model.safetensors.index.json";
inline constexpr const char* kSingleSafetensors = "model.safetensors";

class HfCheckpoint {
 public:
  // Opens (maps and validates) every safetensors file of `dir`; errors name the folder and the
  // file.
  explicit HfCheckpoint(std::string dir);

  const std::string& dir() const { return dir_; }
  std::vector<std::string> tensor_names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  // The tensor's entry; a missing tensor is an error naming it and the files searched.
  const TensorEntry& entry(const std::string& name) const;
  const SafetensorsFile& file_of(const std::string& name) const;
  at::Tensor read(const std::string& name) const { return file_of(name).read(name); }
  at::Tensor read_slice(const std::string& name, int64_t dim, int64_t start, int64_t length) const {
    return file_of(name).read_slice(name, dim, start, length);
  }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

}  // namespace megasft::checkpoint
