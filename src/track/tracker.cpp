#include "track/tracker.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <sstream>

#include "common/error.h"

namespace oceanplus::track {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

cv::Mat as_bgr(const cv::Mat& frame) {
  if (frame.empty()) throw Error("empty frame");
  if (frame.depth() != CV_8U) throw Error("frames must be 8-bit (got OpenCV depth " + std::to_string(frame.depth()) + ")");
  if (frame.channels() == 3) return frame;
  cv::Mat bgr;
  if (frame.channels() == 1) {
    cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
  } else if (frame.channels() == 4) {
    cv::cvtColor(frame, bgr, cv::COLOR_BGRA2BGR);
  } else {
    throw Error("frames must have 1, 3 or 4 channels");
  }
  return bgr;
}

std::string rect_string(const cv::Rect2d& r) {
  std::ostringstream s;
  s << r.x << "," << r.y << "," << r.width << "," << r.height;
  return s.str();
}

// The reference's template window side: round-half-even of sqrt(wc·hc).
double context_window(const cv::Size2d& size, double context_amount) {
  const double wc = size.width + context_amount * (size.width + size.height);
  const double hc = size.height + context_amount * (size.width + size.height);
  return std::sqrt(wc * hc);
}

// The search window side in whole pixels, rounded as the model family's reference does.
double round_search_side(double s_x, SideRounding rounding) {
  return rounding == SideRounding::HalfAwayFromZero ? round_half_away(s_x) : round_half_even(s_x);
}

}  // namespace

const char* status_name(TargetStatus status) {
  switch (status) {
    case TargetStatus::Tracking: return "tracking";
    case TargetStatus::Uncertain: return "uncertain";
  }
  return "unknown";
}

Tracker::Tracker(std::shared_ptr<TrackingModel> model, TrackerParams params, int id)
    : model_(std::move(model)), params_(std::move(params)), id_(id) {
  if (!model_) throw Error("Tracker: no model");
}

TargetFeatures& Tracker::features() {
  if (!features_) throw Error("tracker not initialised");
  return *features_;
}

void Tracker::set_state(const cv::Point2d& centre, const cv::Size2d& size, int instance_size) {
  pos_ = centre;
  size_ = size;
  if (instance_size > 0 && instance_size != instance_size_) {
    score_size_ = model_->score_size(instance_size);
    if (score_size_ < 1) throw Error("no score map at search size " + std::to_string(instance_size));
    instance_size_ = instance_size;
    window_ = hanning_window(score_size_);
  }
}

InitReport Tracker::init_with_mask(const cv::Mat& frame_in, const cv::Mat& mask_in) {
  const cv::Mat frame = as_bgr(frame_in);
  if (mask_in.empty()) throw Error("initial mask is empty (no pixels)");
  cv::Mat mask = mask_in;
  if (mask.channels() > 1) cv::extractChannel(mask_in, mask, 0);
  cv::Mat mask01;
  cv::compare(mask, 0, mask01, cv::CMP_NE);  // 0/255
  mask01 = mask01 / 255;
  std::vector<std::string> warnings;
  if (mask01.size() != frame.size()) {
    // The VOT wrapper's make_full_size: pad or crop at the bottom/right.
    std::ostringstream w;
    w << "initial mask is " << mask01.cols << "x" << mask01.rows << " but the frame is " << frame.cols << "x"
      << frame.rows << ": cropped/padded at the bottom right";
    warnings.push_back(w.str());
    cv::Mat full = cv::Mat::zeros(frame.size(), CV_8U);
    const cv::Rect common(0, 0, std::min(mask01.cols, frame.cols), std::min(mask01.rows, frame.rows));
    mask01(common).copyTo(full(common));
    mask01 = full;
  }
  const cv::Rect rect = cv::boundingRect(mask01);
  if (rect.area() == 0) throw Error("initial mask has no target pixel inside the frame");
  // DAVIS test script: cv2.boundingRect, centre x + w/2 (integer w), size (w, h).
  const cv::Point2d centre(rect.x + rect.width / 2.0, rect.y + rect.height / 2.0);
  InitReport report = init_common(frame, centre, cv::Size2d(rect.width, rect.height), mask01);
  report.warnings.insert(report.warnings.begin(), warnings.begin(), warnings.end());
  cyclic_mode_ = false;
  last_ = make_result(cv::Mat(), frame.size(), 1.0);
  last_.mask_is_box = false;
  mask01.copyTo(last_.mask);
  last_.prob.release();
  mask01.convertTo(last_.prob, CV_32F);
  std::array<cv::Point2f, 4> corners;
  last_.has_polygon = mask_polygon(last_.prob, 0.5, corners);
  last_.polygon = corners;
  return report;
}

InitReport Tracker::init_with_box_no_cycles(const cv::Mat& frame_in, const cv::Rect2d& box_in) {
  const cv::Mat frame = as_bgr(frame_in);
  std::vector<std::string> warnings;
  if (!(box_in.width > 0) || !(box_in.height > 0) || !std::isfinite(box_in.x) || !std::isfinite(box_in.y)) {
    throw Error("initial box " + rect_string(box_in) + " has zero or negative size");
  }
  const cv::Rect2d frame_rect(0, 0, frame.cols, frame.rows);
  cv::Rect2d box = box_in & frame_rect;
  if (box.width < 1 || box.height < 1) {
    throw Error("initial box " + rect_string(box_in) + " lies outside the " + std::to_string(frame.cols) + "x" +
                std::to_string(frame.rows) + " frame");
  }
  if (box != box_in) warnings.push_back("initial box " + rect_string(box_in) + " clipped to the frame: " + rect_string(box));
  const cv::Point2d centre(box.x + box.width / 2, box.y + box.height / 2);
  // SOTS's pseudo mask: rows int(cy - h/2) .. int(cy + h/2) and the same columns, inclusive (int() truncates).
  cv::Mat pseudo = cv::Mat::zeros(frame.size(), CV_8U);
  const int x1 = static_cast<int>(std::trunc(centre.x - box.width / 2)), x2 = static_cast<int>(std::trunc(centre.x + box.width / 2));
  const int y1 = static_cast<int>(std::trunc(centre.y - box.height / 2)), y2 = static_cast<int>(std::trunc(centre.y + box.height / 2));
  const cv::Rect filled = cv::Rect(x1, y1, x2 - x1 + 1, y2 - y1 + 1) & cv::Rect(0, 0, frame.cols, frame.rows);
  pseudo(filled).setTo(1);
  InitReport report = init_common(frame, centre, box.size(), pseudo);
  report.warnings.insert(report.warnings.begin(), warnings.begin(), warnings.end());
  cyclic_mode_ = false;
  last_ = make_result(cv::Mat(), frame.size(), 1.0);
  last_.mask_is_box = false;
  last_.mask = pseudo;
  pseudo.convertTo(last_.prob, CV_32F);
  return report;
}

InitReport Tracker::init_with_box(const cv::Mat& frame_in, const cv::Rect2d& box) {
  const cv::Mat frame = as_bgr(frame_in);
  InitReport report = init_with_box_no_cycles(frame, box);
  if (!model_->geometry().has_mask || params_.cyclic_iterations == 0) return report;
  // Cyclic initialisation (spec §3.10): track the first frame, threshold the pasted probability relative to its
  // maximum, crop that with the template window and replace the look-up values; restore the box each time.
  const cv::Point2d init_pos = pos_;
  const cv::Size2d init_size = size_;
  in_cyclic_init_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_cyclic_init_};
  for (int i = 0; i < params_.cyclic_iterations; ++i) {
    StepTrace step;
    const TargetResult r = track(frame, &step);
    double max_prob = 0;
    cv::minMaxLoc(r.prob, nullptr, &max_prob);
    cv::Mat fake;
    cv::compare(r.prob, params_.cyclic_fake_ratio * max_prob, fake, cv::CMP_GT);
    fake = fake / 255;
    cv::Mat z_mask = crop_mask_subwindow(fake, init_pos.x, init_pos.y, model_->geometry().exemplar_size, report.s_z,
                                         nullptr, params_.crop_rounding);
    z_mask = z_mask > 0;  // "> 0.5" on a 0/1 uint8 crop
    z_mask = z_mask / 255;
    model_->reset_target_mask(*features_, z_mask);
    if (model_->geometry().fits_first_frame) fit_first_frame(frame, fake, init_pos, report.s_z);
    set_state(init_pos, init_size);
    report.cyclic_steps.push_back(std::move(step));
    report.cyclic_masks.push_back(z_mask);
    report.z_mask = z_mask;
  }
  cyclic_mode_ = true;
  // The first frame's result is the last cyclic pass's mask, with the box restored.
  last_.centre = init_pos;
  last_.size = init_size;
  last_.box = cv::Rect2d(init_pos.x - init_size.width / 2, init_pos.y - init_size.height / 2, init_size.width,
                         init_size.height);
  last_.score = 1.0;
  last_.status = TargetStatus::Tracking;
  return report;
}

InitReport Tracker::init_common(const cv::Mat& frame, const cv::Point2d& centre, const cv::Size2d& size,
                                const cv::Mat& mask01) {
  const ModelGeometry& geo = model_->geometry();
  InitReport report;
  pos_ = centre;
  size_ = size;
  // The search size is chosen once, from the first frame's target area (spec §3.3).
  const double area_ratio = size.width * size.height / (static_cast<double>(frame.cols) * frame.rows);
  instance_size_ = area_ratio < params_.small_target_area ? params_.big_instance_size : params_.small_instance_size;
  score_size_ = model_->score_size(instance_size_);
  if (score_size_ < 1) throw Error("model " + model_->name() + " has no score map at search size " + std::to_string(instance_size_));
  window_ = hanning_window(score_size_);
  pad_colour_ = mean_colour(frame);
  const double s_z = round_half_even(context_window(size, params_.context_amount));
  if (!(s_z >= 1)) throw Error("initial target is too small (template window below one pixel)");
  report.centre = centre;
  report.size = size;
  report.s_z = s_z;
  report.instance_size = instance_size_;
  report.pad_colour = pad_colour_;
  report.z_crop = crop_subwindow(frame, centre.x, centre.y, geo.exemplar_size, s_z, pad_colour_, &report.z_crop_info,
                                 params_.crop_rounding);
  cv::Mat z_mask = crop_mask_subwindow(mask01, centre.x, centre.y, geo.exemplar_size, s_z, nullptr, params_.crop_rounding);
  z_mask = z_mask > 0;
  report.z_mask = z_mask / 255;
  features_ = model_->make_target(report.z_crop, report.z_mask);
  if (geo.fits_first_frame) fit_first_frame(frame, mask01, centre, s_z);
  return report;
}

void Tracker::fit_first_frame(const cv::Mat& frame, const cv::Mat& mask01, const cv::Point2d& centre, double s_z) {
  // The first frame cropped exactly as a search crop at the initial state would be.
  const double s_x = s_z * instance_size_ / model_->geometry().exemplar_size;
  const double side = round_search_side(s_x, params_.search_rounding);
  const cv::Mat x_crop = crop_subwindow(frame, centre.x, centre.y, instance_size_, side, pad_colour_, nullptr,
                                        params_.crop_rounding);
  cv::Mat x_mask = crop_mask_subwindow(mask01, centre.x, centre.y, instance_size_, side, nullptr, params_.crop_rounding);
  x_mask = x_mask > 0;
  model_->fit_first_frame(*features_, x_crop, x_mask / 255);
}

TargetResult Tracker::make_result(const cv::Mat& prob, const cv::Size& frame_size, double score,
                                  const cv::Mat& mask01) {
  TargetResult r;
  r.id = id_;
  r.centre = pos_;
  r.size = size_;
  r.box = cv::Rect2d(pos_.x - size_.width / 2, pos_.y - size_.height / 2, size_.width, size_.height);
  r.score = score;
  r.status = score < params_.uncertain_score ? TargetStatus::Uncertain : TargetStatus::Tracking;
  if (prob.empty() && mask01.empty()) {
    // A box-only model (no mask head): the filled box is the best mask there is.
    r.mask = box_mask(r.box, frame_size.height, frame_size.width);
    r.mask_is_box = true;
    return r;
  }
  if (prob.empty()) {
    r.mask = mask01;
    r.has_polygon = mask_polygon(mask01, 0.5, r.polygon);
  } else {
    r.prob = prob;
    cv::compare(prob, params_.seg_thr, r.mask, cv::CMP_GT);
    r.mask = r.mask / 255;
    double polygon_threshold = params_.seg_thr;
    if (cyclic_mode_) {
      double max_prob = 0;
      cv::minMaxLoc(prob, nullptr, &max_prob);
      polygon_threshold = params_.cyclic_polygon_ratio * max_prob;
    }
    r.has_polygon = mask_polygon(prob, polygon_threshold, r.polygon);
  }
  if (params_.box_fallback_min_pixels > 0 && cv::countNonZero(r.mask) < params_.box_fallback_min_pixels) {
    r.mask = box_mask(r.box, frame_size.height, frame_size.width);
    r.mask_is_box = true;
  }
  return r;
}

void Tracker::set_frame_step(FrameStepMode mode) {
  if (mode == FrameStepMode::On && !model_->has_frame_step()) {
    throw Error("model " + model_->name() + " has no frame step (kernels)");
  }
  frame_step_mode_ = mode;
}

FrameStepMode frame_step_mode(const std::string& name) {
  if (name == "auto") return FrameStepMode::Auto;
  if (name == "on") return FrameStepMode::On;
  if (name == "off") return FrameStepMode::Off;
  throw Error("frame step '" + name + "': expected auto, on or off");
}

bool Tracker::uses_frame_step() const {
  if (in_cyclic_init_ || frame_step_mode_ == FrameStepMode::Off || !model_->has_frame_step()) return false;
  return frame_step_mode_ == FrameStepMode::On || model_->prefers_frame_step();
}

TargetResult Tracker::make_result_from_roi(const FrameStepOutput& step, const cv::Size& frame_size) {
  if (!model_->geometry().has_mask) return make_result(cv::Mat(), frame_size, step.peak.score);
  cv::Mat mask01 = cv::Mat::zeros(frame_size, CV_8U);
  if (!step.roi_mask.empty()) {
    cv::Mat part = mask01(cv::Rect(step.roi.x, step.roi.y, step.roi.width, step.roi.height));
    cv::min(step.roi_mask, 1, part);
  }
  return make_result(cv::Mat(), frame_size, step.peak.score, mask01);
}

void Tracker::begin_step(StepTrace& t) const {
  const ModelGeometry& geo = model_->geometry();
  // Search window (spec §3.4): s_z unrounded, the side rounded half away from zero (TracKit's python2round).
  t.instance_size = instance_size_;
  t.s_z = context_window(size_, params_.context_amount);
  t.scale_z = geo.exemplar_size / t.s_z;
  const double d_search = (instance_size_ - geo.exemplar_size) / 2.0;
  t.s_x = t.s_z + 2 * (d_search / t.scale_z);
  t.s_x_rounded = round_search_side(t.s_x, params_.search_rounding);
}

FrameStepInput Tracker::frame_step_input(const cv::Size& frame_size, const cv::Mat* frame, const FrameSource* source,
                                         StepTrace& t) const {
  const ModelGeometry& geo = model_->geometry();
  t.crop = crop_window_info(frame_size.height, frame_size.width, pos_.x, pos_.y, t.s_x_rounded, params_.crop_rounding);
  FrameStepInput step;
  step.frame = source ? nullptr : frame;
  step.source = source;
  step.crop.center_x = pos_.x;
  step.crop.center_y = pos_.y;
  step.crop.window_side = t.s_x_rounded;
  step.crop.output_side = instance_size_;
  step.crop.corner_rounding =
      params_.crop_rounding == CornerRounding::HalfToEven ? OCEANPLUS_ROUND_HALF_EVEN : OCEANPLUS_ROUND_HALF_UP;
  for (int c = 0; c < 3; ++c) step.crop.pad_bgr[c] = pad_colour_[c];
  step.peak.score_size = score_size_;
  step.peak.stride = geo.stride;
  step.peak.instance_size = instance_size_;
  step.peak.target_w_crop = static_cast<float>(size_.width * t.scale_z);
  step.peak.target_h_crop = static_cast<float>(size_.height * t.scale_z);
  step.peak.penalty_k = static_cast<float>(params_.penalty_k);
  step.peak.window_influence = static_cast<float>(params_.window_influence);
  step.window = &window_;
  step.paste.window_x = t.crop.crop_cords[0] - t.crop.pad_info[1];
  step.paste.window_y = t.crop.crop_cords[2] - t.crop.pad_info[0];
  step.paste.window_side = t.crop.crop_cords[1] - t.crop.crop_cords[0] + 1;
  step.paste.frame_width = frame_size.width;
  step.paste.frame_height = frame_size.height;
  step.paste.threshold = static_cast<float>(params_.seg_thr);
  return step;
}

TargetResult Tracker::finish_frame_step(const cv::Size& frame_size, StepTrace& t, const FrameStepOutput& out) {
  auto clock = std::chrono::steady_clock::now();
  const oceanplus_peak& p = out.peak;
  if (p.status != OCEANPLUS_OK) throw Error("frame step: no finite score (the network produced NaN or infinity)");
  t.peak.row = p.row;
  t.peak.col = p.col;
  t.peak.pscore_max = p.pscore;
  t.peak.score_at_max = p.score;
  t.peak.penalty_at_max = p.penalty;
  t.peak.box_crop = {p.box[0], p.box[1], p.box[2], p.box[3]};
  t.peak.lr = t.peak.penalty_at_max * t.peak.score_at_max * params_.lr;
  apply_peak(frame_size, t);
  t.peak_ms = ms_since(clock);
  clock = std::chrono::steady_clock::now();
  t.paste_size = t.crop.crop_cords[1] - t.crop.crop_cords[0] + 1;
  last_ = make_result_from_roi(out, frame_size);
  t.mask_ms = ms_since(clock);
  return last_;
}

void Tracker::apply_peak(const cv::Size& frame_size, StepTrace& t) {
  const ModelGeometry& geo = model_->geometry();
  const double target_w_crop = size_.width * t.scale_z, target_h_crop = size_.height * t.scale_z;
  const auto& b = t.peak.box_crop;
  const double half = instance_size_ / 2;  // integer division, as the reference's instance_size // 2
  t.diff = cv::Point2d(((b[0] + b[2]) / 2 - half) / t.scale_z, ((b[1] + b[3]) / 2 - half) / t.scale_z);
  t.pred_size = cv::Size2d((b[2] - b[0]) / t.scale_z, (b[3] - b[1]) / t.scale_z);
  // The reference converts the size to crop pixels and back; keep that round trip for bitwise-close results.
  const cv::Size2d old_size(target_w_crop / t.scale_z, target_h_crop / t.scale_z);
  const double lr = t.peak.lr;

  t.update_triggered = params_.template_update && geo.has_template_update && t.peak.pscore_max > params_.update_threshold;
  if (t.update_triggered) {
    t.update_pos = cv::Point2d(t.diff.x * t.scale_z, t.diff.y * t.scale_z);
    t.update_size = cv::Size2d(target_w_crop, target_h_crop);
    t.update_score = t.peak.pscore_max;
    model_->update_template(*features_, t.update_pos.x, t.update_pos.y, t.update_size.width, t.update_size.height,
                            t.update_score);
  }

  t.res_size = cv::Size2d(t.pred_size.width * lr + (1 - lr) * old_size.width,
                          t.pred_size.height * lr + (1 - lr) * old_size.height);
  t.pos_unclamped = pos_ + t.diff;
  t.size_unclamped = params_.smooth_size_twice
                         ? cv::Size2d(old_size.width * (1 - lr) + lr * t.res_size.width,
                                      old_size.height * (1 - lr) + lr * t.res_size.height)
                         : t.res_size;
  const double fw = frame_size.width, fh = frame_size.height;
  pos_ = cv::Point2d(std::max(0.0, std::min(fw, t.pos_unclamped.x)), std::max(0.0, std::min(fh, t.pos_unclamped.y)));
  size_ = cv::Size2d(std::max(params_.min_target_size, std::min(fw, t.size_unclamped.width)),
                     std::max(params_.min_target_size, std::min(fh, t.size_unclamped.height)));
}

TargetResult Tracker::track(const cv::Mat& frame_in, StepTrace* trace) {
  if (!features_) throw Error("track() before initialisation");
  if (uses_frame_step()) {  // the frame step's one path: a group of one
    std::vector<StepTrace> traces;
    TargetResult result = track_all({this}, frame_in, nullptr, &traces).front();
    if (trace) *trace = std::move(traces.front());
    return result;
  }
  const cv::Mat frame = as_bgr(frame_in);
  const ModelGeometry& geo = model_->geometry();
  StepTrace local;
  StepTrace& t = trace ? *trace : local;
  begin_step(t);
  auto clock = std::chrono::steady_clock::now();
  t.x_crop = crop_subwindow(frame, pos_.x, pos_.y, instance_size_, t.s_x_rounded, pad_colour_, &t.crop,
                            params_.crop_rounding);
  t.crop_ms = ms_since(clock);
  clock = std::chrono::steady_clock::now();
  t.search = model_->track(*features_, t.x_crop);
  t.network_ms = ms_since(clock);
  clock = std::chrono::steady_clock::now();
  if (t.search.score.rows != score_size_) {
    throw Error("model " + model_->name() + " returned a " + std::to_string(t.search.score.rows) +
                "-cell score map, expected " + std::to_string(score_size_));
  }
  PeakInputs in;
  in.search = &t.search;
  in.window = &window_;
  in.stride = geo.stride;
  in.instance_size = instance_size_;
  in.target_w_crop = size_.width * t.scale_z;
  in.target_h_crop = size_.height * t.scale_z;
  in.penalty_k = params_.penalty_k;
  in.window_influence = params_.window_influence;
  in.lr = params_.lr;
  t.peak = choose_peak(in);
  apply_peak(frame.size(), t);
  t.peak_ms = ms_since(clock);  // includes the template update
  clock = std::chrono::steady_clock::now();
  cv::Mat prob;
  if (!t.search.mask_prob.empty()) {
    t.paste_size = t.crop.crop_cords[1] - t.crop.crop_cords[0] + 1;
    prob = paste_back(t.search.mask_prob, t.crop, frame.rows, frame.cols);
  }
  last_ = make_result(prob, frame.size(), t.peak.score_at_max);
  t.mask_ms = ms_since(clock);
  return last_;
}

std::vector<TargetResult> Tracker::track_all(const std::vector<Tracker*>& trackers, const cv::Mat& frame,
                                             std::vector<StepTrace>* traces) {
  return track_all(trackers, frame, nullptr, traces);
}

std::vector<TargetResult> Tracker::track_all(const std::vector<Tracker*>& trackers, const cv::Mat& frame_in,
                                             const FrameSource* source, std::vector<StepTrace>* traces) {
  std::vector<TargetResult> results(trackers.size());
  std::vector<StepTrace> local(trackers.size());
  std::vector<StepTrace>& t = traces ? *traces : local;
  t.resize(trackers.size());
  const cv::Mat frame = frame_in.empty() && source ? cv::Mat() : as_bgr(frame_in);
  cv::Size frame_size = frame.size();
  if (source) {
    const cv::Size source_size(source->image.width, source->image.height);
    if (!frame.empty() && frame_size != source_size) {
      throw Error("track_all: the BGR frame (" + std::to_string(frame.cols) + "×" + std::to_string(frame.rows) +
                  ") and the frame source (" + std::to_string(source_size.width) + "×" +
                  std::to_string(source_size.height) + ") differ in size");
    }
    frame_size = source_size;
  }
  // Frame-step trackers of one model and one search size share a pass; the rest step on their own.
  std::map<std::pair<const TrackingModel*, int>, std::vector<size_t>> groups;
  for (size_t i = 0; i < trackers.size(); ++i) {
    Tracker& tr = *trackers[i];
    if (!tr.features_) throw Error("track() before initialisation");
    if (tr.uses_frame_step()) {
      groups[{tr.model_.get(), tr.instance_size_}].push_back(i);
    } else if (frame.empty()) {
      throw Error("track_all: target " + std::to_string(tr.id()) + " does not take the frame step (a model on the "
                  "CPU without frame step on), so it needs the BGR frame");
    } else {
      results[i] = tr.track(frame, &t[i]);
    }
  }
  for (const auto& [key, members] : groups) {
    std::vector<TargetFeatures*> targets;
    std::vector<FrameStepInput> inputs;
    for (size_t i : members) {
      Tracker& tr = *trackers[i];
      tr.begin_step(t[i]);
      inputs.push_back(tr.frame_step_input(frame_size, &frame, source, t[i]));
      targets.push_back(tr.features_.get());
    }
    const auto clock = std::chrono::steady_clock::now();
    std::vector<FrameStepOutput> outputs;
    trackers[members[0]]->model_->frame_step_batch(targets, inputs, outputs);
    const double shared_ms = ms_since(clock) / static_cast<double>(members.size());
    for (size_t k = 0; k < members.size(); ++k) {
      const size_t i = members[k];
      t[i].network_ms = shared_ms;  // the whole device step (crop, network, peak, paste), split evenly
      results[i] = trackers[i]->finish_frame_step(frame_size, t[i], outputs[k]);
    }
  }
  return results;
}

// --- MultiTracker ---------------------------------------------------------------------------------------------------

MultiTracker::MultiTracker(std::shared_ptr<TrackingModel> model, TrackerParams params)
    : model_(std::move(model)), params_(std::move(params)) {}

Tracker& MultiTracker::add(int id) {
  if (id < 1 || id > 255) throw Error("target id " + std::to_string(id) + " is outside 1..255");
  for (const auto& t : trackers_) {
    if (t->id() == id) throw Error("target id " + std::to_string(id) + " is already tracked");
  }
  auto tracker = std::make_unique<Tracker>(model_, params_, id);
  tracker->set_frame_step(frame_step_);
  auto pos = std::lower_bound(trackers_.begin(), trackers_.end(), id,
                              [](const std::unique_ptr<Tracker>& t, int v) { return t->id() < v; });
  return **trackers_.insert(pos, std::move(tracker));
}

InitReport MultiTracker::add_target_mask(int id, const cv::Mat& frame, const cv::Mat& mask) {
  Tracker& t = add(id);
  try {
    return t.init_with_mask(frame, mask);
  } catch (...) {
    remove_target(id);
    throw;
  }
}

InitReport MultiTracker::add_target_box(int id, const cv::Mat& frame, const cv::Rect2d& box, bool cyclic) {
  Tracker& t = add(id);
  try {
    return cyclic ? t.init_with_box(frame, box) : t.init_with_box_no_cycles(frame, box);
  } catch (...) {
    remove_target(id);
    throw;
  }
}

bool MultiTracker::remove_target(int id) {
  for (auto it = trackers_.begin(); it != trackers_.end(); ++it) {
    if ((*it)->id() == id) {
      trackers_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<int> MultiTracker::ids() const {
  std::vector<int> out;
  for (const auto& t : trackers_) out.push_back(t->id());
  return out;
}

std::vector<TargetResult> MultiTracker::track(const cv::Mat& frame) {
  std::vector<Tracker*> all;
  for (auto& t : trackers_) all.push_back(t.get());
  return Tracker::track_all(all, frame);
}

std::vector<TargetResult> MultiTracker::last() const {
  std::vector<TargetResult> out;
  out.reserve(trackers_.size());
  for (const auto& t : trackers_) out.push_back(t->last());
  return out;
}

void MultiTracker::set_frame_step(FrameStepMode mode) {
  for (auto& t : trackers_) t->set_frame_step(mode);
  frame_step_ = mode;
}

cv::Mat MultiTracker::label_map(const std::vector<TargetResult>& results, const cv::Size& frame_size) const {
  return merge_results(results, frame_size, params_.seg_thr);
}

cv::Mat merge_results(const std::vector<TargetResult>& results, const cv::Size& frame_size, double seg_thr) {
  if (results.empty()) return cv::Mat::zeros(frame_size, CV_8U);
  bool all_prob = true;
  for (const auto& r : results) all_prob = all_prob && !r.prob.empty() && !r.mask_is_box && r.prob.size() == frame_size;
  if (all_prob) {
    std::vector<cv::Mat> probs;
    std::vector<int> labels;
    for (const auto& r : results) {
      probs.push_back(r.prob);
      labels.push_back(r.id);
    }
    return merge_labels(probs, seg_thr, labels);
  }
  cv::Mat out = cv::Mat::zeros(frame_size, CV_8U);
  for (const auto& r : results) {
    if (r.mask.size() == frame_size) out.setTo(r.id, r.mask);
  }
  return out;
}

}  // namespace oceanplus::track
