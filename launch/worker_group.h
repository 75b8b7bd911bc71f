// WorkerGroup: starts this node's workers for one attempt, watches them, and stops them all when
// one fails, another node reports a failure, or the launcher is asked to stop (SIGTERM to each
// process group, SIGKILL after the grace period).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "launch/worker_process.h"

namespace megasft::launch {

class SignalWatch;

struct WorkerFailure {
  int local_rank = 0;
  int rank = 0;
  pid_t pid = 0;
  int wait_status = 0;  // as returned by waitpid
};

struct GroupOutcome {
  // 0: all succeeded; 1: a worker failed or another node asked to stop; 128+N: got signal N
  int exit_code = 0;
  int received_signal = 0;                     // the stop signal that ended the run, 0 if none
  std::optional<WorkerFailure> first_failure;  // a local worker failed first
  std::string stop_reason;       // GroupHooks::should_stop's reason when that ended the run
  int stopped_workers = 0;       // workers still running when the group was stopped
  int killed_groups = 0;         // worker process groups still alive after the grace period
  bool grace_cut_short = false;  // a second stop signal asked for SIGKILL at once
  double grace_period_s = 0;
};

// The line megasft-run prints on stderr at the end; empty when every worker succeeded.
std::string describe_outcome(const GroupOutcome& outcome);

// How a group hears from, and talks to, the launchers of other nodes (empty for one node).
struct GroupHooks {
  double poll_interval_s = 0.1;
  // Asked every poll interval while workers run: a reason to stop them all, or nullopt.
  std::function<std::optional<std::string>()> should_stop;
  // Told once, before the workers are signalled, that this node stops them (a local failure or a
  // stop signal), so the other nodes can stop theirs at the same time.
  std::function<void(const GroupOutcome&)> on_stop;
};

class WorkerGroup {
 public:
  WorkerGroup(std::vector<WorkerLaunch> workers, double grace_period_s);

  // Starts every worker and returns once all of them (and their process groups, when stopped)
  // are gone. Throws megasft::Error if a worker cannot be forked (after stopping the others).
  GroupOutcome run(SignalWatch& signals, const GroupHooks& hooks = {});

 private:
  struct Worker {
    WorkerLaunch launch;
    pid_t pid = -1;  // also the process group id
    bool running = false;
  };

  void reap(GroupOutcome& outcome);
  int running_count() const;
  bool any_group_alive() const;
  int alive_group_count() const;
  void signal_groups(int signo) const;
  // Sends signo to every worker group, waits up to the grace period, then SIGKILLs what is left.
  void stop(int signo, SignalWatch& signals, GroupOutcome& outcome);

  std::vector<Worker> workers_;
  double grace_period_s_;
  bool stopping_ = false;  // failures caused by the stop are not "the first failure"
};

}  // namespace megasft::launch
