// Per-frame overlap of two VOT regions, as the toolkit's _calculate_overlap computes it. Torch-free.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "vot/region.h"

namespace oceanplus::vot {

// What two empty regions overlap to. The VOT2020-era toolkit (commit 4910420, the one OceanPlus was scored with)
// returns 0; the toolkit HEAD returns 1.
enum class EmptyOverlap { kVot2020Zero, kHeadOne };

// Largest raster (pixels) calculate_overlap builds when no image size bounds it.
constexpr std::int64_t kMaxOverlapRasterPixels = std::int64_t{1} << 28;

// IoU over pixels. Both regions are rasterized within the union of their pixel bounding boxes, clipped to the image
// [0, W) x [0, H) when image_size has a positive area (no clipping otherwise; the raster is then capped at
// kMaxOverlapRasterPixels, beyond which oceanplus::Error is thrown).
//  * a special region on either side (e.g. the init frame's Special(1)) -> 0;
//  * both empty inside the clipped window -> 0 (kVot2020Zero) or 1 (kHeadOne);
//  * exactly one empty -> 0.
double calculate_overlap(const Region& a, const Region& b, cv::Size image_size,
                         EmptyOverlap empty = EmptyOverlap::kVot2020Zero);

// Element-wise overlaps of a trajectory against the ground truth (same length required, else oceanplus::Error).
std::vector<double> calculate_overlaps(const std::vector<Region>& a, const std::vector<Region>& b, cv::Size image_size,
                                       EmptyOverlap empty = EmptyOverlap::kVot2020Zero);

}  // namespace oceanplus::vot
