// MEGASFT_CUDA_CHECK: checks a CUDA runtime call and throws megasft::Error naming the call, the
// CUDA error and the file and line, so a failed launch or copy is reported where it happened.
#pragma once

#include <cuda_runtime.h>

#include "kernels/check.h"

#define MEGASFT_CUDA_CHECK(call)                                                                \
  do {                                                                                          \
    const cudaError_t megasft_cuda_status_ = (call);                                            \
    if (megasft_cuda_status_ != cudaSuccess)                                                    \
      ::megasft::detail::throw_error(MEGASFT_SOURCE_FILE, __LINE__, #call, "CUDA error ",       \
                                     cudaGetErrorName(megasft_cuda_status_), " (",              \
                                     cudaGetErrorString(megasft_cuda_status_), ") in ", #call); \
  } while (0)
