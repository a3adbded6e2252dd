// Launch helpers shared by the .cu files (nvcc only).
#pragma once

#include <cuda_runtime_api.h>

#include <stdint.h>

namespace oceanplus::kernels::detail {

constexpr int kMaxGridY = 65535;

inline unsigned int blocks_for(int64_t items, int threads) {
  return static_cast<unsigned int>((items + threads - 1) / threads);
}

// The launch's own status, without picking up an unrelated error left by an earlier call on this thread.
inline cudaError_t launch_status() { return cudaGetLastError(); }

}  // namespace oceanplus::kernels::detail
