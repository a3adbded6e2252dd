// Network-level parity against the official TracKit implementation (shared/golden/oceanplus/model_{mss,mms}.pt),
// with the gen-v1 weights. Tolerance: max|diff| <= 1e-4 * max|golden| per tensor (golden README §3).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "nn/oceanplus_net.h"
#include "support/gen_v1.h"
#include "support/golden.h"

namespace oceanplus::testing {
namespace {

using nn::MaskDecoder;
using nn::OceanPlusNet;

struct Fixtures {
  explicit Fixtures(const std::string& dir) : inputs(load_golden(dir + "model_inputs.pt")) {}
  GoldenDict inputs;
  std::map<MaskDecoder, GoldenDict> golden;
  std::map<MaskDecoder, std::shared_ptr<OceanPlusNet>> nets;
};

// Built once for the whole binary: generating 26 M weights and loading the goldens takes a few seconds.
const Fixtures* fixtures() {
  static std::unique_ptr<Fixtures> f = [] {
    const std::string shared = shared_dir();
    if (shared.empty()) return std::unique_ptr<Fixtures>();
    const std::string dir = shared + "/golden/oceanplus/";
    auto out = std::make_unique<Fixtures>(dir);
    out->golden.emplace(MaskDecoder::MSS, load_golden(dir + "model_mss.pt"));
    out->golden.emplace(MaskDecoder::MMS, load_golden(dir + "model_mms.pt"));
    out->nets[MaskDecoder::MSS] = OceanPlusNet::load(gen_v1_state_dict(false));
    out->nets[MaskDecoder::MMS] = OceanPlusNet::load(gen_v1_state_dict(true));
    return out;
  }();
  return f.get();
}

#define REQUIRE_SHARED()                                                                             \
  const Fixtures* fx = fixtures();                                                                   \
  if (!fx) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED): network parity tests skipped"

at::Tensor template_input(const Fixtures& fx) { return golden_tensor(fx.inputs, "z").to(at::kFloat); }
at::Tensor template_mask(const Fixtures& fx) { return golden_tensor(fx.inputs, "z_mask").to(at::kFloat); }
at::Tensor search_input(const Fixtures& fx, int size) {
  return golden_tensor(fx.inputs, "x" + std::to_string(size)).to(at::kFloat);
}

class NetworkParity : public ::testing::TestWithParam<MaskDecoder> {};

TEST_P(NetworkParity, DecoderDetectedFromKeysAndKeySetMatchesReference) {
  REQUIRE_SHARED();
  const auto& net = fx->nets.at(GetParam());
  EXPECT_EQ(net->decoder(), GetParam());
  const auto keys = read_section_a_keys(shared_dir() + "/reference/oceanplus_state_dict_keys.txt",
                                        GetParam() == MaskDecoder::MMS);
  std::set<std::string> reference, ours;
  for (const auto& k : keys) reference.insert(k.key);
  ours.insert(net->used_keys().begin(), net->used_keys().end());
  ours.insert(net->skipped_keys().begin(), net->skipped_keys().end());
  EXPECT_EQ(ours, reference);
}

TEST_P(NetworkParity, TemplateBranch) {
  REQUIRE_SHARED();
  const GoldenDict& g = fx->golden.at(GetParam());
  const nn::TemplateState t = fx->nets.at(GetParam())->make_template(template_input(*fx), template_mask(*fx));
  EXPECT_TRUE(golden_close(t.zf_ori, g, "template.zf_ori"));
  EXPECT_TRUE(golden_close(t.zf, g, "template.zf"));
  EXPECT_TRUE(golden_close(t.template_mask, g, "template.template_mask", 0.0));
}

class SearchParity : public ::testing::TestWithParam<std::tuple<MaskDecoder, int>> {};

TEST_P(SearchParity, EveryStoredTensor) {
  REQUIRE_SHARED();
  const auto [decoder, size] = GetParam();
  const GoldenDict& g = fx->golden.at(decoder);
  const auto& net = fx->nets.at(decoder);
  const nn::TemplateState t = net->make_template(template_input(*fx), template_mask(*fx));
  nn::SearchTrace trace;
  const nn::SearchOutput out = net->track(t, search_input(*fx, size), &trace);
  const std::string s = "search" + std::to_string(size) + ".";

  EXPECT_EQ(out.cls_logits.size(2), golden_at(g, s + "score_size").toInt());
  EXPECT_TRUE(golden_close(trace.c1, g, s + "backbone.c1_x_"));
  EXPECT_TRUE(golden_close(trace.c2, g, s + "backbone.c2_p1"));
  EXPECT_TRUE(golden_close(trace.c3, g, s + "backbone.c3_p2"));
  EXPECT_TRUE(golden_close(trace.c4, g, s + "backbone.c4_p3_layer3"));
  EXPECT_TRUE(golden_close(out.neck_xf, g, s + "neck_xf"));
  EXPECT_TRUE(golden_close(out.cls_dw, g, s + "head.cls_dw"));
  EXPECT_TRUE(golden_close(trace.reg_dw, g, s + "head.reg_dw"));
  EXPECT_TRUE(golden_close(trace.bbox_tower, g, s + "head.x_reg"));
  EXPECT_TRUE(golden_close(trace.cls_tower, g, s + "head.cls_tower_out"));
  EXPECT_TRUE(golden_close(out.cls_logits, g, s + "cls_logits"));
  EXPECT_TRUE(golden_close(out.bbox_ltrb, g, s + "bbox_ltrb"));
  // ARN: look-up values exact, attention rows, the map before the clamp.
  EXPECT_TRUE(golden_close(t.arn_values.flatten(), g, s + "arn.lut_values", 0.0));
  EXPECT_TRUE(golden_close(trace.arn_attention[0].slice(0, 0, 8), g, s + "arn.att_first_rows"));
  EXPECT_TRUE(golden_close(trace.arn_map_preclamp, g, s + "arn.arn_map_preclamp"));
  EXPECT_TRUE(golden_close(out.mask_logits, g, s + "mask_logits"));
  if (decoder == MaskDecoder::MMS) {
    ASSERT_EQ(trace.stage_logits.size(), 3u);
    EXPECT_TRUE(golden_close(trace.stage_logits[0], g, s + "mms.mask1_logits"));
    EXPECT_TRUE(golden_close(trace.stage_logits[1], g, s + "mms.mask2_logits"));
    EXPECT_TRUE(golden_close(trace.stage_logits[2], g, s + "mms.mask3_logits"));
  }
}

TEST_P(NetworkParity, TemplateUpdateChainAndUpdatedTrack) {
  REQUIRE_SHARED();
  const GoldenDict& g = fx->golden.at(GetParam());
  const auto& net = fx->nets.at(GetParam());
  nn::TemplateState t = net->make_template(template_input(*fx), template_mask(*fx));
  auto pair = [&](const std::string& path) {
    at::Tensor v = golden_tensor(g, path).to(at::kDouble);
    return std::make_pair(v[0].item<double>(), v[1].item<double>());
  };
  auto run_update = [&](const std::string& prefix, int search_size, double score) {
    const nn::SearchOutput out = net->track(t, search_input(*fx, search_size));
    const auto [px, py] = pair(prefix + "args_pos_in_crop");
    const auto [w, h] = pair(prefix + "args_sz_in_crop");
    at::Tensor grid = net->update_template(t, out.neck_xf, px, py, w, h, score);
    EXPECT_TRUE(golden_close(grid, g, prefix + "grid", 1e-12));
    EXPECT_TRUE(golden_close(t.ma_kernel, g, prefix + "MA_kernel"));
    EXPECT_TRUE(golden_close(t.zf_update, g, prefix + "zf_update"));
  };
  run_update("template_update.", 255, golden_at(g, "template_update.args_score").toDouble());
  run_update("template_update.second.", 287, golden_at(g, "template_update.second.args_score").toDouble());

  const nn::SearchOutput after = net->track(t, search_input(*fx, 255));
  const std::string a = "template_update.track255_after_updates.";
  EXPECT_TRUE(golden_close(after.cls_logits, g, a + "cls_logits"));
  EXPECT_TRUE(golden_close(after.bbox_ltrb, g, a + "bbox_ltrb"));
  EXPECT_TRUE(golden_close(after.cls_dw, g, a + "cls_dw"));
  EXPECT_TRUE(golden_close(after.mask_logits, g, a + "mask_logits"));
}

// The reference op sequence (no BatchNorm folding, no oneDNN, nothing cached, bmm attention: the benchmark's
// side-by-side baseline) computes the same as the fast path, within the same tolerance.
TEST(NetworkParityReferenceOps, MssSearch255) {
  REQUIRE_SHARED();
  auto net = OceanPlusNet::load(gen_v1_state_dict(false), nn::LoadOptions::reference());
  const GoldenDict& g = fx->golden.at(MaskDecoder::MSS);
  const nn::TemplateState t = net->make_template(template_input(*fx), template_mask(*fx));
  const nn::SearchOutput out = net->track(t, search_input(*fx, 255));
  EXPECT_TRUE(golden_close(out.cls_logits, g, "search255.cls_logits"));
  EXPECT_TRUE(golden_close(out.bbox_ltrb, g, "search255.bbox_ltrb"));
  EXPECT_TRUE(golden_close(out.mask_logits, g, "search255.mask_logits"));
}

// Without oneDNN (the GPU machine's and other builds' path): at::conv2d with folded BatchNorm.
TEST(NetworkParityTorchConvolutions, MmsSearch287) {
  REQUIRE_SHARED();
  nn::LoadOptions options;
  options.use_onednn = false;
  auto net = OceanPlusNet::load(gen_v1_state_dict(true), options);
  const GoldenDict& g = fx->golden.at(MaskDecoder::MMS);
  const nn::TemplateState t = net->make_template(template_input(*fx), template_mask(*fx));
  const nn::SearchOutput out = net->track(t, search_input(*fx, 287));
  EXPECT_TRUE(golden_close(out.cls_logits, g, "search287.cls_logits"));
  EXPECT_TRUE(golden_close(out.bbox_ltrb, g, "search287.bbox_ltrb"));
  EXPECT_TRUE(golden_close(out.mask_logits, g, "search287.mask_logits"));
}

std::string decoder_name(const ::testing::TestParamInfo<MaskDecoder>& info) {
  return nn::mask_decoder_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(OceanPlusParity, NetworkParity, ::testing::Values(MaskDecoder::MSS, MaskDecoder::MMS),
                         decoder_name);
INSTANTIATE_TEST_SUITE_P(
    OceanPlusParity, SearchParity,
    ::testing::Combine(::testing::Values(MaskDecoder::MSS, MaskDecoder::MMS), ::testing::Values(255, 287)),
    [](const ::testing::TestParamInfo<std::tuple<MaskDecoder, int>>& info) {
      return std::string(nn::mask_decoder_name(std::get<0>(info.param))) + "_" +
             std::to_string(std::get<1>(info.param));
    });

}  // namespace
}  // namespace oceanplus::testing
