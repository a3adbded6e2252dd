// Kernel 1's CPU reference against the tracker's crop (crop_subwindow + cv::resize INTER_LINEAR): pixel-exact on BGR
// frames, for odd sizes, windows partly or entirely outside the frame, tiny and huge windows; both corner roundings;
// every pixel format.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "detail/kernel_math.h"
#include "kernel_test_support.h"
#include "reference/oceanplus_kernels_ref.h"
#include "track/subwindow.h"

namespace oceanplus::kernels::testing {
namespace {

struct CropCase {
  double cx, cy, window_side;
  int output_side;
};

std::vector<float> run_ref(const oceanplus_image& im, const CropCase& c, int rounding, const cv::Scalar& pad) {
  oceanplus_crop_params p{};
  p.center_x = c.cx;
  p.center_y = c.cy;
  p.window_side = c.window_side;
  p.output_side = c.output_side;
  p.corner_rounding = rounding;
  for (int k = 0; k < 3; ++k) p.pad_bgr[k] = pad[k];
  std::vector<float> out(3 * static_cast<size_t>(c.output_side) * c.output_side, -1.f);
  EXPECT_EQ(oceanplus_crop_resize_ref(&im, &p, out.data()), OCEANPLUS_OK);
  return out;
}

std::string describe(const cv::Mat& frame, const CropCase& c) {
  return "frame " + std::to_string(frame.cols) + "x" + std::to_string(frame.rows) + " centre (" +
         std::to_string(c.cx) + ", " + std::to_string(c.cy) + ") side " + std::to_string(c.window_side) + " -> " +
         std::to_string(c.output_side);
}

void expect_matches_crop_subwindow(const cv::Mat& frame, const CropCase& c, const cv::Scalar& pad) {
  const cv::Mat want = track::crop_subwindow(frame, c.cx, c.cy, c.output_side, c.window_side, pad);
  const std::vector<float> got = run_ref(packed_image(frame, OCEANPLUS_PIXEL_BGR), c, OCEANPLUS_ROUND_HALF_EVEN, pad);
  const std::string diff = compare_crop(want, got);
  EXPECT_TRUE(diff.empty()) << describe(frame, c) << ": " << diff;
}

TEST(CropRef, RandomOddSizesMatchCropSubwindowExactly) {
  std::mt19937 rng(20261126);
  for (int trial = 0; trial < 60; ++trial) {
    const int rows = std::uniform_int_distribution<int>(1, 181)(rng) | 1;
    const int cols = std::uniform_int_distribution<int>(1, 241)(rng) | 1;
    const cv::Mat frame = textured_bgr(rng, rows, cols);
    const cv::Scalar pad(std::uniform_real_distribution<double>(0, 255)(rng),
                         std::uniform_real_distribution<double>(0, 255)(rng),
                         std::uniform_real_distribution<double>(0, 255)(rng));
    const int outputs[] = {127, 255, 287, std::uniform_int_distribution<int>(1, 199)(rng)};
    CropCase c;
    c.window_side = std::uniform_int_distribution<int>(1, 2 * std::max(rows, cols))(rng);
    c.output_side = outputs[trial % 4];
    // Centres on half pixels too, where the two roundings differ.
    c.cx = std::round(std::uniform_real_distribution<double>(-0.5 * c.window_side, cols + 0.5 * c.window_side)(rng) * 2) / 2;
    c.cy = std::uniform_real_distribution<double>(-0.5 * c.window_side, rows + 0.5 * c.window_side)(rng);
    expect_matches_crop_subwindow(frame, c, pad);
  }
}

TEST(CropRef, SpecialGeometriesMatchCropSubwindowExactly) {
  std::mt19937 rng(7);
  const cv::Mat frame = textured_bgr(rng, 97, 131);
  const cv::Scalar pad(104.7, 117.2, 123.9);
  const std::vector<CropCase> cases = {
      {65.5, 48.5, 127, 127},     // no resize
      {65, 48, 254, 127},         // exactly 2x down (OpenCV switches to INTER_AREA)
      {65, 48, 255, 255},         // window larger than the frame, same size
      {10.3, 80.8, 171, 255},     // partly outside, upscaled
      {-500, -400, 61, 127},      // entirely outside: pad colour only
      {700, 48, 300, 255},        // entirely outside on the right
      {50, 50, 1, 127},           // one-pixel window
      {50, 50, 2, 3},             // tiny
      {3, 3, 3, 1},               // one output pixel
      {65, 48, 4001, 255},        // huge window: the frame is a small island in the pad colour
      {65, 48, 1000.7, 287},      // fractional side (truncated)
      {0, 0, 97, 255},            // corner on the frame's corner
      {130.5, 96.5, 33, 255},     // last pixel
  };
  for (const CropCase& c : cases) expect_matches_crop_subwindow(frame, c, pad);
}

TEST(CropRef, SingleRowAndColumnFramesMatch) {
  std::mt19937 rng(11);
  for (const cv::Size size : {cv::Size(1, 1), cv::Size(1, 37), cv::Size(53, 1), cv::Size(2, 2)}) {
    const cv::Mat frame = random_bgr(rng, size.height, size.width);
    expect_matches_crop_subwindow(frame, {0.5, 0.5, 9, 127}, cv::Scalar(10, 20, 30));
    expect_matches_crop_subwindow(frame, {size.width / 2.0, size.height / 2.0, 2, 255}, cv::Scalar(10, 20, 30));
  }
}

TEST(CropRef, HalfUpRoundingMatchesOpenCVAtItsCorner) {
  std::mt19937 rng(3);
  const cv::Mat frame = textured_bgr(rng, 120, 160);
  const cv::Scalar pad(90, 100, 110);
  for (int trial = 0; trial < 20; ++trial) {
    CropCase c;
    c.window_side = std::uniform_int_distribution<int>(5, 240)(rng);
    c.output_side = trial % 2 ? 255 : 127;
    c.cx = std::uniform_int_distribution<int>(-40, 400)(rng) / 2.0;  // many exact halves
    c.cy = std::uniform_int_distribution<int>(-40, 300)(rng) / 2.0;
    const double half = (c.window_side + 1) / 2;
    const int64_t xmin = static_cast<int64_t>(std::floor(c.cx - half + 0.5));
    const int64_t ymin = static_cast<int64_t>(std::floor(c.cy - half + 0.5));
    const cv::Mat want = opencv_crop_at(frame, xmin, ymin, static_cast<int>(c.window_side), c.output_side, pad);
    const std::vector<float> got = run_ref(packed_image(frame, OCEANPLUS_PIXEL_BGR), c, OCEANPLUS_ROUND_HALF_UP, pad);
    const std::string diff = compare_crop(want, got);
    EXPECT_TRUE(diff.empty()) << describe(frame, c) << ": " << diff;
  }
}

TEST(CropRef, RoundingModesDifferOnlyOnEvenHalves) {
  using detail::window_corner;
  // side 4: c = 2.5; centre 5 -> 2.5: half-even 2, half-up 3. centre 6 -> 3.5: both 4.
  EXPECT_EQ(window_corner(5, 4, OCEANPLUS_ROUND_HALF_EVEN), 2);
  EXPECT_EQ(window_corner(5, 4, OCEANPLUS_ROUND_HALF_UP), 3);
  EXPECT_EQ(window_corner(6, 4, OCEANPLUS_ROUND_HALF_EVEN), 4);
  EXPECT_EQ(window_corner(6, 4, OCEANPLUS_ROUND_HALF_UP), 4);
  EXPECT_EQ(window_corner(0, 4, OCEANPLUS_ROUND_HALF_EVEN), -2);  // -2.5 -> -2
  EXPECT_EQ(window_corner(0, 4, OCEANPLUS_ROUND_HALF_UP), -2);    // floor(-2.0)
  EXPECT_EQ(window_corner(-1, 4, OCEANPLUS_ROUND_HALF_EVEN), -4);  // -3.5 -> -4
  EXPECT_EQ(window_corner(-1, 4, OCEANPLUS_ROUND_HALF_UP), -3);
}

// RGB, RGBA and BGRx frames give exactly the BGR result of the same colours.
TEST(CropRef, PackedFormatsEqualBgrOnSwappedFrame) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 8; ++trial) {
    const int rows = std::uniform_int_distribution<int>(9, 99)(rng) | 1;
    const int cols = std::uniform_int_distribution<int>(9, 149)(rng) | 1;
    const cv::Mat bgr = textured_bgr(rng, rows, cols);
    cv::Mat rgb, rgba, bgrx;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::cvtColor(bgr, rgba, cv::COLOR_BGR2RGBA);
    cv::cvtColor(bgr, bgrx, cv::COLOR_BGR2BGRA);
    // The fourth byte must not matter.
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) rgba.at<cv::Vec4b>(r, c)[3] = bgrx.at<cv::Vec4b>(r, c)[3] = (r * 7 + c) & 255;
    const CropCase c{cols * 0.4, rows * 0.6, static_cast<double>(std::max(rows, cols)), trial % 2 ? 255 : 127};
    const cv::Scalar pad(50.5, 60.5, 70.5);
    const int rounding = trial % 2;
    const std::vector<float> want = run_ref(packed_image(bgr, OCEANPLUS_PIXEL_BGR), c, rounding, pad);
    EXPECT_EQ(run_ref(packed_image(rgb, OCEANPLUS_PIXEL_RGB), c, rounding, pad), want);
    EXPECT_EQ(run_ref(packed_image(rgba, OCEANPLUS_PIXEL_RGBA), c, rounding, pad), want);
    EXPECT_EQ(run_ref(packed_image(bgrx, OCEANPLUS_PIXEL_BGRX), c, rounding, pad), want);
  }
}

oceanplus_image i420_image(const Yuv420& f) {
  oceanplus_image im{};
  im.format = OCEANPLUS_PIXEL_I420;
  im.width = f.cols;
  im.height = f.rows;
  im.planes[0] = f.y.data();
  im.planes[1] = f.u.data();
  im.planes[2] = f.v.data();
  im.strides[0] = f.cols;
  im.strides[1] = im.strides[2] = f.chroma_cols();
  return im;
}

// NV12 and I420 carrying the same samples give the same crop, and it is the BGR crop of the frame converted with the
// documented formula.
TEST(CropRef, Nv12AndI420AgreeAndFollowTheDocumentedConversion) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 8; ++trial) {
    const int rows = std::uniform_int_distribution<int>(1, 90)(rng);
    const int cols = std::uniform_int_distribution<int>(1, 120)(rng);
    const Yuv420 f = random_yuv(rng, rows, cols);
    // NV12 with a padded stride: interleave U and V.
    const int uv_stride = 2 * f.chroma_cols() + 6, y_stride = cols + 3;
    std::vector<uint8_t> y_plane(static_cast<size_t>(y_stride) * rows, 0xEE);
    std::vector<uint8_t> uv_plane(static_cast<size_t>(uv_stride) * f.chroma_rows(), 0xEE);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) y_plane[static_cast<size_t>(r) * y_stride + c] = f.y[static_cast<size_t>(r) * cols + c];
    for (int r = 0; r < f.chroma_rows(); ++r)
      for (int c = 0; c < f.chroma_cols(); ++c) {
        uv_plane[static_cast<size_t>(r) * uv_stride + 2 * c] = f.u[static_cast<size_t>(r) * f.chroma_cols() + c];
        uv_plane[static_cast<size_t>(r) * uv_stride + 2 * c + 1] = f.v[static_cast<size_t>(r) * f.chroma_cols() + c];
      }
    oceanplus_image nv12{};
    nv12.format = OCEANPLUS_PIXEL_NV12;
    nv12.width = cols;
    nv12.height = rows;
    nv12.planes[0] = y_plane.data();
    nv12.planes[1] = uv_plane.data();
    nv12.strides[0] = y_stride;
    nv12.strides[1] = uv_stride;

    const CropCase c{cols * 0.5 + trial, rows * 0.5 - trial, static_cast<double>(std::max(rows, cols) + 7),
                     trial % 2 ? 255 : 127};
    const cv::Scalar pad(117, 117, 117);
    const std::vector<float> from_i420 = run_ref(i420_image(f), c, OCEANPLUS_ROUND_HALF_EVEN, pad);
    EXPECT_EQ(run_ref(nv12, c, OCEANPLUS_ROUND_HALF_EVEN, pad), from_i420);
    const cv::Mat bgr = yuv_to_bgr_mat(f);
    EXPECT_EQ(run_ref(packed_image(bgr, OCEANPLUS_PIXEL_BGR), c, OCEANPLUS_ROUND_HALF_EVEN, pad), from_i420);
  }
}

TEST(CropRef, Bt601LimitedRangeKnownValues) {
  using detail::yuv_to_bgr;
  const auto black = yuv_to_bgr(16, 128, 128);
  EXPECT_EQ(black.b + black.g + black.r, 0);
  const auto white = yuv_to_bgr(235, 128, 128);
  EXPECT_EQ(white.b, 255);
  EXPECT_EQ(white.g, 255);
  EXPECT_EQ(white.r, 255);
  const auto grey = yuv_to_bgr(126, 128, 128);  // 298 * 110 / 256 = 128.05
  EXPECT_EQ(grey.r, 128);
  EXPECT_EQ(grey.g, 128);
  EXPECT_EQ(grey.b, 128);
  const auto red = yuv_to_bgr(81, 90, 240);  // BT.601 limited-range red
  EXPECT_EQ(red.r, 255);
  EXPECT_LE(red.g, 1);
  EXPECT_LE(red.b, 1);
}

TEST(CropRef, BadArgumentsReturnAnError) {
  std::vector<uint8_t> pixels(3 * 4 * 4, 0);
  oceanplus_image im{};
  im.format = OCEANPLUS_PIXEL_BGR;
  im.width = im.height = 4;
  im.planes[0] = pixels.data();
  im.strides[0] = 12;
  oceanplus_crop_params p{};
  p.center_x = p.center_y = 2;
  p.window_side = 4;
  p.output_side = 8;
  std::vector<float> out(3 * 64);
  ASSERT_EQ(oceanplus_crop_resize_ref(&im, &p, out.data()), OCEANPLUS_OK);
  EXPECT_EQ(oceanplus_crop_resize_ref(nullptr, &p, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(oceanplus_crop_resize_ref(&im, nullptr, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(oceanplus_crop_resize_ref(&im, &p, nullptr), OCEANPLUS_INVALID_ARGUMENT);
  auto with = [&](auto change) {
    oceanplus_image i2 = im;
    oceanplus_crop_params p2 = p;
    change(i2, p2);
    return oceanplus_crop_resize_ref(&i2, &p2, out.data());
  };
  EXPECT_EQ(with([](auto& i, auto&) { i.width = 0; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& i, auto&) { i.strides[0] = 11; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& i, auto&) { i.format = 17; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& i, auto&) { i.format = OCEANPLUS_PIXEL_I420; }), OCEANPLUS_INVALID_ARGUMENT);  // no U, V
  EXPECT_EQ(with([](auto&, auto& q) { q.output_side = 0; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto&, auto& q) { q.window_side = 0.5; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto&, auto& q) { q.window_side = NAN; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto&, auto& q) { q.window_side = 1e9; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto&, auto& q) { q.center_x = INFINITY; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto&, auto& q) { q.corner_rounding = 2; }), OCEANPLUS_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace oceanplus::kernels::testing
