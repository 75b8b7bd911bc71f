#include "megasft/data/token_dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include "kernels/check.h"
#include "megasft/data/chat_format.h"
#include "megasft/data/demo_math.h"
#include "megasft/data/hdf5_util.h"
#include "temp_dir.h"

namespace megasft::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TokenizedSamples demo_samples(int64_t count) {
  return tokenize_chat(generate_arithmetic_problems(42, count), CharTokenizer());
}

// Expects open() to fail with a message that names the file and every `needles` entry.
void expect_open_error(const std::string& path, std::initializer_list<std::string> needles) {
  try {
    TokenDataset::open(path);
    ADD_FAILURE() << "opening '" << path << "' should fail";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& needle : needles) {
      EXPECT_NE(msg.find(needle), std::string::npos) << "missing '" << needle << "' in: " << msg;
    }
  }
}

// Edits a valid file in place with the raw HDF5 API, to produce files our writer refuses to make.
void edit_file(const std::string& path, const std::function<void(hid_t)>& edit) {
  silence_hdf5_errors();
  H5Handle file = h5_own(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, path, "/",
                         "open for editing");
  edit(file.get());
  ASSERT_GE(file.close(), 0);
}

template <typename T>
void overwrite_dataset(hid_t file, const char* name, hid_t mem_type, const std::vector<T>& values) {
  H5Handle ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  ASSERT_GE(ds.get(), 0);
  ASSERT_GE(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
}

void replace_dataset(hid_t file, const char* name, hid_t type, std::vector<hsize_t> dims) {
  ASSERT_GE(H5Ldelete(file, name, H5P_DEFAULT), 0);
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle ds(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose);
  ASSERT_GE(ds.get(), 0);
}

class TokenDatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    samples_ = demo_samples(20);
    path_ = dir_.file("valid.h5");
    write_token_dataset(path_, samples_);
  }

  TempDir dir_;
  TokenizedSamples samples_;
  std::string path_;
};

TEST_F(TokenDatasetTest, WriteOpenRoundTrip) {
  const TokenDataset data = TokenDataset::open(path_);
  EXPECT_EQ(data.path(), path_);
  EXPECT_EQ(data.num_samples(), 20);
  EXPECT_EQ(data.num_tokens(), static_cast<int64_t>(samples_.tokens.size()));
  EXPECT_EQ(data.vocab_size(), samples_.vocab_size);
  EXPECT_EQ(data.tokenizer(), "char-v1");
  for (int64_t i = 0; i < data.num_samples(); ++i) {
    const auto begin = samples_.offsets[i];
    const auto end = samples_.offsets[i + 1];
    const auto tokens = data.tokens(i);
    const auto mask = data.loss_mask(i);
    ASSERT_EQ(static_cast<int64_t>(tokens.size()), end - begin);
    ASSERT_EQ(mask.size(), tokens.size());
    for (int64_t t = 0; t < end - begin; ++t) {
      EXPECT_EQ(tokens[t], samples_.tokens[begin + t]);
      EXPECT_EQ(mask[t], samples_.loss_mask[begin + t]);
    }
  }
  EXPECT_THROW(data.tokens(20), Error);
  EXPECT_THROW(data.loss_mask(-1), Error);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(TokenDatasetTest, CreatesParentDirectoriesAndOverwrites) {
  const std::string nested = dir_.file("a/b/c/data.h5");
  write_token_dataset(nested, samples_);
  write_token_dataset(nested, demo_samples(3));  // replaces the earlier file atomically
  EXPECT_EQ(TokenDataset::open(nested).num_samples(), 3);
  EXPECT_FALSE(fs::exists(nested + ".tmp"));
}

TEST_F(TokenDatasetTest, EmptyDatasetRoundTrips) {
  const std::string empty = dir_.file("empty.h5");
  write_token_dataset(empty, tokenize_chat({}, CharTokenizer()));
  const TokenDataset data = TokenDataset::open(empty);
  EXPECT_EQ(data.num_samples(), 0);
  EXPECT_EQ(data.num_tokens(), 0);
}

TEST_F(TokenDatasetTest, WriterRejectsInvalidSamplesAndLeavesNoFile) {
  const std::string out = dir_.file("bad.h5");
  TokenizedSamples bad = samples_;
  bad.tokens[5] = static_cast<int32_t>(bad.vocab_size);
  try {
    write_token_dataset(out, bad);
    ADD_FAILURE() << "an out-of-vocabulary token must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(out), std::string::npos) << e.what();
  }
  bad = samples_;
  bad.loss_mask.pop_back();
  EXPECT_THROW(write_token_dataset(out, bad), Error);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST_F(TokenDatasetTest, MissingFile) { expect_open_error(dir_.file("nope.h5"), {"no such file"}); }

TEST_F(TokenDatasetTest, TextFileIsNotHdf5) {
  const std::string text = dir_.file("notes.h5");
  std::ofstream(text) << "tokens: 1 2 3\nthis is not HDF5\n";
  expect_open_error(text, {"not an HDF5 file"});
}

TEST_F(TokenDatasetTest, TruncatedFile) {
  const std::string truncated = dir_.file("truncated.h5");
  fs::copy_file(path_, truncated);
  fs::resize_file(truncated, fs::file_size(path_) / 2);
  expect_open_error(truncated, {"truncated"});
}

TEST_F(TokenDatasetTest, MissingOffsets) {
  edit_file(path_, [](hid_t f) { ASSERT_GE(H5Ldelete(f, "/offsets", H5P_DEFAULT), 0); });
  expect_open_error(path_, {"/offsets"});
}

TEST_F(TokenDatasetTest, MissingAttribute) {
  edit_file(path_, [](hid_t f) { ASSERT_GE(H5Adelete(f, "vocab_size"), 0); });
  expect_open_error(path_, {"vocab_size"});
}

TEST_F(TokenDatasetTest, OutOfRangeTokenNamesSamplePositionAndValue) {
  std::vector<int32_t> tokens = samples_.tokens;
  tokens[samples_.offsets[3] + 7] = 99;
  edit_file(path_, [&](hid_t f) { overwrite_dataset(f, "/tokens", H5T_NATIVE_INT32, tokens); });
  expect_open_error(path_, {"token id 99", "sample 3", "position 7"});
}

TEST_F(TokenDatasetTest, NegativeToken) {
  std::vector<int32_t> tokens = samples_.tokens;
  tokens[samples_.offsets[0] + 2] = -4;
  edit_file(path_, [&](hid_t f) { overwrite_dataset(f, "/tokens", H5T_NATIVE_INT32, tokens); });
  expect_open_error(path_, {"token id -4", "sample 0", "position 2"});
}

TEST_F(TokenDatasetTest, DecreasingOffsets) {
  std::vector<int64_t> offsets = samples_.offsets;
  std::swap(offsets[4], offsets[5]);
  edit_file(path_, [&](hid_t f) { overwrite_dataset(f, "/offsets", H5T_NATIVE_INT64, offsets); });
  expect_open_error(path_, {"/offsets decreases at index 5"});
}

TEST_F(TokenDatasetTest, OffsetsMustStartAtZeroAndEndAtN) {
  std::vector<int64_t> offsets = samples_.offsets;
  offsets[0] = 1;
  edit_file(path_, [&](hid_t f) { overwrite_dataset(f, "/offsets", H5T_NATIVE_INT64, offsets); });
  expect_open_error(path_, {"/offsets[0] must be 0, got 1"});

  offsets = samples_.offsets;
  offsets.back() -= 1;
  edit_file(path_, [&](hid_t f) { overwrite_dataset(f, "/offsets", H5T_NATIVE_INT64, offsets); });
  expect_open_error(path_, {"last /offsets entry", std::to_string(offsets.back())});
}

TEST_F(TokenDatasetTest, LengthMismatch) {
  const hsize_t shorter = samples_.tokens.size() - 1;
  edit_file(path_, [&](hid_t f) { replace_dataset(f, "/loss_mask", H5T_STD_U8LE, {shorter}); });
  expect_open_error(path_, {"/loss_mask", std::to_string(shorter)});
}

TEST_F(TokenDatasetTest, WrongDtype) {
  const hsize_t n = samples_.tokens.size();
  edit_file(path_, [&](hid_t f) { replace_dataset(f, "/tokens", H5T_IEEE_F32LE, {n}); });
  expect_open_error(path_, {"/tokens", "int32", "float32"});
}

TEST_F(TokenDatasetTest, WrongRank) {
  edit_file(path_, [&](hid_t f) { replace_dataset(f, "/offsets", H5T_STD_I64LE, {7, 3}); });
  expect_open_error(path_, {"/offsets", "rank 2"});
}

TEST_F(TokenDatasetTest, UnsupportedFormatVersion) {
  edit_file(path_, [](hid_t f) {
    H5Handle attr(H5Aopen(f, "format_version", H5P_DEFAULT), H5Aclose);
    const int version = 2;
    ASSERT_GE(H5Awrite(attr.get(), H5T_NATIVE_INT, &version), 0);
  });
  expect_open_error(path_, {"format_version 2"});
}

}  // namespace
}  // namespace megasft::data
