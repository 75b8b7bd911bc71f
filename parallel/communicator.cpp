// Gloo and single-rank communicators. Every Gloo call is bounded by the group's timeout; a failure or
// timeout is rethrown naming the operation, the group and the rank, so the process exits instead of hanging.
#include "parallel/communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <cstdlib>
#include <sstream>

#include "kernels/check.h"

namespace megasft::parallel {

at::IValue Communicator::to_ivalue() {
  return at::IValue::make_capsule(c10::intrusive_ptr<Communicator>::reclaim_copy(this));
}

CommunicatorPtr Communicator::from_ivalue(const at::IValue& value) {
  auto holder = value.toCapsule();
  return c10::static_intrusive_pointer_cast<Communicator>(holder);
}

std::string Communicator::describe() const {
  std::ostringstream out;
  out << "group '" << name_ << "' (global ranks ";
  for (size_t i = 0; i < global_ranks_.size(); ++i) out << (i ? "," : "") << global_ranks_[i];
  out << "), rank " << rank_ << " of " << size_;
  return out.str();
}

namespace {

class SingleRankCommunicator final : public Communicator {
 public:
  SingleRankCommunicator(std::string name, int global_rank)
      : Communicator(std::move(name), 0, 1, {global_rank}) {}
  void all_reduce(at::Tensor&, ReduceOp) override {}
  at::Tensor all_gather(const at::Tensor& tensor) override { return tensor.unsqueeze(0).clone(); }
  at::Tensor reduce_scatter(const at::Tensor& input) override { return input.clone(); }
  void broadcast(at::Tensor&, int) override {}
  void barrier() override {}
  std::unique_ptr<PendingSend> isend(const at::Tensor&, int dst, int) override {
    MEGASFT_FAIL("send to rank ", dst, " in a group of one rank (", describe(), ")");
  }
  void recv(at::Tensor&, int src, int) override {
    MEGASFT_FAIL("recv from rank ", src, " in a group of one rank (", describe(), ")");
  }
};

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(std::string name, const c10::intrusive_ptr<c10d::Store>& store, int rank,
                   std::vector<int> global_ranks, std::chrono::milliseconds timeout)
      : Communicator(name, rank, static_cast<int>(global_ranks.size()), global_ranks),
        timeout_(timeout) {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(make_device());
    options->threads = 2;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("megasft/" + name, store);
    try {
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, size(), options);
    } catch (const std::exception& e) {
      MEGASFT_FAIL("cannot connect ", describe(), ": ", first_line(e.what()));
    }
  }

  void all_reduce(at::Tensor& tensor, ReduceOp op) override {
    if (needs_float_transport(tensor)) {  // bf16 sums are taken in fp32, then rounded once
      auto wide = tensor.to(at::kFloat);
      all_reduce(wide, op);
      tensor.copy_(wide);
      return;
    }
    c10d::AllreduceOptions options;
    options.reduceOp = op == ReduceOp::kSum ? c10d::ReduceOp::SUM : c10d::ReduceOp::MAX;
    options.timeout = timeout_;
    std::vector<at::Tensor> tensors{contiguous_in_place(tensor)};
    run("all_reduce", [&] { return group_->allreduce(tensors, options); });
    if (!tensor.is_contiguous()) tensor.copy_(tensors[0]);
  }

  at::Tensor all_gather(const at::Tensor& tensor) override {
    if (needs_float_transport(tensor)) return all_gather(tensor.to(at::kFloat)).to(tensor.scalar_type());
    std::vector<at::Tensor> inputs{tensor.contiguous()};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int i = 0; i < size(); ++i) outputs[0].push_back(at::empty_like(inputs[0]));
    c10d::AllgatherOptions options;
    options.timeout = timeout_;
    run("all_gather", [&] { return group_->allgather(outputs, inputs, options); });
    return at::stack(outputs[0]);
  }

  // LibTorch 1.13's Gloo group has no reduce_scatter: an all-reduce and this rank's chunk give the
  // same sums for twice the traffic, which only the CPU build pays.
  at::Tensor reduce_scatter(const at::Tensor& input) override {
    MEGASFT_CHECK(input.dim() >= 1 && input.size(0) % size() == 0, "reduce_scatter on ", describe(),
                  ": first dimension ", input.size(0), " is not divisible by the group size");
    at::Tensor sum = input.clone(at::MemoryFormat::Contiguous);
    all_reduce(sum, ReduceOp::kSum);
    const int64_t part = input.size(0) / size();
    return sum.narrow(0, rank() * part, part).clone();
  }

  void broadcast(at::Tensor& tensor, int group_root) override {
    if (needs_float_transport(tensor)) {
      auto wide = tensor.to(at::kFloat);
      broadcast(wide, group_root);
      tensor.copy_(wide);
      return;
    }
    c10d::BroadcastOptions options;
    options.rootRank = group_root;
    options.timeout = timeout_;
    std::vector<at::Tensor> tensors{contiguous_in_place(tensor)};
    run("broadcast", [&] { return group_->broadcast(tensors, options); });
    if (!tensor.is_contiguous()) tensor.copy_(tensors[0]);
  }

  void barrier() override {
    c10d::BarrierOptions options;
    options.timeout = timeout_;
    run("barrier", [&] { return group_->barrier(options); });
  }

  std::unique_ptr<PendingSend> isend(const at::Tensor& tensor, int dst, int tag) override {
    check_peer(dst, "send");
    std::vector<at::Tensor> tensors{tensor.contiguous()};
    try {
      return std::make_unique<GlooPendingSend>(group_->send(tensors, dst, tag), this, dst);
    } catch (const std::exception& e) {
      MEGASFT_FAIL("send to rank ", dst, " failed on ", describe(), ": ", first_line(e.what()));
    }
  }

  void recv(at::Tensor& tensor, int src, int tag) override {
    check_peer(src, "recv");
    MEGASFT_CHECK(tensor.is_contiguous(), "recv needs a contiguous buffer");
    std::vector<at::Tensor> tensors{tensor};
    run("recv", [&] { return group_->recv(tensors, src, tag); });
  }

 private:
  static at::Tensor contiguous_in_place(at::Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }

  // LibTorch 1.13's Gloo collectives reject bf16 and fp16 ("Invalid scalar type"); point-to-point
  // sends move raw bytes and need no conversion.
  static bool needs_float_transport(const at::Tensor& t) {
    return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf;
  }

  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

  // Loopback masters keep Gloo on 127.0.0.1; otherwise the interface named by GLOO_SOCKET_IFNAME,
  // else the address this host's name resolves to (what torch.distributed does).
  static std::shared_ptr<::gloo::transport::Device> make_device() {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    const char* master = std::getenv("MASTER_ADDR");
    std::string addr = master ? master : "127.0.0.1";
    if (addr == "localhost" || addr.rfind("127.", 0) == 0)
      return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }

  void check_peer(int peer, const char* op) const {
    MEGASFT_CHECK(peer >= 0 && peer < size() && peer != rank(), op, " peer ", peer, " is not another rank of ",
                  describe());
  }

  class GlooPendingSend final : public PendingSend {
   public:
    GlooPendingSend(c10::intrusive_ptr<c10d::Work> work, const GlooCommunicator* owner, int dst)
        : work_(std::move(work)), owner_(owner), dst_(dst) {}
    ~GlooPendingSend() override {
      if (work_) try { wait(); } catch (...) {}  // never leave a buffer in flight
    }
    void wait() override {
      if (!work_) return;
      auto work = std::move(work_);
      try {
        work->wait(owner_->timeout_);
      } catch (const std::exception& e) {
        MEGASFT_FAIL("send to rank ", dst_, " failed on ", owner_->describe(), " (timeout ",
                     owner_->timeout_.count() / 1000.0, " s): ", first_line(e.what()));
      }
    }

   private:
    c10::intrusive_ptr<c10d::Work> work_;
    const GlooCommunicator* owner_;
    int dst_;
  };

  template <typename Launch>
  void run(const char* op, Launch&& launch) {
    try {
      auto work = launch();
      work->wait(timeout_);
    } catch (const std::exception& e) {
      MEGASFT_FAIL(op, " failed on ", describe(), " (timeout ", timeout_.count() / 1000.0,
                   " s): ", first_line(e.what()));
    }
  }

  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

CommunicatorPtr make_single_rank_communicator(std::string name, int global_rank) {
  return c10::make_intrusive<SingleRankCommunicator>(std::move(name), global_rank);
}

CommunicatorPtr make_gloo_communicator(std::string name, const c10::intrusive_ptr<c10d::Store>& store,
                                       int rank, std::vector<int> global_ranks,
                                       std::chrono::milliseconds timeout) {
  if (global_ranks.size() == 1) return make_single_rank_communicator(std::move(name), global_ranks[0]);
  return c10::make_intrusive<GlooCommunicator>(std::move(name), store, rank, std::move(global_ranks),
                                               timeout);
}

}  // namespace megasft::parallel
