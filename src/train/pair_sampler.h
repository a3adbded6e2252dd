// Training pairs for the mask head on a frozen NanoTrack tracker: a reference crop (the template frame cropped at
// search size, its centre exemplar² square being the template crop) and a search crop, each with the target's mask.
// The crops are made as the tracker makes them (context window s_z, search side s_x = s_z·instance/exemplar, padding
// with the frame's mean colour), with one cv::warpAffine per image carrying the augmentation (shift, scale, rotation,
// flip). Torch-free: the training loop turns the cv::Mats into tensors.
#pragma once

#include "train/train_index.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oceanplus::train {

struct SamplerOptions {
  int exemplar_size = 127, instance_size = 255;
  double context_amount = 0.5;

  // Filters for tracking-sized targets (train README "suggested filters"; they keep 3,091 of the full pack's 3,852
  // rows, which is how we know w·h there is the IMAGE size: the box fill ratio would keep only 1,826).
  double min_image_fraction = 0.005, max_image_fraction = 0.6;  // area / (image w·h)
  int min_side = 16;                           // min(bbox w, h)
  std::vector<std::string> exclude_sources;    // e.g. {"human_vikram"} (licence: internal research use only)

  // Geometric jitter. Shifts are uniform in ±shift px of the crop (per axis); scale is exp(N(0,1)·scale) with N
  // clipped to ±2; rotation is uniform in ±max rotation.
  double template_shift = 4, template_scale = 0.05, template_rotation_deg = 0;
  double search_shift = 48, search_scale = 0.18;
  double max_rotation_deg = 10;                // search crop (and pasted distractors)
  double flip_prob = 0.5;                      // one flip for both crops of a pair

  // Photometric jitter: blur and colour per crop; grayscale per pair (both crops), as a tracker sees one video.
  double blur_prob = 0.2, colour_jitter = 0.15, gray_prob = 0.05;

  double distractor_prob = 0.5;                // chance of pasting 1..max_distractors objects into the search crop
  int max_distractors = 2;
  double same_image_distractor_prob = 0.5;     // draw a distractor from the target's own image when it has others
  double reference_distractor_prob = 0.25;     // chance of one distractor in the reference crop, outside the target

  int max_video_gap = 10;                      // template frame t, search frame t+k, |k| <= gap

  // Non-rigid change between the two crops (a still image otherwise shows the object in the same pose twice): a
  // smooth random displacement field over the search crop and its mask, drawn on a deform_grid² lattice of
  // displacements uniform in ±deform_magnitude × the target's side in the crop, upsampled bicubically.
  double deform_prob = 0;
  double deform_magnitude = 0.1;
  int deform_grid = 4;
};

// Options with every augmentation off: both crops are the tracker's crops of the entry (tests, debugging).
SamplerOptions no_augmentation_options();

struct TrainingPair {
  cv::Mat reference_bgr;   // instance² CV_8UC3: the template frame cropped at search size around the target
                           // (its centre exemplar² square, offset (instance-exemplar)/2, is the template crop)
  cv::Mat reference_mask;  // instance² CV_8U 0/1: the target's mask in reference_bgr
  cv::Mat search_bgr;      // instance² CV_8UC3: the search frame crop (target shifted/scaled by the jitter)
  cv::Mat search_mask;     // instance² CV_8U 0/1: target mask, 0 where distractors occlude it
  cv::Rect2f search_box;   // target's tight box in search crop pixels, from the mask before occlusion (empty if none)
  int entry_index = -1;    // index row (into the entries given to the sampler) of the reference

  // For debugging and tests.
  int search_entry_index = -1;  // index row of the search frame (= entry_index for still images)
  int frame_gap = 0;            // search frame - reference frame (video rows)
  bool flipped = false;
  cv::Mat search_occluder;      // instance² CV_8U 0/1: pixels covered by pasted distractors in search_bgr
  cv::Mat reference_occluder;   // likewise in reference_bgr (never over the target)
  std::vector<int> distractor_entries;  // index rows pasted (search first, then reference)
};

class PairSampler {
 public:
  // Reads the image and mask files of the usable entries into memory, compressed (decoded per use).
  // Throws oceanplus::Error for bad options or an unreadable file.
  PairSampler(std::string root, std::vector<TrainEntry> entries, SamplerOptions options);
  ~PairSampler();
  PairSampler(PairSampler&&) noexcept;
  PairSampler& operator=(PairSampler&&) noexcept;

  size_t size() const;  // usable entries after filters
  const std::vector<TrainEntry>& entries() const;
  const std::vector<int>& usable_entries() const;  // index rows that passed the filters
  const SamplerOptions& options() const;

  // Deterministic: the same (seed, index) always gives the same pair, whatever the call order or thread; safe to call
  // concurrently. Index i belongs to epoch i / size(); each epoch visits every usable entry once as the reference, in
  // an order shuffled by (seed, epoch). Throws oceanplus::Error when nothing is usable or a file does not decode.
  TrainingPair sample(uint64_t seed, uint64_t index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CV_8U 0/1 map of the mask's contours (cv::findContours, every contour including holes) drawn with cv::drawContours
// at `thickness` (OpenCV's meaning: 1 is the one-pixel border, 3 reaches 2 px to either side of it), for the paper's
// contour loss (Eq. 5). mask01: CV_8U, non-zero = object.
cv::Mat contour_map(const cv::Mat& mask01, int thickness);

// The tracker-style crop transform (source pixel → crop pixel) for a target box, before any jitter: the crop is the
// side s_x window the tracker crops around the box centre, resized to instance_size. Exposed for tests.
cv::Matx23d search_crop_transform(const cv::Rect& box, const SamplerOptions& options);

}  // namespace oceanplus::train
