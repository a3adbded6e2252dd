/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0): events
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:gstoceanplusevent
 * @title: OceanPlus events
 * @short_description: frame-accurate requests to add or remove tracks
 *
 * Serialized custom downstream events that tell `oceanplustrack` to start (or re-initialise) a track from a box
 * or a mask (GST_OCEANPLUS_EVENT_ADD_TARGET), or to remove one or all tracks
 * (GST_OCEANPLUS_EVENT_REMOVE_TARGET). They take effect on the next buffer that reaches the tracker after them.
 *
 * The parsers accept only well-formed events: the right event type and structure name, every field present with
 * its documented type, a positive size and, for a mask request, a GRAY8 mask whose #GstVideoMeta has exactly the
 * event's width and height. Anything else makes them return %FALSE without touching their out arguments.
 *
 * |[<!-- language="C" -->
 * GstBuffer *mask = gst_oceanplus_mask_new (64, 96);
 * // ... fill the mask (non-zero = target) ...
 * gst_pad_send_event (tracker_sink_pad, gst_oceanplus_event_new_add_mask (0, mask, 120, 80));
 * gst_buffer_unref (mask);
 * ]|
 */

#include <gst/oceanplus/gstoceanplusevent.h>
#include <gst/oceanplus/gstoceanplustrackmeta.h>
#include "gstoceanplusmeta-private.h"

#define GST_CAT_DEFAULT (_gst_oceanplus_meta_debug_category ())

GstEvent *
gst_oceanplus_event_new_add_box (guint64 id, gint x, gint y, gint width, gint height)
{
  GstStructure *s;

  if (width <= 0 || height <= 0) {
    GST_WARNING ("add-target event with an empty box %dx%d", width, height);
    return NULL;
  }
  s = gst_structure_new (GST_OCEANPLUS_EVENT_ADD_TARGET, "id", G_TYPE_UINT64, id, "x", G_TYPE_INT, x,
      "y", G_TYPE_INT, y, "width", G_TYPE_INT, width, "height", G_TYPE_INT, height, NULL);
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

GstEvent *
gst_oceanplus_event_new_add_mask (guint64 id, GstBuffer * mask, gint x, gint y)
{
  GstVideoMeta *vmeta;
  GstStructure *s;

  g_return_val_if_fail (GST_IS_BUFFER (mask), NULL);

  vmeta = _gst_oceanplus_mask_get_video_meta (mask);
  if (vmeta == NULL) {
    GST_WARNING ("add-target event: the mask needs a GRAY8 video meta that fits the buffer");
    return NULL;
  }
  if (vmeta->width > G_MAXINT || vmeta->height > G_MAXINT) {
    GST_WARNING ("add-target event: mask too large (%ux%u)", vmeta->width, vmeta->height);
    return NULL;
  }
  s = gst_structure_new (GST_OCEANPLUS_EVENT_ADD_TARGET, "id", G_TYPE_UINT64, id, "x", G_TYPE_INT, x,
      "y", G_TYPE_INT, y, "width", G_TYPE_INT, (gint) vmeta->width, "height", G_TYPE_INT, (gint) vmeta->height,
      "mask", GST_TYPE_BUFFER, mask, NULL);
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

/* The event's structure when it is a custom downstream event named @name, else NULL. */
static const GstStructure *
custom_structure (GstEvent * event, const gchar * name)
{
  const GstStructure *s;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM)
    return NULL;
  s = gst_event_get_structure (event);
  if (s == NULL || !gst_structure_has_name (s, name))
    return NULL;
  return s;
}

gboolean
gst_oceanplus_event_parse_add (GstEvent * event, guint64 * id, gint * x, gint * y, gint * width, gint * height,
    GstBuffer ** mask)
{
  const GstStructure *s;
  const GValue *mask_value;
  GstBuffer *mask_buffer = NULL;
  guint64 v_id;
  gint v_x, v_y, v_width, v_height;

  g_return_val_if_fail (GST_IS_EVENT (event), FALSE);

  s = custom_structure (event, GST_OCEANPLUS_EVENT_ADD_TARGET);
  if (s == NULL)
    return FALSE;
  /* The typed getters fail on a missing field and on a field of another type. */
  if (!gst_structure_get_uint64 (s, "id", &v_id) || !gst_structure_get_int (s, "x", &v_x)
      || !gst_structure_get_int (s, "y", &v_y) || !gst_structure_get_int (s, "width", &v_width)
      || !gst_structure_get_int (s, "height", &v_height)) {
    GST_DEBUG ("malformed add-target event: %" GST_PTR_FORMAT, s);
    return FALSE;
  }
  if (v_width <= 0 || v_height <= 0) {
    GST_DEBUG ("add-target event with an empty box %dx%d", v_width, v_height);
    return FALSE;
  }

  mask_value = gst_structure_get_value (s, "mask");
  if (mask_value != NULL) {
    GstVideoMeta *vmeta;

    if (!G_VALUE_HOLDS (mask_value, GST_TYPE_BUFFER) || (mask_buffer = gst_value_get_buffer (mask_value)) == NULL) {
      GST_DEBUG ("add-target event: the mask field is not a buffer");
      return FALSE;
    }
    vmeta = _gst_oceanplus_mask_get_video_meta (mask_buffer);
    if (vmeta == NULL) {
      GST_DEBUG ("add-target event: the mask has no usable GRAY8 video meta");
      return FALSE;
    }
    if (vmeta->width != (guint) v_width || vmeta->height != (guint) v_height) {
      GST_DEBUG ("add-target event: a %ux%u mask for a %dx%d box", vmeta->width, vmeta->height, v_width, v_height);
      return FALSE;
    }
  }

  if (id != NULL)
    *id = v_id;
  if (x != NULL)
    *x = v_x;
  if (y != NULL)
    *y = v_y;
  if (width != NULL)
    *width = v_width;
  if (height != NULL)
    *height = v_height;
  if (mask != NULL)
    *mask = mask_buffer != NULL ? gst_buffer_ref (mask_buffer) : NULL;
  return TRUE;
}

GstEvent *
gst_oceanplus_event_new_remove (guint64 id)
{
  GstStructure *s = gst_structure_new (GST_OCEANPLUS_EVENT_REMOVE_TARGET, "id", G_TYPE_UINT64, id, NULL);

  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

gboolean
gst_oceanplus_event_parse_remove (GstEvent * event, guint64 * id)
{
  const GstStructure *s;
  guint64 v_id;

  g_return_val_if_fail (GST_IS_EVENT (event), FALSE);

  s = custom_structure (event, GST_OCEANPLUS_EVENT_REMOVE_TARGET);
  if (s == NULL || !gst_structure_get_uint64 (s, "id", &v_id))
    return FALSE;
  if (id != NULL)
    *id = v_id;
  return TRUE;
}
