// Step-level parity of the tracker against shared/golden/oceanplus (README §2.4-2.6, tolerances §3):
// - with a stub network that returns the golden network outputs, every step's geometry, scores, peak, state, template
//   update arguments and pasted mask must match to float64 rounding (the paste-back bit-exactly);
// - with our own network (gen-v1 weights), every step started from the golden state must match within the
//   recommended full-step tolerances (positions 1e-3 px, sub8 1e-4, binary mask within the near-threshold count).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <deque>
#include <filesystem>

#include "common/error.h"
#include "support/gen_v1.h"
#include "support/golden.h"
#include "track/oceanplus_model.h"
#include "track/tracker.h"

namespace {

using namespace oceanplus;
using namespace oceanplus::track;
using oceanplus::testing::golden_at;
using oceanplus::testing::golden_has;
using oceanplus::testing::golden_tensor;
using oceanplus::testing::GoldenDict;
namespace fs = std::filesystem;

std::string golden_dir() { return oceanplus::testing::shared_dir() + "/golden/oceanplus"; }
std::string davis_dir() { return oceanplus::testing::shared_dir() + "/data/davis2016"; }

double num(const GoldenDict& root, const std::string& path) {
  const c10::IValue v = golden_at(root, path);
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return static_cast<double>(v.toInt());
  if (v.isBool()) return v.toBool() ? 1 : 0;
  return v.toTensor().item<double>();
}
bool flag(const GoldenDict& root, const std::string& path) { return golden_at(root, path).toBool(); }
std::vector<double> vec(const GoldenDict& root, const std::string& path) {
  at::Tensor t = golden_tensor(root, path).to(at::kDouble).contiguous();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}
// A 2-D golden tensor as CV_64F, or CV_32F / CV_8U when asked.
cv::Mat mat(const at::Tensor& t_in, int type = CV_64F) {
  at::Tensor t = t_in;
  while (t.dim() > 2) t = t.squeeze(0);
  at::ScalarType st = type == CV_32F ? at::kFloat : type == CV_8U ? at::kByte : at::kDouble;
  t = t.to(st).contiguous();
  cv::Mat out(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), type);
  std::memcpy(out.data, t.data_ptr(), t.numel() * t.element_size());
  return out;
}
double max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat a64, b64;
  a.convertTo(a64, CV_64F);
  b.convertTo(b64, CV_64F);
  return cv::norm(a64, b64, cv::NORM_INF);
}
cv::Mat chw_to_bgr(const at::Tensor& chw_u8) {
  at::Tensor t = chw_u8.squeeze(0).permute({1, 2, 0}).contiguous();
  cv::Mat out(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3);
  std::memcpy(out.data, t.data_ptr(), t.numel());
  return out;
}

cv::Mat load_frame(const GoldenDict& root, const std::string& path) {
  const std::string file = davis_dir() + "/" + golden_at(root, path + ".file").toStringRef();
  cv::Mat frame = cv::imread(file, cv::IMREAD_COLOR);
  EXPECT_FALSE(frame.empty()) << file;
  if (golden_has(root, path + ".sum_bgr")) {
    EXPECT_EQ(cv::sum(frame)[0] + cv::sum(frame)[1] + cv::sum(frame)[2], num(root, path + ".sum_bgr"))
        << "decoded frame differs from the reference's cv2.imread: " << file;
  }
  return frame;
}

void expect_cords(const CropInfo& info, const GoldenDict& root, const std::string& cords, const std::string& pad) {
  const auto c = vec(root, cords), p = vec(root, pad);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(info.crop_cords[i], c[i]) << cords << "[" << i << "]";
    EXPECT_EQ(info.pad_info[i], p[i]) << pad << "[" << i << "]";
  }
}

// Order-insensitive distance between two quadrilaterals: the largest distance from a corner to the nearest corner.
double polygon_distance(const std::array<cv::Point2f, 4>& ours, const at::Tensor& golden) {
  at::Tensor g = golden.to(at::kDouble).contiguous();
  double worst = 0;
  for (int i = 0; i < 4; ++i) {
    double best = 1e18;
    for (int j = 0; j < 4; ++j) {
      best = std::min(best, std::hypot(ours[i].x - g[j][0].item<double>(), ours[i].y - g[j][1].item<double>()));
    }
    worst = std::max(worst, best);
  }
  return worst;
}

// A network stand-in that returns queued golden outputs and records what the tracker asked of it.
class StubModel : public TrackingModel {
 public:
  std::deque<SearchResult> outputs;
  std::vector<cv::Mat> template_masks;
  struct Update {
    double x, y, w, h, score;
  };
  std::vector<Update> updates;

  std::string name() const override { return "stub"; }
  const ModelGeometry& geometry() const override { return geometry_; }
  int score_size(int instance_size) const override { return (instance_size - 1) / 8 - 6; }
  std::unique_ptr<TargetFeatures> make_target(const cv::Mat&, const cv::Mat& mask) override {
    template_masks.push_back(mask.clone());
    return std::make_unique<TargetFeatures>();
  }
  void reset_target_mask(TargetFeatures&, const cv::Mat& mask) override { template_masks.push_back(mask.clone()); }
  SearchResult track(TargetFeatures&, const cv::Mat&) override {
    if (outputs.empty()) throw Error("stub: no output queued");
    SearchResult r = outputs.front();
    outputs.pop_front();
    return r;
  }
  void update_template(TargetFeatures&, double x, double y, double w, double h, double score) override {
    updates.push_back({x, y, w, h, score});
  }

 private:
  ModelGeometry geometry_;
};

SearchResult golden_search(const at::Tensor& cls_score, const at::Tensor& bbox_ltrb, const at::Tensor& prob) {
  SearchResult r;
  r.score = mat(cls_score, CV_32F);
  for (int i = 0; i < 4; ++i) r.ltrb[i] = mat(bbox_ltrb[0][i], CV_32F);
  r.mask_prob = mat(prob, CV_32F);
  return r;
}

bool have_shared() { return fs::exists(golden_dir() + "/unit_postproc.pt"); }
#define REQUIRE_SHARED()                                                                           \
  if (!have_shared()) GTEST_SKIP() << "../shared/golden/oceanplus not found (set OCEANPLUS_SHARED)"

// --- unit_postproc.pt: peak, state, paste-back with a stub network -------------------------------------------------

TEST(TrackerPostproc, EveryCaseMatchesTheReference) {
  REQUIRE_SHARED();
  const GoldenDict g = oceanplus::testing::load_golden(golden_dir() + "/unit_postproc.pt");
  const GoldenDict model = oceanplus::testing::load_golden(golden_dir() + "/model_mss.pt");
  const cv::Mat full = cv::imread(davis_dir() + "/" + golden_at(g, "frame.file").toStringRef(), cv::IMREAD_COLOR);
  ASSERT_FALSE(full.empty());
  const auto rows = vec(g, "frame.rows"), cols = vec(g, "frame.cols");
  const cv::Mat frame = full(cv::Range(int(rows[0]), int(rows[1])), cv::Range(int(cols[0]), int(cols[1]))).clone();
  const size_t n_cases = golden_at(g, "cases").toList().size();
  ASSERT_EQ(n_cases, 4u);
  for (size_t k = 0; k < n_cases; ++k) {
    const std::string c = "cases." + std::to_string(k);
    const std::string name = golden_at(g, c + ".name").toStringRef();
    SCOPED_TRACE(name);
    const int inst = static_cast<int>(num(g, c + ".instance_size"));
    auto stub = std::make_shared<StubModel>();
    TrackerParams params = preset("davis2016");
    params.template_update = false;  // as the reference's stub run
    EXPECT_DOUBLE_EQ(params.seg_thr, num(g, c + ".seg_thr"));
    EXPECT_DOUBLE_EQ(params.penalty_k, num(g, c + ".penalty_k"));
    EXPECT_DOUBLE_EQ(params.window_influence, num(g, c + ".window_influence"));
    EXPECT_DOUBLE_EQ(params.lr, num(g, c + ".lr_hp"));
    Tracker tracker(stub, params);
    const auto pos = vec(g, c + ".target_pos"), sz = vec(g, c + ".target_sz");
    tracker.init_with_box_no_cycles(frame, cv::Rect2d(100, 100, 40, 40));
    tracker.set_state({pos[0], pos[1]}, {sz[0], sz[1]}, inst);
    const std::string net = "search" + std::to_string(inst);
    stub->outputs.push_back(golden_search(golden_tensor(g, c + ".cls_score"), golden_tensor(model, net + ".bbox_ltrb"),
                                          golden_tensor(g, "prob." + std::to_string(inst))));
    StepTrace t;
    const TargetResult r = tracker.track(frame, &t);

    EXPECT_NEAR(t.s_z, num(g, c + ".s_z"), 1e-12 * t.s_z);
    EXPECT_NEAR(t.scale_z, num(g, c + ".scale_z"), 1e-12);
    EXPECT_NEAR(t.s_x, num(g, c + ".s_x"), 1e-12 * t.s_x);
    EXPECT_EQ(t.s_x_rounded, num(g, c + ".s_x_rounded"));
    expect_cords(t.crop, g, c + ".crop_cords", c + ".pad_info");
    EXPECT_LE(max_abs_diff(t.peak.penalty, mat(golden_tensor(g, c + ".penalty"))), 1e-12);
    EXPECT_LE(max_abs_diff(t.peak.pscore, mat(golden_tensor(g, c + ".pscore"))), 1e-12);
    EXPECT_EQ(t.peak.row, num(g, c + ".r_max"));
    EXPECT_EQ(t.peak.col, num(g, c + ".c_max"));
    EXPECT_NEAR(t.peak.lr, num(g, c + ".lr"), 1e-12);
    EXPECT_DOUBLE_EQ(r.score, num(g, c + ".cls_at_max"));
    const auto new_pos = vec(g, c + ".new_target_pos"), new_sz = vec(g, c + ".new_target_sz");
    EXPECT_NEAR(t.pos_unclamped.x, new_pos[0], 1e-9);
    EXPECT_NEAR(t.pos_unclamped.y, new_pos[1], 1e-9);
    EXPECT_NEAR(t.size_unclamped.width, new_sz[0], 1e-9);
    EXPECT_NEAR(t.size_unclamped.height, new_sz[1], 1e-9);
    EXPECT_EQ(t.paste_size, num(g, c + ".paste_size"));
    // The paste-back is the same OpenCV code on the same float32 input: bit-exact.
    EXPECT_EQ(max_abs_diff(r.prob, mat(golden_tensor(g, c + ".mask_ori"), CV_32F)), 0.0);
    EXPECT_EQ(cv::countNonZero(r.mask), num(g, c + ".mask_bin_sum"));
    EXPECT_TRUE(stub->updates.empty());
  }
}

TEST(TrackerPostproc, WindowAndGridsMatchInit) {
  REQUIRE_SHARED();
  for (const char* file : {"track_mss_car-shadow.pt", "track_cyclic_mss_drift-chicane.pt"}) {
    const GoldenDict g = oceanplus::testing::load_golden(golden_dir() + "/" + file);
    const cv::Mat window = mat(golden_tensor(g, "init.window"));
    EXPECT_LE(max_abs_diff(hanning_window(window.rows), window), 1e-15) << file;
    const cv::Mat gx = mat(golden_tensor(g, "init.grid_to_search_x"));
    const cv::Mat gy = mat(golden_tensor(g, "init.grid_to_search_y"));
    const int inst = static_cast<int>(num(g, "init.hp.instance_size"));
    for (int r = 0; r < gx.rows; ++r) {
      for (int c = 0; c < gx.cols; ++c) {
        ASSERT_EQ(grid_coordinate(c, gx.rows, 8, inst), gx.at<double>(r, c)) << file;
        ASSERT_EQ(grid_coordinate(r, gx.rows, 8, inst), gy.at<double>(r, c)) << file;
      }
    }
  }
}

// --- track_*.pt with the stub network: the whole step, and cyclic initialisation -----------------------------------

struct RunFiles {
  const char* file;
  bool mms;
};
const RunFiles kRuns[] = {{"track_mss_car-shadow.pt", false},
                          {"track_mms_blackswan.pt", true},
                          {"track_cyclic_mss_drift-chicane.pt", false}};

// Initialises `tracker` as the golden run did and checks the init record.
InitReport golden_init(Tracker& tracker, const GoldenDict& g, const cv::Mat& frame0) {
  InitReport report;
  if (golden_at(g, "init.mode").toStringRef() == "mask") {
    cv::Mat anno = cv::imread(davis_dir() + "/" + golden_at(g, "init.anno").toStringRef(), cv::IMREAD_GRAYSCALE);
    report = tracker.init_with_mask(frame0, anno);
  } else {
    const auto box = vec(g, "init.box_xywh");
    report = tracker.init_with_box_no_cycles(frame0, cv::Rect2d(box[0], box[1], box[2], box[3]));
  }
  const auto pos = vec(g, "init.target_pos"), sz = vec(g, "init.target_sz"), avg = vec(g, "init.avg_chans");
  EXPECT_EQ(report.centre.x, pos[0]);
  EXPECT_EQ(report.centre.y, pos[1]);
  EXPECT_EQ(report.size.width, sz[0]);
  EXPECT_EQ(report.size.height, sz[1]);
  EXPECT_EQ(report.s_z, num(g, "init.s_z"));
  EXPECT_EQ(report.instance_size, num(g, "init.hp.instance_size"));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(report.pad_colour[i], avg[i], 1e-9);
  EXPECT_EQ(max_abs_diff(report.z_crop, chw_to_bgr(golden_tensor(g, "init.z_crop"))), 0.0) << "template crop";
  expect_cords(report.z_crop_info, g, "init.z_crop_cords", "init.z_pad_info");
  EXPECT_EQ(max_abs_diff(report.z_mask, mat(golden_tensor(g, "init.mask_crop"), CV_8U)), 0.0) << "template mask crop";
  return report;
}

// Puts the tracker in the golden state of `before` (position and size).
void set_golden_state(Tracker& tracker, const GoldenDict& g, const std::string& before) {
  const auto pos = vec(g, before + ".target_pos"), sz = vec(g, before + ".target_sz");
  tracker.set_state({pos[0], pos[1]}, {sz[0], sz[1]});
}

void expect_step_geometry(const StepTrace& t, const GoldenDict& g, const std::string& s) {
  EXPECT_NEAR(t.s_z, num(g, s + ".crop.s_z"), 1e-12 * t.s_z);
  EXPECT_NEAR(t.scale_z, num(g, s + ".crop.scale_z"), 1e-12);
  EXPECT_NEAR(t.s_x, num(g, s + ".crop.s_x"), 1e-12 * t.s_x);
  EXPECT_EQ(t.s_x_rounded, num(g, s + ".crop.s_x_rounded"));
  EXPECT_EQ(t.instance_size, num(g, s + ".crop.instance_size"));
  expect_cords(t.crop, g, s + ".crop.crop_cords", s + ".crop.pad_info");
  EXPECT_EQ(max_abs_diff(t.x_crop, chw_to_bgr(golden_tensor(g, s + ".crop.x_crop"))), 0.0) << "search crop";
}

// Binary mask differences against the golden PNG.
int binary_differences(const cv::Mat& mask01, const GoldenDict& g, const std::string& s) {
  const cv::Mat png = cv::imread(golden_dir() + "/" + golden_at(g, s + ".mask.bin_png").toStringRef(), cv::IMREAD_GRAYSCALE);
  EXPECT_FALSE(png.empty());
  if (png.empty() || png.size() != mask01.size()) return -1;
  cv::Mat ours = mask01 * 255;
  return cv::countNonZero(ours != png);
}

void expect_mask_summary(const TargetResult& r, const GoldenDict& g, const std::string& s, double sub8_tol,
                         double sum_tol_per_pixel) {
  const cv::Mat& prob = r.prob;
  ASSERT_FALSE(prob.empty());
  cv::Mat sub8(prob.rows / 8 + (prob.rows % 8 != 0), prob.cols / 8 + (prob.cols % 8 != 0), CV_32F);
  for (int y = 0; y < sub8.rows; ++y) {
    for (int x = 0; x < sub8.cols; ++x) sub8.at<float>(y, x) = prob.at<float>(y * 8, x * 8);
  }
  EXPECT_LE(max_abs_diff(sub8, mat(golden_tensor(g, s + ".mask.sub8"), CV_32F)), sub8_tol) << "mask sub8";
  cv::Mat row_sum, col_sum;
  cv::reduce(prob, row_sum, 1, cv::REDUCE_SUM, CV_64F);
  cv::reduce(prob, col_sum, 0, cv::REDUCE_SUM, CV_64F);
  const cv::Mat g_row = mat(golden_tensor(g, s + ".mask.row_sum").unsqueeze(1));
  const cv::Mat g_col = mat(golden_tensor(g, s + ".mask.col_sum").unsqueeze(0));
  EXPECT_LE(max_abs_diff(row_sum, g_row), sum_tol_per_pixel * prob.cols) << "mask row sums";
  EXPECT_LE(max_abs_diff(col_sum, g_col), sum_tol_per_pixel * prob.rows) << "mask column sums";
  EXPECT_NEAR(cv::sum(prob)[0], num(g, s + ".mask.sum"), sum_tol_per_pixel * prob.total());
}

TEST(TrackerSteps, StubNetworkReproducesEveryStep) {
  REQUIRE_SHARED();
  for (const RunFiles& run : kRuns) {
    SCOPED_TRACE(run.file);
    const GoldenDict g = oceanplus::testing::load_golden(golden_dir() + "/" + run.file);
    auto stub = std::make_shared<StubModel>();
    Tracker tracker(stub, preset("davis2016"));
    const cv::Mat frame0 = load_frame(g, "init.frame");
    golden_init(tracker, g, frame0);
    const size_t n_steps = golden_at(g, "steps").toList().size();
    for (size_t k = 0; k < n_steps; ++k) {
      const std::string s = "steps." + std::to_string(k);
      SCOPED_TRACE(s);
      const cv::Mat frame = load_frame(g, s + ".frame");
      set_golden_state(tracker, g, s + ".before");
      at::Tensor prob = at::softmax(golden_tensor(g, s + ".net_out.mask_logits"), 1)[0][1];
      stub->outputs.push_back(golden_search(golden_tensor(g, s + ".post.cls_score"),
                                            golden_tensor(g, s + ".net_out.bbox_ltrb"), prob));
      stub->updates.clear();
      StepTrace t;
      const TargetResult r = tracker.track(frame, &t);
      expect_step_geometry(t, g, s);
      EXPECT_LE(max_abs_diff(t.peak.penalty, mat(golden_tensor(g, s + ".post.penalty"))), 1e-12);
      EXPECT_LE(max_abs_diff(t.peak.pscore, mat(golden_tensor(g, s + ".post.pscore"))), 1e-12);
      EXPECT_EQ(t.peak.row, num(g, s + ".post.r_max"));
      EXPECT_EQ(t.peak.col, num(g, s + ".post.c_max"));
      const auto box = vec(g, s + ".post.pred_box_crop_x1y1x2y2");
      for (int i = 0; i < 4; ++i) EXPECT_NEAR(t.peak.box_crop[i], box[i], 1e-9);
      const auto diff = vec(g, s + ".post.diff_frame_px"), wh = vec(g, s + ".post.pred_wh_frame_px");
      const auto res = vec(g, s + ".post.res_wh");
      EXPECT_NEAR(t.diff.x, diff[0], 1e-9);
      EXPECT_NEAR(t.diff.y, diff[1], 1e-9);
      EXPECT_NEAR(t.pred_size.width, wh[0], 1e-9);
      EXPECT_NEAR(t.pred_size.height, wh[1], 1e-9);
      EXPECT_NEAR(t.peak.lr, num(g, s + ".post.lr"), 1e-12);
      EXPECT_NEAR(t.res_size.width, res[0], 1e-9);
      EXPECT_NEAR(t.res_size.height, res[1], 1e-9);
      const auto after_pos = vec(g, s + ".after.target_pos"), after_sz = vec(g, s + ".after.target_sz");
      EXPECT_NEAR(tracker.centre().x, after_pos[0], 1e-9);
      EXPECT_NEAR(tracker.centre().y, after_pos[1], 1e-9);
      EXPECT_NEAR(tracker.size().width, after_sz[0], 1e-9);
      EXPECT_NEAR(tracker.size().height, after_sz[1], 1e-9);
      EXPECT_DOUBLE_EQ(r.score, num(g, s + ".after.cls_score"));
      const bool updated = flag(g, s + ".post.update_triggered");
      EXPECT_EQ(t.update_triggered, updated);
      ASSERT_EQ(stub->updates.size(), updated ? 1u : 0u);
      if (updated) {
        const auto upos = vec(g, s + ".post.update.pos_in_crop"), usz = vec(g, s + ".post.update.sz_in_crop");
        EXPECT_NEAR(stub->updates[0].x, upos[0], 1e-9);
        EXPECT_NEAR(stub->updates[0].y, upos[1], 1e-9);
        EXPECT_NEAR(stub->updates[0].w, usz[0], 1e-9);
        EXPECT_NEAR(stub->updates[0].h, usz[1], 1e-9);
        EXPECT_NEAR(stub->updates[0].score, num(g, s + ".post.update.score"), 1e-12);
      }
      EXPECT_EQ(t.paste_size, num(g, s + ".post.paste_size"));
      // The probability went through at::softmax here and through torch.softmax there: equal to the last bits.
      expect_mask_summary(r, g, s, 1e-6, 1e-6);
      const int differing = binary_differences(r.mask, g, s);
      EXPECT_GE(differing, 0);
      EXPECT_LE(differing, num(g, s + ".mask.near_thr_1e-4")) << "binary mask pixels differing from the golden PNG";
      EXPECT_LE(polygon_distance(r.polygon, golden_tensor(g, s + ".mask.polygon_minAreaRect")), 1e-3);
    }
  }
}

TEST(TrackerSteps, StubNetworkCyclicInitialisation) {
  REQUIRE_SHARED();
  const GoldenDict g = oceanplus::testing::load_golden(golden_dir() + "/track_cyclic_mss_drift-chicane.pt");
  auto stub = std::make_shared<StubModel>();
  Tracker tracker(stub, preset("davis2016"));
  const cv::Mat frame0 = load_frame(g, "init.frame");
  for (int k = 0; k < 3; ++k) {
    const std::string s = "steps." + std::to_string(k);
    ASSERT_TRUE(golden_has(g, s + ".cyclic"));
    at::Tensor prob = at::softmax(golden_tensor(g, s + ".net_out.mask_logits"), 1)[0][1];
    stub->outputs.push_back(golden_search(golden_tensor(g, s + ".post.cls_score"),
                                          golden_tensor(g, s + ".net_out.bbox_ltrb"), prob));
  }
  const auto box = vec(g, "init.box_xywh");
  const InitReport report = tracker.init_with_box(frame0, cv::Rect2d(box[0], box[1], box[2], box[3]));
  ASSERT_EQ(report.cyclic_steps.size(), 3u);
  ASSERT_EQ(stub->template_masks.size(), 4u);  // the pseudo mask, then one per cycle
  EXPECT_EQ(max_abs_diff(stub->template_masks[0], mat(golden_tensor(g, "init.mask_crop"), CV_8U)), 0.0);
  for (int k = 0; k < 3; ++k) {
    const std::string s = "steps." + std::to_string(k);
    SCOPED_TRACE(s);
    const StepTrace& t = report.cyclic_steps[k];
    expect_step_geometry(t, g, s);  // each cycle starts from the restored init box
    EXPECT_EQ(t.peak.row, num(g, s + ".post.r_max"));
    EXPECT_EQ(t.peak.col, num(g, s + ".post.c_max"));
    EXPECT_EQ(max_abs_diff(report.cyclic_masks[k], mat(golden_tensor(g, s + ".cyclic.new_template_mask"), CV_8U)), 0.0)
        << "cyclic template mask";
    const auto restored = vec(g, s + ".cyclic.restored_target_pos");
    EXPECT_EQ(report.centre.x, restored[0]);
    EXPECT_EQ(report.centre.y, restored[1]);
  }
  EXPECT_EQ(stub->updates.size(), 3u) << "every cyclic pass of this run updates the template";
  EXPECT_EQ(tracker.centre(), report.centre);
  EXPECT_EQ(tracker.size(), report.size);
}

// --- track_*.pt with our network (gen-v1 weights), each step from the golden state ---------------------------------

TEST(TrackerSteps, OwnNetworkMatchesEveryStepFromTheGoldenState) {
  REQUIRE_SHARED();
  for (const RunFiles& run : kRuns) {
    SCOPED_TRACE(run.file);
    const GoldenDict g = oceanplus::testing::load_golden(golden_dir() + "/" + run.file);
    auto model = std::make_shared<OceanPlusModel>(nn::OceanPlusNet::load(oceanplus::testing::gen_v1_state_dict(run.mms)));
    Tracker tracker(model, preset("davis2016"));
    const cv::Mat frame0 = load_frame(g, "init.frame");
    golden_init(tracker, g, frame0);
    OceanPlusTarget& target = OceanPlusModel::target_of(tracker.features());
    EXPECT_TRUE(oceanplus::testing::golden_close(target.state.zf, g, "init.zf"));
    EXPECT_TRUE(oceanplus::testing::golden_close(target.state.zf_ori, g, "init.zf_ori"));
    const size_t n_steps = golden_at(g, "steps").toList().size();
    for (size_t k = 0; k < n_steps; ++k) {
      const std::string s = "steps." + std::to_string(k);
      SCOPED_TRACE(s);
      const cv::Mat frame = load_frame(g, s + ".frame");
      set_golden_state(tracker, g, s + ".before");
      if (flag(g, s + ".before.zf_update_active")) {
        model->net().set_template_update(target.state, golden_tensor(g, s + ".before.MA_kernel"),
                                         golden_tensor(g, s + ".before.zf_update"));
      } else {
        model->net().set_template_update(target.state, at::Tensor(), at::Tensor());
      }
      if (k > 0 && golden_has(g, "steps." + std::to_string(k - 1) + ".cyclic")) {
        const at::Tensor m = golden_tensor(g, "steps." + std::to_string(k - 1) + ".cyclic.new_template_mask");
        model->net().set_template_mask(target.state, m.to(at::kFloat));
      }
      EXPECT_EQ(target.state.template_mask.sum().item<double>(), num(g, s + ".before.template_mask_sum"));
      StepTrace t;
      const TargetResult r = tracker.track(frame, &t);
      expect_step_geometry(t, g, s);
      EXPECT_TRUE(oceanplus::testing::golden_close(target.last_output.cls_logits, g, s + ".net_out.cls_logits"));
      EXPECT_TRUE(oceanplus::testing::golden_close(target.last_output.bbox_ltrb, g, s + ".net_out.bbox_ltrb"));
      EXPECT_TRUE(oceanplus::testing::golden_close(target.last_output.mask_logits, g, s + ".net_out.mask_logits"));
      // Discrete decisions must agree unless the reference was within 1e-5 of a tie (README §3).
      if (num(g, s + ".post.top2_margin") > 1e-5) {
        EXPECT_EQ(t.peak.row, num(g, s + ".post.r_max"));
        EXPECT_EQ(t.peak.col, num(g, s + ".post.c_max"));
      }
      const bool updated = flag(g, s + ".post.update_triggered");
      if (std::abs(num(g, s + ".post.update_threshold_margin")) > 1e-5) {
        EXPECT_EQ(t.update_triggered, updated);
      }
      const auto after_pos = vec(g, s + ".after.target_pos"), after_sz = vec(g, s + ".after.target_sz");
      EXPECT_NEAR(tracker.centre().x, after_pos[0], 1e-3);
      EXPECT_NEAR(tracker.centre().y, after_pos[1], 1e-3);
      EXPECT_NEAR(tracker.size().width, after_sz[0], 1e-3);
      EXPECT_NEAR(tracker.size().height, after_sz[1], 1e-3);
      EXPECT_NEAR(r.score, num(g, s + ".after.cls_score"), 1e-5);
      expect_mask_summary(r, g, s, 1e-4, 1e-4);
      const int differing = binary_differences(r.mask, g, s);
      EXPECT_GE(differing, 0);
      EXPECT_LE(differing, std::max(2.0, num(g, s + ".mask.near_thr_1e-4")))
          << "binary mask pixels differing from the golden PNG";
      EXPECT_LE(polygon_distance(r.polygon, golden_tensor(g, s + ".mask.polygon_minAreaRect")), 1.5);
      // The template update's result, stored in the next step's "before" (or in "after" for the last step).
      if (updated && t.update_triggered) {
        const std::string where = k + 1 < n_steps ? "steps." + std::to_string(k + 1) + ".before" : s + ".after";
        EXPECT_TRUE(oceanplus::testing::golden_close(target.state.ma_kernel, g, where + ".MA_kernel"));
        EXPECT_TRUE(oceanplus::testing::golden_close(target.state.zf_update, g, where + ".zf_update"));
      }
    }
  }
}

TEST(TrackerSteps, OwnNetworkCyclicInitialisationEndToEnd) {
  REQUIRE_SHARED();
  const GoldenDict g = oceanplus::testing::load_golden(golden_dir() + "/track_cyclic_mss_drift-chicane.pt");
  auto model = std::make_shared<OceanPlusModel>(nn::OceanPlusNet::load(oceanplus::testing::gen_v1_state_dict(false)));
  Tracker tracker(model, preset("davis2016"));
  const cv::Mat frame0 = load_frame(g, "init.frame");
  const auto box = vec(g, "init.box_xywh");
  const InitReport report = tracker.init_with_box(frame0, cv::Rect2d(box[0], box[1], box[2], box[3]));
  ASSERT_EQ(report.cyclic_masks.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const std::string s = "steps." + std::to_string(k);
    SCOPED_TRACE(s);
    expect_step_geometry(report.cyclic_steps[k], g, s);
    // Chained through our own network: the relative threshold may move a few border pixels of the fake mask.
    const cv::Mat golden_mask = mat(golden_tensor(g, s + ".cyclic.new_template_mask"), CV_8U);
    EXPECT_LE(cv::countNonZero(report.cyclic_masks[k] != golden_mask), 20) << "cyclic template mask pixels differing";
  }
}

}  // namespace
