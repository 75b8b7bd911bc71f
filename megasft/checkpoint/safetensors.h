// Reading the safetensors format: an 8-byte little-endian header length, a JSON header (dtype,
// shape, data_offsets per tensor, optional __metadata__), then the raw bytes. The file is
// memory-mapped, so a tensor-parallel rank that reads one slice touches only that slice's pages.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace megasft::checkpoint {

// The reference implementation refuses headers above 100 MB; so does megasft.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// "F32" <-> at::kFloat, ...: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL. Unknown names give nullopt.
std::optional<at::ScalarType> safetensors_scalar_type(const std::string& dtype);
std::string safetensors_dtype_name(
    at::ScalarType type);  // error for a type the format has no name for

struct TensorEntry {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
  int64_t begin = 0, end = 0;  // byte range inside the data section
};

class SafetensorsFile {
 public:
  // Maps and validates the whole header: sizes, dtypes, offsets in range and not overlapping. Every
  // error names the file (and the tensor).
  explicit SafetensorsFile(std::string path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }  // in data order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorEntry* find(const std::string& name) const;
  const TensorEntry& entry(const std::string& name) const;  // error naming the tensor and the file

  at::Tensor read(const std::string& name) const;  // the whole tensor in its stored dtype
  // Entries [start, start + length) along `dim`, in the stored dtype; copies only those bytes.
  at::Tensor read_slice(const std::string& name, int64_t dim, int64_t start, int64_t length) const;

 private:
  void parse_header(uint64_t header_bytes);

  std::string path_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t file_bytes_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  int64_t data_bytes_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace megasft::checkpoint
