#include "launch/agent.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <iostream>
#include <memory>
#include <optional>

#include "kernels/check.h"
#include "launch/job_coordinator.h"
#include "launch/signal_watch.h"
#include "launch/worker_env.h"
#include "launch/worker_group.h"
#include "launch/worker_output.h"

namespace megasft::launch {
namespace {

void say(const std::string& line) { std::cerr << "megasft-run: " << line << std::endl; }

// This node's share of the attempt's failure, as the other nodes will read it.
std::optional<JobFailure> local_failure(const GroupOutcome& outcome, const Rendezvous& rdzv) {
  JobFailure failure;
  failure.node_rank = rdzv.group_rank;
  if (outcome.first_failure) {
    failure.kind = JobFailure::Kind::kWorker;
    failure.rank = outcome.first_failure->rank;
    failure.local_rank = outcome.first_failure->local_rank;
    failure.what = describe_wait_status(outcome.first_failure->wait_status);
    return failure;
  }
  if (outcome.received_signal != 0) {
    failure.kind = JobFailure::Kind::kSignal;
    failure.signo = outcome.received_signal;
    return failure;
  }
  return std::nullopt;
}

std::string describe_world(const Rendezvous& r) {
  std::string text = "attempt " + std::to_string(r.restart_count) + ": node " +
                     std::to_string(r.group_rank) + " of " + std::to_string(r.group_world_size) +
                     ", ranks " + std::to_string(r.rank_offset) + ".." +
                     std::to_string(r.rank_offset + r.local_world_size - 1) + " of " +
                     std::to_string(r.world_size) + ", MASTER_ADDR=" + r.master_addr +
                     " MASTER_PORT=" + std::to_string(r.master_port) + ", run id " + r.run_id;
  return text;
}

class Agent {
 public:
  explicit Agent(const LaunchConfig& config)
      : config_(config), several_(config.uses_store()), base_env_(current_environment()) {}

  int run() {
#ifdef __linux__
    // Descendants orphaned by a dying worker are re-parented to us, so we can reap them and
    // "is the worker's group empty?" is not fooled by zombies nobody else reaps (PID 1 in
    // containers).
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
    coordinator_ = make_coordinator(config_, signals_);
    for (int attempt = 0;; ++attempt) {
      std::optional<int> exit_code = run_attempt(attempt);
      if (exit_code) return *exit_code;
    }
  }

 private:
  // The exit status, or nullopt to restart the job as attempt + 1.
  std::optional<int> run_attempt(int attempt) {
    Rendezvous rdzv;
    try {
      rdzv = coordinator_->join(attempt);
    } catch (const StopRequested& stop) {
      return stopped(attempt, stop.signo, "while waiting for the other nodes");
    } catch (const Error& e) {
      std::cerr << "megasft-run: error: " << e.what() << std::endl;
      coordinator_->leave(attempt);
      return kExitRendezvous;
    }
    if (several_) say(describe_world(rdzv));

    GroupOutcome outcome;
    try {
      outcome = run_workers(attempt, rdzv);
    } catch (const Error& e) {
      // The launcher itself failed (log folder, fork): the other nodes must not wait for it.
      std::cerr << "megasft-run: error: " << e.what() << std::endl;
      JobFailure failure;
      failure.kind = JobFailure::Kind::kLauncher;
      failure.node_rank = rdzv.group_rank;
      failure.what = e.what();
      coordinator_->publish_failure(attempt, failure);
      coordinator_->leave(attempt);
      return kExitJobFailed;
    }
    if (std::string line = describe_outcome(outcome); !line.empty()) {
      std::cerr << line << std::endl;
    }
    if (outcome.received_signal != 0) {  // published by the group's on_stop hook
      coordinator_->leave(attempt);
      return 128 + outcome.received_signal;
    }

    std::optional<JobFailure> failure;
    try {
      failure = coordinator_->finish(attempt, local_failure(outcome, rdzv));
    } catch (const StopRequested& stop) {
      return stopped(attempt, stop.signo, "while waiting for the other nodes to finish");
    }
    if (!failure) {
      coordinator_->leave(attempt);
      return kExitSuccess;
    }
    if (failure->restartable() && attempt < config_.max_restarts) {
      say("attempt " + std::to_string(attempt) + " failed: " + failure->describe() +
          "; restarting the job (restart " + std::to_string(attempt + 1) + " of " +
          std::to_string(config_.max_restarts) + ")");
      return std::nullopt;
    }
    if (several_ || config_.max_restarts > 0) {
      say("job failed: " + failure->describe() +
          (failure->restartable()
               ? "; no restarts left (--max-restarts " + std::to_string(config_.max_restarts) + ")"
               : ""));
    }
    coordinator_->leave(attempt);
    return failure->kind == JobFailure::Kind::kRendezvous ? kExitRendezvous : kExitJobFailed;
  }

  GroupOutcome run_workers(int attempt, const Rendezvous& rdzv) {
    WorkerPlan plan = plan_workers(config_, rdzv, base_env_);
    if (attempt == 0 && plan.sets_omp_num_threads) {
      // torchrun prints the same advice: K workers each using every core would oversubscribe.
      say("setting OMP_NUM_THREADS=1 for each worker to avoid overloading the system; set it "
          "yourself to tune performance");
    }
    WorkerOutputs outputs(config_, rdzv.run_id, attempt, rdzv.rank_offset, plan.workers);
    if (!config_.log_dir.empty() && attempt == 0) {
      say("worker logs in " + attempt_log_dir(config_.log_dir, rdzv.run_id, attempt) +
          "/<local_rank>/");
    }
    WorkerGroup group(std::move(plan.workers), config_.grace_period_s);
    GroupHooks hooks;
    hooks.poll_interval_s = config_.monitor_interval_s;
    if (several_) {
      hooks.should_stop = [&]() -> std::optional<std::string> {
        std::optional<JobFailure> failure = coordinator_->poll_failure(attempt);
        if (!failure) return std::nullopt;
        return failure->describe();
      };
    }
    hooks.on_stop = [&](const GroupOutcome& o) {
      if (std::optional<JobFailure> failure = local_failure(o, rdzv)) {
        coordinator_->publish_failure(attempt, *failure);
      }
    };
    GroupOutcome outcome = group.run(signals_, hooks);
    outputs.finish();
    return outcome;
  }

  // A stop signal outside of an attempt's run: the other nodes end the job too.
  int stopped(int attempt, int signo, const std::string& when) {
    say("received " + signal_name(signo) + " " + when + "; ending the job");
    JobFailure failure;
    failure.kind = JobFailure::Kind::kSignal;
    failure.node_rank = config_.node_rank;
    failure.signo = signo;
    coordinator_->publish_failure(attempt, failure);
    coordinator_->leave(attempt);
    return 128 + signo;
  }

  LaunchConfig config_;
  bool several_;
  EnvVars base_env_;
  SignalWatch signals_;  // before the coordinator and outputs: their threads inherit its mask
  std::unique_ptr<JobCoordinator> coordinator_;
};

}  // namespace

int run_job(const LaunchConfig& config) { return Agent(config).run(); }

}  // namespace megasft::launch
