#include "megasft/data/hdf5_util.h"

#include "kernels/check.h"

namespace megasft::data {

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {
herr_t take_first_description(unsigned /*n*/, const H5E_error2_t* err, void* out) {
  auto* cause = static_cast<std::string*>(out);
  if (cause->empty() && err != nullptr && err->desc != nullptr) *cause = err->desc;
  return 0;
}
}  // namespace

std::string hdf5_error_cause() {
  std::string cause;
  // Walking upward starts at the innermost frame, where the real reason is recorded.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first_description, &cause);
  return cause;
}

void throw_hdf5_error(const std::string& file, std::string_view object, std::string_view action) {
  const std::string cause = hdf5_error_cause();
  MEGASFT_FAIL("HDF5 error in dataset file '", file, "': cannot ", action, " '", object, "'",
               cause.empty() ? "" : " (", cause, cause.empty() ? "" : ")");
}

}  // namespace megasft::data
