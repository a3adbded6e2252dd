// OceanPlus-Lite: the mask head (shapes, alignment of its upsampling, save/load round trip, the target model), the
// model factory (families told by their keys, presets, errors), the shipped model, and oceanplus-train (a few steps,
// a checkpoint that loads, resume).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "io/weights.h"
#include "nn/lite_mask_head.h"
#include "nn/nanotrack_net.h"
#include "support/gen_v1.h"
#include "support/tool_run.h"
#include "track/model_factory.h"
#include "track/nanotrack_model.h"
#include "track/tracker.h"

namespace oceanplus::testing {
namespace {

namespace fs = std::filesystem;

std::string source_dir() {
  const char* d = std::getenv("OCEANPLUS_SOURCE_DIR");
  return d ? d : ".";
}

io::StateDict random_lite_state(uint64_t seed) {
  io::StateDict state = nn::NanoTrackNet::synthetic_weights(nn::NanoTrackVersion::V2, seed);
  nn::LiteMaskHead head(48, 64);
  head.initialise(seed);
  head.add_to(state);
  state.source = "random-lite";
  return state;
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("oceanplus-lite-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(LiteMaskHead, ShapesAndDeepSupervision) {
  at::NoGradGuard no_grad;
  const io::StateDict state = random_lite_state(5);
  auto net = nn::NanoTrackNet::load(state);
  nn::LiteMaskHead head(48, 64);
  io::WeightReader reader(state);
  ASSERT_TRUE(head.load(reader));
  const at::Tensor z = at::rand({1, 3, 127, 127}) * 255;
  // Search crops: noise with a flat green object where the mask will be.
  at::Tensor x = at::rand({2, 3, 255, 255}) * 255;
  x.slice(2, 100, 160).slice(3, 90, 170).select(1, 0).fill_(20);
  x.slice(2, 100, 160).slice(3, 90, 170).select(1, 1).fill_(200);
  x.slice(2, 100, 160).slice(3, 90, 170).select(1, 2).fill_(30);
  const at::Tensor zf = net->backbone(z);
  nn::LiteMaskInputs in;
  const at::Tensor xf = net->backbone(x, &in.taps);
  in.cls_corr = net->cls_correlation(zf.expand({2, -1, -1, -1}).contiguous(), xf);
  at::Tensor mask = at::zeros({1, 1, 127, 127});
  mask.slice(2, 40, 90).slice(3, 30, 100).fill_(1);
  nn::LiteMaskTemplate t = head.make_template(zf, mask);
  EXPECT_EQ(t.arn_keys.sizes(), (at::IntArrayRef{1, 64, 32}));
  EXPECT_EQ(t.arn_values.sizes(), (at::IntArrayRef{1, 64, 1}));
  // The look-up values are the mask's coverage of each template cell.
  EXPECT_NEAR(t.arn_values.sum().item<double>(), mask.mean().item<double>() * 64, 0.5);
  nn::NanoTrackTaps first;
  net->backbone(x.slice(0, 0, 1), &first);
  at::Tensor search_mask = at::zeros({1, 1, 255, 255});
  search_mask.slice(2, 100, 160).slice(3, 90, 170).fill_(1);
  head.fit_target_model(t, first, search_mask);
  ASSERT_TRUE(t.tm_filter.defined());
  // Stride 8, 16, 4, 2 taps; the bias apart.
  EXPECT_EQ(t.tm_filter.sizes(), (at::IntArrayRef{1, 24 + 48 + 16 + 16, 1, 1}));
  EXPECT_EQ(t.tm_bias.numel(), 1);
  const nn::LiteMaskOutput out = head.forward(t, in, true);
  EXPECT_EQ(out.logits.sizes(), (at::IntArrayRef{2, 1, 255, 255}));
  EXPECT_EQ(out.arn.sizes(), (at::IntArrayRef{2, 1, 16, 16}));
  EXPECT_EQ(out.target_model.sizes(), (at::IntArrayRef{2, 1, 32, 32}));
  ASSERT_EQ(out.deep_logits.size(), 3u);
  EXPECT_EQ(out.deep_logits[0].size(2), 16);
  EXPECT_EQ(out.deep_logits[1].size(2), 32);
  EXPECT_EQ(out.deep_logits[2].size(2), 64);
  EXPECT_TRUE(at::isfinite(out.logits).all().item<bool>());
}

// The target model on real NanoTrack v2 features (random backbone weights carry too little spatial signal for a linear
// classifier): fitted on a search crop and its mask, then applied to the same crop.
class TargetModelOnItsFrame : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string shared = shared_dir();
    if (shared.empty()) GTEST_SKIP() << "../shared not found: needs the NanoTrack v2 weights";
    net_ = nn::NanoTrackNet::load_file(shared + "/weights/nanotrack/nanotrackv2.weights.pt");
    head_.initialise(1);
  }
  // A 1×3×255² noise crop (seeded) and an empty 1×1×255² mask; tests paint objects into both.
  static at::Tensor noise(uint64_t seed) { return at::rand({1, 3, 255, 255}, at::detail::createCPUGenerator(seed)) * 255; }
  static void paint(at::Tensor& x, at::Tensor& mask, int64_t y0, int64_t y1, int64_t x0, int64_t x1,
                    std::array<double, 3> bgr) {
    for (int c = 0; c < 3; ++c) x.slice(2, y0, y1).slice(3, x0, x1).select(1, c).fill_(bgr[c]);
    mask.slice(2, y0, y1).slice(3, x0, x1).fill_(1);
  }
  // The 1×1×32×32 prior of a target model fitted on (x, mask, fit_weight) and applied to x.
  at::Tensor prior(const at::Tensor& x, const at::Tensor& mask, const at::Tensor& fit_weight = {}) {
    at::NoGradGuard no_grad;
    nn::LiteMaskInputs in;
    net_->backbone(x, &in.taps);
    in.cls_corr = at::zeros({1, 64, 16, 16});
    nn::LiteMaskTemplate t = head_.make_template(at::zeros({1, 48, 8, 8}), mask.slice(2, 64, 191).slice(3, 64, 191));
    head_.fit_target_model(t, in.taps, mask, 0.1, fit_weight);
    return head_.forward(t, in).target_model;
  }
  static double mean_where(const at::Tensor& map, const at::Tensor& where) {
    return map.masked_select(where).mean().item<double>();
  }

  std::shared_ptr<nn::NanoTrackNet> net_;
  nn::LiteMaskHead head_{48, 64};
};

// It separates the object from the background on the frame it was fitted on.
TEST_F(TargetModelOnItsFrame, SeparatesTheObject) {
  at::Tensor x = noise(4), mask = at::zeros({1, 1, 255, 255});
  paint(x, mask, 100, 160, 90, 170, {20, 200, 30});
  const at::Tensor tm = prior(x, mask), cover = nn::area_resize(mask, 32);
  const double inside = mean_where(tm, cover > 0.99), outside = mean_where(tm, cover < 0.01);
  EXPECT_GT(inside, outside + 0.5) << "inside " << inside << ", outside " << outside;
}

// The fit weighs both classes equally: a small object (1.5% of the crop) still comes out positive and the background
// negative, so the prior's sign separates them (unweighted, the background pulls everything negative).
TEST_F(TargetModelOnItsFrame, IsBalancedForSmallObjects) {
  at::Tensor x = noise(5), mask = at::zeros({1, 1, 255, 255});
  paint(x, mask, 112, 144, 112, 144, {40, 40, 200});
  const at::Tensor tm = prior(x, mask), cover = nn::area_resize(mask, 32);
  EXPECT_GT(mean_where(tm, cover > 0.99), 0.2);
  EXPECT_LT(mean_where(tm, cover < 0.01), -0.2);
}

// Pixels with zero fit weight do not teach it (training hides parts of objects this way, as a video shows parts its
// first frame did not): labels there change nothing, while the same change of labels without the weight does.
TEST_F(TargetModelOnItsFrame, ZeroFitWeightPixelsTeachNothing) {
  at::Tensor x = noise(6), mask = at::zeros({1, 1, 255, 255});
  paint(x, mask, 96, 160, 96, 128, {220, 30, 30});
  paint(x, mask, 96, 160, 128, 160, {30, 30, 220});
  at::Tensor relabelled = mask.clone();
  relabelled.slice(2, 96, 160).slice(3, 140, 160).fill_(0);
  // Hidden: the relabelled columns with a margin of more than one 8-pixel cell all round.
  at::Tensor hide = at::ones({1, 1, 255, 255});
  hide.slice(2, 80, 176).slice(3, 124, 176).fill_(0);
  const double with_weight = (prior(x, mask, hide) - prior(x, relabelled, hide)).abs().max().item<double>();
  const double without = (prior(x, mask) - prior(x, relabelled)).abs().max().item<double>();
  EXPECT_LT(with_weight, 1e-4);
  EXPECT_GT(without, 0.05);
}

TEST(LiteMaskHead, SaveLoadRoundTripGivesTheSameMasks) {
  at::NoGradGuard no_grad;
  const io::StateDict state = random_lite_state(9);
  const fs::path dir = temp_dir("roundtrip");
  io::save_state_dict(state, (dir / "lite.pt").string());
  auto a = track::NanoTrackModel::from_state(state);
  auto b = track::NanoTrackModel::load((dir / "lite.pt").string());
  ASSERT_NE(b->mask_head(), nullptr);
  EXPECT_EQ(b->name(), "OceanPlus-Lite-v2");
  cv::Mat z(127, 127, CV_8UC3), x(255, 255, CV_8UC3), zm = cv::Mat::zeros(127, 127, CV_8U), xm = cv::Mat::zeros(255, 255, CV_8U);
  cv::randu(z, 0, 255);
  cv::randu(x, 0, 255);
  zm(cv::Rect(30, 30, 60, 60)).setTo(1);
  xm(cv::Rect(90, 90, 70, 70)).setTo(1);
  auto ta = a->make_target(z, zm), tb = b->make_target(z, zm);
  a->fit_first_frame(*ta, x, xm);
  b->fit_first_frame(*tb, x, xm);
  const track::SearchResult ra = a->track(*ta, x), rb = b->track(*tb, x);
  ASSERT_EQ(ra.mask_prob.size(), cv::Size(255, 255));
  EXPECT_EQ(cv::norm(ra.mask_prob, rb.mask_prob, cv::NORM_INF), 0);
  EXPECT_EQ(cv::norm(ra.score, rb.score, cv::NORM_INF), 0);
  fs::remove_all(dir);
}

// The message a state dict fails to load with ("" when it loads).
std::string load_error(const io::StateDict& state) {
  try {
    track::NanoTrackModel::from_state(state);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(LiteMaskHead, WrongShapeNamesTheKey) {
  io::StateDict state = random_lite_state(2);
  state.source = "bad-lite.pt";
  state.tensors["mask_head.s8.a.weight"] = at::zeros({24, 57, 3, 3});
  const std::string error = load_error(state);
  ASSERT_FALSE(error.empty()) << "a wrong shape must be an error";
  EXPECT_NE(error.find("mask_head.s8.a.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("bad-lite.pt"), std::string::npos) << error;
}

// The target model's features are not weights: a head trained against another version must not load silently.
TEST(LiteMaskHead, OlderFormatIsAnErrorNamingTheKey) {
  io::StateDict state = random_lite_state(3);
  state.source = "old-lite.pt";
  state.tensors.erase("mask_head.format");
  for (int pass = 0; pass < 2; ++pass) {
    const std::string error = load_error(state);
    ASSERT_FALSE(error.empty()) << "a mask head of another format must be an error";
    EXPECT_NE(error.find("mask_head.format"), std::string::npos) << error;
    EXPECT_NE(error.find("old-lite.pt"), std::string::npos) << error;
    EXPECT_NE(error.find("retrain"), std::string::npos) << error;
    state.tensors["mask_head.format"] = at::full({1}, 1.0);  // an explicit older format
  }
}

TEST(ModelFactory, PreferredThreads) {
  const auto lite = track::load_tracking_model("random-lite");
  EXPECT_EQ(track::cpu_threads_for(lite, 0), 1);
  EXPECT_EQ(track::cpu_threads_for(lite, 3), 3);
  const auto mss = track::load_tracking_model("random-mss");
  EXPECT_EQ(track::cpu_threads_for(mss, 0), std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  EXPECT_EQ(track::cpu_threads_for(mss, 2), 2);
}

TEST(ModelFactory, FamiliesPresetsAndErrors) {
  const auto lite = track::load_tracking_model("random-lite");
  EXPECT_TRUE(lite.random_weights);
  EXPECT_EQ(lite.family, track::ModelFamily::NanoTrack);
  EXPECT_EQ(lite.default_preset, "oceanplus-lite");
  EXPECT_TRUE(lite.model->geometry().has_mask);
  EXPECT_EQ(track::davis_preset(lite, 2), "oceanplus-lite");
  const auto mss = track::load_tracking_model("random-mss");
  EXPECT_EQ(mss.family, track::ModelFamily::OceanPlus);
  EXPECT_EQ(track::davis_preset(mss, 1), "davis2016");
  EXPECT_EQ(track::davis_preset(mss, 3), "davis2017");
  try {
    track::load_tracking_model("/nonexistent/model.pt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.pt"), std::string::npos);
  }
  // A box-only NanoTrack file: its own preset, no mask head.
  const std::string shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found: the NanoTrack weights file case is skipped";
  const auto box_only = track::load_tracking_model(shared + "/weights/nanotrack/nanotrackv2.weights.pt");
  EXPECT_EQ(box_only.default_preset, "nanotrack");
  EXPECT_FALSE(box_only.model->geometry().has_mask);
  EXPECT_EQ(box_only.model->name(), "NanoTrack-v2");
}

TEST(ModelFactory, PresetsParse) {
  for (const char* name : {"nanotrack", "oceanplus-lite"}) {
    const track::TrackerParams p = track::preset(name);
    EXPECT_FALSE(p.smooth_size_twice) << name;
    EXPECT_EQ(p.crop_rounding, track::CornerRounding::HalfUp) << name;
    EXPECT_EQ(p.small_instance_size, 255) << name;
    EXPECT_EQ(p.big_instance_size, 255) << name;
  }
  EXPECT_DOUBLE_EQ(track::preset("oceanplus-lite").seg_thr, 0.45);
}

// The shipped default: present in the source tree, found by default_model_file() through OCEANPLUS_MODEL_DIR, and a
// working tracker on a real sequence.
TEST(ShippedModel, IsTheDefaultAndSegmentsARealSequence) {
  const std::string file = source_dir() + "/models/oceanplus-lite.pt";
  ASSERT_TRUE(fs::is_regular_file(file)) << file << " is missing";
  EXPECT_LT(fs::file_size(file), 8u << 20) << "the shipped model should stay a few MB";
  setenv("OCEANPLUS_MODEL_DIR", (source_dir() + "/models").c_str(), 1);
  EXPECT_EQ(fs::path(track::default_model_file()).filename(), "oceanplus-lite.pt");
  const auto handle = track::load_tracking_model("");
  EXPECT_FALSE(handle.random_weights);
  EXPECT_EQ(handle.model->name(), "OceanPlus-Lite-v2");
  unsetenv("OCEANPLUS_MODEL_DIR");

  const std::string shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found: the DAVIS check of the shipped model is skipped";
  const std::string seq = shared + "/data/davis2016/";
  track::Tracker tracker(handle.model, track::preset(handle.default_preset));
  const cv::Mat first = cv::imread(seq + "JPEGImages/480p/car-shadow/00000.jpg", cv::IMREAD_COLOR);
  const cv::Mat anno = cv::imread(seq + "Annotations/480p/car-shadow/00000.png", cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(first.empty());
  tracker.init_with_mask(first, anno);
  double iou_sum = 0;
  int frames = 0;
  for (int i = 1; i <= 20; i += 1) {
    char name[16];
    std::snprintf(name, sizeof(name), "%05d", i);
    const cv::Mat frame = cv::imread(seq + "JPEGImages/480p/car-shadow/" + name + ".jpg", cv::IMREAD_COLOR);
    const cv::Mat gt = cv::imread(seq + "Annotations/480p/car-shadow/" + name + ".png", cv::IMREAD_GRAYSCALE) > 0;
    const track::TargetResult r = tracker.track(frame);
    const cv::Mat pred = r.mask > 0;
    iou_sum += static_cast<double>(cv::countNonZero(pred & gt)) / std::max(1, cv::countNonZero(pred | gt));
    ++frames;
  }
  // The box filled as a mask gives about 0.6 here; a working mask head does clearly better.
  EXPECT_GT(iou_sum / frames, 0.7);
}

TEST(Train, StepsCheckpointAndResume) {
  const std::string shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found: oceanplus-train needs a train pack and NanoTrack weights";
  const char* bin = std::getenv("OCEANPLUS_TRAIN_BIN");
  ASSERT_NE(bin, nullptr);
  const fs::path dir = temp_dir("train");
  const std::string out = (dir / "m.pt").string();
  const std::string base = "--data " + shell_quote(shared + "/data/train_mini") + " --backbone " +
                           shell_quote(shared + "/weights/nanotrack/nanotrackv2.weights.pt") + " --out " +
                           shell_quote(out) + " --batch 2 --checkpoint-every 2 --val-every 0 --threads 2";
  ToolRun r = run_tool(bin, base + " --iterations 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("checkpoint"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::is_regular_file(out));
  ASSERT_TRUE(fs::is_regular_file(out + ".state.pt"));
  const auto first = track::load_tracking_model(out);
  EXPECT_EQ(first.default_preset, "oceanplus-lite");
  r = run_tool(bin, base + " --iterations 3 --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 2"), std::string::npos) << r.output;
  // Fine-tuning from a model, with parts of the objects hidden from the target model's fit.
  const std::string tuned = (dir / "tuned.pt").string();
  r = run_tool(bin, base + " --iterations 2 --hide-prob 1 --init " + shell_quote(out) + " --out " + shell_quote(tuned));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("mask head from"), std::string::npos) << r.output;
  EXPECT_EQ(track::load_tracking_model(tuned).model->name(), "OceanPlus-Lite-v2");
  r = run_tool(bin, base + " --iterations 2 --hide-prob 1.5");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--hide-prob"), std::string::npos) << r.output;
  r = run_tool(bin, base + " --iterations 4 --resume --init " + shell_quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("exclude each other"), std::string::npos) << r.output;
  // --stop-at ends midway through the schedule, with a checkpoint there.
  r = run_tool(bin, base + " --iterations 4 --stop-at 1 --out " + shell_quote((dir / "early.pt").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("at step 1\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("at step 2"), std::string::npos) << r.output;
  r = run_tool(bin, base + " --iterations 2 --stop-at 3");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--stop-at"), std::string::npos) << r.output;
  // A box-only NanoTrack file has no mask head to start from: the error names it.
  const std::string box_only = shared + "/weights/nanotrack/nanotrackv2.weights.pt";
  r = run_tool(bin, base + " --iterations 2 --init " + shell_quote(box_only));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no mask head"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nanotrackv2.weights.pt"), std::string::npos) << r.output;
  r = run_tool(bin, base + " --validate-only");
  EXPECT_EQ(r.status, 0) << r.output;
  // Bad input: a clear error naming the problem, not a crash.
  r = run_tool(bin, "--data /nonexistent --backbone x.pt --out " + shell_quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("x.pt"), std::string::npos) << r.output;
  r = run_tool(bin, "--iterations 3");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--data"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace oceanplus::testing
