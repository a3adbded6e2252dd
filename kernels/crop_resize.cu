// Kernel 1: sub-window crop + bilinear resize straight from the frame, one thread per output pixel (3 channels).
// The arithmetic is kernel_math.h's, shared with oceanplus_crop_resize_ref, so the two agree exactly.
#include "detail/cuda_launch.h"
#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "oceanplus_kernels.h"

namespace oceanplus::kernels {
namespace {

using namespace detail;

__global__ void crop_resize_kernel(oceanplus_image frame, int64_t xmin, int64_t ymin, int window_side,
                                   int output_side, double scale, Bgr pad, float* out_chw) {
  const int dx = blockIdx.x * blockDim.x + threadIdx.x;
  const int dy = blockIdx.y * blockDim.y + threadIdx.y;
  if (dx >= output_side || dy >= output_side) return;
  const LinearTap tx = linear_tap(dx, scale, window_side, true);
  const LinearTap ty = linear_tap(dy, scale, window_side, false);
  const Bgr p00 = window_pixel(frame, xmin, ymin, tx.first, ty.first, pad);
  const Bgr p01 = window_pixel(frame, xmin, ymin, tx.second, ty.first, pad);
  const Bgr p10 = window_pixel(frame, xmin, ymin, tx.first, ty.second, pad);
  const Bgr p11 = window_pixel(frame, xmin, ymin, tx.second, ty.second, pad);
  const int64_t plane = static_cast<int64_t>(output_side) * output_side;
  const int64_t at = static_cast<int64_t>(dy) * output_side + dx;
#pragma unroll
  for (int ch = 0; ch < 3; ++ch) {
    const int h0 = bgr_channel(p00, ch) * tx.weight_first + bgr_channel(p01, ch) * tx.weight_second;
    const int h1 = bgr_channel(p10, ch) * tx.weight_first + bgr_channel(p11, ch) * tx.weight_second;
    out_chw[ch * plane + at] = linear_vertical(h0, h1, ty.weight_first, ty.weight_second);
  }
}

}  // namespace
}  // namespace oceanplus::kernels

extern "C" cudaError_t oceanplus_crop_resize_cuda(const oceanplus_image* frame, const oceanplus_crop_params* params,
                                                  float* out_chw, cudaStream_t stream) {
  using namespace oceanplus::kernels::detail;
  if (!valid_image(frame) || !valid_crop(params) || !out_chw) return cudaErrorInvalidValue;
  const int64_t side = static_cast<int64_t>(params->window_side);
  const int64_t xmin = window_corner(params->center_x, params->window_side, params->corner_rounding);
  const int64_t ymin = window_corner(params->center_y, params->window_side, params->corner_rounding);
  const int out = params->output_side;
  const Bgr pad{pad_channel(params->pad_bgr[0]), pad_channel(params->pad_bgr[1]), pad_channel(params->pad_bgr[2])};
  const dim3 threads(32, 8);
  const dim3 blocks(blocks_for(out, threads.x), blocks_for(out, threads.y));
  if (blocks.y > kMaxGridY) return cudaErrorInvalidValue;
  oceanplus::kernels::crop_resize_kernel<<<blocks, threads, 0, stream>>>(
      *frame, xmin, ymin, static_cast<int>(side), out, resize_scale(side, out), pad, out_chw);
  return launch_status();
}
