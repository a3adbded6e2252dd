// The DAVIS evaluation as a library: scoring a results folder or in-memory predictions, and the reports of the
// oceanplus-eval tool (text tables, CSV files, the per-sequence chart). Also the tool's options, so that the
// tracking mode (run_tracking_mode, src/eval/tracking_mode.cpp) can reuse all of it.
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/davis_dataset.h"
#include "eval/davis_metrics.h"

namespace oceanplus::eval {

// ---- scoring ----------------------------------------------------------------------------------------------------

// Scores one sequence from predictions in memory. `predictions` has one label map per frame of the sequence
// (sequence.frames order, all N frames); the first and the last are not scored and may be empty Mats. A map is an
// object-id map (palette indices: 0 background, 1..n_objects), or a binary 0/255 mask (255 = object 1). Objects
// missing from a prediction count as empty predictions. Throws oceanplus::Error on a wrong frame count or size, or on
// an id above the ground truth's object count.
SequenceResult score_sequence(const Sequence& sequence, const GroundTruth& gt, const std::vector<cv::Mat>& predictions);
// The same, loading the ground truth itself.
SequenceResult score_sequence(const Sequence& sequence, const std::vector<cv::Mat>& predictions);

// Scores <results>/<seq>/<frame>.png for the scored frames (1 .. N-2) of one sequence. A missing PNG throws, naming it.
SequenceResult score_sequence_results(const Sequence& sequence, const std::filesystem::path& results_dir);

// Scores every selected sequence of the dataset from a results folder; `progress` (optional) is called after each.
EvalResult evaluate_results(const Dataset& dataset, const std::vector<std::string>& sequences,
                            const std::filesystem::path& results_dir,
                            const std::function<void(const SequenceResult&)>& progress = {});

// Collects sequences into an EvalResult with the global numbers.
EvalResult make_result(std::vector<SequenceResult> sequences);

// ---- reports ------------------------------------------------------------------------------------------------------

// A number with a fixed count of decimals, as every report line prints them.
std::string fixed(double v, int decimals = 6);

// Row name of an object: "<seq>" for a single-object sequence, "<seq>_<id>" otherwise.
std::string object_row_name(const SequenceResult& sequence, const ObjectResult& object);

// The global table, the per-sequence table (J_M J_O J_D F_M F_O F_D JF, one row per object), and the final line
// "J&F-Mean: <value>" (0-1 scale, 6 decimals).
void print_report(std::ostream& out, const EvalResult& result);

// Global CSV (J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay) and per-sequence CSV
// (Sequence,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay,J&F-Mean); 6 decimals.
void write_global_csv(const std::string& path, const EvalResult& result);
void write_per_sequence_csv(const std::string& path, const EvalResult& result);
// "<dir>/<stem>-per-sequence<ext>" for a global CSV path "<dir>/<stem><ext>".
std::string per_sequence_csv_path(const std::string& global_csv);

// Bar chart (PNG) of J_M and F_M per sequence/object, with axes, labels, legend and values.
cv::Mat draw_chart(const EvalResult& result);
void write_chart(const std::string& path, const EvalResult& result);

// ---- the tool -----------------------------------------------------------------------------------------------------

struct Options {
  std::string dataset;    // --dataset DIR (required)
  std::string results;    // --results DIR: masks to score (score mode) / where to write masks (tracking mode)
  std::string sequences;  // --sequences a,b,c or an ImageSets .txt file
  std::string csv;        // --csv FILE (global) and FILE-per-sequence
  std::string out_dir;    // --out-dir DIR: global_results.csv, per-sequence_results.csv, per-sequence.png
  std::string chart;      // --chart FILE.png
  // Tracking mode (run_tracking_mode):
  std::string model;         // --model FILE
  std::string init = "mask";  // --init mask|box
  std::string preset;        // --preset NAME|FILE.json (default: davis2016 for one object, davis2017 for several)
  int threads = 0;           // --threads N (0: the model's preferred count)
  std::string device = "cpu";  // --device cpu|cuda|cuda:N|auto
  std::string precision = "fp32";  // --precision fp32|fp16|bf16
  std::string frame_step = "auto";  // --frame-step auto|on|off
  std::string vot;           // --vot DIR: VOT2020 multistart evaluation of the tracker on a VOT-layout dataset
  bool quiet = false;        // --quiet: no per-sequence progress on stderr
  bool help = false;
};

// Thrown by parse_options for a bad command line (exit code 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Options parse_options(int argc, const char* const* argv);
std::string usage_text(const std::string& program);

// Score mode: scores --results, prints the report, writes the requested files. Returns the exit code.
int run_score_mode(const Options& options, std::ostream& out, std::ostream& err);
// Writes the CSV files and the chart the options ask for (shared by both modes).
void write_outputs(const Options& options, const EvalResult& result, std::ostream& err);
// Tracking mode (src/eval/tracking_mode.cpp): runs the tracker over the dataset, then scores with score_sequence.
int run_tracking_mode(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace oceanplus::eval
