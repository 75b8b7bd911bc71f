// MEGASFT_CHECK: the one way megasft reports a violated precondition or a failed call.
// It throws megasft::Error with the file, line and the caller's message, so bad input is named, not guessed.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace megasft {

// Every user-facing failure in megasft is an Error; main() prints its what() and exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
[[noreturn]] inline void throw_error(const char* file, int line, const char* cond, const Args&... args) {
  std::ostringstream message;
  (message << ... << args);
  if (message.str().empty()) message << "check failed: " << cond;
  message << " [" << file << ":" << line << "]";
  throw Error(message.str());
}
}  // namespace detail

}  // namespace megasft

// The source file's base name keeps messages short; older compilers fall back to the full path.
#if defined(__FILE_NAME__)
#define MEGASFT_SOURCE_FILE __FILE_NAME__
#else
#define MEGASFT_SOURCE_FILE __FILE__
#endif

#define MEGASFT_CHECK(cond, ...)                                                     \
  do {                                                                               \
    if (!(cond)) ::megasft::detail::throw_error(MEGASFT_SOURCE_FILE, __LINE__, #cond, ##__VA_ARGS__); \
  } while (0)

#define MEGASFT_FAIL(...) ::megasft::detail::throw_error(MEGASFT_SOURCE_FILE, __LINE__, "", __VA_ARGS__)
