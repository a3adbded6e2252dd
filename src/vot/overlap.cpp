#include "vot/overlap.h"

#include "common/error.h"

namespace oceanplus::vot {

double calculate_overlap(const Region& a, const Region& b, cv::Size image_size, EmptyOverlap empty) {
  if (a.is_special() || b.is_special()) return 0.0;
  const cv::Rect ba = region_bounds(a), bb = region_bounds(b);
  cv::Rect window;
  if (ba.empty()) {
    window = bb;
  } else if (bb.empty()) {
    window = ba;
  } else {
    window = ba | bb;
  }
  const bool bounded = image_size.width > 0 && image_size.height > 0;
  if (bounded) window &= cv::Rect(cv::Point(0, 0), image_size);
  const double both_empty = empty == EmptyOverlap::kHeadOne ? 1.0 : 0.0;
  if (window.empty()) return both_empty;  // nothing of either region inside the image: both empty there
  if (!bounded && std::int64_t{window.width} * window.height > kMaxOverlapRasterPixels) {
    throw Error("calculate_overlap: the regions span " + std::to_string(window.width) + "x" +
                std::to_string(window.height) + " pixels; pass the image size to bound the raster");
  }
  const cv::Mat ma = rasterize(a, window), mb = rasterize(b, window);
  const int na = cv::countNonZero(ma), nb = cv::countNonZero(mb);
  if (na == 0 && nb == 0) return both_empty;
  if (na == 0 || nb == 0) return 0.0;
  cv::Mat inter;
  cv::bitwise_and(ma, mb, inter);
  const double ni = cv::countNonZero(inter);
  return ni / (double(na) + double(nb) - ni);
}

std::vector<double> calculate_overlaps(const std::vector<Region>& a, const std::vector<Region>& b, cv::Size image_size,
                                       EmptyOverlap empty) {
  if (a.size() != b.size()) {
    throw Error("calculate_overlaps: trajectory has " + std::to_string(a.size()) + " regions, ground truth " +
                std::to_string(b.size()));
  }
  std::vector<double> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = calculate_overlap(a[i], b[i], image_size, empty);
  return out;
}

}  // namespace oceanplus::vot
