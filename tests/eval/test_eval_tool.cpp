// oceanplus-eval end to end, as scripts run it: the last line, the CSV and chart files, --help, and the exit codes
// and messages for bad input.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>

#include "eval_test_util.h"

namespace {

namespace fs = std::filesystem;

struct ToolRun {
  int status = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

ToolRun run_eval(const std::string& arguments) {
  const char* binary = std::getenv("OCEANPLUS_EVAL_BIN");
  ToolRun r;
  const std::string out = ::testing::TempDir() + "/eval_tool_stdout.txt";
  const std::string err = ::testing::TempDir() + "/eval_tool_stderr.txt";
  const std::string command = std::string("'") + binary + "' " + arguments + " >'" + out + "' 2>'" + err + "'";
  const int status = std::system(command.c_str());
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

#define REQUIRE_EVAL_BIN()                   \
  if (std::getenv("OCEANPLUS_EVAL_BIN") == nullptr) \
  GTEST_SKIP() << "OCEANPLUS_EVAL_BIN is not set: run through meson test (it points to the built oceanplus-eval)"

TEST(EvalTool, ScoresGoldenResultsAndWritesCsvAndChart) {
  REQUIRE_EVAL_BIN();
  REQUIRE_SHARED(shared);
  const fs::path tmp = fs::path(::testing::TempDir()) / "eval_tool_outputs";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const std::string csv = (tmp / "scores.csv").string();
  const std::string chart = (tmp / "chart.png").string();
  const ToolRun r = run_eval("--dataset '" + shared + "/data/davis2016' --results '" + shared +
                         "/golden/davis_eval/results/shift_x8_y-4' --sequences car-shadow,blackswan,dog --csv '" +
                         csv + "' --chart '" + chart + "' --out-dir '" + (tmp / "out").string() + "'");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(last_line(r.out), "J&F-Mean: 0.824107") << r.out;
  for (const char* column : {"J_M", "J_O", "J_D", "F_M", "F_O", "F_D", "JF", "car-shadow", "blackswan", "dog"})
    EXPECT_NE(r.out.find(column), std::string::npos) << column;

  const std::string global = slurp(csv);
  EXPECT_EQ(global.rfind("J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay\n0.824107,", 0), 0u) << global;
  const std::string per_seq = slurp((tmp / "scores-per-sequence.csv").string());
  EXPECT_EQ(per_seq.rfind("Sequence,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay,J&F-Mean\n", 0), 0u) << per_seq;
  int lines = 0;
  for (char c : per_seq) lines += c == '\n';
  EXPECT_EQ(lines, 4);
  EXPECT_NE(per_seq.find("\ndog,"), std::string::npos);
  EXPECT_EQ(slurp((tmp / "out" / "global_results.csv").string()), global);
  EXPECT_EQ(slurp((tmp / "out" / "per-sequence_results.csv").string()), per_seq);

  for (const fs::path& png : {fs::path(chart), tmp / "out" / "per-sequence.png"}) {
    const cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(img.empty()) << png;
    EXPECT_GE(img.cols, 640);
    EXPECT_GE(img.rows, 400);
    EXPECT_GT(cv::countNonZero(img.reshape(1) != 255), 1000);  // something is drawn
  }
}

TEST(EvalTool, HelpDocumentsEveryOption) {
  REQUIRE_EVAL_BIN();
  const ToolRun r = run_eval("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* option : {"--dataset", "--results", "--sequences", "--csv", "--out-dir", "--chart", "--model",
                             "--init", "--preset", "--quiet", "--help", "--device", "--frame-step"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
}

TEST(EvalTool, UsageErrorsExitWith2) {
  REQUIRE_EVAL_BIN();
  for (const char* args : {"", "--dataset", "--dataset x", "--results y", "--dataset x --results y --bogus",
                           "--dataset x --model m --init circle", "--dataset x --model m --frame-step maybe"}) {
    const ToolRun r = run_eval(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
}

TEST(EvalTool, BadPathsAreNamedAndExitWith1) {
  REQUIRE_EVAL_BIN();
  REQUIRE_SHARED(shared);
  ToolRun r = run_eval("--dataset /no/such/davis --results /tmp");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/no/such/davis"), std::string::npos) << r.err;

  r = run_eval("--dataset '" + shared + "/data/davis2016' --results /no/such/results --sequences dog");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/no/such/results"), std::string::npos) << r.err;

  // A results folder without the sequence: the missing folder is named.
  r = run_eval("--dataset '" + shared + "/data/davis2016' --results '" + shared +
               "/golden/davis_eval/results/identity' --sequences cows");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cows"), std::string::npos) << r.err;

  r = run_eval("--dataset '" + shared + "/data/davis2016' --results '" + shared +
               "/golden/davis_eval/results/identity' --sequences dog,nope");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
}

// A tiny DAVIS-layout dataset: a textured square moving over a gradient, 0/255 annotations.
std::string make_synthetic_davis(const std::string& name, int frames) {
  const fs::path root = fs::path(::testing::TempDir()) / name;
  fs::remove_all(root);
  const fs::path images = root / "JPEGImages/480p/square", annotations = root / "Annotations/480p/square";
  fs::create_directories(images);
  fs::create_directories(annotations);
  for (int i = 0; i < frames; ++i) {
    cv::Mat frame(120, 160, CV_8UC3);
    for (int r = 0; r < frame.rows; ++r)
      for (int c = 0; c < frame.cols; ++c) frame.at<cv::Vec3b>(r, c) = cv::Vec3b(60 + r / 2, 90 + c / 3, 110);
    const cv::Rect box(30 + 4 * i, 40 + 2 * i, 30, 26);
    cv::Mat patch = frame(box);
    for (int r = 0; r < box.height; ++r)
      for (int c = 0; c < box.width; ++c)
        patch.at<cv::Vec3b>(r, c) = ((r / 4 + c / 4) % 2) ? cv::Vec3b(230, 40, 20) : cv::Vec3b(20, 200, 240);
    cv::Mat mask = cv::Mat::zeros(frame.size(), CV_8U);
    mask(box).setTo(255);
    char stem[16];
    std::snprintf(stem, sizeof stem, "%05d", i);
    cv::imwrite((images / (std::string(stem) + ".jpg")).string(), frame);
    cv::imwrite((annotations / (std::string(stem) + ".png")).string(), mask);
  }
  return root.string();
}

TEST(EvalTool, TrackingModeTracksScoresAndSavesResults) {
  REQUIRE_EVAL_BIN();
  const std::string root = make_synthetic_davis("eval_tracking_davis", 5);
  const std::string results = ::testing::TempDir() + "/eval_tracking_results";
  fs::remove_all(results);
  for (const char* init : {"mask", "box"}) {
    SCOPED_TRACE(init);
    const ToolRun r = run_eval("--dataset '" + root + "' --model random-mss --threads 2 --init " + init +
                               " --results '" + results + "' --csv '" + results + "/scores.csv'");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(last_line(r.out).rfind("J&F-Mean: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("Speed: "), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("random weights"), std::string::npos) << r.err;
    for (int i = 0; i < 5; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "/square/%05d.png", i);
      const cv::Mat m = cv::imread(results + name, cv::IMREAD_UNCHANGED);
      ASSERT_FALSE(m.empty()) << results + name;
      EXPECT_EQ(m.size(), cv::Size(160, 120));
      double hi = 0;
      cv::minMaxLoc(m, nullptr, &hi);
      EXPECT_TRUE(hi == 0 || hi == 255) << "DAVIS-2016 results are 0/255";
    }
    EXPECT_TRUE(fs::exists(results + "/scores.csv"));
  }
  // The frame step (kernel references around the network) scores the same as the OpenCV path.
  const ToolRun off = run_eval("--dataset '" + root + "' --model random-lite --frame-step off");
  const ToolRun on = run_eval("--dataset '" + root + "' --model random-lite --frame-step on");
  ASSERT_EQ(on.status, 0) << on.err;
  EXPECT_EQ(last_line(off.out), last_line(on.out));
  // The saved results score to the same number in score mode.
  const ToolRun tracked = run_eval("--dataset '" + root + "' --model random-mss --threads 2 --results '" + results + "'");
  const ToolRun scored = run_eval("--dataset '" + root + "' --results '" + results + "'");
  ASSERT_EQ(scored.status, 0) << scored.err;
  EXPECT_EQ(last_line(tracked.out), last_line(scored.out));
}

TEST(EvalTool, TrackingModeErrorsNameTheProblem) {
  REQUIRE_EVAL_BIN();
  const std::string root = make_synthetic_davis("eval_tracking_errors", 3);
  ToolRun r = run_eval("--dataset '" + root + "' --model /nonexistent/OceanPlusMMS.pth");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent/OceanPlusMMS.pth"), std::string::npos) << r.err;
  r = run_eval("--dataset '" + root + "' --model random-mss --preset nosuchpreset");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nosuchpreset"), std::string::npos) << r.err;
  r = run_eval("--dataset '" + root + "' --model random-mss --threads zero");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
  r = run_eval("--vot '" + root + "'");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
  r = run_eval("--vot /nonexistent/vot2020 --model random-mss");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent/vot2020"), std::string::npos) << r.err;
}

TEST(EvalTool, VotModeRunsTheMultistartProtocol) {
  REQUIRE_EVAL_BIN();
  // One VOT2020-layout sequence: 6 frames, rectangle ground truth, a forward anchor at 0 and a backward one at 5.
  const fs::path root = fs::path(::testing::TempDir()) / "eval_vot";
  fs::remove_all(root);
  fs::create_directories(root / "square/color");
  std::ofstream(root / "list.txt") << "square\n";
  std::ofstream gt(root / "square/groundtruth.txt"), anchor(root / "square/anchor.value");
  for (int i = 0; i < 6; ++i) {
    cv::Mat frame(120, 160, CV_8UC3, cv::Scalar(90, 120, 100));
    const cv::Rect box(30 + 5 * i, 40 + 2 * i, 30, 26);
    cv::rectangle(frame, box, cv::Scalar(20, 200, 240), cv::FILLED);
    char name[32];
    std::snprintf(name, sizeof name, "color/%08d.jpg", i + 1);
    cv::imwrite((root / "square" / name).string(), frame);
    gt << box.x << "," << box.y << "," << box.width << "," << box.height << "\n";
    anchor << (i == 0 ? 1 : i == 5 ? -1 : 0) << "\n";
  }
  gt.close();
  anchor.close();
  const ToolRun r = run_eval("--vot '" + root.string() + "' --model random-mss --threads 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(last_line(r.out).rfind("EAO: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Accuracy: "), std::string::npos);
  EXPECT_NE(r.out.find("Robustness: "), std::string::npos);
  EXPECT_NE(r.err.find("2 anchor runs"), std::string::npos) << r.err;
}

}  // namespace
