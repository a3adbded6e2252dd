/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0): events and bus messages
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/oceanplus/oceanplus-meta-prelude.h>

G_BEGIN_DECLS

/*
 * Events: frame-accurate control of `oceanplustrack` from an application. They are serialized custom downstream
 * events (GST_EVENT_CUSTOM_DOWNSTREAM): send them into the pipeline upstream of the tracker (for example with
 * gst_pad_send_event() on the tracker's sink pad, or gst_element_send_event() on a source), and they take effect on
 * the next buffer that reaches the tracker after them.
 *
 *   GstEvent *ev = gst_oceanplus_event_new_add_box (0, 120, 80, 64, 96);
 *   gst_pad_send_event (tracker_sink_pad, ev);
 */

/* Structure names of the events. */
#define GST_OCEANPLUS_EVENT_ADD_TARGET "oceanplus-add-target"
#define GST_OCEANPLUS_EVENT_REMOVE_TARGET "oceanplus-remove-target"

/**
 * gst_oceanplus_event_new_add_box:
 * @id: the track id to (re-)initialise, or 0 to let the tracker assign a new one
 * A request to start (or re-initialise) a track from a box, in frame pixels; the tracker refines the box into a mask
 * by cyclic initialisation. Fields: "id" (guint64), "x", "y", "width", "height" (gint).
 * Returns: (transfer full): the event, or NULL for a zero-sized box.
 */
GST_OCEANPLUS_META_API
GstEvent *gst_oceanplus_event_new_add_box (guint64 id, gint x, gint y, gint width, gint height);

/**
 * gst_oceanplus_event_new_add_mask:
 * @mask: (transfer none): a GRAY8 buffer with a #GstVideoMeta (non-zero = target), covering the frame pixels from
 *   (@x, @y) at its own size (one mask pixel per frame pixel)
 * A request to start (or re-initialise) a track from a mask. Fields: those of the box event (the mask's rectangle)
 * and "mask" (GstBuffer).
 * Returns: (transfer full): the event, or NULL when @mask has no GRAY8 #GstVideoMeta.
 */
GST_OCEANPLUS_META_API
GstEvent *gst_oceanplus_event_new_add_mask (guint64 id, GstBuffer * mask, gint x, gint y);

/**
 * gst_oceanplus_event_parse_add:
 * Parses an add-target event. @mask (nullable) receives a new reference to the mask, or NULL for a box request.
 * Returns: FALSE when @event is not a well-formed add-target event (the out arguments are then untouched).
 */
GST_OCEANPLUS_META_API
gboolean gst_oceanplus_event_parse_add (GstEvent * event, guint64 * id, gint * x, gint * y, gint * width,
    gint * height, GstBuffer ** mask);

/**
 * gst_oceanplus_event_new_remove:
 * @id: the track to remove, or 0 for all of them
 * Returns: (transfer full): an event with the field "id" (guint64).
 */
GST_OCEANPLUS_META_API
GstEvent *gst_oceanplus_event_new_remove (guint64 id);

/* Returns FALSE when @event is not a remove-target event. */
GST_OCEANPLUS_META_API
gboolean gst_oceanplus_event_parse_remove (GstEvent * event, guint64 * id);

/*
 * Bus messages: `oceanplustrack` posts element messages with these structure names. Fields: "id" (guint64),
 * "running-time" (guint64), "score" (gdouble), "x", "y", "width", "height" (gint: the box), "label" (string).
 */
#define GST_OCEANPLUS_MESSAGE_TRACK_STARTED "oceanplus-track-started"
#define GST_OCEANPLUS_MESSAGE_TRACK_LOST "oceanplus-track-lost"
#define GST_OCEANPLUS_MESSAGE_TRACK_REACQUIRED "oceanplus-track-reacquired"
#define GST_OCEANPLUS_MESSAGE_TRACK_REMOVED "oceanplus-track-removed"

G_END_DECLS
