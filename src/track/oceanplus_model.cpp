#include "track/oceanplus_model.h"

#include <ATen/ATen.h>

#include <cstring>

#include "common/error.h"

namespace oceanplus::track {

at::Tensor bgr_to_tensor(const cv::Mat& bgr, at::Device device) {
  if (bgr.type() != CV_8UC3) throw Error("expected an 8-bit BGR crop");
  cv::Mat contiguous = bgr.isContinuous() ? bgr : bgr.clone();
  return at::from_blob(contiguous.data, {contiguous.rows, contiguous.cols, 3}, at::kByte)
      .to(device)
      .permute({2, 0, 1})
      .unsqueeze(0)
      .to(at::kFloat)
      .contiguous();
}

at::Tensor mask_to_tensor(const cv::Mat& mask, at::Device device) {
  if (mask.type() != CV_8UC1) throw Error("expected an 8-bit single-channel mask");
  cv::Mat contiguous = mask.isContinuous() ? mask : mask.clone();
  return at::from_blob(contiguous.data, {1, contiguous.rows, contiguous.cols}, at::kByte).to(device).to(at::kFloat);
}

cv::Mat tensor_to_mat(const at::Tensor& map) {
  at::Tensor t = map.to(at::kCPU, at::kFloat).contiguous();
  if (t.dim() != 2) throw Error("tensor_to_mat: expected a 2-D tensor");
  cv::Mat out(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_32F);
  std::memcpy(out.data, t.data_ptr<float>(), sizeof(float) * t.numel());
  return out;
}

OceanPlusModel::OceanPlusModel(std::shared_ptr<nn::OceanPlusNet> net) : net_(std::move(net)) {
  if (!net_) throw Error("OceanPlusModel: no network");
  geometry_.exemplar_size = 127;
  geometry_.stride = 8;
  geometry_.has_mask = true;
  geometry_.has_template_update = true;
}

std::shared_ptr<OceanPlusModel> OceanPlusModel::load(const std::string& path, const nn::LoadOptions& options) {
  return std::make_shared<OceanPlusModel>(nn::OceanPlusNet::load_file(path, options));
}

std::shared_ptr<OceanPlusModel> OceanPlusModel::synthetic(nn::MaskDecoder decoder, uint64_t seed,
                                                          const nn::LoadOptions& options) {
  return std::make_shared<OceanPlusModel>(
      nn::OceanPlusNet::load(nn::OceanPlusNet::synthetic_weights(decoder, seed), options));
}

std::string OceanPlusModel::name() const {
  return std::string("OceanPlus-") + nn::mask_decoder_name(net_->decoder());
}

int OceanPlusModel::score_size(int instance_size) const {
  // Backbone stride 8 with conv1's lost border: feature side (S'-1)/8 (31 at 255); the 7×7 kernel leaves side-6.
  const int feature = (instance_size - 1) / 8;
  return feature - 6;
}

OceanPlusTarget& OceanPlusModel::target_of(TargetFeatures& target) {
  auto* t = dynamic_cast<OceanPlusTarget*>(&target);
  if (!t) throw Error("target state does not belong to an OceanPlus model");
  return *t;
}

std::unique_ptr<TargetFeatures> OceanPlusModel::make_target(const cv::Mat& z_crop, const cv::Mat& mask) {
  auto target = std::make_unique<OceanPlusTarget>();
  target->state = net_->make_template(bgr_to_tensor(z_crop, net_->device()), mask_to_tensor(mask, net_->device()));
  return target;
}

void OceanPlusModel::reset_target_mask(TargetFeatures& target, const cv::Mat& mask) {
  net_->set_template_mask(target_of(target).state, mask_to_tensor(mask, net_->device()));
}

namespace {
// The maps of N search passes: the cls logits (N×1×S×S, before the sigmoid), the box distances, and the mask's
// foreground probability (N×S'×S').
FrameStepMaps maps_of(const nn::SearchOutput& out) {
  FrameStepMaps maps;
  maps.logits = out.cls_logits;
  maps.ltrb = out.bbox_ltrb;
  maps.mask_prob = at::softmax(out.mask_logits, 1).select(1, 1);
  return maps;
}

// Releases the previous pass's tensors first, so that the allocator reuses their memory instead of mapping fresh
// pages for this pass.
void release_last_pass(OceanPlusTarget& t) {
  t.last_output = nn::SearchOutput();
  t.last_neck_xf = at::Tensor();
}
}  // namespace

FrameStepMaps OceanPlusModel::search_maps(OceanPlusTarget& t, const at::Tensor& crop) const {
  release_last_pass(t);
  t.last_output = net_->track(t.state, crop);
  t.last_neck_xf = t.last_output.neck_xf;
  return maps_of(t.last_output);
}

SearchResult OceanPlusModel::track(TargetFeatures& target, const cv::Mat& x_crop) {
  OceanPlusTarget& t = target_of(target);
  at::NoGradGuard no_grad;
  const FrameStepMaps maps = search_maps(t, bgr_to_tensor(x_crop, net_->device()));
  SearchResult r;
  r.score = tensor_to_mat(at::sigmoid(maps.logits[0][0]));
  for (int i = 0; i < 4; ++i) r.ltrb[i] = tensor_to_mat(maps.ltrb[0][i]);
  r.mask_prob = tensor_to_mat(maps.mask_prob[0]);
  return r;
}

void OceanPlusModel::frame_step(TargetFeatures& target, const FrameStepInput& in, FrameStepOutput& out) {
  OceanPlusTarget& t = target_of(target);
  at::NoGradGuard no_grad;
  std::vector<FrameStepInput> steps{in};
  steps[0].peak.activation = OCEANPLUS_ACTIVATION_SIGMOID;
  std::vector<FrameStepOutput> outs;
  run_frame_steps(net_->device(), steps, {&t.frame_step},
                  [&](const at::Tensor& crop) { return search_maps(t, crop); }, outs);
  out = std::move(outs[0]);
}

void OceanPlusModel::frame_step_batch(const std::vector<TargetFeatures*>& targets,
                                      const std::vector<FrameStepInput>& in, std::vector<FrameStepOutput>& out) {
  if (targets.size() != in.size()) throw Error("frame_step_batch: one input per target");
  if (in.size() == 1 || net_->on_onednn()) {
    // One pass per target on oneDNN: it runs batches of one (a batch would fall back to at::conv2d, 1.7× slower
    // for four MSS targets on the development machine's CPU).
    TrackingModel::frame_step_batch(targets, in, out);
    return;
  }
  at::NoGradGuard no_grad;
  std::vector<OceanPlusTarget*> ts;
  std::vector<const nn::TemplateState*> states;
  std::vector<FrameStepCache*> caches;
  for (TargetFeatures* target : targets) {
    OceanPlusTarget& t = target_of(*target);
    release_last_pass(t);
    ts.push_back(&t);
    states.push_back(&t.state);
    caches.push_back(&t.frame_step);
  }
  std::vector<FrameStepInput> steps = in;
  for (FrameStepInput& step : steps) step.peak.activation = OCEANPLUS_ACTIVATION_SIGMOID;
  run_frame_steps(net_->device(), steps, caches,
                  [&](const at::Tensor& crops) {
                    const nn::SearchOutput batch = net_->track_batch(states, crops);
                    for (size_t i = 0; i < ts.size(); ++i) {
                      ts[i]->last_neck_xf = batch.neck_xf.narrow(0, static_cast<int64_t>(i), 1);
                    }
                    return maps_of(batch);
                  },
                  out);
}

void OceanPlusModel::update_template(TargetFeatures& target, double pos_x, double pos_y, double width, double height,
                                     double score) {
  OceanPlusTarget& t = target_of(target);
  if (!t.last_neck_xf.defined()) throw Error("template update before any search pass");
  net_->update_template(t.state, t.last_neck_xf, pos_x, pos_y, width, height, score);
}

}  // namespace oceanplus::track
