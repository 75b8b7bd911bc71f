// The cluster file is a Boost.Program_options config file with one [cluster] section; the command
// line may override any of its keys (--cluster.inter-node-gb-s 25), as `megasft train` does for
// [model].
#include "megasft/plan/cluster_spec.h"

#include <boost/program_options.hpp>
#include <fstream>

#include "kernels/check.h"

namespace megasft::plan {
namespace po = boost::program_options;

void ClusterSpec::validate(const std::string& source) const {
  auto positive = [&](double v, const char* key) {
    MEGASFT_CHECK(v > 0, "cluster file '", source, "': cluster.", key, " must be positive, got ",
                  v);
  };
  auto fraction = [&](double v, const char* key) {
    MEGASFT_CHECK(v > 0 && v <= 1, "cluster file '", source, "': cluster.", key,
                  " must be in (0, 1], got ", v);
  };
  MEGASFT_CHECK(gpus_per_node >= 1, "cluster file '", source,
                "': cluster.gpus-per-node must be at least 1, got ", gpus_per_node);
  positive(memory_gib, "memory-gib");
  positive(dense_bf16_tflops, "dense-bf16-tflops");
  positive(hbm_tb_s, "hbm-tb-s");
  positive(nvlink_gb_s, "nvlink-gb-s");
  positive(inter_node_gb_s, "inter-node-gb-s");
  fraction(matmul_efficiency, "matmul-efficiency");
  fraction(nvlink_efficiency, "nvlink-efficiency");
  fraction(inter_node_efficiency, "inter-node-efficiency");
  fraction(hbm_efficiency, "hbm-efficiency");
  MEGASFT_CHECK(runtime_reserved_gib >= 0 && runtime_reserved_gib < memory_gib, "cluster file '",
                source, "': cluster.runtime-reserved-gib ", runtime_reserved_gib,
                " must be in [0, memory-gib ", memory_gib, ")");
}

ClusterSpec read_cluster_file(const std::string& path,
                              const std::map<std::string, std::string>& overrides) {
  ClusterSpec c;
  po::options_description keys("[cluster]");
  keys.add_options()("cluster.name", po::value(&c.name), "")(
      "cluster.gpus-per-node", po::value(&c.gpus_per_node), "")("cluster.memory-gib",
                                                                po::value(&c.memory_gib), "")(
      "cluster.dense-bf16-tflops", po::value(&c.dense_bf16_tflops), "")("cluster.hbm-tb-s",
                                                                        po::value(&c.hbm_tb_s), "")(
      "cluster.nvlink-gb-s", po::value(&c.nvlink_gb_s), "")("cluster.inter-node-gb-s",
                                                            po::value(&c.inter_node_gb_s), "")(
      "cluster.matmul-efficiency", po::value(&c.matmul_efficiency), "")(
      "cluster.nvlink-efficiency", po::value(&c.nvlink_efficiency), "")(
      "cluster.inter-node-efficiency", po::value(&c.inter_node_efficiency), "")(
      "cluster.hbm-efficiency", po::value(&c.hbm_efficiency), "")(
      "cluster.runtime-reserved-gib", po::value(&c.runtime_reserved_gib), "");
  po::variables_map vm;
  // Overrides first: Program_options keeps the first value stored for a key.
  std::vector<std::string> args;
  for (const auto& [key, value] : overrides) {
    args.push_back("--cluster." + key);
    args.push_back(value);
  }
  try {
    po::store(po::command_line_parser(args).options(keys).run(), vm);
  } catch (const po::error& e) {
    MEGASFT_FAIL("cluster override: ", e.what());
  }
  std::ifstream file(path);
  MEGASFT_CHECK(file.good(), "cannot open cluster file '", path, "'");
  try {
    po::store(po::parse_config_file(file, keys, /*allow_unregistered=*/false), vm);
  } catch (const po::error& e) {
    MEGASFT_FAIL("cluster file '", path, "': ", e.what());
  }
  po::notify(vm);
  for (const char* required :
       {"cluster.gpus-per-node", "cluster.memory-gib", "cluster.dense-bf16-tflops",
        "cluster.hbm-tb-s", "cluster.nvlink-gb-s", "cluster.inter-node-gb-s"})
    MEGASFT_CHECK(vm.count(required), "cluster file '", path, "': key ", required, " is missing");
  if (c.name.empty()) c.name = path;
  c.validate(path);
  return c;
}

}  // namespace megasft::plan
