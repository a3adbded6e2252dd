// Tracker hyper-parameters and the named presets (spec §3.8). The presets live as JSON files in models/presets/;
// the build embeds them, so a program needs no data files to use them.
#pragma once

#include <string>
#include <vector>

#include "track/subwindow.h"

namespace oceanplus::track {

// How the search side s_x is rounded to whole pixels. OceanPlus uses TracKit's python2round (half away from zero);
// pysot-style trackers (NanoTrack) use Python 3's round (half to even).
enum class SideRounding { HalfAwayFromZero, HalfToEven };

struct TrackerParams {
  std::string name = "vot2020";
  // Box head scoring (spec §3.4).
  double penalty_k = 0.06;         // scale/ratio change penalty
  double window_influence = 0.484; // weight of the cosine window
  double lr = 0.644;               // size smoothing rate
  // OceanPlus smooths the size twice (an effective lr²); pysot-style trackers once.
  bool smooth_size_twice = true;
  SideRounding search_rounding = SideRounding::HalfAwayFromZero;
  // How crop windows' corners are rounded (TracKit: half to even; NanoTrack: half up).
  CornerRounding crop_rounding = CornerRounding::HalfToEven;
  // Search sizes: the big one is used (for the whole sequence) when the first-frame target covers less than
  // small_target_area of the frame.
  int small_instance_size = 255;
  int big_instance_size = 287;
  double small_target_area = 0.004;
  double context_amount = 0.5;
  // Minimum target side after a step (pixels), as the reference clamps it.
  double min_target_size = 10;
  // Template update (spec §3.6): when the windowed peak score exceeds update_threshold. Models without it ignore it.
  bool template_update = true;
  double update_threshold = 0.95;
  // Mask: foreground probability threshold after paste-back (spec §3.5).
  double seg_thr = 0.9;
  // VOT wrapper fallback: a mask with fewer pixels than this is replaced by the filled box (0 = never).
  int box_fallback_min_pixels = 10;
  // Cyclic initialisation from a box (spec §3.10).
  int cyclic_iterations = 3;
  double cyclic_fake_ratio = 0.8;     // pseudo-mask threshold relative to the probability maximum
  double cyclic_polygon_ratio = 0.85; // polygon threshold relative to the maximum, in cyclic mode
  // Reported state: a target whose peak score falls below this is "uncertain" (our addition; no effect on tracking).
  double uncertain_score = 0.3;
};

// Names of the embedded presets ("vot2020", "davis2016", "davis2017", "nanotrack", ...).
std::vector<std::string> preset_names();
// An embedded preset by name (case-insensitive). Throws oceanplus::Error listing the valid names.
TrackerParams preset(const std::string& name);
// Parses a preset JSON document: a "base" preset name (optional, default "vot2020") overridden by the keys given.
// Unknown keys and wrong types are errors naming the key. `origin` names the source in messages.
TrackerParams parse_params_json(const std::string& json_text, const std::string& origin);
// A preset name, or the path of a JSON file in the format above.
TrackerParams load_params(const std::string& name_or_path);
// The parameters as JSON (every key), e.g. for logs and result files.
std::string params_to_json(const TrackerParams& params);

}  // namespace oceanplus::track
