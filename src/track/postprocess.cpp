#include "track/postprocess.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "common/error.h"

namespace oceanplus::track {
namespace {

// TracKit's sz(): sqrt((w + p)(h + p)) with p = (w + h)/2, in this operation order.
double context_side(double w, double h) {
  const double pad = (w + h) * 0.5;
  return std::sqrt((w + pad) * (h + pad));
}

double change(double r) { return std::max(r, 1.0 / r); }

}  // namespace

double round_half_even(double x) {
  const int previous = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(previous);
  return r;
}

double round_half_away(double x) { return std::round(x); }

cv::Mat hanning_window(int size) {
  if (size < 1) throw Error("hanning_window: size must be positive");
  std::vector<double> w(size, 1.0);
  if (size > 1) {
    // numpy: n = arange(1-M, M, 2); 0.5 + 0.5*cos(pi*n/(M-1))
    for (int i = 0; i < size; ++i) {
      const double n = 1 - size + 2.0 * i;
      w[i] = 0.5 + 0.5 * std::cos(M_PI * n / (size - 1));
    }
  }
  cv::Mat out(size, size, CV_64F);
  for (int r = 0; r < size; ++r) {
    for (int c = 0; c < size; ++c) out.at<double>(r, c) = w[r] * w[c];
  }
  return out;
}

double grid_coordinate(int index, int score_size, int stride, int instance_size) {
  return static_cast<double>(index - score_size / 2) * stride + instance_size / 2;
}

PeakChoice choose_peak(const PeakInputs& in) {
  const SearchResult& s = *in.search;
  const int size = s.score.rows;
  if (s.score.type() != CV_32F || s.score.cols != size || in.window->rows != size || in.window->cols != size) {
    throw Error("choose_peak: score map and window must be square and of the same size");
  }
  for (const auto& m : s.ltrb) {
    if (m.type() != CV_32F || m.rows != size || m.cols != size) throw Error("choose_peak: box maps must match the score");
  }
  PeakChoice out;
  out.penalty.create(size, size, CV_64F);
  out.pscore.create(size, size, CV_64F);
  const double target_side = context_side(in.target_w_crop, in.target_h_crop);
  const double target_ratio = in.target_w_crop / in.target_h_crop;
  double best = -std::numeric_limits<double>::infinity();
  for (int r = 0; r < size; ++r) {
    const double gy = grid_coordinate(r, size, in.stride, in.instance_size);
    for (int c = 0; c < size; ++c) {
      const double gx = grid_coordinate(c, size, in.stride, in.instance_size);
      const double x1 = gx - s.ltrb[0].at<float>(r, c), y1 = gy - s.ltrb[1].at<float>(r, c);
      const double x2 = gx + s.ltrb[2].at<float>(r, c), y2 = gy + s.ltrb[3].at<float>(r, c);
      const double s_c = change(context_side(x2 - x1, y2 - y1) / target_side);
      const double r_c = change(target_ratio / ((x2 - x1) / (y2 - y1)));
      const double penalty = std::exp(-(r_c * s_c - 1) * in.penalty_k);
      const double score = s.score.at<float>(r, c);
      const double pscore =
          penalty * score * (1 - in.window_influence) + in.window->at<double>(r, c) * in.window_influence;
      out.penalty.at<double>(r, c) = penalty;
      out.pscore.at<double>(r, c) = pscore;
      // Strictly greater: the first maximum wins, as numpy's argmax. NaN scores never win.
      if (pscore > best) {
        best = pscore;
        out.row = r;
        out.col = c;
      }
    }
  }
  if (!std::isfinite(best)) throw Error("choose_peak: no finite score (the network produced NaN or infinity)");
  const int r = out.row, c = out.col;
  const double gx = grid_coordinate(c, size, in.stride, in.instance_size);
  const double gy = grid_coordinate(r, size, in.stride, in.instance_size);
  out.box_crop = {gx - s.ltrb[0].at<float>(r, c), gy - s.ltrb[1].at<float>(r, c), gx + s.ltrb[2].at<float>(r, c),
                  gy + s.ltrb[3].at<float>(r, c)};
  out.pscore_max = best;
  out.score_at_max = s.score.at<float>(r, c);
  out.penalty_at_max = out.penalty.at<double>(r, c);
  out.lr = out.penalty_at_max * out.score_at_max * in.lr;
  return out;
}

cv::Mat paste_back(const cv::Mat& prob, const CropInfo& crop, int frame_rows, int frame_cols) {
  if (prob.type() != CV_32F || prob.empty()) throw Error("paste_back: need a CV_32F probability map");
  cv::Mat frame = cv::Mat::zeros(frame_rows, frame_cols, CV_32F);
  const int64_t side = crop.crop_cords[1] - crop.crop_cords[0] + 1;
  // The crop's top-left corner in frame coordinates (crop_cords are in padded-frame coordinates).
  const int64_t x0 = crop.crop_cords[0] - crop.pad_info[1];
  const int64_t y0 = crop.crop_cords[2] - crop.pad_info[0];
  const int64_t fx0 = std::max<int64_t>(x0, 0), fy0 = std::max<int64_t>(y0, 0);
  const int64_t fx1 = std::min<int64_t>(x0 + side, frame_cols), fy1 = std::min<int64_t>(y0 + side, frame_rows);
  if (side < 1 || fx0 >= fx1 || fy0 >= fy1) return frame;
  const cv::Rect in_frame(static_cast<int>(fx0), static_cast<int>(fy0), static_cast<int>(fx1 - fx0),
                          static_cast<int>(fy1 - fy0));
  const cv::Rect in_crop(static_cast<int>(fx0 - x0), static_cast<int>(fy0 - y0), in_frame.width, in_frame.height);
  if (side <= 4096) {
    // The reference: cv2.resize(prob, (side, side), INTER_CUBIC), then the visible part. Bit-exact.
    cv::Mat resized;
    cv::resize(prob, resized, cv::Size(static_cast<int>(side), static_cast<int>(side)), 0, 0, cv::INTER_CUBIC);
    resized(in_crop).copyTo(frame(in_frame));
  } else {
    // A huge crop (a target filling a large frame): warp only the visible part instead of resizing the whole crop.
    // Same half-pixel mapping; OpenCV's warp tables make it differ from resize in the last bits only.
    const double scale = static_cast<double>(side) / prob.cols;
    cv::Mat map = (cv::Mat_<double>(2, 3) << 1.0 / scale, 0, (in_crop.x + 0.5) / scale - 0.5, 0, 1.0 / scale,
                   (in_crop.y + 0.5) / scale - 0.5);
    cv::Mat part;
    cv::warpAffine(prob, part, map, in_frame.size(), cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
    part.copyTo(frame(in_frame));
  }
  return frame;
}

bool mask_polygon(const cv::Mat& prob, double threshold, std::array<cv::Point2f, 4>& corners) {
  if (prob.empty()) return false;
  cv::Mat binary;
  cv::compare(prob, threshold, binary, cv::CMP_GT);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(binary, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  if (contours.empty()) return false;
  size_t best = 0;
  double best_area = -1;
  for (size_t i = 0; i < contours.size(); ++i) {
    const double area = cv::contourArea(contours[i]);
    if (area > best_area) {  // the first largest, as numpy's argmax
      best_area = area;
      best = i;
    }
  }
  cv::minAreaRect(contours[best]).points(corners.data());
  return true;
}

cv::Mat box_mask(const cv::Rect2d& box, int rows, int cols) {
  cv::Mat mask = cv::Mat::zeros(rows, cols, CV_8U);
  // Pixel (x, y) covers [x, x+1); it is inside when its centre x + 0.5 lies in [box.x, box.x + w).
  const double x0 = std::ceil(box.x - 0.5), x1 = std::ceil(box.x + box.width - 0.5);
  const double y0 = std::ceil(box.y - 0.5), y1 = std::ceil(box.y + box.height - 0.5);
  const int cx0 = static_cast<int>(std::clamp(x0, 0.0, static_cast<double>(cols)));
  const int cx1 = static_cast<int>(std::clamp(x1, 0.0, static_cast<double>(cols)));
  const int cy0 = static_cast<int>(std::clamp(y0, 0.0, static_cast<double>(rows)));
  const int cy1 = static_cast<int>(std::clamp(y1, 0.0, static_cast<double>(rows)));
  if (cx1 > cx0 && cy1 > cy0) mask(cv::Rect(cx0, cy0, cx1 - cx0, cy1 - cy0)).setTo(1);
  return mask;
}

cv::Mat merge_labels(const std::vector<cv::Mat>& probs, double threshold, const std::vector<int>& labels) {
  if (probs.empty()) throw Error("merge_labels: no targets");
  if (!labels.empty() && labels.size() != probs.size()) throw Error("merge_labels: one label per target needed");
  const int rows = probs[0].rows, cols = probs[0].cols;
  for (const auto& p : probs) {
    if (p.type() != CV_32F || p.rows != rows || p.cols != cols) throw Error("merge_labels: maps must be CV_32F, one size");
  }
  cv::Mat out = cv::Mat::zeros(rows, cols, CV_8U);
  for (int r = 0; r < rows; ++r) {
    uint8_t* o = out.ptr<uint8_t>(r);
    for (int c = 0; c < cols; ++c) {
      float best = probs[0].ptr<float>(r)[c];
      size_t arg = 0;
      for (size_t i = 1; i < probs.size(); ++i) {
        const float v = probs[i].ptr<float>(r)[c];
        if (v > best) {
          best = v;
          arg = i;
        }
      }
      if (best > threshold) o[c] = static_cast<uint8_t>(labels.empty() ? arg + 1 : labels[arg]);
    }
  }
  return out;
}

}  // namespace oceanplus::track
