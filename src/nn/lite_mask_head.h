// The OceanPlus-Lite mask head: the paper's mask branch (an attention retrieval network and a multi-resolution
// multi-stage decoder) sized for a CPU, on the features of a frozen NanoTrack (spec nanotrack_spec.md §7).
//
//   template side (once per target):  zf (C×8×8) → keys;  the 127² template mask, box-averaged to 8×8 → values
//                                      + a target model: a ridge-regression pixel classifier fitted on the first
//                                        frame's search-size crop (stride-8 and stride-16 features) and its mask
//   search side (every frame):        ARN: softmax(s_embed(xf)·t_embed(zf)ᵀ/√d) · values → 16×16 prior
//                                      target model → 32×32 prior
//                                      decoder 16 → 32 → 64 → 128 (stride 16/8/4/2 taps, the cls correlation,
//                                      both priors) → mask logits, upsampled (aligned) to the 255 search crop
//
// Every weight is a plain tensor under "mask_head.": the same forward serves inference (under NoGradGuard) and
// training (oceanplus-train, with autograd through the head only).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "io/weights.h"
#include "nn/layers.h"
#include "nn/nanotrack_net.h"

namespace oceanplus::nn {

// The per-target state of the head.
struct LiteMaskTemplate {
  at::Tensor arn_keys;    // 1×64×D (template cells × embedding)
  at::Tensor arn_values;  // 1×64×1 (the template mask averaged over each cell)
  // The target model, its feature standardisation folded in: a 1×F×1×1 filter and a bias of 1; undefined = none.
  at::Tensor tm_filter, tm_bias;
};

// What the decoder reads from one search pass (all from the frozen network).
struct LiteMaskInputs {
  NanoTrackTaps taps;  // of the search crop
  at::Tensor cls_corr; // the head's classification correlation (16×16)
};

struct LiteMaskOutput {
  at::Tensor logits;                     // N×1×255×255 mask logits over the search crop
  std::vector<at::Tensor> deep_logits;   // N×1 logits at 16², 32², 64² (deep supervision; training only)
  at::Tensor arn;                        // N×1×16×16 ARN prior
  at::Tensor target_model;               // N×1×32×32 target-model prior (zeros without one)
};

class LiteMaskHead {
 public:
  // Channels of the frozen network's taps: feature = 48 (v2) / 96 (v3), correlation = 64 (v2) / 96 (v3).
  LiteMaskHead(int64_t feature_channels, int64_t corr_channels);
  // Loads "mask_head.*" from a state dict (shape errors name the key). Returns false when the dict has no mask head.
  bool load(io::WeightReader& weights);
  // Converts the weights to the compute type and layout of a loaded network (LoadOptions::dtype, channels_last).
  void to_compute(const LoadOptions& options);
  // Fresh weights (Kaiming-uniform, fixed seed) for training.
  void initialise(uint64_t seed);
  // The trainable tensors with their keys (requires_grad set by the trainer).
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const;
  void add_to(io::StateDict& out) const;

  // Template side. zf: 1×C×8×8; template_mask: 1×1×127×127 float 0/1.
  LiteMaskTemplate make_template(const at::Tensor& zf, const at::Tensor& template_mask) const;
  // Replaces the look-up values (cyclic initialisation) and keeps keys and the target model.
  void set_template_mask(LiteMaskTemplate& state, const at::Tensor& template_mask) const;
  // Fits the target model on the first frame's search-size crop features and its 255² mask (1×1×255×255 0/1).
  // ridge: the L2 weight (relative to the sample count).
  // fit_weight (optional, 1×1×255×255 in [0, 1]): how much each pixel counts in the fit (training hides parts of
  // the object from it, as a video shows parts the first frame did not).
  void fit_target_model(LiteMaskTemplate& state, const NanoTrackTaps& taps, const at::Tensor& search_mask,
                        double ridge = 0.1, const at::Tensor& fit_weight = {}) const;

  // Search side (batch N with one template state, or batch N with N states in training via forward_batch).
  LiteMaskOutput forward(const LiteMaskTemplate& state, const LiteMaskInputs& in, bool deep_supervision = false) const;
  // Training: one template state per batch item.
  LiteMaskOutput forward_batch(const std::vector<LiteMaskTemplate>& states, const LiteMaskInputs& in,
                               bool deep_supervision) const;

  int64_t embed_channels() const { return embed_; }

 private:
  at::Tensor target_model_map(const LiteMaskTemplate& state, const NanoTrackTaps& taps) const;
  at::Tensor decode(const at::Tensor& arn, const at::Tensor& tm, const LiteMaskInputs& in,
                    std::vector<at::Tensor>* deep) const;

  struct Conv {
    at::Tensor weight, bias;
    int64_t padding = 0;
  };
  std::vector<std::pair<std::string, Conv*>> convs();
  std::vector<std::pair<std::string, const Conv*>> convs() const;

  int64_t feature_channels_, corr_channels_, embed_ = 32;
  Conv t_embed_, s_embed_;
  Conv s16_a_, s16_b_, s16_out_;
  Conv s8_a_, s8_b_, s8_out_;
  Conv s4_proj_, s4_a_, s4_b_, s4_out_;
  Conv s2_proj_, s2_a_, s2_out_;
};

// Resizes 1×1×H×W masks (or any maps) by box averaging: the look-up values and the deep-supervision targets.
at::Tensor area_resize(const at::Tensor& x, int64_t side);

}  // namespace oceanplus::nn
