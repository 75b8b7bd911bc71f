// HDF5 slabs: a hyperslab that is the whole tensor except along one dimension. Chunks of at most
// ~1 MiB keep partial reads cheap and let Fletcher-32 localise corruption to the chunk read.
#include "megasft/checkpoint/hdf5_tensor_file.h"

#include <algorithm>
#include <filesystem>

#include "kernels/check.h"

namespace megasft::checkpoint {

using data::h5_check;
using data::h5_own;
using data::H5Handle;

Hdf5TensorFile::Hdf5TensorFile(const std::string& path, Mode mode) : path_(path) {
  data::silence_hdf5_errors();
  if (mode == Mode::kCreate) {
    file_ = h5_own(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, path, "/", "create");
    return;
  }
  MEGASFT_CHECK(std::filesystem::exists(path), "checkpoint file '", path, "' does not exist");
  const unsigned flags = mode == Mode::kRead ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  file_ = H5Handle(H5Fopen(path.c_str(), flags, H5P_DEFAULT), H5Fclose);
  if (file_.get() < 0) {
    const std::string cause = data::hdf5_error_cause();
    MEGASFT_FAIL("checkpoint file '", path, "' cannot be opened (", cause.empty() ? "not HDF5" : cause,
                 "): it is corrupt or truncated");
  }
}

bool Hdf5TensorFile::contains(const std::string& name) const {
  // Link existence is asked one group at a time: H5Lexists fails on a missing intermediate group.
  std::string prefix;
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = name.find('/', pos + 1);
    prefix = name.substr(0, pos);
    if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

void Hdf5TensorFile::create(const std::string& name, const std::vector<int64_t>& shape) {
  if (contains(name)) return;
  std::vector<hsize_t> dims(shape.begin(), shape.end()), chunk(dims);
  // Shrink the leading dimensions until a chunk is at most ~256k floats.
  hsize_t elements = 1;
  for (auto d : dims) elements *= std::max<hsize_t>(d, 1);
  for (size_t i = 0; i < chunk.size() && elements > (1u << 18); ++i) {
    const hsize_t keep = std::max<hsize_t>(1, chunk[i] * (1u << 18) / elements);
    elements = elements / std::max<hsize_t>(chunk[i], 1) * keep;
    chunk[i] = keep;
  }
  for (auto& c : chunk) c = std::max<hsize_t>(c, 1);
  auto space = h5_own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, path_, name,
                      "shape");
  auto create_props = h5_own(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path_, name, "configure");
  h5_check(H5Pset_chunk(create_props.get(), static_cast<int>(chunk.size()), chunk.data()), path_, name, "chunk");
  h5_check(H5Pset_fletcher32(create_props.get()), path_, name, "add checksums to");
  // No modification times: the same state saved twice gives the same bytes.
  h5_check(H5Pset_obj_track_times(create_props.get(), false), path_, name, "configure");
  auto link_props = h5_own(H5Pcreate(H5P_LINK_CREATE), H5Pclose, path_, name, "configure");
  h5_check(H5Pset_create_intermediate_group(link_props.get(), 1), path_, name, "configure");
  h5_own(H5Dcreate2(file_.get(), name.c_str(), H5T_IEEE_F32LE, space.get(), link_props.get(), create_props.get(),
                    H5P_DEFAULT),
         H5Dclose, path_, name, "create");
}

std::vector<int64_t> Hdf5TensorFile::shape(const std::string& name) const {
  MEGASFT_CHECK(contains(name), "checkpoint file '", path_, "' has no tensor '", name, "'");
  auto ds = h5_own(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, path_, name, "open");
  auto space = h5_own(H5Dget_space(ds.get()), H5Sclose, path_, name, "read the shape of");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

namespace {

// The file-side and memory-side spaces of a slab along `dim`.
std::pair<H5Handle, H5Handle> slab_spaces(hid_t dataset, const std::string& path, const std::string& name,
                                          int64_t dim, int64_t offset, int64_t length) {
  auto file_space = h5_own(H5Dget_space(dataset), H5Sclose, path, name, "read the shape of");
  const int rank = H5Sget_simple_extent_ndims(file_space.get());
  MEGASFT_CHECK(dim >= 0 && dim < std::max(rank, 1), "checkpoint tensor '", name, "' has no dimension ", dim);
  std::vector<hsize_t> dims(rank), start(rank, 0);
  H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr);
  MEGASFT_CHECK(offset >= 0 && offset + length <= static_cast<int64_t>(dims[dim]), "checkpoint tensor '", name,
                "' in '", path, "': rows [", offset, ", ", offset + length, ") along dimension ", dim,
                " are outside its ", dims[dim], " rows (saved with another model shape?)");
  std::vector<hsize_t> count(dims);
  start[dim] = static_cast<hsize_t>(offset);
  count[dim] = static_cast<hsize_t>(length);
  h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
           path, name, "select rows of");
  auto memory_space = h5_own(H5Screate_simple(rank, count.data(), nullptr), H5Sclose, path, name, "shape");
  return {std::move(file_space), std::move(memory_space)};
}

}  // namespace

void Hdf5TensorFile::write_slab(const std::string& name, int64_t dim, int64_t offset, const at::Tensor& slab) {
  auto data = slab.detach().to(at::kFloat).contiguous();
  auto ds = h5_own(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, path_, name, "open");
  const int64_t length = data.dim() == 0 ? 1 : data.size(dim);
  auto [file_space, memory_space] = slab_spaces(ds.get(), path_, name, dim, offset, length);
  h5_check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), H5P_DEFAULT, data.data_ptr()),
           path_, name, "write");
}

at::Tensor Hdf5TensorFile::read_slab(const std::string& name, int64_t dim, int64_t offset, int64_t length) const {
  MEGASFT_CHECK(contains(name), "checkpoint file '", path_, "' has no tensor '", name, "'");
  auto ds = h5_own(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, path_, name, "open");
  auto full = shape(name);
  full[dim] = length;
  auto out = at::empty(full, at::kFloat);
  auto [file_space, memory_space] = slab_spaces(ds.get(), path_, name, dim, offset, length);
  if (H5Dread(ds.get(), H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), H5P_DEFAULT, out.data_ptr()) < 0) {
    const std::string cause = data::hdf5_error_cause();
    MEGASFT_FAIL("checkpoint file '", path_, "': tensor '", name, "' cannot be read (",
                 cause.empty() ? "unknown HDF5 error" : cause, "): the file is corrupt");
  }
  return out;
}

void Hdf5TensorFile::close() { h5_check(file_.close(), path_, "/", "close"); }

}  // namespace megasft::checkpoint
