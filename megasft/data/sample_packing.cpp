#include "megasft/data/sample_packing.h"

#include <algorithm>

#include "kernels/check.h"

namespace megasft::data {

SampleWriter::SampleWriter(int64_t max_length, bool pack, int64_t vocab_size,
                           std::string tokenizer_name)
    : max_length_(max_length), pack_(pack) {
  MEGASFT_CHECK(max_length >= 0, "--max-length must be >= 0, got ", max_length);
  MEGASFT_CHECK(!pack || max_length > 0, "--pack needs --max-length N (the packed row length)");
  out_.vocab_size = vocab_size;
  out_.tokenizer = std::move(tokenizer_name);
  out_.offsets.push_back(0);
}

bool SampleWriter::add(std::span<const int32_t> tokens, std::span<const uint8_t> loss_mask) {
  MEGASFT_CHECK(tokens.size() == loss_mask.size(), "sample has ", tokens.size(), " tokens but ",
                loss_mask.size(), " loss-mask entries");
  MEGASFT_CHECK(!tokens.empty() && loss_mask[0] == 0,
                "a sample must start with an unsupervised token (its BOS or first header)");
  auto length = static_cast<int64_t>(tokens.size());
  if (max_length_ > 0 && length > max_length_) {
    length = max_length_;
    ++truncated_;
  }
  const int64_t supervised = std::count(loss_mask.begin(), loss_mask.begin() + length, uint8_t{1});
  if (supervised == 0) {
    ++dropped_empty_;
    return false;
  }
  const auto row_end = static_cast<int64_t>(out_.tokens.size());
  if (!pack_ || (row_end > row_start_ && row_end - row_start_ + length > max_length_)) {
    if (row_end > row_start_) out_.offsets.push_back(row_end);  // close the open row
    row_start_ = row_end;
  }
  out_.tokens.insert(out_.tokens.end(), tokens.begin(), tokens.begin() + length);
  out_.loss_mask.insert(out_.loss_mask.end(), loss_mask.begin(), loss_mask.begin() + length);
  if (pack_) {
    for (int32_t p = 0; p < length; ++p) out_.position_ids.push_back(p);
  }
  ++samples_;
  supervised_ += supervised;
  return true;
}

TokenizedSamples SampleWriter::finish() {
  const auto end = static_cast<int64_t>(out_.tokens.size());
  if (end > out_.offsets.back()) out_.offsets.push_back(end);
  TokenizedSamples done = std::move(out_);
  out_ = TokenizedSamples{};
  out_.vocab_size = done.vocab_size;
  out_.tokenizer = done.tokenizer;
  out_.offsets.push_back(0);
  row_start_ = 0;
  return done;
}

}  // namespace megasft::data
