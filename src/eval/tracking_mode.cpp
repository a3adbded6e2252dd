// Tracking modes of oceanplus-eval (--model): run the tracker over a DAVIS dataset and score it with the DAVIS
// scorer, or over a VOT2020 dataset (--vot) with the multistart protocol. One model serves every sequence and target.
#include <ATen/Parallel.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <iomanip>

#include "common/error.h"
#include "eval/davis_eval.h"
#include "eval/label_png.h"
#include "track/model_factory.h"
#include "track/tracker.h"
#include "vot/sequence.h"

namespace oceanplus::eval {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

track::ModelHandle load_model(const Options& options, std::ostream& err) {
  track::ModelHandle model = track::load_tracking_model(options.model, options.device, options.precision);
  at::set_num_threads(track::cpu_threads_for(model, options.threads));
  if (model.random_weights) err << "oceanplus-eval: warning: " << options.model << ": random weights, the scores mean nothing\n";
  return model;
}

cv::Mat read_frame(const fs::path& path) {
  cv::Mat frame = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (frame.empty()) throw Error(path.string() + ": missing or unreadable image");
  return frame;
}

// Tracks one DAVIS sequence: one target per object of the first annotation. Returns one id map per frame (frame 0 is
// the annotation itself) and adds the tracking time (frames 1.., without image decoding) to `seconds`.
std::vector<cv::Mat> track_sequence(const Sequence& sequence, const GroundTruth& gt,
                                    const std::shared_ptr<track::TrackingModel>& model,
                                    const track::TrackerParams& params, bool box_init,
                                    track::FrameStepMode frame_step, double& seconds, std::ostream& err) {
  std::vector<cv::Mat> predictions(sequence.frames.size());
  track::MultiTracker tracker(model, params);
  tracker.set_frame_step(frame_step);
  const cv::Mat first = read_frame(sequence.image_path(0));
  const cv::Mat& first_labels = gt.labels.at(0);
  for (int id = 1; id <= gt.n_objects; ++id) {
    const cv::Mat object = first_labels == id;
    if (cv::countNonZero(object) == 0) {
      err << "oceanplus-eval: warning: " << sequence.name << ": object " << id
          << " is absent from the first annotation; it is not tracked\n";
      continue;
    }
    const track::InitReport report =
        box_init ? tracker.add_target_box(id, first, cv::Rect2d(cv::boundingRect(object)))
                 : tracker.add_target_mask(id, first, object);
    for (const auto& w : report.warnings) err << "oceanplus-eval: warning: " << sequence.name << ": " << w << "\n";
  }
  predictions[0] = first_labels.clone();
  for (size_t i = 1; i < sequence.frames.size(); ++i) {
    const cv::Mat frame = read_frame(sequence.image_path(i));
    const auto start = Clock::now();
    const auto results = tracker.track(frame);
    predictions[i] = tracker.label_map(results, frame.size());
    seconds += seconds_since(start);
  }
  return predictions;
}

void save_predictions(const fs::path& dir, const Sequence& sequence, const GroundTruth& gt,
                      const std::vector<cv::Mat>& predictions) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the results folder (" + ec.message() + ")");
  for (size_t i = 0; i < predictions.size(); ++i) {
    const std::string path = (dir / (sequence.frames[i] + ".png")).string();
    if (gt.binary) {
      write_label_png_grey(path, predictions[i] * 255);  // DAVIS-2016 convention: 0/255
    } else {
      write_label_png_palette(path, predictions[i]);
    }
  }
}

int run_davis(const Options& options, std::ostream& out, std::ostream& err) {
  const Dataset dataset = Dataset::open(options.dataset);
  const std::vector<std::string> names = dataset.select(options.sequences);
  const track::ModelHandle handle = load_model(options, err);
  const auto& model = handle.model;
  const track::FrameStepMode frame_step = track::frame_step_mode(options.frame_step);
  std::vector<SequenceResult> scored;
  double total_seconds = 0;
  size_t total_frames = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    const Sequence sequence = dataset.sequence(names[k]);
    const GroundTruth gt = load_ground_truth(sequence);
    if (gt.n_objects == 0) {
      err << "oceanplus-eval: warning: " << sequence.name << ": no object in the first annotation; skipped\n";
      continue;
    }
    const std::string preset = !options.preset.empty() ? options.preset : track::davis_preset(handle, gt.n_objects);
    const track::TrackerParams params = track::load_params(preset);
    double seconds = 0;
    const auto predictions =
        track_sequence(sequence, gt, model, params, options.init == "box", frame_step, seconds, err);
    if (!options.results.empty()) save_predictions(fs::path(options.results) / sequence.name, sequence, gt, predictions);
    SequenceResult result = score_sequence(sequence, gt, predictions);
    const size_t frames = sequence.frames.size() - 1;
    total_seconds += seconds;
    total_frames += frames;
    if (!options.quiet) {
      err << "[" << k + 1 << "/" << names.size() << "] " << sequence.name << " (" << params.name << ", "
          << gt.n_objects << (gt.n_objects == 1 ? " object" : " objects") << ")";
      for (const auto& o : result.objects) err << "  J&F " << fixed(o.jf(), 3);
      err << "  " << fixed(frames / std::max(seconds, 1e-9), 1) << " fps\n";
    }
    scored.push_back(std::move(result));
  }
  const EvalResult result = make_result(std::move(scored));
  if (result.global.n_objects == 0) throw Error("no objects to score in the selected sequences");
  write_outputs(options, result, err);
  out << "Model: " << model->name() << " (" << options.model << "), init: " << options.init << "\n";
  out << "Speed: " << fixed(total_frames / std::max(total_seconds, 1e-9), 2) << " fps (" << total_frames
      << " frames tracked in " << fixed(total_seconds, 2) << " s, image decoding excluded)\n";
  print_report(out, result);
  return 0;
}

// The tracker as the VOT protocol sees it: initialise from a mask, report a full-frame mask per frame.
class VotAdapter : public vot::VotTracker {
 public:
  VotAdapter(std::shared_ptr<track::TrackingModel> model, track::TrackerParams params)
      : model_(std::move(model)), params_(std::move(params)) {}
  void initialize(const cv::Mat& frame, const cv::Mat& mask01) override {
    tracker_ = std::make_unique<track::Tracker>(model_, params_);
    tracker_->init_with_mask(frame, mask01);
  }
  cv::Mat track(const cv::Mat& frame) override {
    const auto start = Clock::now();
    cv::Mat mask = tracker_->track(frame).mask;
    seconds += seconds_since(start);
    ++frames;
    return mask;
  }
  double seconds = 0;
  size_t frames = 0;

 private:
  std::shared_ptr<track::TrackingModel> model_;
  track::TrackerParams params_;
  std::unique_ptr<track::Tracker> tracker_;
};

int run_vot(const Options& options, std::ostream& out, std::ostream& err) {
  const auto names = vot::read_sequence_list(options.vot);
  if (names.empty()) throw Error(options.vot + "/list.txt: no sequences");
  const track::ModelHandle handle = load_model(options, err);
  const auto& model = handle.model;
  const track::TrackerParams params = track::load_params(options.preset.empty() ? handle.default_preset : options.preset);
  VotAdapter adapter(model, params);
  std::vector<vot::SequenceRuns> runs;
  for (size_t k = 0; k < names.size(); ++k) {
    const vot::Sequence sequence = vot::load_sequence((fs::path(options.vot) / names[k]).string());
    const auto anchor_runs = vot::run_multistart(vot::to_input(sequence), adapter);
    runs.push_back(vot::to_sequence_runs(sequence.name, sequence.length(), anchor_runs));
    if (!options.quiet) {
      err << "[" << k + 1 << "/" << names.size() << "] " << sequence.name << ": " << anchor_runs.size()
          << " anchor runs\n";
    }
  }
  const vot::Results results = vot::analyze(runs);
  out << "Model: " << model->name() << " (" << options.model << "), preset: " << params.name << "\n";
  out << "Speed: " << fixed(adapter.frames / std::max(adapter.seconds, 1e-9), 2) << " fps (" << adapter.frames
      << " frames tracked)\n";
  out << std::left << std::setw(24) << "Sequence" << std::right << std::setw(10) << "A" << std::setw(10) << "R"
      << std::setw(8) << "runs\n";
  for (size_t s = 0; s < results.sequences.size(); ++s) {
    const auto& r = results.sequences[s];
    out << std::left << std::setw(24) << r.name << std::right << std::setw(10) << fixed(r.accuracy, 4) << std::setw(10)
        << fixed(r.robustness, 4) << std::setw(7) << r.failures.size() << "\n";
  }
  out << "Accuracy: " << fixed(results.accuracy, 6) << "\n";
  out << "Robustness: " << fixed(results.robustness, 6) << "\n";
  out << "EAO: " << fixed(results.eao, 6) << "\n";
  return 0;
}

}  // namespace

int run_tracking_mode(const Options& options, std::ostream& out, std::ostream& err) {
  return options.vot.empty() ? run_davis(options, out, err) : run_vot(options, out, err);
}

}  // namespace oceanplus::eval
