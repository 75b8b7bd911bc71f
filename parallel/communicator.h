// Communicator: one group of ranks and the collectives megasft uses, with every call bounded by a timeout.
// Back ends: Gloo through c10d (CPU tensors); NCCL joins in the GPU build. Only parallel/ calls these.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace c10d {
class Store;
}

namespace megasft::parallel {

enum class ReduceOp { kSum, kMax };

// A send in flight. wait() returns once the data has left; the tensor is kept alive until then.
class PendingSend {
 public:
  virtual ~PendingSend() = default;
  virtual void wait() = 0;
};

// A group of ranks. Held by c10::intrusive_ptr so autograd nodes can keep it in their saved data.
class Communicator : public torch::CustomClassHolder {
 public:
  Communicator(std::string name, int rank, int size, std::vector<int> global_ranks)
      : name_(std::move(name)), rank_(rank), size_(size), global_ranks_(std::move(global_ranks)) {}
  ~Communicator() override = default;

  const std::string& name() const { return name_; }
  int rank() const { return rank_; }  // rank inside this group
  int size() const { return size_; }
  const std::vector<int>& global_ranks() const { return global_ranks_; }

  virtual void all_reduce(at::Tensor& tensor, ReduceOp op) = 0;        // in place
  virtual at::Tensor all_gather(const at::Tensor& tensor) = 0;         // -> [size, *tensor.shape]
  // input [size * n, ...] -> [n, ...]: the sum over ranks of chunk `rank()` of everyone's input.
  virtual at::Tensor reduce_scatter(const at::Tensor& input) = 0;
  virtual void broadcast(at::Tensor& tensor, int group_root) = 0;      // in place
  virtual void barrier() = 0;
  // Point-to-point between group ranks. isend returns at once (pipelines must not block on a send
  // while the peer waits to send to them); recv blocks until `tensor` (pre-sized) is filled.
  virtual std::unique_ptr<PendingSend> isend(const at::Tensor& tensor, int dst, int tag) = 0;
  virtual void recv(at::Tensor& tensor, int src, int tag) = 0;

  // Capsule form for autograd contexts (ctx->saved_data).
  at::IValue to_ivalue();
  static c10::intrusive_ptr<Communicator> from_ivalue(const at::IValue& value);

 protected:
  std::string describe() const;  // "group 'tp' (global ranks 0,1), rank 0 of 2"

 private:
  std::string name_;
  int rank_;
  int size_;
  std::vector<int> global_ranks_;
};

using CommunicatorPtr = c10::intrusive_ptr<Communicator>;

// The group of one rank: every collective is the identity, nothing is sent.
CommunicatorPtr make_single_rank_communicator(std::string name, int global_rank);

// A Gloo group over `store` (a prefix keeps groups apart). Only members call this, all together.
CommunicatorPtr make_gloo_communicator(std::string name, const c10::intrusive_ptr<c10d::Store>& store,
                                       int rank, std::vector<int> global_ranks,
                                       std::chrono::milliseconds timeout);

}  // namespace megasft::parallel
