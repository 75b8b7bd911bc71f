// Checkpoint write and read throughput against plain sequential file I/O of the same bytes, measured
// in the same run on the same disk: the cost of HDF5, chunking and Fletcher-32 over a raw dump.
#include <ATen/ATen.h>
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "megasft/checkpoint/distributed_checkpoint.h"
#include "megasft/model/llama_model.h"
#include "megasft/optim/distributed_optimizer.h"

namespace {
namespace po = boost::program_options;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Row {
  std::string model;
  double mib, save_s, load_s, raw_write_s, raw_read_s;
};

Row measure(const std::string& label, const megasft::model::ModelConfig& config, const fs::path& dir) {
  auto state = megasft::parallel::ParallelState::single_process();
  megasft::model::LlamaModel model(config, state->tensor());
  model.initialize(1);
  megasft::optim::DistributedOptimizer optimizer(model.parameters(), *state, {});
  megasft::checkpoint::DistributedCheckpointer checkpointer(*state, 1);
  megasft::checkpoint::TrainingProgress progress;
  progress.step = 1;
  fs::remove_all(dir);

  auto start = Clock::now();
  checkpointer.save(dir.string(), progress, model.parameters(), optimizer);
  const double save_s = seconds(start);
  start = Clock::now();
  checkpointer.load(dir.string(), false, model.parameters(), optimizer);
  const double load_s = seconds(start);

  // The same tensors (parameters, master weights, two moments) as one raw sequential dump.
  std::vector<at::Tensor> tensors;
  for (const auto& p : model.parameters()) tensors.push_back(p.value.detach().contiguous());
  for (const auto& s : optimizer.gather_state()) {
    tensors.push_back(s.master);
    tensors.push_back(s.exp_avg);
    tensors.push_back(s.exp_avg_sq);
  }
  double bytes = 0;
  const fs::path raw = dir / "raw.bin";
  start = Clock::now();
  {
    std::ofstream out(raw, std::ios::binary);
    for (const auto& t : tensors) {
      out.write(static_cast<const char*>(t.data_ptr()), t.nbytes());
      bytes += t.nbytes();
    }
  }
  const double raw_write_s = seconds(start);
  start = Clock::now();
  {
    std::ifstream in(raw, std::ios::binary);
    for (auto& t : tensors) in.read(static_cast<char*>(t.data_ptr()), t.nbytes());
  }
  const double raw_read_s = seconds(start);
  fs::remove_all(dir);
  return {label, bytes / (1 << 20), save_s, load_s, raw_write_s, raw_read_s};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/megasft-checkpoint-bench";
  po::options_description options("bench_checkpoint");
  options.add_options()("help,h", "print this help")("dir", po::value(&dir)->default_value(dir), "scratch directory");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  megasft::model::ModelConfig demo;
  demo.vocab_size = 99, demo.hidden_size = 128, demo.intermediate_size = 384, demo.num_layers = 4;
  demo.num_attention_heads = 4, demo.num_key_value_heads = 2, demo.make_vocab_size_divisible_by = 8;
  megasft::model::ModelConfig larger = demo;
  larger.vocab_size = 32000, larger.hidden_size = 768, larger.intermediate_size = 2048, larger.num_layers = 8;
  larger.num_attention_heads = 12, larger.num_key_value_heads = 4, larger.make_vocab_size_divisible_by = 128;

  std::vector<Row> rows = {measure("demo (0.8M parameters)", demo, dir), measure("synthetic (101M parameters)", larger, dir)};
  std::printf("| model | MiB | save MB/s | raw write MB/s | save / raw | load MB/s | raw read MB/s | load / raw |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows)
    std::printf("| %s | %.1f | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |\n", r.model.c_str(), r.mib, r.mib / r.save_s,
                r.mib / r.raw_write_s, r.raw_write_s / r.save_s, r.mib / r.load_s, r.mib / r.raw_read_s,
                r.raw_read_s / r.load_s);
  return 0;
}
