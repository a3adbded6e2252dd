/* oceanplus-gst example: track one target in an MJPEG AVI file from a C application.
 *
 *   oceanplus-example-app [FILE.avi] [X,Y,W,H] [--frames N]
 *
 * Builds  filesrc ! avidemux ! jpegdec ! videoconvert ! oceanplustrack name=tracker ! fakesink name=sink,
 * starts a track with the tracker's "add-box" action signal, prints the GstOceanPlusTrackMeta of every buffer from a
 * pad probe on the sink, and prints the tracker's lost/reacquired messages. Stops at EOS or after N buffers; exits
 * non-zero on an error.
 * SPDX-License-Identifier: MIT
 */
#include <gst/gst.h>
#include <gst/oceanplus/oceanplusmeta.h>
#include <gst/video/video.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  GMainLoop *loop;
  gint max_frames;  /* 0: no limit */
  gint frames;      /* buffers seen by the probe (streaming thread) */
  gboolean failed;
} App;

/* The number of mask pixels set (255) in a box-local GRAY8 mask. */
static guint count_mask_pixels (GstBuffer *mask) {
  GstVideoMeta *vmeta = gst_buffer_get_video_meta (mask);
  GstMapInfo map;
  guint count = 0;
  if (vmeta == NULL || !gst_buffer_map (mask, &map, GST_MAP_READ))
    return 0;
  for (guint y = 0; y < vmeta->height; y++) {
    const guint8 *row = map.data + vmeta->offset[0] + (gsize) y * vmeta->stride[0];
    for (guint x = 0; x < vmeta->width; x++)
      count += row[x] != 0;
  }
  gst_buffer_unmap (mask, &map);
  return count;
}

static gboolean quit_idle (gpointer data) {
  g_main_loop_quit (((App *) data)->loop);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  App *app = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  gpointer state = NULL;
  GstMeta *meta;
  (void) pad;

  if (app->max_frames > 0 && g_atomic_int_get (&app->frames) >= app->max_frames)
    return GST_PAD_PROBE_DROP;
  printf ("buffer pts %" GST_TIME_FORMAT "\n", GST_TIME_ARGS (GST_BUFFER_PTS (buffer)));
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state, GST_OCEANPLUS_TRACK_META_API_TYPE))) {
    const GstOceanPlusTrackMeta *track = (const GstOceanPlusTrackMeta *) meta;
    gint mx = 0, my = 0;
    guint mw = 0, mh = 0, pixels = 0;
    GstBuffer *mask = gst_oceanplus_track_meta_get_mask (track, &mx, &my, &mw, &mh);
    if (mask != NULL) {
      pixels = count_mask_pixels (mask);
      gst_buffer_unref (mask);
    }
    printf ("  id %" G_GUINT64_FORMAT " state %s score %.3f box %d,%d,%u,%u mask %d,%d,%u,%u pixels %u\n",
        track->id, gst_oceanplus_track_state_to_string (track->state), track->score, track->x, track->y,
        track->width, track->height, mx, my, mw, mh, pixels);
  }
  fflush (stdout);
  if (g_atomic_int_add (&app->frames, 1) + 1 == app->max_frames)
    g_idle_add (quit_idle, app);  /* stop from the main loop, not from the streaming thread */
  return GST_PAD_PROBE_OK;
}

static gboolean on_message (GstBus *bus, GstMessage *message, gpointer data) {
  App *app = data;
  (void) bus;
  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ERROR: {
      GError *error = NULL;
      gchar *debug = NULL;
      gst_message_parse_error (message, &error, &debug);
      fprintf (stderr, "error from %s: %s\n%s\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message,
          debug != NULL ? debug : "");
      g_clear_error (&error);
      g_free (debug);
      app->failed = TRUE;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      printf ("end of stream\n");
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (message);
      if (s != NULL && g_str_has_prefix (gst_structure_get_name (s), "oceanplus-track-")) {
        gchar *text = gst_structure_to_string (s);
        printf ("message %s\n", text);
        g_free (text);
      }
      break;
    }
    default:
      break;
  }
  return TRUE;
}

int main (int argc, char **argv) {
  const gchar *input = "examples/data/vtest.avi";
  gint box[4] = { 638, 238, 48, 84 };
  App app = { NULL, 0, 0, FALSE };
  GError *error = NULL;

  gst_init (&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--frames") == 0 && i + 1 < argc)
      app.max_frames = atoi (argv[++i]);
    else if (sscanf (argv[i], "%d,%d,%d,%d", &box[0], &box[1], &box[2], &box[3]) == 4)
      continue;
    else
      input = argv[i];
  }

  GstElement *pipeline = gst_parse_launch ("filesrc name=src ! avidemux ! jpegdec ! videoconvert ! "
      "oceanplustrack name=tracker ! fakesink name=sink sync=false", &error);
  if (pipeline == NULL || error != NULL) {
    fprintf (stderr, "cannot build the pipeline: %s\n", error != NULL ? error->message : "unknown error");
    return 1;
  }
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_object_set (src, "location", input, NULL);
  gst_object_unref (src);

  /* A track from a box, on the next buffer the tracker sees (the signal returns the new target's id). */
  GstElement *tracker = gst_bin_get_by_name (GST_BIN (pipeline), "tracker");
  guint64 id = 0;
  g_signal_emit_by_name (tracker, "add-box", box[0], box[1], box[2], box[3], &id);
  printf ("add-box %d,%d,%d,%d -> id %" G_GUINT64_FORMAT "\n", box[0], box[1], box[2], box[3], id);
  gst_object_unref (tracker);

  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &app, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  app.loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_message, &app);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fprintf (stderr, "the pipeline did not start (is %s readable?)\n", input);
    app.failed = TRUE;
  } else {
    g_main_loop_run (app.loop);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_main_loop_unref (app.loop);
  printf ("%d buffers\n", g_atomic_int_get (&app.frames));
  return app.failed ? 1 : 0;
}
