#include "track/nanotrack_model.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "track/oceanplus_model.h"  // bgr_to_tensor, mask_to_tensor, tensor_to_mat

namespace oceanplus::track {

NanoTrackModel::NanoTrackModel(std::shared_ptr<nn::NanoTrackNet> net, std::shared_ptr<nn::LiteMaskHead> mask_head)
    : net_(std::move(net)), mask_head_(std::move(mask_head)) {
  if (!net_) throw Error("NanoTrackModel: no network");
  geometry_.exemplar_size = 127;
  geometry_.stride = 16;
  geometry_.has_mask = mask_head_ != nullptr;
  geometry_.has_template_update = false;
  geometry_.fits_first_frame = mask_head_ != nullptr;
}

std::shared_ptr<NanoTrackModel> NanoTrackModel::from_state(const io::StateDict& state, const nn::LoadOptions& options) {
  // The weights go to the device once; the network and the head both read that copy.
  const io::StateDict on_device = options.device.is_cpu() ? io::StateDict() : io::moved_to(state, options.device);
  const io::StateDict& weights = options.device.is_cpu() ? state : on_device;
  auto net = nn::NanoTrackNet::load(weights, options);
  io::WeightReader reader(weights);
  auto head = std::make_shared<nn::LiteMaskHead>(net->feature_channels(),
                                                 net->version() == nn::NanoTrackVersion::V2 ? 64 : 96);
  if (!head->load(reader)) {
    head.reset();
  } else if (net->version() != nn::NanoTrackVersion::V2) {
    throw Error(state.source + ": the OceanPlus-Lite mask head is built on NanoTrack v2 (16×16 features), not v3");
  }
  if (head) head->to_compute(options);
  return std::make_shared<NanoTrackModel>(std::move(net), std::move(head));
}

std::shared_ptr<NanoTrackModel> NanoTrackModel::load(const std::string& path, const nn::LoadOptions& options) {
  return from_state(io::load_state_dict(path), options);
}

std::string NanoTrackModel::name() const {
  return std::string(mask_head_ ? "OceanPlus-Lite-" : "NanoTrack-") + nn::nanotrack_version_name(net_->version());
}

NanoTrackTarget& NanoTrackModel::target_of(TargetFeatures& target) {
  auto* t = dynamic_cast<NanoTrackTarget*>(&target);
  if (!t) throw Error("target state does not belong to a NanoTrack model");
  return *t;
}

std::unique_ptr<TargetFeatures> NanoTrackModel::make_target(const cv::Mat& z_crop, const cv::Mat& mask) {
  at::NoGradGuard no_grad;
  auto target = std::make_unique<NanoTrackTarget>();
  target->zf = net_->backbone(bgr_to_tensor(z_crop, net_->device()));
  if (mask_head_) target->mask = mask_head_->make_template(target->zf, mask_to_tensor(mask, net_->device()).unsqueeze(0));
  return target;
}

void NanoTrackModel::reset_target_mask(TargetFeatures& target, const cv::Mat& mask) {
  if (!mask_head_) return;
  at::NoGradGuard no_grad;
  mask_head_->set_template_mask(target_of(target).mask, mask_to_tensor(mask, net_->device()).unsqueeze(0));
}

void NanoTrackModel::fit_first_frame(TargetFeatures& target, const cv::Mat& x_crop, const cv::Mat& x_mask) {
  if (!mask_head_) return;
  at::NoGradGuard no_grad;
  nn::NanoTrackTaps taps;
  net_->backbone(bgr_to_tensor(x_crop, net_->device()), &taps);
  mask_head_->fit_target_model(target_of(target).mask, taps, mask_to_tensor(x_mask, net_->device()).unsqueeze(0));
}

FrameStepMaps NanoTrackModel::search_maps(const std::vector<NanoTrackTarget*>& targets, const at::Tensor& crops) const {
  nn::LiteMaskInputs inputs;
  const at::Tensor xf = net_->backbone(crops, mask_head_ ? &inputs.taps : nullptr);
  std::vector<at::Tensor> templates;
  for (const NanoTrackTarget* t : targets) templates.push_back(t->zf);
  const nn::NanoTrackHeadOutput head = net_->head(templates.size() == 1 ? templates[0] : at::cat(templates, 0), xf);
  FrameStepMaps maps;
  maps.logits = head.cls;  // N×2×S×S, the two-way classifier
  maps.ltrb = head.loc;
  if (mask_head_) {
    inputs.cls_corr = head.cls_corr;
    std::vector<nn::LiteMaskTemplate> states;
    for (const NanoTrackTarget* t : targets) states.push_back(t->mask);
    maps.mask_prob = at::sigmoid(mask_head_->forward_batch(states, inputs, false).logits).select(1, 0);
  }
  return maps;
}

SearchResult NanoTrackModel::track(TargetFeatures& target, const cv::Mat& x_crop) {
  NanoTrackTarget& t = target_of(target);
  at::NoGradGuard no_grad;
  const FrameStepMaps maps = search_maps({&t}, bgr_to_tensor(x_crop, net_->device()));
  SearchResult r;
  r.score = tensor_to_mat(at::softmax(maps.logits[0], 0)[1]);
  for (int i = 0; i < 4; ++i) r.ltrb[i] = tensor_to_mat(maps.ltrb[0][i]);
  if (maps.mask_prob.defined()) r.mask_prob = tensor_to_mat(maps.mask_prob[0]);
  return r;
}

void NanoTrackModel::frame_step(TargetFeatures& target, const FrameStepInput& in, FrameStepOutput& out) {
  std::vector<FrameStepOutput> outs;
  frame_step_batch({&target}, {in}, outs);
  out = std::move(outs[0]);
}

void NanoTrackModel::frame_step_batch(const std::vector<TargetFeatures*>& targets,
                                      const std::vector<FrameStepInput>& in, std::vector<FrameStepOutput>& out) {
  if (targets.size() != in.size()) throw Error("frame step: one input per target is needed");
  at::NoGradGuard no_grad;
  std::vector<NanoTrackTarget*> own;
  std::vector<FrameStepCache*> caches;
  std::vector<FrameStepInput> steps = in;
  for (size_t i = 0; i < targets.size(); ++i) {
    own.push_back(&target_of(*targets[i]));
    caches.push_back(&own.back()->frame_step);
    steps[i].peak.activation = OCEANPLUS_ACTIVATION_SOFTMAX2;
  }
  run_frame_steps(net_->device(), steps, caches, [&](const at::Tensor& crops) { return search_maps(own, crops); },
                  out);
}

}  // namespace oceanplus::track
