/* oceanplus-gst tests: the oceanplusoverlay element, pixel by pixel
 * SPDX-License-Identifier: MIT
 *
 * Frames are odd-sized and non-square (97 × 61), so RGB rows carry padding bytes, and each buffer ends with guard
 * bytes past the frame: every byte that is not a drawn pixel must come out exactly as it went in.
 */
#include "plugin_test_util.h"

#include <gst/check/gstharness.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using namespace oceanplus_test;

namespace {

constexpr guint kWidth = 97;
constexpr guint kHeight = 61;
constexpr gsize kGuardBytes = 64;

struct Rgb
{
  int r, g, b;
  bool operator== (const Rgb & o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!= (const Rgb & o) const { return !(*this == o); }
  int max_channel_difference (const Rgb & o) const
  {
    return std::max ({std::abs (r - o.r), std::abs (g - o.g), std::abs (b - o.b)});
  }
};

std::ostream &
operator<< (std::ostream & os, const Rgb & c)
{
  return os << "(" << c.r << ", " << c.g << ", " << c.b << ")";
}

/* Which pixels a test allows to change. */
using PixelPredicate = std::function<bool (guint x, guint y)>;

class OverlayTest : public ::testing::Test
{
protected:
  static void SetUpTestSuite () { init_gstreamer_with_plugin (); }

  void TearDown () override { stop (); }

  /* Starts a fresh element on @format. Only masks are drawn unless a test turns the rest on. */
  void start (GstVideoFormat format)
  {
    stop ();
    gst_video_info_set_format (&info_, format, kWidth, kHeight);
    harness_ = gst_harness_new ("oceanplusoverlay");
    ASSERT_NE (harness_, nullptr);
    g_object_set (harness_->element, "draw-boxes", FALSE, "draw-polygons", FALSE, "draw-labels", FALSE, nullptr);
    gst_harness_set_src_caps (harness_, gst_video_info_to_caps (&info_));
  }

  void stop ()
  {
    if (harness_ != nullptr)
      gst_harness_teardown (harness_);
    harness_ = nullptr;
  }

  /* A frame with a byte pattern in 60..190 (away from the palette's saturated channels), guard bytes included. */
  GstBuffer *new_frame () const
  {
    GstBuffer *buffer = gst_buffer_new_allocate (nullptr, info_.size + kGuardBytes, nullptr);
    GstMapInfo map;
    gst_buffer_map (buffer, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < map.size; ++i)
      map.data[i] = static_cast<uint8_t> (60 + (i * 31 + (i >> 7) * 17) % 131);
    gst_buffer_unmap (buffer, &map);
    return buffer;
  }

  /* Pushes @frame through the element; fills before_ and after_ with the bytes in and out. */
  void run (GstBuffer * frame)
  {
    before_ = buffer_bytes (frame);
    GstBuffer *out = gst_harness_push_and_pull (harness_, frame);
    ASSERT_NE (out, nullptr);
    after_ = buffer_bytes (out);
    gst_buffer_unref (out);
    ASSERT_EQ (before_.size (), after_.size ());
  }

  gsize pixel_offset (guint x, guint y) const
  {
    return y * GST_VIDEO_INFO_PLANE_STRIDE (&info_, 0) + x * GST_VIDEO_INFO_COMP_PSTRIDE (&info_, 0);
  }

  Rgb rgb_at (const std::vector<uint8_t> & bytes, guint x, guint y) const
  {
    const gsize at = pixel_offset (x, y);
    return {bytes[at + GST_VIDEO_INFO_COMP_POFFSET (&info_, GST_VIDEO_COMP_R)],
        bytes[at + GST_VIDEO_INFO_COMP_POFFSET (&info_, GST_VIDEO_COMP_G)],
        bytes[at + GST_VIDEO_INFO_COMP_POFFSET (&info_, GST_VIDEO_COMP_B)]};
  }

  Rgb before (guint x, guint y) const { return rgb_at (before_, x, y); }
  Rgb after (guint x, guint y) const { return rgb_at (after_, x, y); }
  bool changed (guint x, guint y) const { return before (x, y) != after (x, y); }

  /* Every byte outside the pixels @may_change allows (row padding and guard bytes included) is unchanged. */
  void expect_unchanged_except (const PixelPredicate & may_change) const
  {
    std::vector<bool> allowed (before_.size (), false);
    const gsize pixel_stride = GST_VIDEO_INFO_COMP_PSTRIDE (&info_, 0);
    for (guint y = 0; y < kHeight; ++y)
      for (guint x = 0; x < kWidth; ++x)
        if (may_change (x, y))
          std::fill_n (allowed.begin () + pixel_offset (x, y), pixel_stride, true);
    int reported = 0, unexpected = 0;
    for (gsize i = 0; i < before_.size (); ++i) {
      if (allowed[i] || before_[i] == after_[i])
        continue;
      ++unexpected;
      if (reported++ < 5)
        ADD_FAILURE () << "byte " << i << " changed (" << describe_byte (i) << ")";
    }
    EXPECT_EQ (unexpected, 0);
  }

  void expect_unchanged () const { expect_unchanged_except ([] (guint, guint) { return false; }); }

  std::string describe_byte (gsize i) const
  {
    if (i >= info_.size)
      return "guard byte past the frame";
    const gsize stride = GST_VIDEO_INFO_PLANE_STRIDE (&info_, 0);
    const gsize x = (i % stride) / GST_VIDEO_INFO_COMP_PSTRIDE (&info_, 0);
    if (x >= kWidth)
      return "row padding of row " + std::to_string (i / stride);
    return "pixel " + std::to_string (x) + ", " + std::to_string (i / stride);
  }

  /* The frame pixels that the library says are inside the target's mask (its own nearest-neighbour lookup). */
  static std::vector<bool> mask_coverage (const GstOceanPlusTrackMeta * meta)
  {
    std::vector<bool> inside (kWidth * kHeight);
    for (guint y = 0; y < kHeight; ++y)
      for (guint x = 0; x < kWidth; ++x)
        inside[y * kWidth + x] = gst_oceanplus_track_meta_mask_contains (meta, x, y);
    return inside;
  }

  static GstOceanPlusTrackMeta *add_target (GstBuffer * frame, guint64 id, GstOceanPlusTrackState state, gint x,
      gint y, guint width, guint height)
  {
    return gst_buffer_add_oceanplus_track_meta (frame, id, state, x, y, width, height, 0.87f);
  }

  /* A target whose box is the mask rectangle and whose mask is @mask_width × @mask_height. */
  static GstOceanPlusTrackMeta *add_masked_target (GstBuffer * frame, guint64 id, GstOceanPlusTrackState state, gint x,
      gint y, guint width, guint height, guint mask_width, guint mask_height,
      const std::function<bool (guint, guint)> & foreground)
  {
    GstOceanPlusTrackMeta *meta = add_target (frame, id, state, x, y, width, height);
    EXPECT_TRUE (gst_oceanplus_track_meta_set_mask (meta, make_mask (mask_width, mask_height, foreground), x, y,
            width, height));
    return meta;
  }

  GstVideoInfo info_;
  GstHarness *harness_ = nullptr;
  std::vector<uint8_t> before_, after_;
};

const std::array<GstVideoFormat, 10> kFormats = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
  GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_ARGB, GST_VIDEO_FORMAT_ABGR,
  GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
};

bool
checkerboard_ish (guint col, guint row)
{
  return (col + 2 * row) % 3 != 0;
}

}  // namespace

TEST_F (OverlayTest, MaskPixelsChangeAndEverythingElseStaysExactInEveryFormat)
{
  for (GstVideoFormat format : kFormats) {
    SCOPED_TRACE (gst_video_format_to_string (format));
    start (format);

    GstBuffer *frame = new_frame ();
    const GstOceanPlusTrackMeta *meta =
        add_masked_target (frame, 1, GST_OCEANPLUS_TRACK_STATE_TRACKING, 30, 20, 21, 13, 21, 13, checkerboard_ish);
    const std::vector<bool> inside = mask_coverage (meta);
    ASSERT_TRUE (std::count (inside.begin (), inside.end (), true) > 100);
    run (frame);

    for (guint y = 0; y < kHeight; ++y) {
      for (guint x = 0; x < kWidth; ++x) {
        if (inside[y * kWidth + x]) {
          EXPECT_TRUE (changed (x, y)) << "mask pixel " << x << ", " << y << " kept its colour";
        }
      }
    }
    expect_unchanged_except ([&] (guint x, guint y) { return inside[y * kWidth + x]; });
  }
}

TEST_F (OverlayTest, OpaqueMaskHasTheSameColourAndKeepsAlphaInEveryFormat)
{
  bool have_reference = false;
  Rgb reference{};
  for (GstVideoFormat format : kFormats) {
    SCOPED_TRACE (gst_video_format_to_string (format));
    start (format);
    g_object_set (harness_->element, "mask-alpha", 1.0, nullptr);

    GstBuffer *frame = new_frame ();
    add_masked_target (frame, 5, GST_OCEANPLUS_TRACK_STATE_TRACKING, 40, 30, 9, 7, 9, 7,
        [] (guint, guint) { return true; });
    run (frame);

    /* Opaque: every mask pixel is exactly the id's colour, whatever the byte order of the format. */
    const Rgb colour = after (40, 30);
    for (guint y = 30; y < 37; ++y)
      for (guint x = 40; x < 49; ++x)
        EXPECT_EQ (after (x, y), colour);
    if (!have_reference) {
      reference = colour;
      have_reference = true;
    }
    EXPECT_EQ (colour, reference) << "the channels are mapped differently in this format";

    /* The alpha (or padding) byte of a mask pixel is not the blend's business. */
    if (GST_VIDEO_INFO_COMP_PSTRIDE (&info_, 0) == 4) {
      const gsize fill = 6 - GST_VIDEO_INFO_COMP_POFFSET (&info_, GST_VIDEO_COMP_R) -
          GST_VIDEO_INFO_COMP_POFFSET (&info_, GST_VIDEO_COMP_G) - GST_VIDEO_INFO_COMP_POFFSET (&info_, GST_VIDEO_COMP_B);
      EXPECT_EQ (after_[pixel_offset (44, 33) + fill], before_[pixel_offset (44, 33) + fill]);
    }
  }
}

TEST_F (OverlayTest, MaskIsScaledToItsRectangleWithWidthAndHeightInOrder)
{
  start (GST_VIDEO_FORMAT_RGB);
  g_object_set (harness_->element, "mask-alpha", 1.0, nullptr);

  /* 4 columns × 2 rows, asymmetric: row 0 has columns 0 and 1, row 1 has column 3 only. Drawn into a 20 × 6
   * rectangle each mask column covers 5 frame columns and each mask row 3 frame rows. */
  const auto pattern = [] (guint col, guint row) { return row == 0 ? col <= 1 : col == 3; };
  GstBuffer *frame = new_frame ();
  add_masked_target (frame, 2, GST_OCEANPLUS_TRACK_STATE_TRACKING, 10, 12, 20, 6, 4, 2, pattern);
  run (frame);

  const auto expected_inside = [&] (guint x, guint y) {
    return x >= 10 && x < 30 && y >= 12 && y < 18 && pattern ((x - 10) / 5, (y - 12) / 3);
  };
  for (guint y = 0; y < kHeight; ++y) {
    for (guint x = 0; x < kWidth; ++x) {
      if (expected_inside (x, y)) {
        EXPECT_TRUE (changed (x, y)) << "pixel " << x << ", " << y << " should be inside the scaled mask";
      }
    }
  }
  expect_unchanged_except (expected_inside);
}

TEST_F (OverlayTest, DownscaledMaskFollowsTheLibrarysLookup)
{
  start (GST_VIDEO_FORMAT_BGRx);

  /* A mask at a finer resolution than its rectangle (as after a videoscale downscale), odd sizes both. */
  GstBuffer *frame = new_frame ();
  const GstOceanPlusTrackMeta *meta = add_masked_target (frame, 4, GST_OCEANPLUS_TRACK_STATE_TRACKING, 7, 9, 23, 17,
      51, 37, [] (guint col, guint row) { return (col * 7 + row * 3) % 5 < 2; });
  const std::vector<bool> inside = mask_coverage (meta);
  run (frame);

  for (guint y = 0; y < kHeight; ++y) {
    for (guint x = 0; x < kWidth; ++x) {
      if (inside[y * kWidth + x]) {
        EXPECT_TRUE (changed (x, y)) << "pixel " << x << ", " << y;
      }
    }
  }
  expect_unchanged_except ([&] (guint x, guint y) { return inside[y * kWidth + x]; });
}

TEST_F (OverlayTest, TargetsPartlyOrWhollyOutsideTheFrameAreClipped)
{
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_xBGR}) {
    SCOPED_TRACE (gst_video_format_to_string (format));
    start (format);
    g_object_set (harness_->element, "draw-boxes", TRUE, "draw-polygons", TRUE, "draw-labels", TRUE,
        "line-width", 5u, nullptr);

    GstBuffer *frame = new_frame ();
    /* Over the left and bottom edges, and over the right and top edges. */
    GstOceanPlusTrackMeta *left_bottom = add_masked_target (frame, 1, GST_OCEANPLUS_TRACK_STATE_TRACKING, -15, 45,
        40, 30, 40, 30, [] (guint, guint) { return true; });
    const float far_polygon[] = {-50.f, -50.f, 500.f, 30.f, 60.f, 900.f, -1e9f, 1e9f};
    ASSERT_TRUE (gst_oceanplus_track_meta_set_polygon (left_bottom, far_polygon, 4));
    add_masked_target (frame, 2, GST_OCEANPLUS_TRACK_STATE_LOST, 80, -9, 31, 20, 7, 5,
        [] (guint col, guint) { return col % 2 == 0; });
    /* Entirely outside, with extreme sizes. */
    add_masked_target (frame, 3, GST_OCEANPLUS_TRACK_STATE_TRACKING, G_MAXINT - 10, -1000000, G_MAXUINT, G_MAXUINT,
        3, 3, [] (guint, guint) { return true; });
    add_target (frame, 4, GST_OCEANPLUS_TRACK_STATE_NEW, G_MININT, G_MININT, G_MAXUINT, 5);
    run (frame);

    /* The visible parts are drawn, up to the frame's edges. */
    EXPECT_TRUE (changed (0, 60));
    EXPECT_TRUE (changed (20, 55));
    EXPECT_TRUE (changed (82, 5));
    /* Nothing past the frame (row padding and guard bytes are intact), and nothing far from the visible targets
     * (their masks, outlines and labels): the polygon and the third and fourth targets lie wholly outside. */
    expect_unchanged_except ([] (guint x, guint y) { return (x <= 60 && y >= 25) || (x >= 40 && y <= 25); });
  }
}

TEST_F (OverlayTest, BoxOutlineIsDrawnOnTheBoxEdgesOnly)
{
  start (GST_VIDEO_FORMAT_BGRA);
  const guint line_width = 3;
  g_object_set (harness_->element, "draw-boxes", TRUE, "line-width", line_width, nullptr);

  GstBuffer *frame = new_frame ();
  add_target (frame, 6, GST_OCEANPLUS_TRACK_STATE_TRACKING, 20, 15, 31, 21);
  run (frame);

  const int left = 20, top = 15, right = 50, bottom = 35, reach = static_cast<int> (line_width);
  for (const auto & [x, y] : std::vector<std::pair<int, int>>{{left, top}, {right, bottom}, {left, 25}, {right, 25},
           {35, top}, {35, bottom}})
    EXPECT_TRUE (changed (x, y)) << "edge pixel " << x << ", " << y;
  expect_unchanged_except ([&] (guint ux, guint uy) {
    const int x = static_cast<int> (ux), y = static_cast<int> (uy);
    const bool within_outer = x >= left - reach && x <= right + reach && y >= top - reach && y <= bottom + reach;
    const bool within_inner = x > left + reach && x < right - reach && y > top + reach && y < bottom - reach;
    return within_outer && !within_inner;
  });
}

TEST_F (OverlayTest, PolygonIsDrawnWhenEnabled)
{
  start (GST_VIDEO_FORMAT_RGBx);
  g_object_set (harness_->element, "draw-polygons", TRUE, "line-width", 1u, nullptr);

  GstBuffer *frame = new_frame ();
  GstOceanPlusTrackMeta *meta = add_target (frame, 9, GST_OCEANPLUS_TRACK_STATE_TRACKING, 10, 10, 31, 31);
  const float diamond[] = {25.f, 10.f, 40.f, 25.f, 25.f, 40.f, 10.f, 25.f};
  ASSERT_TRUE (gst_oceanplus_track_meta_set_polygon (meta, diamond, 4));
  run (frame);

  EXPECT_TRUE (changed (25, 10));
  EXPECT_TRUE (changed (40, 25));
  EXPECT_TRUE (changed (32, 17));  /* on the edge between the first two corners */
  EXPECT_FALSE (changed (25, 25)); /* the centre */
  EXPECT_FALSE (changed (12, 12)); /* the box's corner: boxes are off */
  expect_unchanged_except ([] (guint x, guint y) { return x >= 8 && x <= 42 && y >= 8 && y <= 42; });
}

TEST_F (OverlayTest, SameIdSameColourAcrossBuffersAndDistinctIdsDistinctColours)
{
  start (GST_VIDEO_FORMAT_RGB);
  g_object_set (harness_->element, "mask-alpha", 1.0, nullptr);
  const auto all = [] (guint, guint) { return true; };

  GstBuffer *first = new_frame ();
  add_masked_target (first, 7, GST_OCEANPLUS_TRACK_STATE_TRACKING, 5, 5, 6, 6, 6, 6, all);
  run (first);
  const Rgb id7_first = after (7, 7);

  GstBuffer *second = new_frame ();
  add_masked_target (second, 7, GST_OCEANPLUS_TRACK_STATE_TRACKING, 60, 40, 6, 6, 3, 3, all);
  add_masked_target (second, 8, GST_OCEANPLUS_TRACK_STATE_TRACKING, 30, 20, 6, 6, 6, 6, all);
  run (second);
  EXPECT_EQ (after (62, 42), id7_first);
  EXPECT_NE (after (32, 22), id7_first);

  /* Ids 1..8 side by side: every pair is far apart in at least one channel. */
  GstBuffer *many = new_frame ();
  for (guint64 id = 1; id <= 8; ++id)
    add_masked_target (many, id, GST_OCEANPLUS_TRACK_STATE_TRACKING, 4 + ((id - 1) % 4) * 24, 5 + ((id - 1) / 4) * 30,
        10, 10, 10, 10, all);
  run (many);
  std::vector<Rgb> colours;
  for (guint64 id = 1; id <= 8; ++id)
    colours.push_back (after (8 + ((id - 1) % 4) * 24, 9 + ((id - 1) / 4) * 30));
  for (size_t i = 0; i < colours.size (); ++i)
    for (size_t j = i + 1; j < colours.size (); ++j)
      EXPECT_GE (colours[i].max_channel_difference (colours[j]), 48)
          << "ids " << i + 1 << " and " << j + 1 << ": " << colours[i] << " vs " << colours[j];
}

TEST_F (OverlayTest, ZeroMaskAlphaLeavesMaskPixelsUnchanged)
{
  start (GST_VIDEO_FORMAT_ABGR);
  g_object_set (harness_->element, "mask-alpha", 0.0, nullptr);

  GstBuffer *frame = new_frame ();
  add_masked_target (frame, 1, GST_OCEANPLUS_TRACK_STATE_TRACKING, 10, 10, 50, 30, 25, 15,
      [] (guint, guint) { return true; });
  run (frame);
  expect_unchanged ();
}

TEST_F (OverlayTest, InitRequestsAreNotDrawn)
{
  start (GST_VIDEO_FORMAT_RGB);
  g_object_set (harness_->element, "draw-boxes", TRUE, "draw-polygons", TRUE, "draw-labels", TRUE, "mask-alpha", 1.0,
      nullptr);

  GstBuffer *frame = new_frame ();
  GstOceanPlusTrackMeta *request = gst_buffer_add_oceanplus_init_meta (frame, 0, 10, 10, 30, 20);
  ASSERT_TRUE (gst_oceanplus_track_meta_set_mask (request, make_mask (30, 20, [] (guint, guint) { return true; }),
          10, 10, 30, 20));
  run (frame);
  expect_unchanged ();
}

TEST_F (OverlayTest, LostTargetsAreDimmedAndDashed)
{
  start (GST_VIDEO_FORMAT_RGB);
  g_object_set (harness_->element, "mask-alpha", 1.0, nullptr);
  const auto all = [] (guint, guint) { return true; };

  GstBuffer *tracking = new_frame ();
  add_masked_target (tracking, 3, GST_OCEANPLUS_TRACK_STATE_TRACKING, 10, 10, 8, 8, 8, 8, all);
  run (tracking);
  const Rgb solid = after (12, 12);
  const Rgb original = before (12, 12);

  GstBuffer *lost = new_frame ();
  add_masked_target (lost, 3, GST_OCEANPLUS_TRACK_STATE_LOST, 10, 10, 8, 8, 8, 8, all);
  run (lost);
  ASSERT_EQ (before (12, 12), original);
  EXPECT_TRUE (changed (12, 12));
  EXPECT_NE (after (12, 12), solid);
  EXPECT_LT (after (12, 12).max_channel_difference (original), solid.max_channel_difference (original));

  /* The outline of a lost target has gaps; a tracked one's is continuous. */
  g_object_set (harness_->element, "draw-boxes", TRUE, "line-width", 1u, nullptr);
  for (GstOceanPlusTrackState state : {GST_OCEANPLUS_TRACK_STATE_LOST, GST_OCEANPLUS_TRACK_STATE_TRACKING}) {
    GstBuffer *frame = new_frame ();
    add_target (frame, 3, state, 5, 30, 80, 20);
    run (frame);
    int on_edge = 0;
    for (guint x = 5; x < 85; ++x)
      on_edge += changed (x, 30) ? 1 : 0;
    if (state == GST_OCEANPLUS_TRACK_STATE_LOST) {
      EXPECT_GT (on_edge, 20);
      EXPECT_LT (on_edge, 70);
    } else {
      EXPECT_EQ (on_edge, 80);
    }
  }
}

TEST_F (OverlayTest, LabelsAreDrawnAboveTheBoxAndStayInTheFrame)
{
  start (GST_VIDEO_FORMAT_BGR);

  GstBuffer *without = new_frame ();
  add_target (without, 12, GST_OCEANPLUS_TRACK_STATE_TRACKING, 30, 30, 20, 15);
  run (without);
  expect_unchanged ();

  g_object_set (harness_->element, "draw-labels", TRUE, nullptr);
  GstBuffer *with = new_frame ();
  add_target (with, 12, GST_OCEANPLUS_TRACK_STATE_TRACKING, 30, 30, 20, 15);
  run (with);
  int above = 0;
  for (guint y = 15; y < 30; ++y)
    for (guint x = 30; x < 70; ++x)
      above += changed (x, y) ? 1 : 0;
  EXPECT_GT (above, 50);
  expect_unchanged_except ([] (guint x, guint y) { return y >= 10 && y < 30 && x >= 28 && x < 90; });

  /* A box in the top-right corner: the label moves inside the frame, nothing is written past it. */
  GstBuffer *corner = new_frame ();
  add_target (corner, 123456789, GST_OCEANPLUS_TRACK_STATE_TRACKING, 90, 0, 7, 7);
  run (corner);
  EXPECT_TRUE (changed (96, 2) || changed (95, 3) || changed (94, 4));
  expect_unchanged_except ([] (guint, guint y) { return y < 25; });
}

TEST_F (OverlayTest, RegionsOfInterestAreDrawnOnlyWithoutTrackMetas)
{
  start (GST_VIDEO_FORMAT_RGBA);
  g_object_set (harness_->element, "draw-boxes", TRUE, "line-width", 1u, nullptr);

  /* A detector's ROI is drawn. */
  GstBuffer *detected = new_frame ();
  gst_buffer_add_video_region_of_interest_meta (detected, "person", 10, 10, 20, 20);
  run (detected);
  EXPECT_TRUE (changed (10, 10));
  EXPECT_TRUE (changed (29, 20));
  expect_unchanged_except ([] (guint x, guint y) { return x >= 9 && x <= 30 && y >= 9 && y <= 30; });

  /* The ROI twin of a track meta is never drawn. */
  GstBuffer *twin = new_frame ();
  GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta (twin, "object", 10, 10, 20, 20);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new (GST_OCEANPLUS_ROI_PARAM_NAME, "id", G_TYPE_UINT64, G_GUINT64_CONSTANT (1), nullptr));
  run (twin);
  expect_unchanged ();

  /* With a track meta on the buffer, ROIs are left alone. */
  GstBuffer *tracked = new_frame ();
  gst_buffer_add_video_region_of_interest_meta (tracked, "person", 10, 10, 20, 20);
  add_target (tracked, 1, GST_OCEANPLUS_TRACK_STATE_TRACKING, 60, 30, 10, 10);
  run (tracked);
  EXPECT_FALSE (changed (10, 10));
  EXPECT_TRUE (changed (60, 30));

  /* draw-roi=false turns them off. */
  g_object_set (harness_->element, "draw-roi", FALSE, nullptr);
  GstBuffer *off = new_frame ();
  gst_buffer_add_video_region_of_interest_meta (off, "person", 10, 10, 20, 20);
  run (off);
  expect_unchanged ();
}

TEST_F (OverlayTest, YuvIsNotNegotiated)
{
  GstHarness *h = gst_harness_new ("oceanplusoverlay");
  ASSERT_NE (h, nullptr);
  GstCaps *i420 = gst_caps_from_string ("video/x-raw,format=I420,width=96,height=64,framerate=30/1");

  GstPad *sink = gst_element_get_static_pad (h->element, "sink");
  EXPECT_FALSE (gst_pad_query_accept_caps (sink, i420));
  gst_object_unref (sink);

  /* Refused; the segment is there only so the buffer push gets as far as the caps. */
  gst_harness_push_event (h, gst_event_new_caps (i420));
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&segment));
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, 96, 64);
  EXPECT_EQ (gst_harness_push (h, gst_buffer_new_allocate (nullptr, info.size, nullptr)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

TEST_F (OverlayTest, PropertiesHaveTheirDocumentedDefaults)
{
  GstElement *overlay = gst_element_factory_make ("oceanplusoverlay", nullptr);
  ASSERT_NE (overlay, nullptr);
  gdouble mask_alpha = 0;
  guint line_width = 0;
  gboolean boxes = FALSE, polygons = FALSE, labels = FALSE, roi = FALSE;
  g_object_get (overlay, "mask-alpha", &mask_alpha, "line-width", &line_width, "draw-boxes", &boxes, "draw-polygons",
      &polygons, "draw-labels", &labels, "draw-roi", &roi, nullptr);
  EXPECT_DOUBLE_EQ (mask_alpha, 0.45);
  EXPECT_EQ (line_width, 2u);
  EXPECT_TRUE (boxes && polygons && labels && roi);
  gst_object_unref (overlay);
}

TEST_F (OverlayTest, PropertiesCanChangeWhileFramesFlow)
{
  start (GST_VIDEO_FORMAT_BGRx);
  GValue alpha = G_VALUE_INIT;
  g_value_init (&alpha, G_TYPE_DOUBLE);
  g_value_set_double (&alpha, 0.8);
  GValue labels = G_VALUE_INIT;
  g_value_init (&labels, G_TYPE_BOOLEAN);
  g_value_set_boolean (&labels, TRUE);
  GstHarnessThread *alpha_thread = gst_harness_stress_property_start_full (harness_, "mask-alpha", &alpha, 0);
  GstHarnessThread *labels_thread = gst_harness_stress_property_start_full (harness_, "draw-labels", &labels, 0);

  for (int i = 0; i < 200; ++i) {
    GstBuffer *frame = new_frame ();
    add_masked_target (frame, i % 5 + 1, GST_OCEANPLUS_TRACK_STATE_TRACKING, i % 90 - 10, i % 50, 20, 15, 7, 5,
        checkerboard_ish);
    GstBuffer *out = gst_harness_push_and_pull (harness_, frame);
    ASSERT_NE (out, nullptr);
    gst_buffer_unref (out);
  }

  gst_harness_stress_thread_stop (alpha_thread);
  gst_harness_stress_thread_stop (labels_thread);
  g_value_unset (&alpha);
  g_value_unset (&labels);
}
