// SignalWatch: the launcher's only way to learn about child exits and stop requests.
// Signals are blocked and taken with sigtimedwait, so none is lost between a check and a wait.
// Create it before any thread (store, output reader): threads inherit the blocked mask, so no
// signal is ever delivered to a thread that would let SIGINT kill the launcher or drop SIGCHLD.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>

namespace megasft::launch {

class SignalWatch {
 public:
  // Blocks SIGCHLD and each stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) that is not already
  // ignored: a launcher started under nohup must keep ignoring SIGHUP, like its workers will.
  SignalWatch();
  // Discards what is still pending, then restores the original mask.
  // Discards what is still pending, then restores the original mask and SIGPIPE action.
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  // The next watched signal, or 0 if none arrived within timeout.
  int wait(std::chrono::milliseconds timeout);

  // Whether signo asks the launcher to stop its workers (and is forwarded to them).
  bool is_stop_signal(int signo) const;

  // The mask a forked worker restores before exec, so it does not inherit the blocking.
  const sigset_t& original_mask() const { return original_mask_; }
  // Whether a forked worker must set SIGPIPE back to SIG_DFL (an ignored action survives exec).
  bool worker_needs_default_sigpipe() const { return ignored_sigpipe_; }

 private:
  sigset_t watched_;
  sigset_t stop_signals_;
  sigset_t original_mask_;
  bool ignored_sigpipe_ = false;
};

// "SIGINT", "SIGKILL", ... ("signal N" when the number has no name).
std::string signal_name(int signo);

}  // namespace megasft::launch
