/* oceanplus-gst tests: the oceanplusexport element (JSON Lines) and the RLE it writes masks in
 * SPDX-License-Identifier: MIT
 */
#include "plugin_test_util.h"

#include "oceanplusrle.h"

#include <gst/check/gstharness.h>
#include <glib/gstdio.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace oceanplus_test;
using json = nlohmann::json;

namespace {

constexpr guint kWidth = 97;
constexpr guint kHeight = 61;

/* A mask as the test knows it: row-major bytes, any non-zero value is foreground. */
struct TestMask
{
  guint cols, rows;
  std::vector<uint8_t> values;

  bool foreground (guint col, guint row) const { return values[row * cols + col] != 0; }
};

TestMask
random_mask (std::mt19937 & rng, guint cols, guint rows, double density)
{
  std::bernoulli_distribution is_foreground (density);
  std::uniform_int_distribution<int> foreground_value (1, 255);  /* any non-zero value counts */
  TestMask mask{cols, rows, std::vector<uint8_t> (cols * rows)};
  for (uint8_t & v : mask.values)
    v = is_foreground (rng) ? static_cast<uint8_t> (foreground_value (rng)) : 0;
  return mask;
}

/* The test mask as 0/255, row-major: what the decoder must return. */
std::vector<uint8_t>
binarised (const TestMask & mask)
{
  std::vector<uint8_t> out (mask.values.size ());
  for (size_t i = 0; i < out.size (); ++i)
    out[i] = mask.values[i] != 0 ? 255 : 0;
  return out;
}

class ExportTest : public ::testing::Test
{
protected:
  static void SetUpTestSuite () { init_gstreamer_with_plugin (); }

  void SetUp () override
  {
    gchar *dir = g_dir_make_tmp ("oceanplus-export-XXXXXX", nullptr);
    ASSERT_NE (dir, nullptr);
    dir_ = dir;
    g_free (dir);
    path_ = dir_ + "/tracks.jsonl";
  }

  void TearDown () override
  {
    if (harness_ != nullptr)
      gst_harness_teardown (harness_);
    g_remove (path_.c_str ());
    g_rmdir (dir_.c_str ());
  }

  /* Starts the element writing to path_; @mask_format as gst-launch would give it (nullptr: the default). */
  void start (const char * mask_format = nullptr,
      const char * caps = "video/x-raw,format=RGB,width=97,height=61,framerate=30/1")
  {
    GstElement *element = gst_element_factory_make ("oceanplusexport", nullptr);
    ASSERT_NE (element, nullptr);
    g_object_set (element, "location", path_.c_str (), nullptr);
    if (mask_format != nullptr)
      gst_util_set_object_arg (G_OBJECT (element), "mask-format", mask_format);
    harness_ = gst_harness_new_with_element (element, "sink", "src");
    gst_object_unref (element);
    gst_harness_set_src_caps_str (harness_, caps);
  }

  static GstBuffer *new_frame (GstClockTime pts)
  {
    GstBuffer *buffer = gst_buffer_new_allocate (nullptr, 16, nullptr);  /* the element never reads the pixels */
    GST_BUFFER_PTS (buffer) = pts;
    return buffer;
  }

  /* Pushes @buffer and checks that the very same buffer comes out (passthrough). */
  void push (GstBuffer * buffer)
  {
    GstBuffer *out = gst_harness_push_and_pull (harness_, buffer);
    ASSERT_EQ (out, buffer);
    gst_buffer_unref (out);
  }

  /* The lines written so far, each parsed; every line must be complete (end with a newline). */
  std::vector<json> read_lines () const
  {
    std::ifstream file (path_, std::ios::binary);
    std::string contents ((std::istreambuf_iterator<char> (file)), std::istreambuf_iterator<char> ());
    std::vector<json> lines;
    size_t begin = 0;
    while (begin < contents.size ()) {
      const size_t end = contents.find ('\n', begin);
      if (end == std::string::npos) {
        ADD_FAILURE () << "incomplete last line: " << contents.substr (begin);
        break;
      }
      lines.push_back (json::parse (contents.substr (begin, end - begin)));
      begin = end + 1;
    }
    return lines;
  }

  /* Sends EOS, stops the element (closing the file) and returns the lines. */
  std::vector<json> finish ()
  {
    EXPECT_TRUE (gst_harness_push_event (harness_, gst_event_new_eos ()));
    gst_harness_teardown (harness_);
    harness_ = nullptr;
    return read_lines ();
  }

  std::string dir_, path_;
  GstHarness *harness_ = nullptr;
};

GstOceanPlusTrackMeta *
add_masked_target (GstBuffer * buffer, guint64 id, gint x, gint y, guint width, guint height, const TestMask & mask)
{
  GstOceanPlusTrackMeta *meta =
      gst_buffer_add_oceanplus_track_meta (buffer, id, GST_OCEANPLUS_TRACK_STATE_TRACKING, x, y, width, height, 1.0f);
  EXPECT_TRUE (gst_oceanplus_track_meta_set_mask (meta,
          make_mask (mask.cols, mask.rows, [&] (guint col, guint row) { return mask.foreground (col, row); }), x, y,
          width, height));
  return meta;
}

}  // namespace

TEST (Rle, KnownSmallMaskIsColumnMajorStartingWithBackground)
{
  /* 3 rows × 2 columns:  0 1
   *                      1 1
   *                      0 0   column-major: 0 1 0 | 1 1 0 */
  const uint8_t mask[] = {0, 1, 1, 1, 0, 0};
  EXPECT_EQ (oceanplus::rle::encode (mask, 2, 3, 2), (std::vector<uint32_t>{1, 1, 1, 2, 1}));

  /* Foreground first: the first (background) run is empty. */
  const uint8_t starts_with_foreground[] = {9, 0, 0, 0};
  EXPECT_EQ (oceanplus::rle::encode (starts_with_foreground, 2, 2, 2), (std::vector<uint32_t>{0, 1, 3}));
}

TEST (Rle, AllBackgroundAndAllForeground)
{
  const std::vector<uint8_t> zeros (7 * 5, 0), ones (7 * 5, 255);
  EXPECT_EQ (oceanplus::rle::encode (zeros.data (), 7, 5, 7), (std::vector<uint32_t>{35}));
  EXPECT_EQ (oceanplus::rle::encode (ones.data (), 7, 5, 7), (std::vector<uint32_t>{0, 35}));

  std::vector<uint8_t> decoded;
  ASSERT_TRUE (oceanplus::rle::decode ({35}, 5, 7, decoded));
  EXPECT_EQ (decoded, zeros);
  ASSERT_TRUE (oceanplus::rle::decode ({0, 35}, 5, 7, decoded));
  EXPECT_EQ (decoded, ones);
}

TEST (Rle, RandomMasksRoundTripExactlyWithStridePadding)
{
  std::mt19937 rng (1234);
  const std::vector<std::pair<guint, guint>> sizes = {{1, 1}, {1, 50}, {50, 1}, {7, 13}, {13, 7}, {97, 61}, {64, 64}};
  for (const auto & [cols, rows] : sizes) {
    for (double density : {0.0, 0.05, 0.5, 0.95, 1.0}) {
      SCOPED_TRACE (std::to_string (cols) + "x" + std::to_string (rows) + " density " + std::to_string (density));
      const TestMask mask = random_mask (rng, cols, rows, density);
      /* Rows padded with garbage the encoder must not read. */
      const size_t stride = cols + 3;
      std::vector<uint8_t> padded (stride * rows, 0xAB);
      for (guint row = 0; row < rows; ++row)
        std::copy_n (mask.values.begin () + row * cols, cols, padded.begin () + row * stride);

      const std::vector<uint32_t> counts = oceanplus::rle::encode (padded.data (), stride, rows, cols);
      uint64_t total = 0;
      for (uint32_t c : counts)
        total += c;
      EXPECT_EQ (total, static_cast<uint64_t> (rows) * cols);
      for (size_t i = 1; i < counts.size (); ++i)
        EXPECT_GT (counts[i], 0u) << "only the first run may be empty";

      std::vector<uint8_t> decoded;
      ASSERT_TRUE (oceanplus::rle::decode (counts, rows, cols, decoded));
      EXPECT_EQ (decoded, binarised (mask));
    }
  }
}

TEST (Rle, DecodeRejectsCountsOfTheWrongTotal)
{
  std::vector<uint8_t> decoded = {42};
  EXPECT_FALSE (oceanplus::rle::decode ({3, 2}, 2, 3, decoded));
  EXPECT_FALSE (oceanplus::rle::decode ({3, 4}, 2, 3, decoded));
  EXPECT_EQ (decoded, std::vector<uint8_t>{42});
}

TEST_F (ExportTest, OneCompleteLinePerBufferWithFrameTimesAndSize)
{
  start ();
  /* A segment whose running time starts at one second. */
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.base = GST_SECOND;
  ASSERT_TRUE (gst_harness_push_event (harness_, gst_event_new_segment (&segment)));

  const int n_buffers = 5;
  for (int i = 0; i < n_buffers; ++i)
    push (new_frame (i * 40 * GST_MSECOND));

  /* Lines are flushed as they are written: all there before EOS. */
  EXPECT_EQ (read_lines ().size (), static_cast<size_t> (n_buffers));

  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), static_cast<size_t> (n_buffers));
  for (int i = 0; i < n_buffers; ++i) {
    SCOPED_TRACE ("line " + std::to_string (i));
    EXPECT_EQ (lines[i]["frame"], i);
    EXPECT_EQ (lines[i]["pts"], i * 40 * GST_MSECOND);
    EXPECT_EQ (lines[i]["running_time"], GST_SECOND + i * 40 * GST_MSECOND);
    EXPECT_EQ (lines[i]["width"], kWidth);
    EXPECT_EQ (lines[i]["height"], kHeight);
    EXPECT_EQ (lines[i]["targets"], json::array ());
  }
}

TEST_F (ExportTest, PtsAndRunningTimeAreNullWithoutATimestamp)
{
  start ();
  push (new_frame (GST_CLOCK_TIME_NONE));
  push (new_frame (GST_MSECOND));
  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), 2u);
  EXPECT_TRUE (lines[0]["pts"].is_null ());
  EXPECT_TRUE (lines[0]["running_time"].is_null ());
  EXPECT_EQ (lines[1]["frame"], 1);
  EXPECT_EQ (lines[1]["pts"], GST_MSECOND);
}

TEST_F (ExportTest, TargetFieldsAreWrittenAndInitRequestsSkipped)
{
  start ();
  GstBuffer *buffer = new_frame (0);

  GstOceanPlusTrackMeta *tracked =
      gst_buffer_add_oceanplus_track_meta (buffer, 3, GST_OCEANPLUS_TRACK_STATE_TRACKING, 10, 12, 30, 20, 0.75f);
  const float polygon[] = {9.5f, 11.0f, 40.25f, 12.0f, 39.0f, 32.5f, 8.0f, 31.0f};
  ASSERT_TRUE (gst_oceanplus_track_meta_set_polygon (tracked, polygon, 4));
  tracked->label = g_quark_from_string ("person");
  tracked->first_seen = 2 * GST_SECOND;
  tracked->last_seen = 3 * GST_SECOND;
  const TestMask square{2, 2, {0, 255, 255, 0}};
  ASSERT_TRUE (gst_oceanplus_track_meta_set_mask (tracked,
          make_mask (2, 2, [&] (guint c, guint r) { return square.foreground (c, r); }), 11, 13, 28, 18));

  gst_buffer_add_oceanplus_track_meta (buffer, 4, GST_OCEANPLUS_TRACK_STATE_LOST, -5, 50, 20, 20, 0.1f);
  gst_buffer_add_oceanplus_init_meta (buffer, 0, 1, 1, 5, 5);
  push (buffer);

  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), 1u);
  const json & targets = lines[0]["targets"];
  ASSERT_EQ (targets.size (), 2u) << targets.dump ();

  const json & first = targets[0].at ("id") == 3 ? targets[0] : targets[1];
  const json & second = targets[0].at ("id") == 3 ? targets[1] : targets[0];
  EXPECT_EQ (first["state"], "tracking");
  EXPECT_DOUBLE_EQ (first["score"].get<double> (), 0.75);
  EXPECT_EQ (first["box"], json ({10, 12, 30, 20}));
  EXPECT_EQ (first["polygon"], json ({{9.5, 11.0}, {40.25, 12.0}, {39.0, 32.5}, {8.0, 31.0}}));
  EXPECT_EQ (first["label"], "person");
  EXPECT_EQ (first["first_seen"], 2 * GST_SECOND);
  EXPECT_EQ (first["last_seen"], 3 * GST_SECOND);
  const json & mask = first["mask"];
  EXPECT_EQ (mask["x"], 11);
  EXPECT_EQ (mask["y"], 13);
  EXPECT_EQ (mask["width"], 28);
  EXPECT_EQ (mask["height"], 18);
  EXPECT_EQ (mask["size"], json ({2, 2}));
  EXPECT_EQ (mask["counts"], json ({1, 2, 1}));  /* column-major 0 255 | 255 0 */

  EXPECT_EQ (second["id"], 4);
  EXPECT_EQ (second["state"], "lost");
  EXPECT_NEAR (second["score"].get<double> (), 0.1, 1e-6);
  EXPECT_EQ (second["box"], json ({-5, 50, 20, 20}));
  EXPECT_FALSE (second.contains ("polygon"));
  EXPECT_FALSE (second.contains ("mask"));
  EXPECT_EQ (second["label"], "object");
  EXPECT_TRUE (second["first_seen"].is_null ());
  EXPECT_TRUE (second["last_seen"].is_null ());
}

TEST_F (ExportTest, MasksRoundTripThroughTheWrittenRle)
{
  start ();
  std::mt19937 rng (99);
  struct Case
  {
    TestMask mask;
    gint x, y;
    guint width, height;  /* the frame rectangle; differs from the mask's size in some cases */
  };
  std::vector<Case> cases = {
    {random_mask (rng, 13, 7, 0.5), 3, 4, 13, 7},
    {random_mask (rng, 31, 17, 0.3), 40, 20, 15, 9},   /* finer than its rectangle */
    {random_mask (rng, 5, 11, 0.7), 60, 30, 20, 44},   /* coarser */
    {random_mask (rng, 1, 1, 1.0), 0, 0, 1, 1},
    {random_mask (rng, 9, 6, 0.0), 80, 50, 9, 6},      /* all background */
    {random_mask (rng, 8, 3, 1.0), 88, 0, 8, 3},       /* all foreground */
  };

  const int n_buffers = 3;
  for (int b = 0; b < n_buffers; ++b) {
    GstBuffer *buffer = new_frame (b * GST_MSECOND);
    for (size_t i = 0; i < cases.size (); ++i)
      add_masked_target (buffer, i + 1, cases[i].x, cases[i].y, cases[i].width, cases[i].height, cases[i].mask);
    push (buffer);
  }

  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), static_cast<size_t> (n_buffers));
  for (const json & line : lines) {
    ASSERT_EQ (line["targets"].size (), cases.size ());
    for (const json & target : line["targets"]) {
      const Case & c = cases.at (target["id"].get<size_t> () - 1);
      SCOPED_TRACE ("target " + target["id"].dump ());
      const json & mask = target.at ("mask");
      EXPECT_EQ (mask["x"], c.x);
      EXPECT_EQ (mask["y"], c.y);
      EXPECT_EQ (mask["width"], c.width);
      EXPECT_EQ (mask["height"], c.height);
      ASSERT_EQ (mask["size"], json ({c.mask.rows, c.mask.cols}));
      std::vector<uint8_t> decoded;
      ASSERT_TRUE (oceanplus::rle::decode (mask["counts"].get<std::vector<uint32_t>> (), c.mask.rows, c.mask.cols,
              decoded));
      EXPECT_EQ (decoded, binarised (c.mask));
    }
  }
}

TEST_F (ExportTest, MaskFormatNoneLeavesMasksOut)
{
  start ("none");
  GstBuffer *buffer = new_frame (0);
  std::mt19937 rng (5);
  add_masked_target (buffer, 1, 10, 10, 8, 8, random_mask (rng, 8, 8, 0.5));
  push (buffer);
  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), 1u);
  ASSERT_EQ (lines[0]["targets"].size (), 1u);
  EXPECT_FALSE (lines[0]["targets"][0].contains ("mask"));
  EXPECT_EQ (lines[0]["targets"][0]["box"], json ({10, 10, 8, 8}));
}

TEST_F (ExportTest, AcceptsAnyRawVideoInAnyMemory)
{
  start (nullptr, "video/x-raw(memory:SomeDeviceMemory),format=NV12,width=64,height=48,framerate=25/1");
  push (new_frame (0));
  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), 1u);
  EXPECT_EQ (lines[0]["width"], 64);
  EXPECT_EQ (lines[0]["height"], 48);
}

namespace {

/* Takes @element from NULL to PAUSED with its own bus and returns the error it posts (nullptr if none). */
GError *
error_on_start (GstElement * element, gchar ** debug)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (element, bus);
  EXPECT_EQ (gst_element_set_state (element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GError *error = nullptr;
  GstMessage *message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (message != nullptr) {
    gst_message_parse_error (message, &error, debug);
    gst_message_unref (message);
  }
  gst_element_set_state (element, GST_STATE_NULL);
  gst_element_set_bus (element, nullptr);
  gst_object_unref (bus);
  return error;
}

}  // namespace

TEST_F (ExportTest, UnwritableLocationIsAnErrorNamingThePath)
{
  const std::string unwritable = dir_ + "/no-such-folder/tracks.jsonl";
  GstElement *element = gst_element_factory_make ("oceanplusexport", nullptr);
  ASSERT_NE (element, nullptr);
  g_object_set (element, "location", unwritable.c_str (), nullptr);

  gchar *debug = nullptr;
  GError *error = error_on_start (element, &debug);
  ASSERT_NE (error, nullptr) << "no error message on the bus";
  EXPECT_TRUE (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE)) << error->message;
  EXPECT_NE (std::string (error->message).find (unwritable), std::string::npos) << error->message;
  g_clear_error (&error);
  g_free (debug);
  gst_object_unref (element);
}

TEST_F (ExportTest, MissingLocationIsAnError)
{
  GstElement *element = gst_element_factory_make ("oceanplusexport", nullptr);
  ASSERT_NE (element, nullptr);
  gchar *debug = nullptr;
  GError *error = error_on_start (element, &debug);
  ASSERT_NE (error, nullptr);
  EXPECT_TRUE (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND)) << error->message;
  g_clear_error (&error);
  g_free (debug);
  gst_object_unref (element);
}

TEST_F (ExportTest, RestartingTruncatesAndCountsFramesFromZero)
{
  start ();
  push (new_frame (0));
  push (new_frame (GST_MSECOND));
  finish ();

  start ();
  push (new_frame (5 * GST_MSECOND));
  const std::vector<json> lines = finish ();
  ASSERT_EQ (lines.size (), 1u);
  EXPECT_EQ (lines[0]["frame"], 0);
  EXPECT_EQ (lines[0]["pts"], 5 * GST_MSECOND);
}
