// Turns chat examples into token samples with a loss mask: the prompt is context, only the
// assistant's answer and its end-of-turn token are supervised.
#pragma once

#include <vector>

#include "megasft/data/char_tokenizer.h"
#include "megasft/data/demo_math.h"
#include "megasft/data/token_dataset.h"

namespace megasft::data {

// Each sample is [bos] + encode("User: " + prompt + "\nAssistant: ")  (mask 0)
//              + encode(answer) + [eos]                                (mask 1).
TokenizedSamples tokenize_chat(const std::vector<ChatExample>& examples, const CharTokenizer& tok);

}  // namespace megasft::data
