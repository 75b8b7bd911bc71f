// The plugin loader and the patient connect of LauncherStore; the TCPStore itself is in
// tcp_launcher_store.cpp, built as the plugin.
#include "launch/launcher_store.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kernels/check.h"

namespace megasft::launch {
namespace {

// How long one probe may take, and the pause between probes while node 0 is not up yet.
constexpr std::chrono::milliseconds kProbeTimeout(1000);
constexpr std::chrono::milliseconds kRetryPause(200);

// Loaded once and never unloaded: LibTorch does not support dlclose.
MakeLauncherStore plugin() {
  static MakeLauncherStore make = [] {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::vector<std::string> tried;
    for (const std::filesystem::path& dir : {exe.parent_path() / ".." / "lib", exe.parent_path()}) {
      const std::string path = (dir / kStorePluginName).lexically_normal().string();
      tried.push_back(path);
      if (!std::filesystem::exists(path)) continue;
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      MEGASFT_CHECK(handle != nullptr, "cannot load ", path, ": ", dlerror());
      void* entry = dlsym(handle, kStorePluginEntry);
      MEGASFT_CHECK(entry != nullptr, path, " has no ", kStorePluginEntry, ": ", dlerror());
      return reinterpret_cast<MakeLauncherStore>(entry);
    }
    std::string list;
    for (const std::string& path : tried) list += " " + path;
    MEGASFT_FAIL("several nodes need the launchers' store plugin ", kStorePluginName,
                 " (LibTorch's TCPStore), built with megasft-run; not found at:", list);
  }();
  return make;
}

// Whether something accepts TCP connections at host:port; on false, why not. TCPStore's own
// connect retries in silence but logs an error each time it gives up, so the waiting is done
// here and the store is only built once node 0 answers.
bool accepts_connections(const std::string& host, int port, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    why = std::string("cannot resolve '") + host + "': " + gai_strerror(rc);
    return false;
  }
  bool ok = false;
  why = "no address";
  for (addrinfo* a = found; a != nullptr && !ok; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = ETIMEDOUT;
      socklen_t len = sizeof(error);
      if (poll(&p, 1, static_cast<int>(kProbeTimeout.count())) == 1) {
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      }
      ok = error == 0;
      if (!ok) why = std::strerror(error);
    } else {
      why = std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  return ok;
}

}  // namespace

void LauncherStore::load() { plugin(); }

std::unique_ptr<LauncherStore> LauncherStore::serve(const std::string& host, int port) {
  return std::unique_ptr<LauncherStore>(plugin()(host, port, true));
}

std::unique_ptr<LauncherStore> LauncherStore::connect(const std::string& host, int port,
                                                      Clock::time_point deadline, const Idle& idle,
                                                      std::string& why) {
  MakeLauncherStore make = plugin();
  while (true) {
    if (accepts_connections(host, port, why)) {
      try {
        return std::unique_ptr<LauncherStore>(make(host, port, false));
      } catch (const Error& e) {
        why = e.what();  // it went away between the probe and the connect: retry
      }
    }
    if (Clock::now() >= deadline) return nullptr;
    idle(kRetryPause);
  }
}

}  // namespace megasft::launch
