#include "nn/layers.h"

#include <ATen/ATen.h>

#include <map>
#include <mutex>
#include <tuple>

#ifdef OCEANPLUS_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace oceanplus::nn {

constexpr double kBatchNormEps = 1e-5;

#ifdef OCEANPLUS_HAVE_ONEDNN
// One convolution on oneDNN. LibTorch (Debian's and the x86 wheels) runs CPU convolutions on oneDNN too, but through
// a generic path that re-packs the weights and re-lays out the activations on every call; here both happen once.
struct Conv::OneDnn {
  struct Prepared {
    dnnl::convolution_forward primitive;
    dnnl::memory::desc src_desc, dst_desc;  // what the primitive wants (channels-last unless Winograd needs blocks)
    dnnl::memory weights, bias;
  };
  // (height, width, fused residual sum) -> prepared primitive.
  std::map<std::tuple<int64_t, int64_t, bool>, Prepared> cache;
  std::mutex mutex;
  at::Tensor weight, bias;  // dense OIHW / O, kept alive for packing at new sizes
  ConvGeometry geometry;
  bool relu = false;

  static dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
  }

  // Winograd F(4×4, 3×3) cuts the multiplies of a 3×3/s1 convolution by about 4; oneDNN's version only beats the
  // direct kernel on wide layers (measured: 512→1024 at 31², 1.8× faster; 256→256 at 25², slower), with errors
  // ~2e-6 of the output range.
  bool wants_winograd() const {
    return weight.size(2) == 3 && weight.size(3) == 3 && geometry.stride == 1 && geometry.dilation[0] == 1 &&
           geometry.dilation[1] == 1 && weight.size(0) * weight.size(1) >= 512 * 1024;
  }

  Prepared prepare(int64_t height, int64_t width, bool fused_sum) {
    using dnnl::memory;
    const int64_t oc = weight.size(0), ic = weight.size(1), kh = weight.size(2), kw = weight.size(3);
    const auto& g = geometry;
    const int64_t out_h = (height + 2 * g.padding[0] - (g.dilation[0] * (kh - 1) + 1)) / g.stride + 1;
    const int64_t out_w = (width + 2 * g.padding[1] - (g.dilation[1] * (kw - 1) + 1)) / g.stride + 1;
    const memory::dims src_dims{1, ic, height, width}, dst_dims{1, oc, out_h, out_w}, w_dims{oc, ic, kh, kw};
    const memory::dims strides{g.stride, g.stride}, dilates{g.dilation[0] - 1, g.dilation[1] - 1},
        padding{g.padding[0], g.padding[1]};
    const auto f32 = memory::data_type::f32;
    dnnl::post_ops ops;
    if (fused_sum) ops.append_sum(1.0f);
    if (relu || fused_sum) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);

    auto make = [&](dnnl::algorithm algorithm, memory::format_tag activation_tag) {
      const memory::desc src_md(src_dims, f32, activation_tag), dst_md(dst_dims, f32, activation_tag);
      const memory::desc w_md(w_dims, f32, memory::format_tag::any);
      const memory::desc b_md({oc}, f32, memory::format_tag::a);
      dnnl::convolution_forward::desc desc = bias.defined()
          ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, w_md, b_md, dst_md,
                                            strides, dilates, padding, padding)
          : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, w_md, dst_md,
                                            strides, dilates, padding, padding);
      return dnnl::convolution_forward::primitive_desc(desc, attr, engine());
    };
    dnnl::convolution_forward::primitive_desc pd;
    bool made = false;
    if (wants_winograd()) {
      try {
        pd = make(dnnl::algorithm::convolution_winograd, memory::format_tag::any);
        made = true;
      } catch (const dnnl::error&) {
        // not supported on this CPU: use the direct kernel
      }
    }
    if (!made) pd = make(dnnl::algorithm::convolution_direct, memory::format_tag::nhwc);

    Prepared p;
    p.primitive = dnnl::convolution_forward(pd);
    p.src_desc = pd.src_desc();
    p.dst_desc = pd.dst_desc();
    dnnl::stream stream(engine());
    memory dense_w({w_dims, f32, memory::format_tag::oihw}, engine(), weight.data_ptr<float>());
    p.weights = memory(pd.weights_desc(), engine());
    dnnl::reorder(dense_w, p.weights).execute(stream, dense_w, p.weights);
    if (bias.defined()) {
      p.bias = memory(pd.bias_desc(), engine());
      memory dense_b(pd.bias_desc(), engine(), bias.data_ptr<float>());
      dnnl::reorder(dense_b, p.bias).execute(stream, dense_b, p.bias);
    }
    stream.wait();
    return p;
  }

  // x: channels-last float CPU tensor. residual (optional): added before the ReLU, same shape as the output.
  at::Tensor run(const at::Tensor& x_in, const at::Tensor* residual) {
    using dnnl::memory;
    const at::Tensor x = x_in.contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t height = x.size(2), width = x.size(3);
    Prepared* p;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto key = std::make_tuple(height, width, residual != nullptr);
      auto it = cache.find(key);
      if (it == cache.end()) it = cache.emplace(key, prepare(height, width, residual != nullptr)).first;
      p = &it->second;
    }
    const memory::dims& d = p->dst_desc.dims();
    at::Tensor out = residual ? residual->contiguous(at::MemoryFormat::ChannelsLast).clone(at::MemoryFormat::ChannelsLast)
                              : at::empty({d[0], d[1], d[2], d[3]}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    const auto f32 = memory::data_type::f32;
    const memory::desc src_nhwc({1, x.size(1), height, width}, f32, memory::format_tag::nhwc);
    const memory::desc dst_nhwc(d, f32, memory::format_tag::nhwc);
    dnnl::stream stream(engine());
    memory src(src_nhwc, engine(), x.data_ptr<float>());
    memory dst(dst_nhwc, engine(), out.data_ptr<float>());
    memory src_used = src, dst_used = dst;
    if (p->src_desc != src_nhwc) {  // Winograd wants blocked activations
      src_used = memory(p->src_desc, engine());
      dnnl::reorder(src, src_used).execute(stream, src, src_used);
    }
    const bool blocked_dst = p->dst_desc != dst_nhwc;
    if (blocked_dst) {
      dst_used = memory(p->dst_desc, engine());
      if (residual) dnnl::reorder(dst, dst_used).execute(stream, dst, dst_used);
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_used}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, dst_used}};
    if (bias.defined()) args.emplace(DNNL_ARG_BIAS, p->bias);
    p->primitive.execute(stream, args);
    if (blocked_dst) dnnl::reorder(dst_used, dst).execute(stream, dst_used, dst);
    stream.wait();
    return out;
  }
};

bool onednn_available() { return true; }
#else
struct Conv::OneDnn {
  at::Tensor run(const at::Tensor&, const at::Tensor*) { return {}; }
};
bool onednn_available() { return false; }
#endif

Conv Conv::load(io::WeightReader& weights, const std::string& conv_key, bool conv_has_bias, const std::string& bn_key,
                int64_t out_channels, int64_t in_channels, int64_t kernel, const ConvGeometry& geometry,
                Activation activation, const LoadOptions& options) {
  Conv conv;
  conv.geometry_ = geometry;
  conv.activation_ = activation;
  conv.weight_ = weights.take(conv_key + ".weight", {out_channels, in_channels, kernel, kernel});
  if (conv_has_bias) conv.bias_ = weights.take(conv_key + ".bias", {out_channels});
  if (!bn_key.empty()) {
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
      return conv;  // the reference's op sequence: always at::conv2d + at::batch_norm
    }
    const at::Tensor scale = gamma.to(at::kDouble) / (var.to(at::kDouble) + kBatchNormEps).sqrt();
    const at::Tensor conv_bias = conv.bias_.defined() ? conv.bias_.to(at::kDouble) : at::zeros_like(scale);
    conv.weight_ = (conv.weight_.to(at::kDouble) * scale.view({-1, 1, 1, 1})).to(at::kFloat).contiguous();
    conv.bias_ = ((conv_bias - mean.to(at::kDouble)) * scale + beta.to(at::kDouble)).to(at::kFloat).contiguous();
  }
#ifdef OCEANPLUS_HAVE_ONEDNN
  if (options.use_onednn) {
    conv.onednn_ = std::make_shared<OneDnn>();
    conv.onednn_->weight = conv.weight_;
    conv.onednn_->bias = conv.bias_;
    conv.onednn_->geometry = geometry;
    conv.onednn_->relu = activation == Activation::Relu;
  }
#endif
  return conv;
}

at::Tensor Conv::run_torch(const at::Tensor& x) const {
  at::Tensor y = at::conv2d(x, weight_, bias_, {geometry_.stride, geometry_.stride}, geometry_.padding,
                            geometry_.dilation);
  if (bn_weight_.defined()) {
    y = at::batch_norm(y, bn_weight_, bn_bias_, bn_mean_, bn_var_, /*training=*/false, /*momentum=*/0.1,
                       kBatchNormEps, /*cudnn_enabled=*/true);
  }
  return y;
}

at::Tensor Conv::operator()(const at::Tensor& x) const {
  if (onednn_ && x.is_cpu() && x.scalar_type() == at::kFloat && x.size(0) == 1) return onednn_->run(x, nullptr);
  at::Tensor y = run_torch(x);
  if (activation_ == Activation::Relu) y.relu_();
  return y;
}

at::Tensor Conv::add_relu(const at::Tensor& x, const at::Tensor& residual) const {
  if (onednn_ && x.is_cpu() && x.scalar_type() == at::kFloat && x.size(0) == 1) return onednn_->run(x, &residual);
  at::Tensor y = run_torch(x);
  y += residual;
  return y.relu_();
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
