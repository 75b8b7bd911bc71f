#include "launch/store_coordinator.h"

#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "kernels/check.h"
#include "launch/signal_watch.h"

namespace megasft::launch {
namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(double seconds) {
  std::ostringstream out;
  out << seconds << " s";
  return out.str();
}

std::string hostname() {
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? name : "unknown host";
}

Clock::time_point after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int to_int(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    int value = std::stoi(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  MEGASFT_FAIL("malformed ", what, " '", text, "' in the launchers' store");
}

}  // namespace

std::string join_ranks(const std::vector<int>& ranks) {
  std::string text;
  for (int r : ranks) text += (text.empty() ? "" : ", ") + std::to_string(r);
  return text;
}

StoreCoordinator::StoreCoordinator(const LaunchConfig& config, SignalWatch& signals)
    : config_(config), signals_(signals) {}

StoreCoordinator::~StoreCoordinator() = default;

void StoreCoordinator::idle(std::chrono::milliseconds d) {
  int signo = signals_.wait(d);
  if (signals_.is_stop_signal(signo)) throw StopRequested{signo};
}

std::string StoreCoordinator::key(int attempt, const std::string& name) const {
  return "megasft-run/attempt/" + std::to_string(attempt) + "/" + name;
}

std::string StoreCoordinator::key(int attempt, const std::string& name, int node) const {
  return key(attempt, name + "/" + std::to_string(node));
}

std::vector<int> StoreCoordinator::nodes_without(int attempt, const std::string& name) {
  std::vector<int> missing;
  for (int node = 0; node < config_.nnodes; ++node) {
    if (!store_->all_set({key(attempt, name, node)})) missing.push_back(node);
  }
  return missing;
}

void StoreCoordinator::abort_rendezvous(int attempt, const std::string& message) {
  JobFailure failure;
  failure.kind = JobFailure::Kind::kRendezvous;
  failure.node_rank = config_.node_rank;
  failure.what = message;
  try {
    store_->set_first(key(attempt, "failed"), failure.encode());
  } catch (const Error&) {
    // The others will time out on their own; this node's message is what matters here.
  }
  MEGASFT_FAIL(message);
}

JobFailure StoreCoordinator::lost_store(const std::string& why) {
  JobFailure failure;
  failure.kind = JobFailure::Kind::kLostStore;
  failure.node_rank = config_.node_rank;
  failure.what = "lost contact with node 0's launcher: " + why;
  lost_ = failure;
  return failure;
}

// The job record: what every node must agree on before it can join an attempt.
void StoreCoordinator::open_store(Clock::time_point deadline) {
  const std::string host = config_.store_host();
  const int port = config_.store_port();
  const std::string job_key = "megasft-run/job";
  if (config_.node_rank == 0) {
    store_ = LauncherStore::serve(host, port);
    run_id_ = config_.rdzv_id.empty() ? generate_run_id() : config_.rdzv_id;
    store_->set(job_key, std::to_string(config_.nnodes) + "\n" +
                             std::to_string(config_.max_restarts) + "\n" + run_id_);
    return;
  }
  std::string why;
  store_ = LauncherStore::connect(
      host, port, deadline, [this](std::chrono::milliseconds d) { idle(d); }, why);
  MEGASFT_CHECK(store_ != nullptr, "rendezvous timed out after ",
                seconds_text(config_.rdzv_timeout_s), ": missing node rank(s): 0 (its launcher ",
                "hosts the store at ", host, ":", port, ", which cannot be reached: ", why, ")");
  std::optional<std::string> job;
  while (!(job = store_->get_if_set(job_key))) {
    MEGASFT_CHECK(Clock::now() < deadline, "the store at ", store_->endpoint(),
                  " never published the job: is it another program's port?");
    idle(kRendezvousPoll);
  }
  std::vector<std::string> fields = lines(*job);
  MEGASFT_CHECK(fields.size() == 3, "malformed job record '", *job, "' in the store at ",
                store_->endpoint());
  const int nnodes = to_int(fields[0], "node count");
  const int max_restarts = to_int(fields[1], "--max-restarts");
  if (nnodes != config_.nnodes || max_restarts != config_.max_restarts ||
      (!config_.rdzv_id.empty() && fields[2] != config_.rdzv_id)) {
    abort_rendezvous(
        0, "node " + std::to_string(config_.node_rank) + " does not agree with node 0: --nnodes " +
               std::to_string(config_.nnodes) + " vs " + fields[0] + ", --max-restarts " +
               std::to_string(config_.max_restarts) + " vs " + fields[1] + ", --rdzv-id '" +
               config_.rdzv_id + "' vs '" + fields[2] + "'; every node needs the same options");
  }
  run_id_ = fields[2];  // a generated id comes from node 0, so every node logs under the same
}

Rendezvous StoreCoordinator::join(int attempt) {
  if (!store_) LauncherStore::load();  // before the clock starts: the timeout is for the others
  const auto deadline = after(config_.rdzv_timeout_s);
  if (!store_) open_store(deadline);
  MEGASFT_CHECK(!lost_, lost_ ? lost_->describe() : "");
  const int me = config_.node_rank;
  if (me == 0) {
    // A fresh port per attempt: the previous attempt's rank 0 may still hold its own, and the
    // store's port is never handed to workers.
    const int port = pick_free_port("0.0.0.0");
    store_->set(key(attempt, "master"), config_.store_host() + "\n" + std::to_string(port));
  }
  if (store_->add(key(attempt, "claim", me), 1) > 1) {
    std::optional<std::string> other = store_->get_if_set(key(attempt, "node", me));
    MEGASFT_FAIL("node rank ", me, " already joined attempt ", attempt, " from ",
                 other ? lines(*other).back() : "another launcher",
                 ": every launcher needs its own --node-rank");
  }
  joined_attempt_ = attempt;
  store_->set(key(attempt, "node", me), std::to_string(config_.nproc_per_node) + "\n" + hostname());

  std::vector<std::string> all_keys = {key(attempt, "master")};
  for (int node = 0; node < config_.nnodes; ++node) all_keys.push_back(key(attempt, "node", node));
  while (!store_->all_set(all_keys)) {
    if (std::optional<std::string> failed = store_->get_if_set(key(attempt, "failed"))) {
      MEGASFT_FAIL("rendezvous of attempt ", attempt,
                   " was ended by another node: ", JobFailure::decode(*failed).describe());
    }
    if (Clock::now() >= deadline) {
      abort_rendezvous(attempt,
                       "rendezvous timed out after " + seconds_text(config_.rdzv_timeout_s) +
                           ": missing node rank(s): " + join_ranks(nodes_without(attempt, "node")) +
                           " of " + std::to_string(config_.nnodes) + " (attempt " +
                           std::to_string(attempt) + ", store at " + store_->endpoint() + ")");
    }
    idle(kRendezvousPoll);
  }

  Rendezvous rdzv;
  std::vector<std::string> master = lines(*store_->get_if_set(key(attempt, "master")));
  MEGASFT_CHECK(master.size() == 2, "malformed master record in the store");
  rdzv.master_addr = master[0];
  rdzv.master_port = to_int(master[1], "MASTER_PORT");
  rdzv.run_id = run_id_;
  rdzv.group_rank = me;
  rdzv.group_world_size = config_.nnodes;
  rdzv.local_world_size = config_.nproc_per_node;
  rdzv.restart_count = attempt;
  rdzv.max_restarts = config_.max_restarts;
  rdzv.world_size = 0;
  for (int node = 0; node < config_.nnodes; ++node) {
    // Nodes may run different numbers of workers; ranks follow node order.
    const int nproc =
        to_int(lines(*store_->get_if_set(key(attempt, "node", node))).at(0), "worker count");
    if (node < me) rdzv.rank_offset += nproc;
    rdzv.world_size += nproc;
  }
  return rdzv;
}

std::optional<JobFailure> StoreCoordinator::poll_failure(int attempt) {
  if (lost_) return lost_;
  try {
    std::optional<std::string> failed = store_->get_if_set(key(attempt, "failed"));
    if (failed) return JobFailure::decode(*failed);
  } catch (const Error& e) {
    return lost_store(e.what());
  }
  return std::nullopt;
}

JobFailure StoreCoordinator::publish_failure(int attempt, const JobFailure& failure) {
  if (lost_ || !store_) return failure;
  try {
    return JobFailure::decode(store_->set_first(key(attempt, "failed"), failure.encode()));
  } catch (const Error& e) {
    lost_store(e.what());
    return failure;
  }
}

std::optional<JobFailure> StoreCoordinator::finish(int attempt,
                                                   const std::optional<JobFailure>& local) {
  if (lost_) return local ? local : lost_;
  const int me = config_.node_rank;
  try {
    // A failed node published its failure before writing "failed" here; a node that writes "ok"
    // has none. So "every end is ok" means the attempt succeeded everywhere.
    store_->set(key(attempt, "end", me), local ? "failed" : "ok");
    if (local) {
      std::optional<std::string> first = store_->get_if_set(key(attempt, "failed"));
      return first ? JobFailure::decode(*first) : *local;
    }
    std::vector<std::string> ends;
    for (int node = 0; node < config_.nnodes; ++node) ends.push_back(key(attempt, "end", node));
    const auto deadline = after(config_.rdzv_timeout_s);
    const auto poll = std::max(
        kRendezvousPoll,
        std::chrono::milliseconds(static_cast<long long>(config_.monitor_interval_s * 1000)));
    while (true) {
      if (std::optional<std::string> failed = store_->get_if_set(key(attempt, "failed"))) {
        return JobFailure::decode(*failed);
      }
      if (store_->all_set(ends)) {
        bool all_ok = true;
        for (const std::string& end : ends) all_ok = all_ok && store_->get_if_set(end) == "ok";
        if (all_ok) return std::nullopt;
      }
      if (Clock::now() >= deadline) {
        JobFailure late;
        late.kind = JobFailure::Kind::kRendezvous;
        late.node_rank = me;
        late.what = "node(s) " + join_ranks(nodes_without(attempt, "end")) +
                    " did not finish attempt " + std::to_string(attempt) + " within " +
                    seconds_text(config_.rdzv_timeout_s) + " after node " + std::to_string(me) +
                    "'s workers succeeded";
        return publish_failure(attempt, late);
      }
      idle(poll);
    }
  } catch (const Error& e) {
    JobFailure lost = lost_store(e.what());
    return local ? local : lost;
  }
}

void StoreCoordinator::leave(int attempt) {
  if (!store_ || lost_) return;
  try {
    if (config_.node_rank != 0) {
      // Only a node that joined is counted: a duplicate --node-rank must not stand in for one.
      if (joined_attempt_ == attempt) store_->add(key(attempt, "left"), 1);
      // Disconnect at once: LibTorch 1.13's client thread calls std::terminate when its server
      // resets the connection, so clients must be gone before node 0 closes the store.
      store_.reset();
      return;
    }
    // Node 0 waits for every node that joined this attempt to say it has read the outcome.
    int joined = config_.nnodes - static_cast<int>(nodes_without(attempt, "node").size());
    const auto deadline = after(config_.grace_period_s) + kStoreLingerMargin;
    while (store_->add(key(attempt, "left"), 0) < joined - 1 && Clock::now() < deadline) {
      idle(kRendezvousPoll);
    }
    idle(kClientDisconnectDelay);  // the last one to leave is disconnecting right now
  } catch (const Error&) {
    // Nothing left to tell: the job's outcome is decided and printed.
  } catch (const StopRequested&) {
    // A second Ctrl-C while lingering: exit now.
  }
}

}  // namespace megasft::launch
