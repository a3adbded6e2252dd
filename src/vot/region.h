// VOT regions: the text formats of groundtruth.txt and trajectory files (special code, rectangle, polygon and the
// RLE "m" mask), their rasterization, and the sequence-side value/tag files. Torch-free.
//
// Pixel convention (the toolkit's): pixel (x, y) is the unit square whose centre is at the integer coordinate
// (x, y). A rectangle x,y,w,h covers columns round(x) .. round(x + w - 1) inclusive (rows alike). A polygon is
// filled by scanlines through the pixel centres: row y is inside where the horizontal line at y crosses the polygon
// (even-odd rule; an edge counts for rows y with min(y0, y1) <= y < max(y0, y1)), and on a row the span between two
// consecutive crossings xa <= xb covers columns round(xa) .. round(xb) - 1. With integer corners the polygon of a
// rectangle x,y,w,h covers exactly the pixels of the rectangle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace oceanplus::vot {

// Largest mask crop (w * h pixels) parse_region accepts by default: a hostile header cannot make it allocate more.
constexpr std::int64_t kDefaultMaxMaskPixels = std::int64_t{1} << 26;  // 64 Mi pixels, e.g. 8192 x 8192

// Special codes of the toolkit.
enum SpecialCode : int { kSpecialUnknown = 0, kSpecialInitialization = 1, kSpecialFailure = 2 };

struct Region {
  enum class Type { kSpecial, kRectangle, kPolygon, kMask };
  Type type = Type::kSpecial;
  int code = kSpecialUnknown;          // kSpecial
  double x = 0, y = 0, w = 0, h = 0;   // kRectangle
  std::vector<cv::Point2d> points;     // kPolygon (at least 3 points when parsed)
  cv::Point offset{0, 0};              // kMask: image position of mask(0, 0)
  cv::Mat mask;                        // kMask: CV_8U, 0/1 (any non-zero counts as 1); may be empty (0 x 0)

  static Region special(int code);
  static Region rectangle(double x, double y, double w, double h);
  static Region polygon(std::vector<cv::Point2d> points);
  // A mask crop placed at `offset`. The crop is stored as given (not cropped to tight bounds); non-zero -> 1.
  static Region from_mask(const cv::Mat& crop, cv::Point offset);
  // A full-frame mask (CV_8U, non-zero = object), stored cropped to its tight bounds (empty mask: 0 x 0 at 0,0).
  static Region from_full_mask(const cv::Mat& full);

  bool is_special() const { return type == Type::kSpecial; }
};

// Emptiness as used by the failure rule ("GT is empty"): a rectangle or polygon without a pixel (unclipped), a mask
// without a set pixel. Specials count as not empty.
bool is_empty(const Region& r);

// Parses one line ("\r\n" and surrounding blanks are ignored). Throws oceanplus::Error naming the problem for anything
// malformed: empty line, bad number, wrong count (2, 3 or an odd count > 4 numbers), a mask with a negative size,
// a size above max_mask_pixels, negative runs, or runs covering more than w * h pixels. NaN in a number line gives
// Special(0), as in the toolkit.
Region parse_region(const std::string& line, std::int64_t max_mask_pixels = kDefaultMaxMaskPixels);

// Text form: "<code>" for specials, "x,y,w,h" / "x0,y0,x1,y1,..." with the shortest round-trip decimal numbers
// for shapes, "m<x0>,<y0>,<w>,<h>,<runs>" for masks. Masks are cropped to their tight bounds first; the trailing run
// is written; an empty mask is "m0,0,0,0,0".
std::string format_region(const Region& r);

// RLE over a crop, row-major, alternating runs starting with zeros (the first run is 0 when the crop starts with a
// 1), trailing run included. An empty (0-pixel) crop encodes as {0}.
std::vector<std::int64_t> rle_encode(const cv::Mat& crop01);
// Decodes runs into a w x h CV_8U 0/1 crop; pixels past the end of the runs are 0. Throws oceanplus::Error for
// negative sizes or runs, or runs that cover more than w * h pixels.
cv::Mat rle_decode(const std::vector<std::int64_t>& runs, int width, int height);

// Tight bounds of the non-zero pixels of a mask, or an empty Rect when there are none.
cv::Rect mask_bounds(const cv::Mat& mask);

// Rasterizes `r` into the pixel window `window` (image coordinates): a CV_8U 0/1 matrix of window.size().
// Specials rasterize to all zeros.
cv::Mat rasterize(const Region& r, const cv::Rect& window);
// Full-frame CV_8U 0/1 mask of `r` for an image of `size` (parts outside the image are dropped).
cv::Mat to_full_mask(const Region& r, cv::Size size);
// Pixel bounding box of `r` (inclusive extents turned into a cv::Rect), unclipped; empty Rect for specials or empty
// shapes. Coordinates are clamped to +-2^29 before rounding so hostile values cannot overflow. Rounding is
// round-half-to-even, as Python's round().
cv::Rect region_bounds(const Region& r);

// groundtruth.txt / trajectory files: one region per line; trailing blank lines are ignored. Errors name the file and
// the line number.
std::vector<Region> read_regions(const std::string& path, std::int64_t max_mask_pixels = kDefaultMaxMaskPixels);
void write_regions(const std::string& path, const std::vector<Region>& regions);
// "*.value" files: one number per line. "*.tag" / "*.label" files: one 0/1 (any non-zero number = true) per line.
std::vector<double> read_values(const std::string& path);
std::vector<bool> read_tags(const std::string& path);

}  // namespace oceanplus::vot
