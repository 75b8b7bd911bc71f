#include "megasft/data/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "kernels/check.h"
#include "megasft/data/unicode_text.h"

namespace megasft::data {

namespace {

// Unicode White_Space = the Z categories plus these controls (PropList.txt).
constexpr std::string_view kWhiteSpaceItems = "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match state shared by all splitters: one match-data block (only the whole-match
// offsets are read) and a JIT stack big enough for very long whitespace or letter runs.
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    MEGASFT_CHECK(data != nullptr && context != nullptr && stack != nullptr,
                  "PCRE2: out of memory creating match state");
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

std::string oniguruma_to_pcre2(std::string_view pattern, std::string_view where) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        if (in_class) {
          out.append(kWhiteSpaceItems);
        } else {
          out.append("[").append(kWhiteSpaceItems).append("]");
        }
      } else if (e == 'S') {
        MEGASFT_CHECK(!in_class, where, ": \\S inside a character class is not supported in '",
                      pattern, "'");
        out.append("[^").append(kWhiteSpaceItems).append("]");
      } else if (e == 'h' || e == 'H') {
        MEGASFT_FAIL(where, ": \\", e, " (Oniguruma's hex digit class) is not supported in '",
                     pattern, "'");
      } else {
        out.push_back('\\');
        out.push_back(e);
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const size_t close = pattern.find(":]", i + 2);  // a POSIX class such as [:alpha:]
      MEGASFT_CHECK(close != std::string_view::npos, where, ": unterminated POSIX class in '",
                    pattern, "'");
      out.append(pattern.substr(i, close + 2 - i));
      i = close + 1;
      continue;
    }
    if (in_class && c == '[') {
      MEGASFT_FAIL(where, ": nested character classes are not supported in '", pattern, "'");
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

RegexSplitter::RegexSplitter(std::string_view pattern, bool literal, std::string_view where)
    : pattern_(literal ? std::string(pattern) : oniguruma_to_pcre2(pattern, where)), where_(where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0);
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(), options,
                        &error, &offset, nullptr);
  MEGASFT_CHECK(code_ != nullptr, where, ": cannot compile the regex '", pattern,
                "': ", pcre2_message(error), " at offset ", offset, " of the PCRE2 form '",
                pattern_, "'");
  // Without JIT (e.g. a build of PCRE2 without it) the interpreter gives the same matches, slower.
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

RegexSplitter::~RegexSplitter() {
  if (code_ != nullptr) pcre2_code_free(code_);
}

RegexSplitter::RegexSplitter(RegexSplitter&& other) noexcept
    : code_(other.code_),
      jit_(other.jit_),
      pattern_(std::move(other.pattern_)),
      where_(std::move(other.where_)) {
  other.code_ = nullptr;
}

void RegexSplitter::split(std::string_view text, void (*emit)(void*, std::string_view),
                          void* context) const {
  MatchState& state = match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
  size_t last = 0;  // end of the previous match
  size_t pos = 0;   // where the next search starts
  while (pos <= n) {
    // The subject was validated once by the caller: a UTF check per call would rescan it.
    const int rc =
        jit_ ? pcre2_jit_match(code_, subject, n, pos, 0, state.data, state.context)
             : pcre2_match(code_, subject, n, pos, PCRE2_NO_UTF_CHECK, state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    MEGASFT_CHECK(rc >= 0, where_, ": regex match failed at byte ", pos, " of a ", n,
                  "-byte text: ", pcre2_message(rc));
    const size_t start = ovector[0];
    const size_t end = ovector[1];
    if (start > last) emit(context, text.substr(last, start - last));
    if (end > start) {
      emit(context, text.substr(start, end - start));
      last = end;
      pos = end;
    } else {
      // An empty match yields no piece; step over one character so the search moves on.
      if (start >= n) break;
      int len = 0;
      decode_utf8_at(text, start, &len);
      last = start;
      pos = start + static_cast<size_t>(len);
    }
  }
  if (last < n) emit(context, text.substr(last));
}

}  // namespace megasft::data
