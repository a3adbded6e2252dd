// Helpers for the kernel tests: seeded random inputs, frames as oceanplus_image, the BT.601 conversion written out
// independently of kernel_math.h, and OpenCV crops with a given corner.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "oceanplus_kernels_common.h"

namespace oceanplus::kernels::testing {

inline cv::Mat random_bgr(std::mt19937& rng, int rows, int cols) {
  cv::Mat m(rows, cols, CV_8UC3);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int r = 0; r < rows; ++r) {
    uint8_t* p = m.ptr<uint8_t>(r);
    for (int i = 0; i < 3 * cols; ++i) p[i] = static_cast<uint8_t>(byte(rng));
  }
  return m;
}

// A smooth image (random low-resolution noise, upscaled) plus fine noise: crops of it exercise the interpolation
// weights rather than only saturating extremes.
inline cv::Mat textured_bgr(std::mt19937& rng, int rows, int cols) {
  cv::Mat coarse = random_bgr(rng, std::max(2, rows / 8), std::max(2, cols / 8)), smooth;
  cv::resize(coarse, smooth, cv::Size(cols, rows), 0, 0, cv::INTER_CUBIC);
  cv::Mat noise = random_bgr(rng, rows, cols), out;
  cv::addWeighted(smooth, 0.8, noise, 0.2, 0, out);
  return out;
}

inline oceanplus_image packed_image(const cv::Mat& m, int format) {
  oceanplus_image im{};
  im.format = format;
  im.width = m.cols;
  im.height = m.rows;
  im.planes[0] = m.data;
  im.strides[0] = static_cast<int>(m.step[0]);
  return im;
}

// Planar 4:2:0 data: Y (rows × cols) and half-resolution U, V planes with odd sizes rounded up.
struct Yuv420 {
  int rows = 0, cols = 0;
  std::vector<uint8_t> y, u, v;
  int chroma_cols() const { return (cols + 1) / 2; }
  int chroma_rows() const { return (rows + 1) / 2; }
};

inline Yuv420 random_yuv(std::mt19937& rng, int rows, int cols) {
  Yuv420 f;
  f.rows = rows;
  f.cols = cols;
  std::uniform_int_distribution<int> byte(0, 255);
  f.y.resize(static_cast<size_t>(rows) * cols);
  f.u.resize(static_cast<size_t>(f.chroma_rows()) * f.chroma_cols());
  f.v.resize(f.u.size());
  for (auto& b : f.y) b = static_cast<uint8_t>(byte(rng));
  for (auto& b : f.u) b = static_cast<uint8_t>(byte(rng));
  for (auto& b : f.v) b = static_cast<uint8_t>(byte(rng));
  return f;
}

inline uint8_t clamp_byte(int v) { return static_cast<uint8_t>(std::min(255, std::max(0, v))); }

// The documented BT.601 limited-range formula (kernels/README.md), written with floor division.
inline cv::Mat yuv_to_bgr_mat(const Yuv420& f) {
  cv::Mat out(f.rows, f.cols, CV_8UC3);
  auto floor_div = [](int a) { return static_cast<int>(std::floor(a / 256.0)); };
  for (int r = 0; r < f.rows; ++r) {
    for (int c = 0; c < f.cols; ++c) {
      const int y = f.y[static_cast<size_t>(r) * f.cols + c] - 16;
      const size_t ci = static_cast<size_t>(r / 2) * f.chroma_cols() + c / 2;
      const int u = f.u[ci] - 128, v = f.v[ci] - 128;
      cv::Vec3b& px = out.at<cv::Vec3b>(r, c);
      px[2] = clamp_byte(floor_div(298 * y + 409 * v + 128));
      px[1] = clamp_byte(floor_div(298 * y - 100 * u - 208 * v + 128));
      px[0] = clamp_byte(floor_div(298 * y + 516 * u + 128));
    }
  }
  return out;
}

// OpenCV's crop for a given corner: the window (pad colour outside the frame), then cv::resize INTER_LINEAR.
inline cv::Mat opencv_crop_at(const cv::Mat& frame, int64_t xmin, int64_t ymin, int side, int out,
                              const cv::Scalar& pad) {
  cv::Mat window(side, side, CV_8UC3, pad);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const int64_t fx = xmin + x, fy = ymin + y;
      if (fx >= 0 && fy >= 0 && fx < frame.cols && fy < frame.rows)
        window.at<cv::Vec3b>(y, x) = frame.at<cv::Vec3b>(static_cast<int>(fy), static_cast<int>(fx));
    }
  }
  if (side == out) return window;
  cv::Mat resized;
  cv::resize(window, resized, cv::Size(out, out), 0, 0, cv::INTER_LINEAR);
  return resized;
}

// The first mismatch between an HWC BGR uint8 crop and a float CHW crop, as a message; empty when they are equal.
inline std::string compare_crop(const cv::Mat& want_hwc, const std::vector<float>& got_chw) {
  const int out = want_hwc.rows;
  const size_t plane = static_cast<size_t>(out) * out;
  int mismatches = 0;
  std::string first;
  for (int y = 0; y < out; ++y) {
    for (int x = 0; x < out; ++x) {
      for (int ch = 0; ch < 3; ++ch) {
        const float want = want_hwc.at<cv::Vec3b>(y, x)[ch];
        const float got = got_chw[ch * plane + static_cast<size_t>(y) * out + x];
        if (want != got) {
          if (mismatches++ == 0)
            first = "(" + std::to_string(x) + "," + std::to_string(y) + ") ch " + std::to_string(ch) + ": want " +
                    std::to_string(want) + " got " + std::to_string(got);
        }
      }
    }
  }
  if (mismatches == 0) return {};
  return std::to_string(mismatches) + " mismatches, first " + first;
}

}  // namespace oceanplus::kernels::testing
