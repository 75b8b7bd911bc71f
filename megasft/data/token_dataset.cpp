#include "megasft/data/token_dataset.h"

#include <filesystem>
#include <system_error>

#include "kernels/check.h"
#include "megasft/data/hdf5_util.h"

namespace megasft::data {

namespace fs = std::filesystem;

namespace {

// The single set of rules for a valid token file; `where` prefixes each message and names the file.
void validate(const TokenizedSamples& s, const std::string& where) {
  MEGASFT_CHECK(s.vocab_size >= 1, where, ": vocab_size must be >= 1, got ", s.vocab_size);
  MEGASFT_CHECK(s.tokens.size() == s.loss_mask.size(), where, ": /tokens has ", s.tokens.size(),
                " entries but /loss_mask has ", s.loss_mask.size());
  MEGASFT_CHECK(!s.offsets.empty(), where,
                ": /offsets is empty; it needs num_samples + 1 entries, starting with 0");
  MEGASFT_CHECK(s.offsets.front() == 0, where, ": /offsets[0] must be 0, got ", s.offsets.front());
  for (size_t i = 1; i < s.offsets.size(); ++i) {
    MEGASFT_CHECK(s.offsets[i] >= s.offsets[i - 1], where, ": /offsets decreases at index ", i,
                  " (", s.offsets[i - 1], " then ", s.offsets[i], ")");
  }
  const auto n = static_cast<int64_t>(s.tokens.size());
  MEGASFT_CHECK(s.offsets.back() == n, where, ": last /offsets entry is ", s.offsets.back(),
                " but /tokens has ", n, " entries");
  for (size_t i = 0; i + 1 < s.offsets.size(); ++i) {
    for (int64_t k = s.offsets[i]; k < s.offsets[i + 1]; ++k) {
      const int32_t id = s.tokens[static_cast<size_t>(k)];
      MEGASFT_CHECK(id >= 0 && id < s.vocab_size, where, ": token id ", id, " in sample ", i,
                    " at position ", k - s.offsets[i], " (/tokens[", k,
                    "]) is outside the vocabulary [0, ", s.vocab_size, ")");
      const uint8_t m = s.loss_mask[static_cast<size_t>(k)];
      MEGASFT_CHECK(m <= 1, where, ": /loss_mask value ", static_cast<int>(m), " in sample ", i,
                    " at position ", k - s.offsets[i], " must be 0 or 1");
    }
  }
  if (s.position_ids.empty()) return;
  MEGASFT_CHECK(s.position_ids.size() == s.tokens.size(), where, ": /position_ids has ",
                s.position_ids.size(), " entries but /tokens has ", n);
  for (size_t i = 0; i + 1 < s.offsets.size(); ++i) {
    for (int64_t k = s.offsets[i]; k < s.offsets[i + 1]; ++k) {
      const int32_t p = s.position_ids[static_cast<size_t>(k)];
      const bool first = k == s.offsets[i];
      const bool ok =
          first ? p == 0 : (p == 0 || p == s.position_ids[static_cast<size_t>(k - 1)] + 1);
      MEGASFT_CHECK(ok, where, ": /position_ids[", k, "] = ", p, " in row ", i, " at position ",
                    k - s.offsets[i],
                    first ? " must be 0 (a row starts a sample)"
                          : " must be 0 (a new sample) or the previous id + 1");
      MEGASFT_CHECK(p != 0 || s.loss_mask[static_cast<size_t>(k)] == 0, where, ": /loss_mask[", k,
                    "] is 1 at the start of a packed sample (row ", i,
                    "): its target would be predicted from the previous sample");
    }
  }
}

std::string describe_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t bits = 8 * H5Tget_size(type);
  switch (cls) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_STRING:
      return "string";
    default:
      return "HDF5 type class " + std::to_string(static_cast<int>(cls));
  }
}

// Reads a whole 1-D integer dataset whose stored type must match exactly: a silent conversion
// would hide a file written by a different tool or layout.
template <typename T>
std::vector<T> read_dataset(hid_t file, const std::string& path, const char* name, hid_t mem_type,
                            H5T_sign_t sign, const char* type_name) {
  const htri_t exists = h5_check(H5Lexists(file, name, H5P_DEFAULT), path, name, "look up dataset");
  MEGASFT_CHECK(exists > 0, "dataset file '", path, "' has no dataset '", name, "'");
  H5Handle ds = h5_own(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose, path, name, "open dataset");
  H5Handle type = h5_own(H5Dget_type(ds.get()), H5Tclose, path, name, "get the type of");
  const bool type_ok = H5Tget_class(type.get()) == H5T_INTEGER &&
                       H5Tget_size(type.get()) == sizeof(T) && H5Tget_sign(type.get()) == sign;
  MEGASFT_CHECK(type_ok, "dataset file '", path, "': dataset '", name, "' must be ", type_name,
                " but is ", describe_type(type.get()));
  H5Handle space = h5_own(H5Dget_space(ds.get()), H5Sclose, path, name, "get the shape of");
  const int rank = h5_check(H5Sget_simple_extent_ndims(space.get()), path, name, "get the rank of");
  MEGASFT_CHECK(rank == 1, "dataset file '", path, "': dataset '", name,
                "' must be 1-dimensional but has rank ", rank);
  hsize_t dim = 0;
  h5_check(H5Sget_simple_extent_dims(space.get(), &dim, nullptr), path, name, "get the size of");
  std::vector<T> data(static_cast<size_t>(dim));
  if (dim > 0) {
    h5_check(H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), path, name,
             "read dataset");
  }
  return data;
}

H5Handle open_attribute(hid_t file, const std::string& path, const char* name) {
  const htri_t exists = h5_check(H5Aexists(file, name), path, name, "look up attribute");
  MEGASFT_CHECK(exists > 0, "dataset file '", path, "' has no root attribute '", name, "'");
  return h5_own(H5Aopen(file, name, H5P_DEFAULT), H5Aclose, path, name, "open attribute");
}

void check_scalar_attribute(hid_t attr, const std::string& path, const char* name) {
  H5Handle space = h5_own(H5Aget_space(attr), H5Sclose, path, name, "get the shape of attribute");
  const hssize_t points =
      h5_check(H5Sget_simple_extent_npoints(space.get()), path, name, "get the size of attribute");
  MEGASFT_CHECK(points == 1, "dataset file '", path, "': attribute '", name,
                "' must hold one value but holds ", points);
}

int64_t read_int_attribute(hid_t file, const std::string& path, const char* name) {
  H5Handle attr = open_attribute(file, path, name);
  H5Handle type =
      h5_own(H5Aget_type(attr.get()), H5Tclose, path, name, "get the type of attribute");
  MEGASFT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, "dataset file '", path, "': attribute '",
                name, "' must be an integer but is ", describe_type(type.get()));
  check_scalar_attribute(attr.get(), path, name);
  int64_t value = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), path, name, "read attribute");
  return value;
}

// Accepts fixed-length and variable-length strings, so files written by h5py also load.
std::string read_string_attribute(hid_t file, const std::string& path, const char* name) {
  H5Handle attr = open_attribute(file, path, name);
  H5Handle type =
      h5_own(H5Aget_type(attr.get()), H5Tclose, path, name, "get the type of attribute");
  MEGASFT_CHECK(H5Tget_class(type.get()) == H5T_STRING, "dataset file '", path, "': attribute '",
                name, "' must be a string but is ", describe_type(type.get()));
  check_scalar_attribute(attr.get(), path, name);
  H5Handle mem = h5_own(H5Tcopy(H5T_C_S1), H5Tclose, path, name, "make a string type for");
  h5_check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), path, name, "set the charset for");
  const htri_t variable =
      h5_check(H5Tis_variable_str(type.get()), path, name, "inspect the string type of");
  if (variable > 0) {
    h5_check(H5Tset_size(mem.get(), H5T_VARIABLE), path, name, "make a string type for");
    char* raw = nullptr;
    h5_check(H5Aread(attr.get(), mem.get(), &raw), path, name, "read attribute");
    std::string value = raw != nullptr ? raw : "";
    H5free_memory(raw);
    return value;
  }
  // One extra byte so a null-padded (unterminated) stored string keeps its last character.
  const size_t size = H5Tget_size(type.get()) + 1;
  h5_check(H5Tset_size(mem.get(), size), path, name, "make a string type for");
  std::string buffer(size, '\0');
  h5_check(H5Aread(attr.get(), mem.get(), buffer.data()), path, name, "read attribute");
  return buffer.substr(0, buffer.find('\0'));
}

void write_dataset(hid_t file, const std::string& path, const char* name, hid_t file_type,
                   hid_t mem_type, const void* data, size_t count) {
  const hsize_t dim = count;
  H5Handle space =
      h5_own(H5Screate_simple(1, &dim, nullptr), H5Sclose, path, name, "make the dataspace for");
  H5Handle ds =
      h5_own(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose, path, name, "create dataset");
  if (count > 0) {
    h5_check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, name,
             "write dataset");
  }
  h5_check(ds.close(), path, name, "close dataset");
}

void write_scalar_attribute(hid_t file, const std::string& path, const char* name, hid_t file_type,
                            hid_t mem_type, const void* value) {
  H5Handle space = h5_own(H5Screate(H5S_SCALAR), H5Sclose, path, name, "make the dataspace for");
  H5Handle attr = h5_own(H5Acreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose, path, name, "create attribute");
  h5_check(H5Awrite(attr.get(), mem_type, value), path, name, "write attribute");
  h5_check(attr.close(), path, name, "close attribute");
}

void write_string_attribute(hid_t file, const std::string& path, const char* name,
                            const std::string& value) {
  H5Handle type = h5_own(H5Tcopy(H5T_C_S1), H5Tclose, path, name, "make a string type for");
  h5_check(H5Tset_size(type.get(), value.size() + 1), path, name, "make a string type for");
  h5_check(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), path, name, "make a string type for");
  write_scalar_attribute(file, path, name, type.get(), type.get(), value.c_str());
}

void write_file(const std::string& path, const TokenizedSamples& s) {
  H5Handle file = h5_own(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
                         path, "/", "create file");
  write_dataset(file.get(), path, "/tokens", H5T_STD_I32LE, H5T_NATIVE_INT32, s.tokens.data(),
                s.tokens.size());
  write_dataset(file.get(), path, "/loss_mask", H5T_STD_U8LE, H5T_NATIVE_UINT8, s.loss_mask.data(),
                s.loss_mask.size());
  write_dataset(file.get(), path, "/offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, s.offsets.data(),
                s.offsets.size());
  if (!s.position_ids.empty()) {
    write_dataset(file.get(), path, "/position_ids", H5T_STD_I32LE, H5T_NATIVE_INT32,
                  s.position_ids.data(), s.position_ids.size());
  }
  write_string_attribute(file.get(), path, "format", kTokenFormatName);
  const int version = static_cast<int>(kTokenFormatVersion);
  write_scalar_attribute(file.get(), path, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT,
                         &version);
  write_scalar_attribute(file.get(), path, "vocab_size", H5T_STD_I64LE, H5T_NATIVE_INT64,
                         &s.vocab_size);
  write_string_attribute(file.get(), path, "tokenizer", s.tokenizer);
  h5_check(file.close(), path, "/", "close (flush) file");
}

}  // namespace

void write_token_dataset(const std::string& path, const TokenizedSamples& samples) {
  silence_hdf5_errors();
  MEGASFT_CHECK(!path.empty(), "write_token_dataset: the output path is empty");
  validate(samples, "cannot write dataset file '" + path + "'");
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    MEGASFT_CHECK(!ec, "cannot create directory '", parent.string(), "' for dataset file '", path,
                  "': ", ec.message());
  }
  const std::string tmp = path + ".tmp";
  try {
    write_file(tmp, samples);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    MEGASFT_FAIL("cannot rename '", tmp, "' to dataset file '", path, "': ", ec.message());
  }
}

TokenDataset TokenDataset::open(const std::string& path) {
  silence_hdf5_errors();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  MEGASFT_CHECK(fs::exists(status), "cannot open dataset file '", path, "': no such file");
  MEGASFT_CHECK(!fs::is_directory(status), "cannot open dataset file '", path,
                "': it is a directory");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 <= 0) {
    const std::string cause = is_hdf5 < 0 ? hdf5_error_cause() : "";
    MEGASFT_FAIL("cannot open dataset file '", path, "': not an HDF5 file",
                 cause.empty() ? "" : " (", cause, cause.empty() ? "" : ")");
  }
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0) {
    const std::string cause = hdf5_error_cause();
    // The cause is usually a truncated or corrupt file, but can be e.g. file locking on NFS.
    MEGASFT_FAIL("cannot open dataset file '", path, "': HDF5 cannot read it",
                 cause.empty() ? "" : " (", cause, cause.empty() ? "" : ")",
                 "; the file may be corrupt or truncated");
  }
  const hid_t f = file.get();

  const std::string format = read_string_attribute(f, path, "format");
  MEGASFT_CHECK(format == kTokenFormatName, "dataset file '", path, "': attribute 'format' is '",
                format, "', expected '", kTokenFormatName, "'");
  const int64_t version = read_int_attribute(f, path, "format_version");
  MEGASFT_CHECK(version == kTokenFormatVersion, "dataset file '", path,
                "': unsupported format_version ", version, " (this build reads version ",
                kTokenFormatVersion, ")");

  TokenizedSamples s;
  s.vocab_size = read_int_attribute(f, path, "vocab_size");
  s.tokenizer = read_string_attribute(f, path, "tokenizer");
  s.tokens = read_dataset<int32_t>(f, path, "/tokens", H5T_NATIVE_INT32, H5T_SGN_2, "int32");
  s.loss_mask =
      read_dataset<uint8_t>(f, path, "/loss_mask", H5T_NATIVE_UINT8, H5T_SGN_NONE, "uint8");
  s.offsets = read_dataset<int64_t>(f, path, "/offsets", H5T_NATIVE_INT64, H5T_SGN_2, "int64");
  if (h5_check(H5Lexists(f, "/position_ids", H5P_DEFAULT), path, "/position_ids",
               "look up dataset") > 0) {
    s.position_ids =
        read_dataset<int32_t>(f, path, "/position_ids", H5T_NATIVE_INT32, H5T_SGN_2, "int32");
  }
  validate(s, "dataset file '" + path + "'");

  TokenDataset data;
  data.path_ = path;
  data.tokens_ = std::move(s.tokens);
  data.loss_mask_ = std::move(s.loss_mask);
  data.offsets_ = std::move(s.offsets);
  data.position_ids_ = std::move(s.position_ids);
  data.vocab_size_ = s.vocab_size;
  data.tokenizer_ = std::move(s.tokenizer);
  return data;
}

void TokenDataset::check_index(int64_t i) const {
  MEGASFT_CHECK(i >= 0 && i < num_samples(), "dataset file '", path_, "': sample index ", i,
                " is out of range [0, ", num_samples(), ")");
}

std::span<const int32_t> TokenDataset::tokens(int64_t i) const {
  check_index(i);
  const auto begin = static_cast<size_t>(offsets_[i]);
  return {tokens_.data() + begin, static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
}

std::span<const uint8_t> TokenDataset::loss_mask(int64_t i) const {
  check_index(i);
  const auto begin = static_cast<size_t>(offsets_[i]);
  return {loss_mask_.data() + begin, static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
}

std::span<const int32_t> TokenDataset::position_ids(int64_t i) const {
  check_index(i);
  if (position_ids_.empty()) return {};
  const auto begin = static_cast<size_t>(offsets_[i]);
  return {position_ids_.data() + begin, static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
}

}  // namespace megasft::data
