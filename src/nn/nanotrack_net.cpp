#include "nn/nanotrack_net.h"

#include <ATen/ATen.h>

#include <array>

#include "common/error.h"

namespace oceanplus::nn {
namespace {

constexpr double kBatchNormEps = 1e-5;

enum class Act { None, Relu, Relu6, HardSwish };

at::Tensor activate(const at::Tensor& x, Act act) {
  switch (act) {
    case Act::None: return x;
    case Act::Relu: return at::relu(x);
    case Act::Relu6: return at::hardtanh(x, 0.0, 6.0);
    case Act::HardSwish: return at::hardswish(x);
  }
  return x;
}

// One row of the backbone table (spec §2.3): features.1 .. features.9.
struct BlockSpec {
  int64_t in, expanded, out, kernel, stride;
  bool squeeze_excite, hard_swish;
};
constexpr std::array<BlockSpec, 9> kBlocks = {{
    {16, 16, 16, 3, 2, true, false},
    {16, 72, 24, 3, 2, false, false},
    {24, 88, 24, 3, 1, false, false},
    {24, 96, 40, 5, 2, true, true},
    {40, 240, 40, 5, 1, true, true},
    {40, 240, 40, 5, 1, true, true},
    {40, 120, 48, 5, 1, true, true},
    {48, 144, 48, 5, 1, true, true},
    {48, 288, 96, 5, 1, true, true},  // v3 only
}};

// MobileNetV3's _make_divisible(v, 8): the SE bottleneck width.
int64_t make_divisible(double v) {
  int64_t rounded = std::max<int64_t>(8, static_cast<int64_t>(v + 4) / 8 * 8);
  if (rounded < 0.9 * v) rounded += 8;
  return rounded;
}

}  // namespace

const char* nanotrack_version_name(NanoTrackVersion version) {
  return version == NanoTrackVersion::V2 ? "v2" : "v3";
}

// conv (+ BatchNorm folded or kept) (+ activation), any group count.
struct NanoTrackNet::Layer : std::enable_shared_from_this<NanoTrackNet::Layer> {
  at::Tensor weight, bias;
  at::Tensor bn_weight, bn_bias, bn_mean, bn_var;  // only when BatchNorm is not folded
  int64_t stride = 1, padding = 0, groups = 1;
  Act act = Act::None;

  static std::shared_ptr<Layer> load(io::WeightReader& w, const std::string& conv_key, bool has_bias,
                                     const std::string& bn_key, int64_t out, int64_t in_per_group, int64_t kernel,
                                     int64_t stride, int64_t padding, int64_t groups, Act act,
                                     const LoadOptions& options) {
    auto layer = std::make_shared<Layer>();
    layer->stride = stride;
    layer->padding = padding;
    layer->groups = groups;
    layer->act = act;
    layer->weight = w.take(conv_key + ".weight", {out, in_per_group, kernel, kernel});
    if (has_bias) layer->bias = w.take(conv_key + ".bias", {out});
    if (bn_key.empty()) return layer->to_compute(options);
    const at::Tensor gamma = w.take(bn_key + ".weight", {out});
    const at::Tensor beta = w.take(bn_key + ".bias", {out});
    const at::Tensor mean = w.take(bn_key + ".running_mean", {out});
    const at::Tensor var = w.take(bn_key + ".running_var", {out});
    w.skip(bn_key + ".num_batches_tracked");
    if (!options.fold_batchnorm) {
      layer->bn_weight = gamma;
      layer->bn_bias = beta;
      layer->bn_mean = mean;
      layer->bn_var = var;
      return layer->to_compute(options);
    }
    const at::Tensor scale = gamma.to(at::kDouble) / (var.to(at::kDouble) + kBatchNormEps).sqrt();
    const at::Tensor conv_bias = layer->bias.defined() ? layer->bias.to(at::kDouble) : at::zeros_like(scale);
    layer->weight = (layer->weight.to(at::kDouble) * scale.view({-1, 1, 1, 1})).to(at::kFloat).contiguous();
    layer->bias = ((conv_bias - mean.to(at::kDouble)) * scale + beta.to(at::kDouble)).to(at::kFloat).contiguous();
    return layer->to_compute(options);
  }

  // Converts the kept tensors to the compute type and layout (LoadOptions::dtype, channels_last).
  std::shared_ptr<Layer> to_compute(const LoadOptions& options) {
    for (at::Tensor* t : {&weight, &bias, &bn_weight, &bn_bias, &bn_mean, &bn_var}) *t = nn::to_compute(*t, options);
    return shared_from_this();
  }

  at::Tensor operator()(const at::Tensor& x) const {
    at::Tensor y = at::conv2d(x, weight, bias, {stride, stride}, {padding, padding}, {1, 1}, groups);
    if (bn_weight.defined()) {
      y = at::batch_norm(y, bn_weight, bn_bias, bn_mean, bn_var, false, 0.0, kBatchNormEps, false);
    }
    return activate(y, act);
  }
};

// Squeeze-and-excitation with Linear weights: x · hsigmoid(fc2(relu(fc1(mean(x))))).
struct SqueezeExcite {
  at::Tensor fc1_w, fc1_b, fc2_w, fc2_b;
  static SqueezeExcite load(io::WeightReader& w, const std::string& key, int64_t channels) {
    const int64_t reduced = make_divisible(static_cast<double>(channels / 4));
    SqueezeExcite se;
    se.fc1_w = w.take(key + ".fc.0.weight", {reduced, channels});
    se.fc1_b = w.take(key + ".fc.0.bias", {reduced});
    se.fc2_w = w.take(key + ".fc.2.weight", {channels, reduced});
    se.fc2_b = w.take(key + ".fc.2.bias", {channels});
    return se;
  }
  void to_compute(const LoadOptions& options) {
    for (at::Tensor* t : {&fc1_w, &fc1_b, &fc2_w, &fc2_b}) *t = nn::to_compute(*t, options);
  }
  at::Tensor operator()(const at::Tensor& x) const {
    const at::Tensor pooled = x.mean({2, 3});
    const at::Tensor gate = at::hardsigmoid(at::linear(at::relu(at::linear(pooled, fc1_w, fc1_b)), fc2_w, fc2_b));
    return x * gate.unsqueeze(-1).unsqueeze(-1);
  }
};

// features.i: the stem (i = 0) or an inverted residual block.
struct NanoTrackNet::Block {
  std::shared_ptr<Layer> stem;                  // features.0 only
  std::shared_ptr<Layer> expand, depthwise, project;  // expand is absent in features.1 (expansion 1)
  bool has_se = false, residual = false;
  SqueezeExcite se;
  Act act = Act::None;

  at::Tensor operator()(const at::Tensor& x) const {
    if (stem) return (*stem)(x);
    at::Tensor y = expand ? (*expand)(x) : x;
    y = (*depthwise)(y);
    // NanoTrack's order (spec §2.1): expanded blocks run dw → BN → SE → act; features.1 runs dw → BN → act → SE.
    if (expand) {
      if (has_se) y = se(y);
      y = activate(y, act);
    } else {
      y = activate(y, act);
      if (has_se) y = se(y);
    }
    y = (*project)(y);
    return residual ? x + y : y;
  }
};

// A correlation branch: pixel-wise (v2, v3; with channel attention, and in v3 a 2×2 conv after it) or depth-wise
// (v3, on the template's centre 4×4, padding 1).
struct NanoTrackNet::Correlation {
  bool pixelwise = true;
  std::shared_ptr<Layer> kernel_conv, search_conv;
  at::Tensor ca_fc1_w, ca_fc1_b, ca_fc2_w, ca_fc2_b;
  std::shared_ptr<Layer> post_dw, post_pw;  // v3 pixel-wise: dw 2×2 → BN → ReLU6 → 1×1 → BN

  // zf: 1×C×8×8 (one template for every search) or N×C×8×8 (one per search, several targets in one pass).
  at::Tensor operator()(const at::Tensor& zf, const at::Tensor& xf) const {
    if (pixelwise) {
      const at::Tensor k = (*kernel_conv)(zf);  // 1×C×8×8 or N×C×8×8
      const at::Tensor s = (*search_conv)(xf);  // N×C×H×W
      const int64_t c = k.size(1), cells = k.size(2) * k.size(3);
      const int64_t n = s.size(0), h = s.size(2), w = s.size(3);
      // One output channel per template cell (row-major): kernel_mat [cells, C] · search [N, C, H·W].
      const at::Tensor kernel_mat =
          k.size(0) == 1 ? k.reshape({c, cells}).t() : k.reshape({n, c, cells}).transpose(1, 2);
      at::Tensor corr = at::matmul(kernel_mat, s.reshape({n, c, h * w})).reshape({n, cells, h, w});
      const at::Tensor pooled = corr.mean({2, 3}, true);
      const at::Tensor att = at::sigmoid(at::conv2d(at::relu(at::conv2d(pooled, ca_fc1_w, ca_fc1_b)), ca_fc2_w, ca_fc2_b));
      corr = corr * att;
      if (post_dw) corr = (*post_pw)((*post_dw)(corr));
      return corr;
    }
    const at::Tensor k = (*kernel_conv)(zf.slice(2, 2, 6).slice(3, 2, 6));  // 1×C×4×4 or N×C×4×4
    return xcorr_depthwise((*search_conv)(xf), k, 1);
  }
};

struct NanoTrackNet::Tower {
  std::vector<std::shared_ptr<Layer>> layers;
  at::Tensor operator()(at::Tensor x) const {
    for (const auto& layer : layers) x = (*layer)(x);
    return x;
  }
};

int64_t NanoTrackNet::feature_channels() const { return version_ == NanoTrackVersion::V2 ? 48 : 96; }

int NanoTrackNet::score_size(int instance_size) const {
  const int feature = (instance_size + 15) / 16;  // 'same'-padded stride 16: ceil(S/16)
  return version_ == NanoTrackVersion::V2 ? feature : feature - 1;  // v3's depth-wise branch: 16 + 2 - 4 + 1
}

std::shared_ptr<NanoTrackNet> NanoTrackNet::load_file(const std::string& path, const LoadOptions& options) {
  return load(io::load_state_dict(path), options);
}

std::shared_ptr<NanoTrackNet> NanoTrackNet::load(const io::StateDict& state, const LoadOptions& options) {
  return build_on_device(state, options, [](io::WeightReader& reader, const LoadOptions& o) { return build(reader, o); });
}

std::shared_ptr<NanoTrackNet> NanoTrackNet::build(io::WeightReader& w, const LoadOptions& options) {
  auto net = std::make_shared<NanoTrackNet>();
  net->device_ = options.device;
  net->dtype_ = options.dtype;
  net->channels_last_ = options.channels_last;
  net->version_ = w.has("backbone.features.9.conv.0.weight") ? NanoTrackVersion::V3 : NanoTrackVersion::V2;
  const bool v3 = net->version_ == NanoTrackVersion::V3;

  auto stem = std::make_shared<Block>();
  stem->stem = Layer::load(w, "backbone.features.0.0", false, "backbone.features.0.1", 16, 3, 3, 2, 1, 1,
                           Act::HardSwish, options);
  net->blocks_.push_back(stem);
  const size_t block_count = v3 ? 9 : 8;
  for (size_t i = 0; i < block_count; ++i) {
    const BlockSpec& b = kBlocks[i];
    const std::string key = "backbone.features." + std::to_string(i + 1) + ".conv.";
    const Act act = b.hard_swish ? Act::HardSwish : Act::Relu;
    const int64_t pad = (b.kernel - 1) / 2;
    auto block = std::make_shared<Block>();
    block->act = act;
    block->has_se = b.squeeze_excite;
    block->residual = b.stride == 1 && b.in == b.out;
    if (b.in == b.expanded) {
      block->depthwise = Layer::load(w, key + "0", false, key + "1", b.expanded, 1, b.kernel, b.stride, pad,
                                     b.expanded, Act::None, options);
      if (b.squeeze_excite) {
        block->se = SqueezeExcite::load(w, key + "3", b.expanded);
        block->se.to_compute(options);
      }
      block->project = Layer::load(w, key + "4", false, key + "5", b.out, b.expanded, 1, 1, 0, 1, Act::None, options);
    } else {
      block->expand = Layer::load(w, key + "0", false, key + "1", b.expanded, b.in, 1, 1, 0, 1, act, options);
      block->depthwise = Layer::load(w, key + "3", false, key + "4", b.expanded, 1, b.kernel, b.stride, pad,
                                     b.expanded, Act::None, options);
      if (b.squeeze_excite) {
        block->se = SqueezeExcite::load(w, key + "5", b.expanded);
        block->se.to_compute(options);
      }
      block->project = Layer::load(w, key + "7", false, key + "8", b.out, b.expanded, 1, 1, 0, 1, Act::None, options);
    }
    net->blocks_.push_back(block);
  }

  // The neck is built and loaded by the reference but never called (spec §3).
  for (const char* suffix : {".0.weight", ".1.weight", ".1.bias", ".1.running_mean", ".1.running_var",
                             ".1.num_batches_tracked"}) {
    w.skip(std::string("neck.downsample") + suffix);
  }

  const int64_t c = net->feature_channels();
  auto load_pixelwise = [&](const std::string& key) {
    auto corr = std::make_shared<Correlation>();
    corr->pixelwise = true;
    corr->kernel_conv = Layer::load(w, key + ".conv_kernel.0", true, key + ".conv_kernel.1", c, c, 1, 1, 0, 1, Act::None, options);
    corr->search_conv = Layer::load(w, key + ".conv_search.0", true, key + ".conv_search.1", c, c, 1, 1, 0, 1, Act::None, options);
    corr->ca_fc1_w = w.take(key + ".CA_layer.fc1.weight", {64, 64, 1, 1});
    corr->ca_fc1_b = w.take(key + ".CA_layer.fc1.bias", {64});
    corr->ca_fc2_w = w.take(key + ".CA_layer.fc2.weight", {64, 64, 1, 1});
    corr->ca_fc2_b = w.take(key + ".CA_layer.fc2.bias", {64});
    for (at::Tensor* t : {&corr->ca_fc1_w, &corr->ca_fc1_b, &corr->ca_fc2_w, &corr->ca_fc2_b}) {
      *t = to_compute(*t, options);
    }
    if (v3) {
      corr->post_dw = Layer::load(w, key + ".conv.0", false, key + ".conv.1", 64, 1, 2, 1, 0, 64, Act::Relu6, options);
      corr->post_pw = Layer::load(w, key + ".conv.3", true, key + ".conv.4", 64, 64, 1, 1, 0, 1, Act::None, options);
    }
    return corr;
  };
  auto load_depthwise = [&](const std::string& key) {
    auto corr = std::make_shared<Correlation>();
    corr->pixelwise = false;
    corr->kernel_conv = Layer::load(w, key + ".conv_kernel.0", true, key + ".conv_kernel.1", c, c, 1, 1, 0, 1, Act::None, options);
    corr->search_conv = Layer::load(w, key + ".conv_search.0", true, key + ".conv_search.1", c, c, 1, 1, 0, 1, Act::None, options);
    return corr;
  };
  net->corr_pw_cls_ = load_pixelwise("ban_head.corr_pw_cls");
  net->corr_pw_reg_ = load_pixelwise("ban_head.corr_pw_reg");

  auto load_tower = [&](const std::string& key) {
    auto tower = std::make_shared<Tower>();
    for (int i = 0; i < 6; ++i) {
      if (!v3) {
        // v2: {4i dw, 4i+1 pw, 4i+2 BN, ReLU6}; the first layer takes the 64-channel correlation.
        const int64_t in = i == 0 ? 64 : 96;
        tower->layers.push_back(Layer::load(w, key + "." + std::to_string(4 * i), false, "", in, 1, 3, 1, 1, in,
                                            Act::None, options));
        tower->layers.push_back(Layer::load(w, key + "." + std::to_string(4 * i + 1), false,
                                            key + "." + std::to_string(4 * i + 2), 96, in, 1, 1, 0, 1, Act::Relu6, options));
      } else {
        // v3: {5i dw, 5i+1 BN, ReLU6, 5i+3 pw, 5i+4 BN}, no activation after the last BN.
        tower->layers.push_back(Layer::load(w, key + "." + std::to_string(5 * i), false,
                                            key + "." + std::to_string(5 * i + 1), 96, 1, 3, 1, 1, 96, Act::Relu6, options));
        tower->layers.push_back(Layer::load(w, key + "." + std::to_string(5 * i + 3), false,
                                            key + "." + std::to_string(5 * i + 4), 96, 96, 1, 1, 0, 1, Act::None, options));
      }
    }
    return tower;
  };
  if (v3) {
    net->corr_dw_cls_ = load_depthwise("ban_head.corr_dw_cls");
    net->corr_dw_reg_ = load_depthwise("ban_head.corr_dw_reg");
    net->down_cls_ = Layer::load(w, "ban_head.down_cls.0", true, "", 96, 160, 1, 1, 0, 1, Act::None, options);
    net->down_reg_ = Layer::load(w, "ban_head.down_reg.0", true, "", 96, 160, 1, 1, 0, 1, Act::None, options);
    net->cls_tower_ = load_tower("ban_head.cls_tower");
    net->bbox_tower_ = load_tower("ban_head.bbox_tower");
    net->cls_pred_ = Layer::load(w, "ban_head.cls_logits.0", true, "", 2, 96, 1, 1, 0, 1, Act::None, options);
  } else {
    net->cls_tower_ = load_tower("ban_head.cls_pw_tower");
    net->bbox_tower_ = load_tower("ban_head.bbox_pw_tower");
    net->cls_pred_ = Layer::load(w, "ban_head.cls_pred.0", true, "", 2, 96, 1, 1, 0, 1, Act::None, options);
  }
  net->bbox_pred_ = Layer::load(w, "ban_head.bbox_pred.0", true, "", 4, 96, 1, 1, 0, 1, Act::None, options);
  return net;
}

at::Tensor NanoTrackNet::backbone(const at::Tensor& crop, NanoTrackTaps* taps, std::vector<at::Tensor>* stages) const {
  if (crop.dim() != 4 || crop.size(1) != 3) {
    throw Error("NanoTrack backbone: expected an N×3×H×W crop, got " + io::shape_to_string(crop.sizes().vec()));
  }
  at::Tensor x = to_compute(crop, dtype_, channels_last_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = (*blocks_[i])(x);
    if (stages) stages->push_back(x);
    if (taps) {
      if (i == 0) taps->stride2 = x;
      if (i == 1) taps->stride4 = x;
      if (i == 3) taps->stride8 = x;
    }
  }
  if (taps) taps->stride16 = x;
  return x;
}

NanoTrackHeadOutput NanoTrackNet::head(const at::Tensor& zf, const at::Tensor& xf,
                                       std::map<std::string, at::Tensor>* trace) const {
  const int64_t c = feature_channels();
  if (zf.dim() != 4 || zf.size(1) != c || zf.size(2) != 8 || zf.size(3) != 8) {
    throw Error("NanoTrack head: the template feature must be 1×" + std::to_string(c) + "×8×8 (a 127 crop), got " +
                io::shape_to_string(zf.sizes().vec()));
  }
  if (xf.dim() != 4 || xf.size(1) != c) {
    throw Error("NanoTrack head: the search feature must be N×" + std::to_string(c) + "×H×W, got " +
                io::shape_to_string(xf.sizes().vec()));
  }
  if (zf.size(0) != 1 && zf.size(0) != xf.size(0)) {
    throw Error("NanoTrack head: " + std::to_string(zf.size(0)) + " templates for " + std::to_string(xf.size(0)) +
                " searches (give one, or one per search)");
  }
  auto record = [&](const char* name, const at::Tensor& t) {
    if (trace) (*trace)[name] = t;
  };
  NanoTrackHeadOutput out;
  at::Tensor cls_in, reg_in;
  const at::Tensor pw_cls = (*corr_pw_cls_)(zf, xf);
  const at::Tensor pw_reg = (*corr_pw_reg_)(zf, xf);
  record("head.corr_pw_cls", pw_cls);
  record("head.corr_pw_reg", pw_reg);
  if (version_ == NanoTrackVersion::V3) {
    const at::Tensor dw_cls = (*corr_dw_cls_)(zf, xf);
    const at::Tensor dw_reg = (*corr_dw_reg_)(zf, xf);
    record("head.corr_dw_cls", dw_cls);
    record("head.corr_dw_reg", dw_reg);
    cls_in = (*down_cls_)(at::cat({pw_cls, dw_cls}, 1));
    reg_in = (*down_reg_)(at::cat({pw_reg, dw_reg}, 1));
    record("head.down_cls", cls_in);
    record("head.down_reg", reg_in);
  } else {
    cls_in = pw_cls;
    reg_in = pw_reg;
  }
  out.cls_corr = cls_in;
  const at::Tensor cls_feature = (*cls_tower_)(cls_in);
  const at::Tensor reg_feature = (*bbox_tower_)(reg_in);
  const bool v3 = version_ == NanoTrackVersion::V3;
  record(v3 ? "head.cls_tower" : "head.cls_pw_tower", cls_feature);
  record(v3 ? "head.bbox_tower" : "head.bbox_pw_tower", reg_feature);
  out.cls = (*cls_pred_)(cls_feature);
  const at::Tensor bbox = (*bbox_pred_)(reg_feature);
  record(v3 ? "head.cls_logits" : "head.cls_pred", out.cls);
  record("head.bbox_pred", bbox);
  out.loc = at::exp(bbox);
  return out;
}

at::Tensor NanoTrackNet::cls_correlation(const at::Tensor& zf, const at::Tensor& xf) const {
  if (zf.size(0) != xf.size(0)) throw Error("cls_correlation: template and search batches differ");
  // One item at a time, as the shipped model was trained: the batched form differs in the last bits (7e-8), and the
  // training recipe reproduces the shipped file byte for byte.
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < zf.size(0); ++i) {
    const at::Tensor z = zf.slice(0, i, i + 1), x = xf.slice(0, i, i + 1);
    at::Tensor corr = (*corr_pw_cls_)(z, x);
    if (version_ == NanoTrackVersion::V3) corr = (*down_cls_)(at::cat({corr, (*corr_dw_cls_)(z, x)}, 1));
    out.push_back(corr);
  }
  return at::cat(out, 0);
}

io::StateDict NanoTrackNet::synthetic_weights(NanoTrackVersion version, uint64_t seed) {
  at::NoGradGuard no_grad;
  io::StateDict out;
  out.source = std::string("synthetic NanoTrack ") + nanotrack_version_name(version);
  // The loader tells v3 by features.9; give it that key, the synthesizing reader invents the rest.
  if (version == NanoTrackVersion::V3) {
    // From the seed like every other tensor: two loads of the same seed give the same network.
    at::Generator generator = at::detail::createCPUGenerator(seed ^ 0x763376ull);
    out.tensors.emplace("backbone.features.9.conv.0.weight", at::randn({288, 48, 1, 1}, generator) * 0.1);
  }
  io::WeightReader reader = io::WeightReader::synthesizing(out, seed);
  build(reader, LoadOptions{});
  return out;
}

}  // namespace oceanplus::nn
