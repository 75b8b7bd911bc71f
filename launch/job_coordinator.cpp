#include "launch/job_coordinator.h"

#include <sstream>

#include "kernels/check.h"
#include "launch/signal_watch.h"
#include "launch/store_coordinator.h"

namespace megasft::launch {
namespace {

// A job on one node: nothing to agree on, every attempt resolves locally.
class LocalCoordinator : public JobCoordinator {
 public:
  explicit LocalCoordinator(const LaunchConfig& config) : config_(config) {
    run_id_ = resolve_rendezvous(config).run_id;
  }

  Rendezvous join(int attempt) override {
    // --standalone picks a fresh port each attempt, as node 0 does for several nodes.
    Rendezvous rdzv = resolve_rendezvous(config_);
    rdzv.run_id = run_id_;
    rdzv.restart_count = attempt;
    return rdzv;
  }
  std::optional<JobFailure> poll_failure(int) override { return std::nullopt; }
  JobFailure publish_failure(int, const JobFailure& failure) override { return failure; }
  std::optional<JobFailure> finish(int, const std::optional<JobFailure>& local) override {
    return local;
  }
  void leave(int) override {}

 private:
  LaunchConfig config_;
  std::string run_id_;
};

const char* kind_name(JobFailure::Kind kind) {
  switch (kind) {
    case JobFailure::Kind::kWorker:
      return "worker";
    case JobFailure::Kind::kSignal:
      return "signal";
    case JobFailure::Kind::kRendezvous:
      return "rendezvous";
    case JobFailure::Kind::kLostStore:
      return "lost-store";
    case JobFailure::Kind::kLauncher:
      return "launcher";
  }
  return "?";
}

}  // namespace

std::string JobFailure::describe() const {
  std::ostringstream out;
  switch (kind) {
    case Kind::kWorker:
      out << "worker rank " << rank << " (node " << node_rank << ", local rank " << local_rank
          << ") " << what;
      break;
    case Kind::kSignal:
      out << "node " << node_rank << "'s launcher received " << signal_name(signo);
      break;
    case Kind::kLauncher:
      out << "node " << node_rank << "'s launcher failed: " << what;
      break;
    default:
      out << what;
  }
  return out.str();
}

// One field per line; `what` last, so it may hold anything but a line break.
std::string JobFailure::encode() const {
  std::ostringstream out;
  out << kind_name(kind) << "\n"
      << node_rank << "\n"
      << rank << "\n"
      << local_rank << "\n"
      << signo << "\n"
      << what;
  return out.str();
}

JobFailure JobFailure::decode(const std::string& text) {
  std::istringstream in(text);
  std::string kind;
  JobFailure f;
  std::getline(in, kind);
  bool known = false;
  for (Kind k :
       {Kind::kWorker, Kind::kSignal, Kind::kRendezvous, Kind::kLostStore, Kind::kLauncher}) {
    if (kind == kind_name(k)) {
      f.kind = k;
      known = true;
    }
  }
  in >> f.node_rank >> f.rank >> f.local_rank >> f.signo;
  const bool fields_ok = !in.fail();
  in.ignore(1);
  std::getline(in, f.what);
  MEGASFT_CHECK(known && fields_ok, "malformed failure record in the launchers' store: '", text,
                "' (a launcher of another megasft-run version?)");
  return f;
}

std::unique_ptr<JobCoordinator> make_coordinator(const LaunchConfig& config, SignalWatch& signals) {
  if (!config.uses_store()) return std::make_unique<LocalCoordinator>(config);
  return std::make_unique<StoreCoordinator>(config, signals);
}

}  // namespace megasft::launch
