// CPU reference of kernel 2: paste_back (cv::resize INTER_CUBIC of the probability to the crop side) over the
// visible ROI only, thresholded to a box-local GRAY8 mask.
#include <vector>

#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "reference/oceanplus_kernels_ref.h"

using namespace oceanplus::kernels::detail;

extern "C" int oceanplus_paste_mask_ref(const float* prob, int prob_side, const oceanplus_paste_params* params,
                                        uint8_t* out_mask, int out_pitch, int64_t out_capacity, oceanplus_roi* roi) {
  if (!valid_paste(prob, prob_side, params) || !roi) return OCEANPLUS_INVALID_ARGUMENT;
  oceanplus_roi where;
  if (!oceanplus_paste_roi(params, &where)) {
    *roi = where;
    return OCEANPLUS_OK;
  }
  if (!out_mask || out_pitch < where.width) return OCEANPLUS_INVALID_ARGUMENT;
  if (!valid_paste_output(where, out_mask, out_pitch, out_capacity)) return OCEANPLUS_BUFFER_TOO_SMALL;
  *roi = where;

  const double scale = resize_scale(prob_side, params->window_side);
  const int64_t simd_end = (params->window_side / kCubicSimdFloats) * kCubicSimdFloats;
  // Window coordinates of the ROI's first column and row.
  const int wx0 = static_cast<int>(where.x - params->window_x), wy0 = static_cast<int>(where.y - params->window_y);
  std::vector<CubicTap> columns(where.width);
  for (int x = 0; x < where.width; ++x) columns[x] = cubic_tap(wx0 + x, scale, prob_side);
  for (int y = 0; y < where.height; ++y) {
    const CubicTap ty = cubic_tap(wy0 + y, scale, prob_side);
    const float* source_rows[4];
    for (int k = 0; k < 4; ++k) source_rows[k] = prob + static_cast<int64_t>(ty.index[k]) * prob_side;
    uint8_t* line = out_mask + static_cast<int64_t>(y) * out_pitch;
    for (int x = 0; x < where.width; ++x) {
      float h[4];
      for (int k = 0; k < 4; ++k) h[k] = cubic_row(source_rows[k], columns[x]);
      const float value = cubic_vertical(h, ty.weight, wx0 + x < simd_end);
      line[x] = value > params->threshold ? 255 : 0;
    }
  }
  return OCEANPLUS_OK;
}
