// The tracker's arithmetic, as free functions on plain arrays (spec §3.4-3.7): rounding rules, the cosine window,
// peak selection with the scale/ratio penalty, the mask paste-back, the polygon from a mask, label merging.
// float64 throughout where the reference computes in numpy float64, so that results match it to ~1e-12.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <vector>

#include "track/model.h"
#include "track/subwindow.h"

namespace oceanplus::track {

// Python 3 round(): half to even. TracKit's python2round: half away from zero.
double round_half_even(double x);
double round_half_away(double x);

// outer(np.hanning(S), np.hanning(S)) as CV_64F (zero at the border, 1 at the centre for odd S).
cv::Mat hanning_window(int size);

// Where a score cell looks in the search crop: (index - S/2) * stride + instance_size/2 (integer halves).
double grid_coordinate(int index, int score_size, int stride, int instance_size);

// The peak choice of one step (spec §3.4), in the reference's float64 arithmetic.
struct PeakChoice {
  cv::Mat penalty;       // S×S CV_64F
  cv::Mat pscore;        // S×S CV_64F, after the window
  int row = 0, col = 0;  // argmax of pscore (first in row-major order on ties, as numpy)
  double pscore_max = 0;
  double score_at_max = 0;    // the model's activated score at the peak (the reported confidence)
  double penalty_at_max = 0;
  std::array<double, 4> box_crop{};  // x1, y1, x2, y2 of the peak's box in search-crop pixels
  double lr = 0;                     // penalty · score · params lr at the peak
};

struct PeakInputs {
  const SearchResult* search = nullptr;
  const cv::Mat* window = nullptr;  // S×S CV_64F
  int stride = 8;
  int instance_size = 255;
  double target_w_crop = 0, target_h_crop = 0;  // the target size before the step, in search-crop pixels
  double penalty_k = 0, window_influence = 0, lr = 0;
};
PeakChoice choose_peak(const PeakInputs& in);

// Pastes a search-crop probability map back into the frame (spec §3.5): cv::resize(INTER_CUBIC) of prob to the crop
// side, placed at the crop's position, zero outside it. Returns frame_rows × frame_cols CV_32F. Values may overshoot
// [0, 1] slightly (cubic).
cv::Mat paste_back(const cv::Mat& prob, const CropInfo& crop, int frame_rows, int frame_cols);

// The rotated box of a mask (spec §3.7): the largest external contour of (prob > threshold), its minimum-area
// rectangle, as 4 corner points (cv::boxPoints order). Returns false (and leaves corners) when nothing is above.
bool mask_polygon(const cv::Mat& prob, double threshold, std::array<cv::Point2f, 4>& corners);

// A filled axis-aligned box as a CV_8U 0/1 mask: pixels whose centre lies inside [x, x+w) × [y, y+h), clipped.
cv::Mat box_mask(const cv::Rect2d& box, int rows, int cols);

// DAVIS-2017 style merge of per-target probability maps (each rows × cols CV_32F): label = 1 + argmax over targets
// where the maximum exceeds threshold, else 0. labels[i] gives the label value of target i (default i + 1).
cv::Mat merge_labels(const std::vector<cv::Mat>& probs, double threshold, const std::vector<int>& labels = {});

}  // namespace oceanplus::track
