/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0): the track meta
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:gstoceanplustrackmeta
 * @title: GstOceanPlusTrackMeta
 * @short_description: one tracked target on one video buffer
 *
 * `oceanplustrack` attaches one #GstOceanPlusTrackMeta per target to each buffer it tracks on: the track id and
 * state, the score, the axis-aligned box, an optional polygon (the rotated box of the mask) and an optional mask.
 * Applications read it in a pad probe or an appsink, or attach a meta in the INIT state
 * (gst_buffer_add_oceanplus_init_meta()) to ask the tracker to start a track on that buffer.
 *
 * The meta is tagged like #GstVideoRegionOfInterestMeta (video, orientation, size): gst_buffer_copy() keeps it,
 * scaling elements such as `videoscale` rescale the box, the polygon and the mask rectangle (positions and sizes
 * are scaled as the ROI meta scales them, x * out_width / in_width rounded down, so that both metas of a target
 * stay equal), and elements that change the orientation drop it.
 *
 * The mask is box-local: a GRAY8 buffer with its own #GstVideoMeta (255 = target, 0 = not) that covers the frame
 * rectangle @mask_x, @mask_y, @mask_width × @mask_height. Its resolution need not be that of the rectangle (it is
 * not resampled when the frame is scaled), so readers map a mask pixel (u, v) to the frame through the rectangle:
 * frame x = mask_x + (u + 0.5) × mask_width / video_meta->width, and likewise for y. The mask buffer is shared
 * between copies of the meta: treat it as read-only. gst_oceanplus_track_meta_mask_contains() does the lookup for
 * one frame pixel.
 *
 * Reading the masks in a pad probe:
 * |[<!-- language="C" -->
 * static GstPadProbeReturn
 * on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
 * {
 *   GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
 *   gpointer iter = NULL;
 *   GstMeta *m;
 *
 *   while ((m = gst_buffer_iterate_meta_filtered (buf, &iter, GST_OCEANPLUS_TRACK_META_API_TYPE))) {
 *     GstOceanPlusTrackMeta *t = (GstOceanPlusTrackMeta *) m;
 *     gint rx, ry;
 *     guint rw, rh;
 *     GstBuffer *mask = gst_oceanplus_track_meta_get_mask (t, &rx, &ry, &rw, &rh);
 *     GstVideoMeta *vm;
 *     GstMapInfo map;
 *     gpointer data;
 *     gint stride;
 *
 *     g_print ("track %" G_GUINT64_FORMAT " (%s): %d,%d %ux%u\n", t->id,
 *         gst_oceanplus_track_state_to_string (t->state), t->x, t->y, t->width, t->height);
 *     if (mask == NULL)
 *       continue;
 *     vm = gst_buffer_get_video_meta (mask);
 *     if (gst_video_meta_map (vm, 0, &map, &data, &stride, GST_MAP_READ)) {
 *       for (guint v = 0; v < vm->height; v++) {
 *         const guint8 *row = (const guint8 *) data + v * stride;
 *         for (guint u = 0; u < vm->width; u++) {
 *           if (row[u] != 0) {
 *             gdouble fx = rx + (u + 0.5) * rw / vm->width;   // frame coordinates of the mask pixel's centre
 *             gdouble fy = ry + (v + 0.5) * rh / vm->height;
 *             ...
 *           }
 *         }
 *       }
 *       gst_video_meta_unmap (vm, 0, &map);
 *     }
 *     gst_buffer_unref (mask);
 *   }
 *   return GST_PAD_PROBE_OK;
 * }
 * ]|
 */

#include <gst/oceanplus/gstoceanplustrackmeta.h>
#include "gstoceanplusmeta-private.h"

#include <math.h>
#include <string.h>

#define GST_CAT_DEFAULT (_gst_oceanplus_meta_debug_category ())

GstDebugCategory *
_gst_oceanplus_meta_debug_category (void)
{
  static gsize cat = 0;

  if (g_once_init_enter (&cat)) {
    GstDebugCategory *c = _gst_debug_category_new ("oceanplusmeta", 0, "OceanPlus track metadata library");
    g_once_init_leave (&cat, (gsize) c);
  }
  return (GstDebugCategory *) cat;
}

GstVideoMeta *
_gst_oceanplus_mask_get_video_meta (GstBuffer * mask)
{
  GstVideoMeta *vmeta;
  guint64 needed;

  if (mask == NULL || !GST_IS_BUFFER (mask))
    return NULL;
  vmeta = gst_buffer_get_video_meta (mask);
  if (vmeta == NULL) {
    GST_DEBUG ("mask %p has no video meta", (gpointer) mask);
    return NULL;
  }
  if (vmeta->format != GST_VIDEO_FORMAT_GRAY8) {
    GST_DEBUG ("mask %p is %s, not GRAY8", (gpointer) mask, gst_video_format_to_string (vmeta->format));
    return NULL;
  }
  if (vmeta->width == 0 || vmeta->height == 0 || vmeta->n_planes < 1) {
    GST_DEBUG ("mask %p is empty (%ux%u)", (gpointer) mask, vmeta->width, vmeta->height);
    return NULL;
  }
  if (vmeta->stride[0] < 0 || (guint) vmeta->stride[0] < vmeta->width) {
    GST_DEBUG ("mask %p: stride %d below its width %u", (gpointer) mask, vmeta->stride[0], vmeta->width);
    return NULL;
  }
  needed = (guint64) vmeta->offset[0] + (guint64) vmeta->stride[0] * (vmeta->height - 1) + vmeta->width;
  if (needed > gst_buffer_get_size (mask)) {
    GST_DEBUG ("mask %p: %" G_GSIZE_FORMAT " bytes, its video meta needs %" G_GUINT64_FORMAT, (gpointer) mask,
        gst_buffer_get_size (mask), needed);
    return NULL;
  }
  return vmeta;
}

/* --- GstOceanPlusTrackState ------------------------------------------------------------------------------------- */

static const GEnumValue track_state_values[] = {
  {GST_OCEANPLUS_TRACK_STATE_INIT, "GST_OCEANPLUS_TRACK_STATE_INIT", "init"},
  {GST_OCEANPLUS_TRACK_STATE_NEW, "GST_OCEANPLUS_TRACK_STATE_NEW", "new"},
  {GST_OCEANPLUS_TRACK_STATE_TRACKING, "GST_OCEANPLUS_TRACK_STATE_TRACKING", "tracking"},
  {GST_OCEANPLUS_TRACK_STATE_LOST, "GST_OCEANPLUS_TRACK_STATE_LOST", "lost"},
  {GST_OCEANPLUS_TRACK_STATE_REINITIALISED, "GST_OCEANPLUS_TRACK_STATE_REINITIALISED", "reinitialised"},
  {0, NULL, NULL}
};

GType
gst_oceanplus_track_state_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstOceanPlusTrackState", track_state_values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

const gchar *
gst_oceanplus_track_state_to_string (GstOceanPlusTrackState state)
{
  const GEnumValue *v;

  for (v = track_state_values; v->value_nick != NULL; v++) {
    if (v->value == (gint) state)
      return v->value_nick;
  }
  return "unknown";
}

gboolean
gst_oceanplus_track_state_from_string (const gchar * nick, GstOceanPlusTrackState * state)
{
  const GEnumValue *v;

  g_return_val_if_fail (nick != NULL, FALSE);
  g_return_val_if_fail (state != NULL, FALSE);

  for (v = track_state_values; v->value_nick != NULL; v++) {
    if (strcmp (v->value_nick, nick) == 0) {
      *state = (GstOceanPlusTrackState) v->value;
      return TRUE;
    }
  }
  return FALSE;
}

/* --- The meta ---------------------------------------------------------------------------------------------------- */

GType
gst_oceanplus_track_meta_api_get_type (void)
{
  static gsize type = 0;
  static const gchar *tags[] = {
    GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_ORIENTATION_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL
  };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstOceanPlusTrackMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

static gboolean
track_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstOceanPlusTrackMeta *tmeta = (GstOceanPlusTrackMeta *) meta;

  (void) params;
  (void) buffer;

  tmeta->id = 0;
  tmeta->state = GST_OCEANPLUS_TRACK_STATE_INIT;
  tmeta->score = 0.0f;
  tmeta->x = 0;
  tmeta->y = 0;
  tmeta->width = 0;
  tmeta->height = 0;
  tmeta->n_points = 0;
  memset (tmeta->points, 0, sizeof (tmeta->points));
  tmeta->first_seen = GST_CLOCK_TIME_NONE;
  tmeta->last_seen = GST_CLOCK_TIME_NONE;
  tmeta->label = g_quark_from_static_string ("object");
  tmeta->mask = NULL;
  tmeta->mask_x = 0;
  tmeta->mask_y = 0;
  tmeta->mask_width = 0;
  tmeta->mask_height = 0;
  return TRUE;
}

static void
track_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstOceanPlusTrackMeta *tmeta = (GstOceanPlusTrackMeta *) meta;

  (void) buffer;
  gst_clear_buffer (&tmeta->mask);
}

/* Everything but the GstMeta header; the mask is shared (one more reference). */
static void
track_meta_copy_fields (GstOceanPlusTrackMeta * dst, const GstOceanPlusTrackMeta * src)
{
  dst->id = src->id;
  dst->state = src->state;
  dst->score = src->score;
  dst->x = src->x;
  dst->y = src->y;
  dst->width = src->width;
  dst->height = src->height;
  dst->n_points = MIN (src->n_points, (guint) GST_OCEANPLUS_TRACK_META_MAX_POINTS);
  memcpy (dst->points, src->points, sizeof (dst->points));
  dst->first_seen = src->first_seen;
  dst->last_seen = src->last_seen;
  dst->label = src->label;
  gst_clear_buffer (&dst->mask);
  dst->mask = src->mask != NULL ? gst_buffer_ref (src->mask) : NULL;
  dst->mask_x = src->mask_x;
  dst->mask_y = src->mask_y;
  dst->mask_width = src->mask_width;
  dst->mask_height = src->mask_height;
}

/* floor (v * num / den) for a position (den > 0, num >= 0): the ROI meta's (v * num) / den for v >= 0. */
static gint
scale_position (gint v, gint num, gint den)
{
  gint64 p = (gint64) v * num;
  gint64 q = p / den;

  if (p % den != 0 && p < 0)
    q--;
  return (gint) CLAMP (q, G_MININT, G_MAXINT);
}

/* (v * num) / den for a length, as the ROI meta scales its size. */
static guint
scale_length (guint v, gint num, gint den)
{
  guint64 q = (guint64) v * (guint64) num / (guint64) den;

  return (guint) MIN (q, G_MAXUINT);
}

static gboolean
track_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer, GQuark type, gpointer data)
{
  const GstOceanPlusTrackMeta *smeta = (const GstOceanPlusTrackMeta *) meta;
  GstOceanPlusTrackMeta *dmeta;

  (void) buffer;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    /* Like the ROI meta, region copies (GstMetaTransformCopy.region) keep the meta unchanged too. */
    dmeta = (GstOceanPlusTrackMeta *) gst_buffer_add_meta (dest, GST_OCEANPLUS_TRACK_META_INFO, NULL);
    if (dmeta == NULL)
      return FALSE;
    track_meta_copy_fields (dmeta, smeta);
    GST_TRACE ("copied track meta %" G_GUINT64_FORMAT, smeta->id);
    return TRUE;
  }

  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    const GstVideoMetaTransform *trans = (const GstVideoMetaTransform *) data;
    gint in_w, in_h, out_w, out_h;
    guint i;

    if (trans == NULL || trans->in_info == NULL || trans->out_info == NULL)
      return FALSE;
    in_w = GST_VIDEO_INFO_WIDTH (trans->in_info);
    in_h = GST_VIDEO_INFO_HEIGHT (trans->in_info);
    out_w = GST_VIDEO_INFO_WIDTH (trans->out_info);
    out_h = GST_VIDEO_INFO_HEIGHT (trans->out_info);
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0) {
      GST_WARNING ("cannot scale track meta %" G_GUINT64_FORMAT " from %dx%d to %dx%d", smeta->id, in_w, in_h,
          out_w, out_h);
      return FALSE;
    }

    dmeta = (GstOceanPlusTrackMeta *) gst_buffer_add_meta (dest, GST_OCEANPLUS_TRACK_META_INFO, NULL);
    if (dmeta == NULL)
      return FALSE;
    track_meta_copy_fields (dmeta, smeta);

    dmeta->x = scale_position (smeta->x, out_w, in_w);
    dmeta->y = scale_position (smeta->y, out_h, in_h);
    dmeta->width = scale_length (smeta->width, out_w, in_w);
    dmeta->height = scale_length (smeta->height, out_h, in_h);

    for (i = 0; i < dmeta->n_points; i++) {
      dmeta->points[2 * i] = (gfloat) ((gdouble) smeta->points[2 * i] * out_w / in_w);
      dmeta->points[2 * i + 1] = (gfloat) ((gdouble) smeta->points[2 * i + 1] * out_h / in_h);
    }

    /* The mask buffer keeps its resolution; only the frame rectangle it covers moves. The rectangle stays
     * non-empty (at least one frame pixel) so that the mask remains usable. */
    if (dmeta->mask != NULL) {
      dmeta->mask_x = scale_position (smeta->mask_x, out_w, in_w);
      dmeta->mask_y = scale_position (smeta->mask_y, out_h, in_h);
      dmeta->mask_width = MAX (scale_length (smeta->mask_width, out_w, in_w), 1u);
      dmeta->mask_height = MAX (scale_length (smeta->mask_height, out_h, in_h), 1u);
    }

    GST_DEBUG ("scaled track meta %" G_GUINT64_FORMAT " %dx%d -> %dx%d: box %d,%d %ux%u -> %d,%d %ux%u", smeta->id,
        in_w, in_h, out_w, out_h, smeta->x, smeta->y, smeta->width, smeta->height, dmeta->x, dmeta->y,
        dmeta->width, dmeta->height);
    return TRUE;
  }

  /* Flips, rotations, crops, anything else: the coordinates would be wrong, drop the meta. */
  GST_DEBUG ("dropping track meta %" G_GUINT64_FORMAT " on transform %s", smeta->id, g_quark_to_string (type));
  return FALSE;
}

const GstMetaInfo *
gst_oceanplus_track_meta_get_info (void)
{
  static gsize info = 0;

  if (g_once_init_enter (&info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_OCEANPLUS_TRACK_META_API_TYPE, "GstOceanPlusTrackMeta",
        sizeof (GstOceanPlusTrackMeta), track_meta_init, track_meta_free, track_meta_transform);
    g_once_init_leave (&info, (gsize) mi);
  }
  return (const GstMetaInfo *) info;
}

GstOceanPlusTrackMeta *
gst_buffer_add_oceanplus_track_meta (GstBuffer * buffer, guint64 id, GstOceanPlusTrackState state, gint x, gint y,
    guint width, guint height, gfloat score)
{
  GstOceanPlusTrackMeta *tmeta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  tmeta = (GstOceanPlusTrackMeta *) gst_buffer_add_meta (buffer, GST_OCEANPLUS_TRACK_META_INFO, NULL);
  if (tmeta == NULL)
    return NULL;
  tmeta->id = id;
  tmeta->state = state;
  tmeta->x = x;
  tmeta->y = y;
  tmeta->width = width;
  tmeta->height = height;
  tmeta->score = score;
  return tmeta;
}

GstOceanPlusTrackMeta *
gst_buffer_add_oceanplus_init_meta (GstBuffer * buffer, guint64 id, gint x, gint y, guint width, guint height)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return gst_buffer_add_oceanplus_track_meta (buffer, id, GST_OCEANPLUS_TRACK_STATE_INIT, x, y, width, height, 1.0f);
}

GstOceanPlusTrackMeta *
gst_buffer_get_oceanplus_track_meta_id (GstBuffer * buffer, guint64 id)
{
  gpointer iter = NULL;
  GstMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &iter, GST_OCEANPLUS_TRACK_META_API_TYPE)) != NULL) {
    GstOceanPlusTrackMeta *tmeta = (GstOceanPlusTrackMeta *) meta;
    if (tmeta->id == id)
      return tmeta;
  }
  return NULL;
}

gboolean
gst_oceanplus_track_meta_set_polygon (GstOceanPlusTrackMeta * meta, const gfloat * xy, guint n_points)
{
  g_return_val_if_fail (meta != NULL, FALSE);
  g_return_val_if_fail (xy != NULL || n_points == 0, FALSE);

  if (n_points > GST_OCEANPLUS_TRACK_META_MAX_POINTS) {
    GST_WARNING ("track %" G_GUINT64_FORMAT ": a polygon of %u points (at most %d)", meta->id, n_points,
        GST_OCEANPLUS_TRACK_META_MAX_POINTS);
    return FALSE;
  }
  memset (meta->points, 0, sizeof (meta->points));
  if (n_points > 0)
    memcpy (meta->points, xy, 2 * n_points * sizeof (gfloat));
  meta->n_points = n_points;
  return TRUE;
}

gboolean
gst_oceanplus_track_meta_set_mask (GstOceanPlusTrackMeta * meta, GstBuffer * mask, gint x, gint y, guint width,
    guint height)
{
  if (G_UNLIKELY (meta == NULL)) {
    if (mask != NULL && GST_IS_BUFFER (mask))
      gst_buffer_unref (mask);
    g_return_val_if_fail (meta != NULL, FALSE);
  }
  g_return_val_if_fail (mask == NULL || GST_IS_BUFFER (mask), FALSE);

  if (mask == NULL) {
    gst_clear_buffer (&meta->mask);
    meta->mask_x = 0;
    meta->mask_y = 0;
    meta->mask_width = 0;
    meta->mask_height = 0;
    return TRUE;
  }

  if (_gst_oceanplus_mask_get_video_meta (mask) == NULL) {
    GST_WARNING ("track %" G_GUINT64_FORMAT ": the mask needs a GRAY8 video meta that fits the buffer", meta->id);
    gst_buffer_unref (mask);
    return FALSE;
  }
  if (width == 0 || height == 0) {
    GST_WARNING ("track %" G_GUINT64_FORMAT ": empty mask rectangle %ux%u", meta->id, width, height);
    gst_buffer_unref (mask);
    return FALSE;
  }

  gst_clear_buffer (&meta->mask);
  meta->mask = mask;
  meta->mask_x = x;
  meta->mask_y = y;
  meta->mask_width = width;
  meta->mask_height = height;
  return TRUE;
}

GstBuffer *
gst_oceanplus_track_meta_get_mask (const GstOceanPlusTrackMeta * meta, gint * x, gint * y, guint * width,
    guint * height)
{
  g_return_val_if_fail (meta != NULL, NULL);

  if (x != NULL)
    *x = meta->mask_x;
  if (y != NULL)
    *y = meta->mask_y;
  if (width != NULL)
    *width = meta->mask_width;
  if (height != NULL)
    *height = meta->mask_height;
  return meta->mask != NULL ? gst_buffer_ref (meta->mask) : NULL;
}

GstBuffer *
gst_oceanplus_mask_new (guint width, guint height)
{
  GstVideoInfo info;
  GstBuffer *buffer;

  if (width == 0 || height == 0)
    return NULL;
  if (width > G_MAXINT || height > G_MAXINT)
    return NULL;

  gst_video_info_init (&info);
  if (!gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, width, height)) {
    GST_WARNING ("cannot make a %ux%u GRAY8 mask", width, height);
    return NULL;
  }
  buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  if (buffer == NULL)
    return NULL;
  gst_buffer_memset (buffer, 0, 0, GST_VIDEO_INFO_SIZE (&info));
  gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_GRAY8, width, height,
      GST_VIDEO_INFO_N_PLANES (&info), info.offset, info.stride);
  return buffer;
}

/* The mask pixel along one axis for a frame offset d (0 <= d < rect) with nearest-neighbour lookup. */
static guint
mask_index (gint64 d, guint rect, guint mask_size)
{
  gdouble m = floor (((gdouble) d + 0.5) * (gdouble) mask_size / (gdouble) rect);

  if (m < 0.0)
    return 0;
  if (m >= (gdouble) mask_size)
    return mask_size - 1;
  return (guint) m;
}

gboolean
gst_oceanplus_track_meta_mask_contains (const GstOceanPlusTrackMeta * meta, gint frame_x, gint frame_y)
{
  GstVideoMeta *vmeta;
  GstMapInfo map;
  gpointer data = NULL;
  gint stride = 0;
  gint64 dx, dy;
  guint mx, my;
  gboolean inside = FALSE;

  g_return_val_if_fail (meta != NULL, FALSE);

  if (meta->mask == NULL || meta->mask_width == 0 || meta->mask_height == 0)
    return FALSE;
  dx = (gint64) frame_x - meta->mask_x;
  dy = (gint64) frame_y - meta->mask_y;
  if (dx < 0 || dy < 0 || dx >= (gint64) meta->mask_width || dy >= (gint64) meta->mask_height)
    return FALSE;

  vmeta = _gst_oceanplus_mask_get_video_meta (meta->mask);
  if (vmeta == NULL)
    return FALSE;
  mx = mask_index (dx, meta->mask_width, vmeta->width);
  my = mask_index (dy, meta->mask_height, vmeta->height);

  if (!gst_video_meta_map (vmeta, 0, &map, &data, &stride, GST_MAP_READ)) {
    GST_WARNING ("track %" G_GUINT64_FORMAT ": cannot map the mask", meta->id);
    return FALSE;
  }
  {
    const guint8 *p = (const guint8 *) data + (gsize) my * (gsize) stride + mx;
    if (stride >= 0 && p >= map.data && p < map.data + map.size)
      inside = *p != 0;
  }
  gst_video_meta_unmap (vmeta, 0, &map);
  return inside;
}
