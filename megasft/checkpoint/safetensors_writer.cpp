// The header is padded with spaces to a multiple of 8 bytes, as the reference writer does, so every
// tensor's data starts 8-byte aligned relative to the data section.
#include "megasft/checkpoint/safetensors_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "kernels/check.h"
#include "megasft/checkpoint/safetensors.h"

namespace megasft::checkpoint {

int64_t TensorSpec::bytes() const {
  int64_t n = static_cast<int64_t>(c10::elementSize(dtype));
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsWriter::SafetensorsWriter(std::string path, std::vector<TensorSpec> specs,
                                     std::map<std::string, std::string> metadata)
    : path_(std::move(path)), temporary_(path_ + ".tmp"), specs_(std::move(specs)) {
  if (!metadata.count("format")) metadata["format"] = "pt";
  nlohmann::json header;
  header["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const auto& spec : specs_) {
    MEGASFT_CHECK(!header.contains(spec.name), "safetensors file '", path_, "': tensor '",
                  spec.name, "' written twice");
    header[spec.name] = {{"dtype", safetensors_dtype_name(spec.dtype)},
                         {"shape", spec.shape},
                         {"data_offsets", {offset, offset + spec.bytes()}}};
    offset += spec.bytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  file_ = std::fopen(temporary_.c_str(), "wb");
  MEGASFT_CHECK(file_ != nullptr, "cannot create '", temporary_, "': ", std::strerror(errno));
  const uint64_t length = text.size();
  MEGASFT_CHECK(std::fwrite(&length, 8, 1, file_) == 1 &&
                    std::fwrite(text.data(), 1, text.size(), file_) == text.size(),
                "cannot write the header of '", temporary_, "': ", std::strerror(errno));
}

SafetensorsWriter::~SafetensorsWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(temporary_.c_str());
  }
}

void SafetensorsWriter::write(const std::string& name, const at::Tensor& tensor) {
  MEGASFT_CHECK(file_ != nullptr, "safetensors file '", path_, "' is already finished");
  MEGASFT_CHECK(next_ < specs_.size(), "safetensors file '", path_, "': tensor '", name,
                "' was not declared");
  const auto& spec = specs_[next_];
  MEGASFT_CHECK(name == spec.name, "safetensors file '", path_, "': expected tensor '", spec.name,
                "' next, got '", name, "'");
  MEGASFT_CHECK(tensor.sizes() == at::IntArrayRef(spec.shape), "safetensors file '", path_,
                "': tensor '", name, "' has shape ", tensor.sizes(), ", declared ",
                at::IntArrayRef(spec.shape));
  auto bytes = tensor.detach().to(at::kCPU, spec.dtype).contiguous();
  const auto count = static_cast<size_t>(spec.bytes());
  MEGASFT_CHECK(count == 0 || std::fwrite(bytes.data_ptr(), 1, count, file_) == count,
                "cannot write tensor '", name, "' to '", temporary_, "': ", std::strerror(errno));
  data_bytes_ += spec.bytes();
  ++next_;
}

void SafetensorsWriter::finish() {
  MEGASFT_CHECK(next_ == specs_.size(), "safetensors file '", path_, "': ", specs_.size() - next_,
                " declared tensors were not written (next: '",
                next_ < specs_.size() ? specs_[next_].name : "", "')");
  const bool flushed = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    std::remove(temporary_.c_str());
    MEGASFT_FAIL("cannot write '", temporary_, "': ", std::strerror(errno));
  }
  std::filesystem::rename(temporary_, path_);
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) specs.push_back({name, t.scalar_type(), t.sizes().vec()});
  SafetensorsWriter writer(path, std::move(specs), metadata);
  for (const auto& [name, t] : tensors) writer.write(name, t);
  writer.finish();
}

}  // namespace megasft::checkpoint
