// The OceanPlus tracking procedure (spec §3), model-agnostic: one Tracker follows one target; MultiTracker runs one
// Tracker per target on a shared model and merges their masks into one label map (DAVIS-2017 style).
//
//   auto model = OceanPlusModel::load("OceanPlusMMS.pth");            // track/oceanplus_model.h
//   Tracker tracker(model, preset("davis2016"));
//   tracker.init_with_mask(frame0, mask0);                           // or init_with_box(frame0, {x, y, w, h})
//   for (frame : rest) { TargetResult r = tracker.track(frame); ... r.mask, r.box, r.polygon, r.score }
//
// Frames are BGR 8-bit (CV_8UC3); grey frames (CV_8UC1) are converted, as the reference does. Not thread-safe: a
// Tracker and its model serve one thread at a time.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "track/model.h"
#include "track/params.h"
#include "track/postprocess.h"
#include "track/subwindow.h"

namespace oceanplus::track {

enum class TargetStatus {
  Tracking,   // a confident peak
  Uncertain,  // the peak score is below params.uncertain_score: the target may be occluded or lost
};
const char* status_name(TargetStatus status);

// What the tracker reports for one target on one frame.
struct TargetResult {
  int id = 1;
  cv::Point2d centre;                   // target centre (pixels)
  cv::Size2d size;                      // target size from the box head (pixels)
  cv::Rect2d box;                       // the axis-aligned box: centre ± size/2
  std::array<cv::Point2f, 4> polygon{}; // rotated box of the mask's largest component (cv::boxPoints order)
  bool has_polygon = false;
  double score = 0;                     // the model's score at the chosen peak (the reference's confidence)
  TargetStatus status = TargetStatus::Tracking;
  cv::Mat prob;                         // frame-size CV_32F foreground probability (empty if the model has no mask)
  cv::Mat mask;                         // frame-size CV_8U 0/1
  bool mask_is_box = false;             // the mask was (nearly) empty and was replaced by the filled box
};

// Everything one step computed, for parity tests and debugging.
struct StepTrace {
  double s_z = 0, scale_z = 0, s_x = 0, s_x_rounded = 0;
  int instance_size = 0;
  CropInfo crop;
  cv::Mat x_crop;
  SearchResult search;
  PeakChoice peak;
  cv::Point2d diff;            // centre shift, frame pixels
  cv::Size2d pred_size;        // the peak's box size, frame pixels
  cv::Size2d res_size;         // first smoothing
  cv::Point2d pos_unclamped;
  cv::Size2d size_unclamped;
  bool update_triggered = false;
  cv::Point2d update_pos;      // template update arguments (search-crop pixels)
  cv::Size2d update_size;
  double update_score = 0;
  int64_t paste_size = 0;
  // Wall time of the step's parts, milliseconds.
  double crop_ms = 0, network_ms = 0, peak_ms = 0, mask_ms = 0;
};

// Initialisation details, for tests and for the caller's warnings.
struct InitReport {
  cv::Point2d centre;
  cv::Size2d size;
  double s_z = 0;  // rounded template window side
  int instance_size = 0;
  cv::Scalar pad_colour;
  CropInfo z_crop_info;
  cv::Mat z_crop;
  cv::Mat z_mask;  // 127×127 0/1 template mask (the last one, after cyclic re-initialisation)
  std::vector<std::string> warnings;  // the region was clipped to the frame, the mask had another size, ...
  std::vector<StepTrace> cyclic_steps;
  std::vector<cv::Mat> cyclic_masks;  // the 127×127 template masks each cyclic iteration produced
};

// Whether a step runs as one frame step where the model runs (TrackingModel::frame_step: crop, network, peak and
// paste-back kernels, only the peak and the mask's ROI back on the host) or the classic way (crop and post-processing
// with OpenCV on the host). Auto: the frame step when the model prefers it (a model on a GPU).
enum class FrameStepMode { Auto, Off, On };
// "auto", "on" or "off" (the tools' --frame-step); throws oceanplus::Error for anything else.
FrameStepMode frame_step_mode(const std::string& name);

class Tracker {
 public:
  Tracker(std::shared_ptr<TrackingModel> model, TrackerParams params, int id = 1);

  // From a first-frame mask (any non-zero pixel is the target). A mask of another size than the frame is cropped or
  // zero-padded at the bottom/right (as the VOT wrapper does) with a warning. An empty mask is an error.
  InitReport init_with_mask(const cv::Mat& frame, const cv::Mat& mask);
  // From a box alone, through cyclic initialisation (spec §3.10). The box is clipped to the frame with a warning; a
  // box of zero size, or entirely outside the frame, is an error.
  InitReport init_with_box(const cv::Mat& frame, const cv::Rect2d& box);
  // The same, with the mask-free first-frame template mask given explicitly (no cyclic iterations): a box-filled
  // pseudo mask is used as is. For models without a mask head, or when speed matters more than the first masks.
  InitReport init_with_box_no_cycles(const cv::Mat& frame, const cv::Rect2d& box);

  // A frame step fills the trace's crop geometry, peak (no penalty/pscore maps) and timings, not x_crop or search,
  // and its result has a mask but no probability map.
  TargetResult track(const cv::Mat& frame, StepTrace* trace = nullptr);

  // One step of several trackers on the same frame (in their order): those that take the frame step and share a
  // model and a search size run as one batched pass (TrackingModel::frame_step_batch), the others one by one.
  // traces (optional) receives each tracker's step; a batched pass's time is split evenly between its targets.
  static std::vector<TargetResult> track_all(const std::vector<Tracker*>& trackers, const cv::Mat& frame,
                                             std::vector<StepTrace>* traces = nullptr);
  // The same with the frame also (or only) as it lies in memory: the trackers that take the frame step crop from
  // `source` (NV12/I420, or a GPU buffer: no upload), the others need the BGR `frame`, which may be empty when every
  // tracker takes the frame step. Both must show the same picture at the same size.
  static std::vector<TargetResult> track_all(const std::vector<Tracker*>& trackers, const cv::Mat& frame,
                                             const FrameSource* source, std::vector<StepTrace>* traces = nullptr);

  // On: throws oceanplus::Error when the model has no frame step. uses_frame_step() is false during the first
  // frame's cyclic passes, which always run the classic way (they need the probability map).
  void set_frame_step(FrameStepMode mode);
  bool uses_frame_step() const;

  bool initialised() const { return features_ != nullptr; }
  int id() const { return id_; }
  const TrackerParams& params() const { return params_; }
  // The mask threshold (seg_thr) from the next step on (a live setting of the GStreamer element).
  void set_mask_threshold(double threshold) { params_.seg_thr = threshold; }
  const std::shared_ptr<TrackingModel>& model() const { return model_; }
  // The target state between steps (tests start a step from a golden state with set_state).
  cv::Point2d centre() const { return pos_; }
  cv::Size2d size() const { return size_; }
  int instance_size() const { return instance_size_; }
  // instance_size > 0 also changes the search size (normally fixed at initialisation).
  void set_state(const cv::Point2d& centre, const cv::Size2d& size, int instance_size = 0);
  TargetFeatures& features();
  // The last result (the initial mask and box right after init).
  const TargetResult& last() const { return last_; }

 private:
  InitReport init_common(const cv::Mat& frame, const cv::Point2d& centre, const cv::Size2d& size,
                         const cv::Mat& mask01);
  // prob: the frame-size foreground probability (mask = prob > seg_thr); when it is empty, mask01: a mask already
  // thresholded (0/1, the frame step's); both empty: a model without a mask head (the filled box).
  TargetResult make_result(const cv::Mat& prob, const cv::Size& frame_size, double score, const cv::Mat& mask01 = {});
  // The step in parts, so that several trackers can share one network pass (track_all): the search window, the
  // frame step's input, the state update from the chosen peak, and the frame step's end.
  void begin_step(StepTrace& t) const;
  // frame: the BGR frame or null; source: the frame as it lies in memory or null (one of them is given).
  FrameStepInput frame_step_input(const cv::Size& frame_size, const cv::Mat* frame, const FrameSource* source,
                                  StepTrace& t) const;
  void apply_peak(const cv::Size& frame_size, StepTrace& t);
  TargetResult finish_frame_step(const cv::Size& frame_size, StepTrace& t, const FrameStepOutput& out);
  // The frame-step result: the mask from the ROI the kernels pasted, the polygon from the mask.
  TargetResult make_result_from_roi(const FrameStepOutput& step, const cv::Size& frame_size);
  void fit_first_frame(const cv::Mat& frame, const cv::Mat& mask01, const cv::Point2d& centre, double s_z);

  std::shared_ptr<TrackingModel> model_;
  TrackerParams params_;
  int id_;
  std::unique_ptr<TargetFeatures> features_;
  cv::Point2d pos_;
  cv::Size2d size_;
  int instance_size_ = 0;
  int score_size_ = 0;
  cv::Mat window_;
  cv::Scalar pad_colour_;
  bool cyclic_mode_ = false;  // the polygon uses a threshold relative to the maximum
  bool in_cyclic_init_ = false;
  FrameStepMode frame_step_mode_ = FrameStepMode::Auto;
  TargetResult last_;
};

// The label map (CV_8U, value = target id) of several targets' results: the id of the largest probability above
// seg_thr (merge_labels), or, when some result has no probability map (a model without a mask head, a box-filled
// fallback), the masks painted in order, later targets winning overlaps.
cv::Mat merge_results(const std::vector<TargetResult>& results, const cv::Size& frame_size, double seg_thr);

// Several targets on one model. Targets may be added at any frame (the others keep tracking).
class MultiTracker {
 public:
  MultiTracker(std::shared_ptr<TrackingModel> model, TrackerParams params);
  // Returns the init report; ids must be unique and in 1..255 (they are the label map's values).
  InitReport add_target_mask(int id, const cv::Mat& frame, const cv::Mat& mask);
  InitReport add_target_box(int id, const cv::Mat& frame, const cv::Rect2d& box, bool cyclic = true);
  bool remove_target(int id);
  size_t size() const { return trackers_.size(); }
  std::vector<int> ids() const;
  // One step for every target, in id order.
  std::vector<TargetResult> track(const cv::Mat& frame);
  // Every target's last result (right after adding it: its initial mask and box), in id order.
  std::vector<TargetResult> last() const;
  // merge_results() with this tracker's seg_thr.
  cv::Mat label_map(const std::vector<TargetResult>& results, const cv::Size& frame_size) const;
  // For every target, present and future (Tracker::set_frame_step).
  void set_frame_step(FrameStepMode mode);

 private:
  Tracker& add(int id);
  std::shared_ptr<TrackingModel> model_;
  TrackerParams params_;
  FrameStepMode frame_step_ = FrameStepMode::Auto;
  std::vector<std::unique_ptr<Tracker>> trackers_;
};

}  // namespace oceanplus::track
