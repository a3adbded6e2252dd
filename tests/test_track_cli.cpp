// oceanplus-track as a user runs it: --help, usage and runtime errors (exit codes, messages naming the file or the
// problem), and small runs on generated frames with random weights checking the outputs' structure (mask PNGs,
// JSON lines, the annotated video). With ../shared, a DAVIS sequence run with the gen-v1 weights in a .pt file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <torch/csrc/jit/serialization/pickle.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "eval/label_png.h"
#include "support/gen_v1.h"
#include "support/tool_run.h"
#include "support/golden.h"

namespace {

namespace fs = std::filesystem;
using oceanplus::eval::PngColor;

using Result = oceanplus::testing::ToolRun;

std::string q(const std::string& s) { return oceanplus::testing::shell_quote(s); }

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result run(const std::string& arguments) {
  const char* binary = std::getenv("OCEANPLUS_TRACK_BIN");
  return binary ? oceanplus::testing::run_tool(binary, arguments) : Result{};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

#define REQUIRE_BINARY() \
  if (!std::getenv("OCEANPLUS_TRACK_BIN")) GTEST_SKIP() << "run through meson test (OCEANPLUS_TRACK_BIN not set)"

constexpr int kWidth = 160, kHeight = 120;

// Two coloured blocks moving over a textured background.
cv::Rect block(int target, int frame) {
  return target == 1 ? cv::Rect(30 + 4 * frame, 30 + 2 * frame, 32, 26) : cv::Rect(100 - 3 * frame, 70, 24, 30);
}

cv::Mat make_frame(int frame) {
  cv::Mat image(kHeight, kWidth, CV_8UC3);
  for (int y = 0; y < kHeight; ++y) {
    for (int x = 0; x < kWidth; ++x) {
      image.at<cv::Vec3b>(y, x) = cv::Vec3b((x * 3 + y) % 200, (y * 5 + x / 2) % 180, ((x ^ y) * 7) % 160);
    }
  }
  cv::rectangle(image, block(1, frame), cv::Scalar(20, 30, 230), cv::FILLED);
  cv::rectangle(image, block(2, frame), cv::Scalar(230, 200, 20), cv::FILLED);
  return image;
}

// A fresh folder under the test temp dir with `frames` images named f000.jpg, f001.jpg, ...
class TrackCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("track_cli_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "frames");
    for (int i = 0; i < 4; ++i) cv::imwrite(frame_path(i), make_frame(i));
  }
  std::string frame_path(int i) const {
    char name[32];
    std::snprintf(name, sizeof(name), "f%03d.jpg", i);
    return (dir_ / "frames" / name).string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string frames() const { return (dir_ / "frames").string(); }

  fs::path dir_;
};

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      ADD_FAILURE() << path << ": line " << out.size() + 1 << " is not JSON: " << e.what();
    }
  }
  return out;
}

// The JSONL schema of one frame.
void expect_frame_record(const nlohmann::json& j, int frame, const std::string& name, size_t targets) {
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.value("frame", -1), frame);
  EXPECT_EQ(j.value("name", ""), name);
  ASSERT_TRUE(j.contains("ms") && j["ms"].is_number());
  ASSERT_TRUE(j.contains("targets") && j["targets"].is_array());
  ASSERT_EQ(j["targets"].size(), targets);
  for (const auto& t : j["targets"]) {
    EXPECT_TRUE(t["id"].is_number_integer());
    ASSERT_TRUE(t["box"].is_array());
    EXPECT_EQ(t["box"].size(), 4u);
    if (!t["polygon"].is_null()) {
      ASSERT_EQ(t["polygon"].size(), 4u);
      for (const auto& p : t["polygon"]) EXPECT_EQ(p.size(), 2u);
    }
    EXPECT_TRUE(t["score"].is_number());
    const std::string state = t.value("state", "");
    EXPECT_TRUE(state == "tracking" || state == "uncertain" || state == "initialised") << state;
    EXPECT_TRUE(t["mask_pixels"].is_number_integer());
    EXPECT_TRUE(t["mask_is_box"].is_boolean());
  }
}

std::set<int> values_of(const cv::Mat& labels) {
  std::set<int> out;
  for (int y = 0; y < labels.rows; ++y) {
    for (int x = 0; x < labels.cols; ++x) out.insert(labels.at<uint8_t>(y, x));
  }
  return out;
}

// The names (without folder) of the files in `dir`, sorted.
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TrackCliHelp, DocumentsEveryOptionWithExamples) {
  REQUIRE_BINARY();
  const Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* option : {"--input", "--box", "--no-cyclic", "--mask", "--region", "--region-file", "--init-frame",
                             "--max-frames", "--model", "random-mss", "random-mms", "--preset", "vot2020",
                             "davis2016", "davis2017", "--threads", "--masks", "--jsonl", "--video-out", "--quiet",
                             "Examples:", "oceanplus-track --input"}) {
    EXPECT_TRUE(contains(r.output, option)) << option;
  }
}

TEST(TrackCliHelp, UsageErrorsExitWithTwoAndNameTheOption) {
  REQUIRE_BINARY();
  struct Case {
    const char* arguments;
    const char* message;
  } cases[] = {
      {"--frobnicate", "unknown option '--frobnicate'"},
      {"--input x --box 1,2,3,4 --model", "missing value after --model"},
      {"--input x --box 1,2,3,4 --model m --threads abc", "--threads takes an integer"},
      {"--input x --box 1,2,3,4 --model m --max-frames 0", "--max-frames takes an integer >= 1"},
      {"--input x --box 1,2,3,4 --model m --init-frame -1", "--init-frame takes an integer"},
      {"--input x --box 1,2,3 --model m", "--box takes x,y,w,h"},
      {"--input x --box 1,2,a,4 --model m", "--box takes x,y,w,h"},
      {"--box 1,2,3,4 --model m", "--input PATH is required"},
      {"--input x --model m", "no initial target"},
      {"--input x --box 1,2,3,4 --mask m.png --model m", "one kind of initialisation"},
  };
  for (const Case& c : cases) {
    const Result r = run(c.arguments);
    EXPECT_EQ(r.status, 2) << c.arguments << ": " << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.arguments << ": " << r.output;
  }
}

TEST_F(TrackCli, RuntimeErrorsExitWithOneAndNameTheFileOrProblem) {
  REQUIRE_BINARY();
  fs::create_directories(path("empty"));
  std::ofstream(path("garbage.pt")) << "this is not a model";
  std::ofstream(path("not_a_folder")) << "x";
  cv::imwrite(path("zero.png"), cv::Mat::zeros(kHeight, kWidth, CV_8U));
  const std::string base = "--input " + q(frames()) + " --model random-mss ";
  struct Case {
    std::string arguments;
    std::string message;
  } cases[] = {
      {"--input " + q(path("missing")) + " --box 1,2,3,4 --model random-mss", path("missing") + "' does not exist"},
      {"--input " + q(path("empty")) + " --box 1,2,3,4 --model random-mss", "no images"},
      {"--input " + q(frames()) + " --box 30,30,32,26 --model " + q(path("nothing.pt")), path("nothing.pt")},
      {"--input " + q(frames()) + " --box 30,30,32,26 --model " + q(path("garbage.pt")), path("garbage.pt")},
      {base + "--box 30,30,0,26", "zero or negative size"},
      {base + "--box 30,30,-5,26", "zero or negative size"},
      {base + "--box 500,500,20,20", "entirely outside"},
      {base + "--mask " + q(path("zero.png")), "mask '" + path("zero.png") + "' is empty"},
      {base + "--mask " + q(path("nothing.png")), path("nothing.png")},
      {base + "--region 1,2,3", "--region: malformed region '1,2,3'"},
      {base + "--region m1,2,3", "malformed region"},
      {base + "--region m10,10,2,2,-1", "malformed region"},
      {base + "--region-file " + q(path("nothing.txt")), path("nothing.txt")},
      {base + "--region 0", "special code"},
      {base + "--box 30,30,32,26 --masks " + q(path("not_a_folder") + "/sub"), "cannot create the output folder"},
      {base + "--box 30,30,32,26 --video-out " + q(path("nowhere") + "/v.avi"), path("nowhere")},
      {base + "--box 30,30,32,26 --jsonl " + q(path("nowhere") + "/x.jsonl"), path("nowhere") + "/x.jsonl"},
      {base + "--box 30,30,32,26 --preset nonsense", "'nonsense'"},
      {base + "--box 30,30,32,26 --init-frame 9", "--init-frame 9 is past the end"},
  };
  for (const Case& c : cases) {
    const Result r = run(c.arguments);
    EXPECT_EQ(r.status, 1) << c.arguments << ": " << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.arguments << "\nexpected: " << c.message << "\ngot: " << r.output;
  }
}

TEST_F(TrackCli, ClippedBoxAndOtherSizeMaskAreWarnings) {
  REQUIRE_BINARY();
  const std::string base = "--input " + q(frames()) + " --model random-mss --max-frames 1 --no-cyclic ";
  Result r = run(base + "--box -10,-10,40,40");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "warning: --box -10,-10,40,40")) << r.output;
  EXPECT_TRUE(contains(r.output, "clipped")) << r.output;

  cv::Mat small = cv::Mat::zeros(kHeight - 10, kWidth - 20, CV_8U);
  cv::rectangle(small, block(1, 0), cv::Scalar(255), cv::FILLED);
  cv::imwrite(path("small.png"), small);
  r = run(base + "--mask " + q(path("small.png")));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "warning: mask '" + path("small.png") + "' is 140x110")) << r.output;
  EXPECT_TRUE(contains(r.output, "random weights")) << r.output;  // the random-model warning
}

TEST_F(TrackCli, CorruptFrameStopsWithCompleteOutputsUpToIt) {
  REQUIRE_BINARY();
  std::ofstream(frame_path(2), std::ios::trunc) << "not a jpeg";
  const Result r = run("--input " + q(frames()) + " --model random-mss --no-cyclic --box 30,30,32,26 --masks " +
                       q(path("out")) + " --jsonl " + q(path("out.jsonl")) + " --video-out " + q(path("out.avi")));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot read frame 2 '" + frame_path(2) + "'")) << r.output;
  EXPECT_TRUE(contains(r.output, "frames 0..1")) << r.output;
  EXPECT_EQ(listing(path("out")), (std::vector<std::string>{"f000.png", "f001.png"}));
  const auto lines = read_jsonl(path("out.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  expect_frame_record(lines[1], 1, "f001", 1);
  EXPECT_GT(fs::file_size(path("out.avi")), 0u);
}

TEST_F(TrackCli, BoxRunWritesMasksJsonlAndVideo) {
  REQUIRE_BINARY();
  const Result r = run("--input " + q(frames()) + " --model random-mss --box 30,30,32,26 --masks " + q(path("out")) +
                       " --jsonl " + q(path("out.jsonl")) + " --video-out " + q(path("out.avi")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "4 frames")) << r.output;
  EXPECT_TRUE(contains(r.output, "ms/frame")) << r.output;
  EXPECT_TRUE(contains(r.output, "fps")) << r.output;
  EXPECT_EQ(listing(path("out")), (std::vector<std::string>{"f000.png", "f001.png", "f002.png", "f003.png"}));
  for (const std::string& name : listing(path("out"))) {
    const auto image = oceanplus::eval::read_label_png(path("out/" + name));
    EXPECT_EQ(image.color, PngColor::Grey) << name;
    EXPECT_EQ(image.labels.size(), cv::Size(kWidth, kHeight)) << name;
    for (int v : values_of(image.labels)) EXPECT_TRUE(v == 0 || v == 255) << name << ": " << v;
  }
  const auto lines = read_jsonl(path("out.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  for (int i = 0; i < 4; ++i) expect_frame_record(lines[i], i, "f00" + std::to_string(i), 1);
  EXPECT_EQ(lines[0]["targets"][0]["state"], "initialised");
  EXPECT_EQ(lines[0]["targets"][0]["id"], 1);
  EXPECT_NE(lines[1]["targets"][0]["state"], "initialised");
  EXPECT_GT(fs::file_size(path("out.avi")), 1000u);
  cv::VideoCapture video(path("out.avi"));
  ASSERT_TRUE(video.isOpened());
  cv::Mat frame;
  ASSERT_TRUE(video.read(frame));
  EXPECT_EQ(frame.size(), cv::Size(kWidth, kHeight));
}

TEST_F(TrackCli, TwoTargetMaskGivesPaletteLabelMaps) {
  REQUIRE_BINARY();
  cv::Mat labels = cv::Mat::zeros(kHeight, kWidth, CV_8U);
  labels(block(1, 0)).setTo(1);
  labels(block(2, 0)).setTo(2);
  oceanplus::eval::write_label_png_palette(path("init.png"), labels);
  const Result r = run("--input " + q(frames()) + " --model random-mss --max-frames 3 --mask " + q(path("init.png")) +
                       " --masks " + q(path("out")) + " --jsonl " + q(path("out.jsonl")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "2 targets")) << r.output;
  ASSERT_EQ(listing(path("out")), (std::vector<std::string>{"f000.png", "f001.png", "f002.png"}));
  for (const std::string& name : listing(path("out"))) {
    const auto image = oceanplus::eval::read_label_png(path("out/" + name));
    EXPECT_EQ(image.color, PngColor::Palette) << name;
    EXPECT_EQ(image.labels.size(), cv::Size(kWidth, kHeight)) << name;
    for (int v : values_of(image.labels)) EXPECT_TRUE(v >= 0 && v <= 2) << name << ": " << v;
  }
  // The first frame is the initial label map itself.
  const auto first = oceanplus::eval::read_label_png(path("out/f000.png"));
  EXPECT_EQ(cv::countNonZero(first.labels != labels), 0);
  const auto lines = read_jsonl(path("out.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) expect_frame_record(lines[i], i, "f00" + std::to_string(i), 2);
  EXPECT_EQ(lines[0]["targets"][0]["id"], 1);
  EXPECT_EQ(lines[0]["targets"][1]["id"], 2);
  EXPECT_EQ(lines[0]["targets"][0]["mask_pixels"], block(1, 0).area());
  EXPECT_EQ(lines[0]["targets"][1]["mask_pixels"], block(2, 0).area());
}

TEST_F(TrackCli, RleAndPolygonRegions) {
  REQUIRE_BINARY();
  // VOT2020 RLE: a 32x26 crop at (30,30), all ones: one zero run, then 832 ones.
  const Result r = run("--input " + q(frames()) + " --model random-mss --max-frames 2 --region m30,30,32,26,0,832" +
                       " --masks " + q(path("out")) + " --jsonl " + q(path("out.jsonl")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(listing(path("out")), (std::vector<std::string>{"f000.png", "f001.png"}));
  const auto lines = read_jsonl(path("out.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  expect_frame_record(lines[0], 0, "f000", 1);
  expect_frame_record(lines[1], 1, "f001", 1);
  EXPECT_EQ(lines[0]["targets"][0]["mask_pixels"], 32 * 26);

  std::ofstream(path("region.txt")) << "30,30,62,30,62,56,30,56\n";
  const Result p = run("--input " + q(frames()) + " --model random-mss --max-frames 1 --region-file " +
                       q(path("region.txt")) + " --jsonl " + q(path("poly.jsonl")));
  ASSERT_EQ(p.status, 0) << p.output;
  const auto poly = read_jsonl(path("poly.jsonl"));
  ASSERT_EQ(poly.size(), 1u);
  EXPECT_EQ(poly[0]["targets"][0]["mask_pixels"], 32 * 26);
}

TEST_F(TrackCli, ImageListAndVideoInputs) {
  REQUIRE_BINARY();
  // A list with relative paths (against the list's folder), a comment and a blank line; start at frame 1.
  std::ofstream(path("list.txt")) << "# frames\nframes/f000.jpg\n\nframes/f001.jpg\nframes/f002.jpg\n";
  Result r = run("--input " + q(path("list.txt")) + " --model random-mss --no-cyclic --init-frame 1 --max-frames 2" +
                 " --box 34,32,32,26 --masks " + q(path("list_out")) + " --jsonl " + q(path("list.jsonl")) +
                 " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(listing(path("list_out")), (std::vector<std::string>{"f001.png", "f002.png"}));
  const auto lines = read_jsonl(path("list.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  expect_frame_record(lines[0], 1, "f001", 1);
  expect_frame_record(lines[1], 2, "f002", 1);

  cv::VideoWriter writer(path("clip.avi"), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(kWidth, kHeight));
  ASSERT_TRUE(writer.isOpened());
  for (int i = 0; i < 4; ++i) writer.write(make_frame(i));
  writer.release();
  r = run("--input " + q(path("clip.avi")) + " --model random-mss --no-cyclic --max-frames 2 --box 30,30,32,26" +
          " --masks " + q(path("video_out")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(listing(path("video_out")), (std::vector<std::string>{"00000.png", "00001.png"}));
}

TEST(TrackCliDavis, CarShadowWithGenV1WeightsInAPtFile) {
  REQUIRE_BINARY();
  const std::string shared = oceanplus::testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED): the DAVIS run needs its data";
  const std::string sequence = shared + "/data/davis2016/JPEGImages/480p/car-shadow";
  const std::string annotation = shared + "/data/davis2016/Annotations/480p/car-shadow/00000.png";
  if (!fs::is_directory(sequence)) GTEST_SKIP() << sequence << " not found";
  const fs::path dir = fs::path(::testing::TempDir()) / "track_cli_davis";
  fs::remove_all(dir);
  fs::create_directories(dir);

  // The gen-v1 MSS weights as a zip plain-dict .pt.
  const oceanplus::io::StateDict sd = oceanplus::testing::gen_v1_state_dict(false);
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, tensor] : sd.tensors) dict.insert(key, tensor);
  const std::vector<char> bytes = torch::jit::pickle_save(dict);
  const std::string model = (dir / "gen_v1_mss.pt").string();
  std::ofstream(model, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  // The whole sequence, masks in the DAVIS results layout (<results>/<seq>/<frame>.png).
  const std::string out = (dir / "results" / "car-shadow").string();
  const Result r = run("--input " + q(sequence) + " --mask " + q(annotation) + " --model " + q(model) +
                       " --preset davis2016 --masks " + q(out) + " --jsonl " + q((dir / "log.jsonl").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "40 frames")) << r.output;
  EXPECT_FALSE(contains(r.output, "random weights")) << r.output;
  const std::vector<std::string> names = listing(out);
  ASSERT_EQ(names.size(), 40u);
  for (const std::string& name : names) {
    const auto image = oceanplus::eval::read_label_png(out + "/" + name);
    EXPECT_EQ(image.labels.size(), cv::Size(854, 480)) << name;
    EXPECT_EQ(image.color, PngColor::Grey) << name;
  }
  // The first frame's mask is the annotation.
  const auto gt = oceanplus::eval::read_label_png(annotation);
  const auto first = oceanplus::eval::read_label_png(out + "/00000.png");
  EXPECT_EQ(cv::countNonZero((gt.labels != 0) != (first.labels != 0)), 0);
  EXPECT_EQ(read_jsonl((dir / "log.jsonl").string()).size(), 40u);

  // Its outputs, scored by oceanplus-eval exactly as a script would.
  const char* eval = std::getenv("OCEANPLUS_EVAL_BIN");
  ASSERT_NE(eval, nullptr) << "OCEANPLUS_EVAL_BIN not set";
  const std::string scores = (dir / "scores.txt").string();
  const std::string command = std::string("'") + eval + "' --dataset " + q(shared + "/data/davis2016") +
                              " --sequences car-shadow --results " + q((dir / "results").string()) + " > " +
                              q(scores) + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << slurp_file(scores);
  const std::string report = slurp_file(scores);
  const auto last = report.rfind("J&F-Mean: ");
  ASSERT_NE(last, std::string::npos) << report;
  const double jf = std::stod(report.substr(last + 10));
  EXPECT_GE(jf, 0.0);
  EXPECT_LE(jf, 1.0);
}

}  // namespace
