// The OceanPlus networks (TracKit OceanPlus, offline): ResNet-50 variant backbone, neck, Ocean box head, ARN and the
// MSS / MMS mask decoders. Inference only, float32, one target per pass or several (track_batch). See
// shared/reference/oceanplus_spec.md §1.
//
// Usage: make_template() once per target (caches every template-side result), then track() per frame. The tracker
// (track/) owns the geometry and the per-target state; this class only computes.
// Threads: an instance serves one thread at a time (its oneDNN primitives share scratch memory); give each streaming
// thread its own instance. The first pass at a new input size also packs the weights for it (a few hundred ms).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "io/weights.h"
#include "nn/layers.h"

namespace oceanplus::nn {

enum class MaskDecoder { MSS, MMS };
const char* mask_decoder_name(MaskDecoder decoder);

// Everything computed from the template crop and the first-frame mask, kept for the life of a target.
struct TemplateState {
  at::Tensor zf_ori;         // 1×256×15×15 neck output (ARN keys come from it)
  at::Tensor zf;             // 1×256×7×7 centre crop (correlation kernel)
  at::Tensor template_mask;  // 1×127×127 binary float (ARN look-up values)
  // Template update (spec §3.6): moving-average kernel; zf_update is undefined until the first update.
  at::Tensor ma_kernel;
  at::Tensor zf_update;
  // Caches (spec §6): the encoded kernels of both branches, ARN keys and look-up values.
  std::array<at::Tensor, 3> reg_kernels;  // reg_encode.matrix{11,12,21}_k(zf)
  std::array<at::Tensor, 3> cls_kernels;  // cls_encode.matrix{11,12,21}_k(zf_update or zf)
  at::Tensor arn_keys;                    // 1×64×225: t_embed(zf_ori), the LUT addresses
  at::Tensor arn_values;                  // 1×225×1: template mask sampled at 15×15
};

// Outputs of one search pass.
struct SearchOutput {
  at::Tensor cls_logits;   // 1×1×S×S, before sigmoid (already ×0.1)
  at::Tensor bbox_ltrb;    // 1×4×S×S, l,t,r,b distances in search-crop pixels
  at::Tensor mask_logits;  // 1×2×S'×S' at the search-crop resolution
  at::Tensor neck_xf;      // 1×256×W×W search neck feature (the template update samples it)
  at::Tensor cls_dw;       // 1×256×S×S correlation feature fed to the mask branch
};

// Intermediate tensors of one search pass, for parity tests and debugging (filled only when asked for).
struct SearchTrace {
  at::Tensor c1, c2, c3, c4;                       // backbone taps x_, p1, p2, layer3
  at::Tensor reg_dw, cls_tower, bbox_tower;
  at::Tensor arn_map_preclamp;                     // 1×1×W×W
  at::Tensor arn_attention;                        // 1×HW×225
  std::vector<at::Tensor> stage_logits;            // MMS: mask1, mask2, mask3 (MSS: mask1)
  // Wall time per stage in milliseconds (CPU: the work is synchronous, so these add up to the pass; GPU: each stage
  // waits for its last output when a trace is asked for).
  double backbone_ms = 0, neck_ms = 0, head_ms = 0, mask_ms = 0;
};

class OceanPlusNet {
 public:
  // Builds the network from a state dict. The decoder (MSS or MMS) is detected from the keys: MMS checkpoints carry
  // mask_model.iter.* and mask_model.iter2.*. Throws WeightsError naming the key for a missing key or wrong shape.
  static std::shared_ptr<OceanPlusNet> load(const io::StateDict& weights, const LoadOptions& options = {});
  static std::shared_ptr<OceanPlusNet> load_file(const std::string& path, const LoadOptions& options = {});
  // A state dict of the right keys and shapes filled with random numbers (benchmarks; no weights file needed).
  static io::StateDict synthetic_weights(MaskDecoder decoder, uint64_t seed = 1);
  ~OceanPlusNet();

  MaskDecoder decoder() const;
  // Where the weights are (LoadOptions::device); inputs must be there too.
  at::Device device() const { return device_; }
  // Whether its convolutions run on oneDNN directly (the CPU's fast path, which takes batches of one).
  bool on_onednn() const;
  // Keys the network read, and keys it knows but does not use at inference (for tests and diagnostics).
  const std::vector<std::string>& used_keys() const;
  const std::vector<std::string>& skipped_keys() const;

  // z: 1×3×127×127 float BGR 0..255; mask: 1×127×127 float 0/1 (binarised template mask).
  TemplateState make_template(const at::Tensor& z, const at::Tensor& mask) const;
  // Replaces the look-up values only (cyclic initialisation's reinit, spec §3.10).
  void set_template_mask(TemplateState& state, const at::Tensor& mask) const;
  // x: 1×3×S'×S' float BGR 0..255 with S' = 255 or 287 (any square size whose feature maps line up).
  SearchOutput track(const TemplateState& state, const at::Tensor& x, SearchTrace* trace = nullptr) const;
  // N targets in one pass: x is N×3×S'×S', item i cropped for states[i]; every output has N items, item i as
  // track(*states[i], x[i]) would give it (within float rounding: batches run through at::conv2d, not oneDNN).
  SearchOutput track_batch(const std::vector<const TemplateState*>& states, const at::Tensor& x) const;
  // Ocean's moving-average template update (spec §3.6). pos/size in search-crop pixels (offset from the crop centre,
  // and the target size before this frame), score = the penalised, windowed peak score. Refreshes the cls kernels.
  // Returns the sampling grid (1×7×7×2, float64, normalised) for tests.
  at::Tensor update_template(TemplateState& state, const at::Tensor& search_neck_xf, double pos_x, double pos_y,
                             double width, double height, double score) const;
  // Sets the template-update state directly (moving-average kernel and the blended kernel, 1×256×7×7 each; an
  // undefined zf_update returns to the first-frame kernel) and refreshes the cls kernels. For resuming a target from
  // a saved state, and for step-level tests.
  void set_template_update(TemplateState& state, const at::Tensor& ma_kernel, const at::Tensor& zf_update) const;

 private:
  struct Impl;
  explicit OceanPlusNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  at::Device device_ = at::kCPU;
};

}  // namespace oceanplus::nn
