// LauncherStore: the key-value store through which the launchers of all nodes meet, c10d's
// TCPStore served by node 0's launcher. LibTorch lives only in a plugin loaded on first use, so a
// one-node launch never pays for it (loading it takes ~0.5 s and ~160 MB).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace megasft::launch {

// Bound on one store operation: a node 0 that vanished without closing its socket must turn into
// an error, not a monitor loop blocked forever.
inline constexpr std::chrono::seconds kStoreOpTimeout(30);
// The plugin, looked for in <dir of the executable>/../lib/, then beside the executable.
inline constexpr const char* kStorePluginName = "libmegasft_launch_store.so";

class LauncherStore {
 public:
  using Clock = std::chrono::steady_clock;
  using Idle = std::function<void(std::chrono::milliseconds)>;

  // Node 0: serves the store on port (every interface) and connects to it through host, which
  // checks that host really names this machine. Throws megasft::Error (e.g. port in use).
  static std::unique_ptr<LauncherStore> serve(const std::string& host, int port);
  // The other nodes: connects, retrying until deadline since node 0 may start later; idle(d)
  // is called between tries (it waits for signals and may throw). Returns nullptr when the
  // deadline passes, with the last reason in why.
  static std::unique_ptr<LauncherStore> connect(const std::string& host, int port,
                                                Clock::time_point deadline, const Idle& idle,
                                                std::string& why);
  // Loads the plugin now (idempotent; serve and connect do it too): callers that time the
  // rendezvous start their clock after it, since loading LibTorch can take seconds on a busy node.
  static void load();
  virtual ~LauncherStore() = default;

  // Every operation throws megasft::Error naming the endpoint when the store is unreachable.
  virtual void set(const std::string& key, const std::string& value) = 0;
  virtual std::optional<std::string> get_if_set(const std::string& key) = 0;
  virtual bool all_set(const std::vector<std::string>& keys) = 0;
  // Sets key unless it is set already; returns the value that stays (the first writer's).
  virtual std::string set_first(const std::string& key, const std::string& value) = 0;
  virtual long long add(const std::string& key, long long delta) = 0;
  virtual const std::string& endpoint() const = 0;  // "host:port"
};

// The plugin's one entry point: a TCPStore server (is_server) or client at host:port, or a
// megasft::Error naming why not.
using MakeLauncherStore = LauncherStore* (*)(const std::string& host, int port, bool is_server);
inline constexpr const char* kStorePluginEntry = "megasft_make_launcher_store";

}  // namespace megasft::launch
