#include "launch/cluster_env.h"

#include <charconv>
#include <sstream>

#include "kernels/check.h"

extern char** environ;

namespace megasft::launch {
namespace {

// A host list could name a whole cluster; this bounds a typo like "n[0-99999999]".
constexpr size_t kMaxExpandedHosts = 1 << 20;

const std::string* find(const EnvMap& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

long long read_integer(const std::string& name, const std::string& text, long long min) {
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  MEGASFT_CHECK(
      !text.empty() && ec == std::errc() && ptr == text.data() + text.size() && value >= min,
      "invalid ", name, "='", text, "' in the environment: expected an integer >= ", min);
  return value;
}

bool all_digits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Splits at commas that are not inside brackets.
std::vector<std::string> split_top_level(const std::string& list, const std::string& whole) {
  std::vector<std::string> items;
  int depth = 0;
  std::string item;
  for (char c : list) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    MEGASFT_CHECK(depth == 0 || depth == 1, "malformed Slurm host list '", whole,
                  "': unbalanced or nested brackets");
    if (c == ',' && depth == 0) {
      items.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  MEGASFT_CHECK(depth == 0, "malformed Slurm host list '", whole, "': a '[' is not closed");
  items.push_back(item);
  return items;
}

void expand_item(const std::string& item, const std::string& whole, std::vector<std::string>& out) {
  const size_t open = item.find('[');
  if (open == std::string::npos) {
    MEGASFT_CHECK(!item.empty() && item.find(']') == std::string::npos,
                  "malformed Slurm host list '", whole, "': empty or unbalanced entry '", item,
                  "'");
    out.push_back(item);
    return;
  }
  const size_t close = item.find(']', open);
  const std::string prefix = item.substr(0, open);
  const std::string body = item.substr(open + 1, close - open - 1);
  const std::string rest = item.substr(close + 1);
  std::vector<std::string> tails;
  if (rest.empty()) {
    tails.push_back("");
  } else {
    expand_item(rest, whole, tails);
  }
  std::stringstream ranges(body);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    const size_t dash = range.find('-');
    const std::string lo_text = range.substr(0, dash);
    const std::string hi_text = dash == std::string::npos ? lo_text : range.substr(dash + 1);
    MEGASFT_CHECK(all_digits(lo_text) && all_digits(hi_text), "malformed Slurm host list '", whole,
                  "': '", range, "' is not a number or a range like 01-04");
    const long long lo = std::stoll(lo_text), hi = std::stoll(hi_text);
    MEGASFT_CHECK(lo <= hi, "malformed Slurm host list '", whole, "': range '", range,
                  "' goes down");
    MEGASFT_CHECK(static_cast<size_t>(hi - lo) < kMaxExpandedHosts, "Slurm host list '", whole,
                  "' names more than ", kMaxExpandedHosts, " hosts");
    for (long long n = lo; n <= hi; ++n) {
      std::string number = std::to_string(n);
      if (number.size() < lo_text.size()) number.insert(0, lo_text.size() - number.size(), '0');
      for (const std::string& tail : tails) out.push_back(prefix + number + tail);
      MEGASFT_CHECK(out.size() <= kMaxExpandedHosts, "Slurm host list '", whole,
                    "' names more than ", kMaxExpandedHosts, " hosts");
    }
  }
  MEGASFT_CHECK(!body.empty() && body.back() != ',', "malformed Slurm host list '", whole,
                "': empty range in '[", body, "]'");
}

// The step's view when srun set it (a step may use part of the allocation), else the job's.
bool read_slurm(const EnvMap& env, ClusterDefaults& d) {
  const char* list_name = "SLURM_STEP_NODELIST";
  const char* count_name = "SLURM_STEP_NUM_NODES";
  if (!find(env, list_name) || !find(env, count_name)) {
    list_name = find(env, "SLURM_JOB_NODELIST") ? "SLURM_JOB_NODELIST" : "SLURM_NODELIST";
    count_name = find(env, "SLURM_NNODES") ? "SLURM_NNODES" : "SLURM_JOB_NUM_NODES";
  }
  const std::string* list = find(env, list_name);
  const std::string* count = find(env, count_name);
  const std::string* node_id = find(env, "SLURM_NODEID");
  if (!list || !count || !node_id) return false;
  d.nnodes = static_cast<int>(read_integer(count_name, *count, 1));
  d.node_rank = static_cast<int>(read_integer("SLURM_NODEID", *node_id, 0));
  d.master_addr = expand_slurm_nodelist(*list).front();
  if (const std::string* job = find(env, "SLURM_JOB_ID")) {
    d.master_port =
        kSlurmBasePort + static_cast<int>(read_integer("SLURM_JOB_ID", *job, 0) % kSlurmPortSpread);
    d.run_id = *job;
  }
  return true;
}

bool read_openmpi(const EnvMap& env, ClusterDefaults& d) {
  const std::string* size = find(env, "OMPI_COMM_WORLD_SIZE");
  const std::string* rank = find(env, "OMPI_COMM_WORLD_RANK");
  if (!size || !rank) return false;
  if (const std::string* local = find(env, "OMPI_COMM_WORLD_LOCAL_SIZE")) {
    long long per_node = read_integer("OMPI_COMM_WORLD_LOCAL_SIZE", *local, 1);
    MEGASFT_CHECK(per_node == 1, "OpenMPI started ", per_node,
                  " launchers on this node (OMPI_COMM_WORLD_LOCAL_SIZE=", *local,
                  "); megasft-run expects one per node (mpirun --map-by ppr:1:node), each "
                  "starting --nproc-per-node workers");
  }
  d.nnodes = static_cast<int>(read_integer("OMPI_COMM_WORLD_SIZE", *size, 1));
  d.node_rank = static_cast<int>(read_integer("OMPI_COMM_WORLD_RANK", *rank, 0));
  return true;
}

}  // namespace

EnvMap environment_map() {
  EnvMap env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

std::vector<std::string> expand_slurm_nodelist(const std::string& nodelist) {
  MEGASFT_CHECK(!nodelist.empty(), "empty Slurm host list");
  std::vector<std::string> hosts;
  for (const std::string& item : split_top_level(nodelist, nodelist)) {
    expand_item(item, nodelist, hosts);
  }
  return hosts;
}

ClusterDefaults detect_cluster(const EnvMap& env) {
  ClusterDefaults slurm, mpi;
  const bool in_slurm = read_slurm(env, slurm);
  const bool in_mpi = read_openmpi(env, mpi);
  if (!in_mpi) {
    if (in_slurm) slurm.source = "Slurm";
    return slurm;
  }
  if (in_slurm) {
    mpi.master_addr = slurm.master_addr;
    mpi.master_port = slurm.master_port;
    mpi.run_id = slurm.run_id;
  }
  mpi.source = in_slurm ? "OpenMPI+Slurm" : "OpenMPI";
  return mpi;
}

std::string ClusterDefaults::describe() const {
  if (source.empty()) return "";
  std::ostringstream line;
  line << "defaults from " << source << ":";
  if (nnodes) line << " nnodes=" << *nnodes;
  if (node_rank) line << " node_rank=" << *node_rank;
  if (master_addr) line << " master_addr=" << *master_addr;
  if (master_port) line << " master_port=" << *master_port;
  if (run_id) line << " rdzv_id=" << *run_id;
  return line.str();
}

}  // namespace megasft::launch
