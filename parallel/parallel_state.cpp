// Rendezvous and group construction. Each group gets its own Gloo context under a store prefix;
// only its members construct it, and all ranks create groups in the same order.
#include "parallel/parallel_state.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <sstream>
#include <vector>

#include "kernels/check.h"

namespace megasft::parallel {
namespace {

int read_int_env(const char* name, int fallback, bool required) {
  const char* raw = std::getenv(name);
  if (!raw || !*raw) {
    MEGASFT_CHECK(!required, "environment variable ", name,
                  " is not set (launch with megasft-run or torchrun, which set it)");
    return fallback;
  }
  char* end = nullptr;
  long value = std::strtol(raw, &end, 10);
  MEGASFT_CHECK(end && *end == '\0' && value >= 0 && value <= 1 << 30, "environment variable ", name,
                "='", raw, "' is not a non-negative integer");
  return static_cast<int>(value);
}

std::string group_name(const char* kind, const std::vector<int>& ranks) {
  std::ostringstream out;
  out << kind;
  for (int r : ranks) out << "_" << r;
  return out.str();
}

}  // namespace

DistributedEnv DistributedEnv::from_environment() {
  DistributedEnv env;
  if (!std::getenv("RANK")) return env;
  env.rank = read_int_env("RANK", 0, true);
  env.world_size = read_int_env("WORLD_SIZE", 1, true);
  env.local_rank = read_int_env("LOCAL_RANK", env.rank, false);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) env.master_addr = addr;
  env.master_port = read_int_env("MASTER_PORT", 29500, env.world_size > 1);
  MEGASFT_CHECK(env.world_size >= 1, "WORLD_SIZE=", env.world_size, " must be at least 1");
  MEGASFT_CHECK(env.rank < env.world_size, "RANK=", env.rank, " is not below WORLD_SIZE=",
                env.world_size);
  MEGASFT_CHECK(env.master_port > 0 && env.master_port < 65536, "MASTER_PORT=", env.master_port,
                " is not a TCP port");
  return env;
}

ParallelLayout ParallelLayout::for_world(int world_size, int tp, int pp) {
  MEGASFT_CHECK(tp >= 1, "--tp ", tp, " must be at least 1");
  MEGASFT_CHECK(pp >= 1, "--pp ", pp, " must be at least 1");
  MEGASFT_CHECK(world_size % (tp * pp) == 0, "world size ", world_size,
                " is not divisible by tp*pp = ", tp, "*", pp);
  return ParallelLayout{tp, pp, world_size / (tp * pp)};
}

std::string ParallelLayout::to_string() const {
  std::ostringstream out;
  out << "tp=" << tp << " pp=" << pp << " dp=" << dp;
  return out.str();
}

std::shared_ptr<ParallelState> ParallelState::single_process() {
  auto state = std::make_shared<ParallelState>();
  state->world_ = make_single_rank_communicator("world", 0);
  state->tensor_ = make_single_rank_communicator("tp", 0);
  state->data_ = make_single_rank_communicator("dp", 0);
  state->pipeline_ = make_single_rank_communicator("pp", 0);
  state->embedding_ = make_single_rank_communicator("embedding", 0);
  return state;
}

std::shared_ptr<ParallelState> ParallelState::initialize(const DistributedEnv& env, int tp, int pp,
                                                         std::chrono::milliseconds timeout) {
  auto layout = ParallelLayout::for_world(env.world_size, tp, pp);
  if (env.world_size == 1) {
    auto state = single_process();
    state->layout_ = layout;
    return state;
  }

  auto state = std::make_shared<ParallelState>();
  state->layout_ = layout;
  state->global_rank_ = env.rank;
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(env.master_port);
  options.isServer = env.rank == 0;
  options.numWorkers = static_cast<std::size_t>(env.world_size);
  options.waitWorkers = true;
  options.timeout = timeout;
  try {
    state->store_ = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& e) {
    std::string what = e.what();
    MEGASFT_FAIL("rank ", env.rank, ": rendezvous at ", env.master_addr, ":", env.master_port,
                 " failed (", env.world_size, " ranks expected, timeout ", timeout.count() / 1000.0,
                 " s): ", what.substr(0, what.find('\n')));
  }

  const int tp_rank = env.rank % tp;
  const int dp_rank = (env.rank / tp) % layout.dp;
  const int pp_rank = env.rank / (tp * layout.dp);
  auto rank_of = [&](int t, int d, int p) { return t + tp * (d + layout.dp * p); };

  std::vector<int> world_ranks(env.world_size);
  for (int r = 0; r < env.world_size; ++r) world_ranks[r] = r;
  std::vector<int> tp_ranks, dp_ranks, pp_ranks;
  for (int t = 0; t < tp; ++t) tp_ranks.push_back(rank_of(t, dp_rank, pp_rank));
  for (int d = 0; d < layout.dp; ++d) dp_ranks.push_back(rank_of(tp_rank, d, pp_rank));
  for (int p = 0; p < pp; ++p) pp_ranks.push_back(rank_of(tp_rank, dp_rank, p));

  auto& store = state->store_;
  state->world_ = make_gloo_communicator("world", store, env.rank, world_ranks, timeout);
  state->tensor_ = make_gloo_communicator(group_name("tp", tp_ranks), store, tp_rank, tp_ranks, timeout);
  state->data_ = make_gloo_communicator(group_name("dp", dp_ranks), store, dp_rank, dp_ranks, timeout);
  state->pipeline_ = make_gloo_communicator(group_name("pp", pp_ranks), store, pp_rank, pp_ranks, timeout);
  if (pp > 1 && (pp_rank == 0 || pp_rank == pp - 1)) {
    std::vector<int> ends = {pp_ranks.front(), pp_ranks.back()};
    state->embedding_ = make_gloo_communicator(group_name("embedding", ends), store, pp_rank == 0 ? 0 : 1,
                                               ends, timeout);
  } else {
    state->embedding_ = make_single_rank_communicator("embedding", env.rank);
  }
  return state;
}

}  // namespace megasft::parallel
