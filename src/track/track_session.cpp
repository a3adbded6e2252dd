#include "track/track_session.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace oceanplus::track {
namespace {

std::string target_name(uint64_t id) { return "target " + std::to_string(id); }

std::string rect_text(const cv::Rect2d& r) {
  char text[128];
  std::snprintf(text, sizeof text, "%g,%g,%g,%g", r.x, r.y, r.width, r.height);
  return text;
}

// A frame-size 0/1 mask from a request: a frame-size mask as is (the tracker handles other sizes), a box-local one
// resized (nearest) into its rectangle and clipped to the frame.
cv::Mat frame_mask_of(const TargetRequest& request, const cv::Size& frame_size) {
  if (request.box.area() <= 0) return request.mask;
  cv::Mat frame_mask = cv::Mat::zeros(frame_size, CV_8U);
  const cv::Rect where(cvRound(request.box.x), cvRound(request.box.y), cvRound(request.box.width),
                       cvRound(request.box.height));
  const cv::Rect visible = where & cv::Rect(0, 0, frame_size.width, frame_size.height);
  if (visible.area() == 0 || request.mask.empty()) return frame_mask;
  cv::Mat resized;
  cv::resize(request.mask, resized, where.size(), 0, 0, cv::INTER_NEAREST);
  resized(visible - where.tl()).copyTo(frame_mask(visible));
  return frame_mask;
}

}  // namespace

const char* track_state_name(TrackState state) {
  switch (state) {
    case TrackState::New: return "new";
    case TrackState::Tracking: return "tracking";
    case TrackState::Lost: return "lost";
    case TrackState::Reinitialised: return "reinitialised";
  }
  return "unknown";
}

const char* session_event_name(SessionEventKind kind) {
  switch (kind) {
    case SessionEventKind::Started: return "started";
    case SessionEventKind::Lost: return "lost";
    case SessionEventKind::Reacquired: return "reacquired";
    case SessionEventKind::Removed: return "removed";
  }
  return "unknown";
}

TargetRequest TargetRequest::from_box(uint64_t id, const cv::Rect2d& box, bool cyclic, const std::string& label) {
  TargetRequest r;
  r.kind = Kind::Box;
  r.id = id;
  r.box = box;
  r.cyclic = cyclic;
  r.label = label;
  return r;
}

TargetRequest TargetRequest::from_mask(uint64_t id, const cv::Mat& mask, const cv::Rect2d& where,
                                       const std::string& label) {
  TargetRequest r;
  r.kind = Kind::Mask;
  r.id = id;
  r.mask = mask;
  r.box = where;
  r.label = label;
  return r;
}

TargetRequest TargetRequest::remove(uint64_t id) {
  TargetRequest r;
  r.kind = Kind::Remove;
  r.id = id;
  return r;
}

TargetRequest TargetRequest::remove_all() {
  TargetRequest r;
  r.kind = Kind::RemoveAll;
  return r;
}

TargetRequest TargetRequest::remove_at(const cv::Point2d& point) {
  TargetRequest r;
  r.kind = Kind::RemoveAt;
  r.point = point;
  return r;
}

TrackSession::TrackSession(std::shared_ptr<TrackingModel> model, TrackerParams params, SessionOptions options)
    : model_(std::move(model)), params_(std::move(params)), options_(options) {
  if (!model_) throw Error("TrackSession: no model");
}

uint64_t TrackSession::reserve_id() { return next_id_++; }

uint64_t TrackSession::request(TargetRequest request) {
  const bool adds = request.kind == TargetRequest::Kind::Box || request.kind == TargetRequest::Kind::Mask;
  if (adds && request.id == 0) request.id = reserve_id();
  // An explicit id ahead of the counter (an application chose it) must never be handed out again.
  if (adds && request.id >= next_id_) next_id_ = request.id + 1;
  const uint64_t id = request.id;
  pending_.push_back(std::move(request));
  return id;
}

void TrackSession::set_options(const SessionOptions& options) {
  options_ = options;
  const TrackerParams params = params_for_targets();
  for (auto& [id, target] : targets_) target.tracker->set_mask_threshold(params.seg_thr);
}

TrackerParams TrackSession::params_for_targets() const {
  TrackerParams params = params_;
  if (options_.mask_threshold >= 0) params.seg_thr = options_.mask_threshold;
  return params;
}

std::vector<uint64_t> TrackSession::ids() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, target] : targets_) ids.push_back(id);
  return ids;
}

void TrackSession::remove(uint64_t id, FrameOutput& out) {
  auto it = targets_.find(id);
  if (it == targets_.end()) return;
  SessionEvent event{SessionEventKind::Removed, id, it->second.tracker->last().score, it->second.tracker->last().box,
                     it->second.label};
  targets_.erase(it);
  out.events.push_back(event);
}

void TrackSession::apply(const TargetRequest& request, const cv::Mat& frame, int64_t time, FrameOutput& out,
                         std::map<uint64_t, bool>& initialised_now) {
  using Kind = TargetRequest::Kind;
  switch (request.kind) {
    case Kind::Remove:
      if (!contains(request.id)) out.warnings.push_back("cannot remove " + target_name(request.id) + ": no such target");
      remove(request.id, out);
      initialised_now.erase(request.id);
      return;
    case Kind::RemoveAll:
      for (uint64_t id : ids()) remove(id, out);
      initialised_now.clear();
      return;
    case Kind::RemoveAt: {
      for (uint64_t id : ids()) {
        if (targets_.at(id).tracker->last().box.contains(request.point)) {
          remove(id, out);
          initialised_now.erase(id);
        }
      }
      return;
    }
    case Kind::Box:
    case Kind::Mask:
      break;
  }

  const uint64_t id = request.id;
  const bool exists = contains(id);
  if (!exists && targets_.size() >= options_.max_targets) {
    out.warnings.push_back("refused new " + target_name(id) + ": already tracking " +
                           std::to_string(targets_.size()) + " targets (max-targets)");
    return;
  }
  // Initialise a fresh tracker first: a rejected region must leave an existing target as it was.
  auto tracker = std::make_unique<Tracker>(model_, params_for_targets(), static_cast<int>(id & 0x7fffffff));
  tracker->set_frame_step(options_.frame_step);
  InitReport report;
  try {
    if (request.kind == Kind::Box) {
      report = request.cyclic ? tracker->init_with_box(frame, request.box)
                              : tracker->init_with_box_no_cycles(frame, request.box);
    } else {
      const cv::Mat mask = frame_mask_of(request, frame.size());
      report = tracker->init_with_mask(frame, mask);
    }
  } catch (const Error& e) {
    out.warnings.push_back("refused " + std::string(exists ? "re-initialisation of " : "new ") + target_name(id) +
                           (request.kind == Kind::Box ? " from box " + rect_text(request.box) : " from a mask") +
                           ": " + e.what());
    return;
  }
  for (const std::string& w : report.warnings) out.warnings.push_back(target_name(id) + ": " + w);

  Target& target = targets_[id];
  target.tracker = std::move(tracker);
  target.low_score_frames = 0;
  target.label = request.label;
  if (exists) {
    target.state = TrackState::Reinitialised;
  } else {
    target.state = TrackState::New;
    target.first_seen = time;
    out.events.push_back({SessionEventKind::Started, id, 1.0, target.tracker->last().box, target.label});
  }
  initialised_now[id] = true;
}

bool TrackSession::needs_bgr_frame() const {
  if (!pending_.empty()) return true;
  for (const auto& [id, target] : targets_) {
    if (!target.tracker->uses_frame_step()) return true;
  }
  return false;
}

FrameOutput TrackSession::process(const cv::Mat& frame, int64_t time, const FrameSource* source) {
  if (frame.empty() && (!source || needs_bgr_frame())) {
    throw Error(source ? "this frame needs its BGR picture (a target starts, or one does not take the frame step)"
                       : "empty frame");
  }
  FrameOutput out;
  std::map<uint64_t, bool> initialised_now;
  while (!pending_.empty()) {
    TargetRequest request = std::move(pending_.front());
    pending_.pop_front();
    apply(request, frame, time, out, initialised_now);
  }

  // Every target not (re)initialised on this frame steps, together: on a GPU one batched pass for all of them.
  std::vector<Tracker*> stepping;
  for (auto& [id, target] : targets_) {
    if (!initialised_now.count(id)) stepping.push_back(target.tracker.get());
  }
  std::vector<TargetResult> stepped = Tracker::track_all(stepping, frame, source);
  size_t next_result = 0;

  for (auto& [id, target] : targets_) {
    SessionTarget reported;
    reported.id = id;
    reported.label = target.label;
    reported.first_seen = target.first_seen;
    reported.last_seen = time;
    if (initialised_now.count(id)) {
      reported.state = target.state;  // New or Reinitialised: the initial region
      reported.result = target.tracker->last();
      reported.result.score = 1.0;
    } else {
      reported.result = std::move(stepped[next_result++]);
      const bool low = reported.result.score < options_.lost_score;
      target.low_score_frames = low ? target.low_score_frames + 1 : 0;
      if (target.state == TrackState::Lost) {
        if (!low) {
          target.state = TrackState::Tracking;
          out.events.push_back({SessionEventKind::Reacquired, id, reported.result.score, reported.result.box,
                                target.label});
        }
      } else if (target.low_score_frames >= std::max(1, options_.lost_patience)) {
        target.state = TrackState::Lost;
        out.events.push_back({SessionEventKind::Lost, id, reported.result.score, reported.result.box, target.label});
      } else {
        target.state = TrackState::Tracking;
      }
      reported.state = target.state;
    }
    reported.result.id = static_cast<int>(id & 0x7fffffff);
    out.targets.push_back(std::move(reported));
  }
  return out;
}

}  // namespace oceanplus::track
