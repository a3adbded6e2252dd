// The VOT2020 short-term anchor-based ("multistart") protocol: anchors, the per-run failure rule, Accuracy and
// Robustness per sequence and pooled, the EAO curve and score (vot/analysis/multistart.py, quirks included), and a
// runner that executes the forward and backward anchor runs of a tracker on one sequence. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vot/overlap.h"
#include "vot/region.h"

namespace oceanplus::vot {

// ---- Anchors ------------------------------------------------------------------------------------------------------

struct Anchors {
  std::vector<int> forward;   // frames with anchor value > 0, ascending
  std::vector<int> backward;  // frames with anchor value < 0, ascending
};
Anchors find_anchors(const std::vector<double>& anchor_values);

// ---- Analysis -----------------------------------------------------------------------------------------------------

struct AnalysisParams {
  int grace = 10;          // consecutive low frames that make a failure
  double threshold = 0.1;  // a frame is low when overlap <= threshold (and its GT is not empty)
  int low = 115;           // EAO score: mean of the curve over [low, high)
  int high = 755;          // EAO curve length
};

// One anchor run in run order: index 0 is the anchor (init) frame, whose overlap is 0 by the protocol.
struct RunOverlaps {
  std::vector<double> overlaps;
  std::vector<bool> gt_empty;  // per frame "the GT is empty"; empty vector = no frame has an empty GT
};

// Builds a run from the trajectory (index 0 normally Special(1)) and the GT regions of the same frames, in run
// order: overlaps as calculate_overlap, gt_empty from is_empty(). Sizes must match (oceanplus::Error otherwise).
RunOverlaps make_run(const std::vector<Region>& trajectory, const std::vector<Region>& groundtruth,
                     cv::Size image_size, EmptyOverlap empty = EmptyOverlap::kVot2020Zero);

// The failure rule: scan t = 0.. with a counter g = grace; a frame with overlap <= threshold and a non-empty GT
// decrements g, any other frame resets it; when g reaches 0 the run failed at p = t + 1 - grace. Returns p, or the
// run length when it never failed.
int find_failure(const RunOverlaps& run, int grace = 10, double threshold = 0.1);

// compute_eao_partial: per-step sums over runs. For j = 1 .. curve_length-1: a run with j < L adds
// mean(o[1..j]) and is active; else a failed run adds sum(o[1..L-1]) / (j - 1) (the toolkit's divisor) and is active;
// successful shorter runs are skipped. phi[j] = sum / active (0 where nothing is active); phi[0] = active[0] = 0.
struct EaoPartial {
  std::vector<double> phi;
  std::vector<double> active;
};
EaoPartial compute_eao_partial(const std::vector<std::vector<double>>& overlaps, const std::vector<bool>& success,
                               int curve_length);

// Per-sequence input of the analysis.
struct SequenceRuns {
  std::string name;
  int length = 0;  // N_s, the number of frames of the sequence (the R weight)
  std::vector<RunOverlaps> runs;
};

struct SequenceResult {
  std::string name;
  int length = 0;
  double accuracy = 0;           // A_s = sum_r sum_{t < p_r} o_r[t] / sum_r p_r (0 when sum_r p_r == 0)
  double robustness = 0;         // R_s = sum_r p_r / sum_r L_r
  double overlap_sum = 0;        // sum_r sum_{t < p_r} o_r[t]
  std::int64_t progress_sum = 0; // sum_r p_r
  std::int64_t run_length_sum = 0;
  std::vector<int> failures;     // p_r per run (== L_r for runs that did not fail)
  EaoPartial eao;                // the sequence's curve (phi_s, active_s) on truncated overlaps
};
SequenceResult analyze_sequence(const SequenceRuns& seq, const AnalysisParams& params = {});

struct Results {
  std::vector<SequenceResult> sequences;
  double accuracy = 0;            // sum_s A_s * P_s / sum_s P_s
  double robustness = 0;          // sum_s R_s * N_s / sum_s N_s
  std::vector<double> eao_curve;  // Phi[j] = sum_s phi_s[j] active_s[j] / sum_s active_s[j], length `high`
  double eao = 0;                 // mean of Phi[low .. high-1]
};
Results analyze(const std::vector<SequenceRuns>& sequences, const AnalysisParams& params = {});
// Pools already analysed sequences (e.g. computed in parallel or loaded from disk).
Results aggregate(std::vector<SequenceResult> sequences, const AnalysisParams& params = {});

// ---- Runner -------------------------------------------------------------------------------------------------------

// The tracker seen by the protocol: initialize on the anchor frame with a full-frame 0/1 mask, then one full-frame
// mask (CV_8U, same size as the frame, non-zero = object; an empty cv::Mat means "no object") per later frame.
class VotTracker {
 public:
  virtual ~VotTracker() = default;
  virtual void initialize(const cv::Mat& frame, const cv::Mat& mask01) = 0;
  virtual cv::Mat track(const cv::Mat& frame) = 0;
};

// Frame `index` (0-based, in sequence order) as the tracker gets it (e.g. BGR CV_8UC3).
using FrameSource = std::function<cv::Mat(int index)>;

struct SequenceInput {
  std::string name;
  int length = 0;                    // number of frames
  std::vector<Region> groundtruth;   // one per frame
  std::vector<double> anchor;        // anchor.value, one per frame
  FrameSource frame;
};

struct AnchorRun;

struct RunnerOptions {
  EmptyOverlap empty = EmptyOverlap::kVot2020Zero;
  bool run_forward = true;
  bool run_backward = true;
  // Realtime experiment (the toolkit's RealtimeTrackerRuntime): once `realtime_grace` tracker calls (the
  // initialization included) have been made, a call that takes t seconds leaves t - 1/fps of "debt"; while the debt
  // exceeds 1/fps the next frames are not given to the tracker, its last output is repeated (zero-order hold) and the
  // debt shrinks by 1/fps per frame.
  bool realtime = false;
  double fps = 20.0;
  int realtime_grace = 3;
  std::function<double()> clock;  // seconds; default std::chrono::steady_clock. Tests inject a fake one.
  // Called after each finished run (progress reporting, writing the trajectory, ...).
  std::function<void(const AnchorRun&)> on_run;
};

struct AnchorRun {
  int anchor = 0;
  bool reverse = false;
  std::vector<int> frames;          // sequence frame of each run step: anchor, anchor +- 1, ...
  std::vector<Region> trajectory;   // Special(1) at 0, then the tracker's mask regions
  std::vector<double> times;        // seconds per step (initialization at 0; 0 for held frames)
  std::vector<bool> held;           // realtime: output repeated without calling the tracker
  RunOverlaps overlaps;             // against the GT of `frames`
  // The toolkit's trajectory name: "<sequence>_<anchor:08d>".
  std::string name(const std::string& sequence) const;
};

// Runs every forward anchor a on frames a .. N-1 and every backward anchor on a, a-1, .., 0, each from a fresh
// initialize() on the GT region (rasterized to a full-frame mask) of frame a; no re-initialization after failures.
// Throws oceanplus::Error when the sequence has no anchor, or sizes disagree.
std::vector<AnchorRun> run_multistart(const SequenceInput& seq, VotTracker& tracker, const RunnerOptions& options = {});

// The analysis input of one sequence from its runs.
SequenceRuns to_sequence_runs(const std::string& name, int length, const std::vector<AnchorRun>& runs);

}  // namespace oceanplus::vot
