#include "nn/lite_mask_head.h"

#include <ATen/ATen.h>

#include <array>
#include <cmath>

#include "common/error.h"

namespace oceanplus::nn {
namespace {

constexpr int64_t kSearchSide = 255;  // the search crop; the head's output covers it exactly
// Stored as mask_head.format: the target model's features and fit are not weights, so a file trained against another
// version would load and silently segment worse. Format 2: balanced fit over four taps, 48/32-channel coarse stages.
constexpr double kFormat = 2;

// Stride-2 upsampling that keeps the 'same'-padded grid: cell i of the coarse map sits on cell 2i of the fine one,
// so an aligned resize to 2n-1 cells puts every coarse value in place; the last fine cell repeats its neighbour.
at::Tensor up2(const at::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  at::Tensor y = at::upsample_bilinear2d(x, {2 * h - 1, 2 * w - 1}, true);
  if (y.scalar_type() == at::kFloat) return at::replication_pad2d(y, {0, 1, 0, 1});
  // LibTorch's CPU replication padding has no bfloat16: the same copies by concatenation.
  y = at::cat({y, y.narrow(3, 2 * w - 2, 1)}, 3);
  return at::cat({y, y.narrow(2, 2 * h - 2, 1)}, 2);
}

}  // namespace

at::Tensor area_resize(const at::Tensor& x, int64_t side) { return at::adaptive_avg_pool2d(x, {side, side}); }

LiteMaskHead::LiteMaskHead(int64_t feature_channels, int64_t corr_channels)
    : feature_channels_(feature_channels), corr_channels_(corr_channels) {}

std::vector<std::pair<std::string, LiteMaskHead::Conv*>> LiteMaskHead::convs() {
  return {{"t_embed", &t_embed_}, {"s_embed", &s_embed_}, {"s16.a", &s16_a_}, {"s16.b", &s16_b_},
          {"s16.out", &s16_out_}, {"s8.a", &s8_a_},       {"s8.b", &s8_b_},   {"s8.out", &s8_out_},
          {"s4.proj", &s4_proj_}, {"s4.a", &s4_a_},       {"s4.b", &s4_b_},   {"s4.out", &s4_out_},
          {"s2.proj", &s2_proj_}, {"s2.a", &s2_a_},       {"s2.out", &s2_out_}};
}

std::vector<std::pair<std::string, const LiteMaskHead::Conv*>> LiteMaskHead::convs() const {
  std::vector<std::pair<std::string, const Conv*>> out;
  for (auto& [key, conv] : const_cast<LiteMaskHead*>(this)->convs()) out.emplace_back(key, conv);
  return out;
}

// The decoder's shapes: (output channels, input channels, kernel) per convolution, in convs() order.
static std::vector<std::array<int64_t, 3>> conv_shapes(int64_t c, int64_t corr, int64_t embed) {
  return {{embed, c, 1},        {embed, c, 1},   {48, corr + c + 1, 3}, {48, 48, 3}, {1, 48, 1},
          {32, 48 + 24 + 2, 3}, {16, 32, 3},     {1, 16, 1},            {8, 16, 1},  {12, 16 + 8, 3},
          {8, 12, 3},           {1, 8, 1},       {4, 16, 1},            {8, 8 + 4, 3}, {1, 8, 1}};
}

bool LiteMaskHead::load(io::WeightReader& weights) {
  if (!weights.has("mask_head.t_embed.weight")) return false;
  const double format = weights.has("mask_head.format") ? weights.take("mask_head.format", {1}).item<double>() : 1;
  if (format != kFormat) {
    throw Error(weights.source() + ": mask head format " + std::to_string(static_cast<int>(format)) +
                " (key mask_head.format), this build reads format " + std::to_string(static_cast<int>(kFormat)) +
                ": retrain it with this version's oceanplus-train");
  }
  const auto shapes = conv_shapes(feature_channels_, corr_channels_, embed_);
  size_t i = 0;
  for (auto& [key, conv] : convs()) {
    const auto& s = shapes[i++];
    conv->weight = weights.take("mask_head." + key + ".weight", {s[0], s[1], s[2], s[2]});
    conv->bias = weights.take("mask_head." + key + ".bias", {s[0]});
    conv->padding = (s[2] - 1) / 2;
  }
  return true;
}

void LiteMaskHead::initialise(uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  const auto shapes = conv_shapes(feature_channels_, corr_channels_, embed_);
  size_t i = 0;
  for (auto& [key, conv] : convs()) {
    const auto& s = shapes[i++];
    const double fan_in = static_cast<double>(s[1] * s[2] * s[2]);
    const bool is_output = key.size() > 4 && key.compare(key.size() - 4, 4, ".out") == 0;
    // He initialisation for the ReLU layers; small outputs with a background bias (most pixels are background).
    const double std = is_output ? 0.01 : std::sqrt(2.0 / fan_in);
    conv->weight = at::randn({s[0], s[1], s[2], s[2]}, generator, at::kFloat) * std;
    conv->bias = is_output ? at::full({s[0]}, -2.0, at::kFloat) : at::zeros({s[0]}, at::kFloat);
    conv->padding = (s[2] - 1) / 2;
  }
}

std::vector<std::pair<std::string, at::Tensor>> LiteMaskHead::named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [key, conv] : convs()) {
    out.emplace_back("mask_head." + key + ".weight", conv->weight);
    out.emplace_back("mask_head." + key + ".bias", conv->bias);
  }
  return out;
}

void LiteMaskHead::add_to(io::StateDict& out) const {
  for (const auto& [key, tensor] : named_parameters()) out.tensors[key] = tensor.detach().clone().contiguous();
  out.tensors["mask_head.format"] = at::full({1}, kFormat, at::kFloat);
}

void LiteMaskHead::to_compute(const LoadOptions& options) {
  for (auto& [key, conv] : convs()) {
    conv->weight = nn::to_compute(conv->weight, options);
    conv->bias = nn::to_compute(conv->bias, options);
  }
}

LiteMaskTemplate LiteMaskHead::make_template(const at::Tensor& zf, const at::Tensor& template_mask) const {
  if (zf.dim() != 4 || zf.size(1) != feature_channels_) {
    throw Error("mask head: template feature has shape " + io::shape_to_string(zf.sizes().vec()));
  }
  LiteMaskTemplate state;
  const at::Tensor keys = at::conv2d(zf, t_embed_.weight, t_embed_.bias);  // 1×D×8×8
  state.arn_keys = keys.flatten(2).transpose(1, 2).contiguous();          // 1×64×D
  set_template_mask(state, template_mask);
  return state;
}

void LiteMaskHead::set_template_mask(LiteMaskTemplate& state, const at::Tensor& template_mask) const {
  if (template_mask.dim() != 4 || template_mask.size(1) != 1) {
    throw Error("mask head: template mask has shape " + io::shape_to_string(template_mask.sizes().vec()));
  }
  // One value per template cell: the fraction of the cell's pixels that are target.
  const at::ScalarType dtype = state.arn_keys.defined() ? state.arn_keys.scalar_type() : at::kFloat;
  state.arn_values = area_resize(template_mask.to(dtype), 8).flatten(2).transpose(1, 2).contiguous();  // 1×64×1
}

namespace {
// The target model's per-cell features at stride 8: the stride-8 tap, the upsampled stride-16 feature, and the
// stride-4 and stride-2 taps averaged over each cell (colour and edges: +0.03 IoU alone on held-out pairs).
at::Tensor target_model_features(const NanoTrackTaps& taps) {
  return at::cat({taps.stride8, up2(taps.stride16), at::avg_pool2d(taps.stride4, 2), at::avg_pool2d(taps.stride2, 4)},
                1);  // N×F×32×32
}

// The balanced least-squares normal equations of one crop, per cell: (Xᵀ W X / n, Xᵀ W y / n) over the standardised
// features plus a bias column. y ∈ [-1, 1] is the fraction of each cell covered by the mask; both classes weigh half
// (unweighted, the background, most cells, pulls every prediction negative: the prior alone reaches IoU 0.31 on
// held-out pairs; balanced, 0.51).
std::pair<at::Tensor, at::Tensor> normal_equations(const at::Tensor& features, const at::Tensor& mean,
                                                   const at::Tensor& std, const at::Tensor& mask,
                                                   const at::Tensor& fit_weight) {
  const int64_t f = features.size(1), cells = features.size(2) * features.size(3);
  at::Tensor x = (features[0].reshape({f, cells}).t().to(at::kDouble) - mean) / std;  // cells×F
  x = at::cat({x, at::ones({cells, 1}, x.options())}, 1);
  const at::Tensor y =
      area_resize(mask.to(at::kFloat), features.size(2)).reshape({cells, 1}).to(at::kDouble) * 2 - 1;
  at::Tensor positive = (y > 0).to(at::kDouble), negative = 1 - positive;
  if (fit_weight.defined()) {
    const at::Tensor w =
        area_resize(fit_weight.to(at::kFloat), features.size(2)).reshape({cells, 1}).to(at::kDouble);
    positive = positive * w;
    negative = negative * w;
  }
  const double n_pos = std::max(1.0, positive.sum().item<double>());
  const double n_neg = std::max(1.0, negative.sum().item<double>());
  const at::Tensor xw = x * (positive * (0.5 / n_pos) + negative * (0.5 / n_neg));
  return {at::matmul(xw.t(), x), at::matmul(xw.t(), y)};
}
}  // namespace

void LiteMaskHead::fit_target_model(LiteMaskTemplate& state, const NanoTrackTaps& taps, const at::Tensor& search_mask,
                                    double ridge, const at::Tensor& fit_weight) const {
  at::NoGradGuard no_grad;
  const at::Tensor features = target_model_features(taps).detach();  // 1×F×32×32
  const int64_t f = features.size(1);
  const at::Tensor x = features[0].reshape({f, -1}).t().to(at::kDouble);
  const at::Tensor mean = x.mean(0), std = x.std(0, false).clamp_min(1e-3);
  auto [gram, rhs] = normal_equations(features, mean, std, search_mask, fit_weight);
  gram = gram + at::eye(f + 1, gram.options()) * ridge;
  const at::Tensor weights = at::linalg_solve(gram, rhs).reshape({f + 1});  // over the standardised features
  // Fold the standardisation into a 1×1 convolution once: w·(x-m)/s + b = (w/s)·x + (b - Σ w·m/s).
  const at::Tensor scaled = weights.slice(0, 0, f) / std;
  state.tm_filter = scaled.to(features.scalar_type()).reshape({1, f, 1, 1});
  state.tm_bias = (weights.slice(0, f, f + 1) - (scaled * mean).sum()).to(features.scalar_type()).reshape({1});
}

at::Tensor LiteMaskHead::target_model_map(const LiteMaskTemplate& state, const NanoTrackTaps& taps) const {
  const int64_t n = taps.stride8.size(0), h = taps.stride8.size(2), w = taps.stride8.size(3);
  if (!state.tm_filter.defined()) return at::zeros({n, 1, h, w}, taps.stride8.options());
  at::NoGradGuard no_grad;
  const at::Tensor map = at::conv2d(target_model_features(taps).detach(), state.tm_filter, state.tm_bias);
  return map.clamp(-2, 2);
}

namespace {
at::Tensor conv_relu(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad) {
  return at::relu(at::conv2d(x, w, b, {1, 1}, {pad, pad}));
}
}  // namespace

at::Tensor LiteMaskHead::decode(const at::Tensor& arn, const at::Tensor& tm, const LiteMaskInputs& in,
                                std::vector<at::Tensor>* deep) const {
  auto cr = [](const Conv& c, const at::Tensor& x) { return conv_relu(x, c.weight, c.bias, c.padding); };
  auto lin = [](const Conv& c, const at::Tensor& x) { return at::conv2d(x, c.weight, c.bias, {1, 1}, {c.padding, c.padding}); };
  const NanoTrackTaps& t = in.taps;
  at::Tensor h = cr(s16_b_, cr(s16_a_, at::cat({in.cls_corr, t.stride16, arn}, 1)));  // 16²
  if (deep) deep->push_back(lin(s16_out_, h));
  h = cr(s8_b_, cr(s8_a_, at::cat({up2(h), t.stride8, tm, up2(arn)}, 1)));  // 32²
  if (deep) deep->push_back(lin(s8_out_, h));
  h = cr(s4_b_, cr(s4_a_, at::cat({up2(h), cr(s4_proj_, t.stride4)}, 1)));  // 64²
  if (deep) deep->push_back(lin(s4_out_, h));
  h = cr(s2_a_, at::cat({up2(h), cr(s2_proj_, t.stride2)}, 1));  // 128²
  const at::Tensor logits = lin(s2_out_, h);
  // Cell i of the stride-2 map is centred on crop pixel 2i: an aligned resize to 255 puts it there.
  return at::upsample_bilinear2d(logits, {kSearchSide, kSearchSide}, true);
}

LiteMaskOutput LiteMaskHead::forward(const LiteMaskTemplate& state, const LiteMaskInputs& in,
                                     bool deep_supervision) const {
  return forward_batch({state}, in, deep_supervision);
}

LiteMaskOutput LiteMaskHead::forward_batch(const std::vector<LiteMaskTemplate>& states, const LiteMaskInputs& in,
                                           bool deep_supervision) const {
  const at::Tensor& xf = in.taps.stride16;
  const int64_t n = xf.size(0);
  if (states.empty() || (states.size() != 1 && static_cast<int64_t>(states.size()) != n)) {
    throw Error("mask head: " + std::to_string(states.size()) + " template states for a batch of " + std::to_string(n));
  }
  if (xf.size(1) != feature_channels_ || xf.size(2) != 16 || xf.size(3) != 16) {
    throw Error("mask head: the search feature must be N×" + std::to_string(feature_channels_) +
                "×16×16 (a 255 crop), got " + io::shape_to_string(xf.sizes().vec()));
  }
  LiteMaskOutput out;
  // ARN: each search cell attends over the template cells; the retrieved value is the template mask there.
  std::vector<at::Tensor> keys, values, tms;
  for (const auto& s : states) {
    keys.push_back(s.arn_keys);
    values.push_back(s.arn_values);
  }
  at::Tensor key = at::cat(keys, 0), value = at::cat(values, 0);
  if (states.size() == 1 && n > 1) {
    key = key.expand({n, -1, -1});
    value = value.expand({n, -1, -1});
  }
  const at::Tensor query = at::conv2d(xf, s_embed_.weight, s_embed_.bias).flatten(2).transpose(1, 2);  // N×256×D
  const at::Tensor att = at::softmax(at::matmul(query, key.transpose(1, 2)) / std::sqrt(static_cast<double>(embed_)), -1);
  out.arn = at::matmul(att, value).transpose(1, 2).reshape({n, 1, 16, 16}).clamp(0, 1);
  // Target model: per state (each batch item has its own first frame in training).
  if (states.size() == 1) {
    out.target_model = target_model_map(states[0], in.taps);
  } else {
    for (int64_t i = 0; i < n; ++i) tms.push_back(target_model_map(states[i], in.taps.item(i)));
    out.target_model = at::cat(tms, 0);
  }
  out.logits = decode(out.arn, out.target_model, in, deep_supervision ? &out.deep_logits : nullptr);
  return out;
}

}  // namespace oceanplus::nn
