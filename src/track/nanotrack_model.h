// NanoTrack (nn/nanotrack_net.h) behind the tracker's model interface, optionally with the OceanPlus-Lite mask head
// (nn/lite_mask_head.h): the light model family. Without a mask head it tracks boxes only.
#pragma once

#include <memory>
#include <string>

#include "nn/lite_mask_head.h"
#include "nn/nanotrack_net.h"
#include "track/frame_step.h"
#include "track/model.h"

namespace oceanplus::track {

class NanoTrackTarget : public TargetFeatures {
 public:
  at::Tensor zf;                 // 1×C×8×8 template feature
  nn::LiteMaskTemplate mask;     // the mask head's per-target state (empty without a head)
  FrameStepCache frame_step;
};

class NanoTrackModel : public TrackingModel {
 public:
  NanoTrackModel(std::shared_ptr<nn::NanoTrackNet> net, std::shared_ptr<nn::LiteMaskHead> mask_head);
  // A NanoTrack weights file, with or without "mask_head.*" keys (OceanPlus-Lite). Errors name the file and the key.
  static std::shared_ptr<NanoTrackModel> load(const std::string& path, const nn::LoadOptions& options = {});
  static std::shared_ptr<NanoTrackModel> from_state(const io::StateDict& state, const nn::LoadOptions& options = {});

  std::string name() const override;
  const ModelGeometry& geometry() const override { return geometry_; }
  int score_size(int instance_size) const override { return net_->score_size(instance_size); }
  std::unique_ptr<TargetFeatures> make_target(const cv::Mat& z_crop, const cv::Mat& mask) override;
  void reset_target_mask(TargetFeatures& target, const cv::Mat& mask) override;
  void fit_first_frame(TargetFeatures& target, const cv::Mat& x_crop, const cv::Mat& x_mask) override;
  SearchResult track(TargetFeatures& target, const cv::Mat& x_crop) override;
  void update_template(TargetFeatures&, double, double, double, double, double) override {}
  bool has_frame_step() const override { return frame_step_available(net_->device()); }
  bool prefers_frame_step() const override { return frame_step_preferred(net_->device()); }
  void frame_step(TargetFeatures& target, const FrameStepInput& in, FrameStepOutput& out) override;
  // One backbone, head and mask-head pass over every target's crop.
  void frame_step_batch(const std::vector<TargetFeatures*>& targets, const std::vector<FrameStepInput>& in,
                        std::vector<FrameStepOutput>& out) override;

  const nn::NanoTrackNet& net() const { return *net_; }
  const nn::LiteMaskHead* mask_head() const { return mask_head_.get(); }
  static NanoTrackTarget& target_of(TargetFeatures& target);

 private:
  // The network's maps for N search crops (N×3×S×S on the model's device), crop i searching for targets[i].
  FrameStepMaps search_maps(const std::vector<NanoTrackTarget*>& targets, const at::Tensor& crops) const;

  std::shared_ptr<nn::NanoTrackNet> net_;
  std::shared_ptr<nn::LiteMaskHead> mask_head_;
  ModelGeometry geometry_;
};

}  // namespace oceanplus::track
