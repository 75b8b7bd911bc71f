// The launchers' store plugin (libmegasft_launch_store.so): LauncherStore over c10d's TCPStore.
// The only LibTorch code of megasft-run, loaded by launcher_store.cpp when several nodes meet.
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "kernels/check.h"
#include "launch/launcher_store.h"

namespace megasft::launch {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }
std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }
std::string text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

class TcpLauncherStore : public LauncherStore {
 public:
  TcpLauncherStore(const std::string& host, int port, bool is_server)
      : endpoint_(host + ":" + std::to_string(port)) {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = is_server;
    options.waitWorkers = false;  // the rendezvous waits for nodes itself, with a clear message
    options.timeout = kStoreOpTimeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(host, options);
    } catch (const std::exception& e) {
      if (!is_server) MEGASFT_FAIL("cannot connect to ", endpoint_, ": ", first_line(e.what()));
      MEGASFT_FAIL("node 0 cannot host the launchers' store at ", endpoint_, ": ",
                   first_line(e.what()),
                   " (is the port in use by another job? choose one with --rdzv-endpoint or "
                   "--master-port; does the host name this machine?)");
    }
  }

  // Member templates with deduced return types must be defined before their first use.
  template <typename F>
  auto guarded(const char* what, F&& f) {
    try {
      return f();
    } catch (const std::exception& e) {
      MEGASFT_FAIL("the launchers' store at ", endpoint_, " (hosted by node 0) failed to ", what,
                   ": ", first_line(e.what()));
    }
  }

  void set(const std::string& key, const std::string& value) override {
    guarded("set a key", [&] { store_->set(key, bytes(value)); });
  }

  std::optional<std::string> get_if_set(const std::string& key) override {
    return guarded("read a key", [&]() -> std::optional<std::string> {
      // get() of a missing key would block until the timeout; keys are never deleted, so a key
      // that check() saw is there for get().
      if (!store_->check({key})) return std::nullopt;
      return text(store_->get(key));
    });
  }

  bool all_set(const std::vector<std::string>& keys) override {
    return guarded("check keys", [&] { return store_->check(keys); });
  }

  std::string set_first(const std::string& key, const std::string& value) override {
    // compareSet with an empty expected value creates a missing key and leaves an existing one.
    return guarded("compare-and-set a key",
                   [&] { return text(store_->compareSet(key, {}, bytes(value))); });
  }

  long long add(const std::string& key, long long delta) override {
    return guarded("add to a key", [&] { return static_cast<long long>(store_->add(key, delta)); });
  }

  const std::string& endpoint() const override { return endpoint_; }

 private:
  std::string endpoint_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
};

}  // namespace
}  // namespace megasft::launch

// C linkage so launcher_store.cpp finds it by name with dlsym.
extern "C" megasft::launch::LauncherStore* megasft_make_launcher_store(const std::string& host,
                                                                       int port, bool is_server) {
  return new megasft::launch::TcpLauncherStore(host, port, is_server);
}
