#include "launch/worker_process.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kernels/check.h"

namespace megasft::launch {
namespace {

std::vector<char*> to_c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

void write_all(int fd, const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    left -= static_cast<size_t>(n);
  }
}

// Closes every fd from 3 up; the loop is for kernels older than close_range (Linux 5.9).
void close_fds_from_3() {
  if (close_range(3, ~0U, 0) == 0) return;
  rlimit limit{};
  int max_fd = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                   ? static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20))
                   : 4096;
  for (int fd = 3; fd < max_fd; ++fd) close(fd);
}

// Runs in the forked child: everything it needs was prepared before fork, and only
// async-signal-safe calls are made (the launcher has other threads).
[[noreturn]] void exec_worker(char* const* argv, char* const* envp, const std::string& program,
                              const WorkerLaunch& worker, const sigset_t& child_mask,
                              bool default_sigpipe, pid_t launcher_pid) {
  setpgid(0, 0);
#ifdef __linux__
  // If the launcher is SIGKILLed it cannot stop its workers; the kernel does it instead.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != launcher_pid) _exit(kExecFailedExitCode);  // launcher died before prctl
#endif
  if (worker.stdout_fd >= 0 && dup2(worker.stdout_fd, STDOUT_FILENO) < 0)
    _exit(kExecFailedExitCode);
  if (worker.stderr_fd >= 0 && dup2(worker.stderr_fd, STDERR_FILENO) < 0)
    _exit(kExecFailedExitCode);
  close_fds_from_3();
  if (default_sigpipe) signal(SIGPIPE, SIG_DFL);
  sigprocmask(SIG_SETMASK, &child_mask, nullptr);
  execvpe(argv[0], argv, envp);
  int error = errno;
  write_all(STDERR_FILENO,
            "megasft-run: cannot execute '" + program + "': " + std::strerror(error) + "\n");
  _exit(kExecFailedExitCode);
}

}  // namespace

pid_t spawn_worker(const WorkerLaunch& worker, const sigset_t& child_mask, bool default_sigpipe) {
  MEGASFT_CHECK(!worker.argv.empty(), "worker local rank ", worker.local_rank, " has no program");
  std::vector<char*> argv = to_c_strings(worker.argv);
  std::vector<char*> envp = to_c_strings(worker.env);
  pid_t launcher_pid = getpid();
  pid_t pid = fork();
  MEGASFT_CHECK(pid >= 0, "cannot start worker local rank ", worker.local_rank,
                ": fork failed: ", std::strerror(errno));
  if (pid == 0) {
    exec_worker(argv.data(), envp.data(), worker.argv[0], worker, child_mask, default_sigpipe,
                launcher_pid);
  }
  // Also set it here: the group must exist before the launcher might signal it. EACCES (the
  // child already exec'd, so it set its group itself) is fine.
  setpgid(pid, pid);
  return pid;
}

bool wait_status_succeeded(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) {
    int code = WEXITSTATUS(status);
    return code == 0 ? "exited with code 0" : "failed with exit code " + std::to_string(code);
  }
  if (WIFSIGNALED(status)) {
    int signo = WTERMSIG(status);
    const char* description = strsignal(signo);
    std::string text = "was killed by signal " + std::to_string(signo) + " (" +
                       (description != nullptr ? description : "unknown") + ")";
    if (WCOREDUMP(status)) text += ", core dumped";
    return text;
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace megasft::launch
