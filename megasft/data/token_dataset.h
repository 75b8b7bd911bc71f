// The on-disk token format the trainer reads (HDF5): concatenated samples, a loss mask and offsets.
// Writing is atomic (temp file + rename); opening loads everything and validates it fully.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace megasft::data {

// File layout:
//   /tokens       int32 [N]                all samples concatenated
//   /loss_mask    uint8 [N]                1 = supervised (the token is a prediction target)
//   /offsets      int64 [num_samples + 1]  offsets[0] = 0, nondecreasing, last = N
//   /position_ids int32 [N]                optional; present in packed files (preprocess --pack)
//   root attributes: format = "megasft-tokens", format_version = 1, vocab_size (int64),
//                    tokenizer (string)
//
// Packed files: each "sample" (offsets range) is a row holding several conversations back to
// back, and /position_ids restarts at 0 where each conversation starts (otherwise it counts up by
// one). A trainer must reset rotary positions to these ids AND block attention across the
// boundaries (a token attends only to earlier tokens of its own conversation); then a packed row
// trains exactly like its conversations would one by one. A reader that ignores /position_ids
// lets conversations attend to each other: check TokenDataset::packed(). Invariants checked on
// write and open: every row starts at position 0, and a token at position 0 has loss_mask 0, so
// no target is ever predicted from another conversation's context.
inline constexpr const char* kTokenFormatName = "megasft-tokens";
inline constexpr int64_t kTokenFormatVersion = 1;

struct TokenizedSamples {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;
  std::vector<int64_t> offsets;       // num_samples + 1 entries
  std::vector<int32_t> position_ids;  // empty, or one per token (see "Packed files" above)
  int64_t vocab_size = 0;
  std::string tokenizer;
};

// Validates `samples` (same rules as TokenDataset::open), creates parent directories, writes
// `path + ".tmp"` and renames it over `path`, so a crash never leaves a half file under `path`.
// The serial HDF5 library is not thread-safe: write and open from one thread at a time.
void write_token_dataset(const std::string& path, const TokenizedSamples& samples);

class TokenDataset {
 public:
  // Loads the whole file; any inconsistency throws megasft::Error naming the file and the field.
  static TokenDataset open(const std::string& path);

  int64_t num_samples() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t num_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t vocab_size() const { return vocab_size_; }
  const std::string& tokenizer() const { return tokenizer_; }
  const std::string& path() const { return path_; }

  std::span<const int32_t> tokens(int64_t i) const;
  std::span<const uint8_t> loss_mask(int64_t i) const;
  // Position ids of row i in a packed file; an empty span when the file has no /position_ids.
  std::span<const int32_t> position_ids(int64_t i) const;
  bool packed() const { return !position_ids_.empty(); }

 private:
  TokenDataset() = default;
  void check_index(int64_t i) const;

  std::string path_;
  std::vector<int32_t> tokens_;
  std::vector<uint8_t> loss_mask_;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> position_ids_;  // empty unless packed
  int64_t vocab_size_ = 0;
  std::string tokenizer_;
};

}  // namespace megasft::data
