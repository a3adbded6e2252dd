// examples/track_app.c (oceanplus-example-app, path in OCEANPLUS_EXAMPLE_APP) on a 4-buffer MJPEG AVI made here with
// gst-launch-1.0: it exits 0 with --frames 3 and prints target 1 on each of the 3 buffers.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

namespace {

struct Result {
  int status = -1;
  std::string output;
};

Result run(const std::string& command) {
  Result result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) result.output.append(chunk, n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

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
  const Result made = run("gst-launch-1.0 -q videotestsrc num-buffers=4 pattern=ball ! "
                          "video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! jpegenc ! avimux ! "
                          "filesink location=" + clip);
  ASSERT_EQ(made.status, 0) << made.output;

  const Result r = run(std::string(app) + " " + clip + " 40,30,32,32 --frames 3");
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
  const Result r = run(std::string(app) + " " + (dir_ / "missing.avi").string() + " --frames 3");
  EXPECT_NE(r.status, 0) << r.output;
}

}  // namespace
