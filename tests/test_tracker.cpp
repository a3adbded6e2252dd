// Tracker behaviour that the goldens do not cover: presets and their parser, bad initial regions, several targets,
// label merging, and a real network following a moving synthetic object.
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <random>

#include "common/error.h"
#include "track/oceanplus_model.h"
#include "track/postprocess.h"
#include "track/tracker.h"

namespace {

using namespace oceanplus;
using namespace oceanplus::track;

// --- presets ----------------------------------------------------------------------------------------------------------

TEST(Params, PresetsHoldTheReferenceValues) {
  const auto names = preset_names();
  EXPECT_EQ(names, (std::vector<std::string>{"davis2016", "davis2017", "nanotrack", "oceanplus-lite", "vot2020"}));
  const TrackerParams vot = preset("vot2020"), d16 = preset("DAVIS2016"), d17 = preset("davis2017");
  EXPECT_EQ(vot.penalty_k, 0.06);
  EXPECT_EQ(vot.lr, 0.644);
  EXPECT_EQ(vot.window_influence, 0.484);
  EXPECT_EQ(vot.seg_thr, 0.9);
  EXPECT_EQ(vot.box_fallback_min_pixels, 10);
  EXPECT_EQ(d16.penalty_k, 0.032);
  EXPECT_EQ(d16.lr, 0.98);
  EXPECT_EQ(d16.window_influence, 0.45);
  EXPECT_EQ(d16.seg_thr, 0.84);
  EXPECT_EQ(d16.box_fallback_min_pixels, 0);
  EXPECT_EQ(d17.penalty_k, 0.031);
  EXPECT_EQ(d17.lr, 1.0);
  EXPECT_EQ(d17.window_influence, 0.35);
  EXPECT_EQ(d17.seg_thr, 0.84);
  for (const auto& p : {vot, d16, d17}) {
    EXPECT_EQ(p.small_instance_size, 255);
    EXPECT_EQ(p.big_instance_size, 287);
    EXPECT_EQ(p.small_target_area, 0.004);
    EXPECT_EQ(p.update_threshold, 0.95);
    EXPECT_EQ(p.cyclic_iterations, 3);
    EXPECT_EQ(p.cyclic_fake_ratio, 0.8);
    EXPECT_EQ(p.cyclic_polygon_ratio, 0.85);
    EXPECT_TRUE(p.smooth_size_twice);
  }
  // The built-in defaults are the vot2020 preset (a JSON file without "base" starts from them).
  EXPECT_EQ(params_to_json(parse_params_json("{}", "vot2020")), params_to_json(vot));
}

TEST(Params, JsonOverridesABase) {
  const TrackerParams p = parse_params_json(R"({"base": "davis2016", "seg_thr": 0.5, "template_update": false})", "mine");
  EXPECT_EQ(p.seg_thr, 0.5);
  EXPECT_FALSE(p.template_update);
  EXPECT_EQ(p.penalty_k, 0.032);
  EXPECT_EQ(p.name, "mine");
  // Round trip through params_to_json.
  const TrackerParams q = parse_params_json(
      [&] {
        std::string j = params_to_json(p);
        return j.replace(j.find("\"name\""), std::string("\"name\"").size(), "\"description\"");
      }(),
      "again");
  EXPECT_EQ(q.seg_thr, 0.5);
  EXPECT_EQ(q.penalty_k, 0.032);
}

void expect_error_naming(const std::string& json, const std::string& fragment) {
  try {
    parse_params_json(json, "test.json");
    ADD_FAILURE() << "no error for " << json;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.json"), std::string::npos) << e.what();
  }
}

TEST(Params, BadDocumentsNameTheProblem) {
  expect_error_naming("{", "not valid JSON");
  expect_error_naming("[1,2]", "JSON object");
  expect_error_naming(R"({"penalty": 1})", "unknown key 'penalty'");
  expect_error_naming(R"({"seg_thr": "high"})", "'seg_thr'");
  expect_error_naming(R"({"seg_thr": 1.5})", "'seg_thr'");
  expect_error_naming(R"({"cyclic_iterations": 2.5})", "'cyclic_iterations'");
  expect_error_naming(R"({"template_update": 1})", "'template_update'");
  expect_error_naming(R"({"base": "vot2019"})", "unknown base preset 'vot2019'");
  expect_error_naming(R"({"search_rounding": "up"})", "'search_rounding'");
  EXPECT_THROW(preset("nope"), Error);
  EXPECT_THROW(load_params("/nonexistent/params.json"), Error);
}

TEST(Params, FuzzedDocumentsNeverCrash) {
  const std::string seed = R"({"base": "davis2016", "seg_thr": 0.5, "lr": 0.9, "cyclic_iterations": 3})";
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (doc.size() + 1);
      switch (rng() % 3) {
        case 0: doc.insert(doc.begin() + at, static_cast<char>(rng() % 256)); break;
        case 1: if (at < doc.size()) doc.erase(at, 1); break;
        default: if (at < doc.size()) doc[at] = "{}[]\":,0123456789.-eE tfn"[rng() % 26]; break;
      }
    }
    try {
      parse_params_json(doc, "fuzz");
      ++accepted;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(accepted, 0);
}

// --- post-processing helpers ---------------------------------------------------------------------------------------

TEST(Postprocess, RoundingRules) {
  EXPECT_EQ(round_half_even(2.5), 2);
  EXPECT_EQ(round_half_even(3.5), 4);
  EXPECT_EQ(round_half_even(-2.5), -2);
  EXPECT_EQ(round_half_away(2.5), 3);
  EXPECT_EQ(round_half_away(-2.5), -3);
  EXPECT_EQ(round_half_away(2.4999), 2);
}

TEST(Postprocess, HanningWindow) {
  const cv::Mat w = hanning_window(5);
  EXPECT_DOUBLE_EQ(w.at<double>(0, 2), 0.0);
  EXPECT_DOUBLE_EQ(w.at<double>(2, 2), 1.0);
  EXPECT_DOUBLE_EQ(w.at<double>(1, 2), 0.5);
  EXPECT_DOUBLE_EQ(hanning_window(1).at<double>(0, 0), 1.0);
  EXPECT_THROW(hanning_window(0), Error);
}

TEST(Postprocess, BoxMaskCoversPixelCentresAndClips) {
  const cv::Mat m = box_mask(cv::Rect2d(1.5, 2.0, 3.0, 2.0), 6, 6);
  EXPECT_EQ(cv::countNonZero(m), 6);  // columns 1..3 (centres 1.5, 2.5, 3.5 in [1.5, 4.5)), rows 2..3
  EXPECT_EQ(m.at<uint8_t>(2, 1), 1);
  EXPECT_EQ(m.at<uint8_t>(2, 4), 0);
  EXPECT_EQ(m.at<uint8_t>(1, 2), 0);
  EXPECT_EQ(m.at<uint8_t>(4, 2), 0);
  EXPECT_EQ(cv::countNonZero(box_mask(cv::Rect2d(-10, -10, 12, 12), 6, 6)), 4);
  EXPECT_EQ(cv::countNonZero(box_mask(cv::Rect2d(100, 100, 5, 5), 6, 6)), 0);
}

TEST(Postprocess, PasteBackHandlesCropsOutsideTheFrame) {
  cv::Mat prob(9, 9, CV_32F, cv::Scalar(1.0f));
  CropInfo crop;
  // A 20-px crop whose top-left lies 5 px left of and 3 px above the frame.
  crop.pad_info = {3, 5, 10, 12};
  crop.crop_cords = {0, 19, 0, 19};
  const cv::Mat frame = paste_back(prob, crop, 10, 12);
  ASSERT_EQ(frame.size(), cv::Size(12, 10));
  EXPECT_NEAR(frame.at<float>(0, 0), 1.0f, 1e-6);  // inside the crop
  EXPECT_NEAR(frame.at<float>(9, 11), 1.0f, 1e-6);
  // A crop entirely outside: all zero.
  crop.pad_info = {0, 0, 10, 12};
  crop.crop_cords = {100, 119, 100, 119};
  EXPECT_EQ(cv::countNonZero(paste_back(prob, crop, 10, 12)), 0);
}

TEST(Postprocess, MergeLabelsTakesTheArgmaxAboveThreshold) {
  cv::Mat a(1, 4, CV_32F), b(1, 4, CV_32F);
  a.at<float>(0, 0) = 0.9f, b.at<float>(0, 0) = 0.95f;  // b wins
  a.at<float>(0, 1) = 0.95f, b.at<float>(0, 1) = 0.9f;  // a wins
  a.at<float>(0, 2) = 0.5f, b.at<float>(0, 2) = 0.6f;   // both below: background
  a.at<float>(0, 3) = 0.9f, b.at<float>(0, 3) = 0.9f;   // a tie: the first target
  const cv::Mat labels = merge_labels({a, b}, 0.84, {3, 7});
  EXPECT_EQ(labels.at<uint8_t>(0, 0), 7);
  EXPECT_EQ(labels.at<uint8_t>(0, 1), 3);
  EXPECT_EQ(labels.at<uint8_t>(0, 2), 0);
  EXPECT_EQ(labels.at<uint8_t>(0, 3), 3);
  EXPECT_THROW(merge_labels({}, 0.5), Error);
  EXPECT_THROW(merge_labels({a, cv::Mat(2, 2, CV_32F)}, 0.5), Error);
}

TEST(Postprocess, PolygonOfTheLargestComponent) {
  cv::Mat prob = cv::Mat::zeros(50, 60, CV_32F);
  cv::rectangle(prob, cv::Rect(5, 5, 4, 4), cv::Scalar(1.0), cv::FILLED);
  cv::rectangle(prob, cv::Rect(20, 10, 30, 20), cv::Scalar(1.0), cv::FILLED);
  std::array<cv::Point2f, 4> corners;
  ASSERT_TRUE(mask_polygon(prob, 0.5, corners));
  for (const auto& p : corners) {
    EXPECT_GE(p.x, 19.0f);
    EXPECT_LE(p.x, 50.0f);
  }
  EXPECT_FALSE(mask_polygon(cv::Mat::zeros(5, 5, CV_32F), 0.5, corners));
}

// --- initialisation errors, several targets, and a real network ------------------------------------------------------

std::shared_ptr<OceanPlusModel> shared_model() {
  static std::shared_ptr<OceanPlusModel> model = OceanPlusModel::synthetic(nn::MaskDecoder::MSS, 3);
  return model;
}

// A textured square on a smooth background at (x, y).
cv::Mat scene(int x, int y, int rows = 240, int cols = 320) {
  cv::Mat frame(rows, cols, CV_8UC3);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) frame.at<cv::Vec3b>(r, c) = cv::Vec3b(60 + r / 4, 80 + c / 5, 100);
  }
  cv::Mat patch = frame(cv::Rect(x, y, 40, 40));
  for (int r = 0; r < 40; ++r) {
    for (int c = 0; c < 40; ++c) patch.at<cv::Vec3b>(r, c) = ((r / 5 + c / 5) % 2) ? cv::Vec3b(230, 40, 20) : cv::Vec3b(20, 200, 240);
  }
  return frame;
}

TEST(TrackerInit, RejectsEmptyOrOutsideRegionsAndClipsPartialOnes) {
  Tracker tracker(shared_model(), preset("vot2020"));
  const cv::Mat frame = scene(100, 100);
  EXPECT_THROW(tracker.init_with_mask(frame, cv::Mat::zeros(frame.size(), CV_8U)), Error);
  EXPECT_THROW(tracker.init_with_mask(frame, cv::Mat()), Error);
  EXPECT_THROW(tracker.init_with_box(frame, cv::Rect2d(10, 10, 0, 20)), Error);
  EXPECT_THROW(tracker.init_with_box(frame, cv::Rect2d(10, 10, -5, 20)), Error);
  EXPECT_THROW(tracker.init_with_box(frame, cv::Rect2d(1000, 1000, 20, 20)), Error);
  EXPECT_THROW(tracker.init_with_box(frame, cv::Rect2d(std::nan(""), 10, 20, 20)), Error);
  EXPECT_THROW(tracker.track(frame), Error) << "track before init";
  EXPECT_THROW(tracker.init_with_box(cv::Mat(), cv::Rect2d(10, 10, 20, 20)), Error);
  cv::Mat float_frame(10, 10, CV_32FC3);
  EXPECT_THROW(tracker.init_with_box(float_frame, cv::Rect2d(1, 1, 5, 5)), Error);

  const InitReport clipped = tracker.init_with_box_no_cycles(frame, cv::Rect2d(-20, 100, 60, 40));
  ASSERT_EQ(clipped.warnings.size(), 1u);
  EXPECT_NE(clipped.warnings[0].find("clipped"), std::string::npos);
  EXPECT_EQ(clipped.size, cv::Size2d(40, 40));

  cv::Mat small_mask = cv::Mat::zeros(200, 300, CV_8U);
  small_mask(cv::Rect(100, 100, 40, 40)).setTo(255);
  const InitReport resized = tracker.init_with_mask(frame, small_mask);
  ASSERT_EQ(resized.warnings.size(), 1u);
  EXPECT_NE(resized.warnings[0].find("300x200"), std::string::npos);
  EXPECT_EQ(resized.centre, cv::Point2d(120, 120));
}

TEST(TrackerInit, GreyFramesAreConverted) {
  Tracker tracker(shared_model(), preset("vot2020"));
  cv::Mat grey;
  cv::cvtColor(scene(100, 100), grey, cv::COLOR_BGR2GRAY);
  tracker.init_with_box_no_cycles(grey, cv::Rect2d(100, 100, 40, 40));
  const TargetResult r = tracker.track(grey);
  EXPECT_EQ(r.mask.size(), grey.size());
  EXPECT_EQ(r.prob.type(), CV_32F);
}

TEST(TrackerInit, SearchSizeFollowsTheTargetArea) {
  Tracker tracker(shared_model(), preset("davis2016"));
  const cv::Mat frame = scene(100, 100);
  // 40·40 / (320·240) = 0.0208 ≥ 0.004: the small search size.
  EXPECT_EQ(tracker.init_with_box_no_cycles(frame, cv::Rect2d(100, 100, 40, 40)).instance_size, 255);
  // 10·10 / 76800 = 0.0013 < 0.004: the big one.
  EXPECT_EQ(tracker.init_with_box_no_cycles(frame, cv::Rect2d(100, 100, 10, 10)).instance_size, 287);
}

TEST(MultiTracker, TargetsKeepTheirIdsAndMerge) {
  MultiTracker multi(shared_model(), preset("davis2017"));
  const cv::Mat frame = scene(60, 60);
  cv::Mat mask = cv::Mat::zeros(frame.size(), CV_8U);
  mask(cv::Rect(60, 60, 40, 40)).setTo(1);
  multi.add_target_mask(5, frame, mask);
  multi.add_target_box(2, frame, cv::Rect2d(200, 150, 50, 40), /*cyclic=*/false);
  EXPECT_THROW(multi.add_target_box(2, frame, cv::Rect2d(10, 10, 20, 20)), Error) << "duplicate id";
  EXPECT_THROW(multi.add_target_box(0, frame, cv::Rect2d(10, 10, 20, 20)), Error);
  EXPECT_THROW(multi.add_target_box(256, frame, cv::Rect2d(10, 10, 20, 20)), Error);
  EXPECT_THROW(multi.add_target_box(9, frame, cv::Rect2d(1000, 10, 20, 20)), Error);
  EXPECT_EQ(multi.ids(), (std::vector<int>{2, 5})) << "a failed add leaves no target behind";
  const auto results = multi.track(scene(64, 62));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].id, 2);
  EXPECT_EQ(results[1].id, 5);
  const cv::Mat labels = multi.label_map(results, frame.size());
  double max_label = 0;
  cv::minMaxLoc(labels, nullptr, &max_label);
  EXPECT_LE(max_label, 5);
  for (int r = 0; r < labels.rows; ++r) {
    for (int c = 0; c < labels.cols; ++c) {
      const int v = labels.at<uint8_t>(r, c);
      ASSERT_TRUE(v == 0 || v == 2 || v == 5);
    }
  }
  EXPECT_TRUE(multi.remove_target(2));
  EXPECT_FALSE(multi.remove_target(2));
  EXPECT_EQ(multi.size(), 1u);
}

TEST(TrackerRun, ResultsStayInsideTheFrameAndAreConsistent) {
  // Random weights do not track, but every output must stay well-formed over a sequence.
  Tracker tracker(shared_model(), preset("vot2020"));
  tracker.init_with_box(scene(20, 20), cv::Rect2d(20, 20, 40, 40));
  for (int i = 1; i <= 4; ++i) {
    const cv::Mat frame = scene(20 + 8 * i, 20 + 5 * i);
    const TargetResult r = tracker.track(frame);
    EXPECT_GE(r.centre.x, 0);
    EXPECT_LE(r.centre.x, frame.cols);
    EXPECT_GE(r.centre.y, 0);
    EXPECT_LE(r.centre.y, frame.rows);
    EXPECT_GE(r.size.width, 10);
    EXPECT_LE(r.size.width, frame.cols);
    EXPECT_GE(r.score, 0);
    EXPECT_LE(r.score, 1);
    EXPECT_EQ(r.mask.size(), frame.size());
    EXPECT_EQ(r.prob.size(), frame.size());
    // VOT preset: a mask with fewer than 10 pixels is replaced by the box.
    EXPECT_TRUE(r.mask_is_box || cv::countNonZero(r.mask) >= 10);
  }
}

}  // namespace
