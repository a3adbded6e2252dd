#include "eval/davis_metrics.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include "common/error.h"

namespace oceanplus::eval {

namespace {

void check_mask(const cv::Mat& m, const char* what) {
  if (m.empty() || m.type() != CV_8UC1) throw Error(std::string("DAVIS metrics: ") + what + " must be a non-empty CV_8UC1 mask");
}

void check_same_size(const cv::Mat& gt, const cv::Mat& pred) {
  check_mask(gt, "the ground truth");
  check_mask(pred, "the prediction");
  if (gt.size() != pred.size())
    throw Error("DAVIS metrics: prediction size " + std::to_string(pred.cols) + "x" + std::to_string(pred.rows) +
                " differs from the ground truth size " + std::to_string(gt.cols) + "x" + std::to_string(gt.rows));
}

// numpy sums float arrays pairwise (8 partial sums, blocks of 128); the same order keeps the statistics within a few
// ulps of the official numbers.
double numpy_sum(const std::vector<double>& v) {
  // numpy pairwise_sum: below 8 elements plain loop; up to 128 an 8-way unrolled loop; above, recursive halves.
  struct Impl {
    static double sum(const double* a, std::size_t n) {
      if (n < 8) {
        double res = 0.;
        for (std::size_t i = 0; i < n; ++i) res += a[i];
        return res;
      }
      if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; ++k) r[k] = a[k];
        std::size_t i = 8;
        for (; i < n - (n % 8); i += 8)
          for (int k = 0; k < 8; ++k) r[k] += a[i + k];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
      }
      std::size_t n2 = n / 2;
      n2 -= n2 % 8;
      return sum(a, n2) + sum(a + n2, n - n2);
    }
  };
  return Impl::sum(v.data(), v.size());
}

// np.nanmean: NaNs replaced by 0 in the sum, divided by the count of the others.
double np_nanmean(const double* begin, const double* end) {
  std::vector<double> zeroed;
  std::size_t count = 0;
  for (const double* p = begin; p < end; ++p) {
    const bool nan = std::isnan(*p);
    zeroed.push_back(nan ? 0.0 : *p);
    count += nan ? 0 : 1;
  }
  if (count == 0) return std::numeric_limits<double>::quiet_NaN();
  return numpy_sum(zeroed) / static_cast<double>(count);
}

}  // namespace

double db_eval_iou(const cv::Mat& gt, const cv::Mat& pred) {
  check_same_size(gt, pred);
  std::int64_t inter = 0, uni = 0;
  for (int y = 0; y < gt.rows; ++y) {
    const auto* g = gt.ptr<std::uint8_t>(y);
    const auto* p = pred.ptr<std::uint8_t>(y);
    for (int x = 0; x < gt.cols; ++x) {
      const bool a = g[x] != 0, b = p[x] != 0;
      inter += a && b;
      uni += a || b;
    }
  }
  if (uni == 0) return 1.0;
  return static_cast<double>(inter) / static_cast<double>(uni);
}

cv::Mat seg2bmap(const cv::Mat& mask) {
  check_mask(mask, "the mask");
  const int h = mask.rows, w = mask.cols;
  cv::Mat b = cv::Mat::zeros(h, w, CV_8UC1);
  auto at = [&](int y, int x) -> std::uint8_t { return mask.ptr<std::uint8_t>(y)[x] != 0 ? 1 : 0; };
  // Interior: b = (seg ^ e) | (seg ^ s) | (seg ^ se) with e/s/se the east/south/south-east neighbours.
  for (int y = 0; y + 1 < h; ++y) {
    auto* out = b.ptr<std::uint8_t>(y);
    for (int x = 0; x + 1 < w; ++x) {
      const std::uint8_t s0 = at(y, x);
      out[x] = static_cast<std::uint8_t>((s0 ^ at(y, x + 1)) | (s0 ^ at(y + 1, x)) | (s0 ^ at(y + 1, x + 1)));
    }
  }
  // Last row: seg[-1, :] ^ e[-1, :] (e is 0 past the last column).
  {
    auto* out = b.ptr<std::uint8_t>(h - 1);
    for (int x = 0; x < w; ++x) {
      const std::uint8_t e = x + 1 < w ? at(h - 1, x + 1) : 0;
      out[x] = static_cast<std::uint8_t>(at(h - 1, x) ^ e);
    }
  }
  // Last column: seg[:, -1] ^ s[:, -1] (s is 0 past the last row); assigned after the last row, as in _seg2bmap.
  for (int y = 0; y < h; ++y) {
    const std::uint8_t s = y + 1 < h ? at(y + 1, w - 1) : 0;
    b.ptr<std::uint8_t>(y)[w - 1] = static_cast<std::uint8_t>(at(y, w - 1) ^ s);
  }
  b.ptr<std::uint8_t>(h - 1)[w - 1] = 0;
  return b;
}

cv::Mat disk(double radius) {
  // np.arange(-radius, radius + 1): ceil((radius + 1) - (-radius)) values -radius + k.
  const int n = static_cast<int>(std::ceil(2 * radius + 1));
  cv::Mat k = cv::Mat::zeros(n, n, CV_8UC1);
  for (int i = 0; i < n; ++i) {
    const double y = -radius + i;
    for (int j = 0; j < n; ++j) {
      const double x = -radius + j;
      if (x * x + y * y <= radius * radius) k.at<std::uint8_t>(i, j) = 1;
    }
  }
  return k;
}

double boundary_tolerance(int height, int width, double bound_th) {
  if (bound_th >= 1) return bound_th;
  const double h = height, w = width;
  return std::ceil(bound_th * std::sqrt(h * h + w * w));
}

double db_eval_boundary(const cv::Mat& gt, const cv::Mat& pred, double bound_th) {
  check_same_size(gt, pred);
  const double bound_pix = boundary_tolerance(pred.rows, pred.cols, bound_th);
  const cv::Mat fg_boundary = seg2bmap(pred);
  const cv::Mat gt_boundary = seg2bmap(gt);
  const cv::Mat kernel = disk(bound_pix);
  // cv2.dilate with the default anchor (the kernel centre) and border (no effect on a dilation).
  cv::Mat fg_dil, gt_dil;
  cv::dilate(fg_boundary, fg_dil, kernel);
  cv::dilate(gt_boundary, gt_dil, kernel);
  const double n_fg = cv::countNonZero(fg_boundary);
  const double n_gt = cv::countNonZero(gt_boundary);
  double precision = 0, recall = 0;
  if (n_fg == 0 && n_gt > 0) {
    precision = 1;
    recall = 0;
  } else if (n_fg > 0 && n_gt == 0) {
    precision = 0;
    recall = 1;
  } else if (n_fg == 0 && n_gt == 0) {
    precision = 1;
    recall = 1;
  } else {
    cv::Mat fg_match, gt_match;
    cv::bitwise_and(fg_boundary, gt_dil, fg_match);
    cv::bitwise_and(gt_boundary, fg_dil, gt_match);
    precision = cv::countNonZero(fg_match) / n_fg;
    recall = cv::countNonZero(gt_match) / n_gt;
  }
  if (precision + recall == 0) return 0.0;
  return 2 * precision * recall / (precision + recall);
}

std::array<std::size_t, 5> decay_bin_ids(std::size_t n) {
  // np.linspace(1, n, 5): start + k * step with step = (n - 1) / 4, and the last value set to n exactly.
  std::array<std::size_t, 5> ids{};
  const double start = 1.0, stop = static_cast<double>(n);
  const double step = (stop - start) / 4.0;
  for (int k = 0; k < 5; ++k) {
    double value = k == 4 ? stop : start + k * step;
    // np.round is round-half-to-even (nearbyint in the default rounding mode).
    const double rounded = std::nearbyint(value + 1e-10) - 1.0;
    // .astype(np.uint8): the value wraps modulo 256 (x86 truncating conversion of an in-range int).
    const auto as_int = static_cast<std::int64_t>(rounded);
    ids[k] = static_cast<std::size_t>(static_cast<std::uint8_t>(as_int & 0xFF));
  }
  return ids;
}

Statistics db_statistics(const std::vector<double>& values) {
  Statistics s;
  const double* begin = values.data();
  const double* end = begin + values.size();
  s.mean = np_nanmean(begin, end);
  if (values.empty()) {
    s.recall = std::numeric_limits<double>::quiet_NaN();
  } else {
    std::vector<double> above(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) above[i] = values[i] > 0.5 ? 1.0 : 0.0;
    s.recall = numpy_sum(above) / static_cast<double>(values.size());
  }
  const auto ids = decay_bin_ids(values.size());
  auto bin_mean = [&](std::size_t lo, std::size_t hi_inclusive) {
    // v[lo : hi + 1], clipped to the length; empty when lo >= hi + 1.
    const std::size_t stop = std::min(hi_inclusive + 1, values.size());
    if (lo >= stop) return std::numeric_limits<double>::quiet_NaN();
    return np_nanmean(begin + lo, begin + stop);
  };
  s.decay = bin_mean(ids[0], ids[1]) - bin_mean(ids[3], ids[4]);
  return s;
}

SequenceResult score_objects(const std::string& sequence, const std::vector<cv::Mat>& gt,
                             const std::vector<cv::Mat>& pred, int n_objects,
                             const std::vector<std::string>& frame_names, double bound_th) {
  if (gt.size() != pred.size())
    throw Error("sequence " + sequence + ": " + std::to_string(pred.size()) + " predicted frames for " +
                std::to_string(gt.size()) + " ground-truth frames");
  if (!frame_names.empty() && frame_names.size() != gt.size())
    throw Error("sequence " + sequence + ": frame_names does not match the frame count");
  SequenceResult result;
  result.name = sequence;
  std::vector<std::string> names = frame_names;
  if (names.empty())
    for (std::size_t i = 0; i < gt.size(); ++i) names.push_back(std::to_string(i));
  for (int id = 1; id <= n_objects; ++id) {
    ObjectResult obj;
    obj.sequence = sequence;
    obj.object_id = id;
    obj.frames = names;
    for (std::size_t i = 0; i < gt.size(); ++i) {
      check_mask(gt[i], "the ground truth");
      check_mask(pred[i], "the prediction");
      if (gt[i].size() != pred[i].size())
        throw Error("sequence " + sequence + ", frame " + names[i] + ": prediction size " +
                    std::to_string(pred[i].cols) + "x" + std::to_string(pred[i].rows) +
                    " differs from the ground truth size " + std::to_string(gt[i].cols) + "x" +
                    std::to_string(gt[i].rows));
      cv::Mat g = gt[i] == id;
      cv::Mat p = pred[i] == id;
      obj.J.push_back(db_eval_iou(g, p));
      obj.F.push_back(db_eval_boundary(g, p, bound_th));
    }
    obj.j = db_statistics(obj.J);
    obj.f = db_statistics(obj.F);
    result.objects.push_back(std::move(obj));
  }
  return result;
}

GlobalResult global_statistics(const std::vector<SequenceResult>& sequences) {
  GlobalResult g;
  std::vector<double> jm, jo, jd, fm, fo, fd;
  for (const auto& s : sequences)
    for (const auto& o : s.objects) {
      jm.push_back(o.j.mean);
      jo.push_back(o.j.recall);
      jd.push_back(o.j.decay);
      fm.push_back(o.f.mean);
      fo.push_back(o.f.recall);
      fd.push_back(o.f.decay);
    }
  g.n_objects = jm.size();
  // np.mean (not nanmean): a NaN anywhere makes the global NaN, as in the official tool.
  auto mean = [](const std::vector<double>& v) {
    return v.empty() ? std::numeric_limits<double>::quiet_NaN() : numpy_sum(v) / static_cast<double>(v.size());
  };
  g.j_mean = mean(jm);
  g.j_recall = mean(jo);
  g.j_decay = mean(jd);
  g.f_mean = mean(fm);
  g.f_recall = mean(fo);
  g.f_decay = mean(fd);
  g.jf_mean = (g.j_mean + g.f_mean) / 2.;
  return g;
}

}  // namespace oceanplus::eval
