#include "nn/layers.h"

#include "common/error.h"

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <mutex>
#include <tuple>

#ifdef OCEANPLUS_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace oceanplus::nn {

constexpr double kBatchNormEps = 1e-5;
constexpr int64_t kBlock = 16;  // channels per block of oneDNN's nChw16c layout

#ifdef OCEANPLUS_HAVE_ONEDNN
namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

bool is_blocked(const at::Tensor& t) { return t.dim() == 5; }

// Contiguous in the layout its rank names: nChw16c (5-D) or channels-last (4-D), the only ones oneDNN is handed.
bool in_its_layout(const at::Tensor& t) {
  return is_blocked(t) ? t.is_contiguous() : t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// Logical NCHW dims of a dense (4-D) or blocked (5-D: N, C/16, H, W, 16) tensor.
dnnl::memory::dims logical_dims(const at::Tensor& t) {
  return is_blocked(t) ? dnnl::memory::dims{t.size(0), t.size(1) * kBlock, t.size(2), t.size(3)}
                       : dnnl::memory::dims{t.size(0), t.size(1), t.size(2), t.size(3)};
}

// How a tensor's memory is laid out for oneDNN: nChw16c for blocked tensors, NHWC for dense (channels-last) ones.
dnnl::memory::desc desc_of(const at::Tensor& t) {
  return dnnl::memory::desc(logical_dims(t), dnnl::memory::data_type::f32,
                            is_blocked(t) ? dnnl::memory::format_tag::nChw16c : dnnl::memory::format_tag::nhwc);
}

at::Tensor empty_like_layout(const dnnl::memory::dims& d, bool blocked, const at::TensorOptions& options) {
  return blocked ? at::empty({d[0], d[1] / kBlock, d[2], d[3], kBlock}, options)
                 : at::empty({d[0], d[1], d[2], d[3]}, options.memory_format(at::MemoryFormat::ChannelsLast));
}

at::Tensor reorder_to(const at::Tensor& x, bool blocked) {
  const at::Tensor src = is_blocked(x) ? x.contiguous() : x.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor out = empty_like_layout(logical_dims(src), blocked, src.options());
  dnnl::stream stream(cpu_engine());
  dnnl::memory from(desc_of(src), cpu_engine(), src.data_ptr<float>());
  dnnl::memory to(desc_of(out), cpu_engine(), out.data_ptr<float>());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return out;
}

}  // namespace

// One convolution on oneDNN. LibTorch (Debian's and the x86 wheels) runs CPU convolutions on oneDNN too, but through
// a generic path that re-packs the weights and re-lays out the activations on every call; here both happen once, and
// activations can stay in oneDNN's blocked layout from one convolution to the next.
struct Conv::OneDnn {
  struct Prepared {
    dnnl::convolution_forward primitive;
    dnnl::memory::desc src_desc, dst_desc;  // what the primitive wants
    dnnl::memory weights, bias;
  };
  // (batch, height, width, fused residual sum, blocked input, blocked output) -> prepared primitive.
  std::map<std::tuple<int64_t, int64_t, int64_t, bool, bool, bool>, Prepared> cache;
  // Packed weights by their layout: the primitives for the other input sizes usually want the same one.
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> packed_weights;
  std::mutex mutex;
  at::Tensor weight, bias;  // dense OIHW / O, kept for packing at new sizes
  ConvGeometry geometry;
  bool relu = false;

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

  dnnl::memory packed(const dnnl::memory::desc& wanted) {
    for (const auto& entry : packed_weights) {
      if (entry.first == wanted) return entry.second;
    }
    const dnnl::memory::dims w_dims{weight.size(0), weight.size(1), weight.size(2), weight.size(3)};
    dnnl::memory dense({w_dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::oihw}, cpu_engine(),
                       weight.data_ptr<float>());
    dnnl::memory out(wanted, cpu_engine());
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(dense, out).execute(stream, dense, out);
    stream.wait();
    packed_weights.emplace_back(wanted, out);
    return out;
  }

  // The primitive's input is batch × ic × height × width in the given layouts (for a phase split: the phase images,
  // with the phase geometry).
  Prepared prepare(int64_t batch, int64_t height, int64_t width, bool fused_sum, bool blocked_in, bool blocked_out,
                   const ConvGeometry& g) {
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

    auto make = [&](dnnl::algorithm algorithm, memory::format_tag src_tag, memory::format_tag dst_tag) {
      const memory::desc src_md(src_dims, f32, src_tag), dst_md(dst_dims, f32, dst_tag);
      const memory::desc w_md(w_dims, f32, memory::format_tag::any);
      const memory::desc b_md({oc}, f32, memory::format_tag::a);
      dnnl::convolution_forward::desc desc = bias.defined()
          ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, w_md, b_md, dst_md,
                                            strides, dilates, padding, padding)
          : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, w_md, dst_md,
                                            strides, dilates, padding, padding);
      return dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
    };
    const auto tag = [](bool blocked) { return blocked ? memory::format_tag::nChw16c : memory::format_tag::nhwc; };
    // In order of preference: Winograd (blocked only); direct in the caller's layouts (no reorder); direct in
    // whatever layout oneDNN likes (reorders around it).
    dnnl::convolution_forward::primitive_desc pd;
    bool made = false;
    // oneDNN answers unusual layout pairs (blocked in, NHWC out) with its reference implementation, which is
    // hundreds of times slower than a reorder: take only optimised kernels here.
    auto attempt = [&](dnnl::algorithm algorithm, memory::format_tag src_tag, memory::format_tag dst_tag) {
      if (made) return;
      try {
        pd = make(algorithm, src_tag, dst_tag);
        made = std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
      } catch (const dnnl::error&) {
      }
    };
    if (g.dilation[0] == 1 && g.dilation[1] == 1 && wants_winograd()) {
      attempt(dnnl::algorithm::convolution_winograd, memory::format_tag::any, memory::format_tag::any);
    }
    attempt(dnnl::algorithm::convolution_direct, tag(blocked_in), tag(blocked_out));
    if (!made) pd = make(dnnl::algorithm::convolution_direct, memory::format_tag::any, memory::format_tag::any);

    Prepared p;
    p.primitive = dnnl::convolution_forward(pd);
    p.src_desc = pd.src_desc();
    p.dst_desc = pd.dst_desc();
    p.weights = packed(pd.weights_desc());
    if (bias.defined()) {
      p.bias = memory(pd.bias_desc(), cpu_engine());
      memory dense_b(pd.bias_desc(), cpu_engine(), bias.data_ptr<float>());
      dnnl::stream stream(cpu_engine());
      dnnl::reorder(dense_b, p.bias).execute(stream, dense_b, p.bias);
      stream.wait();
    }
    return p;
  }

  Prepared& prepared(int64_t batch, int64_t height, int64_t width, bool fused_sum, bool blocked_in, bool blocked_out,
                     const ConvGeometry& g) {
    std::lock_guard<std::mutex> lock(mutex);
    auto key = std::make_tuple(batch, height, width, fused_sum, blocked_in, blocked_out);
    auto it = cache.find(key);
    if (it == cache.end()) {
      it = cache.emplace(key, prepare(batch, height, width, fused_sum, blocked_in, blocked_out, g)).first;
    }
    return it->second;
  }

  // Runs the primitive, reordering only where its layouts differ from the tensors'. out holds the residual when
  // fused_sum is set.
  void execute(Prepared& p, const at::Tensor& x, at::Tensor& out, bool fused_sum) {
    using dnnl::memory;
    // oneDNN reads raw pointers in the layout desc_of() names: anything else would be silently wrong.
    TORCH_CHECK(in_its_layout(x), "oneDNN convolution: input not in the layout its rank says");
    TORCH_CHECK(in_its_layout(out), "oneDNN convolution: output not in the layout its rank says");
    const memory::desc src_user = desc_of(x), dst_user = desc_of(out);
    dnnl::stream stream(cpu_engine());
    memory src(src_user, cpu_engine(), x.data_ptr<float>());
    memory dst(dst_user, cpu_engine(), out.data_ptr<float>());
    memory src_used = src, dst_used = dst;
    if (p.src_desc != src_user) {
      src_used = memory(p.src_desc, cpu_engine());
      dnnl::reorder(src, src_used).execute(stream, src, src_used);
    }
    const bool reorder_dst = p.dst_desc != dst_user;
    if (reorder_dst) {
      dst_used = memory(p.dst_desc, cpu_engine());
      if (fused_sum) dnnl::reorder(dst, dst_used).execute(stream, dst, dst_used);  // carries the residual
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_used}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, dst_used}};
    if (bias.defined()) args.emplace(DNNL_ARG_BIAS, p.bias);
    p.primitive.execute(stream, args);
    if (reorder_dst) dnnl::reorder(dst_used, dst).execute(stream, dst_used, dst);
    stream.wait();
  }

  at::Tensor run_phases(const at::Tensor& x, bool blocked_out) {
    const bool blocked_in = is_blocked(x);
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
    Prepared& p = prepared(count, phase_size[0], phase_size[1], false, blocked_in, blocked_out, phase_geometry);
    // A short phase (odd size) gets a zero row/column at its end: it reads as the zero padding, or feeds an output
    // row/column that is dropped.
    const dnnl::memory::dims in_dims = logical_dims(x);
    at::Tensor phases =
        empty_like_layout({count, in_dims[1], phase_size[0], phase_size[1]}, blocked_in, x.options()).zero_();
    // H and W are dims 1 and 2 of one image in both layouts (C×H×W and C/16×H×W×16).
    auto phase_view = [&](const at::Tensor& image, int64_t k) {
      at::Tensor v = image;
      if (phases_per_axis[0] == 2) v = v.slice(1, k / phases_per_axis[1], c10::nullopt, 2);
      if (phases_per_axis[1] == 2) v = v.slice(2, k % phases_per_axis[1], c10::nullopt, 2);
      return v;
    };
    for (int64_t k = 0; k < count; ++k) {
      const at::Tensor phase = phase_view(x[0], k);
      phases[k].slice(1, 0, phase.size(1)).slice(2, 0, phase.size(2)).copy_(phase);
    }
    const dnnl::memory::dims& d = p.dst_desc.dims();
    at::Tensor phase_out = empty_like_layout(d, blocked_out, x.options());
    execute(p, phases, phase_out, false);
    at::Tensor out = empty_like_layout({1, weight.size(0), out_size[0], out_size[1]}, blocked_out, x.options());
    for (int64_t k = 0; k < count; ++k) {
      at::Tensor target = phase_view(out[0], k);
      target.copy_(phase_out[k].slice(1, 0, target.size(1)).slice(2, 0, target.size(2)));
    }
    return out;
  }

  // x: float CPU, batch 1, dense (4-D) or blocked (5-D). residual (optional): added before the ReLU; its buffer takes
  // the result when nothing else holds it.
  at::Tensor run(const at::Tensor& x_in, at::Tensor* residual, bool blocked_out) {
    blocked_out = blocked_out && weight.size(0) % kBlock == 0;
    const at::Tensor x = is_blocked(x_in) ? x_in.contiguous() : x_in.contiguous(at::MemoryFormat::ChannelsLast);
    if (splits_into_phases() && !residual) return run_phases(x, blocked_out);
    Prepared& p = prepared(1, x.size(2), x.size(3), residual != nullptr, is_blocked(x), blocked_out, geometry);
    at::Tensor out;
    if (!residual) {
      out = empty_like_layout(p.dst_desc.dims(), blocked_out, x.options());
    } else if (is_blocked(*residual) != blocked_out) {
      out = reorder_to(*residual, blocked_out);
    } else if (residual->use_count() == 1 && residual->storage().use_count() == 1 && in_its_layout(*residual)) {
      out = *residual;  // the caller's last reference: accumulate in place
    } else {
      out = blocked_out ? residual->contiguous().clone() : residual->contiguous(at::MemoryFormat::ChannelsLast).clone(at::MemoryFormat::ChannelsLast);
    }
    execute(p, x, out, residual != nullptr);
    return out;
  }
};

bool onednn_available() { return true; }

at::Tensor to_blocked(const at::Tensor& x) {
  // Only oneDNN reads the blocked layout, and only for a batch of one (Conv::runs_on_onednn).
  if (is_blocked(x) || x.size(0) != 1 || x.size(1) % kBlock != 0 || !x.is_cpu() || x.scalar_type() != at::kFloat) {
    return x;
  }
  return reorder_to(x, true);
}

at::Tensor to_dense(const at::Tensor& x) { return is_blocked(x) ? reorder_to(x, false) : x; }
#else
struct Conv::OneDnn {
  at::Tensor run(const at::Tensor&, at::Tensor*, bool) { return {}; }
};
bool onednn_available() { return false; }
at::Tensor to_blocked(const at::Tensor& x) { return x; }
at::Tensor to_dense(const at::Tensor& x) { return x; }
#endif

void set_precision(LoadOptions& options, const std::string& precision) {
  if (precision.empty() || precision == "fp32") {
    options.dtype = at::kFloat;
    options.channels_last = false;
    return;
  }
  if (precision == "fp16") {
    if (!options.device.is_cuda()) {
      throw Error("precision fp16 needs a CUDA device (LibTorch's CPU kernels have no float16); use fp32 or bf16 on "
                  "the CPU");
    }
    options.dtype = at::kHalf;
  } else if (precision == "bf16") {
    options.dtype = at::kBFloat16;
  } else {
    throw Error("precision '" + precision + "': expected fp32, fp16 or bf16");
  }
  options.channels_last = true;
}

at::Tensor to_compute(const at::Tensor& t, at::ScalarType dtype, bool channels_last) {
  if (!t.defined()) return t;
  at::Tensor out = at::isFloatingType(t.scalar_type()) ? t.to(dtype) : t;
  return channels_last && out.dim() == 4 ? out.contiguous(at::MemoryFormat::ChannelsLast) : out;
}

at::Tensor to_compute(const at::Tensor& t, const LoadOptions& options) {
  return to_compute(t, options.dtype, options.channels_last);
}

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
      conv.weight_ = to_compute(conv.weight_, options);
      conv.bias_ = to_compute(conv.bias_, options);
      for (at::Tensor* t : {&conv.bn_weight_, &conv.bn_bias_, &conv.bn_mean_, &conv.bn_var_}) {
        *t = to_compute(*t, options);
      }
      return conv;  // the reference's op sequence: always at::conv2d + at::batch_norm
    }
    const at::Tensor scale = gamma.to(at::kDouble) / (var.to(at::kDouble) + kBatchNormEps).sqrt();
    const at::Tensor conv_bias = conv.bias_.defined() ? conv.bias_.to(at::kDouble) : at::zeros_like(scale);
    conv.weight_ = (conv.weight_.to(at::kDouble) * scale.view({-1, 1, 1, 1})).to(at::kFloat).contiguous();
    conv.bias_ = ((conv_bias - mean.to(at::kDouble)) * scale + beta.to(at::kDouble)).to(at::kFloat).contiguous();
  }
  conv.weight_ = to_compute(conv.weight_, options);
  conv.bias_ = to_compute(conv.bias_, options);
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

at::Tensor Conv::run_torch(const at::Tensor& x_in) const {
  const at::Tensor x = to_dense(x_in);
  at::Tensor y = at::conv2d(x, weight_, bias_, {geometry_.stride, geometry_.stride}, geometry_.padding,
                            geometry_.dilation);
  if (bn_weight_.defined()) {
    y = at::batch_norm(y, bn_weight_, bn_bias_, bn_mean_, bn_var_, /*training=*/false, /*momentum=*/0.1,
                       kBatchNormEps, /*cudnn_enabled=*/true);
  }
  return y;
}

bool Conv::runs_on_onednn(const at::Tensor& x) const {
  return onednn_ && x.is_cpu() && x.scalar_type() == at::kFloat && x.size(0) == 1;
}

at::Tensor Conv::operator()(const at::Tensor& x, Layout output) const {
  if (runs_on_onednn(x)) {
    return onednn_->run(x, nullptr, output == Layout::Blocked);
  }
  at::Tensor y = run_torch(x);
  if (activation_ == Activation::Relu) y.relu_();
  return y;
}

at::Tensor Conv::add_relu(const at::Tensor& x, at::Tensor residual, Layout output) const {
  if (runs_on_onednn(x)) {
    return onednn_->run(x, &residual, output == Layout::Blocked);
  }
  at::Tensor y = run_torch(x);
  y += to_dense(residual);
  return y.relu_();
}

at::Tensor resize_bilinear_aligned(const at::Tensor& x, int64_t height, int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  return at::upsample_bilinear2d(x, {height, width}, /*align_corners=*/true);
}

at::Tensor xcorr_depthwise(const at::Tensor& search, const at::Tensor& kernel, int64_t padding) {
  const int64_t batch = kernel.size(0), channels = kernel.size(1);
  at::Tensor k = kernel.reshape({batch * channels, 1, kernel.size(2), kernel.size(3)});
  const std::array<int64_t, 2> unit{1, 1}, pad{padding, padding};
  if (batch == 1) return at::conv2d(search, k, {}, unit, pad, unit, channels);
  if (search.size(0) != batch) {
    throw Error("xcorr_depthwise: " + std::to_string(search.size(0)) + " search features for " +
                std::to_string(batch) + " kernels");
  }
  // Item i correlated with its own kernel: one grouped convolution over the N·C channels.
  const at::Tensor s = to_dense(search).reshape({1, batch * channels, search.size(2), search.size(3)});
  const at::Tensor out = at::conv2d(s, k, {}, unit, pad, unit, batch * channels);
  return out.view({batch, channels, out.size(2), out.size(3)});
}

}  // namespace oceanplus::nn
