// RTSP loopback: an in-process gst-rtsp-server on 127.0.0.1 (a free port) serves a live MJPEG stream, and a client
// pipeline (rtspsrc over TCP, depay, decode, a leaky queue) feeds oceanplustrack. The test counts the buffers that
// reach the sink with a track meta for target 1, bounded in buffers and in wall-clock time, and checks the bus stays
// free of errors; a second case writes the targets with oceanplusexport after oceanplusoverlay.
#include <gtest/gtest.h>

#include <gst/gst.h>
#include <gst/oceanplus/oceanplusmeta.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

struct GstInit : ::testing::Environment {
  void SetUp() override { gst_init(nullptr, nullptr); }
};
const auto* const gst_env = ::testing::AddGlobalTestEnvironment(new GstInit);

constexpr int kWanted = 5;                         // buffers with target 1 before the test stops
constexpr auto kTimeout = std::chrono::seconds(60);  // wall-clock bound on one client run

// A gst-rtsp-server with its own main context and loop, run in a thread.
class LoopbackServer {
 public:
  LoopbackServer() {
    context_ = g_main_context_new();
    loop_ = g_main_loop_new(context_, FALSE);
    server_ = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server_, "127.0.0.1");
    gst_rtsp_server_set_service(server_, "0");  // any free port
    // I420 pinned: rtpjpegpay refuses the 4:4:4 JPEG that jpegenc makes from videotestsrc's default format.
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory,
                                      "( videotestsrc is-live=true pattern=ball ! "
                                      "video/x-raw,format=I420,width=320,height=240,framerate=15/1 ! jpegenc ! "
                                      "rtpjpegpay name=pay0 pt=26 )");
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server_);
    gst_rtsp_mount_points_add_factory(mounts, "/test", factory);  // takes the factory
    g_object_unref(mounts);
    source_id_ = gst_rtsp_server_attach(server_, context_);
    port_ = gst_rtsp_server_get_bound_port(server_);
    thread_ = std::thread([this] { g_main_loop_run(loop_); });
  }

  ~LoopbackServer() {
    if (source_id_ != 0) {
      // Destroy the listening source from the loop's own thread, then stop the loop.
      GSource* source = g_main_context_find_source_by_id(context_, source_id_);
      if (source != nullptr) g_source_destroy(source);
    }
    g_main_loop_quit(loop_);
    if (thread_.joinable()) thread_.join();
    g_object_unref(server_);
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
  }

  bool ok() const { return source_id_ != 0 && port_ > 0; }
  std::string url() const { return "rtsp://127.0.0.1:" + std::to_string(port_) + "/test"; }

 private:
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  GstRTSPServer* server_ = nullptr;
  guint source_id_ = 0;
  int port_ = -1;
  std::thread thread_;
};

struct Count {
  std::atomic<int> with_target{0};
};

void on_handoff(GstElement*, GstBuffer* buffer, GstPad*, gpointer data) {
  if (gst_buffer_get_oceanplus_track_meta_id(buffer, 1) != nullptr) {
    static_cast<Count*>(data)->with_target.fetch_add(1);
  }
}

// Runs the client pipeline until kWanted buffers with target 1 reached the sink, an error, EOS or the timeout.
// Returns the error text ("" when none).
std::string run_client(const std::string& description, Count* count) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (pipeline == nullptr || error != nullptr) {
    std::string text = error != nullptr ? error->message : "gst_parse_launch failed";
    g_clear_error(&error);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return "parse: " + text;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), count);
  gst_object_unref(sink);

  std::string failure;
  GstBus* bus = gst_element_get_bus(pipeline);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    failure = "the pipeline did not start";
  }
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (failure.empty() && count->with_target.load() < kWanted) {
    if (std::chrono::steady_clock::now() >= deadline) {
      failure = "timeout: " + std::to_string(count->with_target.load()) + " of " + std::to_string(kWanted) +
                " buffers with target 1 in " + std::to_string(kTimeout.count()) + " s";
      break;
    }
    GstMessage* message =
        gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
    if (message == nullptr) continue;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &err, &debug);
      failure = std::string("ERROR from ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(message)) + ": " + err->message +
                (debug != nullptr ? std::string(" (") + debug + ")" : std::string());
      g_clear_error(&err);
      g_free(debug);
    } else {
      failure = "unexpected EOS";
    }
    gst_message_unref(message);
  }
  // To NULL while the server still runs, so that rtspsrc's TEARDOWN is answered.
  gst_element_set_state(pipeline, GST_STATE_NULL);
  // Errors posted on the way (none expected).
  while (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    if (failure.empty()) failure = std::string("ERROR from ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(message));
    gst_message_unref(message);
  }
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return failure;
}

// The client up to and including the tracker; `caps` (optional) pins the tracker's input format.
std::string client_head(const LoopbackServer& server, const std::string& caps = "") {
  return "rtspsrc location=" + server.url() +
         " protocols=tcp latency=0 ! rtpjpegdepay ! jpegdec ! videoconvert ! " + (caps.empty() ? "" : caps + " ! ") +
         "queue leaky=downstream max-size-buffers=1 ! oceanplustrack init-box=120,80,64,64 cyclic-init=false ! ";
}

TEST(Rtsp, LoopbackTrack) {
  LoopbackServer server;
  ASSERT_TRUE(server.ok()) << "the RTSP server did not bind to 127.0.0.1";
  Count count;
  const std::string failure =
      run_client(client_head(server) + "fakesink name=sink signal-handoffs=true sync=false", &count);
  EXPECT_EQ(failure, "");
  EXPECT_GE(count.with_target.load(), kWanted);
}

TEST(Rtsp, LoopbackOverlayExport) {
  const std::string location =
      (std::filesystem::temp_directory_path() / ("oceanplus_rtsp_export_" + std::to_string(getpid()) + ".jsonl"))
          .string();
  std::filesystem::remove(location);
  {
    LoopbackServer server;
    ASSERT_TRUE(server.ok()) << "the RTSP server did not bind to 127.0.0.1";
    Count count;
    const std::string failure =
        run_client(client_head(server, "video/x-raw,format=RGB") + "oceanplusoverlay ! oceanplusexport location=" +
                       location +
                       " ! fakesink name=sink signal-handoffs=true sync=false",
                   &count);
    EXPECT_EQ(failure, "");
    EXPECT_GE(count.with_target.load(), kWanted);
  }
  std::ifstream in(location);
  ASSERT_TRUE(in.good()) << "no export file at " << location;
  int lines_with_target = 0;
  for (std::string line; std::getline(in, line);) {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << "not JSON: " << line;
    for (const auto& target : json.value("targets", nlohmann::json::array())) {
      if (target.value("id", 0) == 1) {
        ++lines_with_target;
        break;
      }
    }
  }
  EXPECT_GE(lines_with_target, 3);
  std::filesystem::remove(location);
}

}  // namespace
