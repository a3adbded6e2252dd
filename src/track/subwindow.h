// The reference's square sub-window crop (TracKit get_subwindow_tracking, spec §3.2): a side `original_size` window
// centred on (cx, cy), padded with the first frame's mean colour where it leaves the frame, resized to
// model_size × model_size with OpenCV's bilinear resize. Corners round half to even, as Python 3's round() does.
#pragma once

#include <opencv2/core.hpp>

#include <array>

namespace oceanplus::track {

struct CropInfo {
  // [xmin, xmax, ymin, ymax] of the window in padded-frame coordinates (inclusive), as the reference reports them.
  std::array<int64_t, 4> crop_cords{};
  // [top, left, frame height, frame width]: the top and left pads, then the frame size.
  std::array<int64_t, 4> pad_info{};
  // Size of the padded frame the reference builds (height, width); the bottom/right pads follow from it.
  std::array<int64_t, 2> padded_hw{};
};

// How the window's top-left corner is rounded to whole pixels: TracKit (OceanPlus) uses Python's round (half to
// even), pysot-style trackers (NanoTrack) floor(x + 0.5) (half up).
enum class CornerRounding { HalfToEven, HalfUp };

// Where crop_subwindow's window lies for a frame of frame_rows × frame_cols, without cropping (what a crop done
// elsewhere, e.g. by a kernel, needs to paste its mask back).
CropInfo crop_window_info(int64_t frame_rows, int64_t frame_cols, double cx, double cy, double original_size,
                          CornerRounding rounding = CornerRounding::HalfToEven);

// frame: 8-bit (or floating-point, for masks), 1 or 3 channels. pad_value: per channel, truncated to 8 bits as the
// reference's uint8 array does.
// Returns the model_size × model_size crop (same type as frame).
cv::Mat crop_subwindow(const cv::Mat& frame, double cx, double cy, int model_size, double original_size,
                       const cv::Scalar& pad_value, CropInfo* info = nullptr,
                       CornerRounding rounding = CornerRounding::HalfToEven);

// The reference's mask crop (get_subwindow_tracking_mask): zero padding, one channel. An 8-bit mask gives an 8-bit
// crop; a floating-point mask stays floating-point when no padding is needed, and is truncated to 8 bits when it is
// (the reference pads into a uint8 array), as TracKit does.
cv::Mat crop_mask_subwindow(const cv::Mat& mask, double cx, double cy, int model_size, double original_size,
                            CropInfo* info = nullptr, CornerRounding rounding = CornerRounding::HalfToEven);

// Per-channel mean of a BGR frame (the pad colour is taken from the first frame once, at initialisation).
cv::Scalar mean_colour(const cv::Mat& frame);

}  // namespace oceanplus::track
