// The oneDNN convolution path against at::conv2d for every geometry the networks use, at odd and even sizes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "io/weights.h"
#include "nn/layers.h"
#include "support/golden.h"

namespace oceanplus::testing {
namespace {

struct ConvCase {
  const char* name;
  int64_t in, out, kernel;
  nn::ConvGeometry geometry;
  bool bias;
  nn::Activation activation;
};

nn::ConvGeometry geometry(int64_t stride, int64_t pad_h, int64_t pad_w, int64_t dil_h, int64_t dil_w) {
  nn::ConvGeometry g;
  g.stride = stride;
  g.padding = {pad_h, pad_w};
  g.dilation = {dil_h, dil_w};
  return g;
}

const ConvCase kCases[] = {
    {"conv1_7x7_s2_p0", 3, 64, 7, geometry(2, 0, 0, 1, 1), true, nn::Activation::Relu},
    {"bottleneck_1x1", 256, 64, 1, geometry(1, 0, 0, 1, 1), true, nn::Activation::Relu},
    {"conv2_3x3_p1_winograd", 64, 64, 3, geometry(1, 1, 1, 1, 1), true, nn::Activation::Relu},
    {"downsample_3x3_s2_p0", 64, 128, 3, geometry(2, 0, 0, 1, 1), true, nn::Activation::None},
    {"dilated_3x3_d2_p2_phases", 64, 64, 3, geometry(1, 2, 2, 2, 2), true, nn::Activation::Relu},
    {"encode_3x3_d21_p0_phases", 32, 32, 3, geometry(1, 0, 0, 2, 1), true, nn::Activation::Relu},
    {"encode_3x3_d12_p0_phases", 32, 32, 3, geometry(1, 0, 0, 1, 2), true, nn::Activation::Relu},
    {"dilated_3x3_d2_p0_phases", 32, 16, 3, geometry(1, 0, 0, 2, 2), true, nn::Activation::None},
    {"dilated_3x3_d2_p1_direct", 32, 16, 3, geometry(1, 1, 1, 2, 2), true, nn::Activation::None},
    {"dilated_3x3_d3_p3_direct", 32, 16, 3, geometry(1, 3, 3, 3, 3), true, nn::Activation::Relu},
    {"encode_3x3_p0_winograd", 32, 32, 3, geometry(1, 0, 0, 1, 1), true, nn::Activation::Relu},
    {"mask_head_4_to_2_direct", 4, 2, 3, geometry(1, 1, 1, 1, 1), true, nn::Activation::None},
    {"no_bias_3x3", 16, 8, 3, geometry(1, 1, 1, 1, 1), false, nn::Activation::None},
};

class OneDnnConv : public ::testing::TestWithParam<ConvCase> {};

// Weights scaled so that outputs stay of order 1 (He-like); bias small.
io::StateDict random_weights(const ConvCase& c, uint64_t seed) {
  at::manual_seed(seed);
  io::StateDict sd;
  sd.tensors["c.weight"] = at::randn({c.out, c.in, c.kernel, c.kernel}) / std::sqrt(double(c.in * c.kernel * c.kernel));
  if (c.bias) sd.tensors["c.bias"] = at::randn({c.out}) * 0.1;
  return sd;
}

nn::Conv make_conv(const ConvCase& c, const io::StateDict& sd, bool onednn) {
  io::WeightReader reader(sd);
  nn::LoadOptions options;
  options.use_onednn = onednn;
  return nn::Conv::load(reader, "c", c.bias, "", c.out, c.in, c.kernel, c.geometry, c.activation, options);
}

TEST_P(OneDnnConv, MatchesTorchAtOddAndEvenSizes) {
  if (!nn::onednn_available()) GTEST_SKIP() << "built without oneDNN";
  const ConvCase& c = GetParam();
  const io::StateDict sd = random_weights(c, 7);
  const nn::Conv fast = make_conv(c, sd, true), reference = make_conv(c, sd, false);
  for (int64_t size : {15, 16, 31, 32}) {
    const at::Tensor x = at::randn({1, c.in, size, size});
    EXPECT_TRUE(tensor_close(fast(x), reference(x), 1e-5)) << c.name << " at " << size;
    EXPECT_TRUE(tensor_close(fast(x), reference(x), 1e-5)) << c.name << " at " << size << " (cached primitive)";
  }
}

// Chains of convolutions keep oneDNN's blocked layout: every combination of input and output layout gives the same
// numbers (channel counts that are not multiples of 16 come back dense).
TEST_P(OneDnnConv, BlockedLayoutsMatchTorch) {
  if (!nn::onednn_available()) GTEST_SKIP() << "built without oneDNN";
  const ConvCase& c = GetParam();
  const io::StateDict sd = random_weights(c, 11);
  const nn::Conv fast = make_conv(c, sd, true), reference = make_conv(c, sd, false);
  for (int64_t size : {15, 32}) {
    const at::Tensor x = at::randn({1, c.in, size, size});
    const at::Tensor want = reference(x);
    for (bool blocked_in : {false, true}) {
      const at::Tensor input = blocked_in ? nn::to_blocked(x) : x;
      EXPECT_EQ(input.dim(), blocked_in && c.in % 16 == 0 ? 5 : 4);
      for (nn::Layout layout : {nn::Layout::Dense, nn::Layout::Blocked}) {
        const at::Tensor got = fast(input, layout);
        EXPECT_EQ(got.dim(), layout == nn::Layout::Blocked && c.out % 16 == 0 ? 5 : 4) << c.name;
        EXPECT_TRUE(tensor_close(nn::to_dense(got), want, 1e-5))
            << c.name << " at " << size << (blocked_in ? ", blocked in" : ", dense in")
            << (layout == nn::Layout::Blocked ? ", blocked out" : ", dense out");
      }
    }
  }
}

TEST(OneDnnLayout, RoundTripIsExact) {
  const at::Tensor x = at::randn({1, 48, 7, 9});
  const at::Tensor blocked = nn::to_blocked(x);
  if (nn::onednn_available()) {
    EXPECT_EQ(blocked.sizes(), at::IntArrayRef({1, 3, 7, 9, 16}));
  }
  EXPECT_TRUE(at::equal(nn::to_dense(blocked), x));
  const at::Tensor odd = at::randn({1, 5, 4, 4});  // not a multiple of 16: stays dense
  EXPECT_TRUE(nn::to_blocked(odd).is_same(odd));
}

TEST(OneDnnConvResidual, BlockedResidualInPlaceAndShared) {
  if (!nn::onednn_available()) GTEST_SKIP() << "built without oneDNN";
  at::manual_seed(5);
  const ConvCase c{"res", 32, 32, 3, geometry(1, 1, 1, 1, 1), true, nn::Activation::None};
  io::StateDict sd;
  sd.tensors["c.weight"] = at::randn({32, 32, 3, 3}) * 0.05;
  sd.tensors["c.bias"] = at::randn({32}) * 0.1;
  const nn::Conv fast = make_conv(c, sd, true), reference = make_conv(c, sd, false);
  const at::Tensor x = at::randn({1, 32, 17, 17});
  const at::Tensor residual = at::randn({1, 32, 17, 17});
  const at::Tensor want = reference.add_relu(x, residual);
  // A shared residual must come back untouched; a handed-over one may take the result.
  const at::Tensor shared = nn::to_blocked(residual);
  const at::Tensor shared_before = shared.clone();
  EXPECT_TRUE(tensor_close(nn::to_dense(fast.add_relu(nn::to_blocked(x), shared, nn::Layout::Blocked)), want, 1e-5));
  EXPECT_TRUE(at::equal(shared, shared_before));
  EXPECT_TRUE(tensor_close(nn::to_dense(fast.add_relu(x, nn::to_blocked(residual), nn::Layout::Blocked)), want, 1e-5));
  EXPECT_TRUE(tensor_close(fast.add_relu(x, nn::to_blocked(residual), nn::Layout::Dense), want, 1e-5));
}

TEST(OneDnnConvResidual, AddReluMatchesTorch) {
  if (!nn::onednn_available()) GTEST_SKIP() << "built without oneDNN";
  at::manual_seed(3);
  for (const ConvCase& c : {kCases[1], kCases[2]}) {
    io::StateDict sd;
    sd.tensors["c.weight"] = at::randn({c.out, c.in, c.kernel, c.kernel}) * 0.05;
    sd.tensors["c.bias"] = at::randn({c.out}) * 0.1;
    const ConvCase plain{c.name, c.in, c.out, c.kernel, c.geometry, true, nn::Activation::None};
    const nn::Conv fast = make_conv(plain, sd, true), reference = make_conv(plain, sd, false);
    for (int64_t size : {15, 31}) {
      const at::Tensor x = at::randn({1, c.in, size, size});
      const at::Tensor residual = at::randn({1, c.out, size, size});
      EXPECT_TRUE(tensor_close(fast.add_relu(x, residual), reference.add_relu(x, residual), 1e-5)) << c.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, OneDnnConv, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ConvCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace oceanplus::testing
