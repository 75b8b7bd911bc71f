#include "launch/signal_watch.h"

#include <cerrno>
#include <cstring>

#include "kernels/check.h"

namespace megasft::launch {

SignalWatch::SignalWatch() {
  sigemptyset(&watched_);
  sigemptyset(&stop_signals_);
  // An inherited SIG_IGN for SIGCHLD would make the kernel reap workers before waitpid sees them.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  MEGASFT_CHECK(sigaction(SIGCHLD, &default_action, nullptr) == 0,
                "sigaction(SIGCHLD) failed: ", std::strerror(errno));
  sigaddset(&watched_, SIGCHLD);
  for (int signo : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    struct sigaction current {};
    MEGASFT_CHECK(sigaction(signo, nullptr, &current) == 0, "sigaction(", signo,
                  ") failed: ", std::strerror(errno));
    if (current.sa_handler == SIG_IGN) continue;
    sigaddset(&stop_signals_, signo);
    sigaddset(&watched_, signo);
  }
  MEGASFT_CHECK(sigprocmask(SIG_BLOCK, &watched_, &original_mask_) == 0,
                "sigprocmask failed: ", std::strerror(errno));
  struct sigaction pipe_action {};
  MEGASFT_CHECK(sigaction(SIGPIPE, nullptr, &pipe_action) == 0,
                "sigaction(SIGPIPE) failed: ", std::strerror(errno));
  if (pipe_action.sa_handler == SIG_DFL) {
    pipe_action.sa_handler = SIG_IGN;
    MEGASFT_CHECK(sigaction(SIGPIPE, &pipe_action, nullptr) == 0,
                  "sigaction(SIGPIPE) failed: ", std::strerror(errno));
    ignored_sigpipe_ = true;
  }
}

SignalWatch::~SignalWatch() {
  // Unblocking a pending SIGINT here would kill the launcher before it reports what happened.
  timespec zero{};
  while (sigtimedwait(&watched_, nullptr, &zero) > 0) {
  }
  sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
  if (ignored_sigpipe_) signal(SIGPIPE, SIG_DFL);
}

int SignalWatch::wait(std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) timeout = std::chrono::milliseconds(0);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  int signo = sigtimedwait(&watched_, nullptr, &ts);
  if (signo > 0) return signo;
  // EAGAIN: timeout; EINTR: woken by an unwatched signal (e.g. SIGCONT). Callers re-check state.
  MEGASFT_CHECK(errno == EAGAIN || errno == EINTR, "sigtimedwait failed: ", std::strerror(errno));
  return 0;
}

bool SignalWatch::is_stop_signal(int signo) const {
  return signo > 0 && sigismember(&stop_signals_, signo) == 1;
}

std::string signal_name(int signo) {
  if (const char* abbrev = sigabbrev_np(signo)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signo);
}

}  // namespace megasft::launch
