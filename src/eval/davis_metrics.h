// The DAVIS semi-supervised metrics, re-implemented from the protocol of the official evaluator
// (davisvideochallenge/davis2017-evaluation, see shared/reference/evaluation.md §1):
//   J  region similarity (db_eval_iou), F boundary F-measure (db_eval_boundary / f_measure with _seg2bmap and a
//   disk dilation), db_statistics (mean, recall, decay), and the per-object / global aggregation.
// Masks are CV_8UC1; any non-zero pixel is foreground.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace oceanplus::eval {

// J = |P ∩ G| / |P ∪ G|; 1 when both are empty.
double db_eval_iou(const cv::Mat& gt, const cv::Mat& pred);

// The 1-pixel boundary map of _seg2bmap (CV_8UC1, values 0/1); the image border itself is not a boundary.
cv::Mat seg2bmap(const cv::Mat& mask);

// skimage.morphology.disk(radius) as CV_8UC1 0/1: the points of arange(-r, r+1) x arange(-r, r+1) with
// x² + y² <= r². disk(8) is 17x17.
cv::Mat disk(double radius);

// The dilation radius f_measure uses: bound_th itself when bound_th >= 1, else ceil(bound_th * ||(H, W)||).
double boundary_tolerance(int height, int width, double bound_th = 0.008);

// F (f_measure): precision/recall of the boundaries matched within the tolerance, with the official edge cases.
double db_eval_boundary(const cv::Mat& gt, const cv::Mat& pred, double bound_th = 0.008);

struct Statistics {
  double mean = 0;    // M: nanmean(v)
  double recall = 0;  // O: mean(v > 0.5), strict (NaN counts as not > 0.5, as numpy does)
  double decay = 0;   // D: nanmean(first bin) - nanmean(last bin)
};

// The 5 bin edges of the decay: uint8(round(linspace(1, n, 5) + 1e-10) - 1), wrapped modulo 256 like the official
// cast (so sequences of more than 256 scored frames get wrapped ids, exactly as the official code).
std::array<std::size_t, 5> decay_bin_ids(std::size_t n);

// utils.db_statistics on the per-frame values of one object (NaNs allowed; empty slices give NaN).
Statistics db_statistics(const std::vector<double>& values);

// ---- per-object, per-sequence and global results ----------------------------------------------------------------

struct ObjectResult {
  std::string sequence;
  int object_id = 1;                // 1..n_objects
  std::vector<std::string> frames;  // names of the scored frames (frames 1 .. N-2), in the per-frame order
  std::vector<double> J, F;         // per scored frame
  Statistics j, f;
  double jf() const { return (j.mean + f.mean) / 2; }
};

struct SequenceResult {
  std::string name;
  std::vector<ObjectResult> objects;
};

struct GlobalResult {
  std::size_t n_objects = 0;
  double jf_mean = 0;  // (mean over objects of J_M + mean over objects of F_M) / 2
  double j_mean = 0, j_recall = 0, j_decay = 0;
  double f_mean = 0, f_recall = 0, f_decay = 0;
};

struct EvalResult {
  std::vector<SequenceResult> sequences;
  GlobalResult global;
};

// Scores the objects 1..n_objects of one sequence. gt[i] and pred[i] are CV_8UC1 object-id maps of the i-th SCORED
// frame (the caller has already dropped the first and the last frame); object k is where the map equals k.
// frame_names may be empty (then "0", "1", ... are used). Throws oceanplus::Error on mismatched sizes.
SequenceResult score_objects(const std::string& sequence, const std::vector<cv::Mat>& gt,
                             const std::vector<cv::Mat>& pred, int n_objects,
                             const std::vector<std::string>& frame_names = {}, double bound_th = 0.008);

// Global numbers: every (sequence, object) counts once.
GlobalResult global_statistics(const std::vector<SequenceResult>& sequences);

}  // namespace oceanplus::eval
