// What `megasft plan` knows about the machines: per-GPU memory, dense bf16 rate, HBM, NVLink and
// inter-node bandwidth, with the fractions of each peak that real kernels reach. Read from a .cfg
// file.
#pragma once

#include <map>
#include <string>

namespace megasft::plan {

struct ClusterSpec {
  std::string name;
  int gpus_per_node = 8;
  double memory_gib = 0;         // usable memory per GPU, as nvidia-smi reports it
  double dense_bf16_tflops = 0;  // dense (not 2:4-sparse) bf16 tensor-core peak per GPU
  double hbm_tb_s = 0;           // HBM bandwidth per GPU
  double nvlink_gb_s = 0;        // NVLink per GPU, both directions together (the datasheet figure)
  double inter_node_gb_s = 0;    // network per GPU, one direction
  double matmul_efficiency = 0.6;  // fraction of the dense peak that the GEMMs reach
  double nvlink_efficiency = 0.8;  // NCCL bus bandwidth / link bandwidth inside a node
  double inter_node_efficiency = 0.8;
  double hbm_efficiency = 0.7;  // elementwise kernels' fraction of the HBM bandwidth
  double runtime_reserved_gib =
      2.5;  // CUDA context, library workspaces, communication library buffers

  double memory_bytes() const { return memory_gib * (1ull << 30); }
  double flops_per_s() const { return dense_bf16_tflops * 1e12 * matmul_efficiency; }
  double hbm_bytes_per_s() const { return hbm_tb_s * 1e12 * hbm_efficiency; }
  // One direction, as NCCL's bus bandwidth counts it.
  double nvlink_bytes_per_s() const { return nvlink_gb_s / 2 * 1e9 * nvlink_efficiency; }
  double inter_node_bytes_per_s() const { return inter_node_gb_s * 1e9 * inter_node_efficiency; }
  // Every field in range; errors name `source` (the file) and the key.
  void validate(const std::string& source) const;
};

// Reads the [cluster] section of `path`; `overrides` (key without the "cluster." prefix -> value,
// from the command line) win over the file. Unknown keys and bad values are errors naming the file
// and key.
ClusterSpec read_cluster_file(const std::string& path,
                              const std::map<std::string, std::string>& overrides = {});

}  // namespace megasft::plan
