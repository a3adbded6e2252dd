// oceanplus-track: the OceanPlus tracker on an image folder, an image list or a video, from boxes, a label mask or a
// VOT region, writing DAVIS-layout mask PNGs, a JSON-lines log and/or an annotated video.
//
//   oceanplus-track --input FOLDER|LIST.txt|VIDEO --model FILE (--box x,y,w,h ... | --mask F.png | --region LINE)
//                   [--masks DIR] [--jsonl FILE] [--video-out FILE] [--preset NAME|FILE.json] ...
//
// Exit status: 0 done, 1 runtime error (a file, the model, the initial target), 2 usage error.
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/openmp_env.h"
#include "eval/label_png.h"
#include "track/model_factory.h"
#include "track/params.h"
#include "track/tracker.h"
#include "vot/region.h"

namespace {

namespace fs = std::filesystem;
using oceanplus::Error;
using oceanplus::track::InitReport;
using oceanplus::track::TargetResult;
using oceanplus::track::TrackerParams;

constexpr const char* kProgram = "oceanplus-track";

struct Options {
  std::string input;
  std::vector<std::string> box_texts;
  std::vector<cv::Rect2d> boxes;
  std::string mask_file;
  std::optional<std::string> region_line;
  std::string region_file;
  bool cyclic = true;
  int init_frame = 0;
  int max_frames = 0;  // 0: to the end
  std::string model;
  std::string preset = "auto";
  int threads = 0;  // 0: the model's preferred count (track::cpu_threads_for)
  std::string device = "cpu";  // cpu, cuda, cuda:N or auto
  std::string precision = "fp32";  // fp32, fp16 (CUDA) or bf16
  std::string masks_dir;
  std::string jsonl;
  std::string video_out;
  bool quiet = false;
};

[[noreturn]] void usage_fail(const std::string& message) {
  std::fprintf(stderr, "%s: %s (see --help)\n", kProgram, message.c_str());
  std::exit(2);
}

void warn(const std::string& message) { std::fprintf(stderr, "%s: warning: %s\n", kProgram, message.c_str()); }

void print_help() {
  std::string presets;
  for (const std::string& name : oceanplus::track::preset_names()) presets += (presets.empty() ? "" : ", ") + name;
  std::printf(
      "oceanplus-track: track targets through an image sequence or a video with the OceanPlus tracker.\n"
      "\n"
      "Input:\n"
      "  --input PATH          a folder of images (jpg, jpeg, png, bmp; sorted by name), an image list (.txt: one\n"
      "                        path per line, relative paths against the list's folder; blank lines and # comments\n"
      "                        skipped) or a video file (anything OpenCV's VideoCapture opens)\n"
      "  --init-frame K        initialise on frame K (0-based, default 0); earlier frames are skipped\n"
      "  --max-frames N        process at most N frames, the initial one included (default: to the end)\n"
      "\n"
      "Initialisation (one kind):\n"
      "  --box x,y,w,h         a target's box in pixels; repeat for several targets (ids 1, 2, ...)\n"
      "  --no-cyclic           box targets: skip the cyclic mask initialisation (faster, coarser first masks)\n"
      "  --mask FILE.png       a label PNG of the initial frame: grey 0/255 = one target; grey or palette ids\n"
      "                        1..N = N targets (each id its own target, ids kept)\n"
      "  --region \"LINE\"       a VOT region: rectangle x,y,w,h (a box), polygon x1,y1,x2,y2,... (its filled\n"
      "                        mask) or VOT2020 RLE mask m<x0>,<y0>,<w>,<h>,<runs...>\n"
      "  --region-file FILE    the same from a file: its only line, or line K+1 of a groundtruth.txt with one\n"
      "                        region per frame (K = --init-frame)\n"
      "\n"
      "Model and parameters:\n"
      "  --model FILE          weights (default: the shipped OceanPlus-Lite, models/oceanplus-lite.pt): an\n"
      "                        OceanPlus-Lite / NanoTrack .pt, or an official OceanPlus .pth / plain-dict .pt;\n"
      "                        random-lite / random-mss / random-mms: random weights (demos, tests; the\n"
      "                        results are meaningless)\n"
      "  --preset NAME|FILE    tracker parameters: auto (default: the model's own preset), a preset (%s)\n"
      "                        or a JSON file\n"
      "                        ({\"base\": \"davis2016\", \"seg_thr\": 0.8, ...})\n"
      "  --threads N           CPU threads (default: the model's best count, 1 for OceanPlus-Lite, one per\n"
      "                        core for OceanPlus)\n"
      "  --device D            where the network runs: cpu (default), cuda, cuda:N, or auto (a GPU when\n"
      "                        LibTorch has CUDA and sees one)\n"
      "  --precision P         what the network computes in: fp32 (default), fp16 (a GPU's tensor cores,\n"
      "                        channels-last) or bf16; the reduced ones track slightly differently\n"
      "\n"
      "Outputs (all optional; a summary line is always printed):\n"
      "  --masks DIR           one PNG per frame, DIR/<frame stem>.png (DAVIS results layout; video frames are\n"
      "                        %%05d): one target 8-bit grey 0/255, several targets a DAVIS-palette PNG whose\n"
      "                        indices are the target ids; the initial frame gets the initial mask\n"
      "  --jsonl FILE          one JSON object per frame: {\"frame\", \"name\", \"targets\": [{\"id\", \"box\": [x,y,w,h],\n"
      "                        \"polygon\": [[x,y] x4] or null, \"score\", \"state\": tracking|uncertain|initialised,\n"
      "                        \"mask_pixels\", \"mask_is_box\"}], \"ms\"}\n"
      "  --video-out FILE      annotated frames (mask tint, box, polygon, id and score) as a video: .avi (MJPG)\n"
      "                        or .mp4 (mp4v)\n"
      "  --quiet               no progress bar and no information lines (warnings and the summary stay)\n"
      "  --help, -h            this text\n"
      "\n"
      "Examples:\n"
      "  %s --input frames/ --box 638,238,48,84 --masks out/ --jsonl out.jsonl\n"
      "  %s --input JPEGImages/480p/car-shadow --mask Annotations/480p/car-shadow/00000.png \\\n"
      "      --model OceanPlusMMS.pth --preset davis2016 --masks results/car-shadow\n"
      "  %s --input clip.mp4 --box 10,20,50,80 --box 200,40,30,60 --model random-mss --video-out tracked.avi\n"
      "  %s --input list.txt --region \"m10,20,5,4,3,2,15\" --model model.pt --jsonl log.jsonl\n"
      "\n"
      "Exit status: 0 done, 1 runtime error (input, model, initial target, output), 2 usage error.\n",
      presets.c_str(), kProgram, kProgram, kProgram, kProgram);
}

int parse_int(const std::string& option, const std::string& text, int minimum) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < minimum || v > 1000000000) {
    usage_fail(option + " takes an integer >= " + std::to_string(minimum) + ", not '" + text + "'");
  }
  return static_cast<int>(v);
}

cv::Rect2d parse_box(const std::string& text) {
  std::vector<double> v;
  std::stringstream s(text);
  std::string item;
  bool numbers = true;
  while (std::getline(s, item, ',')) {
    char* end = nullptr;
    const double d = std::strtod(item.c_str(), &end);
    numbers = numbers && !item.empty() && *end == '\0' && std::isfinite(d);
    v.push_back(d);
  }
  if (!numbers || v.size() != 4 || (!text.empty() && text.back() == ',')) {
    usage_fail("--box takes x,y,w,h (four numbers, pixels), not '" + text + "'");
  }
  return {v[0], v[1], v[2], v[3]};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_fail("missing value after " + a);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      print_help();
      std::exit(0);
    } else if (a == "--input") o.input = value();
    else if (a == "--box") {
      const std::string text = value();
      o.box_texts.push_back(text);
      o.boxes.push_back(parse_box(text));
    } else if (a == "--no-cyclic") o.cyclic = false;
    else if (a == "--mask") o.mask_file = value();
    else if (a == "--region") o.region_line = value();
    else if (a == "--region-file") o.region_file = value();
    else if (a == "--init-frame") o.init_frame = parse_int(a, value(), 0);
    else if (a == "--max-frames") o.max_frames = parse_int(a, value(), 1);
    else if (a == "--model") o.model = value();
    else if (a == "--preset") o.preset = value();
    else if (a == "--threads") o.threads = parse_int(a, value(), 1);
    else if (a == "--device") o.device = value();
    else if (a == "--precision") o.precision = value();
    else if (a == "--masks") o.masks_dir = value();
    else if (a == "--jsonl") o.jsonl = value();
    else if (a == "--video-out") o.video_out = value();
    else if (a == "--quiet") o.quiet = true;
    else usage_fail("unknown option '" + a + "'");
  }
  if (o.input.empty()) usage_fail("--input PATH is required");
  const int init_kinds = (o.boxes.empty() ? 0 : 1) + (o.mask_file.empty() ? 0 : 1) +
                         (o.region_line || !o.region_file.empty() ? 1 : 0);
  if (init_kinds == 0) usage_fail("no initial target: give --box, --mask, --region or --region-file");
  if (init_kinds > 1 || (o.region_line && !o.region_file.empty())) {
    usage_fail("give one kind of initialisation: --box (repeatable), --mask, --region or --region-file");
  }
  if (o.boxes.size() > 255) usage_fail("at most 255 --box targets");
  return o;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- Frame sources ---------------------------------------------------------------------------------------------------

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Number of frames, or -1 when unknown.
  virtual int total() const = 0;
  // Moves to frame `index` (only forwards, before the first next()). Throws if the sequence is shorter.
  virtual void skip_to(int index) = 0;
  // The next frame and its output stem; false at the end. Throws naming the file for an unreadable frame.
  virtual bool next(cv::Mat& frame, std::string& stem) = 0;
  virtual double fps() const { return 25; }
  virtual std::string describe() const = 0;
};

class ImageListSource : public FrameSource {
 public:
  ImageListSource(std::vector<std::string> paths, std::string what) : paths_(std::move(paths)), what_(std::move(what)) {}
  int total() const override { return static_cast<int>(paths_.size()); }
  void skip_to(int index) override {
    if (index >= total()) {
      throw Error("--init-frame " + std::to_string(index) + " is past the end of " + what_ + " (" +
                  std::to_string(total()) + " frames)");
    }
    next_ = index;
  }
  bool next(cv::Mat& frame, std::string& stem) override {
    if (next_ >= paths_.size()) return false;
    const std::string& path = paths_[next_];
    frame = cv::imread(path, cv::IMREAD_COLOR);
    if (frame.empty()) {
      throw Error("cannot read frame " + std::to_string(next_) + " '" + path + "' (missing, unreadable or not an image)");
    }
    stem = fs::path(path).stem().string();
    ++next_;
    return true;
  }
  std::string describe() const override { return what_ + " (" + std::to_string(paths_.size()) + " images)"; }

 private:
  std::vector<std::string> paths_;
  std::string what_;
  size_t next_ = 0;
};

class VideoSource : public FrameSource {
 public:
  explicit VideoSource(const std::string& path) : path_(path) {
    try {
      capture_.open(path);
    } catch (const cv::Exception&) {
    }
    if (!capture_.isOpened()) {
      throw Error("cannot open '" + path + "' as a video (not a folder, not a .txt image list, and OpenCV cannot "
                  "decode it)");
    }
    const double count = capture_.get(cv::CAP_PROP_FRAME_COUNT);
    total_ = count >= 1 ? static_cast<int>(count) : -1;
    const double fps = capture_.get(cv::CAP_PROP_FPS);
    fps_ = fps > 0 && fps < 1000 ? fps : 25;
  }
  int total() const override { return total_; }
  void skip_to(int index) override {
    cv::Mat frame;
    for (; index_ < index; ++index_) {
      if (!capture_.read(frame)) {
        throw Error("--init-frame " + std::to_string(index) + " is past the end of video '" + path_ + "' (" +
                    std::to_string(index_) + " frames)");
      }
    }
  }
  bool next(cv::Mat& frame, std::string& stem) override {
    if (!capture_.read(frame) || frame.empty()) return false;
    char name[32];
    std::snprintf(name, sizeof(name), "%05d", index_);
    stem = name;
    ++index_;
    return true;
  }
  double fps() const override { return fps_; }
  std::string describe() const override {
    return "video '" + path_ + "' (" + (total_ > 0 ? std::to_string(total_) : std::string("unknown number of")) +
           " frames)";
  }

 private:
  std::string path_;
  cv::VideoCapture capture_;
  int total_ = -1;
  int index_ = 0;
  double fps_ = 25;
};

std::unique_ptr<FrameSource> open_input(const std::string& input) {
  std::error_code ec;
  if (!fs::exists(input, ec)) throw Error("input '" + input + "' does not exist");
  if (fs::is_directory(input, ec)) {
    std::vector<std::string> paths;
    for (const auto& entry : fs::directory_iterator(input, ec)) {
      const std::string ext = lower(entry.path().extension().string());
      if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp")) {
        paths.push_back(entry.path().string());
      }
    }
    if (ec) throw Error("cannot list folder '" + input + "': " + ec.message());
    if (paths.empty()) throw Error("no images (jpg, jpeg, png, bmp) in folder '" + input + "'");
    std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
      return fs::path(a).filename().string() < fs::path(b).filename().string();
    });
    return std::make_unique<ImageListSource>(std::move(paths), "folder '" + input + "'");
  }
  if (lower(fs::path(input).extension().string()) == ".txt") {
    std::ifstream in(input);
    if (!in) throw Error("cannot read image list '" + input + "'");
    const fs::path base = fs::path(input).parent_path();
    std::vector<std::string> paths;
    std::string line;
    while (std::getline(in, line)) {
      const size_t first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      const size_t last = line.find_last_not_of(" \t\r");
      const fs::path p = line.substr(first, last - first + 1);
      paths.push_back(p.is_absolute() ? p.string() : (base / p).string());
    }
    if (paths.empty()) throw Error("image list '" + input + "' names no images");
    return std::make_unique<ImageListSource>(std::move(paths), "image list '" + input + "'");
  }
  return std::make_unique<VideoSource>(input);
}

// --- Initial targets -------------------------------------------------------------------------------------------------

struct InitTarget {
  int id = 1;
  bool is_box = true;
  cv::Rect2d box;
  cv::Mat mask;         // CV_8U, non-zero = target (mask targets)
  std::string origin;   // for messages: "--box 1,2,3,4", "--mask F (id 2)", "--region"
};

std::string read_region_line(const Options& o) {
  if (o.region_line) return *o.region_line;
  std::ifstream in(o.region_file);
  if (!in) throw Error("cannot read region file '" + o.region_file + "'");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  }
  if (lines.empty()) throw Error("region file '" + o.region_file + "' is empty");
  if (lines.size() == 1) return lines[0];
  if (static_cast<size_t>(o.init_frame) >= lines.size()) {
    throw Error("region file '" + o.region_file + "' has " + std::to_string(lines.size()) +
                " lines, none for --init-frame " + std::to_string(o.init_frame));
  }
  return lines[o.init_frame];
}

// The targets from the options, checked against the initial frame.
std::vector<InitTarget> initial_targets(const Options& o, const std::optional<oceanplus::vot::Region>& region,
                                        const cv::Mat& frame, const std::string& frame_name) {
  std::vector<InitTarget> out;
  const cv::Rect2d frame_rect(0, 0, frame.cols, frame.rows);
  const std::string frame_size = std::to_string(frame.cols) + "x" + std::to_string(frame.rows);
  auto check_box = [&](const cv::Rect2d& box, const std::string& origin) {
    if (!(box.width > 0) || !(box.height > 0)) throw Error(origin + ": the box has zero or negative size");
    const cv::Rect2d inside = box & frame_rect;
    if (inside.width < 1 || inside.height < 1) {
      throw Error(origin + ": the box lies entirely outside the " + frame_size + " initial frame '" + frame_name + "'");
    }
  };
  for (size_t i = 0; i < o.boxes.size(); ++i) {
    InitTarget t;
    t.id = static_cast<int>(i) + 1;
    t.box = o.boxes[i];
    t.origin = "--box " + o.box_texts[i];
    check_box(t.box, t.origin);
    out.push_back(t);
  }
  if (!o.mask_file.empty()) {
    const oceanplus::eval::LabelImage image = oceanplus::eval::read_label_png(o.mask_file);
    const auto targets = oceanplus::eval::split_label_targets(image);
    if (targets.empty()) throw Error("mask '" + o.mask_file + "' is empty (no target pixel)");
    for (const auto& target : targets) {
      InitTarget t;
      t.is_box = false;
      t.mask = target.mask;
      if (target.label == 255 && targets.size() == 1) {
        t.origin = "--mask " + o.mask_file;  // one binary target keeps id 1
      } else {
        t.id = target.label;
        t.origin = "--mask " + o.mask_file + " (id " + std::to_string(target.label) + ")";
      }
      out.push_back(t);
    }
    if (image.labels.size() != frame.size()) {
      warn("mask '" + o.mask_file + "' is " + std::to_string(image.labels.cols) + "x" +
           std::to_string(image.labels.rows) + " but the initial frame '" + frame_name + "' is " + frame_size +
           ": it is cropped/padded at the bottom right");
    }
  }
  if (region) {
    using Type = oceanplus::vot::Region::Type;
    InitTarget t;
    t.origin = "--region" + std::string(o.region_file.empty() ? "" : "-file " + o.region_file);
    if (region->type == Type::kSpecial) {
      throw Error(t.origin + ": the region is the special code " + std::to_string(region->code) + ", not a shape");
    } else if (region->type == Type::kRectangle) {
      t.box = cv::Rect2d(region->x, region->y, region->w, region->h);
      check_box(t.box, t.origin);
    } else {
      t.is_box = false;
      t.mask = oceanplus::vot::to_full_mask(*region, frame.size());
      if (cv::countNonZero(t.mask) == 0) {
        throw Error(t.origin + ": the region has no pixel inside the " + frame_size + " initial frame '" +
                    frame_name + "'");
      }
    }
    out.push_back(t);
  }
  return out;
}

// --- Outputs ---------------------------------------------------------------------------------------------------------

cv::Scalar target_colour(int id) {
  // The DAVIS palette (RGB) as BGR; id 1's dark red brightened for visibility on video.
  const auto& rgb = oceanplus::eval::davis_palette()[static_cast<size_t>(id) & 255];
  auto lift = [](int v) { return std::min(255, v * 2 + 40); };
  return cv::Scalar(lift(rgb[2]), lift(rgb[1]), lift(rgb[0]));
}

cv::Mat annotate(const cv::Mat& frame, const std::vector<TargetResult>& results) {
  cv::Mat out = frame.clone();
  for (const TargetResult& r : results) {
    if (r.mask.size() != out.size()) continue;
    cv::Mat tint(out.size(), out.type(), target_colour(r.id));
    cv::Mat blended;
    cv::addWeighted(out, 0.55, tint, 0.45, 0, blended);
    blended.copyTo(out, r.mask);
  }
  for (const TargetResult& r : results) {
    const cv::Scalar colour = target_colour(r.id);
    cv::rectangle(out, cv::Rect(cvRound(r.box.x), cvRound(r.box.y), cvRound(r.box.width), cvRound(r.box.height)),
                  colour, 2);
    if (r.has_polygon) {
      std::vector<cv::Point> points;
      for (const cv::Point2f& p : r.polygon) points.emplace_back(cvRound(p.x), cvRound(p.y));
      cv::polylines(out, points, true, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    }
    char label[64];
    std::snprintf(label, sizeof(label), "%d: %.2f", r.id, r.score);
    const cv::Point at(cvRound(r.box.x), std::max(12, cvRound(r.box.y) - 4));
    cv::putText(out, label, at, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::putText(out, label, at, cv::FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv::LINE_AA);
  }
  return out;
}

class Outputs {
 public:
  Outputs(const Options& o, double seg_thr) : options_(o), seg_thr_(seg_thr) {
    if (!o.masks_dir.empty()) {
      std::error_code ec;
      fs::create_directories(o.masks_dir, ec);
      if (ec || !fs::is_directory(o.masks_dir)) {
        throw Error("cannot create the output folder '" + o.masks_dir + "'" + (ec ? ": " + ec.message() : ""));
      }
    }
    if (!o.jsonl.empty()) {
      jsonl_.open(o.jsonl, std::ios::out | std::ios::trunc);
      if (!jsonl_) throw Error("cannot write '" + o.jsonl + "' (--jsonl)");
    }
  }

  // Opens the video writer once the frame size is known.
  void start(const cv::Size& size, double fps) {
    if (options_.video_out.empty()) return;
    const std::string ext = lower(fs::path(options_.video_out).extension().string());
    const int fourcc = (ext == ".mp4" || ext == ".m4v" || ext == ".mov") ? cv::VideoWriter::fourcc('m', 'p', '4', 'v')
                                                                         : cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    const fs::path folder = fs::path(options_.video_out).parent_path();
    std::error_code ec;
    if (!folder.empty() && !fs::is_directory(folder, ec)) {
      throw Error("cannot write the video '" + options_.video_out + "': the folder '" + folder.string() +
                  "' does not exist");
    }
    for (const int api : {static_cast<int>(cv::CAP_FFMPEG), static_cast<int>(cv::CAP_ANY)}) {
      try {
        if (video_.open(options_.video_out, api, fourcc, fps, size, true)) break;
      } catch (const cv::Exception&) {
      }
    }
    if (!video_.isOpened()) {
      throw Error("cannot open '" + options_.video_out + "' for writing a video (missing folder, or no encoder for '" +
                  ext + "'; .avi with MJPG always works)");
    }
  }

  void write(int index, const std::string& stem, const cv::Mat& frame, const std::vector<TargetResult>& results,
             bool initialised, double ms) {
    if (!options_.masks_dir.empty()) {
      const std::string path = (fs::path(options_.masks_dir) / (stem + ".png")).string();
      if (results.size() == 1) {
        cv::Mat grey = cv::Mat::zeros(frame.size(), CV_8U);
        if (results[0].mask.size() == frame.size()) grey.setTo(255, results[0].mask);
        oceanplus::eval::write_label_png_grey(path, grey);
      } else {
        oceanplus::eval::write_label_png_palette(path, oceanplus::track::merge_results(results, frame.size(), seg_thr_));
      }
      ++pngs_;
    }
    if (jsonl_.is_open()) {
      nlohmann::ordered_json targets = nlohmann::ordered_json::array();
      for (const TargetResult& r : results) {
        nlohmann::ordered_json polygon = nullptr;
        if (r.has_polygon) {
          polygon = nlohmann::ordered_json::array();
          for (const cv::Point2f& p : r.polygon) polygon.push_back({p.x, p.y});
        }
        targets.push_back({{"id", r.id},
                           {"box", {r.box.x, r.box.y, r.box.width, r.box.height}},
                           {"polygon", polygon},
                           {"score", r.score},
                           {"state", initialised ? "initialised" : oceanplus::track::status_name(r.status)},
                           {"mask_pixels", r.mask.empty() ? 0 : cv::countNonZero(r.mask)},
                           {"mask_is_box", r.mask_is_box}});
      }
      const nlohmann::ordered_json line = {{"frame", index}, {"name", stem}, {"targets", targets}, {"ms", ms}};
      jsonl_ << line.dump() << '\n';
      jsonl_.flush();
      if (!jsonl_) throw Error("write to '" + options_.jsonl + "' failed");
    }
    if (video_.isOpened()) video_.write(annotate(frame, results));
  }

  std::string written() const {
    std::string s;
    if (!options_.masks_dir.empty()) s += "; masks: " + options_.masks_dir + " (" + std::to_string(pngs_) + " PNGs)";
    if (!options_.jsonl.empty()) s += "; jsonl: " + options_.jsonl;
    if (!options_.video_out.empty()) s += "; video: " + options_.video_out;
    return s;
  }

 private:
  const Options& options_;
  double seg_thr_;  // the merge threshold of several targets' probabilities
  std::ofstream jsonl_;
  cv::VideoWriter video_;
  int pngs_ = 0;
};

// --- Progress --------------------------------------------------------------------------------------------------------

class Progress {
 public:
  Progress(bool enabled, int total) : enabled_(enabled), total_(total), start_(std::chrono::steady_clock::now()) {}
  void update(int done) {
    if (!enabled_) return;
    // The rate counts tracked frames from the end of the initialisation (which costs more than a frame).
    if (done <= 1) start_ = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double fps = done > 1 && seconds > 0 ? (done - 1) / seconds : 0;
    if (total_ > 0) {
      constexpr int kWidth = 30;
      const int filled = std::min(kWidth, done * kWidth / total_);
      char eta[32] = "--";
      if (fps > 0) std::snprintf(eta, sizeof(eta), "%.0fs", (total_ - done) / fps);
      std::fprintf(stderr, "\r[%s%s] %d/%d frames  %.1f fps  ETA %s   ", std::string(filled, '=').c_str(),
                   std::string(kWidth - filled, ' ').c_str(), done, total_, fps, eta);
    } else {
      std::fprintf(stderr, "\r%d frames  %.1f fps   ", done, fps);
    }
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) std::fputc('\n', stderr);
    shown_ = false;
  }

 private:
  bool enabled_;
  int total_;
  std::chrono::steady_clock::time_point start_;
  bool shown_ = false;
};

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

int run(const Options& o) {
  // A bad preset name fails before anything is read.
  TrackerParams params;
  if (o.preset != "auto") params = oceanplus::track::load_params(o.preset);

  std::optional<oceanplus::vot::Region> region;
  if (o.region_line || !o.region_file.empty()) {
    const std::string where = o.region_line ? "--region" : "--region-file " + o.region_file;
    const std::string line = read_region_line(o);
    try {
      region = oceanplus::vot::parse_region(line);
    } catch (const Error& e) {
      throw Error(where + ": malformed region '" + (line.size() > 60 ? line.substr(0, 60) + "..." : line) + "': " +
                  e.what());
    }
  }

  std::unique_ptr<FrameSource> source = open_input(o.input);
  if (o.init_frame > 0) source->skip_to(o.init_frame);
  cv::Mat frame;
  std::string stem;
  if (!source->next(frame, stem)) throw Error(source->describe() + " has no frame " + std::to_string(o.init_frame));
  const std::vector<InitTarget> targets = initial_targets(o, region, frame, stem);

  const oceanplus::track::ModelHandle handle = oceanplus::track::load_tracking_model(o.model, o.device, o.precision);
  const auto& model = handle.model;
  if (handle.random_weights) {
    warn("--model " + o.model + ": random weights, the tracking results are meaningless (demos and tests only)");
  }
  at::set_num_threads(oceanplus::track::cpu_threads_for(handle, o.threads));
  if (o.preset == "auto") params = oceanplus::track::preset(handle.default_preset);
  Outputs outputs(o, params.seg_thr);
  outputs.start(frame.size(), source->fps());
  if (!o.quiet) {
    std::printf("input: %s\nmodel: %s on %s\npreset: %s, %d thread(s)\n", source->describe().c_str(),
                model->name().c_str(), handle.device.c_str(), params.name.c_str(), at::get_num_threads());
    std::fflush(stdout);
  }

  const cv::Size frame_size = frame.size();

  // Initial frame.
  oceanplus::track::MultiTracker trackers(model, params);
  auto start = std::chrono::steady_clock::now();
  for (const InitTarget& t : targets) {
    InitReport report;
    try {
      report = t.is_box ? trackers.add_target_box(t.id, frame, t.box, o.cyclic)
                        : trackers.add_target_mask(t.id, frame, t.mask);
    } catch (const Error& e) {
      throw Error(t.origin + ": " + e.what());
    }
    for (const std::string& w : report.warnings) {
      // The mask size mismatch was already reported once for the whole label PNG.
      if (!t.is_box && !o.mask_file.empty() && w.find("initial mask is") == 0) continue;
      warn(t.origin + ": " + w);
    }
  }
  std::vector<TargetResult> results = trackers.last();
  const double init_ms = ms_since(start);
  int index = o.init_frame;
  outputs.write(index, stem, frame, results, true, init_ms);
  int last_written = index;

  int total = source->total() > 0 ? source->total() - o.init_frame : -1;
  if (o.max_frames > 0) total = total > 0 ? std::min(total, o.max_frames) : o.max_frames;
  Progress progress(!o.quiet && isatty(STDERR_FILENO), total);
  int done = 1;
  double track_ms = 0;
  progress.update(done);
  try {
    while (o.max_frames == 0 || done < o.max_frames) {
      if (!source->next(frame, stem)) break;
      ++index;
      if (frame.size() != frame_size) {
        throw Error("frame " + std::to_string(index) + " ('" + stem + "') is " + std::to_string(frame.cols) + "x" +
                    std::to_string(frame.rows) + " but the sequence started at " + std::to_string(frame_size.width) +
                    "x" + std::to_string(frame_size.height));
      }
      start = std::chrono::steady_clock::now();
      results = trackers.track(frame);
      const double ms = ms_since(start);
      track_ms += ms;
      outputs.write(index, stem, frame, results, false, ms);
      last_written = index;
      ++done;
      progress.update(done);
    }
  } catch (const Error& e) {
    progress.finish();
    throw Error(std::string(e.what()) + "; the outputs hold frames " + std::to_string(o.init_frame) + ".." +
                std::to_string(last_written) + outputs.written());
  }
  progress.finish();

  const double mean_ms = (init_ms + track_ms) / done;
  const int tracked = done - 1;
  std::printf("%s: %d frame%s (%d tracked after the initial frame %d), %zu target%s, %.1f ms/frame mean (init "
              "%.1f ms, tracking %.1f ms/frame, %.1f fps)%s\n",
              kProgram, done, done == 1 ? "" : "s", tracked, o.init_frame, trackers.size(),
              trackers.size() == 1 ? "" : "s", mean_ms, init_ms,
              tracked > 0 ? track_ms / tracked : 0.0, tracked > 0 && track_ms > 0 ? 1000.0 * tracked / track_ms : 0.0,
              outputs.written().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  oceanplus::prefer_passive_openmp_wait(argv);
  const Options options = parse(argc, argv);
  // OpenCV's own log lines (GStreamer probing, decoder warnings) would drown the messages below; OPENCV_LOG_LEVEL
  // still turns them on.
  if (!std::getenv("OPENCV_LOG_LEVEL")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  try {
    return run(options);
  } catch (const oceanplus::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", kProgram, e.what());
  } catch (const cv::Exception& e) {
    std::fprintf(stderr, "%s: error: OpenCV: %s\n", kProgram, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", kProgram, e.what());
  }
  return 1;
}
