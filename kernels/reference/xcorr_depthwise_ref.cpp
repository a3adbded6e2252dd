// CPU reference of kernel 4: depthwise cross-correlation (conv2d with groups = channels, no flip), zero padding.
#include "detail/validate.h"
#include "reference/oceanplus_kernels_ref.h"

using namespace oceanplus::kernels::detail;

extern "C" int oceanplus_xcorr_depthwise_ref(const float* search, const float* kernel,
                                             const oceanplus_xcorr_params* p, float* out) {
  if (!valid_xcorr(search, kernel, p, out)) return OCEANPLUS_INVALID_ARGUMENT;
  const int out_h = oceanplus_xcorr_output_h(p), out_w = oceanplus_xcorr_output_w(p);
  const int64_t search_plane = static_cast<int64_t>(p->search_h) * p->search_w;
  const int64_t kernel_plane = static_cast<int64_t>(p->kernel_h) * p->kernel_w;
  const int64_t out_plane = static_cast<int64_t>(out_h) * out_w;
  for (int b = 0; b < p->batch; ++b) {
    for (int c = 0; c < p->channels; ++c) {
      const float* s = search + (static_cast<int64_t>(b) * p->channels + c) * search_plane;
      const float* k = kernel + (static_cast<int64_t>(p->kernel_batch == 1 ? 0 : b) * p->channels + c) * kernel_plane;
      float* o = out + (static_cast<int64_t>(b) * p->channels + c) * out_plane;
      for (int oy = 0; oy < out_h; ++oy) {
        for (int ox = 0; ox < out_w; ++ox) {
          float sum = 0.f;
          for (int ky = 0; ky < p->kernel_h; ++ky) {
            const int sy = oy + ky - p->padding;
            if (sy < 0 || sy >= p->search_h) continue;
            for (int kx = 0; kx < p->kernel_w; ++kx) {
              const int sx = ox + kx - p->padding;
              if (sx < 0 || sx >= p->search_w) continue;
              sum += s[static_cast<int64_t>(sy) * p->search_w + sx] * k[ky * p->kernel_w + kx];
            }
          }
          o[static_cast<int64_t>(oy) * out_w + ox] = sum;
        }
      }
    }
  }
  return OCEANPLUS_OK;
}
