// StoreCoordinator: the launchers of several nodes agree on each attempt through a store served
// by node 0's launcher: who joined (and with how many workers), the workers' MASTER_PORT, the
// first failure, and who finished. Every key is scoped by attempt, so a restart starts clean.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "launch/job_coordinator.h"
#include "launch/launcher_store.h"

namespace megasft::launch {

// Pause between two looks at the store while waiting for other nodes.
inline constexpr std::chrono::milliseconds kRendezvousPoll(50);
// How long node 0 keeps its store up beyond the grace period, so the other nodes can read how
// the job ended before the store disappears.
inline constexpr std::chrono::seconds kStoreLingerMargin(10);
// Node 0's pause between the last node saying it leaves and closing the store.
inline constexpr std::chrono::milliseconds kClientDisconnectDelay(100);

class StoreCoordinator : public JobCoordinator {
 public:
  StoreCoordinator(const LaunchConfig& config, SignalWatch& signals);
  ~StoreCoordinator() override;

  Rendezvous join(int attempt) override;
  std::optional<JobFailure> poll_failure(int attempt) override;
  JobFailure publish_failure(int attempt, const JobFailure& failure) override;
  std::optional<JobFailure> finish(int attempt, const std::optional<JobFailure>& local) override;
  void leave(int attempt) override;

 private:
  using Clock = std::chrono::steady_clock;

  // Node 0 serves the store and publishes the job; the others connect and check they agree.
  void open_store(Clock::time_point deadline);
  // Waits on signals for at most d; throws StopRequested on a stop signal.
  void idle(std::chrono::milliseconds d);
  std::string key(int attempt, const std::string& name) const;
  std::string key(int attempt, const std::string& name, int node) const;
  // The nodes whose key `name` is not set for attempt (node keys: "node", "end").
  std::vector<int> nodes_without(int attempt, const std::string& name);
  // Publishes a rendezvous failure for attempt, so the other nodes stop waiting, and throws it.
  [[noreturn]] void abort_rendezvous(int attempt, const std::string& message);
  JobFailure lost_store(const std::string& why);

  LaunchConfig config_;
  SignalWatch& signals_;
  std::unique_ptr<LauncherStore> store_;
  std::string run_id_;
  std::optional<JobFailure> lost_;  // set once the store is unreachable; nothing is tried again
  int joined_attempt_ = -1;         // the last attempt this node claimed its node rank in
};

// "1, 3" for the error messages.
std::string join_ranks(const std::vector<int>& ranks);

}  // namespace megasft::launch
