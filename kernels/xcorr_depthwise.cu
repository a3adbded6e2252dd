// Kernel 4: depthwise cross-correlation, one block per (batch, channel) plane. The zero-padded search plane and the
// kernel are staged in shared memory when they fit (the tracker's 31² search and 7² kernel do); larger planes read
// global memory directly.
#include "detail/cuda_launch.h"
#include "detail/validate.h"
#include "oceanplus_kernels.h"

namespace oceanplus::kernels {
namespace {

constexpr int kThreads = 256;
constexpr size_t kSharedLimit = 48 * 1024;

template <bool kShared>
__global__ void xcorr_kernel(const float* __restrict__ search, const float* __restrict__ kernel,
                             oceanplus_xcorr_params p, int out_h, int out_w, float* __restrict__ out) {
  extern __shared__ float staged[];
  const int c = blockIdx.x, b = blockIdx.y;
  const int64_t search_plane = static_cast<int64_t>(p.search_h) * p.search_w;
  const int kernel_plane = p.kernel_h * p.kernel_w;
  const float* s = search + (static_cast<int64_t>(b) * p.channels + c) * search_plane;
  const float* k = kernel + (static_cast<int64_t>(p.kernel_batch == 1 ? 0 : b) * p.channels + c) * kernel_plane;
  float* o = out + (static_cast<int64_t>(b) * p.channels + c) * static_cast<int64_t>(out_h) * out_w;
  const int padded_h = p.search_h + 2 * p.padding, padded_w = p.search_w + 2 * p.padding;
  if (kShared) {
    float* padded = staged;
    float* weights = staged + padded_h * padded_w;
    for (int t = threadIdx.x; t < padded_h * padded_w; t += blockDim.x) {
      const int y = t / padded_w - p.padding, x = t % padded_w - p.padding;
      padded[t] = (y >= 0 && y < p.search_h && x >= 0 && x < p.search_w) ? s[y * p.search_w + x] : 0.f;
    }
    for (int t = threadIdx.x; t < kernel_plane; t += blockDim.x) weights[t] = k[t];
    __syncthreads();
    for (int t = threadIdx.x; t < out_h * out_w; t += blockDim.x) {
      const int oy = t / out_w, ox = t % out_w;
      float sum = 0.f;
      for (int ky = 0; ky < p.kernel_h; ++ky) {
        const float* row = padded + (oy + ky) * padded_w + ox;
        for (int kx = 0; kx < p.kernel_w; ++kx) sum += row[kx] * weights[ky * p.kernel_w + kx];
      }
      o[t] = sum;
    }
  } else {
    for (int64_t t = threadIdx.x; t < static_cast<int64_t>(out_h) * out_w; t += blockDim.x) {
      const int oy = static_cast<int>(t / out_w), ox = static_cast<int>(t % out_w);
      float sum = 0.f;
      for (int ky = 0; ky < p.kernel_h; ++ky) {
        const int sy = oy + ky - p.padding;
        if (sy < 0 || sy >= p.search_h) continue;
        for (int kx = 0; kx < p.kernel_w; ++kx) {
          const int sx = ox + kx - p.padding;
          if (sx < 0 || sx >= p.search_w) continue;
          sum += __ldg(s + static_cast<int64_t>(sy) * p.search_w + sx) * __ldg(k + ky * p.kernel_w + kx);
        }
      }
      o[t] = sum;
    }
  }
}

}  // namespace
}  // namespace oceanplus::kernels

extern "C" cudaError_t oceanplus_xcorr_depthwise_cuda(const float* search, const float* kernel,
                                                      const oceanplus_xcorr_params* params, float* out,
                                                      cudaStream_t stream) {
  using namespace oceanplus::kernels;
  if (!detail::valid_xcorr(search, kernel, params, out)) return cudaErrorInvalidValue;
  if (params->batch > detail::kMaxGridY) return cudaErrorInvalidValue;
  const int out_h = oceanplus_xcorr_output_h(params), out_w = oceanplus_xcorr_output_w(params);
  const size_t shared = sizeof(float) * (static_cast<size_t>(params->search_h + 2 * params->padding) *
                                             (params->search_w + 2 * params->padding) +
                                         static_cast<size_t>(params->kernel_h) * params->kernel_w);
  const dim3 blocks(params->channels, params->batch);
  if (shared <= kSharedLimit) {
    xcorr_kernel<true><<<blocks, kThreads, shared, stream>>>(search, kernel, *params, out_h, out_w, out);
  } else {
    xcorr_kernel<false><<<blocks, kThreads, 0, stream>>>(search, kernel, *params, out_h, out_w, out);
  }
  return detail::launch_status();
}
