#include "nn/layers.h"

#include <ATen/ATen.h>

namespace oceanplus::nn {

constexpr double kBatchNormEps = 1e-5;

Conv Conv::load(io::WeightReader& weights, const std::string& conv_key, bool conv_has_bias, const std::string& bn_key,
                int64_t out_channels, int64_t in_channels, int64_t kernel, const ConvGeometry& geometry,
                Activation activation, const LoadOptions& options) {
  Conv conv;
  conv.geometry_ = geometry;
  conv.activation_ = activation;
  conv.weight_ = weights.take(conv_key + ".weight", {out_channels, in_channels, kernel, kernel});
  if (conv_has_bias) conv.bias_ = weights.take(conv_key + ".bias", {out_channels});
  if (bn_key.empty()) return conv;

  const at::Tensor gamma = weights.take(bn_key + ".weight", {out_channels});
  const at::Tensor beta = weights.take(bn_key + ".bias", {out_channels});
  const at::Tensor mean = weights.take(bn_key + ".running_mean", {out_channels});
  const at::Tensor var = weights.take(bn_key + ".running_var", {out_channels});
  weights.skip(bn_key + ".num_batches_tracked");  // a training counter; optional in the file

  if (!options.fold_batchnorm) {
    conv.bn_weight_ = gamma;
    conv.bn_bias_ = beta;
    conv.bn_mean_ = mean;
    conv.bn_var_ = var;
    return conv;
  }
  const at::Tensor scale = gamma.to(at::kDouble) / (var.to(at::kDouble) + kBatchNormEps).sqrt();
  const at::Tensor conv_bias = conv.bias_.defined() ? conv.bias_.to(at::kDouble) : at::zeros_like(scale);
  conv.weight_ = (conv.weight_.to(at::kDouble) * scale.view({-1, 1, 1, 1})).to(at::kFloat).contiguous();
  conv.bias_ = ((conv_bias - mean.to(at::kDouble)) * scale + beta.to(at::kDouble)).to(at::kFloat).contiguous();
  return conv;
}

at::Tensor Conv::operator()(const at::Tensor& x) const {
  at::Tensor y = at::conv2d(x, weight_, bias_, {geometry_.stride, geometry_.stride}, geometry_.padding,
                            geometry_.dilation);
  if (bn_weight_.defined()) {
    y = at::batch_norm(y, bn_weight_, bn_bias_, bn_mean_, bn_var_, /*training=*/false, /*momentum=*/0.1,
                       kBatchNormEps, /*cudnn_enabled=*/true);
  }
  if (activation_ == Activation::Relu) y.relu_();
  return y;
}

at::Tensor resize_bilinear_aligned(const at::Tensor& x, int64_t height, int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  return at::upsample_bilinear2d(x, {height, width}, /*align_corners=*/true);
}

at::Tensor xcorr_depthwise(const at::Tensor& search, const at::Tensor& kernel) {
  const int64_t channels = kernel.size(1);
  at::Tensor k = kernel.reshape({channels, 1, kernel.size(2), kernel.size(3)});
  const std::array<int64_t, 2> unit{1, 1}, zero{0, 0};
  return at::conv2d(search, k, {}, unit, zero, unit, channels);
}

}  // namespace oceanplus::nn
