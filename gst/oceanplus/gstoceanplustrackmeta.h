/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0)
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/oceanplus/oceanplus-meta-prelude.h>

G_BEGIN_DECLS

/**
 * GstOceanPlusTrackState:
 * @GST_OCEANPLUS_TRACK_STATE_INIT: a request, not a result: an application (or an upstream element) attaches a
 *   meta in this state to ask `oceanplustrack` to start a track from its box (and its mask, if any) on this buffer.
 *   The tracker consumes such metas (they do not travel further downstream).
 * @GST_OCEANPLUS_TRACK_STATE_NEW: the first buffer of a track: the box and mask are the initial region.
 * @GST_OCEANPLUS_TRACK_STATE_TRACKING: tracked with a score at or above the element's `lost-threshold`.
 * @GST_OCEANPLUS_TRACK_STATE_LOST: the score stayed below `lost-threshold` for `lost-patience` buffers. The target
 *   is still searched for, and the box is the tracker's best guess; it returns to TRACKING when the score recovers.
 * @GST_OCEANPLUS_TRACK_STATE_REINITIALISED: the track was re-initialised from a new region on this buffer (same id).
 *
 * The state of a track on one buffer.
 */
typedef enum {
  GST_OCEANPLUS_TRACK_STATE_INIT = 0,
  GST_OCEANPLUS_TRACK_STATE_NEW = 1,
  GST_OCEANPLUS_TRACK_STATE_TRACKING = 2,
  GST_OCEANPLUS_TRACK_STATE_LOST = 3,
  GST_OCEANPLUS_TRACK_STATE_REINITIALISED = 4,
} GstOceanPlusTrackState;

GST_OCEANPLUS_META_API
GType gst_oceanplus_track_state_get_type (void);
#define GST_TYPE_OCEANPLUS_TRACK_STATE (gst_oceanplus_track_state_get_type ())

/* The state's nick ("init", "new", "tracking", "lost", "reinitialised"), or "unknown". */
GST_OCEANPLUS_META_API
const gchar *gst_oceanplus_track_state_to_string (GstOceanPlusTrackState state);

/* Parses a nick; returns FALSE (and leaves *state alone) for anything else. */
GST_OCEANPLUS_META_API
gboolean gst_oceanplus_track_state_from_string (const gchar * nick, GstOceanPlusTrackState * state);

/**
 * GstOceanPlusTrackMeta:
 * @meta: parent #GstMeta
 * @id: the track id, unique and stable over the stream (1, 2, ...). 0 in an INIT request: the tracker assigns one.
 * @state: see #GstOceanPlusTrackState
 * @score: the tracker's confidence at the chosen peak, 0..1 (1 in an INIT request and on the first buffer)
 * @x: left edge of the axis-aligned box, in pixels of the buffer's frame (clipped to the frame)
 * @y: top edge of the box
 * @width: box width in pixels
 * @height: box height in pixels
 * @n_points: number of points in @points (0 when there is no polygon, 4 for a rotated box)
 * @points: the polygon in frame pixels, x0, y0, x1, y1, ...: the rotated box of the mask's largest component
 *   (corners in cv::boxPoints order); it may extend beyond the frame
 * @first_seen: running time of the track's first buffer (GST_CLOCK_TIME_NONE when unknown)
 * @last_seen: running time of this buffer (GST_CLOCK_TIME_NONE when unknown)
 * @label: the type of the region that started the track (the detector's ROI type, or "object"); a #GQuark
 * @mask: (nullable): the target's mask, box-local: a GRAY8 buffer carrying a #GstVideoMeta, 255 = target, 0 = not.
 *   Its resolution is its own (see the #GstVideoMeta); it covers the frame rectangle @mask_x, @mask_y,
 *   @mask_width, @mask_height, so readers scale it to that rectangle (it is not resampled when the frame is).
 * @mask_x: left edge, in frame pixels, of the rectangle the mask covers
 * @mask_y: top edge of that rectangle
 * @mask_width: width of that rectangle (frame pixels)
 * @mask_height: height of that rectangle
 *
 * One tracked target on one video buffer, attached by `oceanplustrack` (one meta per target). The same buffer also
 * carries a #GstVideoRegionOfInterestMeta per target for generic elements (see GST_OCEANPLUS_ROI_PARAM_NAME).
 *
 * The meta carries the video tags (content, orientation, size): copies keep it, scaling elements (videoscale)
 * rescale the box, the polygon and the mask rectangle, and elements that flip, rotate or crop drop it.
 */
typedef struct {
  GstMeta meta;

  guint64 id;
  GstOceanPlusTrackState state;
  gfloat score;

  gint x;
  gint y;
  guint width;
  guint height;

  guint n_points;
  gfloat points[2 * 8];

  GstClockTime first_seen;
  GstClockTime last_seen;

  GQuark label;

  GstBuffer *mask;
  gint mask_x;
  gint mask_y;
  guint mask_width;
  guint mask_height;
} GstOceanPlusTrackMeta;

/* The most points a polygon holds. */
#define GST_OCEANPLUS_TRACK_META_MAX_POINTS 8

GST_OCEANPLUS_META_API
GType gst_oceanplus_track_meta_api_get_type (void);
#define GST_OCEANPLUS_TRACK_META_API_TYPE (gst_oceanplus_track_meta_api_get_type ())

GST_OCEANPLUS_META_API
const GstMetaInfo *gst_oceanplus_track_meta_get_info (void);
#define GST_OCEANPLUS_TRACK_META_INFO (gst_oceanplus_track_meta_get_info ())

/* The first track meta of @buffer (iterate with gst_buffer_iterate_meta_filtered() and
 * GST_OCEANPLUS_TRACK_META_API_TYPE for the others), or NULL. */
#define gst_buffer_get_oceanplus_track_meta(b) \
  ((GstOceanPlusTrackMeta *) gst_buffer_get_meta ((b), GST_OCEANPLUS_TRACK_META_API_TYPE))

/**
 * gst_buffer_add_oceanplus_track_meta:
 * Attaches a track meta with the given box (label "object", no polygon, no mask, times unknown).
 * Returns: (transfer none): the meta.
 */
GST_OCEANPLUS_META_API
GstOceanPlusTrackMeta *gst_buffer_add_oceanplus_track_meta (GstBuffer * buffer, guint64 id,
    GstOceanPlusTrackState state, gint x, gint y, guint width, guint height, gfloat score);

/**
 * gst_buffer_add_oceanplus_init_meta:
 * Asks `oceanplustrack` to start a track on this buffer from a box (state INIT). @id 0 lets the tracker assign the
 * id; a non-zero @id re-initialises that track if it exists, or starts it under that id. Add a mask with
 * gst_oceanplus_track_meta_set_mask() to initialise from a mask instead of the box alone.
 * Returns: (transfer none): the meta.
 */
GST_OCEANPLUS_META_API
GstOceanPlusTrackMeta *gst_buffer_add_oceanplus_init_meta (GstBuffer * buffer, guint64 id, gint x, gint y,
    guint width, guint height);

/* The track meta with this id on @buffer, or NULL. */
GST_OCEANPLUS_META_API
GstOceanPlusTrackMeta *gst_buffer_get_oceanplus_track_meta_id (GstBuffer * buffer, guint64 id);

/* Sets the polygon (@n_points ≤ GST_OCEANPLUS_TRACK_META_MAX_POINTS pairs x, y); FALSE when there are too many. */
GST_OCEANPLUS_META_API
gboolean gst_oceanplus_track_meta_set_polygon (GstOceanPlusTrackMeta * meta, const gfloat * xy, guint n_points);

/**
 * gst_oceanplus_track_meta_set_mask:
 * @mask: (transfer full) (nullable): a GRAY8 buffer with a #GstVideoMeta (see gst_oceanplus_mask_new()), or NULL to
 *   drop the mask
 * Sets the mask and the frame rectangle it covers. Returns FALSE (and unrefs @mask) if the mask has no GRAY8
 * #GstVideoMeta or the rectangle is empty.
 */
GST_OCEANPLUS_META_API
gboolean gst_oceanplus_track_meta_set_mask (GstOceanPlusTrackMeta * meta, GstBuffer * mask, gint x, gint y,
    guint width, guint height);

/**
 * gst_oceanplus_track_meta_get_mask:
 * Returns: (transfer full) (nullable): a new reference to the mask buffer (NULL when there is none); the out
 *   arguments (each nullable) receive the frame rectangle it covers.
 */
GST_OCEANPLUS_META_API G_GNUC_WARN_UNUSED_RESULT
GstBuffer *gst_oceanplus_track_meta_get_mask (const GstOceanPlusTrackMeta * meta, gint * x, gint * y,
    guint * width, guint * height);

/**
 * gst_oceanplus_mask_new:
 * A zero-filled GRAY8 buffer of @width × @height carrying a #GstVideoMeta (rows padded to 4 bytes as GstVideoInfo
 * does: read the stride from the meta).
 * Returns: (transfer full): the buffer, or NULL for a zero size.
 */
GST_OCEANPLUS_META_API
GstBuffer *gst_oceanplus_mask_new (guint width, guint height);

/**
 * gst_oceanplus_track_meta_mask_contains:
 * Whether the frame pixel (@frame_x, @frame_y) is inside the target's mask (nearest-neighbour lookup through the
 * mask rectangle; FALSE without a mask or outside the rectangle).
 */
GST_OCEANPLUS_META_API
gboolean gst_oceanplus_track_meta_mask_contains (const GstOceanPlusTrackMeta * meta, gint frame_x, gint frame_y);

/* The name of the GstStructure param that `oceanplustrack` puts on each GstVideoRegionOfInterestMeta it attaches.
 * Fields: "id" (guint64), "score" (gdouble), "state" (string: a track state nick), "first-seen" and "last-seen"
 * (guint64 running times, GST_CLOCK_TIME_NONE when unknown). A second param "object_id" with an int field "id"
 * follows the DL Streamer convention. The ROI meta's own id field is also the track id (truncated to gint). */
#define GST_OCEANPLUS_ROI_PARAM_NAME "oceanplus-track"

G_END_DECLS
