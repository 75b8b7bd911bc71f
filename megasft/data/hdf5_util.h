// RAII ownership of HDF5 handles and checked HDF5 calls whose errors name the file and object.
// Internal to megasft_data and its tests: HDF5 errors become megasft::Error, never stderr noise.
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>

namespace megasft::data {

// Silences HDF5's automatic error-stack printing; every failure is reported through an Error.
void silence_hdf5_errors();

// The innermost message on HDF5's current error stack ("" if none): the actual cause, e.g.
// "truncated file", rather than the API function that gave up.
std::string hdf5_error_cause();

[[noreturn]] void throw_hdf5_error(const std::string& file, std::string_view object,
                                   std::string_view action);

// Returns `status` if the HDF5 call succeeded (non-negative), else throws naming file and object.
template <typename T>
T h5_check(T status, const std::string& file, std::string_view object, std::string_view action) {
  if (status < 0) throw_hdf5_error(file, object, action);
  return status;
}

// Owns one hid_t and closes it with the matching H5?close; move-only.
class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  H5Handle() = default;
  H5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  H5Handle& operator=(H5Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = -1;
    }
    return *this;
  }
  ~H5Handle() { reset(); }

  hid_t get() const { return id_; }

  // Closes now and reports failure; a file close flushes, so a writer must check it.
  herr_t close() {
    herr_t status = 0;
    if (id_ >= 0 && closer_ != nullptr) status = closer_(id_);
    id_ = -1;
    return status;
  }

 private:
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);  // errors ignored: may run while unwinding
    id_ = -1;
  }

  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Checked acquisition: the id is validated before ownership is taken.
inline H5Handle h5_own(hid_t id, H5Handle::Closer closer, const std::string& file,
                       std::string_view object, std::string_view action) {
  return H5Handle(h5_check(id, file, object, action), closer);
}

}  // namespace megasft::data
