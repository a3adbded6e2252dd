// PairSampler on shared/data/train_mini: determinism (also across threads), crops that match the tracker's crops
// without augmentation, distractors, filters, video pairs; contour_map on a square.
#include "common/error.h"
#include "support/gen_v1.h"
#include "track/subwindow.h"
#include "train/pair_sampler.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <set>
#include <thread>
#include <tuple>

namespace oceanplus::train {
namespace {

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && (a.empty() || cv::norm(a, b, cv::NORM_INF) == 0);
}

bool same(const TrainingPair& a, const TrainingPair& b) {
  return a.entry_index == b.entry_index && a.search_entry_index == b.search_entry_index && a.search_box == b.search_box &&
         a.flipped == b.flipped && a.distractor_entries == b.distractor_entries && same(a.reference_bgr, b.reference_bgr) &&
         same(a.reference_mask, b.reference_mask) && same(a.search_bgr, b.search_bgr) &&
         same(a.search_mask, b.search_mask) && same(a.search_occluder, b.search_occluder);
}

class PairSamplerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string shared = oceanplus::testing::shared_dir();
    if (shared.empty()) return;
    root_ = new std::string(shared + "/data/train_mini");
    entries_ = new std::vector<TrainEntry>(read_train_index(*root_));
  }
  static void TearDownTestSuite() {
    delete root_;
    delete entries_;
    root_ = nullptr;
    entries_ = nullptr;
  }
  void SetUp() override {
    if (!root_) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED): train_mini sampler tests skipped";
  }
  PairSampler make(const SamplerOptions& options) const { return PairSampler(*root_, *entries_, options); }

  static std::string* root_;
  static std::vector<TrainEntry>* entries_;
};
std::string* PairSamplerTest::root_ = nullptr;
std::vector<TrainEntry>* PairSamplerTest::entries_ = nullptr;

TEST_F(PairSamplerTest, OutputsHaveTheDocumentedShapes) {
  const PairSampler sampler = make(SamplerOptions{});
  for (uint64_t i = 0; i < 20; ++i) {
    const TrainingPair p = sampler.sample(1, i);
    for (const cv::Mat* m : {&p.reference_bgr, &p.search_bgr}) {
      EXPECT_EQ(m->size(), cv::Size(255, 255));
      EXPECT_EQ(m->type(), CV_8UC3);
    }
    for (const cv::Mat* m : {&p.reference_mask, &p.search_mask, &p.search_occluder, &p.reference_occluder}) {
      EXPECT_EQ(m->size(), cv::Size(255, 255));
      EXPECT_EQ(m->type(), CV_8UC1);
      double hi = 0;
      cv::minMaxLoc(*m, nullptr, &hi);
      EXPECT_LE(hi, 1.0);
    }
    EXPECT_GT(cv::countNonZero(p.reference_mask), 0) << "entry " << p.entry_index;
  }
}

TEST_F(PairSamplerTest, SameSeedAndIndexGiveTheSamePairInAnyOrderAndThread) {
  const PairSampler sampler = make(SamplerOptions{});
  const TrainingPair first = sampler.sample(7, 123);
  sampler.sample(7, 5);
  sampler.sample(99, 123);
  EXPECT_TRUE(same(first, sampler.sample(7, 123)));
  EXPECT_FALSE(same(first, sampler.sample(7, 124)));
  EXPECT_FALSE(same(first, sampler.sample(8, 123)));

  // Concurrent calls (4 threads, interleaved indices) agree with serial ones.
  constexpr int kCount = 24;
  std::vector<TrainingPair> serial;
  for (int i = 0; i < kCount; ++i) serial.push_back(sampler.sample(3, static_cast<uint64_t>(i)));
  std::vector<TrainingPair> parallel(kCount);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = kCount - 1 - t; i >= 0; i -= 4) parallel[i] = sampler.sample(3, static_cast<uint64_t>(i));
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCount; ++i) EXPECT_TRUE(same(serial[i], parallel[i])) << "index " << i;
}

TEST_F(PairSamplerTest, EachEpochVisitsEveryUsableEntryOnce) {
  SamplerOptions options = no_augmentation_options();
  options.exclude_sources = {"coco", "human_vikram"};  // small: balloon + the video
  const PairSampler sampler = make(options);
  const std::set<int> usable(sampler.usable_entries().begin(), sampler.usable_entries().end());
  std::vector<std::vector<int>> orders;
  for (uint64_t epoch = 0; epoch < 2; ++epoch) {
    std::vector<int> order;
    for (uint64_t i = 0; i < sampler.size(); ++i) order.push_back(sampler.sample(5, epoch * sampler.size() + i).entry_index);
    const std::multiset<int> seen(order.begin(), order.end());
    EXPECT_EQ(std::set<int>(seen.begin(), seen.end()), usable);
    EXPECT_EQ(seen.size(), usable.size());
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]) << "each epoch has its own order";
}

// The tracker's centre (x + w/2) and search window side, as the sampler documents them.
double tracker_search_side(const cv::Rect& box) {
  const double w = box.width, h = box.height, p = 0.5 * (w + h);
  return std::sqrt((w + p) * (h + p)) * 255.0 / 127.0;
}

// Without augmentation both crops are the tracker's crops (track::crop_subwindow / crop_mask_subwindow): the masks
// agree up to the tracker's rounding of the window corner and side, the images likewise, the centre 127² of the
// reference is the template crop, and the padding is the frame's mean colour.
TEST_F(PairSamplerTest, WithoutAugmentationCropsMatchTheTrackerCrops) {
  SamplerOptions options = no_augmentation_options();
  options.exclude_sources = {"segtrackv2_bmx"};  // still images: reference = search
  const PairSampler sampler = make(options);
  double worst_iou = 1, iou_sum = 0;
  int compared = 0, padded_checked = 0;
  for (uint64_t i = 0; i < 60; ++i) {
    const TrainingPair p = sampler.sample(11, i * 13);
    const TrainEntry& e = sampler.entries()[p.entry_index];
    ASSERT_EQ(p.entry_index, p.search_entry_index);
    EXPECT_TRUE(same(p.reference_bgr, p.search_bgr));
    EXPECT_TRUE(same(p.reference_mask, p.search_mask));

    const cv::Mat image = cv::imread(*root_ + "/" + e.image, cv::IMREAD_COLOR);
    const cv::Mat mask = cv::imread(*root_ + "/" + e.mask, cv::IMREAD_GRAYSCALE) / 255;
    const double cx = e.bbox.x + e.bbox.width / 2.0, cy = e.bbox.y + e.bbox.height / 2.0;
    const double s_x = std::round(tracker_search_side(e.bbox));
    const cv::Mat expected_mask = track::crop_mask_subwindow(mask, cx, cy, 255, s_x) > 0;
    const cv::Mat got_mask = p.search_mask > 0;
    const double iou = static_cast<double>(cv::countNonZero(expected_mask & got_mask)) /
                       std::max(1, cv::countNonZero(expected_mask | got_mask));
    worst_iou = std::min(worst_iou, iou);
    iou_sum += iou;
    ++compared;

    // Images: the tracker rounds its window corner to whole pixels, so its crop may sit up to half a source pixel
    // off ours; ours must still be at least as close to it as the tracker's crop one source pixel away (alignment).
    const cv::Scalar pad = track::mean_colour(image);
    const auto mean_error = [&](double dx, double dy, int size, double side, const cv::Mat& got) {
      const cv::Mat expected = track::crop_subwindow(image, cx + dx, cy + dy, size, side, pad);
      return cv::norm(expected, got, cv::NORM_L1) / (static_cast<double>(size) * size * 3);
    };
    const double s_z = std::round(s_x * 127.0 / 255.0);
    const cv::Mat template_part = p.reference_bgr(cv::Rect(64, 64, 127, 127));  // the template crop
    for (const auto& [size, side, got] : {std::make_tuple(255, s_x, p.search_bgr),
                                          std::make_tuple(127, s_z, template_part)}) {
      const double aligned = mean_error(0, 0, size, side, got);
      EXPECT_LT(aligned, 15.0) << e.image;
      for (const double d : {-1.0, 1.0}) {
        EXPECT_LE(aligned, mean_error(d, 0, size, side, got) + 0.01) << e.image << " size " << size << " dx " << d;
        EXPECT_LE(aligned, mean_error(0, d, size, side, got) + 0.01) << e.image << " size " << size << " dy " << d;
      }
    }

    // Padding: a crop corner that maps well outside the image holds the truncated mean colour exactly.
    cv::Matx23d inverse;
    cv::invertAffineTransform(search_crop_transform(e.bbox, options), inverse);
    const cv::Point2d corner(inverse(0, 2), inverse(1, 2));  // crop pixel (0, 0) in the image
    if (corner.x < -2 || corner.y < -2) {
      const cv::Vec3b px = p.search_bgr.at<cv::Vec3b>(0, 0);
      for (int c = 0; c < 3; ++c) EXPECT_EQ(px[c], static_cast<int>(std::trunc(pad[c]))) << e.image;
      ++padded_checked;
    }
  }
  EXPECT_GT(worst_iou, 0.85);
  EXPECT_GT(iou_sum / compared, 0.95);
  EXPECT_GT(padded_checked, 0);
  RecordProperty("worst_iou", std::to_string(worst_iou));
}

// search_box is the target's box under the crop transform, within 1 px (no augmentation, so no rotation). A mask
// whose edge is a thin spike loses it when the crop shrinks the image (bilinear, thresholded at 0.5), so a few boxes
// may be smaller by more; none by more than 3 px.
TEST_F(PairSamplerTest, SearchBoxIsTheTransformedBox) {
  SamplerOptions options = no_augmentation_options();
  const PairSampler sampler = make(options);
  int checked = 0, within_one = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    const TrainingPair p = sampler.sample(21, i * 7);
    const TrainEntry& e = sampler.entries()[p.search_entry_index];
    const cv::Matx23d t = search_crop_transform(e.bbox, options);
    // The mask's pixels x .. x+w-1 cover [x - 0.5, x + w - 0.5] in pixel-index coordinates.
    const double x0 = t(0, 0) * (e.bbox.x - 0.5) + t(0, 2), x1 = t(0, 0) * (e.bbox.x + e.bbox.width - 0.5) + t(0, 2);
    const double y0 = t(1, 1) * (e.bbox.y - 0.5) + t(1, 2), y1 = t(1, 1) * (e.bbox.y + e.bbox.height - 0.5) + t(1, 2);
    const double errors[4] = {p.search_box.x - (x0 + 0.5), p.search_box.y - (y0 + 0.5),
                              (x1 + 0.5) - (p.search_box.x + p.search_box.width),
                              (y1 + 0.5) - (p.search_box.y + p.search_box.height)};
    double worst = 0;
    for (const double error : errors) {
      EXPECT_GT(error, -1.0) << "box larger than the target's: " << e.mask;
      worst = std::max(worst, std::abs(error));
    }
    EXPECT_LT(worst, 3.0) << e.mask;
    ++checked;
    within_one += worst <= 1.0;
  }
  EXPECT_GE(within_one, checked * 95 / 100);
}

// Distractors replace pixels and zero the target mask exactly where they are pasted, nowhere else; the geometry is
// unchanged (separate random streams), at most half the target is hidden, and the reference's distractor stays off
// the target.
TEST_F(PairSamplerTest, DistractorsZeroTheMaskWherePasted) {
  SamplerOptions plain = no_augmentation_options();
  plain.max_video_gap = 10;
  plain.search_shift = 30;
  plain.search_scale = 0.1;
  plain.max_rotation_deg = 10;
  SamplerOptions with = plain;
  with.distractor_prob = 1;
  with.max_distractors = 2;
  with.reference_distractor_prob = 1;
  const PairSampler a = make(plain), b = make(with);
  int pasted = 0, occluding = 0, same_image = 0, reference_pasted = 0;
  for (uint64_t i = 0; i < 60; ++i) {
    const TrainingPair p = a.sample(4, i), q = b.sample(4, i);
    ASSERT_EQ(p.entry_index, q.entry_index);
    ASSERT_EQ(p.search_box, q.search_box);
    const cv::Mat occluded = q.search_occluder > 0;
    EXPECT_EQ(cv::countNonZero(q.search_mask & q.search_occluder), 0);
    cv::Mat expected = p.search_mask.clone();
    expected.setTo(0, occluded);
    EXPECT_TRUE(same(expected, q.search_mask)) << "index " << i;
    // Outside the pasted pixels the crop is untouched.
    cv::Mat outside_p = p.search_bgr.clone(), outside_q = q.search_bgr.clone();
    outside_p.setTo(0, occluded);
    outside_q.setTo(0, occluded);
    EXPECT_TRUE(same(outside_p, outside_q)) << "index " << i;
    const int target = cv::countNonZero(p.search_mask), hidden = target - cv::countNonZero(q.search_mask);
    EXPECT_LE(2 * hidden, target);
    // The reference crop: the target mask unchanged, its distractor outside it.
    EXPECT_TRUE(same(p.reference_mask, q.reference_mask));
    EXPECT_EQ(cv::countNonZero(q.reference_mask & q.reference_occluder), 0);
    reference_pasted += cv::countNonZero(q.reference_occluder) > 0;
    pasted += cv::countNonZero(occluded) > 0;
    occluding += hidden > 0;
    for (const int row : q.distractor_entries) {
      EXPECT_NE(row, q.search_entry_index);
      const TrainEntry& d = b.entries()[row];
      const TrainEntry& t = b.entries()[q.search_entry_index];
      if (!t.video.empty()) {
        EXPECT_NE(d.video, t.video) << "a frame of the target's own video is no distractor";
      }
      same_image += d.image == t.image;
    }
  }
  EXPECT_GT(pasted, 50);
  EXPECT_GT(occluding, 3);
  EXPECT_GT(same_image, 3);
  EXPECT_GT(reference_pasted, 20);
}

TEST_F(PairSamplerTest, FiltersAndExcludedSources) {
  SamplerOptions options;
  const PairSampler all = make(options);
  size_t expected = 0;
  for (const TrainEntry& e : *entries_) {
    const double fraction = static_cast<double>(e.area) / (e.size.width * e.size.height);
    expected += std::min(e.bbox.width, e.bbox.height) >= 16 && fraction >= 0.005 && fraction <= 0.6;
  }
  EXPECT_EQ(all.size(), expected);
  EXPECT_EQ(all.size(), 1264u);  // train_mini with the README's suggested filters

  options.exclude_sources = {"human_vikram"};
  options.distractor_prob = 1;
  options.reference_distractor_prob = 1;
  const PairSampler no_human = make(options);
  EXPECT_LT(no_human.size(), all.size());
  for (const int row : no_human.usable_entries()) {
    const TrainEntry& e = no_human.entries()[row];
    EXPECT_NE(e.source, "human_vikram");
    EXPECT_GE(std::min(e.bbox.width, e.bbox.height), 16);
  }
  for (uint64_t i = 0; i < 40; ++i) {
    const TrainingPair p = no_human.sample(2, i);
    EXPECT_NE(no_human.entries()[p.entry_index].source, "human_vikram");
    for (const int row : p.distractor_entries) EXPECT_NE(no_human.entries()[row].source, "human_vikram");
  }

  // The full pack: the README's count.
  const std::string full = oceanplus::testing::shared_dir() + "/data/train";
  try {
    EXPECT_EQ(PairSampler(full, read_train_index(full), SamplerOptions{}).size(), 3091u);
  } catch (const Error& e) {
    GTEST_SKIP() << "full train pack not readable: " << e.what();
  }
}

TEST_F(PairSamplerTest, VideoPairsComeFromOneVideoWithinTheGap) {
  for (const int gap : {10, 3, 0}) {
    SamplerOptions options;
    options.exclude_sources = {"coco", "human_vikram", "balloon"};
    options.max_video_gap = gap;
    const PairSampler sampler = make(options);
    ASSERT_EQ(sampler.size(), 36u);
    std::set<int> gaps;
    for (uint64_t i = 0; i < 150; ++i) {
      const TrainingPair p = sampler.sample(9, i);
      const TrainEntry& reference = sampler.entries()[p.entry_index];
      const TrainEntry& search = sampler.entries()[p.search_entry_index];
      ASSERT_FALSE(reference.video.empty());
      EXPECT_EQ(search.video, reference.video);
      EXPECT_EQ(p.frame_gap, search.frame - reference.frame);
      EXPECT_LE(std::abs(p.frame_gap), gap);
      EXPECT_EQ(reference.image != search.image, p.frame_gap != 0);
      gaps.insert(p.frame_gap);
    }
    EXPECT_GE(gaps.size(), static_cast<size_t>(std::min(2 * gap + 1, 5)));  // several gaps drawn, both signs
  }
}

TEST_F(PairSamplerTest, RejectsBadOptionsAndMissingFiles) {
  SamplerOptions bad;
  bad.instance_size = 100;
  EXPECT_THROW(make(bad), Error);
  bad = SamplerOptions{};
  bad.flip_prob = 1.5;
  EXPECT_THROW(make(bad), Error);
  std::vector<TrainEntry> one = {entries_->front()};
  one[0].image = "images/nope.jpg";
  one[0].bbox = cv::Rect(0, 0, 100, 100);
  one[0].area = 5000;
  try {
    PairSampler(*root_, one, SamplerOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("images/nope.jpg"), std::string::npos) << e.what();
  }
  const PairSampler empty(*root_, {}, SamplerOptions{});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_THROW(empty.sample(0, 0), Error);
}

TEST_F(PairSamplerTest, DeformationMovesTheSearchCropAndItsMaskTogether) {
  const PairSampler plain = make(SamplerOptions{});
  SamplerOptions deformed_options;
  deformed_options.deform_prob = 1;
  deformed_options.deform_magnitude = 0.15;
  const PairSampler deformed = make(deformed_options);
  int changed = 0;
  for (uint64_t i = 0; i < 12; ++i) {
    const TrainingPair a = plain.sample(3, i), b = deformed.sample(3, i);
    // Its own random stream: everything else about the pair is drawn as without it.
    EXPECT_EQ(a.entry_index, b.entry_index);
    EXPECT_EQ(a.distractor_entries, b.distractor_entries);
    EXPECT_TRUE(same(a.reference_bgr, b.reference_bgr));
    EXPECT_TRUE(same(a.reference_mask, b.reference_mask));
    changed += !same(a.search_bgr, b.search_bgr);
    // A bend, not a different object: the mask keeps most of its area and overlaps its undeformed self.
    const double area_a = cv::countNonZero(a.search_mask), area_b = cv::countNonZero(b.search_mask);
    if (area_a < 200) continue;
    EXPECT_NEAR(area_b / area_a, 1.0, 0.35) << "index " << i;
    const double inter = cv::countNonZero(a.search_mask & b.search_mask);
    EXPECT_GT(inter / std::max(area_a, area_b), 0.2) << "index " << i;
    // The box is the deformed mask's, before distractors occlude part of it.
    const cv::Rect2f visible(cv::boundingRect(b.search_mask));
    EXPECT_EQ(visible & b.search_box, visible) << "index " << i;
  }
  EXPECT_EQ(changed, 12);
  EXPECT_TRUE(same(deformed.sample(3, 5), deformed.sample(3, 5))) << "deterministic";
  SamplerOptions bad;
  bad.deform_prob = 2;
  EXPECT_THROW(make(bad), Error);
}

TEST(ContourMap, SquareGivesItsBorder) {
  cv::Mat mask = cv::Mat::zeros(50, 60, CV_8U);
  mask(cv::Rect(10, 15, 20, 12)).setTo(1);
  const cv::Mat thin = contour_map(mask, 1);
  EXPECT_EQ(thin.type(), CV_8U);
  EXPECT_EQ(cv::countNonZero(thin), 2 * 20 + 2 * 12 - 4);  // the square's one-pixel ring
  cv::Mat ring = mask.clone();
  ring(cv::Rect(11, 16, 18, 10)).setTo(0);
  EXPECT_TRUE(same(thin, ring));
  double hi = 0;
  cv::minMaxLoc(thin, nullptr, &hi);
  EXPECT_EQ(hi, 1.0);

  // Thicker lines straddle the ring (OpenCV's thickness 3 reaches 2 px to either side of it).
  const cv::Mat thick = contour_map(mask, 3);
  cv::Mat band = cv::Mat::zeros(mask.size(), CV_8U);
  band(cv::Rect(8, 13, 24, 16)).setTo(1);
  band(cv::Rect(13, 18, 14, 6)).setTo(0);
  EXPECT_EQ(cv::countNonZero(thick & (1 - band)), 0);
  EXPECT_EQ(cv::countNonZero(thin & (1 - thick)), 0);
  EXPECT_GT(cv::countNonZero(thick), cv::countNonZero(band) * 9 / 10);

  // A hole has a contour of its own: the object pixels 8-connected around it (its 4 diagonal corners are not).
  cv::Mat holed = cv::Mat::zeros(50, 50, CV_8U);
  holed(cv::Rect(5, 5, 30, 30)).setTo(255);
  holed(cv::Rect(15, 15, 8, 8)).setTo(0);
  EXPECT_EQ(cv::countNonZero(contour_map(holed, 1)), (4 * 30 - 4) + (4 * 10 - 8));

  EXPECT_EQ(cv::countNonZero(contour_map(cv::Mat::zeros(8, 8, CV_8U), 2)), 0);
  EXPECT_THROW(contour_map(cv::Mat::zeros(8, 8, CV_32F), 1), Error);
  EXPECT_THROW(contour_map(mask, 0), Error);
}

}  // namespace
}  // namespace oceanplus::train
