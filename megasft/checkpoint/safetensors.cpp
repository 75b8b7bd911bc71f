// Safetensors reading: header validation first (so a bad file fails before any tensor is used),
// then slice reads that copy rows straight out of the mapping into an aligned tensor.
#include "megasft/checkpoint/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kernels/check.h"

namespace megasft::checkpoint {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian; so must the host be");

const std::vector<std::pair<std::string, at::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, at::ScalarType>> names = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  return names;
}

std::string known_dtypes() {
  std::string list;
  for (const auto& [name, type] : dtype_names()) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

std::optional<at::ScalarType> safetensors_scalar_type(const std::string& dtype) {
  for (const auto& [name, type] : dtype_names())
    if (name == dtype) return type;
  return std::nullopt;
}

std::string safetensors_dtype_name(at::ScalarType type) {
  for (const auto& [name, t] : dtype_names())
    if (t == type) return name;
  MEGASFT_FAIL("dtype ", c10::toString(type), " has no safetensors name (", known_dtypes(), ")");
}

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  MEGASFT_CHECK(fd_ >= 0, "cannot open safetensors file '", path_, "': ", std::strerror(errno));
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    ::close(fd_);
    MEGASFT_FAIL("cannot stat '", path_, "': ", std::strerror(errno));
  }
  file_bytes_ = static_cast<size_t>(info.st_size);
  if (file_bytes_ < 8) {
    ::close(fd_);
    MEGASFT_FAIL("safetensors file '", path_, "' is truncated: ", file_bytes_,
                 " bytes, less than the 8-byte header length");
  }
  map_ = ::mmap(nullptr, file_bytes_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    ::close(fd_);
    MEGASFT_FAIL("cannot map '", path_, "': ", std::strerror(errno));
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, map_, 8);
  try {
    parse_header(header_bytes);
  } catch (...) {
    ::munmap(map_, file_bytes_);
    ::close(fd_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, file_bytes_);
  if (fd_ >= 0) ::close(fd_);
}

void SafetensorsFile::parse_header(uint64_t header_bytes) {
  MEGASFT_CHECK(header_bytes <= kMaxSafetensorsHeaderBytes, "safetensors file '", path_,
                "': header of ", header_bytes, " bytes is larger than the ",
                kMaxSafetensorsHeaderBytes, "-byte limit (not a safetensors file?)");
  MEGASFT_CHECK(8 + header_bytes <= file_bytes_, "safetensors file '", path_,
                "' is truncated: its header says ", header_bytes, " bytes but the file has only ",
                file_bytes_ - 8, " after the length");
  const auto* bytes = static_cast<const uint8_t*>(map_);
  data_ = bytes + 8 + header_bytes;
  data_bytes_ = static_cast<int64_t>(file_bytes_ - 8 - header_bytes);
  nlohmann::json header;
  try {
    header =
        nlohmann::json::parse(std::string(reinterpret_cast<const char*>(bytes + 8), header_bytes));
  } catch (const nlohmann::json::exception& e) {
    MEGASFT_FAIL("safetensors file '", path_, "': the header is not valid JSON: ", e.what());
  }
  MEGASFT_CHECK(header.is_object(), "safetensors file '", path_,
                "': the header is not a JSON object");

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      MEGASFT_CHECK(value.is_object(), "safetensors file '", path_,
                    "': __metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        MEGASFT_CHECK(text.is_string(), "safetensors file '", path_, "': __metadata__.", key,
                      " is not a string");
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    const std::string where = "safetensors file '" + path_ + "', tensor '" + name + "'";
    MEGASFT_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                      value.contains("data_offsets"),
                  where, ": needs dtype, shape and data_offsets, got ", value.dump());
    TensorEntry e;
    e.name = name;
    MEGASFT_CHECK(value["dtype"].is_string(), where, ": dtype ", value["dtype"].dump(),
                  " is not a string");
    const auto dtype_name = value["dtype"].get<std::string>();
    auto dtype = safetensors_scalar_type(dtype_name);
    MEGASFT_CHECK(dtype.has_value(), where, ": unknown or unsupported dtype '", dtype_name,
                  "' (megasft reads ", known_dtypes(), ")");
    e.dtype = *dtype;
    MEGASFT_CHECK(value["shape"].is_array(), where, ": shape ", value["shape"].dump(),
                  " is not an array");
    int64_t numel = 1;
    for (const auto& d : value["shape"]) {
      MEGASFT_CHECK(d.is_number_unsigned(), where, ": shape ", value["shape"].dump(),
                    " has a non-integer or negative size");
      e.shape.push_back(d.get<int64_t>());
      numel *= e.shape.back();
    }
    const auto& offsets = value["data_offsets"];
    MEGASFT_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                      offsets[1].is_number_unsigned(),
                  where, ": data_offsets ", offsets.dump(), " is not [begin, end]");
    e.begin = offsets[0].get<int64_t>();
    e.end = offsets[1].get<int64_t>();
    MEGASFT_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end,
                  "] end before they begin");
    MEGASFT_CHECK(e.end <= data_bytes_, where, ": data_offsets [", e.begin, ", ", e.end,
                  "] run past the ", data_bytes_, " bytes of data (truncated file?)");
    const int64_t expected = numel * static_cast<int64_t>(c10::elementSize(e.dtype));
    MEGASFT_CHECK(e.end - e.begin == expected, where, ": data_offsets [", e.begin, ", ", e.end,
                  "] hold ", e.end - e.begin, " bytes but ", dtype_name, " ", value["shape"].dump(),
                  " needs ", expected);
    entries_.push_back(std::move(e));
  }
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 0; i < entries_.size(); ++i) {
    index_[entries_[i].name] = i;
    if (i > 0)
      MEGASFT_CHECK(
          entries_[i].begin >= entries_[i - 1].end || entries_[i].begin == entries_[i].end,
          "safetensors file '", path_, "': tensors '", entries_[i - 1].name, "' [",
          entries_[i - 1].begin, ", ", entries_[i - 1].end, ") and '", entries_[i].name, "' [",
          entries_[i].begin, ", ", entries_[i].end, ") overlap");
  }
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const TensorEntry& SafetensorsFile::entry(const std::string& name) const {
  const auto* e = find(name);
  MEGASFT_CHECK(e != nullptr, "tensor '", name, "' is not in safetensors file '", path_, "'");
  return *e;
}

at::Tensor SafetensorsFile::read(const std::string& name) const {
  const auto& e = entry(name);
  auto out = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
  if (e.end > e.begin)
    std::memcpy(out.data_ptr(), data_ + e.begin, static_cast<size_t>(e.end - e.begin));
  return out;
}

at::Tensor SafetensorsFile::read_slice(const std::string& name, int64_t dim, int64_t start,
                                       int64_t length) const {
  const auto& e = entry(name);
  const auto rank = static_cast<int64_t>(e.shape.size());
  MEGASFT_CHECK(
      dim >= 0 && dim < rank && start >= 0 && length >= 0 && start + length <= e.shape[dim],
      "slice [", start, ", ", start + length, ") along dimension ", dim, " is outside tensor '",
      name, "' of shape ", at::IntArrayRef(e.shape), " in '", path_, "'");
  // Row-major: `outer` runs of the sliced dimension, each `inner` bytes per index along it.
  int64_t outer = 1, inner = static_cast<int64_t>(c10::elementSize(e.dtype));
  for (int64_t d = 0; d < dim; ++d) outer *= e.shape[d];
  for (int64_t d = dim + 1; d < rank; ++d) inner *= e.shape[d];
  auto shape = e.shape;
  shape[dim] = length;
  auto out = at::empty(shape, at::TensorOptions().dtype(e.dtype));
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + o * length * inner, data_ + e.begin + (o * e.shape[dim] + start) * inner,
                static_cast<size_t>(length * inner));
  return out;
}

}  // namespace megasft::checkpoint
