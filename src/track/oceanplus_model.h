// The OceanPlus network (nn/oceanplus_net.h) behind the tracker's model interface (track/model.h): converts OpenCV
// crops to tensors, applies the score sigmoid and the mask softmax, and keeps each target's last search features
// for the template update.
#pragma once

#include <memory>
#include <string>

#include "nn/oceanplus_net.h"
#include "track/frame_step.h"
#include "track/model.h"

namespace oceanplus::track {

// One target's network state.
class OceanPlusTarget : public TargetFeatures {
 public:
  nn::TemplateState state;
  at::Tensor last_neck_xf;  // the search neck feature of the last track() call
  nn::SearchOutput last_output;
  FrameStepCache frame_step;
};

class OceanPlusModel : public TrackingModel {
 public:
  explicit OceanPlusModel(std::shared_ptr<nn::OceanPlusNet> net);
  // Loads a weights file (official .pth or a plain-dict .pt); errors name the file and the key.
  static std::shared_ptr<OceanPlusModel> load(const std::string& path, const nn::LoadOptions& options = {});
  // Random weights (demos and benchmarks without a model file).
  static std::shared_ptr<OceanPlusModel> synthetic(nn::MaskDecoder decoder, uint64_t seed = 1,
                                                   const nn::LoadOptions& options = {});

  std::string name() const override;
  const ModelGeometry& geometry() const override { return geometry_; }
  int score_size(int instance_size) const override;
  std::unique_ptr<TargetFeatures> make_target(const cv::Mat& z_crop, const cv::Mat& mask) override;
  void reset_target_mask(TargetFeatures& target, const cv::Mat& mask) override;
  SearchResult track(TargetFeatures& target, const cv::Mat& x_crop) override;
  void update_template(TargetFeatures& target, double pos_x, double pos_y, double width, double height,
                       double score) override;
  bool has_frame_step() const override { return frame_step_available(net_->device()); }
  bool prefers_frame_step() const override { return frame_step_preferred(net_->device()); }
  void frame_step(TargetFeatures& target, const FrameStepInput& in, FrameStepOutput& out) override;
  // Several targets of one frame in one network pass (OceanPlusNet::track_batch; on the CPU's oneDNN path one pass
  // each). Their last_output stays empty; last_neck_xf (the template update's input) is kept.
  void frame_step_batch(const std::vector<TargetFeatures*>& targets, const std::vector<FrameStepInput>& in,
                        std::vector<FrameStepOutput>& out) override;

  const nn::OceanPlusNet& net() const { return *net_; }
  static OceanPlusTarget& target_of(TargetFeatures& target);

 private:
  // Runs the network on a crop (1×3×N×N on the model's device), keeping the output for the template update.
  FrameStepMaps search_maps(OceanPlusTarget& target, const at::Tensor& crop) const;

  std::shared_ptr<nn::OceanPlusNet> net_;
  ModelGeometry geometry_;
};

// Converts between OpenCV images and the network's tensors (shared with tests and tools).
// On another device than the CPU, the 8-bit image is uploaded and converted there (a quarter of the bytes).
at::Tensor bgr_to_tensor(const cv::Mat& bgr_u8, at::Device device = at::kCPU);    // H×W×3 uint8 -> 1×3×H×W float
at::Tensor mask_to_tensor(const cv::Mat& mask_u8, at::Device device = at::kCPU);  // H×W 0/1 uint8 -> 1×H×W float
cv::Mat tensor_to_mat(const at::Tensor& map2d);  // H×W float tensor on any device -> CV_32F (copy)

}  // namespace oceanplus::track
