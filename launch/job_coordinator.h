// JobCoordinator: how this node's launcher agrees with the others on each attempt of the job:
// who is in it, whether it failed, and whether it ended. One node needs nobody (LocalCoordinator);
// several meet through node 0's store (StoreCoordinator, store_coordinator.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "launch/launch_config.h"
#include "launch/rendezvous.h"

namespace megasft::launch {

class SignalWatch;

// Thrown out of a wait when the launcher receives a stop signal (SIGINT, SIGTERM, ...).
struct StopRequested {
  int signo = 0;
};

// What ended an attempt, the same on every node: the first failure published wins.
struct JobFailure {
  enum class Kind {
    kWorker,      // a worker failed: the job may restart
    kSignal,      // a launcher received a stop signal: the job ends
    kRendezvous,  // the launchers could not meet (timeout, mismatch): the job ends, exit 3
    kLostStore,   // node 0's store went away: the job ends
    kLauncher,    // a launcher failed itself (e.g. cannot create --log-dir): the job ends
  };
  Kind kind = Kind::kWorker;
  int node_rank = 0;
  int rank = -1;        // kWorker: the global rank
  int local_rank = -1;  // kWorker
  int signo = 0;        // kSignal
  std::string what;     // kWorker: "failed with exit code 3"; otherwise the whole message

  bool restartable() const { return kind == Kind::kWorker; }
  // "worker rank 3 (node 1, local rank 1) failed with exit code 3", "node 1's launcher received
  // SIGTERM", "node 1's launcher failed: <what>", or what.
  std::string describe() const;
  std::string encode() const;
  static JobFailure decode(const std::string& text);
};

class JobCoordinator {
 public:
  virtual ~JobCoordinator() = default;

  // Blocks until every node joined attempt `attempt` and returns this node's place in it.
  // Throws megasft::Error (exit 3) when they cannot meet, StopRequested on a stop signal.
  virtual Rendezvous join(int attempt) = 0;
  // Another node's failure published for this attempt, if any (polled while workers run).
  virtual std::optional<JobFailure> poll_failure(int attempt) = 0;
  // Publishes this node's failure unless another came first; returns the one that counts.
  virtual JobFailure publish_failure(int attempt, const JobFailure& failure) = 0;
  // Called once this node's workers are gone. local: this node's failure, if any. When this
  // node succeeded, waits for the others (at most --rdzv-timeout). Returns the attempt's
  // failure, or nullopt when every node succeeded. May throw StopRequested.
  virtual std::optional<JobFailure> finish(int attempt, const std::optional<JobFailure>& local) = 0;
  // Called once before the launcher exits; node 0 keeps its store up until the others have
  // read the outcome (at most the grace period plus a margin).
  virtual void leave(int attempt) = 0;
};

// A LocalCoordinator when config.uses_store() is false, else a StoreCoordinator.
std::unique_ptr<JobCoordinator> make_coordinator(const LaunchConfig& config, SignalWatch& signals);

}  // namespace megasft::launch
