// What the tracker needs from a network: a torch-free interface, so that the tracker logic (track/tracker.cpp) does
// not depend on how a model computes, and a second model family (a lighter backbone and head) plugs into the same
// tracker with its own stride, sizes and score activation.
#pragma once

#include <opencv2/core.hpp>

#include "common/error.h"
#include "oceanplus_kernels_common.h"  // plain C parameter structs of the frame-step kernels (kernels/)

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace oceanplus::track {

// Geometry of a Siamese model's outputs.
struct ModelGeometry {
  int exemplar_size = 127;  // template crop side
  int stride = 8;           // score-map cell size in search-crop pixels
  bool has_mask = true;     // the model outputs a foreground probability at the search-crop resolution
  bool has_template_update = true;
  // The model adapts to the first frame beyond the template crop (e.g. a classifier fitted on a search-size crop of
  // the first frame and its mask): the tracker calls fit_first_frame() at initialisation.
  bool fits_first_frame = false;
};

// A model's per-target state (template features, look-up tables, the last search features, ...). Opaque here.
class TargetFeatures {
 public:
  virtual ~TargetFeatures() = default;
};

// Outputs of one search pass, already activated.
struct SearchResult {
  cv::Mat score;                // S×S CV_32F foreground score in [0, 1] (sigmoid, softmax... as the model defines)
  std::array<cv::Mat, 4> ltrb;  // S×S CV_32F each: distances left, top, right, bottom from the cell's grid point
  cv::Mat mask_prob;            // S'×S' CV_32F foreground probability over the search crop; empty without a mask head
};

// A frame as it lies in memory, for the frame step's crop kernel to read in place: another pixel format than BGR
// (NV12 or I420 from a decoder), or a buffer already on a GPU (GStreamer's CUDA memory), which then needs no upload.
struct FrameSource {
  oceanplus_image image{};  // format, size, planes and strides (kernels/oceanplus_kernels_common.h)
  int cuda_device = -1;     // -1: the planes are host memory; N: device pointers on CUDA device N
};

// One tracking step done where the model runs, with the kernels of kernels/: crop from the frame, network, peak
// choice and mask paste-back in a single call. On a GPU the frame goes up once (not at all when it is there
// already) and only the peak and the mask's ROI come back. The tracker fills every parameter except
// peak.activation, which the model sets.
struct FrameStepInput {
  const cv::Mat* frame = nullptr;          // the host BGR frame (CV_8UC3), or null when `source` is given
  const FrameSource* source = nullptr;     // when set, the crop reads this instead of `frame`
  oceanplus_crop_params crop{};
  oceanplus_peak_params peak{};
  const cv::Mat* window = nullptr;  // S×S CV_64F cosine window
  oceanplus_paste_params paste{};   // ignored by models without a mask head
};
struct FrameStepOutput {
  oceanplus_peak peak{};
  oceanplus_roi roi{};  // the part of the frame the mask covers (the visible search window)
  cv::Mat roi_mask;     // roi.height × roi.width CV_8U 0/255; empty without a mask head or for an empty ROI
};

class TrackingModel {
 public:
  virtual ~TrackingModel() = default;
  virtual std::string name() const = 0;
  virtual const ModelGeometry& geometry() const = 0;
  // Side S of the score map for a search crop of side instance_size.
  virtual int score_size(int instance_size) const = 0;
  // z_crop: exemplar_size² CV_8UC3 BGR; mask: exemplar_size² CV_8U 0/1 (ignored by models without a mask head).
  virtual std::unique_ptr<TargetFeatures> make_target(const cv::Mat& z_crop, const cv::Mat& mask) = 0;
  // Replaces the first-frame mask only (cyclic initialisation's re-initialisation).
  virtual void reset_target_mask(TargetFeatures& target, const cv::Mat& mask) = 0;
  // Only for geometry().fits_first_frame: x_crop is the first frame cropped like a search crop around the target
  // (instance_size² CV_8UC3 BGR), x_mask the target's mask in it (CV_8U 0/1). Called again when the mask improves.
  virtual void fit_first_frame(TargetFeatures& /*target*/, const cv::Mat& /*x_crop*/, const cv::Mat& /*x_mask*/) {}
  // x_crop: instance_size² CV_8UC3 BGR. The model may keep search features in `target` for update_template().
  virtual SearchResult track(TargetFeatures& target, const cv::Mat& x_crop) = 0;
  // Template update from the features of the last track() call of this target: pos = offset of the new centre from
  // the crop centre, size = the target size before the step, both in search-crop pixels; score = the peak's pscore.
  virtual void update_template(TargetFeatures& target, double pos_x, double pos_y, double width, double height,
                               double score) = 0;
  // The frame step (above): whether this model has one, and whether the tracker should use it by default (a model on
  // a GPU: the classic path would move the crop and the maps across for every step).
  virtual bool has_frame_step() const { return false; }
  virtual bool prefers_frame_step() const { return false; }
  // Keeps what update_template() needs, as track() does. Throws oceanplus::Error when has_frame_step() is false.
  virtual void frame_step(TargetFeatures& /*target*/, const FrameStepInput& /*in*/, FrameStepOutput& /*out*/) {
    throw Error(name() + ": no frame step (kernels) for this model");
  }
  // The frame steps of several targets of one frame, in one network pass where the model can batch them (how a GPU
  // tracks several targets at the price of about one). in[i] belongs to targets[i]; all share the frame and the
  // search size. Default: one frame_step() each.
  virtual void frame_step_batch(const std::vector<TargetFeatures*>& targets, const std::vector<FrameStepInput>& in,
                                std::vector<FrameStepOutput>& out) {
    out.resize(in.size());
    for (size_t i = 0; i < in.size(); ++i) frame_step(*targets[i], in[i], out[i]);
  }
};

}  // namespace oceanplus::track
