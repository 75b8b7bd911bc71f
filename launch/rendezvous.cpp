#include "launch/rendezvous.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "kernels/check.h"

namespace megasft::launch {

int pick_free_port(const std::string& host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  MEGASFT_CHECK(inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1, "cannot pick a free port: '",
                host, "' is not an IPv4 address");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  MEGASFT_CHECK(fd >= 0, "cannot pick a free port: socket() failed: ", std::strerror(errno));
  socklen_t len = sizeof(addr);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  int saved_errno = errno;
  close(fd);
  MEGASFT_CHECK(ok, "cannot pick a free port on ", host, ": ", std::strerror(saved_errno));
  return ntohs(addr.sin_port);
}

std::string generate_run_id() {
  std::random_device device;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string id;
  for (int i = 0; i < 16; ++i) id += "0123456789abcdef"[digit(device)];
  return id;
}

Rendezvous resolve_rendezvous(const LaunchConfig& config) {
  MEGASFT_CHECK(!config.uses_store(), "a job of ", config.nnodes,
                " node(s) with a rendezvous endpoint is resolved through the launchers' store");
  Rendezvous rdzv;
  if (config.standalone) {
    rdzv.master_addr = "127.0.0.1";
    rdzv.master_port = pick_free_port(rdzv.master_addr);
  } else {
    rdzv.master_addr = config.master_addr;
    rdzv.master_port = config.master_port;
  }
  rdzv.run_id = config.rdzv_id.empty() ? generate_run_id() : config.rdzv_id;
  rdzv.group_rank = 0;
  rdzv.group_world_size = 1;
  rdzv.local_world_size = config.nproc_per_node;
  rdzv.world_size = config.nproc_per_node;
  rdzv.rank_offset = 0;
  rdzv.max_restarts = config.max_restarts;
  return rdzv;
}

}  // namespace megasft::launch
