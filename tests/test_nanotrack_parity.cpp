// NanoTrack v2 / v3 against the upstream implementation (shared/golden/nanotrack, README "Threads and recommended
// tolerances"): every network tensor within 1e-4 of its max |value|, crops exact, the post-processing fed with the
// stored outputs within float32 rounding, and full tracker steps with our own network within 0.05 px.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <memory>

#include "common/error.h"
#include "nn/nanotrack_net.h"
#include "support/gen_v1.h"
#include "support/golden.h"
#include "track/nanotrack_model.h"
#include "track/oceanplus_model.h"
#include "track/tracker.h"

namespace oceanplus::testing {
namespace {

using nn::NanoTrackNet;
using nn::NanoTrackVersion;

std::string weights_path(NanoTrackVersion v) {
  return shared_dir() + "/weights/nanotrack/nanotrack" + (v == NanoTrackVersion::V2 ? "v2" : "v3") + ".weights.pt";
}

// The golden files are flat dicts whose keys contain dots.
at::Tensor flat(const GoldenDict& d, const std::string& key) {
  if (!d.contains(key)) throw std::runtime_error("golden has no key '" + key + "'");
  return d.at(key).toTensor();
}

struct Fixtures {
  explicit Fixtures(const std::string& dir)
      : io_v2(load_golden(dir + "nanotrackv2_io.pt")),
        io_v3(load_golden(dir + "nanotrackv3_io.pt")),
        track(load_golden(dir + "nanotrackv2_track.pt")) {}
  GoldenDict io_v2, io_v3, track;
  std::shared_ptr<NanoTrackNet> v2, v3, v2_unfolded, v3_unfolded;
};

const Fixtures* fixtures() {
  static std::unique_ptr<Fixtures> f = [] {
    if (shared_dir().empty()) return std::unique_ptr<Fixtures>();
    auto out = std::make_unique<Fixtures>(shared_dir() + "/golden/nanotrack/");
    nn::LoadOptions unfolded;
    unfolded.fold_batchnorm = false;
    out->v2 = NanoTrackNet::load_file(weights_path(NanoTrackVersion::V2));
    out->v3 = NanoTrackNet::load_file(weights_path(NanoTrackVersion::V3));
    out->v2_unfolded = NanoTrackNet::load_file(weights_path(NanoTrackVersion::V2), unfolded);
    out->v3_unfolded = NanoTrackNet::load_file(weights_path(NanoTrackVersion::V3), unfolded);
    return out;
  }();
  return f.get();
}

#define REQUIRE_SHARED()                                                                              \
  const Fixtures* fx = fixtures();                                                                    \
  if (!fx) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED): NanoTrack parity tests skipped"

struct IoCase {
  NanoTrackVersion version;
  bool folded;
};

class NetworkParity : public ::testing::TestWithParam<IoCase> {};

TEST_P(NetworkParity, EveryTensorWithinTolerance) {
  REQUIRE_SHARED();
  at::NoGradGuard no_grad;
  const bool v3 = GetParam().version == NanoTrackVersion::V3;
  const GoldenDict& g = v3 ? fx->io_v3 : fx->io_v2;
  const auto& net = v3 ? (GetParam().folded ? fx->v3 : fx->v3_unfolded) : (GetParam().folded ? fx->v2 : fx->v2_unfolded);
  EXPECT_EQ(net->version(), GetParam().version);
  const at::Tensor z = flat(g, "template_crop_u8").to(at::kFloat);
  const at::Tensor x = flat(g, "search_crop_u8").to(at::kFloat);
  std::vector<at::Tensor> z_stages, x_stages;
  nn::NanoTrackTaps taps;
  const at::Tensor zf = net->backbone(z, nullptr, &z_stages);
  const at::Tensor xf = net->backbone(x, &taps, &x_stages);
  ASSERT_EQ(z_stages.size(), v3 ? 10u : 9u);
  for (size_t i = 0; i < z_stages.size(); ++i) {
    const std::string key = "backbone.features." + std::to_string(i);
    if (!g.contains("z." + key)) continue;  // the v3 file stores only features.9
    EXPECT_TRUE(tensor_close(z_stages[i], flat(g, "z." + key))) << "z." << key;
    EXPECT_TRUE(tensor_close(x_stages[i], flat(g, "x." + key))) << "x." << key;
  }
  EXPECT_TRUE(tensor_close(zf, flat(g, "zf"))) << "zf";
  EXPECT_TRUE(tensor_close(xf, flat(g, "xf"))) << "xf";
  EXPECT_EQ(taps.stride2.sizes(), (at::IntArrayRef{1, 16, 128, 128}));
  EXPECT_EQ(taps.stride4.sizes(), (at::IntArrayRef{1, 16, 64, 64}));
  EXPECT_EQ(taps.stride8.sizes(), (at::IntArrayRef{1, 24, 32, 32}));

  std::map<std::string, at::Tensor> trace;
  const nn::NanoTrackHeadOutput out = net->head(zf, xf, &trace);
  int compared = 0;
  for (const auto& [name, tensor] : trace) {
    ASSERT_TRUE(g.contains(name)) << "no golden for " << name;
    EXPECT_TRUE(tensor_close(tensor, flat(g, name))) << name;
    ++compared;
  }
  EXPECT_EQ(compared, v3 ? 10 : 6);
  EXPECT_TRUE(tensor_close(out.cls, flat(g, "cls"))) << "cls";
  EXPECT_TRUE(tensor_close(out.loc, flat(g, "loc"))) << "loc";
  EXPECT_EQ(net->score_size(255), v3 ? 15 : 16);
}

INSTANTIATE_TEST_SUITE_P(NanoTrack, NetworkParity,
                         ::testing::Values(IoCase{NanoTrackVersion::V2, true}, IoCase{NanoTrackVersion::V2, false},
                                           IoCase{NanoTrackVersion::V3, true}, IoCase{NanoTrackVersion::V3, false}),
                         [](const auto& info) {
                           return std::string(info.param.version == NanoTrackVersion::V2 ? "v2" : "v3") +
                                  (info.param.folded ? "_folded" : "_reference");
                         });

TEST(NanoTrackWeights, MissingKeyAndWrongShapeNameTheKey) {
  io::StateDict state = NanoTrackNet::synthetic_weights(NanoTrackVersion::V2, 3);
  EXPECT_NO_THROW(NanoTrackNet::load(state));
  io::StateDict missing = state;
  missing.source = "broken.pt";
  missing.tensors.erase("ban_head.cls_pw_tower.5.weight");
  try {
    NanoTrackNet::load(missing);
    FAIL() << "a missing key must be an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("ban_head.cls_pw_tower.5.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("broken.pt"), std::string::npos) << e.what();
  }
  io::StateDict reshaped = state;
  reshaped.tensors["backbone.features.4.conv.3.weight"] = at::zeros({96, 1, 3, 3});
  try {
    NanoTrackNet::load(reshaped);
    FAIL() << "a wrong shape must be an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("backbone.features.4.conv.3.weight"), std::string::npos) << e.what();
  }
  const io::StateDict v3 = NanoTrackNet::synthetic_weights(NanoTrackVersion::V3, 3);
  EXPECT_EQ(NanoTrackNet::load(v3)->version(), NanoTrackVersion::V3);
}

// --- tracker steps (nanotrackv2_track.pt) ----------------------------------------------------------------------

cv::Mat read_frame(const std::string& seq, int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%05d.jpg", index);
  const std::string file = shared_dir() + "/data/davis2016/JPEGImages/480p/" + seq + "/" + name;
  cv::Mat frame = cv::imread(file, cv::IMREAD_COLOR);
  if (frame.empty()) throw std::runtime_error("cannot read " + file);
  return frame;
}

cv::Mat u8_chw_to_bgr(const at::Tensor& t) {
  const at::Tensor hwc = t[0].permute({1, 2, 0}).contiguous();
  return cv::Mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr()).clone();
}

double scalar(const GoldenDict& g, const std::string& key) { return flat(g, key).to(at::kDouble).item<double>(); }

struct Run {
  const char* seq;
  int steps;
};

class TrackerSteps : public ::testing::TestWithParam<Run> {};

TEST_P(TrackerSteps, CropsPostprocessingAndStatesMatch) {
  REQUIRE_SHARED();
  const GoldenDict& g = fx->track;
  const std::string seq = GetParam().seq;
  auto model = std::make_shared<track::NanoTrackModel>(fx->v2, nullptr);
  track::Tracker tracker(model, track::preset("nanotrack"));
  const at::Tensor box = flat(g, seq + ".init.gt_tight_box_xywh").to(at::kDouble);
  const cv::Mat frame0 = read_frame(seq, 0);
  const track::InitReport init = tracker.init_with_box_no_cycles(
      frame0, cv::Rect2d(box[0].item<double>(), box[1].item<double>(), box[2].item<double>(), box[3].item<double>()));
  const at::Tensor centre = flat(g, seq + ".init.center").to(at::kDouble);
  EXPECT_DOUBLE_EQ(init.centre.x, centre[0].item<double>());
  EXPECT_DOUBLE_EQ(init.centre.y, centre[1].item<double>());
  EXPECT_DOUBLE_EQ(init.s_z, scalar(g, seq + ".init.s_z_round"));
  const cv::Mat z_golden = u8_chw_to_bgr(flat(g, seq + ".init.z_crop_u8"));
  EXPECT_EQ(cv::norm(init.z_crop, z_golden, cv::NORM_INF), 0) << "template crop";
  EXPECT_TRUE(tensor_close(track::NanoTrackModel::target_of(tracker.features()).zf, flat(g, seq + ".init.zf")));

  const cv::Mat window = track::hanning_window(16);
  for (int step = 1; step <= GetParam().steps; ++step) {
    char prefix_buf[64];
    std::snprintf(prefix_buf, sizeof(prefix_buf), "%s.step%02d.", seq.c_str(), step);
    const std::string p = prefix_buf;
    SCOPED_TRACE(p);
    const at::Tensor before_c = flat(g, p + "center_before").to(at::kDouble);
    const at::Tensor before_s = flat(g, p + "size_before").to(at::kDouble);
    tracker.set_state({before_c[0].item<double>(), before_c[1].item<double>()},
                      {before_s[0].item<double>(), before_s[1].item<double>()});
    track::StepTrace t;
    tracker.track(read_frame(seq, step), &t);

    // Crop geometry and pixels, exact.
    EXPECT_NEAR(t.s_z, scalar(g, p + "s_z"), 1e-9 * t.s_z);
    EXPECT_NEAR(t.scale_z, scalar(g, p + "scale_z"), 1e-12);
    EXPECT_NEAR(t.s_x, scalar(g, p + "s_x"), 1e-9 * t.s_x);
    EXPECT_EQ(t.s_x_rounded, scalar(g, p + "s_x_round"));
    const at::Tensor corner = flat(g, p + "context_xmin_ymin").to(at::kLong);
    EXPECT_EQ(t.crop.crop_cords[0] - t.crop.pad_info[1], corner[0].item<int64_t>());
    EXPECT_EQ(t.crop.crop_cords[2] - t.crop.pad_info[0], corner[1].item<int64_t>());
    const at::Tensor pads = flat(g, p + "pad_top_bottom_left_right").to(at::kLong);
    EXPECT_EQ(t.crop.pad_info[0], pads[0].item<int64_t>());
    EXPECT_EQ(t.crop.padded_hw[0] - t.crop.pad_info[2] - t.crop.pad_info[0], pads[1].item<int64_t>());
    EXPECT_EQ(t.crop.pad_info[1], pads[2].item<int64_t>());
    EXPECT_EQ(t.crop.padded_hw[1] - t.crop.pad_info[3] - t.crop.pad_info[1], pads[3].item<int64_t>());
    EXPECT_EQ(cv::norm(t.x_crop, u8_chw_to_bgr(flat(g, p + "x_crop_u8")), cv::NORM_INF), 0) << "search crop";

    // Post-processing fed with the stored network outputs: float32 rounding.
    track::SearchResult stored;
    const at::Tensor cls = flat(g, p + "cls"), loc = flat(g, p + "loc");
    stored.score = track::tensor_to_mat(at::softmax(cls, 1)[0][1]);
    for (int i = 0; i < 4; ++i) stored.ltrb[i] = track::tensor_to_mat(loc[0][i]);
    const at::Tensor score = flat(g, p + "score");
    EXPECT_TRUE(tensor_close(at::softmax(cls, 1)[0][1].flatten(), score, 1e-6)) << "score";
    track::PeakInputs in;
    in.search = &stored;
    in.window = &window;
    in.stride = 16;
    in.instance_size = 255;
    in.target_w_crop = before_s[0].item<double>() * t.scale_z;
    in.target_h_crop = before_s[1].item<double>() * t.scale_z;
    in.penalty_k = 0.15;
    in.window_influence = 0.49;
    in.lr = 0.385;
    const track::PeakChoice peak = track::choose_peak(in);
    const at::Tensor penalty = at::from_blob(peak.penalty.data, {256}, at::kDouble).clone();
    const at::Tensor pscore = at::from_blob(peak.pscore.data, {256}, at::kDouble).clone();
    EXPECT_LE((penalty - flat(g, p + "penalty").to(at::kDouble)).abs().max().item<double>(), 1e-6);
    EXPECT_LE((pscore - flat(g, p + "pscore").to(at::kDouble)).abs().max().item<double>(), 1e-6);
    const int64_t best = flat(g, p + "best_idx").item<int64_t>();
    EXPECT_EQ(peak.row * 16 + peak.col, best);
    EXPECT_NEAR(peak.lr, scalar(g, p + "lr"), 1e-6);

    // The full step with our own network.
    EXPECT_TRUE(tensor_close(at::from_blob(t.search.score.data, {256}, at::kFloat), score, 1e-4)) << "own score";
    EXPECT_EQ(t.peak.row * 16 + t.peak.col, best);
    const at::Tensor after_c = flat(g, p + "center_after").to(at::kDouble);
    const at::Tensor after_s = flat(g, p + "size_after").to(at::kDouble);
    EXPECT_NEAR(tracker.centre().x, after_c[0].item<double>(), 0.05);
    EXPECT_NEAR(tracker.centre().y, after_c[1].item<double>(), 0.05);
    EXPECT_NEAR(tracker.size().width, after_s[0].item<double>(), 0.05);
    EXPECT_NEAR(tracker.size().height, after_s[1].item<double>(), 0.05);
    const at::Tensor bbox = flat(g, p + "bbox_xywh").to(at::kDouble);
    const cv::Rect2d out = tracker.last().box;
    EXPECT_NEAR(out.x, bbox[0].item<double>(), 0.05);
    EXPECT_NEAR(out.y, bbox[1].item<double>(), 0.05);
    EXPECT_NEAR(out.width, bbox[2].item<double>(), 0.05);
    EXPECT_NEAR(out.height, bbox[3].item<double>(), 0.05);
    EXPECT_NEAR(tracker.last().score, scalar(g, p + "best_score"), 1e-4);
    EXPECT_TRUE(tracker.last().mask_is_box) << "a box-only model reports the filled box as its mask";
  }
}

INSTANTIATE_TEST_SUITE_P(NanoTrackV2, TrackerSteps,
                         ::testing::Values(Run{"car-shadow", 16}, Run{"drift-chicane", 4}),
                         [](const auto& info) {
                           std::string name = info.param.seq;
                           for (char& c : name) if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace oceanplus::testing
