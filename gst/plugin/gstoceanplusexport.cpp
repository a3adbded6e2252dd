/* oceanplus-gst: writes the tracked targets of each buffer as one JSON line
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-oceanplusexport
 * @title: oceanplusexport
 *
 * Writes the targets that `oceanplustrack` attached to each buffer (its #GstOceanPlusTrackMeta) to a file, one JSON
 * object per line (JSON Lines), and passes the buffers on untouched. Each line is flushed as soon as it is written, so
 * the file can be followed while the pipeline runs (`tail -f`), and a pipeline that crashes leaves only complete
 * lines. The file is (re)created when the element starts and closed when it stops. Any raw video is accepted, in
 * any memory: only the metadata is read.
 *
 * One line per buffer, also for buffers without targets:
 * |[
 * {"frame": 0, "pts": 0, "running_time": 0, "width": 640, "height": 360,
 *  "targets": [{"id": 1, "state": "tracking", "score": 0.93, "box": [120, 80, 64, 96],
 *               "polygon": [[118.5, 79.0], [185.0, 81.5], [182.5, 177.0], [116.0, 174.5]],
 *               "label": "object", "first_seen": 0, "last_seen": 0,
 *               "mask": {"x": 120, "y": 80, "width": 64, "height": 96, "size": [96, 64], "counts": [130, 12, ...]}}]}
 * ]|
 * (shown on several lines here; in the file each object is a single line).
 *
 * - "frame": the buffer's index since the element started (0-based);
 * - "pts": the buffer's presentation timestamp in nanoseconds, null when it has none;
 * - "running_time": the PTS as running time in nanoseconds (null without a PTS or a TIME segment);
 * - "width", "height": the frame size from the caps;
 * - "targets": one object per track meta; requests in state "init" are skipped. "state" is the state's nick
 *   ("new", "tracking", "lost", "reinitialised"); "box" is x, y, width, height in frame pixels; "polygon" is only
 *   present when the target has one; "label" is null when unset; "first_seen" and "last_seen" are running times
 *   in nanoseconds or null; "mask" is absent when the target has no mask or #GstOceanPlusExport:mask-format is
 *   "none".
 *
 * The mask: "x", "y", "width", "height" give the frame rectangle the mask covers; the mask itself is box-local at its
 * own resolution, "size" = [rows, cols] (which may differ from the rectangle after a videoscale: scale it to the
 * rectangle). "counts" is COCO's uncompressed run-length encoding: the mask is read in column-major (Fortran) order,
 * top to bottom, then left to right; counts alternate between runs of background and of foreground (non-zero)
 * pixels, starting with background (so the first count is 0 when the top-left pixel is foreground), and add up to
 * rows × cols. pycocotools reads it with
 * `mask_utils.decode(mask_utils.frPyObjects({"size": size, "counts": counts}, *size))`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! oceanplustrack init-box="<100, 80, 64, 96>" ! \
 *     oceanplusexport location=tracks.jsonl ! fakesink
 * ]| Tracks the region of the first frame and writes one line per frame to tracks.jsonl.
 */

#include "gstoceanplusexport.h"
#include "oceanplusrle.h"

#include <gst/oceanplus/gstoceanplustrackmeta.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY_STATIC (gst_oceanplus_export_debug);
#define GST_CAT_DEFAULT gst_oceanplus_export_debug

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_MASK_FORMAT,
};

#define DEFAULT_LOCATION nullptr
#define DEFAULT_MASK_FORMAT GST_OCEANPLUS_EXPORT_MASK_FORMAT_RLE

namespace {

struct Settings
{
  std::string location;  /* empty: not set */
  GstOceanPlusExportMaskFormat mask_format = DEFAULT_MASK_FORMAT;
};

/* Streaming state, built in start()/set_caps() and released in stop(); only the streaming thread and the state
 * changes touch it. */
struct State
{
  std::FILE *file = nullptr;
  std::string path;
  guint64 frame = 0;
  gint width = 0;
  gint height = 0;
};

}  // namespace

struct _GstOceanPlusExport
{
  GstBaseTransform parent;

  /* < private > */
  Settings settings;  /* guarded by the object lock */
  State state;
};

GType
gst_oceanplus_export_mask_format_get_type (void)
{
  static gsize type_id = 0;
  static const GEnumValue values[] = {
    {GST_OCEANPLUS_EXPORT_MASK_FORMAT_RLE, "COCO-style uncompressed run-length encoding, column-major", "rle"},
    {GST_OCEANPLUS_EXPORT_MASK_FORMAT_NONE, "No masks", "none"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type_id)) {
    const GType type = g_enum_register_static ("GstOceanPlusExportMaskFormat", values);
    g_once_init_leave (&type_id, type);
  }
  return type_id;
}

#define gst_oceanplus_export_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstOceanPlusExport, gst_oceanplus_export, GST_TYPE_BASE_TRANSFORM,
    GST_DEBUG_CATEGORY_INIT (gst_oceanplus_export_debug, "oceanplusexport", 0,
        "Writes tracked targets as JSON lines"));
GST_ELEMENT_REGISTER_DEFINE (oceanplusexport, "oceanplusexport", GST_RANK_NONE, GST_TYPE_OCEANPLUS_EXPORT);

/* Only the metadata is read, so any raw video in any memory will do. */
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw(ANY)"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw(ANY)"));

namespace {

/* Keys keep the order they are written in, as in the documentation. */
using Json = nlohmann::ordered_json;

Json
time_or_null (GstClockTime time)
{
  return GST_CLOCK_TIME_IS_VALID (time) ? Json (static_cast<guint64> (time)) : Json (nullptr);
}

/* Floats printed at the precision they carry: 0.9f would otherwise come out as 0.8999999761581421. Dividing by the
 * (exact) power of ten gives the double nearest to the rounded decimal, which prints short. */
Json
rounded (float value, double power_of_ten)
{
  if (!std::isfinite (value))
    return nullptr;
  return std::round (static_cast<double> (value) * power_of_ten) / power_of_ten;
}

/* The mask as {"x", "y", "width", "height", "size", "counts"}, or null when it cannot be read. */
Json
mask_json (GstElement * element, const GstOceanPlusTrackMeta * target)
{
  gint rect_x, rect_y;
  guint rect_width, rect_height;
  GstBuffer *mask = gst_oceanplus_track_meta_get_mask (target, &rect_x, &rect_y, &rect_width, &rect_height);
  if (mask == nullptr)
    return nullptr;

  Json result = nullptr;
  GstVideoMeta *vmeta = gst_buffer_get_video_meta (mask);
  GstMapInfo map;
  gpointer data = nullptr;
  gint stride = 0;
  if (vmeta != nullptr && vmeta->format == GST_VIDEO_FORMAT_GRAY8 &&
      gst_video_meta_map (vmeta, 0, &map, &data, &stride, GST_MAP_READ)) {
    const std::vector<uint32_t> counts =
        oceanplus::rle::encode (static_cast<const uint8_t *> (data), stride, vmeta->height, vmeta->width);
    gst_video_meta_unmap (vmeta, 0, &map);
    result = {
      {"x", rect_x}, {"y", rect_y}, {"width", rect_width}, {"height", rect_height},
      {"size", {vmeta->height, vmeta->width}},
      {"counts", counts},
    };
  } else {
    GST_WARNING_OBJECT (element, "the mask of target %" G_GUINT64_FORMAT " is not a readable GRAY8 buffer with a "
        "GstVideoMeta; written without it", target->id);
  }
  gst_buffer_unref (mask);
  return result;
}

Json
target_json (GstElement * element, const GstOceanPlusTrackMeta * target, const Settings & settings)
{
  Json json = {
    {"id", target->id},
    {"state", gst_oceanplus_track_state_to_string (target->state)},
    {"score", rounded (target->score, 1e6)},
    {"box", {target->x, target->y, target->width, target->height}},
  };
  if (target->n_points > 0) {
    Json polygon = Json::array ();
    const guint n_points = std::min<guint> (target->n_points, GST_OCEANPLUS_TRACK_META_MAX_POINTS);
    for (guint i = 0; i < n_points; ++i)
      polygon.push_back ({rounded (target->points[2 * i], 1e3), rounded (target->points[2 * i + 1], 1e3)});
    json["polygon"] = std::move (polygon);
  }
  json["label"] = target->label != 0 ? Json (g_quark_to_string (target->label)) : Json (nullptr);
  json["first_seen"] = time_or_null (target->first_seen);
  json["last_seen"] = time_or_null (target->last_seen);
  if (settings.mask_format == GST_OCEANPLUS_EXPORT_MASK_FORMAT_RLE) {
    Json mask = mask_json (element, target);
    if (!mask.is_null ())
      json["mask"] = std::move (mask);
  }
  return json;
}

}  // namespace

static void gst_oceanplus_export_finalize (GObject * object);
static void gst_oceanplus_export_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_oceanplus_export_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static gboolean gst_oceanplus_export_start (GstBaseTransform * trans);
static gboolean gst_oceanplus_export_stop (GstBaseTransform * trans);
static gboolean gst_oceanplus_export_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_oceanplus_export_sink_event (GstBaseTransform * trans, GstEvent * event);
static GstFlowReturn gst_oceanplus_export_transform_ip (GstBaseTransform * trans, GstBuffer * buffer);

static void
gst_oceanplus_export_class_init (GstOceanPlusExportClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *transform_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->finalize = gst_oceanplus_export_finalize;
  gobject_class->set_property = gst_oceanplus_export_set_property;
  gobject_class->get_property = gst_oceanplus_export_get_property;

  /**
   * GstOceanPlusExport:location:
   *
   * The file to write (created or truncated when the element starts). Required; a change takes effect at the next
   * start.
   */
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "File location",
          "The JSON Lines file to write (required; created or truncated when the element starts)", DEFAULT_LOCATION,
          static_cast<GParamFlags> (G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | G_PARAM_STATIC_STRINGS)));

  /**
   * GstOceanPlusExport:mask-format:
   *
   * How each target's mask is written: "rle" (COCO-style uncompressed RLE in column-major order, see the element
   * documentation) or "none" (no "mask" field).
   */
  g_object_class_install_property (gobject_class, PROP_MASK_FORMAT,
      g_param_spec_enum ("mask-format", "Mask format",
          "How masks are written: rle (COCO uncompressed RLE, column-major, counts start with background) or none",
          GST_TYPE_OCEANPLUS_EXPORT_MASK_FORMAT, DEFAULT_MASK_FORMAT,
          static_cast<GParamFlags> (G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata (element_class, "OceanPlus export", "Analyzer/Video",
      "Writes the tracked targets of each buffer (boxes, polygons, RLE masks) as one JSON line",
      "oceanplus-gst developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  transform_class->start = GST_DEBUG_FUNCPTR (gst_oceanplus_export_start);
  transform_class->stop = GST_DEBUG_FUNCPTR (gst_oceanplus_export_stop);
  transform_class->set_caps = GST_DEBUG_FUNCPTR (gst_oceanplus_export_set_caps);
  transform_class->sink_event = GST_DEBUG_FUNCPTR (gst_oceanplus_export_sink_event);
  transform_class->transform_ip = GST_DEBUG_FUNCPTR (gst_oceanplus_export_transform_ip);
  /* The buffer is only read: no need to make it writable. */
  transform_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (GST_TYPE_OCEANPLUS_EXPORT_MASK_FORMAT, static_cast<GstPluginAPIFlags> (0));
}

static void
gst_oceanplus_export_init (GstOceanPlusExport * self)
{
  /* The instance is raw GObject memory: construct the C++ members in place (destroyed in finalize). */
  new (&self->settings) Settings ();
  new (&self->state) State ();
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_oceanplus_export_finalize (GObject * object)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (object);

  if (self->state.file != nullptr)
    std::fclose (self->state.file);
  self->state.~State ();
  self->settings.~Settings ();

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_oceanplus_export_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION: {
      const gchar *location = g_value_get_string (value);
      self->settings.location = location != nullptr ? location : "";
      break;
    }
    case PROP_MASK_FORMAT:
      self->settings.mask_format = static_cast<GstOceanPlusExportMaskFormat> (g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_oceanplus_export_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->settings.location.empty () ? nullptr : self->settings.location.c_str ());
      break;
    case PROP_MASK_FORMAT:
      g_value_set_enum (value, self->settings.mask_format);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_oceanplus_export_start (GstBaseTransform * trans)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (trans);

  GST_OBJECT_LOCK (self);
  const std::string location = self->settings.location;
  GST_OBJECT_UNLOCK (self);

  if (location.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No file name specified for writing (set \"location\")."),
        (nullptr));
    return FALSE;
  }

  std::FILE *file = g_fopen (location.c_str (), "wb");
  if (file == nullptr) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("Could not open file \"%s\" for writing.", location.c_str ()),
        GST_ERROR_SYSTEM);
    return FALSE;
  }

  self->state = State ();
  self->state.file = file;
  self->state.path = location;
  GST_INFO_OBJECT (self, "writing to %s", location.c_str ());
  return TRUE;
}

static gboolean
gst_oceanplus_export_stop (GstBaseTransform * trans)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (trans);

  if (self->state.file != nullptr && std::fclose (self->state.file) != 0)
    GST_WARNING_OBJECT (self, "closing %s failed: %s", self->state.path.c_str (), g_strerror (errno));
  GST_INFO_OBJECT (self, "wrote %" G_GUINT64_FORMAT " lines to %s", self->state.frame, self->state.path.c_str ());
  self->state = State ();
  return TRUE;
}

static gboolean
gst_oceanplus_export_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (trans);
  (void) outcaps;

  /* Read the size straight from the structure: any format (and memory) is accepted, also ones GstVideoInfo cannot
   * describe. */
  const GstStructure *structure = gst_caps_get_structure (incaps, 0);
  gint width = 0, height = 0;
  if (!gst_structure_get_int (structure, "width", &width) || !gst_structure_get_int (structure, "height", &height)) {
    GST_ERROR_OBJECT (self, "Invalid caps (no width or height): %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  self->state.width = width;
  self->state.height = height;
  return TRUE;
}

static gboolean
gst_oceanplus_export_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->state.file != nullptr) {
    /* Every line is flushed already; this makes sure nothing is left in the C library's buffer at EOS. */
    if (std::fflush (self->state.file) != 0)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Could not write to file \"%s\".", self->state.path.c_str ()),
          GST_ERROR_SYSTEM);
    GST_DEBUG_OBJECT (self, "EOS after %" G_GUINT64_FORMAT " lines", self->state.frame);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static GstFlowReturn
gst_oceanplus_export_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstOceanPlusExport *self = GST_OCEANPLUS_EXPORT (trans);

  GST_OBJECT_LOCK (self);
  const Settings settings = self->settings;
  GST_OBJECT_UNLOCK (self);

  if (self->state.file == nullptr) {
    GST_ELEMENT_ERROR (self, CORE, FAILED, ("Internal error: no open file."), (nullptr));
    return GST_FLOW_ERROR;
  }

  const GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID (pts) && trans->segment.format == GST_FORMAT_TIME)
    running_time = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts);

  Json targets = Json::array ();
  gpointer iter = nullptr;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &iter, GST_OCEANPLUS_TRACK_META_API_TYPE))) {
    auto *target = reinterpret_cast<const GstOceanPlusTrackMeta *> (meta);
    if (target->state != GST_OCEANPLUS_TRACK_STATE_INIT)  /* requests, not results */
      targets.push_back (target_json (GST_ELEMENT (self), target, settings));
  }

  const Json line = {
    {"frame", self->state.frame},
    {"pts", time_or_null (pts)},
    {"running_time", time_or_null (running_time)},
    {"width", self->state.width},
    {"height", self->state.height},
    {"targets", std::move (targets)},
  };
  /* Labels come from quarks anyone can set: replace invalid UTF-8 rather than throw. */
  std::string text = line.dump (-1, ' ', false, Json::error_handler_t::replace);
  text.push_back ('\n');

  /* One complete line per buffer, flushed now: a reader can follow the file and a crash leaves whole lines. */
  if (std::fwrite (text.data (), 1, text.size (), self->state.file) != text.size () ||
      std::fflush (self->state.file) != 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Could not write to file \"%s\".", self->state.path.c_str ()),
        GST_ERROR_SYSTEM);
    return GST_FLOW_ERROR;
  }
  ++self->state.frame;
  return GST_FLOW_OK;
}
