// The anchor runner with fake trackers on synthetic sequences, the realtime option, and the on-disk loader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "common/error.h"
#include "vot/multistart.h"
#include "vot/sequence.h"

namespace oceanplus::vot {
namespace {

constexpr int kW = 32, kH = 24;

// A 12-frame sequence: the object is a 6x5 rectangle moving right by one pixel per frame; each frame carries its index
// in pixel (0, 0) so fake trackers can tell which frame they see.
SequenceInput synthetic(std::vector<double> anchor) {
  SequenceInput s;
  s.name = "synthetic";
  s.length = 12;
  for (int i = 0; i < s.length; ++i) s.groundtruth.push_back(Region::from_full_mask(
      to_full_mask(Region::rectangle(2 + i, 8, 6, 5), cv::Size(kW, kH))));
  s.anchor = std::move(anchor);
  s.frame = [](int i) {
    cv::Mat f(kH, kW, CV_8UC3, cv::Scalar(40, 40, 40));
    f.at<cv::Vec3b>(0, 0) = cv::Vec3b(uchar(i), 0, 0);
    return f;
  };
  return s;
}

int frame_index(const cv::Mat& f) { return f.at<cv::Vec3b>(0, 0)[0]; }

// Knows the ground truth; optionally loses the object (empty output) from a given run step on.
class OracleTracker : public VotTracker {
 public:
  explicit OracleTracker(const SequenceInput& s) : seq_(s) {}
  void initialize(const cv::Mat& frame, const cv::Mat& mask01) override {
    init_frames.push_back(frame_index(frame));
    init_masks.push_back(mask01.clone());
    step_ = 0;
  }
  cv::Mat track(const cv::Mat& frame) override {
    ++step_;
    seen.push_back(frame_index(frame));
    if (lose_from > 0 && step_ >= lose_from) return cv::Mat::zeros(frame.size(), CV_8U);
    return to_full_mask(seq_.groundtruth[frame_index(frame)], frame.size()) * 255;  // any non-zero is the object
  }
  std::vector<int> init_frames, seen;
  std::vector<cv::Mat> init_masks;
  int lose_from = 0;

 private:
  const SequenceInput& seq_;
  int step_ = 0;
};

TEST(VotRunner, ForwardAndBackwardAnchors) {
  std::vector<double> anchor(12, 0.0);
  anchor[0] = 1;
  anchor[5] = 1;
  anchor[7] = -1;
  const SequenceInput seq = synthetic(anchor);
  OracleTracker tracker(seq);
  int callbacks = 0;
  RunnerOptions opt;
  opt.on_run = [&](const AnchorRun&) { ++callbacks; };
  const auto runs = run_multistart(seq, tracker, opt);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(callbacks, 3);
  EXPECT_EQ(tracker.init_frames, (std::vector<int>{0, 5, 7}));
  for (std::size_t i = 0; i < 3; ++i) {
    const int a = tracker.init_frames[i];
    EXPECT_EQ(cv::countNonZero(tracker.init_masks[i] != to_full_mask(seq.groundtruth[a], cv::Size(kW, kH))), 0);
    EXPECT_EQ(cv::countNonZero(tracker.init_masks[i]), 30);
    EXPECT_EQ(cv::countNonZero(tracker.init_masks[i] > 1), 0);  // 0/1
  }
  EXPECT_FALSE(runs[0].reverse);
  EXPECT_EQ(runs[0].frames.size(), 12u);
  EXPECT_EQ(runs[1].frames, (std::vector<int>{5, 6, 7, 8, 9, 10, 11}));
  EXPECT_TRUE(runs[2].reverse);
  EXPECT_EQ(runs[2].frames, (std::vector<int>{7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(runs[2].name("synthetic"), "synthetic_00000007");
  // The tracker saw exactly the run frames after each anchor.
  std::vector<int> expect_seen;
  for (const auto& r : runs) expect_seen.insert(expect_seen.end(), r.frames.begin() + 1, r.frames.end());
  EXPECT_EQ(tracker.seen, expect_seen);
  for (const auto& r : runs) {
    ASSERT_EQ(r.trajectory.size(), r.frames.size());
    EXPECT_TRUE(r.trajectory[0].is_special());
    EXPECT_EQ(r.trajectory[0].code, kSpecialInitialization);
    EXPECT_EQ(r.overlaps.overlaps[0], 0.0);
    for (std::size_t t = 1; t < r.frames.size(); ++t) EXPECT_DOUBLE_EQ(r.overlaps.overlaps[t], 1.0);
  }
  const Results res = analyze({to_sequence_runs(seq.name, seq.length, runs)});
  EXPECT_NEAR(res.robustness, 1.0, 1e-12);
  EXPECT_NEAR(res.accuracy, (11.0 + 6.0 + 7.0) / (12.0 + 7.0 + 8.0), 1e-12);
}

TEST(VotRunner, OnlyForwardOrBackward) {
  std::vector<double> anchor(12, 0.0);
  anchor[0] = 1;
  anchor[11] = -1;
  const SequenceInput seq = synthetic(anchor);
  OracleTracker tracker(seq);
  RunnerOptions opt;
  opt.run_forward = false;
  const auto runs = run_multistart(seq, tracker, opt);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].frames.front(), 11);
  EXPECT_EQ(runs[0].frames.back(), 0);
}

TEST(VotRunner, LostTrackerFails) {
  std::vector<double> anchor(12, 0.0);
  anchor[0] = 1;
  const SequenceInput seq = synthetic(anchor);
  OracleTracker tracker(seq);
  tracker.lose_from = 2;  // steps 2..11 (10 frames) empty
  const auto runs = run_multistart(seq, tracker);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].overlaps.overlaps[1], 1.0);
  EXPECT_EQ(runs[0].overlaps.overlaps[2], 0.0);
  const Results res = analyze({to_sequence_runs(seq.name, seq.length, runs)});
  EXPECT_EQ(res.sequences[0].failures, std::vector<int>{2});
  EXPECT_NEAR(res.robustness, 2.0 / 12.0, 1e-12);
  EXPECT_NEAR(res.accuracy, 0.5, 1e-12);
  // The stored trajectory formats as the toolkit's "m" lines (empty mask on lost frames).
  EXPECT_EQ(format_region(runs[0].trajectory[0]), "1");
  EXPECT_EQ(format_region(runs[0].trajectory[1]), "m3,8,6,5,0,30");
  EXPECT_EQ(format_region(runs[0].trajectory[5]), "m0,0,0,0,0");
}

TEST(VotRunner, Errors) {
  const SequenceInput none = synthetic(std::vector<double>(12, 0.0));
  OracleTracker dummy(none);
  {
    const SequenceInput& seq = none;
    try {
      run_multistart(seq, dummy);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("anchors"), std::string::npos);
    }
  }
  EXPECT_THROW(run_multistart(synthetic(std::vector<double>(11, 1.0)), dummy), Error);
  // A tracker returning a wrongly sized mask.
  class BadTracker : public VotTracker {
   public:
    void initialize(const cv::Mat&, const cv::Mat&) override {}
    cv::Mat track(const cv::Mat&) override { return cv::Mat::zeros(3, 3, CV_8U); }
  } bad;
  std::vector<double> anchor(12, 0.0);
  anchor[0] = 1;
  EXPECT_THROW(run_multistart(synthetic(anchor), bad), Error);
}

// Every call takes a fixed time on a fake clock: with fps 20 (50 ms) and 120 ms per call, after the 3 grace calls
// (init included) each processed frame leaves 70 ms of debt, so the next frame is held, the one after is processed.
TEST(VotRunner, RealtimeZeroOrderHold) {
  std::vector<double> anchor(12, 0.0);
  anchor[0] = 1;
  const SequenceInput seq = synthetic(anchor);
  double now = 0;
  class SlowTracker : public OracleTracker {
   public:
    SlowTracker(const SequenceInput& s, double& clock) : OracleTracker(s), clock_(clock) {}
    void initialize(const cv::Mat& f, const cv::Mat& m) override {
      clock_ += 0.12;
      OracleTracker::initialize(f, m);
    }
    cv::Mat track(const cv::Mat& f) override {
      clock_ += 0.12;
      return OracleTracker::track(f);
    }
    double& clock_;
  } tracker(seq, now);
  RunnerOptions opt;
  opt.realtime = true;
  opt.fps = 20;
  opt.realtime_grace = 3;
  opt.clock = [&] { return now; };
  const auto runs = run_multistart(seq, tracker, opt);
  ASSERT_EQ(runs.size(), 1u);
  const std::vector<bool> expect_held{false, false, false, false, true, false, true, false, true, false, true, false};
  EXPECT_EQ(runs[0].held, expect_held);
  EXPECT_EQ(tracker.seen, (std::vector<int>{1, 2, 3, 5, 7, 9, 11}));
  // Held frames repeat the last output: frame 4 shows the object of frame 3 (one pixel behind): IoU 25/35.
  EXPECT_NEAR(runs[0].overlaps.overlaps[4], 25.0 / 35.0, 1e-12);
  EXPECT_DOUBLE_EQ(runs[0].overlaps.overlaps[5], 1.0);
  EXPECT_NEAR(runs[0].times[1], 0.12, 1e-12);
  // Fast enough: nothing held.
  now = 0;
  opt.fps = 5;
  const auto fast = run_multistart(seq, tracker, opt);
  EXPECT_EQ(fast[0].held, std::vector<bool>(12, false));
}

// ---- Loader -------------------------------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("oceanplus_vot_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

TEST(VotLoader, Vot2020Layout) {
  TempDir tmp;
  write_file(tmp.path / "list.txt", "seqa\n\nseqb\n");
  const auto seq_dir = tmp.path / "seqa";
  std::filesystem::create_directories(seq_dir / "color");
  const cv::Size size(20, 16);
  std::string gt, anchor, tag;
  for (int i = 0; i < 6; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%08d.jpg", i + 1);
    ASSERT_TRUE(cv::imwrite((seq_dir / "color" / name).string(), cv::Mat(size, CV_8UC3, cv::Scalar(i * 20, 0, 0))));
    gt += format_region(Region::from_full_mask(to_full_mask(Region::rectangle(4, 4, 8, 6), size))) + "\n";
    anchor += (i == 0 ? "1\n" : (i == 5 ? "-1\n" : "0\n"));
    tag += (i == 2 ? "1\n" : "0\n");
  }
  write_file(seq_dir / "groundtruth.txt", gt);
  write_file(seq_dir / "anchor.value", anchor);
  write_file(seq_dir / "occlusion.tag", tag);
  write_file(seq_dir / "sequence", "channels.color=color/%08d.jpg\nfps=30\nformat=default\n");

  EXPECT_EQ(read_sequence_list(tmp.path.string()), (std::vector<std::string>{"seqa", "seqb"}));
  const Sequence s = load_sequence(seq_dir.string());
  EXPECT_EQ(s.name, "seqa");
  EXPECT_EQ(s.length(), 6);
  EXPECT_EQ(s.fps, 30.0);
  EXPECT_EQ(s.anchor(), (std::vector<double>{1, 0, 0, 0, 0, -1}));
  EXPECT_EQ(s.tags.at("occlusion"), (std::vector<bool>{false, false, true, false, false, false}));

  // A static object and a tracker that repeats the init mask: overlap 1 after the init frame.
  class StaticTracker : public VotTracker {
   public:
    void initialize(const cv::Mat&, const cv::Mat& m) override { mask_ = m.clone(); }
    cv::Mat track(const cv::Mat&) override { return mask_; }
    cv::Mat mask_;
  } tracker;
  const auto runs = run_multistart(to_input(s), tracker);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].frames, (std::vector<int>{5, 4, 3, 2, 1, 0}));
  for (const auto& r : runs)
    for (std::size_t t = 1; t < r.frames.size(); ++t) EXPECT_DOUBLE_EQ(r.overlaps.overlaps[t], 1.0);

  // Trajectory files round-trip.
  const auto traj = (tmp.path / (runs[0].name(s.name) + ".txt")).string();
  write_regions(traj, runs[0].trajectory);
  const auto back = read_regions(traj);
  ASSERT_EQ(back.size(), runs[0].trajectory.size());
  for (std::size_t i = 0; i < back.size(); ++i) EXPECT_EQ(format_region(back[i]), format_region(runs[0].trajectory[i]));

  // Errors name the file and the line.
  write_file(seq_dir / "groundtruth.txt", "1,2,3,4\n1,2\n");
  try {
    load_sequence(seq_dir.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("groundtruth.txt:2:"), std::string::npos) << e.what();
  }
  write_file(seq_dir / "groundtruth.txt", gt + gt);
  EXPECT_THROW(load_sequence(seq_dir.string()), Error);  // 12 regions for 6 frames
  EXPECT_THROW(load_sequence((tmp.path / "seqb").string()), Error);
}

TEST(VotLoader, PlainJpgsAndBadPattern) {
  TempDir tmp;
  const auto d = tmp.path / "plain";
  std::filesystem::create_directories(d);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(cv::imwrite((d / ("f" + std::to_string(i) + ".jpg")).string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(0))));
  }
  write_file(d / "groundtruth.txt", "1,1,3,3\n1,1,3,3\n1,1,3,3\n");
  const Sequence s = load_sequence(d.string());
  EXPECT_EQ(s.length(), 3);
  EXPECT_EQ(s.fps, 20.0);
  EXPECT_THROW(s.anchor(), Error);
  write_file(d / "sequence", "channels.color=%s%s%n\n");
  EXPECT_THROW(load_sequence(d.string()), Error);
}

}  // namespace
}  // namespace oceanplus::vot
