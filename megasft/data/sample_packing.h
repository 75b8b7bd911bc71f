// Collects tokenized samples into the on-disk layout: one sample per row, or packed several to a
// row (greedy next-fit in input order) with position ids that restart at 0 at each sample start.
#pragma once

#include <cstdint>
#include <span>

#include "megasft/data/token_dataset.h"

namespace megasft::data {

class SampleWriter {
 public:
  // max_length 0 means no limit (only without packing). Longer samples are truncated to
  // max_length. With `pack`, a sample joins the current row if the row stays within max_length,
  // otherwise it starts a new row; samples are never split across rows.
  SampleWriter(int64_t max_length, bool pack, int64_t vocab_size, std::string tokenizer_name);

  // Adds one sample (its first token must have loss mask 0). Returns false, adding nothing, if
  // truncation left it without any supervised token.
  bool add(std::span<const int32_t> tokens, std::span<const uint8_t> loss_mask);

  int64_t samples() const { return samples_; }
  int64_t truncated() const { return truncated_; }  // samples cut to max_length
  int64_t dropped_empty() const {
    return dropped_empty_;
  }  // no supervised token left after the cut
  int64_t supervised_tokens() const { return supervised_; }
  int64_t tokens() const { return static_cast<int64_t>(out_.tokens.size()); }
  // Closes the last row and hands the samples over; the writer is empty afterwards.
  TokenizedSamples finish();

 private:
  int64_t max_length_;
  bool pack_;
  int64_t samples_ = 0, truncated_ = 0, dropped_empty_ = 0, supervised_ = 0;
  int64_t row_start_ = 0;  // token offset where the open row starts
  TokenizedSamples out_;
};

}  // namespace megasft::data
