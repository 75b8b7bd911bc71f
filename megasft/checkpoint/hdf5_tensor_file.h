// Float32 tensors of a checkpoint in one HDF5 file, each stored with its full logical shape and read
// or written a slab at a time (a run of rows along one dimension), with Fletcher-32 checksums.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "megasft/data/hdf5_util.h"

namespace megasft::checkpoint {

class Hdf5TensorFile {
 public:
  enum class Mode { kRead, kReadWrite, kCreate };
  Hdf5TensorFile(const std::string& path, Mode mode);

  bool contains(const std::string& name) const;
  // Creates a chunked float32 dataset (intermediate groups included) unless it exists already.
  void create(const std::string& name, const std::vector<int64_t>& shape);
  std::vector<int64_t> shape(const std::string& name) const;
  // Rows [offset, offset + slab.size(dim)) along `dim` of dataset `name` take `slab`'s values.
  void write_slab(const std::string& name, int64_t dim, int64_t offset, const at::Tensor& slab);
  // Rows [offset, offset + length) along `dim`; checksums are verified as chunks are read.
  at::Tensor read_slab(const std::string& name, int64_t dim, int64_t offset, int64_t length) const;
  void close();  // flushes; errors name the file
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  data::H5Handle file_;
};

}  // namespace megasft::checkpoint
