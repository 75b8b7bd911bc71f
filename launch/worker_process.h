// Worker process: fork+exec of one worker in its own process group, and how its end is described.
// A process group per worker lets the launcher stop a worker together with anything it started.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace megasft::launch {

struct WorkerLaunch {
  int local_rank = 0;
  int rank = 0;
  std::vector<std::string> argv;  // argv[0] is looked up in PATH (execvp semantics)
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  int stdout_fd = -1;             // becomes the worker's stdout (a log file or pipe); -1: inherit
  int stderr_fd = -1;             // the same for stderr
};

// Exit status of a worker whose program could not be executed (as a shell reports it).
inline constexpr int kExecFailedExitCode = 127;

// Starts the worker and returns its pid, which is also its process group id. The child restores
// child_mask (and SIGPIPE's default action if default_sigpipe), dies with the launcher
// (PR_SET_PDEATHSIG), keeps only fds 0-2 (like torchrun's close_fds: the launcher's store sockets
// and other workers' pipes must not leak into it), and on exec failure prints
// "megasft-run: cannot execute 'prog': <reason>" and exits with kExecFailedExitCode.
// Throws megasft::Error if fork fails.
pid_t spawn_worker(const WorkerLaunch& worker, const sigset_t& child_mask,
                   bool default_sigpipe = false);

// Whether a waitpid status means success (exit code 0).
bool wait_status_succeeded(int status);

// "exited with code 0", "failed with exit code 3", "was killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace megasft::launch
