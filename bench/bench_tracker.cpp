// Times the whole tracker step on real frames, part by part: crop, network, peak choice (+ template update), mask
// paste-back and polygon. Median over the frames after the first (which packs the weights for the search size).
//
//   oceanplus-bench-tracker [--model FILE|random-mss|random-mms] [--frames DIR] [--box x,y,w,h] [--count N]
//                           [--threads N] [--preset NAME] [--device cpu|cuda|cuda:N] [--frame-step auto|on|off]
//                           [--precision fp32|fp16|bf16]
//
// --targets N tracks N targets (the box and N-1 copies shifted sideways by 1.2 box widths) through
// Tracker::track_all: with the frame step, one batched network pass for all of them. Times are per frame, all
// targets together.
// --frame-step on runs each step as one frame step (crop, peak and paste-back kernels around the network; on the
// CPU their references), whose time is reported as "network"; auto (default) takes it on a GPU.
//
// Default: random MSS weights on the 20 frames of OpenCV's vtest clip shipped in examples/data/vtest (cycled).
#include <ATen/Parallel.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <memory>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/openmp_env.h"
#include "track/model_factory.h"
#include "track/tracker.h"

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  oceanplus::prefer_passive_openmp_wait(argv);
  using namespace oceanplus;
  std::string model_spec = "random-mss", frames_dir, preset = "auto", device = "cpu", frame_step = "auto",
              precision = "fp32";
  cv::Rect2d box(638, 238, 48, 84);
  int count = 20, threads = 0;  // 0: the model's preferred count
  int targets = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model_spec = value();
    else if (a == "--frames") frames_dir = value();
    else if (a == "--preset") preset = value();
    else if (a == "--count") count = std::stoi(value());
    else if (a == "--threads") threads = std::stoi(value());
    else if (a == "--device") device = value();
    else if (a == "--precision") precision = value();
    else if (a == "--frame-step") frame_step = value();
    else if (a == "--targets") targets = std::max(1, std::stoi(value()));
    else if (a == "--box") {
      double x, y, w, h;
      if (std::sscanf(value().c_str(), "%lf,%lf,%lf,%lf", &x, &y, &w, &h) != 4) return 2;
      box = cv::Rect2d(x, y, w, h);
    } else {
      std::puts("oceanplus-bench-tracker [--model FILE|random-mss|random-mms] [--frames DIR] [--box x,y,w,h]\n"
                "                        [--count N] [--threads N] [--preset NAME] [--device D] [--frame-step M]\n"
                "                        [--targets N] [--precision fp32|fp16|bf16]");
      return a == "--help" ? 0 : 2;
    }
  }
  try {
    std::vector<std::string> files;
    if (frames_dir.empty()) frames_dir = "examples/data/vtest";
    for (const auto& e : std::filesystem::directory_iterator(frames_dir)) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    std::vector<cv::Mat> frames;
    for (const auto& f : files) {
      frames.push_back(cv::imread(f, cv::IMREAD_COLOR));
      if (frames.back().empty()) throw Error(f + ": unreadable image");
    }
    const track::ModelHandle handle = track::load_tracking_model(model_spec, device, precision);
    threads = track::cpu_threads_for(handle, threads);
    at::set_num_threads(threads);
    const track::TrackerParams params = track::load_params(preset == "auto" ? handle.default_preset : preset);
    std::vector<std::unique_ptr<track::Tracker>> trackers;
    for (int k = 0; k < targets; ++k) {
      auto tracker = std::make_unique<track::Tracker>(handle.model, params, k + 1);
      tracker->set_frame_step(track::frame_step_mode(frame_step));
      // Towards the frame's wider side, so that every copy stays inside.
      const double direction = box.x + box.width / 2 > frames[0].cols / 2.0 ? -1 : 1;
      const cv::Rect2d shifted(box.x + direction * 1.2 * box.width * k, box.y, box.width, box.height);
      tracker->init_with_box_no_cycles(frames[0], shifted & cv::Rect2d(0, 0, frames[0].cols, frames[0].rows));
      trackers.push_back(std::move(tracker));
    }
    const track::Tracker& tracker = *trackers[0];
    std::vector<track::Tracker*> all;
    for (auto& each : trackers) all.push_back(each.get());
    std::vector<double> crop, net, peak, mask, total;
    for (int i = 0; i <= count; ++i) {
      double c = 0, n = 0, p = 0, m = 0;
      std::vector<track::StepTrace> traces;
      track::Tracker::track_all(all, frames[(i + 1) % frames.size()], &traces);
      for (const track::StepTrace& t : traces) {
        c += t.crop_ms;
        n += t.network_ms;
        p += t.peak_ms;
        m += t.mask_ms;
      }
      if (i == 0) continue;  // packs the weights for this search size
      crop.push_back(c);
      net.push_back(n);
      peak.push_back(p);
      mask.push_back(m);
      total.push_back(c + n + p + m);
    }
    std::printf("model %s on %s in %s%s, %d threads, %dx%d frames, search %d, %d target(s), %d steps (median ms)\n",
                handle.model->name().c_str(), handle.device.c_str(), handle.precision.c_str(),
                tracker.uses_frame_step() ? " (frame step: crop+network+peak+paste in 'network')" : "", threads,
                frames[0].cols, frames[0].rows, tracker.instance_size(), targets, count);
    std::printf("crop %.2f  network %.2f  peak+update %.2f  mask %.2f  total %.2f  (%.1f fps)\n", median(crop),
                median(net), median(peak), median(mask), median(total), 1000.0 / median(total));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oceanplus-bench-tracker: %s\n", e.what());
    return 1;
  }
  return 0;
}
