// Shared helpers of the launcher's process-level tests: /bin/sh worker scripts, atomic marker
// files, and readable assertions on a launcher's output.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/support/launcher_process.h"

namespace megasft::launch::testing {

// Prints the whole text on failure, which is what one needs to see.
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not found in:\n" << text;
}

inline std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

inline std::vector<std::string> concat(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline pid_t read_pid(const std::string& path) {
  return static_cast<pid_t>(std::stol(megasft::testing::read_file(path)));
}

// A shell command writing text to path atomically, so a reader never sees it half-written.
inline std::string publish(const std::string& text, const std::string& path) {
  return "echo " + text + " > " + path + ".tmp && mv " + path + ".tmp " + path;
}

// Both streams of a finished launcher, for failure messages.
inline std::string output_of(const megasft::testing::LauncherResult& r) {
  return "--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

}  // namespace megasft::launch::testing
