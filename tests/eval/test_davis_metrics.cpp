// The DAVIS metrics on synthetic inputs: the golden values of reference/evaluation.md §1.7, the disk, the boundary
// map, db_statistics (including the uint8 wrap of the decay bins for long sequences) and multi-object scoring.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "eval/davis_eval.h"
#include "eval/davis_metrics.h"

namespace oceanplus::eval {
namespace {

cv::Mat square(int dx, int dy = 0) {
  cv::Mat m = cv::Mat::zeros(480, 854, CV_8UC1);
  m(cv::Rect(300 + dx, 150 + dy, 100, 100)).setTo(255);
  return m;
}

TEST(DavisMetrics, ShiftedSquareGoldenTable) {
  struct Row {
    int d;
    double j, f;
  };
  // evaluation.md §1.7 (4 decimals), 480x854, 100x100 square shifted by d px along x.
  for (const Row& r : {Row{0, 1.0, 1.0}, Row{4, 0.9231, 1.0}, Row{8, 0.8519, 1.0}, Row{9, 0.8349, 0.5400},
                       Row{12, 0.7857, 0.5250}, Row{20, 0.6667, 0.4850}}) {
    const cv::Mat gt = square(0), pred = square(r.d);
    EXPECT_NEAR(db_eval_iou(gt, pred), r.j, 5e-5) << "d=" << r.d;
    EXPECT_NEAR(db_eval_iou(gt, pred), (100.0 - r.d) / (100.0 + r.d), 1e-12) << "d=" << r.d;
    EXPECT_NEAR(db_eval_boundary(gt, pred), r.f, 5e-5) << "d=" << r.d;
  }
}

TEST(DavisMetrics, EmptyMaskCases) {
  const cv::Mat empty = cv::Mat::zeros(480, 854, CV_8UC1), sq = square(0);
  EXPECT_EQ(db_eval_iou(empty, empty), 1.0);
  EXPECT_EQ(db_eval_boundary(empty, empty), 1.0);
  EXPECT_EQ(db_eval_iou(sq, empty), 0.0);  // prediction empty
  EXPECT_EQ(db_eval_boundary(sq, empty), 0.0);
  EXPECT_EQ(db_eval_iou(empty, sq), 0.0);  // GT empty
  EXPECT_EQ(db_eval_boundary(empty, sq), 0.0);
  // An all-foreground frame has no boundary (the image border does not count): F = 0 against a normal GT.
  const cv::Mat full(480, 854, CV_8UC1, cv::Scalar(255));
  EXPECT_EQ(cv::countNonZero(seg2bmap(full)), 0);
  EXPECT_EQ(db_eval_boundary(sq, full), 0.0);
  EXPECT_THROW(db_eval_iou(sq, cv::Mat::zeros(10, 10, CV_8UC1)), Error);
}

TEST(DavisMetrics, DiskMatchesSkimage) {
  EXPECT_EQ(boundary_tolerance(480, 854), 8.0);
  const cv::Mat d8 = disk(8);
  ASSERT_EQ(d8.rows, 17);
  ASSERT_EQ(d8.cols, 17);
  int count = 0;
  for (int y = -8; y <= 8; ++y)
    for (int x = -8; x <= 8; ++x) {
      const bool in = x * x + y * y <= 64;
      EXPECT_EQ(d8.at<uint8_t>(y + 8, x + 8), in ? 1 : 0) << x << "," << y;
      count += in;
    }
  EXPECT_EQ(count, 197);  // skimage.morphology.disk(8).sum()
  // disk(1) is the plus sign; disk(2) has 13 pixels.
  EXPECT_EQ(cv::countNonZero(disk(1)), 5);
  EXPECT_EQ(cv::countNonZero(disk(2)), 13);
}

TEST(DavisMetrics, Seg2bmapIsOffsetTowardTheOrigin) {
  cv::Mat m = cv::Mat::zeros(6, 7, CV_8UC1);
  m(cv::Rect(2, 1, 3, 2)).setTo(1);  // x 2..4, y 1..2
  const cv::Mat b = seg2bmap(m);
  // Expected by hand from b = seg^e | seg^s | seg^se.
  const uint8_t want[6][7] = {{0, 1, 1, 1, 1, 0, 0},  // pixels whose south / south-east neighbour is inside
                              {0, 1, 0, 0, 1, 0, 0},  // (1,1): se inside; (4,1): east outside
                              {0, 1, 1, 1, 1, 0, 0},  // last object row: south outside
                              {0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0}};
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 7; ++x) EXPECT_EQ(b.at<uint8_t>(y, x), want[y][x]) << "x=" << x << " y=" << y;
}

TEST(DavisMetrics, StatisticsExample) {
  const Statistics s = db_statistics({1, 1, .9, .8, .6, .5, .4, .3, .2, 0});
  EXPECT_NEAR(s.mean, 0.57, 1e-12);
  EXPECT_NEAR(s.recall, 0.5, 1e-12);  // 0.5 itself does not count (strict >)
  EXPECT_NEAR(s.decay, 0.8, 1e-12);
  EXPECT_EQ(decay_bin_ids(10), (std::array<std::size_t, 5>{0, 2, 5, 7, 9}));
  // The bin ids of the golden sequences (README of golden/davis_eval).
  EXPECT_EQ(decay_bin_ids(38), (std::array<std::size_t, 5>{0, 9, 19, 28, 37}));
  EXPECT_EQ(decay_bin_ids(48), (std::array<std::size_t, 5>{0, 12, 24, 35, 47}));
  EXPECT_EQ(decay_bin_ids(58), (std::array<std::size_t, 5>{0, 14, 29, 43, 57}));
  // linspace(1, 3, 5) = 1, 1.5, 2, 2.5, 3: the + 1e-10 makes the halves round up (not to even).
  EXPECT_EQ(decay_bin_ids(3), (std::array<std::size_t, 5>{0, 1, 1, 2, 2}));
  EXPECT_EQ(db_statistics({0.5, 0.5}).recall, 0.0);
}

TEST(DavisMetrics, DecayBinsWrapLikeUint8ForLongSequences) {
  // n = 1030: linspace(1, 1030, 5) = 1, 258.25, 515.5, 772.75, 1030 -> round -1 = 0, 257, 515, 772, 1029
  // -> uint8: 0, 1, 3, 4, 5. So bin 0 = v[0:2], bin 3 = v[4:6].
  EXPECT_EQ(decay_bin_ids(1030), (std::array<std::size_t, 5>{0, 1, 3, 4, 5}));
  std::vector<double> v(1030, 0.25);
  v[0] = 1.0;
  v[1] = 0.8;
  v[4] = 0.1;
  v[5] = 0.3;
  const Statistics s = db_statistics(v);
  EXPECT_NEAR(s.decay, (1.0 + 0.8) / 2 - (0.1 + 0.3) / 2, 1e-12);
  EXPECT_NEAR(s.recall, 2.0 / 1030, 1e-12);
  // n = 300: ids 0, 75, 150, 224, 299 -> 299 wraps to 43: bin 3 = v[224:44] is empty, so the decay is NaN (numpy's
  // nanmean of an empty slice), exactly as the official code.
  EXPECT_EQ(decay_bin_ids(300), (std::array<std::size_t, 5>{0, 75, 150, 224, 43}));
  EXPECT_TRUE(std::isnan(db_statistics(std::vector<double>(300, 0.7)).decay));
  // n = 256 does not wrap yet: ids 0, 64, 128, 191, 255.
  EXPECT_EQ(decay_bin_ids(256), (std::array<std::size_t, 5>{0, 64, 128, 191, 255}));
  // A whole > 256 frame sequence through score_objects: 302 frames scored.
  std::vector<cv::Mat> gt, pred;
  for (int i = 0; i < 1030; ++i) {
    cv::Mat g = cv::Mat::zeros(40, 60, CV_8UC1);
    g(cv::Rect(10, 10, 20, 20)).setTo(1);
    cv::Mat p = cv::Mat::zeros(40, 60, CV_8UC1);
    p(cv::Rect(10 + (i % 7), 10, 20, 20)).setTo(1);
    gt.push_back(g);
    pred.push_back(p);
  }
  const SequenceResult r = score_objects("long", gt, pred, 1);
  ASSERT_EQ(r.objects.size(), 1u);
  const auto& J = r.objects[0].J;
  EXPECT_NEAR(r.objects[0].j.decay, (J[0] + J[1]) / 2 - (J[4] + J[5]) / 2, 1e-12);
}

TEST(DavisMetrics, StatisticsWithNaN) {
  const double nan = std::nan("");
  const Statistics s = db_statistics({1.0, nan, 0.0, 0.6});
  EXPECT_NEAR(s.mean, 1.6 / 3, 1e-12);
  EXPECT_NEAR(s.recall, 0.5, 1e-12);  // NaN > 0.5 is false and still counts in the denominator
}

TEST(DavisMetrics, MultiObjectScoringAndGlobalMeanOverObjects) {
  // Sequence A: two objects, B: one. Object 2 of A is never predicted (empty prediction).
  std::vector<cv::Mat> ga, pa, gb, pb;
  for (int i = 0; i < 5; ++i) {
    cv::Mat g = cv::Mat::zeros(60, 80, CV_8UC1);
    g(cv::Rect(5, 5, 20, 20)).setTo(1);
    g(cv::Rect(40, 30, 20, 20)).setTo(2);
    cv::Mat p = cv::Mat::zeros(60, 80, CV_8UC1);
    p(cv::Rect(5, 5, 20, 20)).setTo(1);
    ga.push_back(g);
    pa.push_back(p);
    cv::Mat h = cv::Mat::zeros(60, 80, CV_8UC1);
    h(cv::Rect(10, 10, 30, 30)).setTo(1);
    gb.push_back(h);
    pb.push_back(h.clone());
  }
  std::vector<SequenceResult> seqs;
  seqs.push_back(score_objects("a", ga, pa, 2));
  seqs.push_back(score_objects("b", gb, pb, 1));
  ASSERT_EQ(seqs[0].objects.size(), 2u);
  EXPECT_EQ(seqs[0].objects[0].j.mean, 1.0);
  EXPECT_EQ(seqs[0].objects[1].j.mean, 0.0);
  EXPECT_EQ(seqs[0].objects[1].f.mean, 0.0);
  const EvalResult r = make_result(seqs);
  EXPECT_EQ(r.global.n_objects, 3u);
  EXPECT_NEAR(r.global.j_mean, 2.0 / 3, 1e-12);  // mean over objects, not sequences (which would give 0.75)
  EXPECT_NEAR(r.global.jf_mean, 2.0 / 3, 1e-12);
  EXPECT_EQ(object_row_name(seqs[0], seqs[0].objects[1]), "a_2");
  EXPECT_EQ(object_row_name(seqs[1], seqs[1].objects[0]), "b");
}

TEST(DavisMetrics, PredictionNormalisation) {
  cv::Mat bin = cv::Mat::zeros(4, 4, CV_8UC1);
  bin.at<uint8_t>(1, 1) = 255;
  const cv::Mat n = normalize_prediction(bin, 1, "x");
  EXPECT_EQ(n.at<uint8_t>(1, 1), 1);
  cv::Mat ids = cv::Mat::zeros(4, 4, CV_8UC1);
  ids.at<uint8_t>(0, 0) = 3;
  EXPECT_THROW(normalize_prediction(ids, 2, "frame.png"), Error);
  try {
    normalize_prediction(ids, 2, "frame.png");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("frame.png"), std::string::npos);
  }
  EXPECT_EQ(normalize_prediction(ids, 3, "x").at<uint8_t>(0, 0), 3);
}

}  // namespace
}  // namespace oceanplus::eval
