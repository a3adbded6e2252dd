// Kernel 5: score activation, penalty, window and argmax in one block, so that only the peak leaves the device.
// The per-cell arithmetic is kernel_math.h's (cell_score), shared with oceanplus_score_peak_ref.
#include <math.h>

#include "detail/block_reduce.cuh"
#include "detail/cuda_launch.h"
#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "oceanplus_kernels.h"

namespace oceanplus::kernels {
namespace {

using namespace detail;

constexpr int kThreads = 1024;

struct Best {
  float pscore;
  int index;  // -1: nothing seen yet
};

// The better of two candidates: the larger pscore, the lower index on a tie (numpy's argmax).
__device__ Best better(Best a, Best b) {
  if (b.index < 0) return a;
  if (a.index < 0) return b;
  if (b.pscore > a.pscore || (b.pscore == a.pscore && b.index < a.index)) return b;
  return a;
}

__device__ Best shuffle_down(Best mine, int offset) {
  return {__shfl_down_sync(0xffffffffu, mine.pscore, offset), __shfl_down_sync(0xffffffffu, mine.index, offset)};
}

__global__ void score_peak_kernel(const float* __restrict__ logits, const float* __restrict__ ltrb,
                                  const float* __restrict__ window, oceanplus_peak_params p,
                                  oceanplus_peak* __restrict__ peak) {
  const int size = p.score_size;
  const int cells = size * size;
  Best mine{-INFINITY, -1};
  for (int i = threadIdx.x; i < cells; i += blockDim.x) {
    const CellScore cell = cell_score(logits, ltrb, window, p, i / size, i % size);
    if (cell.pscore > mine.pscore) mine = {cell.pscore, i};  // NaN never wins
  }
  const Best total = block_reduce<kThreads>(mine, better);
  if (threadIdx.x != 0) return;
  oceanplus_peak result{};
  if (total.index < 0 || !isfinite(total.pscore)) {
    result.status = OCEANPLUS_NO_FINITE_SCORE;
    result.index = result.row = result.col = -1;
    *peak = result;
    return;
  }
  const int r = total.index / size, c = total.index % size;
  const CellScore cell = cell_score(logits, ltrb, window, p, r, c);
  const int64_t plane = static_cast<int64_t>(cells);
  result.status = OCEANPLUS_OK;
  result.index = total.index;
  result.row = r;
  result.col = c;
  result.score = cell.score;
  result.pscore = cell.pscore;
  result.penalty = cell.penalty;
  const float gx = grid_coordinate(c, size, p.stride, p.instance_size);
  const float gy = grid_coordinate(r, size, p.stride, p.instance_size);
  for (int k = 0; k < 4; ++k) result.ltrb[k] = ltrb[k * plane + total.index];
  result.box[0] = fsub(gx, result.ltrb[0]);
  result.box[1] = fsub(gy, result.ltrb[1]);
  result.box[2] = fadd(gx, result.ltrb[2]);
  result.box[3] = fadd(gy, result.ltrb[3]);
  *peak = result;
}

}  // namespace
}  // namespace oceanplus::kernels

extern "C" cudaError_t oceanplus_score_peak_cuda(const float* logits, const float* ltrb, const float* window,
                                                 const oceanplus_peak_params* params, oceanplus_peak* peak_device,
                                                 cudaStream_t stream) {
  using namespace oceanplus::kernels;
  if (!detail::valid_peak(logits, ltrb, window, params, peak_device)) return cudaErrorInvalidValue;
  score_peak_kernel<<<1, kThreads, 0, stream>>>(logits, ltrb, window, *params, peak_device);
  return detail::launch_status();
}
