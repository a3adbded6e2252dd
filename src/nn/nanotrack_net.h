// NanoTrack v2 / v3 (reference/nanotrack_spec.md §2-4): a MobileNetV3-small backbone cut at stride 16 and a
// pixel-wise (v2) or pixel-wise + depth-wise (v3) correlation head with two depthwise-separable towers. The light
// model family of the tracker; OceanPlus-Lite adds a mask head on its features (nn/lite_mask_head.h).
//
// Inputs are raw BGR 0-255 float crops (no mean/std). BatchNorm runs in inference mode, folded into the preceding
// convolution at load time unless LoadOptions::fold_batchnorm is off. The neck the checkpoints hold is never used by
// the reference tracker and is not ported (its keys are skipped).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/weights.h"
#include "nn/layers.h"

namespace oceanplus::nn {

enum class NanoTrackVersion { V2, V3 };
const char* nanotrack_version_name(NanoTrackVersion version);

// The backbone's intermediate maps that a mask head reads (spec §7), for one crop.
struct NanoTrackTaps {
  at::Tensor stride2;   // features.0 (stem, h-swish): 16 ch
  at::Tensor stride4;   // features.1 output: 16 ch
  at::Tensor stride8;   // features.3 output: 24 ch
  at::Tensor stride16;  // the backbone output (zf / xf): 48 ch (v2) or 96 ch (v3)

  // The taps of batch item i (views, batch 1).
  NanoTrackTaps item(int64_t i) const {
    return {stride2.slice(0, i, i + 1), stride4.slice(0, i, i + 1), stride8.slice(0, i, i + 1),
            stride16.slice(0, i, i + 1)};
  }
};

struct NanoTrackHeadOutput {
  at::Tensor cls;        // 1×2×S×S logits; the score is softmax over the 2 channels, channel 1 = foreground
  at::Tensor loc;        // 1×4×S×S exp'ed distances (l, t, r, b) in search-crop pixels
  at::Tensor cls_corr;   // the classification branch's correlation feature: corr_pw_cls (v2, 64 ch) or down_cls (v3)
};

class NanoTrackNet {
 public:
  // Builds the network from a state dict (the version is told by the keys: features.9 exists only in v3). Errors
  // name the file and the key.
  static std::shared_ptr<NanoTrackNet> load(const io::StateDict& state, const LoadOptions& options = {});
  static std::shared_ptr<NanoTrackNet> load_file(const std::string& path, const LoadOptions& options = {});
  // Random weights of the given version's shapes (tests and benchmarks without a weights file).
  static io::StateDict synthetic_weights(NanoTrackVersion version, uint64_t seed);

  NanoTrackVersion version() const { return version_; }
  // Where the weights are (LoadOptions::device); inputs must be there too.
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  int64_t feature_channels() const;  // 48 (v2) or 96 (v3)
  // Score side for a search crop side (255 → 16 for v2, 15 for v3).
  int score_size(int instance_size) const;

  // Backbone on a 1×3×H×W (or N×3×H×W) float crop. taps (optional) receives the mask head's inputs; stages
  // (optional) every features.i output, for parity tests.
  at::Tensor backbone(const at::Tensor& crop, NanoTrackTaps* taps = nullptr,
                      std::vector<at::Tensor>* stages = nullptr) const;
  // The correlation head on the template feature zf (1×C×8×8, or N×C×8×8: one template per search, several
  // targets in one pass) and the search feature xf (N×C×16×16). trace
  // (optional) receives the head's intermediate tensors under the golden files' names ("head.corr_pw_cls", ...).
  NanoTrackHeadOutput head(const at::Tensor& zf, const at::Tensor& xf,
                           std::map<std::string, at::Tensor>* trace = nullptr) const;

  // Only the classification branch's correlation feature (what the mask head reads), without the towers; one
  // template per batch item (zf N×C×8×8 with xf N×C×H×W), for training.
  at::Tensor cls_correlation(const at::Tensor& zf, const at::Tensor& xf) const;

  struct Layer;  // a convolution with its folded BatchNorm and activation (nanotrack_net.cpp)
  struct Block;
  struct Correlation;
  struct Tower;

 private:
  static std::shared_ptr<NanoTrackNet> build(io::WeightReader& weights, const LoadOptions& options);
  NanoTrackVersion version_ = NanoTrackVersion::V2;
  at::Device device_ = at::kCPU;
  at::ScalarType dtype_ = at::kFloat;  // LoadOptions::dtype: the backbone converts its input to it
  bool channels_last_ = false;
  std::vector<std::shared_ptr<Block>> blocks_;  // features.0 .. features.8 (9)
  std::shared_ptr<Correlation> corr_pw_cls_, corr_pw_reg_, corr_dw_cls_, corr_dw_reg_;
  std::shared_ptr<Layer> down_cls_, down_reg_;
  std::shared_ptr<Tower> cls_tower_, bbox_tower_;
  std::shared_ptr<Layer> cls_pred_, bbox_pred_;
};

}  // namespace oceanplus::nn
