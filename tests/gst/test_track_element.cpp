// oceanplustrack under GstHarness: every way a target starts (properties, INIT metas, detector ROIs, custom events,
// clicks, signals), re-initialisation, several targets, the metadata (ours and the ROI meta, also after videoscale),
// bus messages, bad regions and models, and the caps matrix on odd-sized, non-square frames.
// The element runs its built-in random-weights network (no model file is installed in the build tree).
#include <gtest/gtest.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/oceanplus/oceanplusmeta.h>
#include <gst/video/navigation.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "eval/label_png.h"

namespace {

struct GstInit : ::testing::Environment {
  void SetUp() override { gst_init(nullptr, nullptr); }
};
const auto* const gst_env = ::testing::AddGlobalTestEnvironment(new GstInit);

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("oceanplus_track_element_" + name)).string();
}

// A BGR test picture: a grey background with a red block and a blue block (distinct objects for the tracker).
cv::Mat test_picture(int width, int height, int shift = 0) {
  cv::Mat bgr(height, width, CV_8UC3, cv::Scalar(90, 100, 110));
  cv::rectangle(bgr, cv::Rect(width / 5 + shift, height / 4, width / 4, height / 3), cv::Scalar(20, 30, 220),
                cv::FILLED);
  cv::rectangle(bgr, cv::Rect(width / 2 + 10, height / 2, width / 5, height / 4), cv::Scalar(200, 60, 10),
                cv::FILLED);
  return bgr;
}

// A buffer of `format` holding the BGR picture, converted by GStreamer's own converter.
GstBuffer* make_buffer(const cv::Mat& bgr, GstVideoFormat format, GstClockTime pts) {
  GstVideoInfo bgr_info, out_info;
  gst_video_info_set_format(&bgr_info, GST_VIDEO_FORMAT_BGR, bgr.cols, bgr.rows);
  gst_video_info_set_format(&out_info, format, bgr.cols, bgr.rows);
  GstBuffer* src = gst_buffer_new_allocate(nullptr, bgr_info.size, nullptr);
  GstVideoFrame src_frame, dst_frame;
  gst_video_frame_map(&src_frame, &bgr_info, src, GST_MAP_WRITE);
  for (int y = 0; y < bgr.rows; ++y) {
    memcpy(static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&src_frame, 0)) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&src_frame, 0),
           bgr.ptr(y), bgr.cols * 3);
  }
  GstBuffer* out = gst_buffer_new_allocate(nullptr, out_info.size, nullptr);
  gst_video_frame_map(&dst_frame, &out_info, out, GST_MAP_WRITE);
  GstVideoConverter* converter = gst_video_converter_new(&bgr_info, &out_info, nullptr);
  gst_video_converter_frame(converter, &src_frame, &dst_frame);
  gst_video_converter_free(converter);
  gst_video_frame_unmap(&dst_frame);
  gst_video_frame_unmap(&src_frame);
  gst_buffer_unref(src);
  GST_BUFFER_PTS(out) = pts;
  GST_BUFFER_DURATION(out) = GST_SECOND / 10;
  return out;
}

std::string caps_of(GstVideoFormat format, int width, int height) {
  return std::string("video/x-raw,format=") + gst_video_format_to_string(format) + ",width=" +
         std::to_string(width) + ",height=" + std::to_string(height) + ",framerate=10/1";
}

std::vector<GstOceanPlusTrackMeta*> track_metas(GstBuffer* buffer) {
  std::vector<GstOceanPlusTrackMeta*> metas;
  gpointer state = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_OCEANPLUS_TRACK_META_API_TYPE))) {
    metas.push_back(reinterpret_cast<GstOceanPlusTrackMeta*>(meta));
  }
  return metas;
}

std::vector<GstVideoRegionOfInterestMeta*> roi_metas(GstBuffer* buffer) {
  std::vector<GstVideoRegionOfInterestMeta*> metas;
  gpointer state = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    metas.push_back(reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta));
  }
  return metas;
}

// A harness around "oceanplustrack <properties>" with its own bus, fed BGR-converted test pictures.
class Tracked {
 public:
  explicit Tracked(const std::string& properties, GstVideoFormat format = GST_VIDEO_FORMAT_BGR, int width = 321,
                   int height = 241)
      : format_(format), width_(width), height_(height) {
    harness_ = gst_harness_new_parse(("oceanplustrack name=t " + properties).c_str());
    element_ = gst_harness_find_element(harness_, "oceanplustrack");  // by factory name
    bus_ = gst_bus_new();
    gst_element_set_bus(harness_->element, bus_);  // the top-level bin: children post through it
    gst_harness_set_src_caps_str(harness_, caps_of(format, width, height).c_str());
  }
  ~Tracked() {
    gst_element_set_bus(harness_->element, nullptr);
    gst_object_unref(bus_);
    gst_object_unref(element_);
    gst_harness_teardown(harness_);
  }
  // Pushes picture n (pts n/10 s) and returns the output buffer (caller unrefs), or nullptr.
  GstBuffer* push(int shift = 0) {
    GstBuffer* in = make_buffer(test_picture(width_, height_, shift), format_, count_ * GST_SECOND / 10);
    ++count_;
    return push_buffer(in);
  }
  GstBuffer* push_buffer(GstBuffer* in) {
    if (gst_harness_push(harness_, in) != GST_FLOW_OK) return nullptr;
    return gst_harness_pull(harness_);
  }
  GstBuffer* next_input() {
    GstBuffer* in = make_buffer(test_picture(width_, height_), format_, count_ * GST_SECOND / 10);
    ++count_;
    return in;
  }
  // Messages posted so far whose structure has this name (or, with GST_MESSAGE_ERROR/WARNING, of that type).
  std::vector<GstMessage*> messages(GstMessageType type, const char* name = nullptr) {
    while (GstMessage* m = gst_bus_pop(bus_)) collected_.push_back(m);
    std::vector<GstMessage*> found;
    for (GstMessage* m : collected_) {
      if (GST_MESSAGE_TYPE(m) != type) continue;
      if (name && !gst_message_has_name(m, name)) continue;
      found.push_back(m);
    }
    return found;
  }
  std::string warnings_text() {
    std::string all;
    for (GstMessage* m : messages(GST_MESSAGE_WARNING)) {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_warning(m, &error, &debug);
      all += std::string(error->message) + " | " + (debug ? debug : "") + "\n";
      g_error_free(error);
      g_free(debug);
    }
    return all;
  }
  GstHarness* harness() { return harness_; }
  GstElement* element() { return element_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  GstHarness* harness_;
  GstElement* element_;
  GstBus* bus_;
  GstVideoFormat format_;
  int width_, height_;
  int count_ = 0;
  std::vector<GstMessage*> collected_;
};

struct BufferRef {
  GstBuffer* buffer;
  explicit BufferRef(GstBuffer* b) : buffer(b) {}
  ~BufferRef() {
    if (buffer) gst_buffer_unref(buffer);
  }
  operator GstBuffer*() const { return buffer; }
};

const GstStructure* oceanplus_param(GstVideoRegionOfInterestMeta* roi) {
  return gst_video_region_of_interest_meta_get_param(roi, GST_OCEANPLUS_ROI_PARAM_NAME);
}

}  // namespace

TEST(TrackElement, InitBoxStartsATargetWithBothMetasOnEveryBuffer) {
  Tracked t("init-box=64,60,80,80 cyclic-init=false");
  BufferRef first(t.push());
  ASSERT_NE(first.buffer, nullptr);
  auto metas = track_metas(first);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0]->id, 1u);
  EXPECT_EQ(metas[0]->state, GST_OCEANPLUS_TRACK_STATE_NEW);
  EXPECT_EQ(metas[0]->x, 64);
  EXPECT_EQ(metas[0]->y, 60);
  EXPECT_EQ(metas[0]->width, 80u);
  EXPECT_EQ(metas[0]->height, 80u);
  EXPECT_EQ(metas[0]->first_seen, 0u);
  EXPECT_EQ(metas[0]->last_seen, 0u);
  EXPECT_STREQ(g_quark_to_string(metas[0]->label), "object");
  // The initial mask is the filled box (no cyclic initialisation), box-local.
  gint mx, my;
  guint mw, mh;
  GstBuffer* mask = gst_oceanplus_track_meta_get_mask(metas[0], &mx, &my, &mw, &mh);
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(mx, 64);
  EXPECT_EQ(my, 60);
  // The filled-box pseudo mask covers the box's end pixels too (the reference's inclusive fill).
  EXPECT_NEAR(mw, 80, 1);
  EXPECT_NEAR(mh, 80, 1);
  GstVideoMeta* vmeta = gst_buffer_get_video_meta(mask);
  ASSERT_NE(vmeta, nullptr);
  EXPECT_EQ(vmeta->format, GST_VIDEO_FORMAT_GRAY8);
  EXPECT_EQ(vmeta->width, mw);
  gst_buffer_unref(mask);
  EXPECT_TRUE(gst_oceanplus_track_meta_mask_contains(metas[0], 100, 100));
  EXPECT_FALSE(gst_oceanplus_track_meta_mask_contains(metas[0], 10, 10));

  auto rois = roi_metas(first);
  ASSERT_EQ(rois.size(), 1u);
  EXPECT_EQ(rois[0]->x, 64u);
  EXPECT_EQ(rois[0]->w, 80u);
  EXPECT_EQ(rois[0]->id, 1);
  const GstStructure* param = oceanplus_param(rois[0]);
  ASSERT_NE(param, nullptr);
  guint64 id = 0;
  gdouble score = -1;
  EXPECT_TRUE(gst_structure_get_uint64(param, "id", &id));
  EXPECT_EQ(id, 1u);
  EXPECT_TRUE(gst_structure_get_double(param, "score", &score));
  EXPECT_STREQ(gst_structure_get_string(param, "state"), "new");
  EXPECT_NE(gst_video_region_of_interest_meta_get_param(rois[0], "object_id"), nullptr);

  BufferRef second(t.push());
  metas = track_metas(second);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0]->id, 1u);
  EXPECT_TRUE(metas[0]->state == GST_OCEANPLUS_TRACK_STATE_TRACKING ||
              metas[0]->state == GST_OCEANPLUS_TRACK_STATE_LOST);
  EXPECT_EQ(metas[0]->first_seen, 0u);
  EXPECT_EQ(metas[0]->last_seen, GST_SECOND / 10);
  EXPECT_GE(metas[0]->score, 0.f);
  EXPECT_LE(metas[0]->score, 1.f);
  EXPECT_LE(metas[0]->x + (gint)metas[0]->width, t.width());
  EXPECT_LE(metas[0]->y + (gint)metas[0]->height, t.height());
  EXPECT_EQ(roi_metas(second).size(), 1u);
  EXPECT_EQ(t.messages(GST_MESSAGE_ELEMENT, GST_OCEANPLUS_MESSAGE_TRACK_STARTED).size(), 1u);
}

TEST(TrackElement, SettingInitBoxAgainReinitialisesTheSameTargetsAndEmptyRemovesThem) {
  Tracked t("init-box=64,60,80,80;180,130,60,50 cyclic-init=false");
  BufferRef b0(t.push());
  ASSERT_EQ(track_metas(b0).size(), 2u);
  BufferRef b1(t.push());
  g_object_set(t.element(), "init-box", "30,40,50,60", nullptr);
  BufferRef b2(t.push());
  auto metas = track_metas(b2);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0]->id, 1u);
  EXPECT_EQ(metas[0]->state, GST_OCEANPLUS_TRACK_STATE_REINITIALISED);
  EXPECT_EQ(metas[0]->x, 30);
  EXPECT_EQ(metas[0]->first_seen, 0u);  // kept from the first initialisation
  EXPECT_EQ(t.messages(GST_MESSAGE_ELEMENT, GST_OCEANPLUS_MESSAGE_TRACK_REMOVED).size(), 1u);  // target 2
  g_object_set(t.element(), "init-box", "", nullptr);
  BufferRef b3(t.push());
  EXPECT_TRUE(track_metas(b3).empty());
  guint count = 99;
  g_object_get(t.element(), "target-count", &count, nullptr);
  EXPECT_EQ(count, 0u);
}

TEST(TrackElement, InitMaskPngStartsOneTargetPerId) {
  const std::string path = temp_path("two_ids.png");
  cv::Mat labels = cv::Mat::zeros(241, 321, CV_8U);
  labels(cv::Rect(64, 60, 80, 80)).setTo(1);
  labels(cv::Rect(171, 120, 64, 60)).setTo(2);
  oceanplus::eval::write_label_png_palette(path, labels);
  Tracked t("init-mask=" + path);
  BufferRef b0(t.push());
  auto metas = track_metas(b0);
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[0]->mask_x, 64);
  EXPECT_EQ(metas[0]->mask_width, 80u);
  EXPECT_EQ(metas[1]->mask_x, 171);
  EXPECT_EQ(metas[1]->mask_height, 60u);
  BufferRef b1(t.push());
  EXPECT_EQ(track_metas(b1).size(), 2u);
  std::remove(path.c_str());
}

TEST(TrackElement, AnInitMetaFromUpstreamStartsATrackAndIsConsumed) {
  Tracked t("cyclic-init=false");
  BufferRef b0(t.push());
  EXPECT_TRUE(track_metas(b0).empty());
  GstBuffer* in = t.next_input();
  gst_buffer_add_oceanplus_init_meta(in, 0, 64, 60, 80, 80);
  GstBuffer* in_mask = nullptr;
  (void)in_mask;
  BufferRef b1(t.push_buffer(in));
  auto metas = track_metas(b1);
  ASSERT_EQ(metas.size(), 1u);  // the INIT meta is gone, the track meta is there
  EXPECT_EQ(metas[0]->state, GST_OCEANPLUS_TRACK_STATE_NEW);
  EXPECT_EQ(metas[0]->x, 64);

  // With a mask: the mask decides the region (its left half here).
  GstBuffer* in2 = t.next_input();
  GstOceanPlusTrackMeta* request = gst_buffer_add_oceanplus_init_meta(in2, 7, 180, 120, 40, 40);
  GstBuffer* mask = gst_oceanplus_mask_new(40, 40);
  GstVideoMeta* vmeta = gst_buffer_get_video_meta(mask);
  GstMapInfo map;
  gst_buffer_map(mask, &map, GST_MAP_WRITE);
  for (int y = 0; y < 40; ++y) memset(map.data + vmeta->offset[0] + y * vmeta->stride[0], 255, 20);
  gst_buffer_unmap(mask, &map);
  ASSERT_TRUE(gst_oceanplus_track_meta_set_mask(request, mask, 180, 120, 40, 40));
  BufferRef b2(t.push_buffer(in2));
  metas = track_metas(b2);
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[1]->id, 7u);
  EXPECT_EQ(metas[1]->x, 180);
  EXPECT_EQ(metas[1]->width, 20u);
  EXPECT_EQ(metas[1]->height, 40u);
}

TEST(TrackElement, DetectorRoisOfTheSelectedTypesStartTracksOnce) {
  Tracked t("roi-init=person cyclic-init=false");
  GstBuffer* in = t.next_input();
  gst_buffer_add_video_region_of_interest_meta(in, "person", 64, 60, 80, 80);
  gst_buffer_add_video_region_of_interest_meta(in, "car", 180, 130, 60, 50);
  BufferRef b0(t.push_buffer(in));
  auto metas = track_metas(b0);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_STREQ(g_quark_to_string(metas[0]->label), "person");
  // The same detection on the next buffer belongs to the running target: no second track.
  GstBuffer* in1 = t.next_input();
  gst_buffer_add_video_region_of_interest_meta(in1, "person", 66, 60, 80, 80);
  BufferRef b1(t.push_buffer(in1));
  EXPECT_EQ(track_metas(b1).size(), 1u);
  // A person elsewhere starts another.
  GstBuffer* in2 = t.next_input();
  gst_buffer_add_video_region_of_interest_meta(in2, "person", 200, 20, 50, 50);
  BufferRef b2(t.push_buffer(in2));
  EXPECT_EQ(track_metas(b2).size(), 2u);
}

TEST(TrackElement, CustomEventsAreFrameAccurate) {
  Tracked t("cyclic-init=false");
  BufferRef b0(t.push());
  ASSERT_TRUE(gst_harness_push_event(t.harness(), gst_oceanplus_event_new_add_box(0, 64, 60, 80, 80)));
  BufferRef b1(t.push());
  auto metas = track_metas(b1);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0]->state, GST_OCEANPLUS_TRACK_STATE_NEW);
  EXPECT_EQ(metas[0]->first_seen, GST_SECOND / 10);
  ASSERT_TRUE(gst_harness_push_event(t.harness(), gst_oceanplus_event_new_remove(metas[0]->id)));
  BufferRef b2(t.push());
  EXPECT_TRUE(track_metas(b2).empty());
}

TEST(TrackElement, ALeftClickStartsATargetAroundThePointAndARightClickRemovesIt) {
  Tracked t("cyclic-init=false click-box-size=40");
  BufferRef b0(t.push());
  ASSERT_TRUE(gst_harness_push_upstream_event(t.harness(),
                                              gst_navigation_event_new_mouse_button_press(1, 100, 90, GST_NAVIGATION_MODIFIER_NONE)));
  BufferRef b1(t.push());
  auto metas = track_metas(b1);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0]->x, 80);
  EXPECT_EQ(metas[0]->y, 70);
  EXPECT_EQ(metas[0]->width, 40u);
  gst_harness_push_upstream_event(t.harness(),
                                  gst_navigation_event_new_mouse_button_press(3, 100, 90, GST_NAVIGATION_MODIFIER_NONE));
  BufferRef b2(t.push());
  EXPECT_TRUE(track_metas(b2).empty());
}

TEST(TrackElement, ActionSignalsAddRemoveAndReset) {
  Tracked t("cyclic-init=false");
  guint64 a = 0, b = 0, zero = 99;
  g_signal_emit_by_name(t.element(), "add-box", 64, 60, 80, 80, &a);
  g_signal_emit_by_name(t.element(), "add-box", 180, 130, 60, 50, &b);
  g_signal_emit_by_name(t.element(), "add-box", 10, 10, 0, 50, &zero);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(zero, 0u);
  BufferRef b0(t.push());
  ASSERT_EQ(track_metas(b0).size(), 2u);
  gboolean removed = FALSE, unknown = TRUE;
  g_signal_emit_by_name(t.element(), "remove-target", a, &removed);
  g_signal_emit_by_name(t.element(), "remove-target", (guint64)42, &unknown);
  EXPECT_TRUE(removed);
  EXPECT_FALSE(unknown);
  BufferRef b1(t.push());
  auto metas = track_metas(b1);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0]->id, b);

  GstBuffer* mask = gst_oceanplus_mask_new(30, 20);
  GstMapInfo map;
  gst_buffer_map(mask, &map, GST_MAP_WRITE);
  memset(map.data, 255, map.size);
  gst_buffer_unmap(mask, &map);
  guint64 c = 0;
  g_signal_emit_by_name(t.element(), "add-mask", mask, 20, 30, &c);
  gst_buffer_unref(mask);
  EXPECT_EQ(c, 3u);
  BufferRef b2(t.push());
  metas = track_metas(b2);
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[1]->id, 3u);
  EXPECT_EQ(metas[1]->x, 20);
  EXPECT_EQ(metas[1]->width, 30u);
  EXPECT_EQ(metas[1]->height, 20u);

  g_signal_emit_by_name(t.element(), "reset");
  BufferRef b3(t.push());
  EXPECT_TRUE(track_metas(b3).empty());
  guint64 d = 0;
  g_signal_emit_by_name(t.element(), "add-box", 64, 60, 80, 80, &d);
  EXPECT_EQ(d, 4u);  // ids are never reused
}

TEST(TrackElement, LostAndReacquiredPostMessages) {
  // Every score is below 1: with lost-threshold 1 the target is lost after lost-patience buffers.
  Tracked t("init-box=64,60,80,80 cyclic-init=false lost-threshold=1.0 lost-patience=2");
  BufferRef b0(t.push());
  BufferRef b1(t.push());
  EXPECT_TRUE(t.messages(GST_MESSAGE_ELEMENT, GST_OCEANPLUS_MESSAGE_TRACK_LOST).empty());
  BufferRef b2(t.push());
  auto lost = t.messages(GST_MESSAGE_ELEMENT, GST_OCEANPLUS_MESSAGE_TRACK_LOST);
  ASSERT_EQ(lost.size(), 1u);
  guint64 id = 0, running_time = 0;
  const GstStructure* s = gst_message_get_structure(lost[0]);
  EXPECT_TRUE(gst_structure_get_uint64(s, "id", &id));
  EXPECT_TRUE(gst_structure_get_uint64(s, "running-time", &running_time));
  EXPECT_EQ(id, 1u);
  EXPECT_EQ(running_time, 2 * GST_SECOND / 10);
  EXPECT_EQ(track_metas(b2)[0]->state, GST_OCEANPLUS_TRACK_STATE_LOST);
  g_object_set(t.element(), "lost-threshold", 0.0, nullptr);
  BufferRef b3(t.push());
  EXPECT_EQ(t.messages(GST_MESSAGE_ELEMENT, GST_OCEANPLUS_MESSAGE_TRACK_REACQUIRED).size(), 1u);
  EXPECT_EQ(track_metas(b3)[0]->state, GST_OCEANPLUS_TRACK_STATE_TRACKING);
}

TEST(TrackElement, BadInitRegionsWarnAndNeverCrash) {
  Tracked t("init-box=10,10,0,30;1000,1000,20,20;300,200,60,80 cyclic-init=false");
  BufferRef b0(t.push());
  ASSERT_NE(b0.buffer, nullptr);
  auto metas = track_metas(b0);
  ASSERT_EQ(metas.size(), 1u);  // only the partly outside box, clipped
  EXPECT_LE(metas[0]->x + (gint)metas[0]->width, 321);
  const std::string warnings = t.warnings_text();
  EXPECT_NE(warnings.find("zero"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("outside"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("clipped"), std::string::npos) << warnings;

  g_object_set(t.element(), "init-box", "12,abc,3", nullptr);
  BufferRef b1(t.push());
  EXPECT_NE(t.warnings_text().find("init-box: '12,abc,3'"), std::string::npos) << t.warnings_text();
  g_object_set(t.element(), "init-mask", "/nonexistent/mask.png", nullptr);
  BufferRef b2(t.push());
  EXPECT_NE(t.warnings_text().find("/nonexistent/mask.png"), std::string::npos) << t.warnings_text();
  ASSERT_NE(b2.buffer, nullptr);
}

namespace {

// Runs "videotestsrc ! oceanplustrack <props> ! fakesink" to the first error and returns its text.
std::string first_error(const std::string& properties) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      ("videotestsrc num-buffers=2 ! videoconvert ! oceanplustrack " + properties + " ! fakesink").c_str(), &error);
  EXPECT_EQ(error, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                             (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  std::string text = "(no error)";
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(m, &e, &debug);
    text = std::string(e->message) + " | " + (debug ? debug : "");
    g_error_free(e);
    g_free(debug);
  }
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return text;
}

}  // namespace

TEST(TrackElement, AMissingOrCorruptModelIsAnElementErrorNamingTheFile) {
  const std::string missing = "/nonexistent/oceanplus.pt";
  std::string text = first_error("model=" + missing);
  EXPECT_NE(text.find(missing), std::string::npos) << text;
  EXPECT_NE(text.find("does not exist"), std::string::npos) << text;

  const std::string corrupt = temp_path("corrupt.pt");
  std::ofstream(corrupt) << "this is not a weights file";
  text = first_error("model=" + corrupt);
  EXPECT_NE(text.find(corrupt), std::string::npos) << text;
  std::remove(corrupt.c_str());

  text = first_error("preset=no-such-preset");
  EXPECT_NE(text.find("no-such-preset"), std::string::npos) << text;
}

TEST(TrackElement, DeviceCudaWithoutAGpuIsAnElementErrorSayingWhy) {
  const std::string text = first_error("device=cuda");
  if (text == "(no error)") GTEST_SKIP() << "device=cuda ran: this build's LibTorch has CUDA and sees a GPU";
  EXPECT_NE(text.find("device=cuda"), std::string::npos) << text;
  EXPECT_NE(text.find("no CUDA support"), std::string::npos) << text;
}

TEST(TrackElement, PrecisionFp16OnTheCpuIsAnElementErrorSayingWhy) {
  const std::string text = first_error("device=cpu precision=fp16");
  EXPECT_NE(text.find("fp16 needs a CUDA device"), std::string::npos) << text;
}

TEST(TrackElement, Bfloat16PrecisionTracks) {
  Tracked t("init-box=64,60,80,80 cyclic-init=false precision=bf16");
  for (int i = 0; i < 3; ++i) {
    BufferRef out(t.push(2 * i));
    ASSERT_NE(out.buffer, nullptr);
    ASSERT_EQ(track_metas(out).size(), 1u) << "buffer " << i;
  }
  gint precision = -1;
  g_object_get(t.element(), "precision", &precision, nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(t.element()), "precision");
  ASSERT_NE(spec, nullptr);
  const GEnumValue* bf16 = g_enum_get_value_by_nick(G_PARAM_SPEC_ENUM(spec)->enum_class, "bf16");
  ASSERT_NE(bf16, nullptr);
  EXPECT_EQ(precision, bf16->value);
}

// frame-step=on: once the targets have started, the crop kernel reads the buffer in its own format (no BGR copy of
// the frame). The same track from NV12, I420 (odd sizes: chroma planes of (n+1)/2) and BGRx as from BGR.
TEST(TrackElement, FrameStepReadsTheBufferInItsOwnFormat) {
  std::vector<GstOceanPlusTrackMeta> reference;
  for (const GstVideoFormat format : {GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420,
                                      GST_VIDEO_FORMAT_BGRx}) {
    Tracked t("init-box=64,60,80,80 cyclic-init=false frame-step=on", format);
    for (int i = 0; i < 4; ++i) {
      BufferRef out(t.push(3 * i));
      ASSERT_NE(out.buffer, nullptr) << gst_video_format_to_string(format);
      const auto metas = track_metas(out);
      ASSERT_EQ(metas.size(), 1u) << gst_video_format_to_string(format) << " buffer " << i;
      if (format == GST_VIDEO_FORMAT_BGR) {
        reference.push_back(*metas[0]);
        continue;
      }
      EXPECT_NEAR(metas[0]->x, reference[i].x, 2) << gst_video_format_to_string(format) << " buffer " << i;
      EXPECT_NEAR(metas[0]->y, reference[i].y, 2) << gst_video_format_to_string(format) << " buffer " << i;
      EXPECT_NEAR(metas[0]->width, reference[i].width, 2) << gst_video_format_to_string(format) << " buffer " << i;
      EXPECT_NEAR(metas[0]->height, reference[i].height, 2) << gst_video_format_to_string(format) << " buffer " << i;
    }
    EXPECT_EQ(t.messages(GST_MESSAGE_ERROR).size(), 0u) << gst_video_format_to_string(format);
  }
}

// Frames in GStreamer's CUDA memory: the caps feature is negotiated through (downstream gets the same CUDA caps) and
// the frame is read through the memory's own map. The buffer here is system memory under CUDA caps, which the map
// reads alike; a real CUDA buffer needs a GPU (the next test).
TEST(TrackElement, CudaMemoryCapsAreAcceptedAndPassedOn) {
  Tracked t("init-box=64,60,80,80 cyclic-init=false", GST_VIDEO_FORMAT_NV12, 320, 240);
  gst_harness_set_src_caps_str(t.harness(),
                               "video/x-raw(memory:CUDAMemory),format=NV12,width=320,height=240,framerate=10/1");
  BufferRef out(t.push());
  ASSERT_NE(out.buffer, nullptr);
  EXPECT_EQ(track_metas(out).size(), 1u);
  GstCaps* downstream = gst_pad_get_current_caps(t.harness()->sinkpad);
  ASSERT_NE(downstream, nullptr);
  EXPECT_TRUE(gst_caps_features_contains(gst_caps_get_features(downstream, 0), "memory:CUDAMemory"))
      << gst_caps_to_string(downstream);
  gst_caps_unref(downstream);
}

// cudaupload → oceanplustrack → cudadownload: needs GStreamer's CUDA elements and a GPU (skips otherwise).
TEST(TrackElement, FramesUploadedToTheGpuAreTracked) {
  for (const char* factory : {"cudaupload", "cudadownload"}) {
    GstElementFactory* f = gst_element_factory_find(factory);
    if (!f) GTEST_SKIP() << factory << " is not installed (GStreamer's nvcodec plugin with a GPU and its driver)";
    gst_object_unref(f);
  }
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc num-buffers=5 ! video/x-raw,format=NV12,width=320,height=240 ! cudaupload ! "
      "oceanplustrack init-box=64,60,80,80 cyclic-init=false ! cudadownload ! fakesink name=sink",
      &error);
  ASSERT_EQ(error, nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad* pad = gst_element_get_static_pad(sink, "sink");
  int with_meta = 0;
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER,
                    [](GstPad*, GstPadProbeInfo* info, gpointer data) {
                      if (!track_metas(GST_PAD_PROBE_INFO_BUFFER(info)).empty()) ++*static_cast<int*>(data);
                      return GST_PAD_PROBE_OK;
                    },
                    &with_meta, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                             (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  std::string failure;
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    failure = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + e->message;
    g_error_free(e);
  }
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pad);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (failure.find("cuda") != std::string::npos && failure.find("oceanplustrack") == std::string::npos) {
    GTEST_SKIP() << "GStreamer's CUDA elements could not start (no GPU?): " << failure;
  }
  EXPECT_EQ(failure, "");
  EXPECT_EQ(with_meta, 5);
}

TEST(TrackElement, UnsupportedCapsFailNegotiationWithAMessage) {
  GstHarness* h = gst_harness_new_parse("oceanplustrack");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB16,width=64,height=48,framerate=10/1");
  GstBuffer* in = gst_buffer_new_allocate(nullptr, 64 * 48 * 2, nullptr);
  EXPECT_EQ(gst_harness_push(h, in), GST_FLOW_NOT_NEGOTIATED);
  bool told = false;
  while (GstMessage* m = gst_bus_pop(bus)) {
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING) {
      GError* e = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_warning(m, &e, &debug);
      const std::string text = std::string(e->message) + (debug ? debug : "");
      told |= text.find("RGB16") != std::string::npos && text.find("videoconvert") != std::string::npos;
      g_error_free(e);
      g_free(debug);
    }
    gst_message_unref(m);
  }
  EXPECT_TRUE(told);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

TEST(TrackElement, MetadataFollowsVideoscale) {
  // 321×241 → 160×181: x and y scale differently.
  GstHarness* h = gst_harness_new_parse(
      "oceanplustrack init-box=64,60,80,80 cyclic-init=false ! videoscale ! capsfilter caps=video/x-raw,width=160,height=181");
  gst_harness_set_src_caps_str(h, caps_of(GST_VIDEO_FORMAT_BGR, 321, 241).c_str());
  ASSERT_EQ(gst_harness_push(h, make_buffer(test_picture(321, 241), GST_VIDEO_FORMAT_BGR, 0)), GST_FLOW_OK);
  BufferRef out(gst_harness_pull(h));
  auto metas = track_metas(out);
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_NEAR(metas[0]->x, 64 * 160.0 / 321, 1.0);
  EXPECT_NEAR(metas[0]->y, 60 * 181.0 / 241, 1.0);
  EXPECT_NEAR(metas[0]->width, 80 * 160.0 / 321, 1.0);
  EXPECT_NEAR(metas[0]->height, 80 * 181.0 / 241, 1.0);
  EXPECT_NEAR(metas[0]->mask_width, 80 * 160.0 / 321, 1.0);
  auto rois = roi_metas(out);
  ASSERT_EQ(rois.size(), 1u);
  EXPECT_NEAR(rois[0]->x, 64 * 160.0 / 321, 1.0);
  EXPECT_EQ(rois[0]->id, 1);
  // GStreamer 1.22's ROI scale transform does not carry the params over (a copy does): our meta has the id.
  gst_harness_teardown(h);
}

// Every raw format gives the tracker the same picture: packed RGB orders exactly, YUV within chroma rounding.
class CapsMatrix : public ::testing::TestWithParam<std::tuple<GstVideoFormat, std::pair<int, int>>> {};

TEST_P(CapsMatrix, TracksFromEveryFormatOnOddAndNonSquareFrames) {
  const auto [format, size] = GetParam();
  const int width = size.first, height = size.second;
  const std::string box = std::to_string(width / 5) + "," + std::to_string(height / 4) + "," +
                          std::to_string(width / 4) + "," + std::to_string(height / 3);
  auto run = [&](GstVideoFormat f) {
    Tracked t("init-box=" + box + " cyclic-init=false", f, width, height);
    BufferRef b0(t.push());
    BufferRef b1(t.push(3));
    EXPECT_NE(b1.buffer, nullptr);
    if (!b1.buffer) return std::vector<double>{};
    auto metas = track_metas(b1);
    EXPECT_EQ(metas.size(), 1u);
    if (metas.empty()) return std::vector<double>{};
    return std::vector<double>{double(metas[0]->x), double(metas[0]->y), double(metas[0]->width),
                               double(metas[0]->height), metas[0]->score};
  };
  const std::vector<double> ours = run(format);
  static std::map<std::pair<int, int>, std::vector<double>> bgr_results;  // one BGR run per frame size
  if (!bgr_results.count(size)) bgr_results[size] = run(GST_VIDEO_FORMAT_BGR);
  const std::vector<double>& reference = bgr_results[size];
  ASSERT_EQ(ours.size(), 5u);
  ASSERT_EQ(reference.size(), 5u);
  const bool packed_rgb = GST_VIDEO_FORMAT_INFO_IS_RGB(gst_video_format_get_info(format));
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(ours[i], reference[i], packed_rgb ? 0 : 3) << i;
  EXPECT_NEAR(ours[4], reference[4], packed_rgb ? 1e-6 : 0.05);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, CapsMatrix,
    ::testing::Combine(::testing::Values(GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
                                         GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB,
                                         GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_YUY2),
                       ::testing::Values(std::make_pair(97, 61), std::make_pair(160, 90))),
    [](const auto& info) {
      return std::string(gst_video_format_to_string(std::get<0>(info.param))) + "_" +
             std::to_string(std::get<1>(info.param).first) + "x" + std::to_string(std::get<1>(info.param).second);
    });
