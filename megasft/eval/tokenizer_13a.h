// mteval-v13a's tokenizer as sacrebleu 2.x applies it before BLEU: symbols become tokens, '.' and
// ',' stay inside numbers. Self-BLEU tokenises both of its variants with it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace megasft::eval {

// One line for reports and --help: what tokenize_13a does, step by step.
inline constexpr std::string_view kTokenizer13aDescription =
    "sacrebleu 13a (mteval-v13a), case kept: trailing whitespace stripped, '<skipped>' removed, "
    "'-' + newline joined, newlines to spaces, &quot; &amp; &lt; &gt; unescaped, the ASCII symbols "
    "!\"#$%&()*+/:;<=>?@[\\]^_`{|}~ split off, '.' and ',' split off unless between digits, '-' "
    "split off after a digit, then split on Unicode whitespace";

// sacrebleu's BLEU._preprocess_segment without lowercasing followed by str.split(): `text` is UTF-8
// and is compared byte for byte, with no Unicode normalisation (as sacrebleu does).
std::vector<std::string> tokenize_13a(std::string_view text);

}  // namespace megasft::eval
