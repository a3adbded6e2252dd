// oceanplus-train-preview: writes training pairs side by side (reference | search) as JPEGs, for eyeballing the
// augmentation. Overlays: target mask contour green, pasted distractors red, the template square in the reference
// blue, search_box yellow.
//
//   oceanplus-train-preview --data DIR --count N --out DIR [--seed S] [--exclude SOURCE]... [--bench N [--threads T]]
//                           [--format jpg|png]
#include "common/error.h"
#include "train/pair_sampler.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

namespace {

using namespace oceanplus::train;

struct Arguments {
  std::string data, out;
  int count = 16;
  uint64_t seed = 0;
  int bench = 0, threads = 1;
  std::string format = "jpg";
  std::vector<std::string> exclude;
  double deform_prob = 0, deform_magnitude = 0.1;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr,
               "oceanplus-train-preview: %s\n"
               "usage: oceanplus-train-preview --data DIR --count N --out DIR [--seed S] [--exclude SOURCE]... "
               "[--bench N [--threads T]] [--format jpg|png] [--deform-prob P] [--deform-magnitude M]\n"
               "  --bench N   also time N sample() calls on T threads (default 1; OpenCV's own threads off; nothing\n"
               "              written for them)\n",
               message.c_str());
  std::exit(2);
}

Arguments parse(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage_error("help");
    if (i + 1 >= argc) usage_error(flag + " needs a value");
    const std::string value = argv[++i];
    try {
      if (flag == "--data") a.data = value;
      else if (flag == "--out") a.out = value;
      else if (flag == "--count") a.count = std::stoi(value);
      else if (flag == "--seed") a.seed = std::stoull(value);
      else if (flag == "--bench") a.bench = std::stoi(value);
      else if (flag == "--exclude") a.exclude.push_back(value);
      else if (flag == "--format") a.format = value;
      else if (flag == "--threads") a.threads = std::stoi(value);
      else if (flag == "--deform-prob") a.deform_prob = std::stod(value);
      else if (flag == "--deform-magnitude") a.deform_magnitude = std::stod(value);
      else usage_error("unknown option " + flag);
    } catch (const std::logic_error&) {
      usage_error("bad number for " + flag + ": " + value);
    }
  }
  if (a.data.empty()) usage_error("--data is required");
  if (a.out.empty() && a.count > 0) usage_error("--out is required");
  if (a.count < 0 || a.bench < 0) usage_error("counts must be >= 0");
  if (a.threads < 1) usage_error("--threads must be >= 1");
  if (a.format != "jpg" && a.format != "png") usage_error("--format must be jpg or png");
  return a;
}

void draw_contour(cv::Mat& canvas, const cv::Mat& mask01, const cv::Scalar& colour) {
  if (cv::countNonZero(mask01) == 0) return;
  cv::Mat edge = contour_map(mask01, 1);
  canvas.setTo(colour, edge);
}

cv::Mat render(const TrainingPair& pair, const PairSampler& sampler) {
  const int n = pair.search_bgr.cols, exemplar = sampler.options().exemplar_size;
  cv::Mat reference = pair.reference_bgr.clone(), search = pair.search_bgr.clone();
  draw_contour(reference, pair.reference_occluder, cv::Scalar(0, 0, 255));
  draw_contour(reference, pair.reference_mask, cv::Scalar(0, 255, 0));
  const int offset = (n - exemplar) / 2;
  cv::rectangle(reference, cv::Rect(offset, offset, exemplar, exemplar), cv::Scalar(255, 128, 0), 1);
  draw_contour(search, pair.search_occluder, cv::Scalar(0, 0, 255));
  draw_contour(search, pair.search_mask, cv::Scalar(0, 255, 0));
  if (!pair.search_box.empty()) cv::rectangle(search, cv::Rect(pair.search_box), cv::Scalar(0, 255, 255), 1);

  constexpr int kCaption = 18;
  cv::Mat canvas(n + kCaption, 2 * n + 4, CV_8UC3, cv::Scalar(40, 40, 40));
  reference.copyTo(canvas(cv::Rect(0, kCaption, n, n)));
  search.copyTo(canvas(cv::Rect(n + 4, kCaption, n, n)));
  const TrainEntry& e = sampler.entries()[pair.entry_index];
  std::string caption = "#" + std::to_string(pair.entry_index) + " " + e.source + " " + e.category;
  if (!e.video.empty()) caption += " k=" + std::to_string(pair.frame_gap);
  if (pair.flipped) caption += " flip";
  caption += " distractors=" + std::to_string(pair.distractor_entries.size());
  cv::putText(canvas, caption, cv::Point(4, 13), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(255, 255, 255), 1,
              cv::LINE_AA);
  return canvas;
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse(argc, argv);
  try {
    SamplerOptions options;
    options.exclude_sources = args.exclude;
    options.deform_prob = args.deform_prob;
    options.deform_magnitude = args.deform_magnitude;
    const auto load_start = std::chrono::steady_clock::now();
    PairSampler sampler(args.data, read_train_index(args.data), options);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    std::printf("%zu usable entries of %zu (loaded in %.2f s)\n", sampler.size(), sampler.entries().size(), load_s);

    if (args.count > 0) ::mkdir(args.out.c_str(), 0755);
    for (int i = 0; i < args.count; ++i) {
      const TrainingPair pair = sampler.sample(args.seed, static_cast<uint64_t>(i));
      char name[64];
      std::snprintf(name, sizeof name, "/pair_%05d.%s", i, args.format.c_str());
      const std::string path = args.out + name;
      if (!cv::imwrite(path, render(pair, sampler))) throw oceanplus::Error(path + ": cannot write");
    }
    if (args.count > 0) std::printf("wrote %d previews to %s\n", args.count, args.out.c_str());

    if (args.bench > 0) {
      // As a data loader runs it: T workers, each a plain loop over its share of the indices, OpenCV single-threaded
      // inside so that the workers do not oversubscribe the cores.
      cv::setNumThreads(1);
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> workers;
      for (int t = 0; t < args.threads; ++t) {
        workers.emplace_back([&, t] {
          for (int i = t; i < args.bench; i += args.threads) sampler.sample(args.seed + 1, static_cast<uint64_t>(i));
        });
      }
      for (std::thread& w : workers) w.join();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("sampled %d pairs in %.2f s on %d thread(s): %.1f pairs/s\n", args.bench, s, args.threads,
                  args.bench / s);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oceanplus-train-preview: %s\n", e.what());
    return 1;
  }
  return 0;
}
