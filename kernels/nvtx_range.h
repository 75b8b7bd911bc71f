// NvtxRange: an RAII NVTX range named after what it covers, for Nsight Systems timelines.
// Costs one branch when no tool is attached, and compiles to nothing without the nvtx3 headers.
#pragma once

#if defined(MEGASFT_HAVE_NVTX)
#include <nvtx3/nvToolsExt.h>
#endif

namespace megasft {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name) {
#if defined(MEGASFT_HAVE_NVTX)
    nvtxRangePushA(name);
#else
    (void)name;
#endif
  }
  ~NvtxRange() {
#if defined(MEGASFT_HAVE_NVTX)
    nvtxRangePop();
#endif
  }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace megasft
