// The `Split` pre-tokenizer of a Hugging Face tokenizer.json: a PCRE2 regex (UTF + UCP, JIT when
// available) whose matches, and the text between them, become pre-tokens (behavior "Isolated").
// Hugging Face compiles these patterns with Oniguruma, whose \s is Unicode White_Space; PCRE2's
// \s also takes U+180E, so \s and \S are rewritten into explicit White_Space classes first.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct pcre2_real_code_8;

namespace megasft::data {

// Rewrites the Oniguruma-only meanings in `pattern` into PCRE2 syntax (see above). `where` names
// the file and field for the error thrown on constructs without a PCRE2 equivalent (\S inside a
// character class, \h, \H: Oniguruma's hex digit).
std::string oniguruma_to_pcre2(std::string_view pattern, std::string_view where);

class RegexSplitter {
 public:
  // `literal`: the pattern is a plain string (tokenizer.json's {"String": ...}), not a regex.
  RegexSplitter(std::string_view pattern, bool literal, std::string_view where);
  ~RegexSplitter();
  RegexSplitter(RegexSplitter&& other) noexcept;
  RegexSplitter& operator=(RegexSplitter&&) = delete;
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Calls fn(piece) for the pieces of `text` (valid UTF-8, already checked) in order: each
  // non-empty match and each non-empty gap between matches. Thread-safe (match state is
  // thread-local).
  template <typename F>
  void for_each_piece(std::string_view text, F&& fn) const {
    using Fn = std::remove_reference_t<F>;
    split(
        text, [](void* f, std::string_view piece) { (*static_cast<Fn*>(f))(piece); }, &fn);
  }
  void split(std::string_view text, std::vector<std::string_view>& out) const {
    for_each_piece(text, [&](std::string_view piece) { out.push_back(piece); });
  }

  bool jit() const { return jit_; }
  const std::string& pcre2_pattern() const { return pattern_; }

 private:
  void split(std::string_view text, void (*emit)(void*, std::string_view), void* context) const;

  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
  std::string pattern_;  // as compiled, after oniguruma_to_pcre2
  std::string where_;
};

}  // namespace megasft::data
