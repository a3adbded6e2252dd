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

TEST(SubwindowParity, EveryGoldenMaskCropMatches) {
  const std::string shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED)";
  const GoldenDict g = load_golden(shared + "/golden/oceanplus/unit_preproc.pt");
  const cv::Mat anno = cv::imread(shared + "/data/davis2016/" + golden_at(g, "anno").toStringRef(), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(anno.empty());
  const auto cases = golden_at(g, "mask_cases").toList();
  ASSERT_EQ(cases.size(), 5u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const GoldenDict c = cases.get(i).toGenericDict();
    const std::string name = c.at("name").toStringRef();
    cv::Mat input;
    if (c.at("input_kind").toStringRef() == "uint8") {
      input = (anno > 0) / 255;
    } else {
      cv::Mat(anno > 0).convertTo(input, CV_64F, c.at("input_scale").toDouble() / 255.0);
    }
    const at::Tensor pos = c.at("pos").toTensor().to(at::kDouble);
    track::CropInfo info;
    const cv::Mat patch = track::crop_mask_subwindow(input, pos[0].item<double>(), pos[1].item<double>(),
                                                     static_cast<int>(c.at("model_sz").toInt()),
                                                     c.at("original_sz").toDouble(), &info);
    const at::Tensor want = c.at("patch").toTensor().contiguous();
    const bool want_double = c.at("patch_dtype").toStringRef() == "float64";
    ASSERT_EQ(patch.depth(), want_double ? CV_64F : CV_8U) << name;
    cv::Mat patch64;
    patch.convertTo(patch64, CV_64F);
    const at::Tensor ours = at::from_blob(patch64.data, {patch64.rows, patch64.cols}, at::kDouble);
    EXPECT_LE((ours - want.to(at::kDouble)).abs().max().item<double>(), want_double ? 1e-12 : 0.0) << name;
    const at::Tensor binary = (ours > 0.5).to(at::kByte);
    EXPECT_TRUE(at::equal(binary, c.at("binary_gt05").toTensor())) << name;
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(info.crop_cords[k], c.at("crop_cords").toTensor()[k].item<int64_t>()) << name;
      EXPECT_EQ(info.pad_info[k], c.at("pad_info").toTensor()[k].item<int64_t>()) << name;
    }
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
