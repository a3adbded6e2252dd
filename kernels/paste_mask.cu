// Kernel 2: bicubic paste-back over the visible ROI, fused with the threshold; one thread per ROI pixel.
// The arithmetic is kernel_math.h's, shared with oceanplus_paste_mask_ref.
#include "detail/cuda_launch.h"
#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "oceanplus_kernels.h"

namespace oceanplus::kernels {
namespace {

using namespace detail;

__global__ void paste_mask_kernel(const float* prob, int prob_side, int64_t window_side, int window_x0,
                                  int window_y0, int roi_width, int roi_height, double scale, float threshold,
                                  uint8_t* out_mask, int out_pitch) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= roi_width || y >= roi_height) return;
  const float value = paste_value(prob, prob_side, window_side, window_x0 + x, window_y0 + y, scale);
  out_mask[static_cast<int64_t>(y) * out_pitch + x] = value > threshold ? 255 : 0;
}

}  // namespace
}  // namespace oceanplus::kernels

extern "C" cudaError_t oceanplus_paste_mask_cuda(const float* prob, int prob_side, const oceanplus_paste_params* params,
                                                 uint8_t* out_mask, int out_pitch, int64_t out_capacity,
                                                 oceanplus_roi* roi, cudaStream_t stream) {
  using namespace oceanplus::kernels::detail;
  if (!valid_paste(prob, prob_side, params) || !roi) return cudaErrorInvalidValue;
  oceanplus_roi where;
  if (!oceanplus_paste_roi(params, &where)) {
    *roi = where;
    return cudaSuccess;
  }
  if (!valid_paste_output(where, out_mask, out_pitch, out_capacity)) return cudaErrorInvalidValue;
  *roi = where;
  const dim3 threads(32, 8);
  const dim3 blocks(blocks_for(where.width, threads.x), blocks_for(where.height, threads.y));
  if (blocks.y > kMaxGridY) return cudaErrorInvalidValue;
  oceanplus::kernels::paste_mask_kernel<<<blocks, threads, 0, stream>>>(
      prob, prob_side, params->window_side, static_cast<int>(where.x - params->window_x),
      static_cast<int>(where.y - params->window_y), where.width, where.height,
      resize_scale(prob_side, params->window_side), params->threshold, out_mask, out_pitch);
  return launch_status();
}
