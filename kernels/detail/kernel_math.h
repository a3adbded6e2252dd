// Per-element arithmetic shared by the CUDA kernels and their CPU references: one source for both, so that a kernel
// and its reference agree bit for bit where the operations are exact or correctly rounded. Compiled by g++ for the
// references and by nvcc for the kernels. Device code spells float and double products and sums with the _rn
// intrinsics: nvcc would otherwise contract a*b+c into an FMA, which OpenCV's x86-64 build (no FMA) does not.
#pragma once

#include <stdint.h>

#include <math.h>

#include <cmath>

#include "oceanplus_kernels_common.h"

#if defined(__CUDACC__)
#define OCEANPLUS_HD __host__ __device__ __forceinline__
#else
#define OCEANPLUS_HD inline
#endif

namespace oceanplus::kernels::detail {

// ---- Rounding-exact float and double operations ---------------------------------------------------------------------

OCEANPLUS_HD float fmul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
OCEANPLUS_HD float fadd(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
OCEANPLUS_HD float fsub(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
OCEANPLUS_HD double dmul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
OCEANPLUS_HD double dadd(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
// cvRound(float): nearest, ties to even.
OCEANPLUS_HD int round_to_int(float v) {
#if defined(__CUDA_ARCH__)
  return __float2int_rn(v);
#else
  return static_cast<int>(std::nearbyint(v));
#endif
}
OCEANPLUS_HD int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// ---- Kernel 1: window corner, OpenCV INTER_LINEAR taps, pixel fetch -------------------------------------------------

// OpenCV's fixed-point resize: 11-bit weights (INTER_RESIZE_COEF_BITS).
constexpr int kLinearWeightOne = 2048;

// The window's top-left corner: round(centre - (side + 1) / 2).
OCEANPLUS_HD int64_t window_corner(double centre, double window_side, int rounding) {
  const double c = (window_side + 1) / 2;
  const double x = centre - c;
  if (rounding == OCEANPLUS_ROUND_HALF_UP) return static_cast<int64_t>(floor(x + 0.5));
  return static_cast<int64_t>(rint(x));  // the default rounding mode: half to even
}

struct LinearTap {
  int first, second;   // source indices (clamped into the source)
  int weight_first, weight_second;  // 11-bit fixed point
};

// One axis of cv::resize INTER_LINEAR for uint8 (resizeGeneric_ set-up): src = (dst + 0.5) * scale - 0.5 computed in
// double then rounded to float. Along x a source position left of 0 or right of the last pixel is pinned there with
// weights (1, 0); along y the rows are clamped but the weights kept (OpenCV treats the axes differently; both give
// the border pixel).
OCEANPLUS_HD LinearTap linear_tap(int dst_index, double scale, int src_len, bool horizontal) {
  float f = static_cast<float>(dadd(dmul(dst_index + 0.5, scale), -0.5));
  int s = static_cast<int>(floorf(f));
  f = fsub(f, static_cast<float>(s));
  if (horizontal) {
    if (s < 0) f = 0, s = 0;
    if (s >= src_len - 1) f = 0, s = src_len - 1;
  }
  LinearTap t;
  t.first = clamp_int(s, 0, src_len - 1);
  t.second = clamp_int(s + 1, 0, src_len - 1);
  t.weight_first = round_to_int(fmul(fsub(1.f, f), static_cast<float>(kLinearWeightOne)));
  t.weight_second = round_to_int(fmul(f, static_cast<float>(kLinearWeightOne)));
  return t;
}

// cv::resize's source step, for every interpolation: 1 / (dst / src), not src / dst (the last bit can differ).
OCEANPLUS_HD double resize_scale(int64_t src_len, int64_t dst_len) {
  return 1. / (static_cast<double>(dst_len) / static_cast<double>(src_len));
}

// Vertical blend of two horizontally blended values (each source × 2048), as OpenCV's vectorised vertical pass
// (VResizeLinearVec_32s8u) computes it: each value shifted right by 4, a 16-bit high multiply by the weight, then
// (sum + 2) >> 2. Its scalar form (exact product, + 2^21, >> 22) rounds up by 1 now and then; kernels_cpu checks
// against cv::resize that OpenCV 4.6's x86-64 build uses the vectorised form for every element of a row, tails
// included.
OCEANPLUS_HD uint8_t linear_vertical(int h0, int h1, int b0, int b1) {
  const int t = (((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16);
  return static_cast<uint8_t>(clamp_int((t + 2) >> 2, 0, 255));
}

struct Bgr {
  uint8_t b, g, r;
};

// BT.601 limited range (Y 16-235, U/V 16-240) to 8-bit RGB, the integer form with 8 fractional bits:
//   C = Y - 16, D = U - 128, E = V - 128
//   R = clamp((298 C + 409 E + 128) >> 8), G = clamp((298 C - 100 D - 208 E + 128) >> 8), B = clamp((298 C + 516 D + 128) >> 8)
// (>> is an arithmetic shift, i.e. floor division). Chroma is taken from the 2×2 block the pixel lies in.
OCEANPLUS_HD Bgr yuv_to_bgr(int y, int u, int v) {
  const int c = y - 16, d = u - 128, e = v - 128;
  Bgr out;
  out.r = static_cast<uint8_t>(clamp_int((298 * c + 409 * e + 128) >> 8, 0, 255));
  out.g = static_cast<uint8_t>(clamp_int((298 * c - 100 * d - 208 * e + 128) >> 8, 0, 255));
  out.b = static_cast<uint8_t>(clamp_int((298 * c + 516 * d + 128) >> 8, 0, 255));
  return out;
}

// The colour of frame pixel (x, y), inside the frame.
OCEANPLUS_HD Bgr fetch_bgr(const oceanplus_image& im, int x, int y) {
  Bgr out;
  switch (im.format) {
    case OCEANPLUS_PIXEL_BGR:
    case OCEANPLUS_PIXEL_BGRX: {
      const uint8_t* p = im.planes[0] + static_cast<int64_t>(y) * im.strides[0] +
                         static_cast<int64_t>(x) * (im.format == OCEANPLUS_PIXEL_BGR ? 3 : 4);
      out.b = p[0], out.g = p[1], out.r = p[2];
      return out;
    }
    case OCEANPLUS_PIXEL_RGB:
    case OCEANPLUS_PIXEL_RGBA: {
      const uint8_t* p = im.planes[0] + static_cast<int64_t>(y) * im.strides[0] +
                         static_cast<int64_t>(x) * (im.format == OCEANPLUS_PIXEL_RGB ? 3 : 4);
      out.r = p[0], out.g = p[1], out.b = p[2];
      return out;
    }
    case OCEANPLUS_PIXEL_NV12: {
      const int luma = im.planes[0][static_cast<int64_t>(y) * im.strides[0] + x];
      const uint8_t* uv = im.planes[1] + static_cast<int64_t>(y >> 1) * im.strides[1] + 2 * static_cast<int64_t>(x >> 1);
      return yuv_to_bgr(luma, uv[0], uv[1]);
    }
    default: {  // I420
      const int luma = im.planes[0][static_cast<int64_t>(y) * im.strides[0] + x];
      const int u = im.planes[1][static_cast<int64_t>(y >> 1) * im.strides[1] + (x >> 1)];
      const int v = im.planes[2][static_cast<int64_t>(y >> 1) * im.strides[2] + (x >> 1)];
      return yuv_to_bgr(luma, u, v);
    }
  }
}

OCEANPLUS_HD uint8_t pad_channel(double value) {
  const double t = trunc(value);
  return static_cast<uint8_t>(t < 0 ? 0 : (t > 255 ? 255 : t));
}

// Window pixel (wx, wy): the frame where the window covers it, the pad colour elsewhere.
OCEANPLUS_HD Bgr window_pixel(const oceanplus_image& im, int64_t xmin, int64_t ymin, int wx, int wy, Bgr pad) {
  const int64_t x = xmin + wx, y = ymin + wy;
  if (x < 0 || y < 0 || x >= im.width || y >= im.height) return pad;
  return fetch_bgr(im, static_cast<int>(x), static_cast<int>(y));
}

OCEANPLUS_HD int bgr_channel(Bgr p, int channel) { return channel == 0 ? p.b : (channel == 1 ? p.g : p.r); }

// ---- Kernel 2: OpenCV INTER_CUBIC on float -----------------------------------------------------------------------

// OpenCV 4.6's float cubic resize vectorises the vertical pass 4 floats at a time (VResizeCubicVec_32f) and sums the
// four rows in the opposite order there; the last row_elements % 4 elements take the scalar order.
constexpr int kCubicSimdFloats = 4;

struct CubicTap {
  int index[4];
  float weight[4];
};

// interpolateCubic (A = -0.75), with OpenCV's operation order.
OCEANPLUS_HD CubicTap cubic_tap(int dst_index, double scale, int src_len) {
  float f = static_cast<float>(dadd(dmul(dst_index + 0.5, scale), -0.5));
  const int s = static_cast<int>(floorf(f));
  f = fsub(f, static_cast<float>(s));
  const float a = -0.75f;
  const float f1 = fadd(f, 1.f), omf = fsub(1.f, f);
  CubicTap t;
  t.weight[0] = fsub(fmul(fadd(fmul(fsub(fmul(a, f1), 5 * a), f1), 8 * a), f1), 4 * a);
  t.weight[1] = fadd(fmul(fmul(fsub(fmul(a + 2, f), a + 3), f), f), 1.f);
  t.weight[2] = fadd(fmul(fmul(fsub(fmul(a + 2, omf), a + 3), omf), omf), 1.f);
  t.weight[3] = fsub(fsub(fsub(1.f, t.weight[0]), t.weight[1]), t.weight[2]);
  for (int k = 0; k < 4; ++k) t.index[k] = clamp_int(s - 1 + k, 0, src_len - 1);
  return t;
}

OCEANPLUS_HD float cubic_row(const float* row, const CubicTap& x) {
  float v = fmul(row[x.index[0]], x.weight[0]);
  v = fadd(v, fmul(row[x.index[1]], x.weight[1]));
  v = fadd(v, fmul(row[x.index[2]], x.weight[2]));
  return fadd(v, fmul(row[x.index[3]], x.weight[3]));
}

OCEANPLUS_HD float cubic_vertical(const float h[4], const float b[4], bool simd_lane) {
  if (simd_lane) {
    float v = fmul(h[3], b[3]);
    v = fadd(fmul(h[2], b[2]), v);
    v = fadd(fmul(h[1], b[1]), v);
    return fadd(fmul(h[0], b[0]), v);
  }
  float v = fadd(fmul(h[0], b[0]), fmul(h[1], b[1]));
  v = fadd(v, fmul(h[2], b[2]));
  return fadd(v, fmul(h[3], b[3]));
}

// The pasted probability at window pixel (wx, wy) of a window_side² resize of the prob_side² map.
OCEANPLUS_HD float paste_value(const float* prob, int prob_side, int64_t window_side, int wx, int wy, double scale) {
  const CubicTap ty = cubic_tap(wy, scale, prob_side);
  const CubicTap tx = cubic_tap(wx, scale, prob_side);
  float h[4];
  for (int k = 0; k < 4; ++k) h[k] = cubic_row(prob + static_cast<int64_t>(ty.index[k]) * prob_side, tx);
  const int64_t simd_end = (window_side / kCubicSimdFloats) * kCubicSimdFloats;
  return cubic_vertical(h, ty.weight, wx < simd_end);
}

// ---- Kernel 3: ARN ------------------------------------------------------------------------------------------------

OCEANPLUS_HD float clamp_unit(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

// ---- Kernel 5: score post-processing ------------------------------------------------------------------------------

OCEANPLUS_HD float activate(const float* logits, int64_t plane, int64_t i, int activation) {
  if (activation == OCEANPLUS_ACTIVATION_SIGMOID) return 1.f / (1.f + expf(-logits[i]));
  if (activation == OCEANPLUS_ACTIVATION_SOFTMAX2) return 1.f / (1.f + expf(logits[i] - logits[plane + i]));
  return logits[i];
}

// TracKit's sz(): sqrt((w + p)(h + p)), p = (w + h) / 2.
OCEANPLUS_HD float context_side(float w, float h) {
  const float pad = fmul(fadd(w, h), 0.5f);
  return sqrtf(fmul(fadd(w, pad), fadd(h, pad)));
}
OCEANPLUS_HD float change(float r) { return r > 1.f / r ? r : 1.f / r; }

OCEANPLUS_HD float grid_coordinate(int index, int score_size, int stride, int instance_size) {
  return static_cast<float>((index - score_size / 2) * stride + instance_size / 2);
}

struct CellScore {
  float score, penalty, pscore;
};

OCEANPLUS_HD CellScore cell_score(const float* logits, const float* ltrb, const float* window,
                                  const oceanplus_peak_params& p, int r, int c) {
  const int64_t plane = static_cast<int64_t>(p.score_size) * p.score_size;
  const int64_t i = static_cast<int64_t>(r) * p.score_size + c;
  // The box size (gx + r) - (gx - l) = l + r: summed directly, without the cancellation.
  const float w = fadd(ltrb[i], ltrb[2 * plane + i]);
  const float h = fadd(ltrb[plane + i], ltrb[3 * plane + i]);
  const float target_side = context_side(p.target_w_crop, p.target_h_crop);
  const float s_c = change(context_side(w, h) / target_side);
  const float r_c = change((p.target_w_crop / p.target_h_crop) / (w / h));
  CellScore out;
  out.score = activate(logits, plane, i, p.activation);
  out.penalty = expf(fmul(-fsub(fmul(r_c, s_c), 1.f), p.penalty_k));
  out.pscore = fadd(fmul(fmul(out.penalty, out.score), fsub(1.f, p.window_influence)),
                    fmul(window[i], p.window_influence));
  return out;
}

}  // namespace oceanplus::kernels::detail
