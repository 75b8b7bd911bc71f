// The process layout (tensor x data x pipeline) and the communicators of each group, built once per run.
// Ranks follow Megatron's order: TP ranks adjacent (TP stays inside a node), then DP, then PP.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "parallel/communicator.h"

namespace megasft::parallel {

// What torchrun (or megasft-run) tells a worker. Without RANK set, a single-process world.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  static DistributedEnv from_environment();  // validates each variable, naming it and its value
};

struct ParallelLayout {
  int tp = 1;
  int pp = 1;
  int dp = 1;

  // dp = world / (tp * pp); a world that does not split is an error naming the numbers.
  static ParallelLayout for_world(int world_size, int tp, int pp);
  int world_size() const { return tp * pp * dp; }
  std::string to_string() const;
};

class ParallelState {
 public:
  // Rendezvous through a TCPStore at MASTER_ADDR:MASTER_PORT and create every group of the layout.
  static std::shared_ptr<ParallelState> initialize(const DistributedEnv& env, int tp, int pp,
                                                   std::chrono::milliseconds timeout);
  // One process, every group of size one: for tools and single-process tests.
  static std::shared_ptr<ParallelState> single_process();

  const ParallelLayout& layout() const { return layout_; }
  int global_rank() const { return global_rank_; }
  int world_size() const { return layout_.world_size(); }
  int tp_rank() const { return tensor_->rank(); }
  int dp_rank() const { return data_->rank(); }
  int pp_rank() const { return pipeline_->rank(); }
  bool is_first_rank() const { return global_rank_ == 0; }

  const CommunicatorPtr& world() const { return world_; }
  const CommunicatorPtr& tensor() const { return tensor_; }
  const CommunicatorPtr& data() const { return data_; }
  const CommunicatorPtr& pipeline() const { return pipeline_; }
  // First and last pipeline stage of this (tp, dp) position: where tied embeddings live twice.
  // On middle stages (and with one stage) a group of one rank.
  const CommunicatorPtr& embedding() const { return embedding_; }
  bool is_first_stage() const { return pp_rank() == 0; }
  bool is_last_stage() const { return pp_rank() == layout_.pp - 1; }

 private:
  ParallelLayout layout_;
  int global_rank_ = 0;
  c10::intrusive_ptr<c10d::Store> store_;
  CommunicatorPtr world_, tensor_, data_, pipeline_, embedding_;
};

}  // namespace megasft::parallel
