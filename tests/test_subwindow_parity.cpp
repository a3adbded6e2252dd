// The crop against TracKit's get_subwindow_tracking (shared/golden/oceanplus/unit_preproc.pt): pixel-exact.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "support/gen_v1.h"
#include "support/golden.h"
#include "track/subwindow.h"

namespace oceanplus::testing {
namespace {

TEST(SubwindowParity, EveryGoldenCropIsPixelExact) {
  const std::string shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED)";
  const GoldenDict g = load_golden(shared + "/golden/oceanplus/unit_preproc.pt");
  const cv::Mat frame =
      cv::imread(shared + "/data/davis2016/" + golden_at(g, "frame.file").toStringRef(), cv::IMREAD_COLOR);
  ASSERT_FALSE(frame.empty());
  const at::Tensor avg = golden_tensor(g, "avg_chans").to(at::kDouble);
  const cv::Scalar pad(avg[0].item<double>(), avg[1].item<double>(), avg[2].item<double>());
  const auto cases = golden_at(g, "cases").toList();
  ASSERT_EQ(cases.size(), 10u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const GoldenDict c = cases.get(i).toGenericDict();
    const std::string name = c.at("name").toStringRef();
    const at::Tensor pos = c.at("pos").toTensor().to(at::kDouble);
    const int model_size = static_cast<int>(c.at("model_sz").toInt());
    const double original_size = c.at("original_sz").toDouble();
    track::CropInfo info;
    const cv::Mat crop = track::crop_subwindow(frame, pos[0].item<double>(), pos[1].item<double>(), model_size,
                                               original_size, pad, &info);
    ASSERT_EQ(crop.rows, model_size) << name;
    // HWC BGR -> CHW, as the golden stores it.
    at::Tensor ours = at::from_blob(crop.data, {crop.rows, crop.cols, 3}, at::kByte).permute({2, 0, 1});
    const at::Tensor want = c.at("crop_chw_u8").toTensor();
    EXPECT_TRUE(at::equal(ours, want)) << name << ": max|diff| "
                                       << (ours.to(at::kInt) - want.to(at::kInt)).abs().max().item<int>();
    auto expect_ints = [&](const char* key, const int64_t* got, size_t n) {
      const at::Tensor w = c.at(key).toTensor();
      for (size_t k = 0; k < n; ++k) EXPECT_EQ(got[k], w[k].item<int64_t>()) << name << " " << key << "[" << k << "]";
    };
    expect_ints("crop_cords", info.crop_cords.data(), 4);
    expect_ints("pad_info", info.pad_info.data(), 4);
    expect_ints("padded_hw", info.padded_hw.data(), 2);
  }
}

TEST(Subwindow, WindowEntirelyOutsideTheFrameIsPadColour) {
  cv::Mat frame(40, 60, CV_8UC3, cv::Scalar(10, 20, 30));
  const cv::Mat crop = track::crop_subwindow(frame, -500, -500, 16, 31, cv::Scalar(1.9, 2.5, 3.2));
  ASSERT_EQ(crop.rows, 16);
  EXPECT_EQ(crop.at<cv::Vec3b>(8, 8), cv::Vec3b(1, 2, 3));  // truncated, not rounded
}

TEST(Subwindow, RejectsEmptyInputsAndRunawaySizes) {
  cv::Mat frame(40, 60, CV_8UC3, cv::Scalar::all(0));
  EXPECT_THROW(track::crop_subwindow(cv::Mat(), 10, 10, 16, 31, {}), std::invalid_argument);
  EXPECT_THROW(track::crop_subwindow(frame, 10, 10, 16, 0, {}), std::invalid_argument);
  EXPECT_THROW(track::crop_subwindow(frame, 10, 10, 16, 1e9, {}), std::invalid_argument);
}

}  // namespace
}  // namespace oceanplus::testing
