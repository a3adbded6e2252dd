/* oceanplus-gst: draws tracked targets (masks, boxes, polygons, labels) onto video
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-oceanplusoverlay
 * @title: oceanplusoverlay
 *
 * Draws every target that `oceanplustrack` attached to a buffer (a #GstOceanPlusTrackMeta per target), in place:
 *
 * - the mask, alpha-blended (#GstOceanPlusOverlay:mask-alpha) in the target's colour. The mask is box-local at its
 *   own resolution; it is scaled (nearest neighbour) to the frame rectangle it covers, so it stays aligned after a
 *   videoscale, and clipped to the frame;
 * - the box outline (#GstOceanPlusOverlay:draw-boxes) and the polygon (#GstOceanPlusOverlay:draw-polygons), both
 *   #GstOceanPlusOverlay:line-width pixels wide;
 * - a label "id score" above the box (#GstOceanPlusOverlay:draw-labels).
 *
 * Each track id has its own colour from a fixed palette (hues stepped by the golden ratio, so consecutive ids are far
 * apart on the colour wheel); an id keeps its colour for the whole stream. Lost targets (state "lost", the tracker's
 * best guess) are drawn with dashed outlines and a mask at half the alpha. Requests in state "init" are not drawn.
 *
 * When a buffer carries no track meta, the element draws the boxes of its #GstVideoRegionOfInterestMeta instead
 * (#GstOceanPlusOverlay:draw-roi), labelled with the ROI type, so it is also useful after a generic detector. ROI
 * metas that carry the "oceanplus-track" param duplicate track metas and are never drawn.
 *
 * The element works on packed RGB formats (RGB, BGR, RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR); put
 * `videoconvert` before it for YUV video. Alpha channels are left as they are by the mask blending.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! oceanplustrack init-box="<100, 80, 64, 96>" ! \
 *     videoconvert ! oceanplusoverlay mask-alpha=0.5 ! videoconvert ! autovideosink
 * ]| Tracks the region of the first frame and shows the mask, box, polygon and label of the target.
 */

#include "gstoceanplusoverlay.h"

#include <gst/oceanplus/gstoceanplustrackmeta.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY_STATIC (gst_oceanplus_overlay_debug);
#define GST_CAT_DEFAULT gst_oceanplus_overlay_debug

enum
{
  PROP_0,
  PROP_MASK_ALPHA,
  PROP_LINE_WIDTH,
  PROP_DRAW_BOXES,
  PROP_DRAW_POLYGONS,
  PROP_DRAW_LABELS,
  PROP_DRAW_ROI,
};

#define DEFAULT_MASK_ALPHA 0.45   /* 0 to 1 */
#define DEFAULT_LINE_WIDTH 2      /* 1 to 32 pixels */
#define DEFAULT_DRAW_BOXES TRUE
#define DEFAULT_DRAW_POLYGONS TRUE
#define DEFAULT_DRAW_LABELS TRUE
#define DEFAULT_DRAW_ROI TRUE

#define MAX_LINE_WIDTH 32

#define OVERLAY_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR }"

namespace {

struct Settings
{
  gdouble mask_alpha = DEFAULT_MASK_ALPHA;
  guint line_width = DEFAULT_LINE_WIDTH;
  gboolean draw_boxes = DEFAULT_DRAW_BOXES;
  gboolean draw_polygons = DEFAULT_DRAW_POLYGONS;
  gboolean draw_labels = DEFAULT_DRAW_LABELS;
  gboolean draw_roi = DEFAULT_DRAW_ROI;
};

}  // namespace

struct _GstOceanPlusOverlay
{
  GstVideoFilter parent;

  /* < private > */
  Settings settings;  /* guarded by the object lock; copied once per frame */
};

#define gst_oceanplus_overlay_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstOceanPlusOverlay, gst_oceanplus_overlay, GST_TYPE_VIDEO_FILTER,
    GST_DEBUG_CATEGORY_INIT (gst_oceanplus_overlay_debug, "oceanplusoverlay", 0,
        "Draws tracked targets onto video"));
GST_ELEMENT_REGISTER_DEFINE (oceanplusoverlay, "oceanplusoverlay", GST_RANK_NONE, GST_TYPE_OCEANPLUS_OVERLAY);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

namespace {

struct Rgb
{
  uint8_t r, g, b;
};

/* The colour of a track id. Stepping the hue by the golden ratio spreads consecutive ids far apart on the colour
 * wheel; saturation and value are fixed so every colour stands out from a natural scene. */
Rgb
palette_colour (guint64 id)
{
  const double golden_ratio_conjugate = 0.618033988749894848;
  const double hue = std::fmod (0.12 + static_cast<double> (id) * golden_ratio_conjugate, 1.0) * 6.0;
  const double saturation = 0.85, value = 0.95;
  const int sector = static_cast<int> (hue) % 6;
  const double fraction = hue - std::floor (hue);
  const double p = value * (1.0 - saturation);
  const double q = value * (1.0 - saturation * fraction);
  const double t = value * (1.0 - saturation * (1.0 - fraction));
  double r, g, b;
  switch (sector) {
    case 0: r = value; g = t; b = p; break;
    case 1: r = q; g = value; b = p; break;
    case 2: r = p; g = value; b = t; break;
    case 3: r = p; g = q; b = value; break;
    case 4: r = t; g = p; b = value; break;
    default: r = value; g = p; b = q; break;
  }
  auto to_byte = [] (double v) { return static_cast<uint8_t> (std::lround (v * 255.0)); };
  return {to_byte (r), to_byte (g), to_byte (b)};
}

/* A header over the mapped frame (its stride kept) plus where R, G and B sit in a pixel of its format. */
struct Canvas
{
  cv::Mat image;
  int bytes_per_pixel = 0;
  int offset_r = 0, offset_g = 0, offset_b = 0;
  int offset_fill = -1;  /* the alpha or padding byte of 4-byte formats, -1 for RGB/BGR */

  /* The colour in this format's channel order; OpenCV writes Scalar[i] to byte i of a pixel. */
  cv::Scalar scalar (Rgb c) const
  {
    cv::Scalar s (0, 0, 0, 0);
    s[offset_r] = c.r;
    s[offset_g] = c.g;
    s[offset_b] = c.b;
    if (offset_fill >= 0)
      s[offset_fill] = 255;  /* lines and labels are opaque */
    return s;
  }
};

Canvas
canvas_for_frame (GstVideoFrame * frame)
{
  Canvas canvas;
  const GstVideoInfo *info = &frame->info;
  canvas.bytes_per_pixel = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  canvas.offset_r = GST_VIDEO_INFO_COMP_POFFSET (info, GST_VIDEO_COMP_R);
  canvas.offset_g = GST_VIDEO_INFO_COMP_POFFSET (info, GST_VIDEO_COMP_G);
  canvas.offset_b = GST_VIDEO_INFO_COMP_POFFSET (info, GST_VIDEO_COMP_B);
  if (canvas.bytes_per_pixel == 4)
    canvas.offset_fill = 6 - canvas.offset_r - canvas.offset_g - canvas.offset_b;  /* offsets are a permutation of 0..3 */
  canvas.image = cv::Mat (GST_VIDEO_FRAME_HEIGHT (frame), GST_VIDEO_FRAME_WIDTH (frame),
      canvas.bytes_per_pixel == 4 ? CV_8UC4 : CV_8UC3, GST_VIDEO_FRAME_PLANE_DATA (frame, 0),
      GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0));
  return canvas;
}

/* Box and polygon coordinates can lie far outside the frame; keeping them within this range keeps OpenCV's
 * fixed-point arithmetic safe while still clipping correctly. */
constexpr int64_t kCoordinateLimit = 1 << 20;

int
clamp_coordinate (int64_t v)
{
  return static_cast<int> (std::clamp<int64_t> (v, -kCoordinateLimit, kCoordinateLimit));
}

/* The mask pixel that frame offset @offset (0 <= offset < @rect_size) of the mask rectangle looks up: the one under
 * the frame pixel's centre, floor((offset + 0.5) * mask_size / rect_size), as
 * gst_oceanplus_track_meta_mask_contains() does (here in exact integer arithmetic). */
uint32_t
mask_index (int64_t offset, uint32_t rect_size, uint32_t mask_size)
{
  const uint64_t index = (2 * static_cast<uint64_t> (offset) + 1) * mask_size / (2 * static_cast<uint64_t> (rect_size));
  return static_cast<uint32_t> (std::min<uint64_t> (index, mask_size - 1));
}

/* Blends the mask into the frame: the mask (at its own resolution) covers the frame rectangle it was set with, and
 * each frame pixel of that rectangle takes the mask pixel under its centre (nearest neighbour); non-zero mask pixels
 * are the target. Only the rectangle's part inside the frame is visited. */
void
blend_mask (Canvas & canvas, const GstOceanPlusTrackMeta * meta, Rgb colour, double alpha)
{
  const int alpha256 = static_cast<int> (std::lround (std::clamp (alpha, 0.0, 1.0) * 256.0));
  if (alpha256 == 0)
    return;  /* mask-alpha 0 leaves the pixels exactly as they are */

  gint rect_x, rect_y;
  guint rect_width, rect_height;
  GstBuffer *mask = gst_oceanplus_track_meta_get_mask (meta, &rect_x, &rect_y, &rect_width, &rect_height);
  if (mask == nullptr)
    return;

  GstVideoMeta *vmeta = gst_buffer_get_video_meta (mask);
  GstMapInfo map;
  gpointer data = nullptr;
  gint stride = 0;
  if (vmeta == nullptr || vmeta->format != GST_VIDEO_FORMAT_GRAY8 || vmeta->width == 0 || vmeta->height == 0 ||
      rect_width == 0 || rect_height == 0 || !gst_video_meta_map (vmeta, 0, &map, &data, &stride, GST_MAP_READ)) {
    gst_buffer_unref (mask);
    return;
  }

  const int64_t frame_width = canvas.image.cols, frame_height = canvas.image.rows;
  const int64_t x_begin = std::max<int64_t> (0, rect_x);
  const int64_t x_end = std::min<int64_t> (frame_width, static_cast<int64_t> (rect_x) + rect_width);
  const int64_t y_begin = std::max<int64_t> (0, rect_y);
  const int64_t y_end = std::min<int64_t> (frame_height, static_cast<int64_t> (rect_y) + rect_height);

  if (x_begin < x_end && y_begin < y_end) {
    std::vector<uint32_t> mask_column (x_end - x_begin);
    for (int64_t x = x_begin; x < x_end; ++x)
      mask_column[x - x_begin] = mask_index (x - rect_x, rect_width, vmeta->width);

    const int bpp = canvas.bytes_per_pixel;
    const int channel[3] = {canvas.offset_r, canvas.offset_g, canvas.offset_b};
    const int weighted_colour[3] = {colour.r * alpha256, colour.g * alpha256, colour.b * alpha256};
    const int keep = 256 - alpha256;
    for (int64_t y = y_begin; y < y_end; ++y) {
      const uint32_t mask_row = mask_index (y - rect_y, rect_height, vmeta->height);
      const uint8_t *mask_line = static_cast<const uint8_t *> (data) + static_cast<gsize> (mask_row) * stride;
      uint8_t *pixel = canvas.image.ptr<uint8_t> (static_cast<int> (y)) + x_begin * bpp;
      for (size_t i = 0; i < mask_column.size (); ++i, pixel += bpp) {
        if (mask_line[mask_column[i]] == 0)
          continue;
        for (int c = 0; c < 3; ++c)
          pixel[channel[c]] = static_cast<uint8_t> ((pixel[channel[c]] * keep + weighted_colour[c] + 128) >> 8);
      }
    }
  }

  gst_video_meta_unmap (vmeta, 0, &map);
  gst_buffer_unref (mask);
}

/* One segment of an outline, dashed for lost targets. The segment is clipped to the frame (plus the line's
 * half-width) first, so a dashed edge far outside the frame costs nothing. */
void
draw_segment (Canvas & canvas, cv::Point from, cv::Point to, const cv::Scalar & colour, int thickness, bool dashed)
{
  const int margin = thickness;
  const cv::Rect reach (-margin, -margin, canvas.image.cols + 2 * margin, canvas.image.rows + 2 * margin);
  if (!cv::clipLine (reach, from, to))
    return;
  if (!dashed) {
    cv::line (canvas.image, from, to, colour, thickness, cv::LINE_8);
    return;
  }
  const double dash = 6.0 + 2.0 * thickness, gap = 4.0 + thickness;
  const cv::Point2d delta = cv::Point2d (to - from);
  const double length = std::hypot (delta.x, delta.y);
  if (length < 1.0) {
    cv::line (canvas.image, from, to, colour, thickness, cv::LINE_8);
    return;
  }
  const cv::Point2d direction = delta / length;
  for (double start = 0.0; start < length; start += dash + gap) {
    const double end = std::min (start + dash, length);
    const cv::Point2d a = cv::Point2d (from) + direction * start;
    const cv::Point2d b = cv::Point2d (from) + direction * end;
    cv::line (canvas.image, cv::Point (cvRound (a.x), cvRound (a.y)), cv::Point (cvRound (b.x), cvRound (b.y)),
        colour, thickness, cv::LINE_8);
  }
}

void
draw_closed_outline (Canvas & canvas, const std::vector<cv::Point> & corners, const cv::Scalar & colour,
    int thickness, bool dashed)
{
  for (size_t i = 0; i < corners.size (); ++i)
    draw_segment (canvas, corners[i], corners[(i + 1) % corners.size ()], colour, thickness, dashed);
}

/* The outline of the box x, y, width × height: its pixels are the first and last columns and rows inside it. */
std::vector<cv::Point>
box_corners (int64_t x, int64_t y, int64_t width, int64_t height)
{
  const int left = clamp_coordinate (x), top = clamp_coordinate (y);
  const int right = clamp_coordinate (x + std::max<int64_t> (width, 1) - 1);
  const int bottom = clamp_coordinate (y + std::max<int64_t> (height, 1) - 1);
  return {{left, top}, {right, top}, {right, bottom}, {left, bottom}};
}

/* A label on a filled background in the target's colour, above the box when there is room, else just inside it;
 * shifted horizontally to stay within the frame. Boxes wholly outside the frame get no label. */
void
draw_label (Canvas & canvas, const std::string & text, int64_t box_x, int64_t box_y, int64_t box_width,
    int64_t box_height, Rgb colour)
{
  const bool box_visible = box_x < canvas.image.cols && box_x + box_width > 0 && box_y < canvas.image.rows &&
      box_y + box_height > 0;
  if (text.empty () || !box_visible)
    return;
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const double scale = 0.4;
  const int thickness = 1, padding = 2;
  int baseline = 0;
  const cv::Size text_size = cv::getTextSize (text, font, scale, thickness, &baseline);
  const int label_width = text_size.width + 2 * padding;
  const int label_height = text_size.height + baseline + 2 * padding;

  int64_t left = std::clamp<int64_t> (box_x, 0, std::max (0, canvas.image.cols - label_width));
  int64_t top = box_y - label_height;
  if (top < 0)
    top = std::max<int64_t> (box_y, 0);
  top = std::min<int64_t> (top, std::max (0, canvas.image.rows - label_height));

  const cv::Rect background (static_cast<int> (left), static_cast<int> (top), label_width, label_height);
  cv::rectangle (canvas.image, background, canvas.scalar (colour), cv::FILLED);
  /* Dark text on light colours, light text on dark ones (Rec. 601 luma). */
  const double luma = 0.299 * colour.r + 0.587 * colour.g + 0.114 * colour.b;
  const Rgb ink = luma > 140.0 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
  cv::putText (canvas.image, text, cv::Point (background.x + padding, background.y + padding + text_size.height),
      font, scale, canvas.scalar (ink), thickness, cv::LINE_AA);
}

std::vector<const GstOceanPlusTrackMeta *>
drawable_targets (GstBuffer * buffer)
{
  std::vector<const GstOceanPlusTrackMeta *> targets;
  gpointer state = nullptr;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state, GST_OCEANPLUS_TRACK_META_API_TYPE))) {
    auto *target = reinterpret_cast<const GstOceanPlusTrackMeta *> (meta);
    if (target->state != GST_OCEANPLUS_TRACK_STATE_INIT)  /* requests, not results */
      targets.push_back (target);
  }
  return targets;
}

void
draw_targets (Canvas & canvas, const std::vector<const GstOceanPlusTrackMeta *> & targets, const Settings & settings)
{
  const int thickness = static_cast<int> (settings.line_width);

  /* Masks first, then outlines, then labels, so no target's mask hides another's outline or label. */
  for (const GstOceanPlusTrackMeta *target : targets) {
    const bool lost = target->state == GST_OCEANPLUS_TRACK_STATE_LOST;
    blend_mask (canvas, target, palette_colour (target->id), lost ? settings.mask_alpha / 2 : settings.mask_alpha);
  }

  for (const GstOceanPlusTrackMeta *target : targets) {
    const bool lost = target->state == GST_OCEANPLUS_TRACK_STATE_LOST;
    const cv::Scalar colour = canvas.scalar (palette_colour (target->id));
    if (settings.draw_boxes)
      draw_closed_outline (canvas, box_corners (target->x, target->y, target->width, target->height), colour,
          thickness, lost);
    if (settings.draw_polygons && target->n_points >= 2) {
      std::vector<cv::Point> polygon;
      const guint n_points = std::min<guint> (target->n_points, GST_OCEANPLUS_TRACK_META_MAX_POINTS);
      for (guint i = 0; i < n_points; ++i) {
        const float px = target->points[2 * i], py = target->points[2 * i + 1];
        if (!std::isfinite (px) || !std::isfinite (py)) {
          polygon.clear ();
          break;
        }
        polygon.emplace_back (clamp_coordinate (std::llround (std::clamp<double> (px, -kCoordinateLimit, kCoordinateLimit))),
            clamp_coordinate (std::llround (std::clamp<double> (py, -kCoordinateLimit, kCoordinateLimit))));
      }
      if (polygon.size () >= 2)
        draw_closed_outline (canvas, polygon, colour, thickness, lost);
    }
  }

  if (settings.draw_labels) {
    for (const GstOceanPlusTrackMeta *target : targets) {
      gchar *text = g_strdup_printf ("%" G_GUINT64_FORMAT " %.2f", target->id, target->score);
      draw_label (canvas, text, target->x, target->y, target->width, target->height, palette_colour (target->id));
      g_free (text);
    }
  }
}

/* Boxes of a generic detector's ROI metas; ROI metas that mirror our track metas are skipped. */
void
draw_regions_of_interest (Canvas & canvas, GstBuffer * buffer, const Settings & settings)
{
  gpointer state = nullptr;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *> (meta);
    if (gst_video_region_of_interest_meta_get_param (roi, GST_OCEANPLUS_ROI_PARAM_NAME) != nullptr)
      continue;
    const Rgb colour = palette_colour (roi->id >= 0 ? static_cast<guint64> (roi->id) : 0);
    if (settings.draw_boxes)
      draw_closed_outline (canvas, box_corners (roi->x, roi->y, roi->w, roi->h), canvas.scalar (colour),
          static_cast<int> (settings.line_width), false);
    if (settings.draw_labels && roi->roi_type != 0)
      draw_label (canvas, g_quark_to_string (roi->roi_type), roi->x, roi->y, roi->w, roi->h, colour);
  }
}

}  // namespace

static void gst_oceanplus_overlay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_oceanplus_overlay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static GstFlowReturn gst_oceanplus_overlay_transform_frame_ip (GstVideoFilter * filter, GstVideoFrame * frame);

static void
gst_oceanplus_overlay_class_init (GstOceanPlusOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_oceanplus_overlay_set_property;
  gobject_class->get_property = gst_oceanplus_overlay_get_property;

  const auto flags = static_cast<GParamFlags> (G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS);

  /**
   * GstOceanPlusOverlay:mask-alpha:
   *
   * Opacity of the masks: 0 leaves the pixels unchanged, 1 paints them in the target's colour. Lost targets use half
   * of it.
   */
  g_object_class_install_property (gobject_class, PROP_MASK_ALPHA,
      g_param_spec_double ("mask-alpha", "Mask alpha",
          "Opacity of the target masks (0 = not drawn, 1 = opaque; lost targets use half)", 0.0, 1.0,
          DEFAULT_MASK_ALPHA, flags));

  /**
   * GstOceanPlusOverlay:line-width:
   *
   * Width in pixels of box and polygon outlines.
   */
  g_object_class_install_property (gobject_class, PROP_LINE_WIDTH,
      g_param_spec_uint ("line-width", "Line width", "Width in pixels of box and polygon outlines", 1,
          MAX_LINE_WIDTH, DEFAULT_LINE_WIDTH, flags));

  /**
   * GstOceanPlusOverlay:draw-boxes:
   *
   * Draw each target's axis-aligned box (dashed for lost targets), and the ROI boxes when there are no targets.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_BOXES,
      g_param_spec_boolean ("draw-boxes", "Draw boxes",
          "Draw the axis-aligned box of each target (dashed when lost)", DEFAULT_DRAW_BOXES, flags));

  /**
   * GstOceanPlusOverlay:draw-polygons:
   *
   * Draw each target's polygon (the rotated box of its mask), when it has one.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_POLYGONS,
      g_param_spec_boolean ("draw-polygons", "Draw polygons",
          "Draw the polygon (rotated box of the mask) of each target that has one", DEFAULT_DRAW_POLYGONS, flags));

  /**
   * GstOceanPlusOverlay:draw-labels:
   *
   * Draw a label "id score" above each target's box (the ROI type for ROI boxes).
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_LABELS,
      g_param_spec_boolean ("draw-labels", "Draw labels",
          "Draw a label \"id score\" above each target (the type for ROI boxes)", DEFAULT_DRAW_LABELS, flags));

  /**
   * GstOceanPlusOverlay:draw-roi:
   *
   * On buffers without track metas, draw the boxes of the GstVideoRegionOfInterestMeta (from any detector). ROI
   * metas attached by `oceanplustrack` are never drawn: they duplicate its track metas.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_ROI,
      g_param_spec_boolean ("draw-roi", "Draw ROIs",
          "On buffers without track metas, draw the boxes of region-of-interest metas (from any detector)",
          DEFAULT_DRAW_ROI, flags));

  gst_element_class_set_static_metadata (element_class, "OceanPlus overlay", "Filter/Effect/Video",
      "Draws tracked targets (masks, boxes, polygons, labels) onto packed RGB video",
      "oceanplus-gst developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR (gst_oceanplus_overlay_transform_frame_ip);
}

static void
gst_oceanplus_overlay_init (GstOceanPlusOverlay * self)
{
  self->settings = Settings ();
}

static void
gst_oceanplus_overlay_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstOceanPlusOverlay *self = GST_OCEANPLUS_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MASK_ALPHA:
      self->settings.mask_alpha = g_value_get_double (value);
      break;
    case PROP_LINE_WIDTH:
      self->settings.line_width = g_value_get_uint (value);
      break;
    case PROP_DRAW_BOXES:
      self->settings.draw_boxes = g_value_get_boolean (value);
      break;
    case PROP_DRAW_POLYGONS:
      self->settings.draw_polygons = g_value_get_boolean (value);
      break;
    case PROP_DRAW_LABELS:
      self->settings.draw_labels = g_value_get_boolean (value);
      break;
    case PROP_DRAW_ROI:
      self->settings.draw_roi = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_oceanplus_overlay_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstOceanPlusOverlay *self = GST_OCEANPLUS_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MASK_ALPHA:
      g_value_set_double (value, self->settings.mask_alpha);
      break;
    case PROP_LINE_WIDTH:
      g_value_set_uint (value, self->settings.line_width);
      break;
    case PROP_DRAW_BOXES:
      g_value_set_boolean (value, self->settings.draw_boxes);
      break;
    case PROP_DRAW_POLYGONS:
      g_value_set_boolean (value, self->settings.draw_polygons);
      break;
    case PROP_DRAW_LABELS:
      g_value_set_boolean (value, self->settings.draw_labels);
      break;
    case PROP_DRAW_ROI:
      g_value_set_boolean (value, self->settings.draw_roi);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstFlowReturn
gst_oceanplus_overlay_transform_frame_ip (GstVideoFilter * filter, GstVideoFrame * frame)
{
  GstOceanPlusOverlay *self = GST_OCEANPLUS_OVERLAY (filter);

  GST_OBJECT_LOCK (self);
  const Settings settings = self->settings;
  GST_OBJECT_UNLOCK (self);

  const std::vector<const GstOceanPlusTrackMeta *> targets = drawable_targets (frame->buffer);
  GST_LOG_OBJECT (self, "drawing %zu targets on %" GST_PTR_FORMAT, targets.size (), frame->buffer);

  try {
    Canvas canvas = canvas_for_frame (frame);
    if (!targets.empty ())
      draw_targets (canvas, targets, settings);
    else if (settings.draw_roi)
      draw_regions_of_interest (canvas, frame->buffer, settings);
  } catch (const cv::Exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not draw the tracked targets."), ("OpenCV: %s", e.what ()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}
