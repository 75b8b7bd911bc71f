// The probe reads its shard with an HDF5 hyperslab, runs the same statistics, terms and in-place
// gradient as training, and writes the gradient's column blocks one rank at a time (serial HDF5).
#include "megasft/objectives/logits_probe.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "kernels/check.h"
#include "megasft/data/hdf5_util.h"
#include "megasft/objectives/objective_terms.h"
#include "megasft/objectives/tau_calibration.h"
#include "megasft/objectives/token_statistics.h"

namespace megasft::objectives {
namespace {

using data::H5Handle;
using data::h5_check;
using data::h5_own;

struct InputShape {
  int64_t tokens = 0;
  int64_t vocab = 0;
};

H5Handle open_dataset(const H5Handle& file, const std::string& path, const char* name, hid_t expected_class,
                      size_t expected_size, int expected_rank, hsize_t* dims) {
  MEGASFT_CHECK(H5Lexists(file.get(), name, H5P_DEFAULT) > 0, "probe input '", path, "' has no dataset '",
                name, "'");
  auto ds = h5_own(H5Dopen2(file.get(), name, H5P_DEFAULT), H5Dclose, path, name, "open dataset");
  auto type = h5_own(H5Dget_type(ds.get()), H5Tclose, path, name, "read the type of");
  MEGASFT_CHECK(H5Tget_class(type.get()) == expected_class && H5Tget_size(type.get()) == expected_size,
                "probe input '", path, "': dataset '", name, "' must be ",
                expected_class == H5T_FLOAT ? "float32" : "int64");
  auto space = h5_own(H5Dget_space(ds.get()), H5Sclose, path, name, "read the shape of");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  MEGASFT_CHECK(rank == expected_rank, "probe input '", path, "': dataset '", name, "' has ", rank,
                " dimensions, expected ", expected_rank);
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return ds;
}

// Reads targets [T] and this rank's columns [start, start + valid) of logits into [T, local_cols].
InputShape read_shard(const std::string& path, int rank, int size, at::Tensor& logits, at::Tensor& targets,
                      model::VocabShard& shard) {
  data::silence_hdf5_errors();
  MEGASFT_CHECK(std::filesystem::exists(path), "cannot open probe input '", path, "': no such file");
  auto file = h5_own(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, "/", "open file");
  hsize_t logit_dims[2], target_dims[1];
  auto logits_ds = open_dataset(file, path, "logits", H5T_FLOAT, 4, 2, logit_dims);
  auto targets_ds = open_dataset(file, path, "targets", H5T_INTEGER, 8, 1, target_dims);
  InputShape shape{static_cast<int64_t>(logit_dims[0]), static_cast<int64_t>(logit_dims[1])};
  MEGASFT_CHECK(static_cast<int64_t>(target_dims[0]) == shape.tokens, "probe input '", path, "': targets has ",
                target_dims[0], " entries but logits has ", shape.tokens, " rows");
  MEGASFT_CHECK(shape.tokens > 0 && shape.vocab > 0, "probe input '", path, "' is empty");

  shard.local_cols = (shape.vocab + size - 1) / size;
  shard.start = shard.local_cols * rank;
  shard.valid_cols = std::clamp<int64_t>(shape.vocab - shard.start, 0, shard.local_cols);
  shard.vocab_size = shape.vocab;

  targets = at::empty({shape.tokens}, at::kLong);
  h5_check(H5Dread(targets_ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, targets.data_ptr()),
           path, "targets", "read");
  logits = at::zeros({shape.tokens, shard.local_cols}, at::kFloat);
  if (shard.valid_cols > 0) {
    auto file_space = h5_own(H5Dget_space(logits_ds.get()), H5Sclose, path, "logits", "read the shape of");
    hsize_t offset[2] = {0, static_cast<hsize_t>(shard.start)};
    hsize_t count[2] = {static_cast<hsize_t>(shape.tokens), static_cast<hsize_t>(shard.valid_cols)};
    h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, count, nullptr), path,
             "logits", "select the shard of");
    hsize_t mem_dims[2] = {static_cast<hsize_t>(shape.tokens), static_cast<hsize_t>(shard.local_cols)};
    auto mem_space = h5_own(H5Screate_simple(2, mem_dims, nullptr), H5Sclose, path, "logits", "size");
    hsize_t mem_offset[2] = {0, 0};
    h5_check(H5Sselect_hyperslab(mem_space.get(), H5S_SELECT_SET, mem_offset, nullptr, count, nullptr), path,
             "logits", "select memory for");
    h5_check(H5Dread(logits_ds.get(), H5T_NATIVE_FLOAT, mem_space.get(), file_space.get(), H5P_DEFAULT,
                     logits.data_ptr()),
             path, "logits", "read");
  }
  return shape;
}

void write_vector(const H5Handle& file, const std::string& path, const char* name, hid_t type,
                  const at::Tensor& values) {
  hsize_t dims[1] = {static_cast<hsize_t>(values.numel())};
  auto space = h5_own(H5Screate_simple(1, dims, nullptr), H5Sclose, path, name, "size");
  auto ds = h5_own(H5Dcreate2(file.get(), name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose, path, name, "create");
  h5_check(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data_ptr()), path, name, "write");
}

// Rank 0 creates the file with every dataset; the gradient columns are filled in afterwards.
void create_output(const std::string& path, const InputShape& shape, double loss, const TokenTerms& terms) {
  auto file = h5_own(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, path, "/",
                     "create file");
  auto scalar = h5_own(H5Screate(H5S_SCALAR), H5Sclose, path, "loss", "size");
  auto loss_ds = h5_own(H5Dcreate2(file.get(), "loss", H5T_IEEE_F64LE, scalar.get(), H5P_DEFAULT,
                                   H5P_DEFAULT, H5P_DEFAULT),
                        H5Dclose, path, "loss", "create");
  h5_check(H5Dwrite(loss_ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &loss), path, "loss", "write");
  write_vector(file, path, "token_loss", H5T_NATIVE_DOUBLE, terms.token_loss.contiguous());
  write_vector(file, path, "p_target", H5T_NATIVE_DOUBLE, terms.p_target.contiguous());
  write_vector(file, path, "topk_sum", H5T_NATIVE_DOUBLE, terms.topk_sum.contiguous());
  write_vector(file, path, "mask", H5T_NATIVE_UINT8, terms.mask.to(at::kByte).contiguous());
  hsize_t dims[2] = {static_cast<hsize_t>(shape.tokens), static_cast<hsize_t>(shape.vocab)};
  auto space = h5_own(H5Screate_simple(2, dims, nullptr), H5Sclose, path, "grad", "size");
  h5_own(H5Dcreate2(file.get(), "grad", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         H5Dclose, path, "grad", "create");
  h5_check(file.close(), path, "/", "close");
}

void write_grad_columns(const std::string& path, const at::Tensor& grad, const model::VocabShard& shard) {
  if (shard.valid_cols == 0) return;
  auto file = h5_own(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, path, "/", "open file");
  auto ds = h5_own(H5Dopen2(file.get(), "grad", H5P_DEFAULT), H5Dclose, path, "grad", "open");
  auto file_space = h5_own(H5Dget_space(ds.get()), H5Sclose, path, "grad", "read the shape of");
  hsize_t offset[2] = {0, static_cast<hsize_t>(shard.start)};
  hsize_t count[2] = {static_cast<hsize_t>(grad.size(0)), static_cast<hsize_t>(shard.valid_cols)};
  h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, count, nullptr), path, "grad",
           "select the shard of");
  auto local = grad.narrow(1, 0, shard.valid_cols).contiguous();
  auto mem_space = h5_own(H5Screate_simple(2, count, nullptr), H5Sclose, path, "grad", "size");
  h5_check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, mem_space.get(), file_space.get(), H5P_DEFAULT, local.data_ptr()),
           path, "grad", "write");
  h5_check(file.close(), path, "/", "close");
}

}  // namespace

ProbeResult probe_objective(const std::string& input, const std::string& output, ObjectiveOptions options,
                            const parallel::CommunicatorPtr& tp) {
  at::Tensor logits, targets;
  model::VocabShard shard;
  const InputShape shape = read_shard(input, tp->rank(), tp->size(), logits, targets, shard);
  check_target_ids(targets, shard.vocab_size);
  auto local_target = local_target_columns(targets, shard);

  ProbeResult result;
  result.tokens = shape.tokens;
  result.vocab = shape.vocab;
  result.tau = std::numeric_limits<double>::quiet_NaN();
  if (options.uses_tau() && !std::isfinite(options.tau)) {
    auto stats = gather_token_statistics(logits, local_target, shard, tp, options);
    auto s = stats.topk_sum.to(at::kFloat).contiguous();
    options.tau = tau_from_topk_sums(std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel()),
                                     options.sed_ratio);
  }
  options.validate();
  if (options.uses_tau()) result.tau = options.tau;

  auto stats = gather_token_statistics(logits, local_target, shard, tp, options);
  auto terms = compute_token_terms(stats, targets, options);
  result.supervised = terms.supervised.sum().item<int64_t>();
  MEGASFT_CHECK(result.supervised > 0, "probe input '", input, "' has no supervised token (all targets are ",
                kIgnoreIndex, ")");
  result.loss = terms.token_loss.sum().item<double>() / static_cast<double>(result.supervised);
  auto token_grad = terms.supervised.to(at::kDouble) / static_cast<double>(result.supervised);
  objective_gradient_inplace(logits, stats, terms, token_grad, local_target, shard, options);  // logits -> grad

  const std::string temporary = output + ".tmp";
  if (tp->rank() == 0) {
    const auto parent = std::filesystem::path(output).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    create_output(temporary, shape, result.loss, terms);
  }
  for (int writer = 0; writer < tp->size(); ++writer) {  // serial HDF5: one writer at a time
    tp->barrier();
    if (tp->rank() == writer) write_grad_columns(temporary, logits, shard);
  }
  tp->barrier();
  if (tp->rank() == 0) std::filesystem::rename(temporary, output);
  return result;
}

}  // namespace megasft::objectives
