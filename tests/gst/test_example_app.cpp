// examples/track_app.c (oceanplus-example-app, path in OCEANPLUS_EXAMPLE_APP) on a 4-buffer MJPEG AVI made here with
// gst-launch-1.0: it exits 0 with --frames 3 and prints target 1 on each of the 3 buffers.
#include <gtest/gtest.h>

#include "support/tool_run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

namespace {

using oceanplus::testing::run_tool;
using Result = oceanplus::testing::ToolRun;

class ExampleApp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("oceanplus_example_app_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ExampleApp, TracksThreeBuffers) {
  const char* app = std::getenv("OCEANPLUS_EXAMPLE_APP");
  ASSERT_NE(app, nullptr) << "OCEANPLUS_EXAMPLE_APP is not set (run through meson test)";
  ASSERT_EQ(std::system("command -v gst-launch-1.0 >/dev/null 2>&1"), 0)
      << "gst-launch-1.0 is not on PATH (install gstreamer1.0-tools)";
  const std::string clip = (dir_ / "clip.avi").string();
  const Result made = run_tool("gst-launch-1.0", "-q videotestsrc num-buffers=4 pattern=ball ! "
                          "video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! jpegenc ! avimux ! "
                          "filesink location=" + oceanplus::testing::shell_quote(clip));
  ASSERT_EQ(made.status, 0) << made.output;

  const Result r = run_tool(app, oceanplus::testing::shell_quote(clip) + " 40,30,32,32 --frames 3");
  EXPECT_EQ(r.status, 0) << r.output;
  int buffers = 0, with_target = 0;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("buffer pts ", 0) == 0) ++buffers;
    if (line.rfind("  id 1 ", 0) == 0) ++with_target;
  }
  EXPECT_EQ(buffers, 3) << r.output;
  EXPECT_EQ(with_target, 3) << r.output;
  EXPECT_NE(r.output.find("add-box 40,30,32,32 -> id 1"), std::string::npos) << r.output;
}

TEST_F(ExampleApp, MissingFileFails) {
  const char* app = std::getenv("OCEANPLUS_EXAMPLE_APP");
  ASSERT_NE(app, nullptr) << "OCEANPLUS_EXAMPLE_APP is not set (run through meson test)";
  const Result r = run_tool(app, oceanplus::testing::shell_quote((dir_ / "missing.avi").string()) + " --frames 3");
  EXPECT_NE(r.status, 0) << r.output;
}

}  // namespace
