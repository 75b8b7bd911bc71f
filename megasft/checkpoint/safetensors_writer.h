// Writing the safetensors format, streaming: the header (every name, dtype and shape) goes first,
// then each tensor's bytes in the same order, so a checkpoint larger than memory is written one
// tensor at a time.
#pragma once

#include <ATen/ATen.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace megasft::checkpoint {

struct TensorSpec {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
  int64_t bytes() const;
};

class SafetensorsWriter {
 public:
  // Writes `path + ".tmp"`; finish() renames it to `path`, so an interrupted write leaves no half
  // file.
  // __metadata__ gets {"format": "pt"} unless `metadata` says otherwise (transformers checks it).
  SafetensorsWriter(std::string path, std::vector<TensorSpec> specs,
                    std::map<std::string, std::string> metadata = {});
  ~SafetensorsWriter();  // removes the temporary file if finish() was not reached
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // The next tensor, in the order of the specs: its name and shape must match; values are converted
  // to the spec's dtype (exactly, when they already have it).
  void write(const std::string& name, const at::Tensor& tensor);
  void finish();
  int64_t data_bytes() const { return data_bytes_; }

 private:
  std::string path_, temporary_;
  std::vector<TensorSpec> specs_;
  size_t next_ = 0;
  int64_t data_bytes_ = 0;
  std::FILE* file_ = nullptr;
};

// All at once: name -> tensor in the tensor's own dtype, in the given order.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace megasft::checkpoint
