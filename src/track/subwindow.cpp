#include "track/subwindow.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <stdexcept>

namespace oceanplus::track {
namespace {

// Python 3 round(): half to even (the default floating-point rounding mode).
int64_t round_half_even(double x) {
  const int previous = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(previous);
  return static_cast<int64_t>(r);
}

}  // namespace

CropInfo crop_window_info(int64_t rows, int64_t cols, double cx, double cy, double original_size,
                          CornerRounding rounding) {
  const double c = (original_size + 1) / 2;
  const int64_t side = static_cast<int64_t>(original_size);
  auto corner = [rounding](double v) {
    return rounding == CornerRounding::HalfToEven ? round_half_even(v) : static_cast<int64_t>(std::floor(v + 0.5));
  };
  const int64_t xmin = corner(cx - c), ymin = corner(cy - c);
  const int64_t xmax = xmin + side - 1, ymax = ymin + side - 1;
  const int64_t left = std::max<int64_t>(0, -xmin), top = std::max<int64_t>(0, -ymin);
  const int64_t right = std::max<int64_t>(0, xmax - cols + 1), bottom = std::max<int64_t>(0, ymax - rows + 1);
  CropInfo info;
  info.crop_cords = {xmin + left, xmax + left, ymin + top, ymax + top};
  info.pad_info = {top, left, rows, cols};
  info.padded_hw = {rows + top + bottom, cols + left + right};
  return info;
}

cv::Mat crop_subwindow(const cv::Mat& frame, double cx, double cy, int model_size, double original_size,
                       const cv::Scalar& pad_value, CropInfo* info, CornerRounding rounding) {
  if (frame.empty() || (frame.depth() != CV_8U && frame.depth() != CV_32F && frame.depth() != CV_64F)) {
    throw std::invalid_argument("crop_subwindow: need a non-empty 8-bit or floating-point image");
  }
  if (!(original_size >= 1) || model_size < 1) throw std::invalid_argument("crop_subwindow: empty crop");
  // A window this large means a runaway target size upstream; refuse it rather than allocate gigabytes.
  if (original_size > 65536) throw std::invalid_argument("crop_subwindow: window side over 65536 pixels");
  const int64_t side = static_cast<int64_t>(original_size);  // sizes are whole numbers (s_z, rounded s_x)
  const int64_t rows = frame.rows, cols = frame.cols;
  const CropInfo where = crop_window_info(rows, cols, cx, cy, original_size, rounding);
  if (info) *info = where;
  // The window's corners in frame coordinates.
  const int64_t xmin = where.crop_cords[0] - where.pad_info[1], ymin = where.crop_cords[2] - where.pad_info[0];
  const int64_t xmax = xmin + side - 1, ymax = ymin + side - 1;

  // Build only the window (not the whole padded frame): pad colour, then the part of the frame inside it.
  cv::Scalar fill;
  for (int ch = 0; ch < 4; ++ch) fill[ch] = std::trunc(pad_value[ch]);
  cv::Mat window(static_cast<int>(side), static_cast<int>(side), frame.type(), fill);
  const int64_t x0 = std::max<int64_t>(xmin, 0), y0 = std::max<int64_t>(ymin, 0);
  const int64_t x1 = std::min<int64_t>(xmax, cols - 1), y1 = std::min<int64_t>(ymax, rows - 1);
  if (x0 <= x1 && y0 <= y1) {
    const cv::Rect from(static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x1 - x0 + 1),
                        static_cast<int>(y1 - y0 + 1));
    const cv::Rect to(static_cast<int>(x0 - xmin), static_cast<int>(y0 - ymin), from.width, from.height);
    frame(from).copyTo(window(to));
  }
  if (side == model_size) return window;
  cv::Mat out;
  cv::resize(window, out, cv::Size(model_size, model_size), 0, 0, cv::INTER_LINEAR);
  return out;
}

cv::Mat crop_mask_subwindow(const cv::Mat& mask, double cx, double cy, int model_size, double original_size,
                            CropInfo* info, CornerRounding rounding) {
  if (mask.empty() || mask.channels() != 1) throw std::invalid_argument("crop_mask_subwindow: need a 1-channel mask");
  CropInfo local;
  CropInfo& where = info ? *info : local;
  cv::Mat crop = crop_subwindow(mask, cx, cy, model_size, original_size, cv::Scalar::all(0), &where, rounding);
  const bool padded = where.padded_hw[0] != where.pad_info[2] || where.padded_hw[1] != where.pad_info[3];
  if (!padded || mask.depth() == CV_8U) return crop;
  // The reference pads into a uint8 array, which truncates a float mask (0.75 -> 0) before the resize.
  cv::Mat as_double, truncated(mask.size(), CV_8U);
  mask.convertTo(as_double, CV_64F);
  for (int r = 0; r < mask.rows; ++r) {
    const double* in = as_double.ptr<double>(r);
    uint8_t* out = truncated.ptr<uint8_t>(r);
    for (int c = 0; c < mask.cols; ++c) out[c] = static_cast<uint8_t>(static_cast<int64_t>(in[c]));
  }
  return crop_subwindow(truncated, cx, cy, model_size, original_size, cv::Scalar::all(0), nullptr, rounding);
}

cv::Scalar mean_colour(const cv::Mat& frame) { return cv::mean(frame); }

}  // namespace oceanplus::track
