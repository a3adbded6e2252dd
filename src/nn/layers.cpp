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
  // (batch, height, width, fused residual sum) -> prepared primitive.
  std::map<std::tuple<int64_t, int64_t, int64_t, bool>, Prepared> cache;
  std::mutex mutex;
  at::Tensor weight, bias;  // dense OIHW / O, kept alive for packing at new sizes
  ConvGeometry geometry;
  bool relu = false;

  static dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
  }

  // Winograd F(4×4, 3×3) needs about 4× fewer multiplies than a direct 3×3/s1 convolution. Measured on this
  // network's shapes (2 threads, AVX-512): 1.3–2.9× faster wherever there are at least 16 input channels; slower
  // only for the last mask convolution (4→2 channels at 255²). Errors stay ~2e-6 of the output range.
  bool wants_winograd() const {
    return weight.size(2) == 3 && weight.size(3) == 3 && geometry.stride == 1 && weight.size(1) >= 16 &&
           ((geometry.dilation[0] == 1 && geometry.dilation[1] == 1) || splits_into_phases());
  }
  // A 3×3 convolution dilated by 2 along an axis (with even padding P) reads, for output i, only inputs of the parity
  // of i - P: it is one undilated convolution (padding P/2) per parity phase of the input along that axis. Run as a
  // batch of phase images (2 or 4), it can use Winograd, which oneDNN lacks for dilated convolutions. This covers
  // layer3's dilation 2 and the box head's (2,1)/(1,2) encoders.
  bool splits_into_phases() const {
    if (weight.size(2) != 3 || weight.size(3) != 3 || geometry.stride != 1) return false;
    bool dilated = false;
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t d = geometry.dilation[axis], p = geometry.padding[axis];
      if (d == 2 && p % 2 == 0) dilated = true;
      else if (d != 1) return false;
    }
    return dilated;
  }

  // batch, height, width: the primitive's input (for space-to-batch: 4 phases of half size, padding 1, no dilation).
  Prepared prepare(int64_t batch, int64_t height, int64_t width, bool fused_sum, const ConvGeometry& g) {
    using dnnl::memory;
    const int64_t oc = weight.size(0), ic = weight.size(1), kh = weight.size(2), kw = weight.size(3);
    const int64_t out_h = (height + 2 * g.padding[0] - (g.dilation[0] * (kh - 1) + 1)) / g.stride + 1;
    const int64_t out_w = (width + 2 * g.padding[1] - (g.dilation[1] * (kw - 1) + 1)) / g.stride + 1;
    const memory::dims src_dims{batch, ic, height, width}, dst_dims{batch, oc, out_h, out_w}, w_dims{oc, ic, kh, kw};
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
    if (g.dilation[0] == 1 && g.dilation[1] == 1 && wants_winograd()) {
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

  Prepared& prepared(int64_t batch, int64_t height, int64_t width, bool fused_sum, const ConvGeometry& g) {
    std::lock_guard<std::mutex> lock(mutex);
    auto key = std::make_tuple(batch, height, width, fused_sum);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, prepare(batch, height, width, fused_sum, g)).first;
    return it->second;
  }

  // Runs the primitive on channels-last tensors (reordering to and from blocked layouts when Winograd wants them).
  // out holds the residual when fused_sum is set.
  void execute(Prepared& p, const at::Tensor& x, at::Tensor& out, bool fused_sum) {
    using dnnl::memory;
    // oneDNN reads raw pointers as NHWC: anything else would be silently wrong.
    TORCH_CHECK(x.is_contiguous(at::MemoryFormat::ChannelsLast) && out.is_contiguous(at::MemoryFormat::ChannelsLast),
                "oneDNN convolution: tensors must be channels-last contiguous");
    const auto f32 = memory::data_type::f32;
    const memory::desc src_nhwc({x.size(0), x.size(1), x.size(2), x.size(3)}, f32, memory::format_tag::nhwc);
    const memory::desc dst_nhwc({out.size(0), out.size(1), out.size(2), out.size(3)}, f32, memory::format_tag::nhwc);
    dnnl::stream stream(engine());
    memory src(src_nhwc, engine(), x.data_ptr<float>());
    memory dst(dst_nhwc, engine(), out.data_ptr<float>());
    memory src_used = src, dst_used = dst;
    if (p.src_desc != src_nhwc) {
      src_used = memory(p.src_desc, engine());
      dnnl::reorder(src, src_used).execute(stream, src, src_used);
    }
    const bool blocked_dst = p.dst_desc != dst_nhwc;
    if (blocked_dst) {
      dst_used = memory(p.dst_desc, engine());
      if (fused_sum) dnnl::reorder(dst, dst_used).execute(stream, dst, dst_used);  // carries the residual
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_used}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, dst_used}};
    if (bias.defined()) args.emplace(DNNL_ARG_BIAS, p.bias);
    p.primitive.execute(stream, args);
    if (blocked_dst) dnnl::reorder(dst_used, dst).execute(stream, dst_used, dst);
    stream.wait();
  }

  at::Tensor run_phases(const at::Tensor& x) {
    const auto channels_last = at::MemoryFormat::ChannelsLast;
    int64_t phases_per_axis[2], phase_size[2], out_size[2];
    ConvGeometry phase_geometry;
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t size = x.size(2 + axis), d = geometry.dilation[axis], pad = geometry.padding[axis];
      out_size[axis] = size + 2 * pad - 2 * d;
      phases_per_axis[axis] = d;
      phase_size[axis] = (size + d - 1) / d;
      phase_geometry.padding[axis] = pad / d;
    }
    const int64_t count = phases_per_axis[0] * phases_per_axis[1];
    Prepared& p = prepared(count, phase_size[0], phase_size[1], false, phase_geometry);
    // A short phase (odd size) gets a zero row/column at its end: it reads as the zero padding, or feeds an output
    // row/column that is dropped. (at::zeros ignores the memory format in TensorOptions; at::empty honours it.)
    const auto options = x.options().memory_format(channels_last);
    at::Tensor phases = at::empty({count, x.size(1), phase_size[0], phase_size[1]}, options).zero_();
    auto phase_view = [&](const at::Tensor& t, int64_t k) {  // t: C×H×W; the k-th parity phase
      at::Tensor v = t;
      if (phases_per_axis[0] == 2) v = v.slice(1, k / phases_per_axis[1], c10::nullopt, 2);
      if (phases_per_axis[1] == 2) v = v.slice(2, k % phases_per_axis[1], c10::nullopt, 2);
      return v;
    };
    for (int64_t k = 0; k < count; ++k) {
      const at::Tensor phase = phase_view(x[0], k);
      phases[k].slice(1, 0, phase.size(1)).slice(2, 0, phase.size(2)).copy_(phase);
    }
    const dnnl::memory::dims& d = p.dst_desc.dims();
    at::Tensor phase_out = at::empty({d[0], d[1], d[2], d[3]}, options);
    execute(p, phases, phase_out, false);
    at::Tensor out = at::empty({1, weight.size(0), out_size[0], out_size[1]}, options);
    for (int64_t k = 0; k < count; ++k) {
      at::Tensor target = phase_view(out[0], k);
      target.copy_(phase_out[k].slice(1, 0, target.size(1)).slice(2, 0, target.size(2)));
    }
    return out;
  }

  // x: float CPU tensor, batch 1. residual (optional): added before the ReLU, same shape as the output.
  at::Tensor run(const at::Tensor& x_in, const at::Tensor* residual) {
    const auto channels_last = at::MemoryFormat::ChannelsLast;
    const at::Tensor x = x_in.contiguous(channels_last);
    const int64_t height = x.size(2), width = x.size(3);
    if (splits_into_phases() && !residual) return run_phases(x);
    Prepared& p = prepared(1, height, width, residual != nullptr, geometry);
    const dnnl::memory::dims& d = p.dst_desc.dims();
    at::Tensor out;
    if (!residual) {
      out = at::empty({d[0], d[1], d[2], d[3]}, x.options().memory_format(channels_last));
    } else if (residual->is_contiguous(channels_last) && residual->use_count() == 1 &&
               residual->storage().use_count() == 1) {
      out = *residual;  // the caller's last reference: accumulate in place
    } else {
      out = residual->contiguous(channels_last).clone(channels_last);
    }
    execute(p, x, out, residual != nullptr);
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

at::Tensor Conv::add_relu(const at::Tensor& x, at::Tensor residual) const {
  if (onednn_ && x.is_cpu() && x.scalar_type() == at::kFloat && x.size(0) == 1) {
    at::Tensor* only_reference = &residual;
    return onednn_->run(x, only_reference);
  }
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
