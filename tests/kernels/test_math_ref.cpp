// CPU references of kernels 3-5: ARN retrieval against a straightforward double implementation, the depthwise
// correlation against a naive loop, and the peak choice against choose_peak.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "reference/oceanplus_kernels_ref.h"
#include "track/postprocess.h"

namespace oceanplus::kernels::testing {
namespace {

std::vector<float> uniform(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// ---- ARN ------------------------------------------------------------------------------------------------------------

std::vector<double> arn_double(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                               const oceanplus_arn_params& p) {
  std::vector<double> out(p.query_count);
  for (int i = 0; i < p.query_count; ++i) {
    std::vector<double> logits(p.key_count);
    double largest = -INFINITY;
    for (int j = 0; j < p.key_count; ++j) {
      double dot = 0;
      for (int c = 0; c < p.channels; ++c)
        dot += static_cast<double>(q[i * p.query_stride_item + c * p.query_stride_channel]) *
               k[j * p.key_stride_item + c * p.key_stride_channel];
      logits[j] = dot * p.scale;
      largest = std::max(largest, logits[j]);
    }
    double den = 0, num = 0;
    for (int j = 0; j < p.key_count; ++j) {
      den += std::exp(logits[j] - largest);
      num += std::exp(logits[j] - largest) * v[j];
    }
    out[i] = std::min(1.0, std::max(0.0, num / den));
  }
  return out;
}

oceanplus_arn_params arn_params(int queries, int keys, int channels, bool channel_major) {
  oceanplus_arn_params p{};
  p.query_count = queries;
  p.key_count = keys;
  p.channels = channels;
  // Channel-major (C × N, a conv output) or item-major (N × C).
  p.query_stride_item = channel_major ? 1 : channels;
  p.query_stride_channel = channel_major ? queries : 1;
  p.key_stride_item = channel_major ? 1 : channels;
  p.key_stride_channel = channel_major ? keys : 1;
  p.scale = 1.f / std::sqrt(static_cast<float>(channels));
  return p;
}

TEST(ArnRef, MatchesDoubleImplementation) {
  std::mt19937 rng(42);
  struct Shape {
    int queries, keys, channels;
  };
  for (const Shape s : {Shape{961, 225, 64}, Shape{256, 64, 48}, Shape{961, 64, 96}, Shape{100, 225, 256},
                        Shape{7, 1, 3}, Shape{33, 1000, 5}}) {
    for (bool channel_major : {true, false}) {
      const oceanplus_arn_params p = arn_params(s.queries, s.keys, s.channels, channel_major);
      const auto q = uniform(rng, static_cast<size_t>(s.queries) * s.channels, -3, 3);
      const auto k = uniform(rng, static_cast<size_t>(s.keys) * s.channels, -3, 3);
      // The look-up table holds a binarised mask: 0/1 values.
      std::vector<float> v(s.keys);
      for (auto& x : v) x = static_cast<float>(rng() % 2);
      std::vector<float> got(s.queries, -1.f);
      ASSERT_EQ(oceanplus_arn_retrieve_ref(q.data(), k.data(), v.data(), &p, got.data()), OCEANPLUS_OK);
      const auto want = arn_double(q, k, v, p);
      double worst = 0;
      for (int i = 0; i < s.queries; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
      EXPECT_LT(worst, 1e-5) << s.queries << "x" << s.keys << "x" << s.channels;
    }
  }
}

TEST(ArnRef, ClampsToUnitRange) {
  const oceanplus_arn_params p = arn_params(4, 3, 2, true);
  const std::vector<float> q(8, 0.5f), k(6, 0.25f);
  std::vector<float> out(4);
  const std::vector<float> high(3, 2.f), low(3, -1.f);
  ASSERT_EQ(oceanplus_arn_retrieve_ref(q.data(), k.data(), high.data(), &p, out.data()), OCEANPLUS_OK);
  for (float x : out) EXPECT_EQ(x, 1.f);
  ASSERT_EQ(oceanplus_arn_retrieve_ref(q.data(), k.data(), low.data(), &p, out.data()), OCEANPLUS_OK);
  for (float x : out) EXPECT_EQ(x, 0.f);
}

TEST(ArnRef, LargeLogitsDoNotOverflow) {
  oceanplus_arn_params p = arn_params(1, 2, 1, true);
  p.scale = 1.f;
  const std::vector<float> q{100.f}, k{10.f, 9.f}, v{1.f, 0.f};  // logits 1000 and 900
  float out = -1;
  ASSERT_EQ(oceanplus_arn_retrieve_ref(q.data(), k.data(), v.data(), &p, &out), OCEANPLUS_OK);
  EXPECT_FLOAT_EQ(out, 1.f);
}

TEST(ArnRef, BadArguments) {
  const oceanplus_arn_params good = arn_params(2, 2, 2, true);
  const std::vector<float> b(4, 0.f);
  std::vector<float> out(2);
  EXPECT_EQ(oceanplus_arn_retrieve_ref(nullptr, b.data(), b.data(), &good, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(oceanplus_arn_retrieve_ref(b.data(), b.data(), b.data(), nullptr, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(oceanplus_arn_retrieve_ref(b.data(), b.data(), b.data(), &good, nullptr), OCEANPLUS_INVALID_ARGUMENT);
  for (int which = 0; which < 3; ++which) {
    oceanplus_arn_params p = good;
    (which == 0 ? p.query_count : which == 1 ? p.key_count : p.channels) = 0;
    EXPECT_EQ(oceanplus_arn_retrieve_ref(b.data(), b.data(), b.data(), &p, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  }
}

// ---- Depthwise cross-correlation -----------------------------------------------------------------------------------

std::vector<double> xcorr_naive(const std::vector<float>& s, const std::vector<float>& k,
                                const oceanplus_xcorr_params& p) {
  const int oh = oceanplus_xcorr_output_h(&p), ow = oceanplus_xcorr_output_w(&p);
  std::vector<double> out(static_cast<size_t>(p.batch) * p.channels * oh * ow);
  for (int b = 0; b < p.batch; ++b)
    for (int c = 0; c < p.channels; ++c)
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          double sum = 0;
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const int sy = y + ky - p.padding, sx = x + kx - p.padding;
              if (sy < 0 || sx < 0 || sy >= p.search_h || sx >= p.search_w) continue;
              const int kb = p.kernel_batch == 1 ? 0 : b;
              sum += static_cast<double>(s[((static_cast<size_t>(b) * p.channels + c) * p.search_h + sy) * p.search_w + sx]) *
                     k[((static_cast<size_t>(kb) * p.channels + c) * p.kernel_h + ky) * p.kernel_w + kx];
            }
          out[((static_cast<size_t>(b) * p.channels + c) * oh + y) * ow + x] = sum;
        }
  return out;
}

TEST(XcorrRef, MatchesNaiveLoop) {
  std::mt19937 rng(8);
  const std::vector<oceanplus_xcorr_params> shapes = {
      {1, 1, 256, 31, 31, 7, 7, 0},  // Ocean's head: 31² search, 7² kernel
      {1, 1, 48, 16, 16, 8, 8, 0},   // NanoTrack-like
      {3, 3, 17, 29, 23, 5, 7, 0},   // batch N, one kernel per search
      {4, 1, 9, 15, 15, 5, 5, 0},    // batch N sharing one kernel
      {2, 2, 5, 13, 11, 3, 3, 1},    // padding 1
      {1, 1, 3, 4, 5, 4, 5, 0},      // 1×1 output
      {1, 1, 2, 3, 3, 5, 5, 1},      // kernel larger than the search, padded
  };
  for (const auto& p : shapes) {
    const auto s = uniform(rng, static_cast<size_t>(p.batch) * p.channels * p.search_h * p.search_w, -1, 1);
    const auto k = uniform(rng, static_cast<size_t>(p.kernel_batch) * p.channels * p.kernel_h * p.kernel_w, -1, 1);
    std::vector<float> got(static_cast<size_t>(p.batch) * p.channels * oceanplus_xcorr_output_h(&p) *
                           oceanplus_xcorr_output_w(&p));
    ASSERT_EQ(oceanplus_xcorr_depthwise_ref(s.data(), k.data(), &p, got.data()), OCEANPLUS_OK);
    const auto want = xcorr_naive(s, k, p);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << i;
  }
}

TEST(XcorrRef, BadArguments) {
  const oceanplus_xcorr_params good{1, 1, 2, 5, 5, 3, 3, 0};
  std::vector<float> s(50), k(18), out(18);
  ASSERT_EQ(oceanplus_xcorr_depthwise_ref(s.data(), k.data(), &good, out.data()), OCEANPLUS_OK);
  EXPECT_EQ(oceanplus_xcorr_depthwise_ref(nullptr, k.data(), &good, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(oceanplus_xcorr_depthwise_ref(s.data(), k.data(), nullptr, out.data()), OCEANPLUS_INVALID_ARGUMENT);
  auto bad = [&](auto change) {
    oceanplus_xcorr_params p = good;
    change(p);
    return oceanplus_xcorr_depthwise_ref(s.data(), k.data(), &p, out.data());
  };
  EXPECT_EQ(bad([](auto& p) { p.channels = 0; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(bad([](auto& p) { p.kernel_batch = 2; }), OCEANPLUS_INVALID_ARGUMENT);  // neither 1 nor batch
  EXPECT_EQ(bad([](auto& p) { p.kernel_h = 6; }), OCEANPLUS_INVALID_ARGUMENT);      // no output
  EXPECT_EQ(bad([](auto& p) { p.padding = -1; }), OCEANPLUS_INVALID_ARGUMENT);
}

// ---- Score post-processing -----------------------------------------------------------------------------------------

struct PeakCase {
  int size, stride, instance_size, activation;
  std::vector<float> logits, ltrb, window;
  oceanplus_peak_params params{};
};

PeakCase random_peak_case(std::mt19937& rng, int size, int activation) {
  PeakCase c;
  c.size = size;
  c.stride = 8;
  c.instance_size = size == 16 ? 255 : (size == 29 ? 287 : 255);
  c.activation = activation;
  const size_t plane = static_cast<size_t>(size) * size;
  c.logits = uniform(rng, plane * (activation == OCEANPLUS_ACTIVATION_SOFTMAX2 ? 2 : 1), -6, 6);
  c.ltrb = uniform(rng, 4 * plane, 2, 90);
  const cv::Mat window = track::hanning_window(size);
  c.window.resize(plane);
  for (size_t i = 0; i < plane; ++i) c.window[i] = static_cast<float>(window.at<double>(static_cast<int>(i)));
  c.params.score_size = size;
  c.params.activation = activation;
  c.params.stride = c.stride;
  c.params.instance_size = c.instance_size;
  c.params.target_w_crop = std::uniform_real_distribution<float>(10, 120)(rng);
  c.params.target_h_crop = std::uniform_real_distribution<float>(10, 120)(rng);
  c.params.penalty_k = std::uniform_real_distribution<float>(0.01f, 0.3f)(rng);
  c.params.window_influence = std::uniform_real_distribution<float>(0.1f, 0.6f)(rng);
  return c;
}

// choose_peak on the same activated scores (the model activates in float before the tracker sees them).
track::PeakChoice choose_peak_for(const PeakCase& c) {
  const int size = c.size;
  const size_t plane = static_cast<size_t>(size) * size;
  track::SearchResult search;
  search.score.create(size, size, CV_32F);
  for (size_t i = 0; i < plane; ++i) {
    float score = c.logits[i];
    if (c.activation == OCEANPLUS_ACTIVATION_SIGMOID) score = 1.f / (1.f + std::exp(-c.logits[i]));
    if (c.activation == OCEANPLUS_ACTIVATION_SOFTMAX2) score = 1.f / (1.f + std::exp(c.logits[i] - c.logits[plane + i]));
    search.score.at<float>(static_cast<int>(i)) = score;
  }
  for (int k = 0; k < 4; ++k) {
    search.ltrb[k].create(size, size, CV_32F);
    for (size_t i = 0; i < plane; ++i) search.ltrb[k].at<float>(static_cast<int>(i)) = c.ltrb[k * plane + i];
  }
  const cv::Mat window = track::hanning_window(size);
  track::PeakInputs in;
  in.search = &search;
  in.window = &window;
  in.stride = c.stride;
  in.instance_size = c.instance_size;
  in.target_w_crop = c.params.target_w_crop;
  in.target_h_crop = c.params.target_h_crop;
  in.penalty_k = c.params.penalty_k;
  in.window_influence = c.params.window_influence;
  return track::choose_peak(in);
}

TEST(PeakRef, MatchesChoosePeak) {
  std::mt19937 rng(2026);
  int near_ties = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int sizes[] = {25, 29, 16, 7};
    const int activation = trial % 3;
    const PeakCase c = random_peak_case(rng, sizes[trial % 4], activation);
    oceanplus_peak peak{};
    ASSERT_EQ(oceanplus_score_peak_ref(c.logits.data(), c.ltrb.data(), c.window.data(), &c.params, &peak),
              OCEANPLUS_OK);
    const track::PeakChoice want = choose_peak_for(c);
    const double tol = 1e-5;
    EXPECT_NEAR(peak.pscore, want.pscore_max, tol * (1 + std::abs(want.pscore_max)));
    if (peak.row != want.row || peak.col != want.col) {
      // Only on a near tie: choose_peak's pscore at our peak is within the tolerance of its maximum.
      ++near_ties;
      EXPECT_NEAR(want.pscore.at<double>(peak.row, peak.col), want.pscore_max, tol) << "trial " << trial;
      continue;
    }
    EXPECT_EQ(peak.index, want.row * c.size + want.col);
    EXPECT_NEAR(peak.score, want.score_at_max, 1e-6);
    EXPECT_NEAR(peak.penalty, want.penalty_at_max, tol * (1 + want.penalty_at_max));
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(peak.box[k], want.box_crop[k], 1e-4) << k;
    EXPECT_EQ(peak.ltrb[0], c.ltrb[peak.index]);
  }
  EXPECT_LE(near_ties, 2);
}

TEST(PeakRef, TiesGoToTheFirstCellAndNanNeverWins) {
  std::mt19937 rng(1);
  PeakCase c = random_peak_case(rng, 5, OCEANPLUS_ACTIVATION_NONE);
  std::fill(c.logits.begin(), c.logits.end(), 0.5f);
  std::fill(c.ltrb.begin(), c.ltrb.end(), 10.f);
  std::fill(c.window.begin(), c.window.end(), 0.f);
  oceanplus_peak peak{};
  ASSERT_EQ(oceanplus_score_peak_ref(c.logits.data(), c.ltrb.data(), c.window.data(), &c.params, &peak), OCEANPLUS_OK);
  EXPECT_EQ(peak.index, 0);
  c.logits[0] = NAN;
  c.logits[7] = 0.6f;
  ASSERT_EQ(oceanplus_score_peak_ref(c.logits.data(), c.ltrb.data(), c.window.data(), &c.params, &peak), OCEANPLUS_OK);
  EXPECT_EQ(peak.index, 7);
  EXPECT_EQ(peak.row, 1);
  EXPECT_EQ(peak.col, 2);
  std::fill(c.logits.begin(), c.logits.end(), NAN);
  EXPECT_EQ(oceanplus_score_peak_ref(c.logits.data(), c.ltrb.data(), c.window.data(), &c.params, &peak),
            OCEANPLUS_NO_FINITE_SCORE);
  EXPECT_EQ(peak.status, OCEANPLUS_NO_FINITE_SCORE);
  EXPECT_EQ(peak.index, -1);
}

TEST(PeakRef, BadArguments) {
  std::mt19937 rng(1);
  const PeakCase c = random_peak_case(rng, 5, OCEANPLUS_ACTIVATION_SIGMOID);
  oceanplus_peak peak{};
  EXPECT_EQ(oceanplus_score_peak_ref(nullptr, c.ltrb.data(), c.window.data(), &c.params, &peak),
            OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(oceanplus_score_peak_ref(c.logits.data(), c.ltrb.data(), c.window.data(), &c.params, nullptr),
            OCEANPLUS_INVALID_ARGUMENT);
  auto bad = [&](auto change) {
    oceanplus_peak_params p = c.params;
    change(p);
    return oceanplus_score_peak_ref(c.logits.data(), c.ltrb.data(), c.window.data(), &p, &peak);
  };
  EXPECT_EQ(bad([](auto& p) { p.score_size = 0; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(bad([](auto& p) { p.score_size = 5000; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(bad([](auto& p) { p.activation = 9; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(bad([](auto& p) { p.target_h_crop = 0; }), OCEANPLUS_INVALID_ARGUMENT);
  EXPECT_EQ(bad([](auto& p) { p.stride = 0; }), OCEANPLUS_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace oceanplus::kernels::testing
