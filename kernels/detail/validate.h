// Argument checks shared by the CUDA entry points and the CPU references (host code only): each returns true when
// the arguments describe a valid call, so that bad input gives an error code instead of a crash.
#pragma once

#include "oceanplus_kernels_common.h"

namespace oceanplus::kernels::detail {

constexpr double kMaxWindowSide = 65536;

inline int plane_count(int format) {
  switch (format) {
    case OCEANPLUS_PIXEL_BGR:
    case OCEANPLUS_PIXEL_RGB:
    case OCEANPLUS_PIXEL_RGBA:
    case OCEANPLUS_PIXEL_BGRX:
      return 1;
    case OCEANPLUS_PIXEL_NV12:
      return 2;
    case OCEANPLUS_PIXEL_I420:
      return 3;
    default:
      return 0;
  }
}

// Bytes a row of plane `plane` needs at least.
inline int64_t min_row_bytes(int format, int plane, int width) {
  const int64_t half = (static_cast<int64_t>(width) + 1) / 2;
  switch (format) {
    case OCEANPLUS_PIXEL_BGR:
    case OCEANPLUS_PIXEL_RGB:
      return 3 * static_cast<int64_t>(width);
    case OCEANPLUS_PIXEL_RGBA:
    case OCEANPLUS_PIXEL_BGRX:
      return 4 * static_cast<int64_t>(width);
    case OCEANPLUS_PIXEL_NV12:
      return plane == 0 ? width : 2 * half;
    default:
      return plane == 0 ? width : half;
  }
}

inline bool valid_image(const oceanplus_image* im) {
  if (!im || im->width < 1 || im->height < 1) return false;
  const int planes = plane_count(im->format);
  if (planes == 0) return false;
  for (int i = 0; i < planes; ++i) {
    if (!im->planes[i] || im->strides[i] < min_row_bytes(im->format, i, im->width)) return false;
  }
  return true;
}

inline bool valid_crop(const oceanplus_crop_params* p) {
  if (!p || !(p->window_side >= 1) || !(p->window_side <= kMaxWindowSide)) return false;
  if (p->output_side < 1 || p->output_side > kMaxWindowSide) return false;
  if (p->corner_rounding != OCEANPLUS_ROUND_HALF_EVEN && p->corner_rounding != OCEANPLUS_ROUND_HALF_UP) return false;
  // Centres far outside any frame would overflow the corner's integer conversion.
  const double limit = 1e15;
  return p->center_x > -limit && p->center_x < limit && p->center_y > -limit && p->center_y < limit;
}

inline bool valid_paste(const float* prob, int prob_side, const oceanplus_paste_params* p) {
  if (!prob || prob_side < 1 || !p) return false;
  if (p->window_side < 1 || p->window_side > static_cast<int64_t>(kMaxWindowSide)) return false;
  if (p->frame_width < 1 || p->frame_height < 1) return false;
  const int64_t limit = int64_t{1} << 40;
  return p->window_x > -limit && p->window_x < limit && p->window_y > -limit && p->window_y < limit;
}

inline bool valid_paste_output(const oceanplus_roi& roi, const uint8_t* out, int pitch, int64_t capacity) {
  if (roi.width == 0) return true;
  if (!out || pitch < roi.width) return false;
  return capacity >= static_cast<int64_t>(pitch) * (roi.height - 1) + roi.width;
}

inline bool valid_arn(const float* query, const float* key, const float* values, const oceanplus_arn_params* p,
                      const float* out) {
  return query && key && values && out && p && p->query_count > 0 && p->key_count > 0 && p->channels > 0;
}

inline bool valid_xcorr(const float* search, const float* kernel, const oceanplus_xcorr_params* p, const float* out) {
  if (!search || !kernel || !out || !p) return false;
  if (p->batch < 1 || p->channels < 1 || p->search_h < 1 || p->search_w < 1 || p->kernel_h < 1 || p->kernel_w < 1)
    return false;
  if (p->kernel_batch != 1 && p->kernel_batch != p->batch) return false;
  if (p->padding < 0) return false;
  return oceanplus_xcorr_output_h(p) >= 1 && oceanplus_xcorr_output_w(p) >= 1;
}

inline bool valid_peak(const float* logits, const float* ltrb, const float* window, const oceanplus_peak_params* p,
                       const oceanplus_peak* peak) {
  if (!logits || !ltrb || !window || !p || !peak) return false;
  // S² cells are indexed with int: S up to 4096 (the trackers use 16..35).
  if (p->score_size < 1 || p->score_size > 4096 || p->stride < 1 || p->instance_size < 1) return false;
  if (p->activation < OCEANPLUS_ACTIVATION_SIGMOID || p->activation > OCEANPLUS_ACTIVATION_NONE) return false;
  return p->target_w_crop > 0 && p->target_h_crop > 0;
}

}  // namespace oceanplus::kernels::detail
