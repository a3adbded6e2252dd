#include "train/pair_sampler.h"

#include "common/error.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <unordered_map>
#include <utility>

namespace oceanplus::train {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Independent random streams per concern, so that switching one augmentation off leaves the others' draws unchanged
// (the distractor test relies on it).
enum class Stream : uint64_t { Order = 1, Geometry = 2, Distractors = 3, Photometric = 4, Deformation = 5 };

// Our own uniform/normal on top of mt19937_64: std:: distributions differ between standard libraries, these do not.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t index, Stream stream)
      : engine_(splitmix64(splitmix64(splitmix64(seed) ^ index) ^ (static_cast<uint64_t>(stream) << 56))) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  size_t below(size_t n) { return std::min(n - 1, static_cast<size_t>(uniform() * static_cast<double>(n))); }
  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * CV_PI * u2);
  }

 private:
  std::mt19937_64 engine_;
};

struct Jitter {
  double scale = 1, angle_deg = 0;
  cv::Point2d shift;
  bool flip = false;
};

Jitter draw_jitter(Rng& rng, double shift, double scale, double rotation_deg, bool flip) {
  Jitter j;
  j.scale = std::exp(std::clamp(rng.normal(), -2.0, 2.0) * scale);
  j.shift = cv::Point2d(rng.uniform(-shift, shift), rng.uniform(-shift, shift));
  j.angle_deg = rng.uniform(-rotation_deg, rotation_deg);
  j.flip = flip;
  return j;
}

// dst = k·R(angle)·F·(src - source_centre) + dst_centre, F = horizontal flip or identity.
cv::Matx23d similarity(const cv::Point2d& source_centre, const cv::Point2d& dst_centre, double k, double angle_deg,
                       bool flip) {
  const double a = angle_deg * CV_PI / 180.0, c = std::cos(a) * k, s = std::sin(a) * k, f = flip ? -1.0 : 1.0;
  const double l00 = c * f, l01 = -s, l10 = s * f, l11 = c;
  return cv::Matx23d(l00, l01, dst_centre.x - (l00 * source_centre.x + l01 * source_centre.y),
                     l10, l11, dst_centre.y - (l10 * source_centre.x + l11 * source_centre.y));
}

double search_side(const cv::Rect& box, const SamplerOptions& o) {
  const double w = box.width, h = box.height, p = o.context_amount * (w + h);
  return std::sqrt((w + p) * (h + p)) * o.instance_size / o.exemplar_size;
}

cv::Matx23d crop_transform(const cv::Rect& box, const SamplerOptions& o, const Jitter& j) {
  // The tracker's centre is x + w/2 (DAVIS convention); get_subwindow's window (xmin = pos - (s+1)/2, then a
  // bilinear resize) puts the crop's centre at pos - 1 in pixel-index coordinates.
  const cv::Point2d source_centre(box.x + box.width / 2.0 - 1, box.y + box.height / 2.0 - 1);
  const double crop_centre = (o.instance_size - 1) / 2.0;
  const double k = j.scale * o.instance_size / search_side(box, o);
  return similarity(source_centre, cv::Point2d(crop_centre, crop_centre) + j.shift, k, j.angle_deg, j.flip);
}

// A smooth random displacement of an image and its 0/1 mask: grid² displacements uniform in ±reach pixels, upsampled
// bicubically to the image and applied by remap (the mask bilinearly, thresholded at 0.5).
void deform(cv::Mat& image, cv::Mat& mask01, int grid, double reach, Rng& rng) {
  cv::Mat dx(grid, grid, CV_32F), dy(grid, grid, CV_32F);
  for (int i = 0; i < grid * grid; ++i) {
    dx.at<float>(i) = static_cast<float>(rng.uniform(-reach, reach));
    dy.at<float>(i) = static_cast<float>(rng.uniform(-reach, reach));
  }
  cv::Mat map_x, map_y;
  cv::resize(dx, map_x, image.size(), 0, 0, cv::INTER_CUBIC);
  cv::resize(dy, map_y, image.size(), 0, 0, cv::INTER_CUBIC);
  for (int y = 0; y < image.rows; ++y) {
    float* mx = map_x.ptr<float>(y);
    float* my = map_y.ptr<float>(y);
    for (int x = 0; x < image.cols; ++x) {
      mx[x] += static_cast<float>(x);
      my[x] += static_cast<float>(y);
    }
  }
  cv::Mat warped;
  cv::remap(image, warped, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  image = warped;
  cv::Mat mask_float, mask_warped;
  mask01.convertTo(mask_float, CV_32F);
  cv::remap(mask_float, mask_warped, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::Mat binary;
  cv::compare(mask_warped, 0.5, binary, cv::CMP_GE);
  binary.convertTo(mask01, CV_8U, 1.0 / 255);
}

cv::Mat warp_mask(const cv::Mat& mask_float, const cv::Matx23d& transform, cv::Size size) {
  cv::Mat warped, binary;
  cv::warpAffine(mask_float, warped, transform, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::compare(warped, 0.5, binary, cv::CMP_GE);
  return binary / 255;
}

// The tracker pads with the init frame's per-channel mean, stored in a uint8 array (truncated).
cv::Scalar pad_colour(const cv::Mat& bgr) {
  const cv::Scalar m = cv::mean(bgr);
  return cv::Scalar(std::trunc(m[0]), std::trunc(m[1]), std::trunc(m[2]));
}

void colour_jitter(cv::Mat& bgr, double amount, Rng& rng) {
  if (amount <= 0) return;
  const double brightness = 1 + rng.uniform(-amount, amount);
  const double contrast = 1 + rng.uniform(-amount, amount);
  const double saturation = 1 + rng.uniform(-amount, amount);
  const cv::Scalar m = cv::mean(bgr);
  const double grey = 0.114 * m[0] + 0.587 * m[1] + 0.299 * m[2];
  // brightness·(contrast·(v - grey) + grey), one saturating pass.
  bgr.convertTo(bgr, -1, brightness * contrast, brightness * (1 - contrast) * grey);
  cv::Mat grey1, grey3;
  cv::cvtColor(bgr, grey1, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey1, grey3, cv::COLOR_GRAY2BGR);
  cv::addWeighted(bgr, saturation, grey3, 1 - saturation, 0, bgr);
}

void to_grey(cv::Mat& bgr) {
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey, bgr, cv::COLOR_GRAY2BGR);
}

std::vector<uchar> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad() || bytes.empty()) throw Error(path + ": cannot read (empty or I/O error)");
  return bytes;
}

void check_probability(double p, const char* name) {
  if (!(p >= 0 && p <= 1)) throw Error(std::string("SamplerOptions.") + name + " must be in [0, 1]");
}

void check_options(const SamplerOptions& o) {
  if (o.exemplar_size < 1 || o.instance_size < o.exemplar_size) {
    throw Error("SamplerOptions: need 1 <= exemplar_size <= instance_size");
  }
  if (!(o.context_amount >= 0)) throw Error("SamplerOptions.context_amount must be >= 0");
  if (!(o.min_image_fraction <= o.max_image_fraction)) {
    throw Error("SamplerOptions: min_image_fraction > max_image_fraction");
  }
  for (const double v : {o.template_shift, o.template_scale, o.template_rotation_deg, o.search_shift, o.search_scale,
                         o.max_rotation_deg, o.colour_jitter}) {
    if (!(v >= 0)) throw Error("SamplerOptions: shifts, scales, rotations and colour_jitter must be >= 0");
  }
  check_probability(o.flip_prob, "flip_prob");
  check_probability(o.blur_prob, "blur_prob");
  check_probability(o.gray_prob, "gray_prob");
  check_probability(o.distractor_prob, "distractor_prob");
  check_probability(o.same_image_distractor_prob, "same_image_distractor_prob");
  check_probability(o.reference_distractor_prob, "reference_distractor_prob");
  if (o.max_distractors < 0 || o.max_video_gap < 0) throw Error("SamplerOptions: negative max_distractors or gap");
  check_probability(o.deform_prob, "deform_prob");
  if (!(o.deform_magnitude >= 0) || o.deform_grid < 2) {
    throw Error("SamplerOptions: deform_magnitude must be >= 0 and deform_grid >= 2");
  }
}

}  // namespace

SamplerOptions no_augmentation_options() {
  SamplerOptions o;
  o.template_shift = o.template_scale = o.template_rotation_deg = 0;
  o.search_shift = o.search_scale = o.max_rotation_deg = 0;
  o.flip_prob = o.blur_prob = o.colour_jitter = o.gray_prob = 0;
  o.distractor_prob = o.reference_distractor_prob = 0;
  o.max_video_gap = 0;
  return o;
}

cv::Matx23d search_crop_transform(const cv::Rect& box, const SamplerOptions& options) {
  return crop_transform(box, options, Jitter{});
}

cv::Mat contour_map(const cv::Mat& mask01, int thickness) {
  if (mask01.empty() || mask01.type() != CV_8UC1) throw Error("contour_map: need a non-empty CV_8U mask");
  if (thickness < 1) throw Error("contour_map: thickness must be >= 1");
  cv::Mat binary = mask01 != 0;
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(binary, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  cv::Mat out = cv::Mat::zeros(mask01.size(), CV_8U);
  cv::drawContours(out, contours, -1, cv::Scalar(1), thickness);
  return out;
}

struct PairSampler::Impl {
  std::string root;
  std::vector<TrainEntry> entries;
  SamplerOptions options;

  // File bytes, compressed, one copy per distinct path.
  std::vector<std::vector<uchar>> image_bytes, mask_bytes;
  std::vector<std::string> image_paths, mask_paths;
  std::vector<int> image_of_row, mask_of_row;  // per index row; -1 for rows filtered out

  std::vector<int> usable;                                    // index rows that passed the filters
  std::vector<std::vector<int>> rows_of_image;                // usable rows per image id (same-image distractors)
  std::unordered_map<std::string, std::vector<int>> rows_of_video;  // usable rows per video

  // Images decoded within one sample(): a still image's two crops and its sibling distractors decode it once.
  struct Decoded {
    std::unordered_map<int, cv::Mat> images, masks;
  };

  bool passes_filters(const TrainEntry& e) const {
    const SamplerOptions& o = options;
    if (std::find(o.exclude_sources.begin(), o.exclude_sources.end(), e.source) != o.exclude_sources.end()) return false;
    if (std::min(e.bbox.width, e.bbox.height) < o.min_side) return false;
    const double fraction = static_cast<double>(e.area) / (static_cast<double>(e.size.width) * e.size.height);
    return fraction >= o.min_image_fraction && fraction <= o.max_image_fraction;
  }

  const cv::Mat& image(Decoded& cache, int row) const {
    const int id = image_of_row[row];
    auto it = cache.images.find(id);
    if (it != cache.images.end()) return it->second;
    cv::Mat bgr = cv::imdecode(image_bytes[id], cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error(image_paths[id] + ": cannot decode image");
    if (bgr.size() != entries[row].size) throw Error(image_paths[id] + ": image size differs from the index 'size'");
    return cache.images.emplace(id, std::move(bgr)).first->second;
  }

  // CV_32F 0/1, so that the crop warps it bilinearly like the image and thresholds at 0.5.
  const cv::Mat& mask(Decoded& cache, int row) const {
    const int id = mask_of_row[row];
    auto it = cache.masks.find(id);
    if (it != cache.masks.end()) return it->second;
    cv::Mat grey = cv::imdecode(mask_bytes[id], cv::IMREAD_GRAYSCALE);
    if (grey.empty()) throw Error(mask_paths[id] + ": cannot decode mask");
    if (grey.size() != entries[row].size) throw Error(mask_paths[id] + ": mask size differs from the index 'size'");
    const cv::Mat object = grey > 127;
    cv::Mat as_float;
    object.convertTo(as_float, CV_32F, 1.0 / 255);
    return cache.masks.emplace(id, std::move(as_float)).first->second;
  }

  // Another object to paste: a sibling instance of the same image (look-alikes, e.g. balloons) or any usable row that
  // is not the same object (not the row itself, not another frame of its video). -1 when none is found.
  int pick_distractor(int target_row, Rng& rng) const {
    const TrainEntry& target = entries[target_row];
    const std::vector<int>& siblings = rows_of_image[image_of_row[target_row]];
    if (siblings.size() > 1 && rng.chance(options.same_image_distractor_prob)) {
      const size_t pick = rng.below(siblings.size() - 1);
      const auto self = std::find(siblings.begin(), siblings.end(), target_row) - siblings.begin();
      return siblings[pick < static_cast<size_t>(self) ? pick : pick + 1];
    }
    for (int attempt = 0; attempt < 8; ++attempt) {
      const int row = usable[rng.below(usable.size())];
      if (row == target_row) continue;
      if (!target.video.empty() && entries[row].video == target.video) continue;
      return row;
    }
    return -1;
  }

  // Pastes the object of `row` into `crop` at a random place, about `target_side` px across. `outside_target`:
  // must not touch the target at all (reference crop); otherwise it may hide at most half of the target's pixels,
  // counting what earlier distractors already hide. Returns whether it pasted.
  bool paste(Decoded& cache, int row, cv::Mat& crop, cv::Mat& occluder, const cv::Mat& target_mask,
             double target_side, bool outside_target, Rng& rng) const {
    const int n = options.instance_size;
    const cv::Rect& box = entries[row].bbox;
    const int target_area = cv::countNonZero(target_mask);
    for (int attempt = 0; attempt < 4; ++attempt) {
      double k = target_side * std::exp(rng.uniform(-0.4, 0.4)) / std::sqrt(static_cast<double>(box.area()));
      k = std::min(k, 0.7 * n / std::max(box.width, box.height));
      const double angle = rng.uniform(-options.max_rotation_deg, options.max_rotation_deg);
      const bool flip = rng.chance(0.5);
      const cv::Point2d where(rng.uniform(0.1 * n, 0.9 * n), rng.uniform(0.1 * n, 0.9 * n));
      const cv::Point2d box_centre(box.x + (box.width - 1) / 2.0, box.y + (box.height - 1) / 2.0);
      const cv::Matx23d transform = similarity(box_centre, where, k, angle, flip);
      const cv::Mat pasted = warp_mask(mask(cache, row), transform, cv::Size(n, n));
      const cv::Rect extent = cv::boundingRect(pasted);
      if (extent.empty()) continue;
      if (target_area > 0) {
        const int hidden = cv::countNonZero(target_mask & (pasted | occluder));
        if (outside_target ? cv::countNonZero(target_mask & pasted) > 0 : 2 * hidden > target_area) continue;
      }
      // Warp the image only over the pasted extent: shift the transform so that the extent's corner is the origin.
      cv::Matx23d local = transform;
      local(0, 2) -= extent.x;
      local(1, 2) -= extent.y;
      cv::Mat pixels;
      cv::warpAffine(image(cache, row), pixels, local, extent.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      pixels.copyTo(crop(extent), pasted(extent));
      occluder |= pasted;
      return true;
    }
    return false;
  }
};

PairSampler::PairSampler(std::string root, std::vector<TrainEntry> entries, SamplerOptions options)
    : impl_(std::make_unique<Impl>()) {
  check_options(options);
  Impl& d = *impl_;
  d.root = std::move(root);
  d.entries = std::move(entries);
  d.options = std::move(options);
  d.image_of_row.assign(d.entries.size(), -1);
  d.mask_of_row.assign(d.entries.size(), -1);
  std::unordered_map<std::string, int> image_ids, mask_ids;
  // Only usable rows are loaded: excluded sources never reach memory, not even as distractors.
  for (size_t row = 0; row < d.entries.size(); ++row) {
    const TrainEntry& e = d.entries[row];
    if (!d.passes_filters(e)) continue;
    const auto [image_it, new_image] = image_ids.emplace(e.image, static_cast<int>(d.image_bytes.size()));
    if (new_image) {
      d.image_paths.push_back(d.root + "/" + e.image);
      d.image_bytes.push_back(read_bytes(d.image_paths.back()));
      d.rows_of_image.emplace_back();
    }
    const auto [mask_it, new_mask] = mask_ids.emplace(e.mask, static_cast<int>(d.mask_bytes.size()));
    if (new_mask) {
      d.mask_paths.push_back(d.root + "/" + e.mask);
      d.mask_bytes.push_back(read_bytes(d.mask_paths.back()));
    }
    d.image_of_row[row] = image_it->second;
    d.mask_of_row[row] = mask_it->second;
    d.usable.push_back(static_cast<int>(row));
    d.rows_of_image[image_it->second].push_back(static_cast<int>(row));
    if (!e.video.empty()) d.rows_of_video[e.video].push_back(static_cast<int>(row));
  }
}

PairSampler::~PairSampler() = default;
PairSampler::PairSampler(PairSampler&&) noexcept = default;
PairSampler& PairSampler::operator=(PairSampler&&) noexcept = default;

size_t PairSampler::size() const { return impl_->usable.size(); }
const std::vector<TrainEntry>& PairSampler::entries() const { return impl_->entries; }
const std::vector<int>& PairSampler::usable_entries() const { return impl_->usable; }
const SamplerOptions& PairSampler::options() const { return impl_->options; }

TrainingPair PairSampler::sample(uint64_t seed, uint64_t index) const {
  const Impl& d = *impl_;
  const SamplerOptions& o = d.options;
  const size_t n_usable = d.usable.size();
  if (n_usable == 0) throw Error("PairSampler: no usable entries after the filters");

  // Epoch order: a Fisher-Yates shuffle drawn from (seed, epoch) alone, so every index of an epoch agrees on it.
  const uint64_t epoch = index / n_usable, position = index % n_usable;
  std::vector<int> order = d.usable;
  Rng order_rng(seed, epoch, Stream::Order);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[order_rng.below(i + 1)]);

  TrainingPair pair;
  pair.entry_index = order[position];
  pair.search_entry_index = pair.entry_index;
  const TrainEntry& reference = d.entries[pair.entry_index];

  Rng geometry(seed, index, Stream::Geometry);
  if (!reference.video.empty()) {
    std::vector<int> near;
    for (const int row : d.rows_of_video.at(reference.video)) {
      if (std::abs(d.entries[row].frame - reference.frame) <= o.max_video_gap) near.push_back(row);
    }
    pair.search_entry_index = near[geometry.below(near.size())];  // never empty: holds the reference itself
    pair.frame_gap = d.entries[pair.search_entry_index].frame - reference.frame;
  }
  const TrainEntry& search = d.entries[pair.search_entry_index];
  pair.flipped = geometry.chance(o.flip_prob);
  const Jitter reference_jitter =
      draw_jitter(geometry, o.template_shift, o.template_scale, o.template_rotation_deg, pair.flipped);
  const Jitter search_jitter = draw_jitter(geometry, o.search_shift, o.search_scale, o.max_rotation_deg, pair.flipped);

  Impl::Decoded cache;
  const cv::Size crop_size(o.instance_size, o.instance_size);
  const cv::Mat& reference_image = d.image(cache, pair.entry_index);
  const cv::Scalar pad = pad_colour(reference_image);  // the tracker pads every frame with the init frame's mean
  const cv::Matx23d reference_transform = crop_transform(reference.bbox, o, reference_jitter);
  cv::warpAffine(reference_image, pair.reference_bgr, reference_transform, crop_size, cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, pad);
  pair.reference_mask = warp_mask(d.mask(cache, pair.entry_index), reference_transform, crop_size);

  const cv::Matx23d search_transform = crop_transform(search.bbox, o, search_jitter);
  cv::warpAffine(d.image(cache, pair.search_entry_index), pair.search_bgr, search_transform, crop_size,
                 cv::INTER_LINEAR, cv::BORDER_CONSTANT, pad);
  pair.search_mask = warp_mask(d.mask(cache, pair.search_entry_index), search_transform, crop_size);
  Rng deformation(seed, index, Stream::Deformation);
  if (o.deform_prob > 0 && deformation.chance(o.deform_prob)) {
    const cv::Rect box = cv::boundingRect(pair.search_mask);
    const double reach = o.deform_magnitude * std::sqrt(static_cast<double>(std::max(1, box.area())));
    deform(pair.search_bgr, pair.search_mask, o.deform_grid, reach, deformation);
  }
  pair.search_box = cv::Rect2f(cv::boundingRect(pair.search_mask));

  // Distractors: hide part of the target in the search crop; add look-alikes beside it in the reference crop.
  pair.search_occluder = cv::Mat::zeros(crop_size, CV_8U);
  pair.reference_occluder = cv::Mat::zeros(crop_size, CV_8U);
  Rng distractors(seed, index, Stream::Distractors);
  const auto side_in_crop = [&](const TrainEntry& e, const Jitter& j) {
    return std::sqrt(static_cast<double>(e.bbox.area())) * j.scale * o.instance_size / search_side(e.bbox, o);
  };
  if (o.max_distractors > 0 && distractors.chance(o.distractor_prob)) {
    const size_t count = 1 + distractors.below(static_cast<size_t>(o.max_distractors));
    for (size_t i = 0; i < count; ++i) {
      const int row = d.pick_distractor(pair.search_entry_index, distractors);
      if (row < 0) continue;
      if (d.paste(cache, row, pair.search_bgr, pair.search_occluder, pair.search_mask,
                  side_in_crop(search, search_jitter), false, distractors)) {
        pair.distractor_entries.push_back(row);
      }
    }
    pair.search_mask.setTo(0, pair.search_occluder);
  }
  if (distractors.chance(o.reference_distractor_prob)) {
    const int row = d.pick_distractor(pair.entry_index, distractors);
    if (row >= 0 && d.paste(cache, row, pair.reference_bgr, pair.reference_occluder, pair.reference_mask,
                            side_in_crop(reference, reference_jitter), true, distractors)) {
      pair.distractor_entries.push_back(row);
    }
  }

  // Photometric jitter after pasting, so that pasted objects get the same light as the rest of their crop.
  Rng photometric(seed, index, Stream::Photometric);
  const bool grey = photometric.chance(o.gray_prob);
  for (cv::Mat* crop : {&pair.reference_bgr, &pair.search_bgr}) {
    colour_jitter(*crop, o.colour_jitter, photometric);
    if (photometric.chance(o.blur_prob)) {
      const double sigma = photometric.uniform(0.5, 2.0);
      cv::GaussianBlur(*crop, *crop, cv::Size(0, 0), sigma);
    }
    if (grey) to_grey(*crop);
  }
  return pair;
}

}  // namespace oceanplus::train
