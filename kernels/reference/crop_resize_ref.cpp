// CPU reference of kernel 1: crop_subwindow + cv::resize(INTER_LINEAR) on any pixel format, to float CHW BGR.
#include <vector>

#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "reference/oceanplus_kernels_ref.h"

using namespace oceanplus::kernels::detail;

extern "C" int oceanplus_crop_resize_ref(const oceanplus_image* frame, const oceanplus_crop_params* params,
                                         float* out_chw) {
  if (!valid_image(frame) || !valid_crop(params) || !out_chw) return OCEANPLUS_INVALID_ARGUMENT;
  const int64_t side = static_cast<int64_t>(params->window_side);
  const int64_t xmin = window_corner(params->center_x, params->window_side, params->corner_rounding);
  const int64_t ymin = window_corner(params->center_y, params->window_side, params->corner_rounding);
  const int out = params->output_side;
  const double scale = resize_scale(side, out);
  const Bgr pad{pad_channel(params->pad_bgr[0]), pad_channel(params->pad_bgr[1]), pad_channel(params->pad_bgr[2])};

  // The taps depend on one coordinate only: computed once per column and once per row.
  std::vector<LinearTap> columns(out), rows(out);
  for (int d = 0; d < out; ++d) {
    columns[d] = linear_tap(d, scale, static_cast<int>(side), true);
    rows[d] = linear_tap(d, scale, static_cast<int>(side), false);
  }
  const int64_t plane = static_cast<int64_t>(out) * out;
  for (int dy = 0; dy < out; ++dy) {
    const LinearTap& ty = rows[dy];
    for (int dx = 0; dx < out; ++dx) {
      const LinearTap& tx = columns[dx];
      const Bgr p00 = window_pixel(*frame, xmin, ymin, tx.first, ty.first, pad);
      const Bgr p01 = window_pixel(*frame, xmin, ymin, tx.second, ty.first, pad);
      const Bgr p10 = window_pixel(*frame, xmin, ymin, tx.first, ty.second, pad);
      const Bgr p11 = window_pixel(*frame, xmin, ymin, tx.second, ty.second, pad);
      for (int ch = 0; ch < 3; ++ch) {
        const int h0 = bgr_channel(p00, ch) * tx.weight_first + bgr_channel(p01, ch) * tx.weight_second;
        const int h1 = bgr_channel(p10, ch) * tx.weight_first + bgr_channel(p11, ch) * tx.weight_second;
        out_chw[ch * plane + static_cast<int64_t>(dy) * out + dx] =
            linear_vertical(h0, h1, ty.weight_first, ty.weight_second);
      }
    }
  }
  return OCEANPLUS_OK;
}
