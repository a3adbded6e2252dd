#include "nn/oceanplus_net.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>

#include "common/error.h"

namespace oceanplus::nn {
namespace {

const char* const kBackbone = "features.features.";
const char* const kHead = "connect_model.";
const char* const kMask = "mask_model.";

// ---- Backbone: ResNet_plus2(Bottleneck, [3, 4, 6, 3], used_layers=[3]) (spec §1.2) -----------------------------------

struct Bottleneck {
  Conv conv1, conv2, conv3, downsample;
  bool has_downsample = false;

  // Takes x by value: when the caller hands over its last reference, the residual sum reuses x's buffer.
  // Everything stays in oneDNN's blocked layout (when available): a backbone has no torch op between its convs.
  at::Tensor operator()(at::Tensor x) const {
    const Layout blocked = Layout::Blocked;
    at::Tensor branch = conv2(conv1(x, blocked), blocked);
    return conv3.add_relu(branch, has_downsample ? downsample(x, blocked) : std::move(x), blocked);
  }
};

struct LayerSpec {
  int index;        // 1, 2, 3
  int blocks;
  int64_t planes;
  int64_t inplanes;
};

std::vector<Bottleneck> load_layer(io::WeightReader& w, const LayerSpec& spec, const LoadOptions& options) {
  std::vector<Bottleneck> layer;
  const int64_t out_channels = spec.planes * 4;
  for (int i = 0; i < spec.blocks; ++i) {
    const std::string p = std::string(kBackbone) + "layer" + std::to_string(spec.index) + "." + std::to_string(i) + ".";
    const int64_t in = i == 0 ? spec.inplanes : out_channels;
    // conv2 geometry: layer2 block 0 is 3×3/s2/p0; layer3 is dilated 2 except block 0; everything else 3×3/s1/p1.
    ConvGeometry g2;
    if (spec.index == 2 && i == 0) {
      g2.stride = 2;
      g2.padding = {0, 0};
    } else if (spec.index == 3 && i > 0) {
      g2.padding = {2, 2};
      g2.dilation = {2, 2};
    } else {
      g2.padding = {1, 1};
    }
    Bottleneck b;
    b.conv1 = Conv::load(w, p + "conv1", false, p + "bn1", spec.planes, in, 1, {}, Activation::Relu, options);
    b.conv2 = Conv::load(w, p + "conv2", false, p + "bn2", spec.planes, spec.planes, 3, g2, Activation::Relu, options);
    b.conv3 = Conv::load(w, p + "conv3", false, p + "bn3", out_channels, spec.planes, 1, {}, Activation::None, options);
    if (i == 0) {
      // layer1: 1×1; layer2: 3×3/s2/p0; layer3: 3×3/s1/p1.
      ConvGeometry gd;
      int64_t kernel = 3;
      if (spec.index == 1) {
        kernel = 1;
      } else if (spec.index == 2) {
        gd.stride = 2;
      } else {
        gd.padding = {1, 1};
      }
      b.downsample = Conv::load(w, p + "downsample.0", false, p + "downsample.1", out_channels, in, kernel, gd,
                                Activation::None, options);
      b.has_downsample = true;
    }
    layer.push_back(std::move(b));
  }
  return layer;
}

at::Tensor run_layer(const std::vector<Bottleneck>& layer, at::Tensor x) {
  for (const Bottleneck& b : layer) x = b(std::move(x));
  return x;
}

struct BackboneOut {
  // x_ (64ch, stride 2, dense), p1 (256, s4), p2 (512, s8), p3 (1024, s8); p1..p3 may be in the blocked layout
  // (Layout::Blocked), which the convolutions reading them accept as is.
  at::Tensor c1, c2, c3, c4;
};

struct Backbone {
  Conv conv1;
  std::vector<Bottleneck> layer1, layer2, layer3;

  void load(io::WeightReader& w, const LoadOptions& options) {
    const std::string p = kBackbone;
    ConvGeometry g;
    g.stride = 2;  // 7×7, stride 2, padding 0
    conv1 = Conv::load(w, p + "conv1", false, p + "bn1", 64, 3, 7, g, Activation::Relu, options);
    layer1 = load_layer(w, {1, 3, 64, 64}, options);
    layer2 = load_layer(w, {2, 4, 128, 256}, options);
    layer3 = load_layer(w, {3, 6, 256, 512}, options);
  }

  BackboneOut operator()(const at::Tensor& x) const {
    BackboneOut out;
    out.c1 = conv1(x);
    at::Tensor pooled = at::max_pool2d(out.c1, {3, 3}, {2, 2}, {1, 1});
    out.c2 = run_layer(layer1, layer1.front().conv1.on_onednn() ? to_blocked(pooled) : pooled);
    out.c3 = run_layer(layer2, out.c2);
    out.c4 = run_layer(layer3, out.c3);
    return out;
  }
};

// ---- Box head: box_tower(256, 256, towernum=4) (spec §1.4) -------------------------------------------------------------

// matrix(): three kernel/search conv pairs with the dilations (1,1), (2,1), (1,2), no padding.
struct Encoder {
  std::array<Conv, 3> kernel_branch, search_branch;

  void load(io::WeightReader& w, const std::string& prefix, const LoadOptions& options) {
    const std::array<const char*, 3> names = {"matrix11", "matrix12", "matrix21"};
    const std::array<std::array<int64_t, 2>, 3> dilations = {{{1, 1}, {2, 1}, {1, 2}}};
    for (int i = 0; i < 3; ++i) {
      ConvGeometry g;
      g.dilation = dilations[i];
      for (int side = 0; side < 2; ++side) {
        const std::string p = prefix + names[i] + (side == 0 ? "_k" : "_s");
        Conv c = Conv::load(w, p + ".0", false, p + ".1", 256, 256, 3, g, Activation::Relu, options);
        (side == 0 ? kernel_branch[i] : search_branch[i]) = std::move(c);
      }
    }
  }

  std::array<at::Tensor, 3> encode_kernel(const at::Tensor& z) const {
    return {kernel_branch[0](z), kernel_branch[1](z), kernel_branch[2](z)};
  }
};

// GroupDW: three depthwise correlations fused with softmax weights.
at::Tensor group_dw(const std::array<Conv, 3>& search_branch, const at::Tensor& x,
                    const std::array<at::Tensor, 3>& kernels, const std::array<double, 3>& weights) {
  at::Tensor fused;
  for (int i = 0; i < 3; ++i) {
    at::Tensor corr = xcorr_depthwise(search_branch[i](x), kernels[i]);
    corr.mul_(weights[i]);
    fused = i == 0 ? corr : fused.add_(corr);
  }
  return fused;
}

struct Tower {
  std::array<Conv, 4> convs;

  void load(io::WeightReader& w, const std::string& prefix, const LoadOptions& options) {
    ConvGeometry g;
    g.padding = {1, 1};
    for (int i = 0; i < 4; ++i) {
      convs[i] = Conv::load(w, prefix + std::to_string(3 * i), true, prefix + std::to_string(3 * i + 1), 256, 256, 3,
                            g, Activation::Relu, options);
    }
  }

  // The output stays blocked (when available): the prediction conv reads it directly.
  at::Tensor operator()(at::Tensor x) const {
    for (const Conv& c : convs) x = c(x, Layout::Blocked);
    return x;
  }
};

std::array<double, 3> softmax3(const at::Tensor& v) {
  at::Tensor s = at::softmax(v.to(at::kCPU, at::kFloat), 0).contiguous();  // read on the host, wherever v lives
  const float* p = s.data_ptr<float>();
  return {p[0], p[1], p[2]};
}

// ---- Mask branch (spec §1.5–1.8) -------------------------------------------------------------------------------------

Conv load_mask_conv(io::WeightReader& w, const std::string& name, int64_t out, int64_t in, Activation act,
                    const LoadOptions& options) {
  ConvGeometry g;
  g.padding = {1, 1};
  return Conv::load(w, name + ".0", true, "", out, in, 3, g, act, options);
}

void skip_conv(io::WeightReader& w, const std::string& name) {
  w.skip(name + ".weight");
  w.skip(name + ".bias");
}

struct MssStage {  // stage 1 (MSS, and MMS stage 1)
  Conv b4, b3, b2, b1, rco, r3, r2, r1, r0;
};

// IterRefine / IterRefine2 (MMS stages 2 and 3).
struct RefineStage {
  Conv b3, b2, b1, r4, r3, r2, r1, r0;
};

struct StageFeatures {  // iterList: the post-ReLU branch features handed to the next stage
  at::Tensor r4, b3, b2, b1;
};

std::string sizes_of(const at::Tensor& t) {
  return t.defined() ? io::shape_to_string(t.sizes().vec()) : "an undefined tensor";
}

// Inputs are checked here, so that a wrong crop is a clear error instead of a failure deep inside a convolution.
void check_image(const at::Tensor& x, const char* what, int64_t min_side, int64_t exact_side, int64_t batch = 1) {
  const bool ok = x.defined() && x.dim() == 4 && x.size(0) == batch && x.size(1) == 3 && x.size(2) == x.size(3) &&
                  x.size(2) >= min_side && (exact_side == 0 || x.size(2) == exact_side) &&
                  at::isFloatingType(x.scalar_type());
  if (!ok) {
    throw Error(std::string(what) + " must be a float " + std::to_string(batch) + "×3×S×S tensor (BGR 0..255) with S " +
                (exact_side ? "= " + std::to_string(exact_side) : ">= " + std::to_string(min_side)) + "; got " +
                sizes_of(x));
  }
}

}  // namespace

const char* mask_decoder_name(MaskDecoder decoder) { return decoder == MaskDecoder::MMS ? "MMS" : "MSS"; }

struct OceanPlusNet::Impl {
  MaskDecoder decoder = MaskDecoder::MSS;
  LoadOptions options;
  Backbone backbone;
  Conv neck;
  Encoder cls_encode, reg_encode;
  std::array<double, 3> cls_dw_weights{}, reg_dw_weights{};
  Tower cls_tower, bbox_tower;
  Conv cls_pred, bbox_pred;
  double adjust = 0;
  at::Tensor bbox_bias;  // 1×4×1×1
  Conv s_embed, t_embed;
  MssStage stage1;
  RefineStage stage2, stage3;
  std::vector<std::string> used_keys, skipped_keys;

  void load(io::WeightReader& w, const LoadOptions& options);
  at::Tensor run_neck(const at::Tensor& c4) const { return neck(c4); }
  at::Tensor arn(const TemplateState& state, const at::Tensor& b4, SearchTrace* trace) const;
  // The ARN of N targets at once (b4: N×256×H×W, states[i] for item i), through batched matrix products.
  at::Tensor arn_batch(const std::vector<const TemplateState*>& states, const at::Tensor& b4) const;
  SearchOutput track(const std::vector<const TemplateState*>& states, const at::Tensor& x, SearchTrace* trace) const;
  at::Tensor stage1_logits(const BackboneOut& f, const at::Tensor& b4_plus_arn, const at::Tensor& corr,
                           int64_t input_size, StageFeatures* keep) const;
  at::Tensor refine_logits(const RefineStage& stage, const at::Tensor& previous_logits, StageFeatures& feats,
                           int64_t input_size) const;
};

void OceanPlusNet::Impl::load(io::WeightReader& w, const LoadOptions& load_options) {
  options = load_options;
  decoder = w.has(std::string(kMask) + "iter.r0.0.weight") ? MaskDecoder::MMS : MaskDecoder::MSS;

  backbone.load(w, options);
  neck = Conv::load(w, "neck.downsample.0", false, "neck.downsample.1", 256, 1024, 1, {}, Activation::None, options);

  const std::string h = kHead;
  cls_encode.load(w, h + "cls_encode.", options);
  reg_encode.load(w, h + "reg_encode.", options);
  cls_dw_weights = softmax3(w.take(h + "cls_dw.weight", {3}));
  reg_dw_weights = softmax3(w.take(h + "reg_dw.weight", {3}));
  cls_tower.load(w, h + "cls_tower.", options);
  bbox_tower.load(w, h + "bbox_tower.", options);
  ConvGeometry g;
  g.padding = {1, 1};
  cls_pred = Conv::load(w, h + "cls_pred", true, "", 1, 256, 3, g, Activation::None, options);
  bbox_pred = Conv::load(w, h + "bbox_pred", true, "", 4, 256, 3, g, Activation::None, options);
  adjust = w.take(h + "adjust", {1}).item<double>();
  bbox_bias = to_compute(w.take(h + "bias", {1, 4, 1, 1}), options);

  const std::string m = kMask;
  s_embed = Conv::load(w, m + "sequential.s_embed", true, "", 64, 256, 1, {}, Activation::None, options);
  t_embed = Conv::load(w, m + "sequential.t_embed", true, "", 64, 256, 1, {}, Activation::None, options);
  const Activation relu = Activation::Relu;
  stage1.b4 = load_mask_conv(w, m + "b4", 64, 256, relu, options);
  stage1.b3 = load_mask_conv(w, m + "b3", 32, 512, relu, options);
  stage1.b2 = load_mask_conv(w, m + "b2", 16, 256, relu, options);
  stage1.b1 = load_mask_conv(w, m + "b1", 4, 64, relu, options);
  stage1.rco = load_mask_conv(w, m + "rCo", 64, 256, relu, options);
  stage1.r3 = load_mask_conv(w, m + "r3", 32, 64, relu, options);
  stage1.r2 = load_mask_conv(w, m + "r2", 16, 32, relu, options);
  stage1.r1 = load_mask_conv(w, m + "r1", 4, 16, relu, options);
  stage1.r0 = load_mask_conv(w, m + "r0", 2, 4, Activation::None, options);
  // Deep-supervision heads: trained, never used at inference.
  for (const char* name : {"b0", "m3", "m2", "m1"}) skip_conv(w, m + name + ".0");

  if (decoder == MaskDecoder::MMS) {
    struct Channels {
      int64_t b3_out, b3_in, b2_out, b2_in, b1, r4_out, r4_in, r3_out, r3_in, r2_out, r2_in, r1_out, r1_in;
    };
    auto load_refine = [&](const std::string& p, const Channels& c) {
      RefineStage s;
      s.b3 = load_mask_conv(w, p + "b3", c.b3_out, c.b3_in, relu, options);
      s.b2 = load_mask_conv(w, p + "b2", c.b2_out, c.b2_in, relu, options);
      s.b1 = load_mask_conv(w, p + "b1", c.b1, c.b1, relu, options);
      s.r4 = load_mask_conv(w, p + "r4", c.r4_out, c.r4_in, relu, options);
      s.r3 = load_mask_conv(w, p + "r3", c.r3_out, c.r3_in, relu, options);
      s.r2 = load_mask_conv(w, p + "r2", c.r2_out, c.r2_in, relu, options);
      s.r1 = load_mask_conv(w, p + "r1", c.r1_out, c.r1_in, relu, options);
      s.r0 = load_mask_conv(w, p + "r0", 2, 4, Activation::None, options);
      for (const char* name : {"m3", "m2", "m1"}) skip_conv(w, p + name + ".0");
      return s;
    };
    stage2 = load_refine(m + "iter.", {32, 32, 16, 16, 4, 32, 64, 32, 32, 16, 32, 4, 16});
    stage3 = load_refine(m + "iter2.", {16, 32, 8, 16, 4, 16, 32, 16, 16, 8, 16, 4, 8});
    // IterRefine builds a second ARN that is never called.
    skip_conv(w, m + "iter.sequential.s_embed");
    skip_conv(w, m + "iter.sequential.t_embed");
  }
  used_keys.assign(w.used_keys().begin(), w.used_keys().end());
  skipped_keys.assign(w.skipped_keys().begin(), w.skipped_keys().end());
}

at::Tensor OceanPlusNet::Impl::arn(const TemplateState& state, const at::Tensor& b4, SearchTrace* trace) const {
  if (options.reference_ops) {  // as TracKit: keys from zf_ori every frame, bmm attention
    const at::Tensor q = s_embed(b4).flatten(2).transpose(1, 2);                   // 1×HW×64
    const at::Tensor k = t_embed(state.zf_ori).flatten(2);                          // 1×64×225
    at::Tensor att = at::softmax(at::bmm(q, k).div_(8.0), -1);
    at::Tensor map = at::bmm(att, state.arn_values).view({1, 1, b4.size(2), b4.size(3)});
    if (trace) {
      trace->arn_attention = att;
      trace->arn_map_preclamp = map;
    }
    return map.clamp(0.0, 1.0);
  }
  // q·k for every search position and look-up entry is a 1×1 convolution with the 225 keys as filters: on the CPU
  // this runs on oneDNN instead of the generic BLAS behind at::bmm (an order of magnitude slower on Debian).
  const at::Tensor q = s_embed(b4);                                                          // 1×64×H×W
  const at::Tensor keys = state.arn_keys[0].t().reshape({-1, q.size(1), 1, 1});             // 225×64×1×1
  at::Tensor att = at::softmax(at::conv2d(q, keys).div_(8.0), 1);                           // /sqrt(64), over the LUT
  at::Tensor values = state.arn_values.reshape({1, -1, 1, 1});                              // 1×225×1×1
  at::Tensor map = at::conv2d(att, values);                                                 // 1×1×H×W
  if (trace) {
    trace->arn_attention = att.flatten(2).transpose(1, 2);  // 1×HW×225, the reference's layout
    trace->arn_map_preclamp = map;
  }
  return map.clamp(0.0, 1.0);
}

at::Tensor OceanPlusNet::Impl::arn_batch(const std::vector<const TemplateState*>& states,
                                         const at::Tensor& b4) const {
  std::vector<at::Tensor> keys, values;
  for (const TemplateState* s : states) {
    keys.push_back(s->arn_keys);      // 1×64×225
    values.push_back(s->arn_values);  // 1×225×1
  }
  const at::Tensor q = s_embed(b4).flatten(2).transpose(1, 2);                     // N×HW×64
  at::Tensor att = at::softmax(at::bmm(q, at::cat(keys)).div_(8.0), -1);            // N×HW×225
  at::Tensor map = at::bmm(att, at::cat(values)).view({b4.size(0), 1, b4.size(2), b4.size(3)});
  return map.clamp(0.0, 1.0);
}

at::Tensor OceanPlusNet::Impl::stage1_logits(const BackboneOut& f, const at::Tensor& b4_plus_arn,
                                             const at::Tensor& corr, int64_t input_size, StageFeatures* keep) const {
  const int64_t s4 = b4_plus_arn.size(2);
  at::Tensor corr_up = resize_bilinear_aligned(corr, s4, s4);
  at::Tensor r4 = stage1.rco(corr_up).add_(stage1.b4(b4_plus_arn));
  r4 = resize_bilinear_aligned(r4, f.c3.size(2), f.c3.size(3));
  at::Tensor b3 = stage1.b3(f.c3);
  at::Tensor r3 = stage1.r3(r4) + b3;
  r3 = resize_bilinear_aligned(r3, f.c2.size(2), f.c2.size(3));
  at::Tensor b2 = stage1.b2(f.c2);
  at::Tensor r2 = stage1.r2(r3) + b2;
  r2 = resize_bilinear_aligned(r2, f.c1.size(2), f.c1.size(3));
  at::Tensor b1 = stage1.b1(f.c1);
  at::Tensor r1 = stage1.r1(r2) + b1;
  r1 = resize_bilinear_aligned(r1, input_size, input_size);
  if (keep) *keep = {r4, b3, b2, b1};
  return stage1.r0(r1);
}

at::Tensor OceanPlusNet::Impl::refine_logits(const RefineStage& s, const at::Tensor& previous_logits,
                                             StageFeatures& feats, int64_t input_size) const {
  // Attention from the previous stage: foreground probability, floored at 0.7.
  at::Tensor att = at::softmax(previous_logits, 1).slice(1, 1, 2).clamp(0.7, 1.0);
  at::Tensor a4 = resize_bilinear_aligned(att, feats.r4.size(2), feats.r4.size(3));
  at::Tensor a2 = resize_bilinear_aligned(att, feats.b2.size(2), feats.b2.size(3));
  at::Tensor a1 = resize_bilinear_aligned(att, feats.b1.size(2), feats.b1.size(3));
  at::Tensor r4 = s.r4(a4 * feats.r4);
  at::Tensor b3 = s.b3(a4 * feats.b3);
  at::Tensor r3 = s.r3(r4) + b3;
  r3 = resize_bilinear_aligned(r3, feats.b2.size(2), feats.b2.size(3));
  at::Tensor b2 = s.b2(a2 * feats.b2);
  at::Tensor r2 = s.r2(r3) + b2;
  r2 = resize_bilinear_aligned(r2, feats.b1.size(2), feats.b1.size(3));
  at::Tensor b1 = s.b1(a1 * feats.b1);
  at::Tensor r1 = s.r1(r2) + b1;
  r1 = resize_bilinear_aligned(r1, input_size, input_size);
  feats = {r4, b3, b2, b1};
  return s.r0(r1);
}

OceanPlusNet::OceanPlusNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OceanPlusNet::~OceanPlusNet() = default;

std::shared_ptr<OceanPlusNet> OceanPlusNet::load(const io::StateDict& weights, const LoadOptions& options) {
  at::NoGradGuard no_grad;
  auto impl = std::make_unique<Impl>();
  build_on_device(weights, options, [&](io::WeightReader& reader, const LoadOptions& o) { impl->load(reader, o); });
  auto net = std::shared_ptr<OceanPlusNet>(new OceanPlusNet(std::move(impl)));
  net->device_ = options.device;
  return net;
}

std::shared_ptr<OceanPlusNet> OceanPlusNet::load_file(const std::string& path, const LoadOptions& options) {
  return load(io::load_state_dict(path), options);
}

io::StateDict OceanPlusNet::synthetic_weights(MaskDecoder decoder, uint64_t seed) {
  at::NoGradGuard no_grad;
  io::StateDict out;
  out.source = std::string("synthetic ") + mask_decoder_name(decoder);
  // The MMS marker key (its presence selects the decoder), from the seed like every other tensor: two loads of the
  // same seed must give the same network.
  if (decoder == MaskDecoder::MMS) {
    at::Generator generator = at::detail::createCPUGenerator(seed ^ 0x4d4d53ull);
    out.tensors.emplace(std::string(kMask) + "iter.r0.0.weight", at::randn({2, 4, 3, 3}, generator));
  }
  io::WeightReader reader = io::WeightReader::synthesizing(out, seed);
  Impl().load(reader, LoadOptions{});
  return out;
}

MaskDecoder OceanPlusNet::decoder() const { return impl_->decoder; }
bool OceanPlusNet::on_onednn() const { return impl_->neck.on_onednn(); }
const std::vector<std::string>& OceanPlusNet::used_keys() const { return impl_->used_keys; }
const std::vector<std::string>& OceanPlusNet::skipped_keys() const { return impl_->skipped_keys; }

TemplateState OceanPlusNet::make_template(const at::Tensor& z, const at::Tensor& mask) const {
  at::NoGradGuard no_grad;
  check_image(z, "make_template: the template crop", 0, 127);
  TemplateState state;
  const BackboneOut f = impl_->backbone(to_compute(z, impl_->options));
  state.zf_ori = impl_->neck(f.c4);
  // The neck crops the centre 7×7 of the 15×15 template feature (only for widths < 20, i.e. templates).
  state.zf = state.zf_ori.size(3) < 20 ? state.zf_ori.slice(2, 4, -4).slice(3, 4, -4).contiguous() : state.zf_ori;
  state.ma_kernel = state.zf;
  state.reg_kernels = impl_->reg_encode.encode_kernel(state.zf);
  state.cls_kernels = impl_->cls_encode.encode_kernel(state.zf);
  state.arn_keys = impl_->t_embed(state.zf_ori).flatten(2);  // 1×64×225
  set_template_mask(state, mask);
  return state;
}

void OceanPlusNet::set_template_mask(TemplateState& state, const at::Tensor& mask) const {
  at::NoGradGuard no_grad;
  if (!mask.defined() || mask.numel() != 127 * 127 || mask.size(-1) != 127 || mask.size(-2) != 127) {
    throw Error("the template mask must be 127×127 (or 1×127×127); got " + sizes_of(mask));
  }
  state.template_mask = mask.to(state.zf_ori.scalar_type()).reshape({1, mask.size(-2), mask.size(-1)}).contiguous();
  const int64_t side = state.zf_ori.size(2);
  at::Tensor lut = resize_bilinear_aligned(state.template_mask.unsqueeze(0), side, side);
  state.arn_values = lut.reshape({1, side * side, 1}).contiguous();
}

SearchOutput OceanPlusNet::track(const TemplateState& state, const at::Tensor& x, SearchTrace* trace) const {
  at::NoGradGuard no_grad;
  // The backbone needs at least the template's size; the ARN needs a square crop.
  check_image(x, "track: the search crop", 127, 0);
  return impl_->track({&state}, to_compute(x, impl_->options), trace);
}

SearchOutput OceanPlusNet::track_batch(const std::vector<const TemplateState*>& states, const at::Tensor& x) const {
  at::NoGradGuard no_grad;
  check_image(x, "track_batch: the search crops", 127, 0, static_cast<int64_t>(states.size()));
  for (const TemplateState* s : states) {
    if (!s) throw Error("track_batch: a null template state");
  }
  return impl_->track(states, to_compute(x, impl_->options), nullptr);
}

SearchOutput OceanPlusNet::Impl::track(const std::vector<const TemplateState*>& states, const at::Tensor& x,
                                       SearchTrace* trace) const {
  const Impl& n = *this;
  const bool batched = states.size() > 1;
  const TemplateState& state = *states.front();
  SearchOutput out;
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&](double SearchTrace::*field, const at::Tensor& produced) {
    if (!trace) return;
    // On a GPU the stage is only queued: wait for its last output before reading the clock (only when timing).
    if (!produced.is_cpu()) produced.flatten()[0].item<float>();
    const auto now = std::chrono::steady_clock::now();
    trace->*field = std::chrono::duration<double, std::milli>(now - clock).count();
    clock = now;
  };
  const BackboneOut f = n.backbone(x);
  lap(&SearchTrace::backbone_ms, f.c4);
  out.neck_xf = n.neck(f.c4);
  lap(&SearchTrace::neck_ms, out.neck_xf);

  // Box head: only the cls branch sees the updated template.
  std::array<at::Tensor, 3> cls_kernels = state.cls_kernels, reg_kernels = state.reg_kernels;
  if (n.options.reference_ops && !batched) {  // TracKit encodes the template side again on every frame
    cls_kernels = n.cls_encode.encode_kernel(state.zf_update.defined() ? state.zf_update : state.zf);
    reg_kernels = n.reg_encode.encode_kernel(state.zf);
  }
  if (batched) {  // item i of each branch's kernel batch: target i's kernel
    for (int branch = 0; branch < 3; ++branch) {
      std::vector<at::Tensor> cls, reg;
      for (const TemplateState* s : states) {
        cls.push_back(s->cls_kernels[branch]);
        reg.push_back(s->reg_kernels[branch]);
      }
      cls_kernels[branch] = at::cat(cls);
      reg_kernels[branch] = at::cat(reg);
    }
  }
  // Six encoder convolutions read the neck feature: convert it to the blocked layout once, not six times.
  const at::Tensor neck_blocked = n.neck.on_onednn() ? to_blocked(out.neck_xf) : out.neck_xf;
  out.cls_dw = group_dw(n.cls_encode.search_branch, neck_blocked, cls_kernels, n.cls_dw_weights);
  at::Tensor reg_dw = group_dw(n.reg_encode.search_branch, neck_blocked, reg_kernels, n.reg_dw_weights);
  at::Tensor x_reg = n.bbox_tower(reg_dw);
  out.bbox_ltrb = n.bbox_pred(x_reg).mul_(n.adjust).add_(n.bbox_bias).exp_();
  at::Tensor cls_features = n.cls_tower(out.cls_dw);
  out.cls_logits = n.cls_pred(cls_features).mul_(0.1);
  lap(&SearchTrace::head_ms, out.cls_logits);

  // Mask branch: ARN adds the retrieved 1-channel map to every channel of the neck feature.
  const int64_t input_size = x.size(2);
  at::Tensor b4 = out.neck_xf + (batched ? n.arn_batch(states, out.neck_xf) : n.arn(state, out.neck_xf, trace));
  if (n.decoder == MaskDecoder::MSS) {
    out.mask_logits = n.stage1_logits(f, b4, out.cls_dw, input_size, nullptr);
    if (trace) trace->stage_logits = {out.mask_logits};
  } else {
    StageFeatures feats;
    at::Tensor mask1 = n.stage1_logits(f, b4, out.cls_dw, input_size, &feats);
    at::Tensor mask2 = n.refine_logits(n.stage2, mask1, feats, input_size);
    at::Tensor mask3 = n.refine_logits(n.stage3, mask2, feats, input_size);
    out.mask_logits = mask1 * 0.33 + mask2 * 0.33 + mask3 * 0.33;  // the reference's weights (sum 0.99)
    if (trace) trace->stage_logits = {mask1, mask2, mask3};
  }
  lap(&SearchTrace::mask_ms, out.mask_logits);
  if (trace) {
    trace->c1 = f.c1;
    trace->c2 = to_dense(f.c2);
    trace->c3 = to_dense(f.c3);
    trace->c4 = to_dense(f.c4);
    trace->reg_dw = reg_dw;
    trace->cls_tower = to_dense(cls_features);
    trace->bbox_tower = to_dense(x_reg);
  }
  return out;
}

at::Tensor OceanPlusNet::update_template(TemplateState& state, const at::Tensor& search_neck_xf, double pos_x,
                                         double pos_y, double width, double height, double score) const {
  at::NoGradGuard no_grad;
  constexpr double kStride = 8.0;
  constexpr double kLambdaU = 0.1;  // moving-average rate (times the score)
  constexpr double kLambdaS = 0.2;  // weight of the first-frame template
  const double half = static_cast<double>(search_neck_xf.size(3) / 2);
  const double context = 0.3 * (width + height);
  const double wc = (width + context) / kStride;
  const double hc = (height + context) / kStride;
  // 7 sample points: linspace(-c/2, c/2, 17)[5:-5] + pos/8, normalised by half the feature width.
  at::Tensor grid = at::empty({1, 7, 7, 2}, at::kDouble);
  auto g = grid.accessor<double, 4>();
  auto linspace_point = [](double extent, int i) { return -extent / 2 + extent * i / 16.0; };
  for (int row = 0; row < 7; ++row) {
    for (int col = 0; col < 7; ++col) {
      g[0][row][col][0] = (linspace_point(wc, col + 5) + pos_x / kStride) / half;
      g[0][row][col][1] = (linspace_point(hc, row + 5) + pos_y / kStride) / half;
    }
  }
  // torch 1.1 grid_sample had align_corners=true semantics.
  // The grid is built on the host; the features may be on a GPU.
  at::Tensor zmap = at::grid_sampler(search_neck_xf.to(at::kDouble), grid.to(search_neck_xf.device()),
                                     /*bilinear*/ 0, /*zeros*/ 0,
                                     /*align_corners=*/true)
                        .to(search_neck_xf.scalar_type());
  const double rate = kLambdaU * score;
  state.ma_kernel = state.ma_kernel * (1.0 - rate) + zmap * rate;
  state.zf_update = state.zf * kLambdaS + state.ma_kernel * (1.0 - kLambdaS);
  state.cls_kernels = impl_->cls_encode.encode_kernel(state.zf_update);
  return grid;
}

void OceanPlusNet::set_template_update(TemplateState& state, const at::Tensor& ma_kernel,
                                       const at::Tensor& zf_update) const {
  at::NoGradGuard no_grad;
  auto check = [&](const at::Tensor& t, const char* what) {
    if (t.defined() && t.sizes() != state.zf.sizes()) {
      throw Error(std::string("set_template_update: ") + what + " must be " + sizes_of(state.zf) + "; got " +
                  sizes_of(t));
    }
  };
  check(ma_kernel, "the moving-average kernel");
  check(zf_update, "the updated kernel");
  state.ma_kernel = ma_kernel.defined() ? ma_kernel.to(state.zf.scalar_type()).contiguous() : state.zf;
  state.zf_update = zf_update.defined() ? zf_update.to(state.zf.scalar_type()).contiguous() : at::Tensor();
  state.cls_kernels = impl_->cls_encode.encode_kernel(state.zf_update.defined() ? state.zf_update : state.zf);
}

}  // namespace oceanplus::nn
