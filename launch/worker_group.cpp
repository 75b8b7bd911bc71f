#include "launch/worker_group.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <sstream>

#include "kernels/check.h"
#include "launch/signal_watch.h"

namespace megasft::launch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Upper bound on one sleep: signals wake us at once, this only bounds a missed wake-up.
constexpr milliseconds kPollInterval(100);

milliseconds until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(left, milliseconds(0), kPollInterval);
}

std::string format_seconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

// Why the survivors were SIGKILLed: the grace period ran out, or the user asked twice.
std::string grace_phrase(const GroupOutcome& outcome) {
  if (outcome.grace_cut_short) return "after a second stop signal";
  return "after the grace period of " + format_seconds(outcome.grace_period_s) + " s";
}

}  // namespace

std::string describe_outcome(const GroupOutcome& outcome) {
  std::ostringstream line;
  if (outcome.first_failure) {
    const WorkerFailure& f = *outcome.first_failure;
    line << "megasft-run: worker rank " << f.rank << " (local rank " << f.local_rank << ", pid "
         << f.pid << ") " << describe_wait_status(f.wait_status) << "; stopped "
         << outcome.stopped_workers << " other worker(s)";
  } else if (!outcome.stop_reason.empty()) {
    line << "megasft-run: " << outcome.stop_reason << "; stopped " << outcome.stopped_workers
         << " worker(s)";
  } else if (outcome.received_signal != 0) {
    line << "megasft-run: received " << signal_name(outcome.received_signal) << "; stopped "
         << outcome.stopped_workers << " worker(s)";
  } else {
    return "";
  }
  if (outcome.killed_groups > 0) {
    line << " (" << outcome.killed_groups << " still running " << grace_phrase(outcome)
         << " were sent SIGKILL)";
  }
  return line.str();
}

WorkerGroup::WorkerGroup(std::vector<WorkerLaunch> workers, double grace_period_s)
    : grace_period_s_(grace_period_s) {
  MEGASFT_CHECK(!workers.empty(), "a worker group needs at least one worker");
  MEGASFT_CHECK(grace_period_s >= 0, "grace period must be >= 0, got ", grace_period_s);
  for (WorkerLaunch& launch : workers) workers_.push_back(Worker{std::move(launch)});
}

GroupOutcome WorkerGroup::run(SignalWatch& signals, const GroupHooks& hooks) {
  GroupOutcome outcome;
  outcome.grace_period_s = grace_period_s_;
  std::cout.flush();  // a child must not inherit (and never flush) half-written output
  auto tell_others = [&] {
    if (hooks.on_stop) hooks.on_stop(outcome);
  };

  for (Worker& worker : workers_) {
    try {
      worker.pid = spawn_worker(worker.launch, signals.original_mask(),
                                signals.worker_needs_default_sigpipe());
      worker.running = true;
    } catch (const Error&) {
      stop(SIGTERM, signals, outcome);
      throw;
    }
  }

  const auto poll_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(hooks.poll_interval_s));
  auto next_poll = Clock::now() + poll_every;
  while (true) {
    reap(outcome);
    if (outcome.first_failure) {
      outcome.exit_code = 1;
      tell_others();
      stop(SIGTERM, signals, outcome);
      return outcome;
    }
    if (running_count() == 0) return outcome;  // every worker exited with 0
    if (hooks.should_stop && Clock::now() >= next_poll) {
      next_poll = Clock::now() + poll_every;
      if (std::optional<std::string> reason = hooks.should_stop()) {
        outcome.exit_code = 1;
        outcome.stop_reason = *reason;
        stop(SIGTERM, signals, outcome);
        return outcome;
      }
    }
    auto wait_for = hooks.should_stop ? until(next_poll) : kPollInterval;
    int signo = signals.wait(wait_for);
    if (signals.is_stop_signal(signo)) {
      outcome.received_signal = signo;
      outcome.exit_code = 128 + signo;
      std::cerr << "megasft-run: received " << signal_name(signo) << "; forwarding it to "
                << running_count() << " worker(s)" << std::endl;
      tell_others();
      stop(signo, signals, outcome);
      return outcome;
    }
  }
}

void WorkerGroup::reap(GroupOutcome& outcome) {
  while (true) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;  // children remain, none has ended
    if (pid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: nothing left to reap
    }
    auto it = std::find_if(workers_.begin(), workers_.end(),
                           [pid](const Worker& w) { return w.pid == pid; });
    if (it == workers_.end()) continue;  // an orphaned descendant handed to us as subreaper
    it->running = false;
    if (!stopping_ && !outcome.first_failure && !wait_status_succeeded(status)) {
      outcome.first_failure = WorkerFailure{it->launch.local_rank, it->launch.rank, pid, status};
    }
  }
}

int WorkerGroup::running_count() const {
  return static_cast<int>(
      std::count_if(workers_.begin(), workers_.end(), [](const Worker& w) { return w.running; }));
}

// A group outlives its leader while anything the worker started is still in it.
int WorkerGroup::alive_group_count() const {
  int alive = 0;
  for (const Worker& worker : workers_) {
    if (worker.pid <= 0) continue;
    if (worker.running || kill(-worker.pid, 0) == 0) ++alive;
  }
  return alive;
}

bool WorkerGroup::any_group_alive() const { return alive_group_count() > 0; }

// Every started worker's group, the exited ones too: their leftover descendants must go as well.
// Group ids cannot be reused while any member lives, so this reaches only our processes.
void WorkerGroup::signal_groups(int signo) const {
  for (const Worker& worker : workers_) {
    if (worker.pid > 0) kill(-worker.pid, signo);  // ESRCH: that group is already empty
  }
}

void WorkerGroup::stop(int signo, SignalWatch& signals, GroupOutcome& outcome) {
  stopping_ = true;
  outcome.stopped_workers = running_count();
  signal_groups(signo);

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(grace_period_s_));
  while (true) {
    reap(outcome);
    if (!any_group_alive() || Clock::now() >= deadline) break;
    int again = signals.wait(until(deadline));
    if (signals.is_stop_signal(again)) {
      outcome.grace_cut_short = true;  // a second Ctrl-C means "kill now"
      break;
    }
  }
  reap(outcome);
  if (!any_group_alive()) return;

  outcome.killed_groups = alive_group_count();
  std::cerr << "megasft-run: " << outcome.killed_groups << " worker(s) still running "
            << grace_phrase(outcome) << "; sending SIGKILL" << std::endl;
  // Leaders are always waited for (SIGKILL cannot be ignored); stragglers that left their
  // leader's group unreaped by others get a bounded wait so the launcher itself cannot hang.
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (true) {
    signal_groups(SIGKILL);
    reap(outcome);
    if (running_count() == 0 && (!any_group_alive() || Clock::now() >= give_up)) break;
    signals.wait(kPollInterval);
  }
}

}  // namespace megasft::launch
