// A tracking session over a stream: the targets of one video, each with a stable 64-bit id, a life cycle
// (new → tracking ⇄ lost, re-initialised on request), first/last-seen times, and requests (add a box or a mask,
// re-initialise, remove) applied at frame boundaries. This is what the GStreamer element runs; it has no GStreamer
// in it, so it is tested on its own.
//
//   TrackSession session(model, preset("vot2020"), {});
//   uint64_t id = session.reserve_id();
//   session.request(TargetRequest::box(id, {120, 80, 64, 96}));
//   for (frame : video) { FrameOutput out = session.process(frame, time_ns); ... out.targets, out.events }
#pragma once
#include <opencv2/core.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include "track/model.h"
#include "track/params.h"
#include "track/tracker.h"

namespace oceanplus::track {

enum class TrackState {
  New,            // the target's first frame (its initial region)
  Tracking,       // score at or above the lost threshold (or below it for fewer than `lost_patience` frames)
  Lost,           // score below the lost threshold for `lost_patience` frames in a row; still searched for
  Reinitialised,  // re-initialised from a new region on this frame (same id)
};
const char* track_state_name(TrackState state);

struct SessionOptions {
  double lost_score = 0.3;  // a frame whose peak score is below this counts towards losing the target
  int lost_patience = 5;    // consecutive low-score frames before the target is reported lost
  size_t max_targets = 16;  // requests beyond this are refused with a warning
  double mask_threshold = -1;  // < 0: the preset's seg_thr
  FrameStepMode frame_step = FrameStepMode::Auto;  // for targets started from then on (Tracker::set_frame_step)
};

// A change to the set of targets, applied at the start of the next processed frame.
struct TargetRequest {
  enum class Kind { Box, Mask, Remove, RemoveAll, RemoveAt };
  Kind kind = Kind::Box;
  uint64_t id = 0;       // 0: a new id is assigned (Box, Mask); the target to remove (Remove)
  cv::Rect2d box;        // Box: the region (frame pixels). Mask: the rectangle `mask` covers (empty: frame-sized mask)
  cv::Mat mask;          // Mask: CV_8U, non-zero = target; resized (nearest) to `box` when that is given
  cv::Point2d point;     // RemoveAt: removes every target whose box contains this point
  std::string label = "object";
  bool cyclic = true;    // Box: refine the box into a mask by cyclic initialisation

  static TargetRequest from_box(uint64_t id, const cv::Rect2d& box, bool cyclic = true,
                                const std::string& label = "object");
  static TargetRequest from_mask(uint64_t id, const cv::Mat& mask, const cv::Rect2d& where = {},
                                 const std::string& label = "object");
  static TargetRequest remove(uint64_t id);
  static TargetRequest remove_all();
  static TargetRequest remove_at(const cv::Point2d& point);
};

// One target on one frame.
struct SessionTarget {
  uint64_t id = 0;
  TrackState state = TrackState::New;
  std::string label;
  int64_t first_seen = -1;  // stream time (the caller's unit; -1 = unknown) of the target's first frame
  int64_t last_seen = -1;   // this frame's time
  TargetResult result;      // box, polygon, score, frame-size mask (CV_8U 0/1)
};

enum class SessionEventKind { Started, Lost, Reacquired, Removed };
const char* session_event_name(SessionEventKind kind);

struct SessionEvent {
  SessionEventKind kind;
  uint64_t id = 0;
  double score = 0;
  cv::Rect2d box;
  std::string label;
};

struct FrameOutput {
  std::vector<SessionTarget> targets;   // in id order
  std::vector<SessionEvent> events;     // in the order they happened
  std::vector<std::string> warnings;    // refused or clipped requests, each naming the target
};

class TrackSession {
 public:
  TrackSession(std::shared_ptr<TrackingModel> model, TrackerParams params, SessionOptions options = {});

  // A fresh id (1, 2, ...): callers reserve ids when a request is made, so that they can return them at once.
  uint64_t reserve_id();
  // Queues a request for the next frame. Box/Mask requests with id 0 get a reserved id here; returns the id
  // (for Remove* requests, the id given).
  uint64_t request(TargetRequest request);
  size_t pending() const { return pending_.size(); }

  // Applies the queued requests on this frame (BGR CV_8UC3), then tracks every other target.
  // source (optional): the frame also as it lies in memory (Tracker::track_all); `frame` may then be empty when
  // needs_bgr_frame() is false, e.g. a GPU decoder's buffer tracked on that GPU without a download.
  FrameOutput process(const cv::Mat& frame, int64_t time = -1, const FrameSource* source = nullptr);
  // Whether the next process() needs the BGR frame: requests are waiting (initialisation crops on the host), or a
  // target does not take the frame step.
  bool needs_bgr_frame() const;

  // Changes taking effect from the next frame.
  void set_options(const SessionOptions& options);
  const SessionOptions& options() const { return options_; }

  size_t size() const { return targets_.size(); }
  std::vector<uint64_t> ids() const;
  bool contains(uint64_t id) const { return targets_.count(id) != 0; }

 private:
  struct Target {
    std::unique_ptr<Tracker> tracker;
    TrackState state = TrackState::New;
    std::string label;
    int64_t first_seen = -1;
    int low_score_frames = 0;
  };
  void apply(const TargetRequest& request, const cv::Mat& frame, int64_t time, FrameOutput& out,
             std::map<uint64_t, bool>& initialised_now);
  void remove(uint64_t id, FrameOutput& out);
  TrackerParams params_for_targets() const;

  std::shared_ptr<TrackingModel> model_;
  TrackerParams params_;
  SessionOptions options_;
  std::map<uint64_t, Target> targets_;
  std::deque<TargetRequest> pending_;
  uint64_t next_id_ = 1;
};

}  // namespace oceanplus::track
