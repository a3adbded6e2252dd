// Region text formats, RLE, rasterization and overlaps.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.h"
#include "vot/overlap.h"
#include "vot/region.h"

namespace oceanplus::vot {
namespace {

bool same(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return false;
  return a.empty() || cv::countNonZero(a != b) == 0;
}

cv::Mat random_mask(std::mt19937& rng, int w, int h, double density) {
  std::bernoulli_distribution bit(density);
  cv::Mat m = cv::Mat::zeros(h, w, CV_8U);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at<uint8_t>(y, x) = bit(rng) ? 1 : 0;
  return m;
}

// ---- RLE ----------------------------------------------------------------------------------------------------------

TEST(VotRle, KnownEncodings) {
  EXPECT_EQ(rle_encode(cv::Mat::zeros(2, 3, CV_8U)), (std::vector<int64_t>{6}));
  EXPECT_EQ(rle_encode(cv::Mat::ones(2, 3, CV_8U)), (std::vector<int64_t>{0, 6}));
  cv::Mat m = (cv::Mat_<uint8_t>(2, 3) << 1, 1, 0, 0, 0, 1);
  EXPECT_EQ(rle_encode(m), (std::vector<int64_t>{0, 2, 3, 1}));
  cv::Mat z = (cv::Mat_<uint8_t>(2, 2) << 0, 1, 1, 0);
  EXPECT_EQ(rle_encode(z), (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(rle_encode(cv::Mat(0, 0, CV_8U)), (std::vector<int64_t>{0}));
  // Non-zero values other than 1 count as set.
  cv::Mat v = (cv::Mat_<uint8_t>(1, 3) << 0, 255, 7);
  EXPECT_EQ(rle_encode(v), (std::vector<int64_t>{1, 2}));
}

TEST(VotRle, DecodePastEndIsZero) {
  const cv::Mat m = rle_decode({1, 2}, 3, 2);
  const cv::Mat expect = (cv::Mat_<uint8_t>(2, 3) << 0, 1, 1, 0, 0, 0);
  EXPECT_TRUE(same(m, expect));
  EXPECT_TRUE(same(rle_decode({}, 4, 3), cv::Mat::zeros(3, 4, CV_8U)));
  EXPECT_THROW(rle_decode({3, 4}, 3, 2), Error);   // 7 > 6 pixels
  EXPECT_THROW(rle_decode({-1, 2}, 3, 2), Error);
  EXPECT_THROW(rle_decode({1}, -3, 2), Error);
}

TEST(VotRle, RandomRoundTrips) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> dim(1, 37);
  std::uniform_real_distribution<double> dens(0.0, 1.0);
  for (int it = 0; it < 500; ++it) {
    const int w = dim(rng), h = dim(rng);
    const cv::Mat m = random_mask(rng, w, h, dens(rng));
    const auto runs = rle_encode(m);
    int64_t total = 0;
    for (auto r : runs) {
      ASSERT_GE(r, 0);
      total += r;
    }
    ASSERT_EQ(total, int64_t{w} * h);
    ASSERT_TRUE(same(rle_decode(runs, w, h), m)) << w << "x" << h;
  }
}

TEST(VotRle, FullFrameFormatParseRoundTrips) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> dim(1, 41);
  std::uniform_real_distribution<double> dens(0.0, 0.3);
  for (int it = 0; it < 300; ++it) {
    const int w = dim(rng), h = dim(rng);
    const cv::Mat full = random_mask(rng, w, h, dens(rng));
    const std::string s = format_region(Region::from_full_mask(full));
    const Region back = parse_region(s);
    ASSERT_EQ(back.type, Region::Type::kMask);
    ASSERT_TRUE(same(to_full_mask(back, full.size()), full)) << s;
    // Formatting is canonical: parse -> format gives the same text.
    ASSERT_EQ(format_region(back), s);
  }
}

TEST(VotRle, SpecialMasks) {
  const cv::Size size(7, 5);
  // All zero: the toolkit's empty mask.
  EXPECT_EQ(format_region(Region::from_full_mask(cv::Mat::zeros(size, CV_8U))), "m0,0,0,0,0");
  EXPECT_TRUE(same(to_full_mask(parse_region("m0,0,0,0,0"), size), cv::Mat::zeros(size, CV_8U)));
  // All one.
  const cv::Mat ones = cv::Mat::ones(size, CV_8U);
  EXPECT_EQ(format_region(Region::from_full_mask(ones)), "m0,0,7,5,0,35");
  EXPECT_TRUE(same(to_full_mask(parse_region("m0,0,7,5,0,35"), size), ones));
  // Single pixel at each corner.
  for (const cv::Point p : {cv::Point(0, 0), cv::Point(6, 0), cv::Point(0, 4), cv::Point(6, 4)}) {
    cv::Mat m = cv::Mat::zeros(size, CV_8U);
    m.at<uint8_t>(p) = 1;
    const std::string s = format_region(Region::from_full_mask(m));
    EXPECT_EQ(s, "m" + std::to_string(p.x) + "," + std::to_string(p.y) + ",1,1,0,1");
    EXPECT_TRUE(same(to_full_mask(parse_region(s), size), m));
  }
  // A crop starting with a 1 and one starting with a 0.
  cv::Mat m = cv::Mat::zeros(10, 10, CV_8U);
  m.at<uint8_t>(7, 5) = m.at<uint8_t>(7, 6) = m.at<uint8_t>(8, 7) = 1;
  EXPECT_EQ(format_region(Region::from_full_mask(m)), "m5,7,3,2,0,2,3,1");
  cv::Mat n = cv::Mat::zeros(10, 10, CV_8U);
  n.at<uint8_t>(2, 4) = n.at<uint8_t>(3, 3) = 1;
  EXPECT_EQ(format_region(Region::from_full_mask(n)), "m3,2,2,2,1,2,1");
}

TEST(VotRle, MaskFormatCropsToTightBounds) {
  // A parsed mask with zero margins is written back cropped.
  const Region r = parse_region("m10,20,4,3,5,2");  // crop row 1: x = 1, 2 -> image (11, 21), (12, 21)
  EXPECT_EQ(format_region(r), "m11,21,2,1,0,2");
  // A mask partly outside the image is clipped by to_full_mask.
  const cv::Mat full = to_full_mask(parse_region("m-1,-1,3,3,0,9"), cv::Size(4, 4));
  EXPECT_EQ(cv::countNonZero(full), 4);
  EXPECT_EQ(full.at<uint8_t>(1, 1), 1);
  EXPECT_EQ(full.at<uint8_t>(2, 2), 0);
}

// ---- Parsing ------------------------------------------------------------------------------------------------------

TEST(VotParse, Specials) {
  for (int c : {0, 1, 2}) {
    const Region r = parse_region(std::to_string(c));
    EXPECT_EQ(r.type, Region::Type::kSpecial);
    EXPECT_EQ(r.code, c);
    EXPECT_EQ(format_region(r), std::to_string(c));
  }
  EXPECT_EQ(parse_region("nan").code, 0);
  EXPECT_EQ(parse_region(" 2 \r\n").code, 2);
}

TEST(VotParse, Rectangle) {
  const Region r = parse_region("1.5,2,30.25,40\n");
  ASSERT_EQ(r.type, Region::Type::kRectangle);
  EXPECT_EQ(r.x, 1.5);
  EXPECT_EQ(r.y, 2);
  EXPECT_EQ(r.w, 30.25);
  EXPECT_EQ(r.h, 40);
  EXPECT_EQ(format_region(r), "1.5,2,30.25,40");
  EXPECT_EQ(parse_region(" 1 , 2 , 3 , 4 ").type, Region::Type::kRectangle);
  EXPECT_EQ(parse_region("+1,-2,3e1,4E0").x, 1.0);
  const Region n = parse_region("1,nan,3,4");
  EXPECT_EQ(n.type, Region::Type::kSpecial);
  EXPECT_EQ(n.code, 0);
}

TEST(VotParse, Polygon) {
  const Region r = parse_region("0,0,10,0,10,5");
  ASSERT_EQ(r.type, Region::Type::kPolygon);
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_EQ(r.points[2], cv::Point2d(10, 5));
  EXPECT_EQ(format_region(r), "0,0,10,0,10,5");
  EXPECT_EQ(parse_region("0,0,1,0,1,1,0,1").points.size(), 4u);
  EXPECT_EQ(parse_region("0,0,1,0,1,nan,0,1").type, Region::Type::kSpecial);
}

TEST(VotParse, Mask) {
  const Region r = parse_region("m0,0,2,2,1,2");
  ASSERT_EQ(r.type, Region::Type::kMask);
  EXPECT_TRUE(same(r.mask, (cv::Mat_<uint8_t>(2, 2) << 0, 1, 1, 0)));
  const Region z = parse_region("m3,4,2,2");  // no runs: all zero
  EXPECT_EQ(z.offset, cv::Point(3, 4));
  EXPECT_EQ(cv::countNonZero(z.mask), 0);
  EXPECT_TRUE(is_empty(z));
}

void expect_error(const std::string& line, const std::string& fragment) {
  try {
    parse_region(line);
    ADD_FAILURE() << "no error for '" << line << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "'" << line << "': " << e.what();
  }
}

TEST(VotParse, Errors) {
  expect_error("", "empty region line");
  expect_error("  \r\n", "empty region line");
  expect_error("1,2", "got 2");
  expect_error("1,2,3", "got 3");
  expect_error("1,2,3,4,5", "got 5");
  expect_error("1,2,3,4,5,6,7", "got 7");
  expect_error("abc", "not a number");
  expect_error("1,,3,4", "region number 2 is empty");
  expect_error("1,2,3,4,", "region number 5 is empty");
  expect_error("0x10", "not a number");
  expect_error("1e99999999999999999999", "");  // no crash; saturates or errors
  expect_error("m1,2", "needs");
  expect_error("m1,2,3,x", "height");
  expect_error("m0,0,-1,5", "negative");
  expect_error("m0,0,3,3,5,5", "cover more");
  expect_error("m0,0,3,3,-1", "negative");
  expect_error("m0,0,3,3,1,", "run");
  expect_error("m0,0,100000,100000,1", "exceeds the limit");
  expect_error("m0,0,2147483647,2147483647", "exceeds the limit");
  expect_error("m0,0,99999999999999999999,1", "out of range");
  expect_error("m0,0,1,1,9223372036854775807,9223372036854775807", "cover more");
  expect_error("m9999999999,0,1,1", "offset");
  expect_error("99999999999", "out of range");
  // A custom bound.
  EXPECT_THROW(parse_region("m0,0,100,100,0,1", 1000), Error);
  EXPECT_NO_THROW(parse_region("m0,0,100,100,0,1", 10000));
}

TEST(VotParse, LargeExponentSaturates) {
  // Python's float() gives inf here; it must not crash and rasterizes clamped.
  Region r;
  ASSERT_NO_THROW(r = parse_region("0,0,1e999,5"));
  EXPECT_EQ(r.type, Region::Type::kRectangle);
  const cv::Mat m = to_full_mask(r, cv::Size(8, 8));
  EXPECT_EQ(cv::countNonZero(m), 8 * 5);
}

// ---- Rasterization ------------------------------------------------------------------------------------------------

TEST(VotRaster, RectangleRule) {
  // x from round(x) to round(x + w - 1) inclusive, same in y.
  const cv::Mat m = to_full_mask(Region::rectangle(1, 2, 3, 4), cv::Size(10, 10));
  EXPECT_EQ(cv::countNonZero(m), 12);
  EXPECT_EQ(region_bounds(Region::rectangle(1, 2, 3, 4)), cv::Rect(1, 2, 3, 4));
  EXPECT_EQ(m.at<uint8_t>(2, 1), 1);
  EXPECT_EQ(m.at<uint8_t>(5, 3), 1);
  EXPECT_EQ(m.at<uint8_t>(6, 3), 0);
  EXPECT_EQ(m.at<uint8_t>(5, 4), 0);
  // Fractional: round(0.6) = 1 .. round(1.6) = 2; round(0.4) = 0 .. round(1.4) = 1.
  EXPECT_EQ(region_bounds(Region::rectangle(0.6, 0.4, 2, 2)), cv::Rect(1, 0, 2, 2));
  // Half to even, as Python's round: round(0.5) = 0, round(2.5) = 2, round(1.5) = 2.
  EXPECT_EQ(region_bounds(Region::rectangle(0.5, 1.5, 3, 1)), cv::Rect(0, 2, 3, 1));
  // w = 1 covers one column; w < 1 may still cover one (round(x + w - 1) >= round(x)) or none.
  EXPECT_EQ(region_bounds(Region::rectangle(3, 3, 1, 1)), cv::Rect(3, 3, 1, 1));
  EXPECT_TRUE(region_bounds(Region::rectangle(3, 3, 0, 5)).empty());
  EXPECT_TRUE(is_empty(Region::rectangle(3, 3, 0, 5)));
  EXPECT_FALSE(is_empty(Region::rectangle(3, 3, 1, 1)));
  // Clipped to the image.
  EXPECT_EQ(cv::countNonZero(to_full_mask(Region::rectangle(-5, -5, 10, 10), cv::Size(3, 3))), 9);
}

TEST(VotRaster, PolygonOfARectangleMatchesTheRectangle) {
  const cv::Size size(20, 20);
  for (int x = -2; x < 5; ++x) {
    for (int w = 1; w < 6; ++w) {
      const Region rect = Region::rectangle(x, 3, w, 7);
      const Region poly = Region::polygon({{double(x), 3}, {double(x + w), 3}, {double(x + w), 10}, {double(x), 10}});
      EXPECT_TRUE(same(to_full_mask(rect, size), to_full_mask(poly, size))) << x << " " << w;
    }
  }
}

TEST(VotRaster, PolygonTriangle) {
  // Right triangle (0,0),(10,0),(0,10): row y spans x in [0, 10 - y) -> 10 + 9 + ... + 1 pixels.
  const Region tri = Region::polygon({{0, 0}, {10, 0}, {0, 10}});
  const cv::Mat m = to_full_mask(tri, cv::Size(20, 20));
  EXPECT_EQ(cv::countNonZero(m), 55);
  EXPECT_EQ(m.at<uint8_t>(0, 9), 1);
  EXPECT_EQ(m.at<uint8_t>(9, 0), 1);
  EXPECT_EQ(m.at<uint8_t>(9, 1), 0);
  // Degenerate polygons are empty.
  EXPECT_TRUE(is_empty(Region::polygon({{0, 0}, {5, 5}, {10, 10}})));
  EXPECT_TRUE(is_empty(Region::polygon({{0, 0}, {5, 5}})));
  // A window rasterization agrees with the full one.
  const cv::Mat part = rasterize(tri, cv::Rect(2, 1, 5, 4));
  EXPECT_TRUE(same(part, m(cv::Rect(2, 1, 5, 4))));
}

// ---- Overlap ------------------------------------------------------------------------------------------------------

TEST(VotOverlap, Basic) {
  const cv::Size img(100, 100);
  const Region a = Region::rectangle(0, 0, 10, 10);
  EXPECT_DOUBLE_EQ(calculate_overlap(a, a, img), 1.0);
  EXPECT_DOUBLE_EQ(calculate_overlap(a, Region::rectangle(20, 20, 5, 5), img), 0.0);
  EXPECT_DOUBLE_EQ(calculate_overlap(a, Region::rectangle(5, 0, 10, 10), img), 50.0 / 150.0);
  // Clipping to the image: the second rectangle loses 5 columns.
  EXPECT_DOUBLE_EQ(calculate_overlap(a, Region::rectangle(5, 0, 10, 10), cv::Size(10, 10)), 0.5);
  // No image bound.
  EXPECT_DOUBLE_EQ(calculate_overlap(a, Region::rectangle(5, 0, 10, 10), cv::Size()), 50.0 / 150.0);
  // Mask vs rectangle vs polygon.
  const Region m = Region::from_full_mask(to_full_mask(a, img));
  EXPECT_DOUBLE_EQ(calculate_overlap(m, a, img), 1.0);
  const Region p = Region::polygon({{0, 0}, {10, 0}, {10, 10}, {0, 10}});
  EXPECT_DOUBLE_EQ(calculate_overlap(m, p, img), 1.0);
}

TEST(VotOverlap, EmptyAndSpecial) {
  const cv::Size img(50, 50);
  const Region a = Region::rectangle(0, 0, 10, 10);
  const Region empty_mask = parse_region("m0,0,0,0,0");
  const Region empty_rect = Region::rectangle(5, 5, 0, 0);
  EXPECT_EQ(calculate_overlap(a, empty_mask, img), 0.0);
  EXPECT_EQ(calculate_overlap(empty_rect, a, img), 0.0);
  EXPECT_EQ(calculate_overlap(empty_mask, empty_rect, img), 0.0);
  EXPECT_EQ(calculate_overlap(empty_mask, empty_rect, img, EmptyOverlap::kVot2020Zero), 0.0);
  EXPECT_EQ(calculate_overlap(empty_mask, empty_mask, img, EmptyOverlap::kHeadOne), 1.0);
  EXPECT_EQ(calculate_overlap(a, empty_mask, img, EmptyOverlap::kHeadOne), 0.0);
  // Both outside the image: empty there.
  EXPECT_EQ(calculate_overlap(Region::rectangle(60, 60, 5, 5), Region::rectangle(70, 60, 5, 5), img,
                              EmptyOverlap::kHeadOne),
            1.0);
  // Specials (the init frame) always give 0, even in HEAD mode.
  for (int c : {0, 1, 2}) {
    EXPECT_EQ(calculate_overlap(Region::special(c), a, img), 0.0);
    EXPECT_EQ(calculate_overlap(a, Region::special(c), img, EmptyOverlap::kHeadOne), 0.0);
    EXPECT_EQ(calculate_overlap(Region::special(c), Region::special(c), img, EmptyOverlap::kHeadOne), 0.0);
  }
  EXPECT_THROW(calculate_overlaps({a}, {a, a}, img), Error);
}

TEST(VotOverlap, UnboundedHugeRasterIsRefused) {
  EXPECT_THROW(calculate_overlap(Region::rectangle(0, 0, 1e6, 1e6), Region::rectangle(0, 0, 5, 5), cv::Size()), Error);
  EXPECT_NEAR(calculate_overlap(Region::rectangle(0, 0, 1e6, 1e6), Region::rectangle(0, 0, 5, 5), cv::Size(10, 10)),
              0.25, 1e-12);
}

}  // namespace
}  // namespace oceanplus::vot
