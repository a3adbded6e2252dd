/* oceanplus-gst: the tracking element
 * SPDX-License-Identifier: MIT
 */
/**
 * SECTION:element-oceanplustrack
 * @title: oceanplustrack
 *
 * Follows objects through raw video at the pixel level with the OceanPlus tracker, and attaches to every buffer,
 * per target, a #GstOceanPlusTrackMeta (id, box, rotated box, score, state, first/last-seen running time, and the
 * mask as a box-local GRAY8 buffer) and a #GstVideoRegionOfInterestMeta with a "oceanplus-track" param (id, score,
 * state) that generic elements understand. The video itself passes through untouched.
 *
 * Targets start from, and re-initialise with:
 * - the `init-box` / `init-mask` properties (setting them again while playing re-initialises those targets);
 * - a #GstOceanPlusTrackMeta in state INIT on an incoming buffer (attached by an application);
 * - #GstVideoRegionOfInterestMeta from an upstream detector whose type is listed in `roi-init`;
 * - the serialized custom events of gst/oceanplus/gstoceanplusevent.h (frame-accurate, for applications);
 * - a left click in the video window (navigation events; `click-to-track`), a right click removes the target under
 *   the pointer;
 * - the action signals `add-box`, `add-mask`, `remove-target` and `reset`.
 *
 * A target whose score stays below `lost-threshold` for `lost-patience` buffers is reported lost (and found again
 * when the score recovers); the element posts "oceanplus-track-started", "-lost", "-reacquired" and "-removed"
 * element messages.
 *
 * The network runs on the CPU through OpenMP: set `OMP_WAIT_POLICY=passive` in the environment of a pipeline
 * whose other elements also need the CPU (idle OpenMP threads otherwise spin and starve them).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=examples/data/vtest.avi ! avidemux ! jpegdec ! videoconvert \
 *     ! oceanplustrack init-box=638,238,48,84 ! oceanplusoverlay ! videoconvert ! autovideosink
 * ]| Tracks the person starting at (638, 238) with a 48×84 box and draws the mask.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! oceanplustrack ! oceanplusoverlay ! videoconvert ! xvimagesink
 * ]| Click an object in the window to track it; right-click it to stop.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstoceanplustrack.h"

#include <gst/oceanplus/oceanplusmeta.h>
#include <gst/video/navigation.h>
#include <gst/video/video.h>
#ifdef HAVE_GST_ANALYTICS
#include <gst/analytics/analytics.h>
#endif

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "eval/label_png.h"
#include "model_loader.h"
#include "track/model_factory.h"
#include "track/params.h"
#include "track/track_session.h"

GST_DEBUG_CATEGORY_STATIC (gst_oceanplus_track_debug);
#define GST_CAT_DEFAULT gst_oceanplus_track_debug

namespace track = oceanplus::track;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_VARIANT,
  PROP_PRESET,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_FRAME_STEP,
  PROP_THREADS,
  PROP_MASK_THRESHOLD,
  PROP_LOST_THRESHOLD,
  PROP_LOST_PATIENCE,
  PROP_MAX_TARGETS,
  PROP_CYCLIC_INIT,
  PROP_INIT_BOX,
  PROP_INIT_MASK,
  PROP_ROI_INIT,
  PROP_ROI_MATCH_IOU,
  PROP_CLICK_TO_TRACK,
  PROP_CLICK_BOX_SIZE,
  PROP_TARGET_COUNT,
};

enum {
  SIGNAL_ADD_BOX,
  SIGNAL_ADD_MASK,
  SIGNAL_REMOVE_TARGET,
  SIGNAL_RESET,
  LAST_SIGNAL,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_VARIANT GST_OCEANPLUS_VARIANT_AUTO
#define DEFAULT_PRESET "auto"
#define DEFAULT_DEVICE GST_OCEANPLUS_DEVICE_AUTO
#define DEFAULT_PRECISION GST_OCEANPLUS_PRECISION_FP32
#define DEFAULT_FRAME_STEP GST_OCEANPLUS_FRAME_STEP_AUTO
#define DEFAULT_THREADS 0
#define DEFAULT_MASK_THRESHOLD -1.0
#define DEFAULT_LOST_THRESHOLD 0.3
#define DEFAULT_LOST_PATIENCE 5
#define DEFAULT_MAX_TARGETS 8
#define DEFAULT_CYCLIC_INIT TRUE
#define DEFAULT_ROI_INIT ""
#define DEFAULT_ROI_MATCH_IOU 0.3
#define DEFAULT_CLICK_TO_TRACK TRUE
#define DEFAULT_CLICK_BOX_SIZE 0

/* Raw formats taken as they come; each is converted to the network's BGR once per buffer. */
#define TRACK_FORMATS \
  "{ BGR, RGB, BGRx, RGBx, xBGR, xRGB, BGRA, RGBA, ABGR, ARGB, I420, YV12, NV12, NV21, Y42B, Y444, YUY2, UYVY, GRAY8 }"

/* Frames in GStreamer's CUDA memory (after nvh264dec, cudaupload, ...) are taken as well: mapping one for reading
 * downloads it once, and the buffer goes on unchanged, still on the GPU, so no cudadownload is needed in front. */
#define TRACK_CUDA_FORMATS "{ BGRx, RGBx, BGRA, RGBA, I420, YV12, NV12, NV21, Y444 }"
#define TRACK_CAPS \
  GST_VIDEO_CAPS_MAKE (TRACK_FORMATS) ";" GST_VIDEO_CAPS_MAKE_WITH_FEATURES ("memory:CUDAMemory", TRACK_CUDA_FORMATS)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (TRACK_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (TRACK_CAPS));

static guint track_signals[LAST_SIGNAL] = { 0 };

namespace {

/* The properties, copied under the object lock at the start of each buffer. */
struct Settings {
  std::string model;
  GstOceanPlusVariant variant = DEFAULT_VARIANT;
  std::string preset = DEFAULT_PRESET;
  GstOceanPlusDevice device = DEFAULT_DEVICE;
  GstOceanPlusPrecision precision = DEFAULT_PRECISION;
  GstOceanPlusFrameStep frame_step = DEFAULT_FRAME_STEP;
  guint threads = DEFAULT_THREADS;
  gdouble mask_threshold = DEFAULT_MASK_THRESHOLD;
  gdouble lost_threshold = DEFAULT_LOST_THRESHOLD;
  guint lost_patience = DEFAULT_LOST_PATIENCE;
  guint max_targets = DEFAULT_MAX_TARGETS;
  gboolean cyclic_init = DEFAULT_CYCLIC_INIT;
  std::string init_box;
  std::string init_mask;
  std::string roi_init = DEFAULT_ROI_INIT;
  gdouble roi_match_iou = DEFAULT_ROI_MATCH_IOU;
  gboolean click_to_track = DEFAULT_CLICK_TO_TRACK;
  guint click_box_size = DEFAULT_CLICK_BOX_SIZE;
};

/* Streaming state: built in start() and set_caps(), freed in stop(). */
struct State {
  std::unique_ptr<track::TrackSession> session;
  GstVideoInfo in_info;
  GstVideoInfo bgr_info;              /* the network's input: packed BGR, rows not padded */
  GstVideoConverter *converter = nullptr;  /* NULL when the input is BGR already */
  cv::Mat bgr;
  std::map<uint64_t, cv::Rect2d> last_boxes;  /* for matching detector ROIs against running targets */
  guint64 frames = 0;
  int threads = 0;  /* CPU threads asked for; applied in the streaming thread on its first buffer */

  ~State () {
    if (converter)
      gst_video_converter_free (converter);
  }
};

}  // namespace

struct _GstOceanPlusTrack {
  GstBaseTransform parent;

  /* Guarded by the object lock. */
  Settings settings;
  bool init_regions_changed = false;  /* init-box / init-mask were set: (re)apply them on the next buffer */
  std::deque<track::TargetRequest> requests;  /* from signals, events and clicks, for the next buffer */
  std::vector<uint64_t> property_ids;  /* the targets init-box / init-mask own, in order */
  std::set<uint64_t> live_ids;  /* targets alive after the last buffer (what remove-target can find) */
  uint64_t next_id = 1;

  /* Streaming thread only. */
  State *state;
};

#define gst_oceanplus_track_parent_class parent_class
G_DEFINE_TYPE (GstOceanPlusTrack, gst_oceanplus_track, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (oceanplustrack, "oceanplustrack", GST_RANK_NONE, GST_TYPE_OCEANPLUS_TRACK);

static GType
gst_oceanplus_variant_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_OCEANPLUS_VARIANT_AUTO, "Whatever the model file holds (MSS for the random-weights fallback)", "auto"},
    {GST_OCEANPLUS_VARIANT_MSS, "Multi-stage mask decoder (faster)", "mss"},
    {GST_OCEANPLUS_VARIANT_MMS, "Multi-resolution multi-stage mask decoder (more accurate)", "mms"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstOceanPlusVariant", values));
  return type;
}

static GType
gst_oceanplus_device_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_OCEANPLUS_DEVICE_AUTO, "The GPU when there is one, else the CPU", "auto"},
    {GST_OCEANPLUS_DEVICE_CPU, "The CPU", "cpu"},
    {GST_OCEANPLUS_DEVICE_CUDA, "An NVIDIA GPU (an error where there is none)", "cuda"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstOceanPlusDevice", values));
  return type;
}

static GType
gst_oceanplus_precision_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_OCEANPLUS_PRECISION_FP32, "float32", "fp32"},
    {GST_OCEANPLUS_PRECISION_FP16, "float16, channels-last (GPU only)", "fp16"},
    {GST_OCEANPLUS_PRECISION_BF16, "bfloat16, channels-last", "bf16"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstOceanPlusPrecision", values));
  return type;
}

static GType
gst_oceanplus_frame_step_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_OCEANPLUS_FRAME_STEP_AUTO, "On a GPU, else off", "auto"},
    {GST_OCEANPLUS_FRAME_STEP_ON, "Always (on the CPU the kernels' references)", "on"},
    {GST_OCEANPLUS_FRAME_STEP_OFF, "Never (OpenCV crops and paste-back)", "off"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstOceanPlusFrameStep", values));
  return type;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Helpers                                                                                                       */

/* Parses "x,y,w,h[;x,y,w,h...]" (pixels, decimals allowed). Empty text gives no box. */
static bool
parse_boxes (const std::string & text, std::vector<cv::Rect2d> & boxes, std::string & error)
{
  boxes.clear ();
  std::stringstream list (text);
  std::string item;
  while (std::getline (list, item, ';')) {
    if (item.find_first_not_of (" \t") == std::string::npos)
      continue;
    double v[4];
    const char *p = item.c_str ();
    for (int i = 0; i < 4; ++i) {
      char *end = nullptr;
      v[i] = std::strtod (p, &end);
      if (end == p || !std::isfinite (v[i])) {
        error = "'" + item + "' is not x,y,width,height";
        return false;
      }
      p = end;
      while (*p == ' ' || *p == '\t')
        ++p;
      if (i < 3) {
        if (*p != ',') {
          error = "'" + item + "' is not x,y,width,height";
          return false;
        }
        ++p;
      }
    }
    while (*p == ' ' || *p == '\t')
      ++p;
    if (*p != '\0') {
      error = "'" + item + "' has trailing text";
      return false;
    }
    boxes.emplace_back (v[0], v[1], v[2], v[3]);
  }
  return true;
}

/* A GRAY8 mask buffer (with a GstVideoMeta) as a cv::Mat copy; empty when the buffer is not such a mask. */
static cv::Mat
mask_buffer_to_mat (GstBuffer * mask)
{
  GstVideoMeta *vmeta = mask ? gst_buffer_get_video_meta (mask) : NULL;
  if (!vmeta || vmeta->format != GST_VIDEO_FORMAT_GRAY8 || vmeta->width == 0 || vmeta->height == 0)
    return cv::Mat ();
  GstMapInfo map;
  if (!gst_buffer_map (mask, &map, GST_MAP_READ))
    return cv::Mat ();
  cv::Mat out;
  const gsize needed = vmeta->offset[0] + (gsize) vmeta->stride[0] * (vmeta->height - 1) + vmeta->width;
  if (vmeta->stride[0] >= (gint) vmeta->width && map.size >= needed) {
    cv::Mat view ((int) vmeta->height, (int) vmeta->width, CV_8U, map.data + vmeta->offset[0],
        (size_t) vmeta->stride[0]);
    out = view.clone ();
  }
  gst_buffer_unmap (mask, &map);
  return out;
}

static double
box_iou (const cv::Rect2d & a, const cv::Rect2d & b)
{
  const double inter = (a & b).area ();
  const double uni = a.area () + b.area () - inter;
  return uni > 0 ? inter / uni : 0.0;
}

static bool
roi_type_selected (const std::string & selection, const gchar * type)
{
  if (selection.empty ())
    return false;
  std::stringstream list (selection);
  std::string item;
  while (std::getline (list, item, ',')) {
    item.erase (0, item.find_first_not_of (" \t"));
    item.erase (item.find_last_not_of (" \t") + 1);
    if (item == "*" || (type && item == type))
      return true;
  }
  return false;
}

static GstOceanPlusTrackState
meta_state (track::TrackState state)
{
  switch (state) {
    case track::TrackState::New:
      return GST_OCEANPLUS_TRACK_STATE_NEW;
    case track::TrackState::Tracking:
      return GST_OCEANPLUS_TRACK_STATE_TRACKING;
    case track::TrackState::Lost:
      return GST_OCEANPLUS_TRACK_STATE_LOST;
    case track::TrackState::Reinitialised:
      return GST_OCEANPLUS_TRACK_STATE_REINITIALISED;
  }
  return GST_OCEANPLUS_TRACK_STATE_TRACKING;
}

/* Takes an id for a new target (object lock held). */
static uint64_t
take_id_locked (GstOceanPlusTrack * self)
{
  return self->next_id++;
}

/* The id a request names (an application's choice, which is then never handed out again), or a new one for 0
 * (object lock held). */
static uint64_t
claim_id_locked (GstOceanPlusTrack * self, uint64_t requested)
{
  if (requested == 0)
    return take_id_locked (self);
  self->next_id = std::max (self->next_id, requested + 1);
  return requested;
}

static void
queue_request (GstOceanPlusTrack * self, track::TargetRequest request)
{
  GST_OBJECT_LOCK (self);
  self->requests.push_back (std::move (request));
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Properties and signals                                                                                        */

static void
gst_oceanplus_track_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (object);
  Settings & s = self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:{
      const gchar *v = g_value_get_string (value);
      s.model = v ? v : "";
      break;
    }
    case PROP_VARIANT:
      s.variant = (GstOceanPlusVariant) g_value_get_enum (value);
      break;
    case PROP_PRESET:{
      const gchar *v = g_value_get_string (value);
      s.preset = (v && *v) ? v : DEFAULT_PRESET;
      break;
    }
    case PROP_DEVICE:
      s.device = (GstOceanPlusDevice) g_value_get_enum (value);
      break;
    case PROP_PRECISION:
      s.precision = (GstOceanPlusPrecision) g_value_get_enum (value);
      break;
    case PROP_FRAME_STEP:
      s.frame_step = (GstOceanPlusFrameStep) g_value_get_enum (value);
      break;
    case PROP_THREADS:
      s.threads = g_value_get_uint (value);
      break;
    case PROP_MASK_THRESHOLD:
      s.mask_threshold = g_value_get_double (value);
      break;
    case PROP_LOST_THRESHOLD:
      s.lost_threshold = g_value_get_double (value);
      break;
    case PROP_LOST_PATIENCE:
      s.lost_patience = g_value_get_uint (value);
      break;
    case PROP_MAX_TARGETS:
      s.max_targets = g_value_get_uint (value);
      break;
    case PROP_CYCLIC_INIT:
      s.cyclic_init = g_value_get_boolean (value);
      break;
    case PROP_INIT_BOX:{
      const gchar *v = g_value_get_string (value);
      s.init_box = v ? v : "";
      self->init_regions_changed = true;
      break;
    }
    case PROP_INIT_MASK:{
      const gchar *v = g_value_get_string (value);
      s.init_mask = v ? v : "";
      self->init_regions_changed = true;
      break;
    }
    case PROP_ROI_INIT:{
      const gchar *v = g_value_get_string (value);
      s.roi_init = v ? v : "";
      break;
    }
    case PROP_ROI_MATCH_IOU:
      s.roi_match_iou = g_value_get_double (value);
      break;
    case PROP_CLICK_TO_TRACK:
      s.click_to_track = g_value_get_boolean (value);
      break;
    case PROP_CLICK_BOX_SIZE:
      s.click_box_size = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_oceanplus_track_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (object);
  const Settings & s = self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, s.model.empty ()? NULL : s.model.c_str ());
      break;
    case PROP_VARIANT:
      g_value_set_enum (value, s.variant);
      break;
    case PROP_PRESET:
      g_value_set_string (value, s.preset.c_str ());
      break;
    case PROP_DEVICE:
      g_value_set_enum (value, s.device);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, s.precision);
      break;
    case PROP_FRAME_STEP:
      g_value_set_enum (value, s.frame_step);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, s.threads);
      break;
    case PROP_MASK_THRESHOLD:
      g_value_set_double (value, s.mask_threshold);
      break;
    case PROP_LOST_THRESHOLD:
      g_value_set_double (value, s.lost_threshold);
      break;
    case PROP_LOST_PATIENCE:
      g_value_set_uint (value, s.lost_patience);
      break;
    case PROP_MAX_TARGETS:
      g_value_set_uint (value, s.max_targets);
      break;
    case PROP_CYCLIC_INIT:
      g_value_set_boolean (value, s.cyclic_init);
      break;
    case PROP_INIT_BOX:
      g_value_set_string (value, s.init_box.c_str ());
      break;
    case PROP_INIT_MASK:
      g_value_set_string (value, s.init_mask.c_str ());
      break;
    case PROP_ROI_INIT:
      g_value_set_string (value, s.roi_init.c_str ());
      break;
    case PROP_ROI_MATCH_IOU:
      g_value_set_double (value, s.roi_match_iou);
      break;
    case PROP_CLICK_TO_TRACK:
      g_value_set_boolean (value, s.click_to_track);
      break;
    case PROP_CLICK_BOX_SIZE:
      g_value_set_uint (value, s.click_box_size);
      break;
    case PROP_TARGET_COUNT:
      g_value_set_uint (value, (guint) self->live_ids.size ());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static guint64
gst_oceanplus_track_add_box (GstOceanPlusTrack * self, gint x, gint y, gint width, gint height)
{
  if (width <= 0 || height <= 0) {
    GST_WARNING_OBJECT (self, "add-box: ignoring a box of zero size (%d,%d,%d,%d)", x, y, width, height);
    return 0;
  }
  GST_OBJECT_LOCK (self);
  const uint64_t id = take_id_locked (self);
  self->requests.push_back (track::TargetRequest::from_box (id, cv::Rect2d (x, y, width, height),
          self->settings.cyclic_init));
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "add-box %d,%d,%d,%d: target %" G_GUINT64_FORMAT " on the next buffer", x, y, width,
      height, (guint64) id);
  return id;
}

static guint64
gst_oceanplus_track_add_mask (GstOceanPlusTrack * self, GstBuffer * mask, gint x, gint y)
{
  cv::Mat local = mask_buffer_to_mat (mask);
  if (local.empty ()) {
    GST_WARNING_OBJECT (self, "add-mask: the buffer is not a GRAY8 mask with a GstVideoMeta; ignored");
    return 0;
  }
  GST_OBJECT_LOCK (self);
  const uint64_t id = take_id_locked (self);
  self->requests.push_back (track::TargetRequest::from_mask (id, local, cv::Rect2d (x, y, local.cols,
              local.rows)));
  GST_OBJECT_UNLOCK (self);
  return id;
}

static gboolean
gst_oceanplus_track_remove_target (GstOceanPlusTrack * self, guint64 id)
{
  GST_OBJECT_LOCK (self);
  const bool known = self->live_ids.count (id) != 0 || std::any_of (self->requests.begin (),
      self->requests.end (), [id] (const track::TargetRequest & r) {
        return r.id == id && (r.kind == track::TargetRequest::Kind::Box
            || r.kind == track::TargetRequest::Kind::Mask);
      });
  if (known)
    self->requests.push_back (track::TargetRequest::remove (id));
  GST_OBJECT_UNLOCK (self);
  return known;
}

static void
gst_oceanplus_track_reset (GstOceanPlusTrack * self)
{
  GST_OBJECT_LOCK (self);
  self->requests.clear ();
  self->requests.push_back (track::TargetRequest::remove_all ());
  self->property_ids.clear ();
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Streaming                                                                                                     */

static gboolean
gst_oceanplus_track_start (GstBaseTransform * trans)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (trans);

  GST_OBJECT_LOCK (self);
  const Settings settings = self->settings;
  self->init_regions_changed = !settings.init_box.empty () || !settings.init_mask.empty ();
  self->property_ids.clear ();
  self->live_ids.clear ();
  GST_OBJECT_UNLOCK (self);

  oceanplus::gst::ModelChoice choice;
  choice.file = settings.model;
  choice.variant = (oceanplus::gst::ModelVariant) settings.variant;
  choice.device = (oceanplus::gst::ComputeDevice) settings.device;
  choice.precision = (oceanplus::gst::Precision) settings.precision;
  choice.threads = (int) settings.threads;

  // A bad preset name fails before the (slower) model load.
  const bool auto_preset = settings.preset == "auto";
  track::TrackerParams params;
  try {
    if (!auto_preset)
      params = track::load_params (settings.preset);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Invalid tracker preset '%s'.", settings.preset.c_str ()),
        ("%s", e.what ()));
    return FALSE;
  }

  oceanplus::gst::LoadedModel loaded;
  try {
    loaded = oceanplus::gst::load_model (choice);
  } catch (const std::exception &e) {
    const std::string file = settings.model.empty ()? track::default_model_file () : settings.model;
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("Could not load the tracking model '%s'.",
            file.empty ()? "(built-in)" : file.c_str ()), ("%s", e.what ()));
    return FALSE;
  }
  if (loaded.random_weights) {
    GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND, ("No trained tracking model is installed; tracking with "
            "random weights (the masks mean nothing)."), ("Set the 'model' property to a weights file "
            "(e.g. models/oceanplus-lite.pt). %s", loaded.description.c_str ()));
  }
  if (auto_preset)
    params = track::preset (loaded.default_preset);
  GST_INFO_OBJECT (self, "model: %s; preset %s", loaded.description.c_str (), params.name.c_str ());

  track::SessionOptions options;
  options.lost_score = settings.lost_threshold;
  options.lost_patience = (int) settings.lost_patience;
  options.max_targets = settings.max_targets;
  options.mask_threshold = settings.mask_threshold;

  State *state = new State ();
  state->session = std::make_unique<track::TrackSession> (loaded.model, params, options);
  state->threads = loaded.threads;
  gst_video_info_init (&state->in_info);
  self->state = state;
  return TRUE;
}

static gboolean
gst_oceanplus_track_stop (GstBaseTransform * trans)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (trans);
  delete self->state;
  self->state = nullptr;
  GST_OBJECT_LOCK (self);
  self->live_ids.clear ();
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_oceanplus_track_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (trans);
  State *state = self->state;
  GstVideoInfo info;

  if (!state || !gst_video_info_from_caps (&info, incaps)) {
    GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  if (state->converter) {
    gst_video_converter_free (state->converter);
    state->converter = nullptr;
  }
  state->in_info = info;
  const int width = GST_VIDEO_INFO_WIDTH (&info), height = GST_VIDEO_INFO_HEIGHT (&info);
  gst_video_info_set_format (&state->bgr_info, GST_VIDEO_FORMAT_BGR, width, height);
  /* The converter wants the timing and layout of the input on both sides. */
  GST_VIDEO_INFO_FPS_N (&state->bgr_info) = GST_VIDEO_INFO_FPS_N (&info);
  GST_VIDEO_INFO_FPS_D (&state->bgr_info) = GST_VIDEO_INFO_FPS_D (&info);
  GST_VIDEO_INFO_PAR_N (&state->bgr_info) = GST_VIDEO_INFO_PAR_N (&info);
  GST_VIDEO_INFO_PAR_D (&state->bgr_info) = GST_VIDEO_INFO_PAR_D (&info);
  GST_VIDEO_INFO_INTERLACE_MODE (&state->bgr_info) = GST_VIDEO_INFO_INTERLACE_MODE (&info);
  /* Unpadded rows, so that the cv::Mat the tracker reads is continuous. */
  state->bgr_info.stride[0] = 3 * width;
  state->bgr_info.size = (gsize) 3 * width * height;
  state->bgr.create (height, width, CV_8UC3);
  if (GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_BGR) {
    state->converter = gst_video_converter_new (&info, &state->bgr_info, NULL);
    if (!state->converter) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Cannot convert %s to BGR.",
              gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info))), (NULL));
      return FALSE;
    }
  }
  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, incaps);
  (void) outcaps;
  return TRUE;
}

/* The frame as BGR (state->bgr), converted once. */
static bool
frame_to_bgr (GstOceanPlusTrack * self, GstBuffer * buffer)
{
  State *state = self->state;
  GstVideoFrame in_frame;
  if (!gst_video_frame_map (&in_frame, &state->in_info, buffer, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not map the video frame."), (NULL));
    return false;
  }
  if (!state->converter) {
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&in_frame, 0);
    cv::Mat view (state->bgr.rows, state->bgr.cols, CV_8UC3, GST_VIDEO_FRAME_PLANE_DATA (&in_frame, 0),
        (size_t) stride);
    view.copyTo (state->bgr);
  } else {
    GstBuffer *out = gst_buffer_new_wrapped_full ((GstMemoryFlags) 0, state->bgr.data, state->bgr_info.size, 0,
        state->bgr_info.size, NULL, NULL);
    GstVideoFrame out_frame;
    if (!gst_video_frame_map (&out_frame, &state->bgr_info, out, GST_MAP_WRITE)) {
      gst_buffer_unref (out);
      gst_video_frame_unmap (&in_frame);
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not map the conversion buffer."), (NULL));
      return false;
    }
    gst_video_converter_frame (state->converter, &in_frame, &out_frame);
    gst_video_frame_unmap (&out_frame);
    gst_buffer_unref (out);
  }
  gst_video_frame_unmap (&in_frame);
  return true;
}

/* The crop kernel's name for a buffer format it reads in place, or -1. */
static int
kernel_pixel_format (GstVideoFormat format)
{
  switch (format) {
    case GST_VIDEO_FORMAT_BGR:
      return OCEANPLUS_PIXEL_BGR;
    case GST_VIDEO_FORMAT_RGB:
      return OCEANPLUS_PIXEL_RGB;
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_RGBx:
      return OCEANPLUS_PIXEL_RGBA;  /* the fourth byte is never read */
    case GST_VIDEO_FORMAT_BGRA:
    case GST_VIDEO_FORMAT_BGRx:
      return OCEANPLUS_PIXEL_BGRX;
    case GST_VIDEO_FORMAT_NV12:
      return OCEANPLUS_PIXEL_NV12;
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_YV12:  /* I420 with the chroma planes swapped: taken by component below */
      return OCEANPLUS_PIXEL_I420;
    default:
      return -1;
  }
}

/* The mapped frame as the frame step's crop kernel reads it (host memory). */
static track::FrameSource
frame_source_of (const GstVideoFrame * frame, int format)
{
  track::FrameSource source;
  source.image.format = format;
  source.image.width = GST_VIDEO_FRAME_WIDTH (frame);
  source.image.height = GST_VIDEO_FRAME_HEIGHT (frame);
  if (format == OCEANPLUS_PIXEL_I420) {
    const int components[3] = { GST_VIDEO_COMP_Y, GST_VIDEO_COMP_U, GST_VIDEO_COMP_V };
    for (int i = 0; i < 3; ++i) {
      source.image.planes[i] = (const uint8_t *) GST_VIDEO_FRAME_COMP_DATA (frame, components[i]);
      source.image.strides[i] = GST_VIDEO_FRAME_COMP_STRIDE (frame, components[i]);
    }
  } else {
    for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES (frame) && i < 3; ++i) {
      source.image.planes[i] = (const uint8_t *) GST_VIDEO_FRAME_PLANE_DATA (frame, i);
      source.image.strides[i] = GST_VIDEO_FRAME_PLANE_STRIDE (frame, i);
    }
  }
  return source;
}

/* init-box / init-mask → requests for the targets the properties own (object lock held). Parse problems are
 * returned as warnings. */
static void
property_requests_locked (GstOceanPlusTrack * self, std::vector<std::string> & warnings)
{
  const Settings & s = self->settings;
  std::vector<track::TargetRequest> wanted;

  std::vector<cv::Rect2d> boxes;
  std::string error;
  if (!parse_boxes (s.init_box, boxes, error)) {
    warnings.push_back ("init-box: " + error + "; expected x,y,width,height[;x,y,width,height...] in pixels");
    boxes.clear ();
  }
  for (const cv::Rect2d & box : boxes)
    wanted.push_back (track::TargetRequest::from_box (0, box, s.cyclic_init));

  if (!s.init_mask.empty ()) {
    try {
      const auto targets = oceanplus::eval::split_label_targets (oceanplus::eval::read_label_png (s.init_mask));
      if (targets.empty ())
        warnings.push_back ("init-mask: '" + s.init_mask + "' is empty (no target pixel)");
      for (const auto & t : targets)
        wanted.push_back (track::TargetRequest::from_mask (0, t.mask));
    } catch (const std::exception &e) {
      warnings.push_back (std::string ("init-mask: ") + e.what ());
    }
  }

  /* The n-th region keeps the n-th id: setting the property again re-initialises the same targets. */
  for (size_t i = 0; i < wanted.size (); ++i) {
    if (i >= self->property_ids.size ())
      self->property_ids.push_back (take_id_locked (self));
    wanted[i].id = self->property_ids[i];
    self->requests.push_back (wanted[i]);
  }
  for (size_t i = wanted.size (); i < self->property_ids.size (); ++i)
    self->requests.push_back (track::TargetRequest::remove (self->property_ids[i]));
  self->property_ids.resize (wanted.size ());
}

/* Requests carried by the buffer: INIT track metas (consumed) and detector ROIs of the selected types. */
static void
buffer_requests (GstOceanPlusTrack * self, GstBuffer * buffer, const Settings & settings,
    std::vector<track::TargetRequest> & requests)
{
  State *state = self->state;

  /* Our own INIT metas, attached by an application. */
  std::vector<GstMeta *> consumed;
  gpointer iter = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &iter, GST_OCEANPLUS_TRACK_META_API_TYPE))) {
    GstOceanPlusTrackMeta *tm = (GstOceanPlusTrackMeta *) meta;
    if (tm->state != GST_OCEANPLUS_TRACK_STATE_INIT)
      continue;
    consumed.push_back (meta);
    GST_OBJECT_LOCK (self);
    const uint64_t id = claim_id_locked (self, tm->id);
    GST_OBJECT_UNLOCK (self);
    const std::string label = g_quark_to_string (tm->label) ? g_quark_to_string (tm->label) : "object";
    gint mx, my;
    guint mw, mh;
    GstBuffer *mask = gst_oceanplus_track_meta_get_mask (tm, &mx, &my, &mw, &mh);
    if (mask) {
      cv::Mat local = mask_buffer_to_mat (mask);
      gst_buffer_unref (mask);
      requests.push_back (track::TargetRequest::from_mask (id, local, cv::Rect2d (mx, my, mw, mh), label));
    } else {
      requests.push_back (track::TargetRequest::from_box (id, cv::Rect2d (tm->x, tm->y, tm->width, tm->height),
              settings.cyclic_init, label));
    }
  }
  for (GstMeta *m : consumed)
    gst_buffer_remove_meta (buffer, m);

  /* Detector ROIs: a selected type that overlaps no running target (nor an earlier ROI) starts a track. */
  if (settings.roi_init.empty ())
    return;
  std::vector<cv::Rect2d> taken;
  for (const auto & [id, box] : state->last_boxes)
    taken.push_back (box);
  for (const auto & r : requests)
    taken.push_back (r.box);
  iter = NULL;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &iter, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    if (gst_video_region_of_interest_meta_get_param (roi, GST_OCEANPLUS_ROI_PARAM_NAME))
      continue;               /* ours (a tracker upstream): not a detection */
    const gchar *type = g_quark_to_string (roi->roi_type);
    if (!roi_type_selected (settings.roi_init, type) || roi->w == 0 || roi->h == 0)
      continue;
    const cv::Rect2d box (roi->x, roi->y, roi->w, roi->h);
    const bool matched = std::any_of (taken.begin (), taken.end (), [&] (const cv::Rect2d & t) {
          return box_iou (box, t) >= settings.roi_match_iou;
        });
    if (matched)
      continue;
    GST_OBJECT_LOCK (self);
    const uint64_t id = take_id_locked (self);
    GST_OBJECT_UNLOCK (self);
    requests.push_back (track::TargetRequest::from_box (id, box, settings.cyclic_init, type ? type : "object"));
    taken.push_back (box);
  }
}

static void
post_track_message (GstOceanPlusTrack * self, const track::SessionEvent & event, GstClockTime running_time)
{
  const char *name = GST_OCEANPLUS_MESSAGE_TRACK_STARTED;
  switch (event.kind) {
    case track::SessionEventKind::Started:
      name = GST_OCEANPLUS_MESSAGE_TRACK_STARTED;
      break;
    case track::SessionEventKind::Lost:
      name = GST_OCEANPLUS_MESSAGE_TRACK_LOST;
      break;
    case track::SessionEventKind::Reacquired:
      name = GST_OCEANPLUS_MESSAGE_TRACK_REACQUIRED;
      break;
    case track::SessionEventKind::Removed:
      name = GST_OCEANPLUS_MESSAGE_TRACK_REMOVED;
      break;
  }
  GstStructure *s = gst_structure_new (name,
      "id", G_TYPE_UINT64, (guint64) event.id,
      "running-time", G_TYPE_UINT64, (guint64) running_time,
      "score", G_TYPE_DOUBLE, event.score,
      "x", G_TYPE_INT, (gint) std::lround (event.box.x),
      "y", G_TYPE_INT, (gint) std::lround (event.box.y),
      "width", G_TYPE_INT, (gint) std::lround (event.box.width),
      "height", G_TYPE_INT, (gint) std::lround (event.box.height),
      "label", G_TYPE_STRING, event.label.c_str (), NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Attaches one target's metas: ours (with the box-local mask) and a ROI meta for generic elements. */
static void
attach_target_metas (GstOceanPlusTrack * self, GstBuffer * buffer, const track::SessionTarget & target,
    GstClockTime running_time)
{
  State *state = self->state;
  const int frame_w = state->bgr.cols, frame_h = state->bgr.rows;
  const track::TargetResult & r = target.result;

  /* The box in whole pixels, clipped to the frame. */
  const int x0 = std::clamp ((int) std::floor (r.box.x + 0.5), 0, frame_w);
  const int y0 = std::clamp ((int) std::floor (r.box.y + 0.5), 0, frame_h);
  const int x1 = std::clamp ((int) std::floor (r.box.x + r.box.width + 0.5), 0, frame_w);
  const int y1 = std::clamp ((int) std::floor (r.box.y + r.box.height + 0.5), 0, frame_h);
  const GstOceanPlusTrackState state_value = meta_state (target.state);
  const GstClockTime first_seen = target.first_seen >= 0 ? (GstClockTime) target.first_seen : GST_CLOCK_TIME_NONE;

  GstOceanPlusTrackMeta *meta = gst_buffer_add_oceanplus_track_meta (buffer, target.id, state_value, x0, y0,
      (guint) (x1 - x0), (guint) (y1 - y0), (gfloat) r.score);
  meta->first_seen = first_seen;
  meta->last_seen = running_time;
  meta->label = g_quark_from_string (target.label.c_str ());
  if (r.has_polygon) {
    gfloat xy[8];
    for (int i = 0; i < 4; ++i) {
      xy[2 * i] = r.polygon[i].x;
      xy[2 * i + 1] = r.polygon[i].y;
    }
    gst_oceanplus_track_meta_set_polygon (meta, xy, 4);
  }
  if (!r.mask.empty ()) {
    const cv::Rect where = cv::boundingRect (r.mask);
    if (where.area () > 0) {
      GstBuffer *mask = gst_oceanplus_mask_new ((guint) where.width, (guint) where.height);
      GstVideoMeta *vmeta = gst_buffer_get_video_meta (mask);
      GstMapInfo map;
      if (vmeta && gst_buffer_map (mask, &map, GST_MAP_WRITE)) {
        cv::Mat dst (where.height, where.width, CV_8U, map.data + vmeta->offset[0], (size_t) vmeta->stride[0]);
        cv::compare (r.mask (where), 0, dst, cv::CMP_NE);  /* 0/1 → 0/255 */
        gst_buffer_unmap (mask, &map);
        gst_oceanplus_track_meta_set_mask (meta, mask, where.x, where.y, (guint) where.width, (guint) where.height);
      } else {
        gst_buffer_unref (mask);
      }
    }
  }

  GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta (buffer,
      target.label.c_str (), (guint) x0, (guint) y0, (guint) (x1 - x0), (guint) (y1 - y0));
  roi->id = (gint) (target.id & G_MAXINT);
  gst_video_region_of_interest_meta_add_param (roi, gst_structure_new (GST_OCEANPLUS_ROI_PARAM_NAME,
          "id", G_TYPE_UINT64, (guint64) target.id,
          "score", G_TYPE_DOUBLE, r.score,
          "state", G_TYPE_STRING, gst_oceanplus_track_state_to_string (state_value),
          "first-seen", G_TYPE_UINT64, (guint64) first_seen,
          "last-seen", G_TYPE_UINT64, (guint64) running_time, NULL));
  gst_video_region_of_interest_meta_add_param (roi, gst_structure_new ("object_id",
          "id", G_TYPE_INT, (gint) (target.id & G_MAXINT), NULL));

#ifdef HAVE_GST_ANALYTICS
  /* GStreamer ≥ 1.24: an object-detection mtd related to a tracking mtd, as ioutracker does. */
  GstAnalyticsRelationMeta *relations = gst_buffer_get_analytics_relation_meta (buffer);
  if (!relations)
    relations = gst_buffer_add_analytics_relation_meta (buffer);
  GstAnalyticsODMtd od;
  GstAnalyticsTrackingMtd tracking;
  if (relations && gst_analytics_relation_meta_add_od_mtd (relations, g_quark_from_string (target.label.c_str ()),
          x0, y0, x1 - x0, y1 - y0, (gfloat) r.score, &od)
      && gst_analytics_relation_meta_add_tracking_mtd (relations, target.id, first_seen, &tracking)) {
    gst_analytics_tracking_mtd_update_last_seen (&tracking, running_time);
    if (target.state == track::TrackState::Lost)
      gst_analytics_tracking_mtd_set_lost (&tracking);
    gst_analytics_relation_meta_set_relation (relations, GST_ANALYTICS_REL_TYPE_RELATE_TO, od.id, tracking.id);
  }
#endif
}

static GstFlowReturn
gst_oceanplus_track_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (trans);
  State *state = self->state;
  if (!state || GST_VIDEO_INFO_FORMAT (&state->in_info) == GST_VIDEO_FORMAT_UNKNOWN) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("buffer before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  /* Settings and queued requests, taken together under the lock. */
  std::vector<std::string> warnings;
  GST_OBJECT_LOCK (self);
  if (self->init_regions_changed) {
    self->init_regions_changed = false;
    property_requests_locked (self, warnings);
  }
  const Settings settings = self->settings;
  std::deque<track::TargetRequest> queued;
  queued.swap (self->requests);
  GST_OBJECT_UNLOCK (self);

  std::vector<track::TargetRequest> requests (queued.begin (), queued.end ());
  buffer_requests (self, buffer, settings, requests);

  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  if (trans->segment.format == GST_FORMAT_TIME && GST_BUFFER_PTS_IS_VALID (buffer))
    running_time = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));

  track::SessionOptions options = state->session->options ();
  options.frame_step = settings.frame_step == GST_OCEANPLUS_FRAME_STEP_ON ? track::FrameStepMode::On
      : settings.frame_step == GST_OCEANPLUS_FRAME_STEP_OFF ? track::FrameStepMode::Off : track::FrameStepMode::Auto;
  options.lost_score = settings.lost_threshold;
  options.lost_patience = (int) settings.lost_patience;
  options.max_targets = settings.max_targets;
  options.mask_threshold = settings.mask_threshold;
  state->session->set_options (options);
  for (auto & r : requests)
    state->session->request (std::move (r));

  if (state->frames == 0) {
    const int threads = oceanplus::gst::use_cpu_threads (state->threads);
    GST_INFO_OBJECT (self, "network on %d CPU threads", threads);
  }
  /* When every target takes the frame step and nothing starts on this buffer, the crop kernel reads the buffer in
   * its own format (no BGR conversion; on a GPU NV12 goes up at half the bytes of BGR). Otherwise: BGR. */
  const int source_format = kernel_pixel_format (GST_VIDEO_INFO_FORMAT (&state->in_info));
  const bool from_source = source_format >= 0 && !state->session->needs_bgr_frame ();
  GstVideoFrame mapped;
  track::FrameSource source;
  if (from_source) {
    if (!gst_video_frame_map (&mapped, &state->in_info, buffer, GST_MAP_READ)) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not map the video frame."), (NULL));
      return GST_FLOW_ERROR;
    }
    source = frame_source_of (&mapped, source_format);
    GST_LOG_OBJECT (self, "buffer read in place by the frame step (%s)",
        gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&state->in_info)));
  } else if (!frame_to_bgr (self, buffer)) {
    return GST_FLOW_ERROR;
  }
  track::FrameOutput out;
  std::string failure;
  try {
    out = state->session->process (from_source ? cv::Mat () : state->bgr,
        GST_CLOCK_TIME_IS_VALID (running_time) ? (int64_t) running_time : -1, from_source ? &source : nullptr);
  } catch (const std::exception &e) {
    failure = e.what ();
  }
  if (from_source)
    gst_video_frame_unmap (&mapped);
  if (!failure.empty ()) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Tracking failed."), ("%s", failure.c_str ()));
    return GST_FLOW_ERROR;
  }
  state->frames++;

  warnings.insert (warnings.end (), out.warnings.begin (), out.warnings.end ());
  for (const std::string & w : warnings) {
    GST_ELEMENT_WARNING (self, STREAM, FAILED, ("%s", w.c_str ()), ("buffer %" G_GUINT64_FORMAT,
            state->frames - 1));
  }

  state->last_boxes.clear ();
  for (const track::SessionTarget & target : out.targets) {
    attach_target_metas (self, buffer, target, running_time);
    state->last_boxes[target.id] = target.result.box;
  }
  for (const track::SessionEvent & event : out.events)
    post_track_message (self, event, running_time);

  GST_OBJECT_LOCK (self);
  self->live_ids.clear ();
  for (const auto & target : out.targets)
    self->live_ids.insert (target.id);
  GST_OBJECT_UNLOCK (self);

  GST_LOG_OBJECT (self, "buffer %" G_GUINT64_FORMAT ": %zu targets", state->frames - 1, out.targets.size ());
  return GST_FLOW_OK;
}

static gboolean
gst_oceanplus_track_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
    guint64 id = 0;
    gint x, y, w, h;
    GstBuffer *mask = NULL;
    if (gst_oceanplus_event_parse_add (event, &id, &x, &y, &w, &h, &mask)) {
      GST_OBJECT_LOCK (self);
      id = claim_id_locked (self, id);
      if (mask) {
        cv::Mat local = mask_buffer_to_mat (mask);
        self->requests.push_back (track::TargetRequest::from_mask (id, local, cv::Rect2d (x, y, w, h)));
      } else {
        self->requests.push_back (track::TargetRequest::from_box (id, cv::Rect2d (x, y, w, h),
                self->settings.cyclic_init));
      }
      GST_OBJECT_UNLOCK (self);
      if (mask)
        gst_buffer_unref (mask);
      GST_DEBUG_OBJECT (self, "add-target event: target %" G_GUINT64_FORMAT, id);
    } else if (gst_oceanplus_event_parse_remove (event, &id)) {
      queue_request (self, id == 0 ? track::TargetRequest::remove_all () : track::TargetRequest::remove (id));
    }
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_oceanplus_track_src_event (GstBaseTransform * trans, GstEvent * event)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_NAVIGATION
      && gst_navigation_event_get_type (event) == GST_NAVIGATION_EVENT_MOUSE_BUTTON_PRESS) {
    gint button = 0;
    gdouble x = 0, y = 0;
    GST_OBJECT_LOCK (self);
    const bool enabled = self->settings.click_to_track;
    guint side = self->settings.click_box_size;
    const bool cyclic = self->settings.cyclic_init;
    const int frame_w = self->state ? GST_VIDEO_INFO_WIDTH (&self->state->in_info) : 0;
    const int frame_h = self->state ? GST_VIDEO_INFO_HEIGHT (&self->state->in_info) : 0;
    GST_OBJECT_UNLOCK (self);
    if (enabled && frame_w > 0 && gst_navigation_event_parse_mouse_button_event (event, &button, &x, &y)) {
      if (button == 1) {
        /* A box around the point; cyclic initialisation then shapes the mask to the object. */
        if (side == 0)
          side = (guint) std::max (16, std::min (frame_w, frame_h) / 6);
        const cv::Rect2d box (x - side / 2.0, y - side / 2.0, side, side);
        GST_OBJECT_LOCK (self);
        const uint64_t id = take_id_locked (self);
        self->requests.push_back (track::TargetRequest::from_box (id, box, cyclic, "object"));
        GST_OBJECT_UNLOCK (self);
        GST_INFO_OBJECT (self, "click at %.1f,%.1f: target %" G_GUINT64_FORMAT, x, y, (guint64) id);
      } else if (button == 3) {
        queue_request (self, track::TargetRequest::remove_at (cv::Point2d (x, y)));
      }
    }
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

/* Refused caps get a warning saying what the element takes (otherwise the pipeline only reports
 * "not-negotiated"). */
static gboolean
gst_oceanplus_track_query (GstBaseTransform * trans, GstPadDirection direction, GstQuery * query)
{
  gboolean ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query);
  if (direction == GST_PAD_SINK && GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    GstCaps *caps = NULL;
    gboolean accepted = FALSE;
    gst_query_parse_accept_caps (query, &caps);
    gst_query_parse_accept_caps_result (query, &accepted);
    if (!accepted && caps && gst_caps_is_fixed (caps)) {
      gchar *text = gst_caps_to_string (caps);
      GST_ELEMENT_WARNING (trans, CORE, NEGOTIATION, ("oceanplustrack cannot take %s.", text),
          ("It takes raw video (system memory) in the formats %s; put videoconvert in front of it.",
              TRACK_FORMATS));
      g_free (text);
    }
  }
  return ret;
}

/* ------------------------------------------------------------------------------------------------------------ */

static void
gst_oceanplus_track_finalize (GObject * object)
{
  GstOceanPlusTrack *self = GST_OCEANPLUS_TRACK (object);
  delete self->state;
  self->settings.~Settings ();
  self->requests.~deque ();
  self->property_ids.~vector ();
  self->live_ids.~set ();
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_oceanplus_track_class_init (GstOceanPlusTrackClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_oceanplus_track_debug, "oceanplustrack", 0, "OceanPlus pixel-level tracker");

  gobject_class->set_property = gst_oceanplus_track_set_property;
  gobject_class->get_property = gst_oceanplus_track_get_property;
  gobject_class->finalize = gst_oceanplus_track_finalize;

  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags ready = (GParamFlags) (rw | GST_PARAM_MUTABLE_READY);
  const GParamFlags playing = (GParamFlags) (rw | GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model file",
          "Weights file: OceanPlus-Lite / NanoTrack (.pt) or OceanPlus (.pth checkpoint or .pt plain dict). Unset: "
          "the model installed with the plugin (OceanPlus-Lite)",
          DEFAULT_MODEL, ready));
  g_object_class_install_property (gobject_class, PROP_VARIANT,
      g_param_spec_enum ("variant", "Variant",
          "Mask decoder an OceanPlus model must have (auto: whatever the file holds)", gst_oceanplus_variant_get_type (),
          DEFAULT_VARIANT, ready));
  g_object_class_install_property (gobject_class, PROP_PRESET,
      g_param_spec_string ("preset", "Hyper-parameter preset",
          "Tracker hyper-parameters: auto (the model's own: oceanplus-lite, nanotrack or vot2020), a preset "
          "(vot2020, davis2016, davis2017, nanotrack, oceanplus-lite) or a JSON file ({\"base\": ..., overrides})",
          DEFAULT_PRESET, ready));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_enum ("device", "Device", "Where the network runs", gst_oceanplus_device_get_type (),
          DEFAULT_DEVICE, ready));
  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "What the network computes in: fp32, or fp16 on a GPU for speed (boxes and masks then differ slightly)",
          gst_oceanplus_precision_get_type (), DEFAULT_PRECISION, ready));
  g_object_class_install_property (gobject_class, PROP_FRAME_STEP,
      g_param_spec_enum ("frame-step", "Frame step",
          "Run each step as one call of the hot-path kernels around the network (crop straight from the buffer's "
          "format, peak choice, mask paste-back); auto: on a GPU. Applies to targets started after a change",
          gst_oceanplus_frame_step_get_type (), DEFAULT_FRAME_STEP, playing));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "CPU threads", "CPU threads for the network (0: the model's best count: 1 for the small default model, one per core for OceanPlus)", 0, 256,
          DEFAULT_THREADS, ready));
  g_object_class_install_property (gobject_class, PROP_MASK_THRESHOLD,
      g_param_spec_double ("mask-threshold", "Mask threshold",
          "Foreground probability above which a pixel belongs to the mask (-1: the preset's)", -1.0, 1.0,
          DEFAULT_MASK_THRESHOLD, playing));
  g_object_class_install_property (gobject_class, PROP_LOST_THRESHOLD,
      g_param_spec_double ("lost-threshold", "Lost threshold",
          "Score below which a buffer counts towards losing the target", 0.0, 1.0, DEFAULT_LOST_THRESHOLD, playing));
  g_object_class_install_property (gobject_class, PROP_LOST_PATIENCE,
      g_param_spec_uint ("lost-patience", "Lost patience",
          "Consecutive low-score buffers before a target is reported lost", 1, G_MAXUINT, DEFAULT_LOST_PATIENCE,
          playing));
  g_object_class_install_property (gobject_class, PROP_MAX_TARGETS,
      g_param_spec_uint ("max-targets", "Maximum targets",
          "Targets tracked at once; requests beyond this are refused with a warning", 1, 1024, DEFAULT_MAX_TARGETS,
          playing));
  g_object_class_install_property (gobject_class, PROP_CYCLIC_INIT,
      g_param_spec_boolean ("cyclic-init", "Cyclic initialisation",
          "Refine a box into a mask by cyclic initialisation (3 extra passes at start); off: the filled box is the "
          "first mask", DEFAULT_CYCLIC_INIT, playing));
  g_object_class_install_property (gobject_class, PROP_INIT_BOX,
      g_param_spec_string ("init-box", "Initial boxes",
          "Targets to start from boxes in pixels: x,y,width,height[;x,y,width,height...]. Setting it again "
          "re-initialises the same targets (same ids) on the next buffer; an empty string removes them", "",
          playing));
  g_object_class_install_property (gobject_class, PROP_INIT_MASK,
      g_param_spec_string ("init-mask", "Initial mask",
          "PNG file with the first-frame mask: 0/255 is one target, palette or grey ids one target per id. Setting "
          "it again re-initialises them", "", playing));
  g_object_class_install_property (gobject_class, PROP_ROI_INIT,
      g_param_spec_string ("roi-init", "Track detections",
          "Comma-separated GstVideoRegionOfInterestMeta types (e.g. person,car; * for any) that start a track when "
          "they overlap no running target (empty: upstream ROIs start nothing)", DEFAULT_ROI_INIT, playing));
  g_object_class_install_property (gobject_class, PROP_ROI_MATCH_IOU,
      g_param_spec_double ("roi-match-iou", "ROI match IoU",
          "A detection whose IoU with a running target's box reaches this belongs to that target", 0.0, 1.0,
          DEFAULT_ROI_MATCH_IOU, playing));
  g_object_class_install_property (gobject_class, PROP_CLICK_TO_TRACK,
      g_param_spec_boolean ("click-to-track", "Click to track",
          "A left click in the video window starts a target around the point; a right click removes the targets "
          "under it", DEFAULT_CLICK_TO_TRACK, playing));
  g_object_class_install_property (gobject_class, PROP_CLICK_BOX_SIZE,
      g_param_spec_uint ("click-box-size", "Click box size",
          "Side in pixels of the box a click starts (0: a sixth of the frame's shorter side)", 0, 4096,
          DEFAULT_CLICK_BOX_SIZE, playing));
  g_object_class_install_property (gobject_class, PROP_TARGET_COUNT,
      g_param_spec_uint ("target-count", "Target count", "Targets tracked on the last buffer", 0, G_MAXUINT, 0,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstOceanPlusTrack::add-box:
   * Starts a target from a box (pixels) on the next buffer. Returns its id, or 0 for a box of zero size.
   */
  track_signals[SIGNAL_ADD_BOX] = g_signal_new_class_handler ("add-box", G_TYPE_FROM_CLASS (klass),
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK (gst_oceanplus_track_add_box), NULL, NULL,
      NULL, G_TYPE_UINT64, 4, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT);
  /**
   * GstOceanPlusTrack::add-mask:
   * Starts a target from a GRAY8 mask buffer (with a GstVideoMeta; non-zero = target) covering the frame pixels
   * from (x, y) at its own size, on the next buffer. Returns its id, or 0 when the buffer is not such a mask.
   */
  track_signals[SIGNAL_ADD_MASK] = g_signal_new_class_handler ("add-mask", G_TYPE_FROM_CLASS (klass),
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK (gst_oceanplus_track_add_mask), NULL, NULL,
      NULL, G_TYPE_UINT64, 3, GST_TYPE_BUFFER, G_TYPE_INT, G_TYPE_INT);
  /**
   * GstOceanPlusTrack::remove-target:
   * Stops tracking a target from the next buffer. Returns FALSE when no such target exists or is pending.
   */
  track_signals[SIGNAL_REMOVE_TARGET] = g_signal_new_class_handler ("remove-target", G_TYPE_FROM_CLASS (klass),
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK (gst_oceanplus_track_remove_target), NULL,
      NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_UINT64);
  /**
   * GstOceanPlusTrack::reset:
   * Drops every target and pending request (from the next buffer); ids are not reused.
   */
  track_signals[SIGNAL_RESET] = g_signal_new_class_handler ("reset", G_TYPE_FROM_CLASS (klass),
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK (gst_oceanplus_track_reset), NULL, NULL,
      NULL, G_TYPE_NONE, 0);

  gst_element_class_set_static_metadata (element_class, "OceanPlus tracker", "Filter/Analyzer/Video",
      "Tracks objects at the pixel level (OceanPlus) and attaches masks, boxes, ids, scores and states as metadata",
      "oceanplus-gst developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_oceanplus_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_oceanplus_track_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_oceanplus_track_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_oceanplus_track_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_oceanplus_track_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_oceanplus_track_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_oceanplus_track_query);
  /* Metadata only: the pixels are never written, so the buffer is never copied for them. */
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api (gst_oceanplus_variant_get_type (), (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (gst_oceanplus_device_get_type (), (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (gst_oceanplus_precision_get_type (), (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (gst_oceanplus_frame_step_get_type (), (GstPluginAPIFlags) 0);
}

static void
gst_oceanplus_track_init (GstOceanPlusTrack * self)
{
  /* GObject zero-fills the instance; the C++ members are constructed here and destroyed in finalize. */
  new (&self->settings) Settings ();
  new (&self->requests) std::deque<track::TargetRequest> ();
  new (&self->property_ids) std::vector<uint64_t> ();
  new (&self->live_ids) std::set<uint64_t> ();
  self->init_regions_changed = false;
  self->next_id = 1;
  self->state = nullptr;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
