// A block-wide reduction for the kernels that reduce one value per thread to one per block (ARN retrieval's softmax
// partials, the score peak's argmax): warp shuffles, then one partial per warp in shared memory, merged by thread 0.
// The merge order is fixed (lane i with lane i + offset, then warps in order), so results do not depend on timing.
// T needs a `shuffle_down(T, int offset)` overload (found by argument-dependent lookup) and Merge(T, T) -> T.
#pragma once

namespace oceanplus::kernels::detail {

// Call with every thread of a block of kThreads (a multiple of 32, at most 1024) threads. The result is valid in
// thread 0 only.
template <int kThreads, typename T, typename Merge>
__device__ T block_reduce(T mine, Merge merge) {
  static_assert(kThreads % 32 == 0 && kThreads <= 1024, "whole warps, at most 1024 threads");
  for (int offset = 16; offset > 0; offset >>= 1) mine = merge(mine, shuffle_down(mine, offset));
  __shared__ T per_warp[kThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) per_warp[warp] = mine;
  __syncthreads();
  T total = per_warp[0];
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) total = merge(total, per_warp[w]);
  }
  return total;
}

}  // namespace oceanplus::kernels::detail
