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
                             "--init", "--preset", "--quiet", "--help"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
}

TEST(EvalTool, UsageErrorsExitWith2) {
  REQUIRE_EVAL_BIN();
  for (const char* args : {"", "--dataset", "--dataset x", "--results y", "--dataset x --results y --bogus",
                           "--dataset x --model m --init circle"}) {
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

TEST(EvalTool, TrackingModeIsReportedUnavailable) {
  REQUIRE_EVAL_BIN();
  REQUIRE_SHARED(shared);
  const ToolRun r = run_eval("--dataset '" + shared + "/data/davis2016' --model /tmp/model.pth --init box");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tracking mode"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not available in this build"), std::string::npos) << r.err;
}

}  // namespace
