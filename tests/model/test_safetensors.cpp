// The safetensors reader and writer: every dtype round trip, slice reads, sharded folders, and a
// clear error for each kind of bad file (truncated, offsets out of range or overlapping, unknown
// dtype, header too large, missing tensor).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kernels/check.h"
#include "megasft/checkpoint/hf_checkpoint.h"
#include "megasft/checkpoint/safetensors_writer.h"
#include "tests/data/temp_dir.h"

namespace megasft::checkpoint {
namespace {

using data::testing::TempDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_ERROR_WITH(statement, ...)                                                         \
  do {                                                                                            \
    const std::string message = error_of([&] { statement; });                                     \
    ASSERT_FALSE(message.empty()) << #statement " did not fail";                                  \
    for (const std::string part : {__VA_ARGS__})                                                  \
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message; \
  } while (0)

// A file from a header text and data bytes, as a damaged or foreign writer might leave it.
void write_raw(const std::string& path, const std::string& header, const std::string& data,
               uint64_t length = 0) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = length ? length : header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

TEST(Safetensors, EveryDtypeRoundTripsBitForBit) {
  TempDir dir;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto type : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16})
    tensors.emplace_back(std::string("float.") + c10::toString(type),
                         at::randn({3, 5}, gen).to(type));
  for (auto type : {at::kLong, at::kInt, at::kShort, at::kChar, at::kByte})
    tensors.emplace_back(std::string("int.") + c10::toString(type),
                         at::randint(0, 100, {7}, gen).to(type));
  tensors.emplace_back("bool", at::rand({2, 2}, gen) > 0.5);
  tensors.emplace_back("empty", at::zeros({0, 4}));
  tensors.emplace_back("scalar", at::full({}, 2.5));
  write_safetensors(dir.file("a.safetensors"), tensors, {{"note", "hello"}});
  SafetensorsFile file(dir.file("a.safetensors"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "hello");
  for (const auto& [name, t] : tensors) {
    auto back = file.read(name);
    EXPECT_EQ(back.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(back.sizes() == t.sizes() && at::equal(back, t)) << name;
  }
  uint64_t header = 0;
  std::ifstream(dir.file("a.safetensors"), std::ios::binary)
      .read(reinterpret_cast<char*>(&header), 8);
  EXPECT_EQ(header % 8, 0u);
}

TEST(Safetensors, SlicesReadOnlyTheirRows) {
  TempDir dir;
  auto t = at::arange(2 * 6 * 5, at::kFloat).reshape({2, 6, 5}).to(at::kBFloat16);
  write_safetensors(dir.file("s.safetensors"), {{"x", t}});
  SafetensorsFile file(dir.file("s.safetensors"));
  for (int64_t dim = 0; dim < 3; ++dim)
    for (int64_t start = 0; start < t.size(dim); ++start)
      for (int64_t len = 0; start + len <= t.size(dim); ++len)
        ASSERT_TRUE(at::equal(file.read_slice("x", dim, start, len), t.narrow(dim, start, len)))
            << dim << " " << start << " " << len;
  EXPECT_ERROR_WITH(file.read_slice("x", 1, 4, 3), "outside tensor 'x'");
}

TEST(Safetensors, BadFilesAreNamed) {
  TempDir dir;
  write_safetensors(dir.file("good.safetensors"), {{"w", at::ones({4, 4})}, {"b", at::ones({4})}});
  const auto path = dir.file("cut.safetensors");
  std::filesystem::copy_file(dir.file("good.safetensors"), path);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 8);
  EXPECT_ERROR_WITH(SafetensorsFile{path}, "cut.safetensors", "run past", "truncated");

  write_raw(dir.file("tiny.safetensors"), "", "", 0);
  std::filesystem::resize_file(dir.file("tiny.safetensors"), 5);
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("tiny.safetensors")}, "tiny.safetensors", "truncated");

  write_raw(dir.file("short.safetensors"),
            R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "", 4096);
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("short.safetensors")}, "short.safetensors",
                    "truncated", "4096");

  write_raw(dir.file("huge.safetensors"), "{}", "", uint64_t{1} << 40);
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("huge.safetensors")}, "huge.safetensors",
                    "header of 1099511627776 bytes", "larger than");

  write_raw(dir.file("f8.safetensors"),
            R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab");
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("f8.safetensors")}, "f8.safetensors", "tensor 'w'",
                    "dtype 'F8_E4M3'");

  write_raw(
      dir.file("overlap.safetensors"),
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0'));
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("overlap.safetensors")}, "overlap.safetensors", "'a'",
                    "'b'", "overlap");

  write_raw(dir.file("range.safetensors"),
            R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0'));
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("range.safetensors")}, "range.safetensors",
                    "tensor 'a'", "[0, 16]", "8 bytes");

  write_raw(dir.file("count.safetensors"),
            R"({"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("count.safetensors")}, "tensor 'a'", "needs 6");

  write_raw(dir.file("json.safetensors"), "{not json", "");
  EXPECT_ERROR_WITH(SafetensorsFile{dir.file("json.safetensors")}, "json.safetensors",
                    "not valid JSON");

  SafetensorsFile good(dir.file("good.safetensors"));
  EXPECT_ERROR_WITH(good.read("nope"), "tensor 'nope'", "good.safetensors");
}

TEST(Safetensors, ShardedFolderFindsEachTensorAndNamesMissingOnes) {
  TempDir dir;
  write_safetensors(dir.file("m/model-00001-of-00002.safetensors"), {{"a", at::ones({2})}});
  write_safetensors(dir.file("m/model-00002-of-00002.safetensors"), {{"b", at::full({3}, 2.0)}});
  std::ofstream(dir.file("m/model.safetensors.index.json"))
      << R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})";
  HfCheckpoint checkpoint(dir.file("m"));
  EXPECT_EQ(checkpoint.tensor_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(at::equal(checkpoint.read("b"), at::full({3}, 2.0)));
  EXPECT_ERROR_WITH(checkpoint.entry("model.norm.weight"), "tensor 'model.norm.weight'",
                    "model-00001-of-00002", "model-00002-of-00002");

  std::ofstream(dir.file("m/model.safetensors.index.json"))
      << R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})";
  EXPECT_ERROR_WITH(HfCheckpoint{dir.file("m")}, "tensor 'a'", "model-00002-of-00002.safetensors",
                    "does not hold it");

  std::filesystem::create_directories(dir.file("empty"));
  EXPECT_ERROR_WITH(HfCheckpoint{dir.file("empty")},
                    "neither model.safetensors nor model.safetensors.index.json");
}

}  // namespace
}  // namespace megasft::checkpoint
