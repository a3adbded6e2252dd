// TrackSession: ids, the target life cycle (new → tracking ⇄ lost, re-initialised), requests at frame boundaries,
// refused regions, removal. A stub network with a controllable peak score stands in for the model, so that each
// state change happens on a known frame.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "track/track_session.h"

using namespace oceanplus::track;

namespace {

// Scores a constant `level` everywhere (the window puts the peak at the centre), boxes of 48×48 crop pixels, and a
// centred disc as the foreground probability.
class SteadyModel : public TrackingModel {
 public:
  double level = 0.9;
  int searches = 0;

  std::string name() const override { return "steady"; }
  const ModelGeometry& geometry() const override { return geometry_; }
  int score_size(int instance_size) const override { return (instance_size - 1) / 8 - 6; }
  std::unique_ptr<TargetFeatures> make_target(const cv::Mat&, const cv::Mat&) override {
    return std::make_unique<TargetFeatures>();
  }
  void reset_target_mask(TargetFeatures&, const cv::Mat&) override {}
  SearchResult track(TargetFeatures&, const cv::Mat& x_crop) override {
    ++searches;
    const int s = score_size(x_crop.rows);
    SearchResult r;
    r.score = cv::Mat(s, s, CV_32F, cv::Scalar(level));
    for (auto& m : r.ltrb) m = cv::Mat(s, s, CV_32F, cv::Scalar(24));
    r.mask_prob = cv::Mat::zeros(x_crop.rows, x_crop.cols, CV_32F);
    cv::circle(r.mask_prob, {x_crop.cols / 2, x_crop.rows / 2}, 20, cv::Scalar(1), cv::FILLED);
    return r;
  }
  void update_template(TargetFeatures&, double, double, double, double, double) override {}

 private:
  ModelGeometry geometry_;
};

cv::Mat test_frame() {
  cv::Mat frame(241, 321, CV_8UC3, cv::Scalar(40, 90, 140));
  cv::rectangle(frame, cv::Rect(100, 80, 50, 60), cv::Scalar(200, 30, 30), cv::FILLED);
  return frame;
}

struct Fixture : ::testing::Test {
  std::shared_ptr<SteadyModel> model = std::make_shared<SteadyModel>();
  SessionOptions options() const {
    SessionOptions o;
    o.lost_score = 0.5;
    o.lost_patience = 3;
    o.max_targets = 3;
    return o;
  }
  TrackSession session{model, preset("vot2020"), options()};
  cv::Mat frame = test_frame();
};

size_t count_events(const FrameOutput& out, SessionEventKind kind) {
  size_t n = 0;
  for (const auto& e : out.events) n += e.kind == kind;
  return n;
}

}  // namespace

TEST_F(Fixture, ABoxStartsANewTargetThatIsTrackedFromTheNextFrame) {
  const uint64_t id = session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  EXPECT_EQ(id, 1u);
  FrameOutput first = session.process(frame, 1000);
  ASSERT_EQ(first.targets.size(), 1u);
  EXPECT_EQ(first.targets[0].id, 1u);
  EXPECT_EQ(first.targets[0].state, TrackState::New);
  EXPECT_EQ(first.targets[0].first_seen, 1000);
  EXPECT_NEAR(first.targets[0].result.box.x, 100, 1e-9);
  EXPECT_NEAR(first.targets[0].result.box.width, 50, 1e-9);
  EXPECT_EQ(count_events(first, SessionEventKind::Started), 1u);
  EXPECT_EQ(model->searches, 0);  // the initial frame is not searched

  FrameOutput second = session.process(frame, 2000);
  ASSERT_EQ(second.targets.size(), 1u);
  EXPECT_EQ(second.targets[0].state, TrackState::Tracking);
  EXPECT_EQ(second.targets[0].first_seen, 1000);
  EXPECT_EQ(second.targets[0].last_seen, 2000);
  EXPECT_NEAR(second.targets[0].result.score, 0.9, 1e-6);
  EXPECT_FALSE(second.targets[0].result.mask.empty());
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(model->searches, 1);
}

TEST_F(Fixture, LowScoresForPatienceFramesLoseTheTargetAndAGoodScoreReacquiresIt) {
  session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  session.process(frame);
  model->level = 0.2;
  EXPECT_EQ(session.process(frame).targets[0].state, TrackState::Tracking);  // 1 low frame
  EXPECT_EQ(session.process(frame).targets[0].state, TrackState::Tracking);  // 2
  FrameOutput lost = session.process(frame);                                  // 3 = patience
  EXPECT_EQ(lost.targets[0].state, TrackState::Lost);
  ASSERT_EQ(count_events(lost, SessionEventKind::Lost), 1u);
  EXPECT_EQ(lost.events[0].id, 1u);
  FrameOutput still = session.process(frame);
  EXPECT_EQ(still.targets[0].state, TrackState::Lost);
  EXPECT_TRUE(still.events.empty());  // reported once
  model->level = 0.8;
  FrameOutput back = session.process(frame);
  EXPECT_EQ(back.targets[0].state, TrackState::Tracking);
  EXPECT_EQ(count_events(back, SessionEventKind::Reacquired), 1u);
}

TEST_F(Fixture, AShortDipDoesNotLoseTheTarget) {
  session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  session.process(frame);
  for (int i = 0; i < 6; ++i) {
    model->level = (i % 3 == 2) ? 0.9 : 0.1;  // two low frames, then a good one
    FrameOutput out = session.process(frame);
    EXPECT_EQ(out.targets[0].state, TrackState::Tracking) << i;
  }
}

TEST_F(Fixture, ReinitialisingKeepsTheIdAndFirstSeenAndPostsNoStart) {
  const uint64_t id = session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  session.process(frame, 10);
  session.process(frame, 20);
  session.request(TargetRequest::from_box(id, {20, 30, 40, 40}, false));
  FrameOutput out = session.process(frame, 30);
  ASSERT_EQ(out.targets.size(), 1u);
  EXPECT_EQ(out.targets[0].id, id);
  EXPECT_EQ(out.targets[0].state, TrackState::Reinitialised);
  EXPECT_EQ(out.targets[0].first_seen, 10);
  EXPECT_NEAR(out.targets[0].result.box.x, 20, 1e-9);
  EXPECT_EQ(count_events(out, SessionEventKind::Started), 0u);
  EXPECT_EQ(session.process(frame, 40).targets[0].state, TrackState::Tracking);
}

TEST_F(Fixture, RefusedRegionsWarnNamingTheTargetAndKeepTheOldTarget) {
  const uint64_t id = session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  session.process(frame);
  session.request(TargetRequest::from_box(id, {10, 10, 0, 20}, false));       // zero width
  session.request(TargetRequest::from_box(0, {1000, 1000, 20, 20}, false));   // outside the frame
  session.request(TargetRequest::from_mask(0, cv::Mat::zeros(241, 321, CV_8U)));  // empty mask
  FrameOutput out = session.process(frame);
  ASSERT_EQ(out.warnings.size(), 3u);
  EXPECT_NE(out.warnings[0].find("re-initialisation of target 1"), std::string::npos) << out.warnings[0];
  EXPECT_NE(out.warnings[0].find("zero"), std::string::npos) << out.warnings[0];
  EXPECT_NE(out.warnings[1].find("new target 2"), std::string::npos) << out.warnings[1];
  EXPECT_NE(out.warnings[1].find("outside"), std::string::npos) << out.warnings[1];
  EXPECT_NE(out.warnings[2].find("no target pixel"), std::string::npos) << out.warnings[2];
  ASSERT_EQ(out.targets.size(), 1u);
  EXPECT_EQ(out.targets[0].state, TrackState::Tracking);  // the old target kept tracking
}

TEST_F(Fixture, APartlyOutsideBoxIsClippedWithAWarning) {
  session.request(TargetRequest::from_box(0, {300, 200, 60, 80}, false));
  FrameOutput out = session.process(frame);
  ASSERT_EQ(out.targets.size(), 1u);
  ASSERT_FALSE(out.warnings.empty());
  EXPECT_NE(out.warnings[0].find("target 1"), std::string::npos);
  EXPECT_LE(out.targets[0].result.box.br().x, frame.cols + 1e-9);
  EXPECT_LE(out.targets[0].result.box.br().y, frame.rows + 1e-9);
}

TEST_F(Fixture, ABoxLocalMaskIsPlacedInItsRectangle) {
  // A 10×6 mask (cols × rows) covering a 50×30 rectangle at (60, 40): its left half is set.
  cv::Mat local = cv::Mat::zeros(6, 10, CV_8U);
  local(cv::Rect(0, 0, 5, 6)).setTo(255);
  session.request(TargetRequest::from_mask(0, local, {60, 40, 50, 30}));
  FrameOutput out = session.process(frame);
  ASSERT_EQ(out.targets.size(), 1u);
  const cv::Rect2d box = out.targets[0].result.box;
  EXPECT_NEAR(box.x, 60, 1e-9);
  EXPECT_NEAR(box.y, 40, 1e-9);
  EXPECT_NEAR(box.width, 25, 1e-9);
  EXPECT_NEAR(box.height, 30, 1e-9);
}

TEST_F(Fixture, MaxTargetsRefusesExtraTargets) {
  for (int i = 0; i < 4; ++i) session.request(TargetRequest::from_box(0, {10.0 + 60 * i, 10, 40, 40}, false));
  FrameOutput out = session.process(frame);
  EXPECT_EQ(out.targets.size(), 3u);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("max-targets"), std::string::npos);
  EXPECT_EQ(session.ids(), (std::vector<uint64_t>{1, 2, 3}));
}

TEST_F(Fixture, RemovalsPostEventsAndUnknownIdsWarn) {
  session.request(TargetRequest::from_box(0, {10, 10, 40, 40}, false));
  session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  session.request(TargetRequest::from_box(0, {200, 150, 40, 40}, false));
  session.process(frame);
  session.request(TargetRequest::remove(2));
  session.request(TargetRequest::remove(42));
  FrameOutput out = session.process(frame);
  EXPECT_EQ(session.ids(), (std::vector<uint64_t>{1, 3}));
  ASSERT_EQ(count_events(out, SessionEventKind::Removed), 1u);
  EXPECT_EQ(out.events[0].id, 2u);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("target 42"), std::string::npos);

  session.request(TargetRequest::remove_at({20, 20}));  // inside target 1's box only
  session.process(frame);
  EXPECT_EQ(session.ids(), (std::vector<uint64_t>{3}));
  session.request(TargetRequest::remove_all());
  out = session.process(frame);
  EXPECT_EQ(session.size(), 0u);
  EXPECT_EQ(count_events(out, SessionEventKind::Removed), 1u);
  EXPECT_TRUE(out.targets.empty());
}

TEST_F(Fixture, IdsAreNeverReusedEvenAfterAnExplicitId) {
  EXPECT_EQ(session.request(TargetRequest::from_box(7, {10, 10, 40, 40}, false)), 7u);
  EXPECT_EQ(session.reserve_id(), 8u);
  session.process(frame);
  session.request(TargetRequest::remove(7));
  session.process(frame);
  EXPECT_EQ(session.request(TargetRequest::from_box(0, {10, 10, 40, 40}, false)), 9u);
}

TEST_F(Fixture, TheMaskThresholdOptionAppliesToRunningTargets) {
  session.request(TargetRequest::from_box(0, {100, 80, 50, 60}, false));
  session.process(frame);
  const int area_default = cv::countNonZero(session.process(frame).targets[0].result.mask);
  SessionOptions o = options();
  o.mask_threshold = 0.9999;  // the disc's bicubic border falls below this
  session.set_options(o);
  const int area_strict = cv::countNonZero(session.process(frame).targets[0].result.mask);
  EXPECT_GT(area_default, 0);
  EXPECT_LT(area_strict, area_default);
}

TEST(TrackSession, NeedsAModel) {
  EXPECT_THROW(TrackSession(nullptr, preset("vot2020")), oceanplus::Error);
}
