// Test helper: runs the real megasft-run binary with a deadline and captures its output,
// plus a scratch directory where /bin/sh workers leave files for the test to inspect.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace megasft::testing {

// A fresh directory under /tmp, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct LauncherResult {
  int exit_code = -1;   // -1 if not exited normally
  int term_signal = 0;  // signal that killed megasft-run itself, 0 if none
  bool timed_out = false;
  double seconds = 0;
  std::string out;
  std::string err;
};

// Name -> value to set, or nullopt to unset, in megasft-run's environment.
using EnvChanges = std::map<std::string, std::optional<std::string>>;

// megasft-run started in the background; its stdout/stderr go to <name>.out/.err in dir (a
// distinct name per launcher lets several, e.g. the nodes of one job, share a dir).
class LauncherProcess {
 public:
  LauncherProcess(const std::vector<std::string>& args, const ScratchDir& dir,
                  const EnvChanges& env = {}, const std::string& name = "launcher");
  ~LauncherProcess();  // SIGKILLs it if still running
  pid_t pid() const { return pid_; }
  // Waits up to timeout_s, SIGKILLing megasft-run on timeout.
  LauncherResult wait(double timeout_s);

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  double started_ = 0;
};

LauncherResult run_launcher(const std::vector<std::string>& args, const ScratchDir& dir,
                            const EnvChanges& env = {}, double timeout_s = 20);

std::string read_file(const std::string& path);
// Polls until path exists and is non-empty; false on timeout.
bool wait_for_file(const std::string& path, double timeout_s);
// NAME=value lines of an `env` dump.
std::map<std::string, std::string> read_env_dump(const std::string& path);
// Whether no process with this pid exists (not even a zombie).
bool process_gone(pid_t pid);

}  // namespace megasft::testing
