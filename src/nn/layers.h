// Building blocks shared by the networks: a convolution that owns its (optionally BatchNorm-folded) weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <string>

#include "io/weights.h"

namespace oceanplus::nn {

struct LoadOptions {
  // Run CPU convolutions through oneDNN directly (when built with it): weights packed once, activations
  // channels-last or blocked along conv chains, ReLU and residual sums fused, Winograd for the 3×3 convolutions.
  // Off = at::conv2d for every convolution (the path the GPU and builds without oneDNN take).
  bool use_onednn = true;
  // Fold each inference-mode BatchNorm into the preceding convolution at load time (w' = w*g/sqrt(v+eps),
  // b' = (b-m)*g/sqrt(v+eps) + beta, computed in float64). Off = run BatchNorm as a separate op, as the reference does.
  bool fold_batchnorm = true;
  // Run the reference implementation's op sequence: template-side encodings and ARN keys recomputed every frame,
  // ARN attention through bmm. With use_onednn and fold_batchnorm off, this is TracKit's per-frame work in LibTorch
  // (the side-by-side baseline of bench/; also parity-tested).
  bool reference_ops = false;
  // Where the weights live and the network runs. A CUDA device needs a LibTorch with CUDA; there the convolutions
  // go through at::conv2d (cuDNN) whatever use_onednn says.
  at::Device device = at::kCPU;
  // The type the network computes in: float32, or float16 / bfloat16 for speed at a looser parity (float16 needs a
  // GPU: LibTorch's CPU kernels lack it). Weights are read and BatchNorm folded in float32/64, then converted; inputs
  // are converted on entry; the tracker reads every output as float32. Anything but float32 turns oneDNN off.
  at::ScalarType dtype = at::kFloat;
  // Weights and activations channels-last (NHWC), the layout cuDNN's tensor-core kernels read directly.
  bool channels_last = false;

  // The reference's op sequence: at::conv2d, BatchNorm as its own op, nothing cached.
  static LoadOptions reference() {
    LoadOptions o;
    o.use_onednn = false;
    o.fold_batchnorm = false;
    o.reference_ops = true;
    return o;
  }
};

// Sets dtype and channels_last for a precision by name: "fp32" (or ""), "fp16" (float16, channels-last; needs
// options.device to be a GPU) or "bf16" (bfloat16, channels-last). Throws oceanplus::Error saying what is wrong.
void set_precision(LoadOptions& options, const std::string& precision);

// Builds a network from `state` on options.device: `build(reader, options)` reads the weights as they are on the CPU,
// or from a copy moved to the device (tensors already there are not copied again), with the CPU-only oneDNN path off.
template <typename Build>
auto build_on_device(const io::StateDict& state, const LoadOptions& options, Build&& build) {
  if (options.device.is_cpu()) {
    io::WeightReader reader(state);
    LoadOptions cpu_options = options;
    cpu_options.use_onednn = options.use_onednn && options.dtype == at::kFloat && !options.channels_last;
    return build(reader, cpu_options);
  }
  const io::StateDict on_device = io::moved_to(state, options.device);
  LoadOptions device_options = options;
  device_options.use_onednn = false;
  io::WeightReader reader(on_device);
  return build(reader, device_options);
}

// A weight or an input as the network computes with it: options.dtype, channels-last when asked (4-D tensors).
at::Tensor to_compute(const at::Tensor& t, const LoadOptions& options);
at::Tensor to_compute(const at::Tensor& t, at::ScalarType dtype, bool channels_last);

struct ConvGeometry {
  int64_t stride = 1;
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};  // (rows, cols): the box head uses asymmetric dilations
};

enum class Activation { None, Relu };

// Where a convolution leaves its output. Dense: an ordinary N×C×H×W tensor (channels-last on the oneDNN path).
// Blocked: oneDNN's nChw16c layout held as an N×(C/16)×H×W×16 tensor, for chains of convolutions that torch ops never
// see in between (it saves two reorders per Winograd convolution). Convolutions take either as input; without
// oneDNN, or when C is not a multiple of 16, the output is dense whatever is asked.
enum class Layout { Dense, Blocked };

// conv (+ BatchNorm) (+ ReLU). Inference only.
class Conv {
 public:
  Conv() = default;

  // conv_key: the conv weight's key prefix, e.g. "features.features.conv1" ("<prefix>.weight", "<prefix>.bias").
  // bn_key: the BatchNorm's key prefix, or "" for none. conv_has_bias: whether "<conv_key>.bias" exists.
  static Conv load(io::WeightReader& weights, const std::string& conv_key, bool conv_has_bias,
                   const std::string& bn_key, int64_t out_channels, int64_t in_channels, int64_t kernel,
                   const ConvGeometry& geometry, Activation activation, const LoadOptions& options);

  at::Tensor operator()(const at::Tensor& x, Layout output = Layout::Dense) const;
  // relu(conv(x) + residual): the last convolution of a residual block, with the sum and ReLU fused on oneDNN.
  // When nothing else holds the residual (a temporary, or a moved-in last reference), its buffer takes the result.
  at::Tensor add_relu(const at::Tensor& x, at::Tensor residual, Layout output = Layout::Dense) const;
  int64_t out_channels() const { return weight_.size(0); }
  // Whether this convolution runs on oneDNN (and so can take and produce the blocked layout).
  bool on_onednn() const { return onednn_ != nullptr; }

 private:
  at::Tensor run_torch(const at::Tensor& x) const;
  bool runs_on_onednn(const at::Tensor& x) const;  // oneDNN path built and x a float CPU batch of one
  struct OneDnn;                  // cached primitives and packed weights, per input size (layers.cpp)
  std::shared_ptr<OneDnn> onednn_;

  at::Tensor weight_, bias_;                      // bias_ may be undefined
  at::Tensor bn_mean_, bn_var_, bn_weight_, bn_bias_;
  ConvGeometry geometry_;
  Activation activation_ = Activation::None;
};

// Whether this build can run convolutions on oneDNN directly.
bool onednn_available();

// Layout conversions (no-ops without oneDNN, for tensors already in that layout, or when C % 16 != 0).
at::Tensor to_blocked(const at::Tensor& x);
at::Tensor to_dense(const at::Tensor& x);

// Bilinear resize with align_corners=true (every resize of the mask branch); identity when the size already matches.
at::Tensor resize_bilinear_aligned(const at::Tensor& x, int64_t height, int64_t width);

// Depthwise cross-correlation: each channel of `search` correlated with the same channel of `kernel`, zero-padded by
// `padding`. One kernel (1×C×h×w) serves every search item; a batch of N kernels (N×C×h×w) correlates item i of an
// N-item search with kernel i.
at::Tensor xcorr_depthwise(const at::Tensor& search, const at::Tensor& kernel, int64_t padding = 0);

}  // namespace oceanplus::nn
