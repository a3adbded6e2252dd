#include "eval/davis_eval.h"

#include <cstdlib>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "common/error.h"
#include "eval/label_png.h"

namespace fs = std::filesystem;

namespace oceanplus::eval {

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

namespace {

std::size_t object_count(const EvalResult& r) {
  std::size_t n = 0;
  for (const auto& s : r.sequences) n += s.objects.size();
  return n;
}

}  // namespace

// ---- scoring ----------------------------------------------------------------------------------------------------

SequenceResult score_sequence(const Sequence& sequence, const GroundTruth& gt, const std::vector<cv::Mat>& predictions) {
  const std::size_t n = sequence.frames.size();
  if (gt.labels.size() != n)
    throw Error("sequence " + sequence.name + ": ground truth has " + std::to_string(gt.labels.size()) +
                " frames, the sequence " + std::to_string(n));
  if (predictions.size() != n)
    throw Error("sequence " + sequence.name + ": " + std::to_string(predictions.size()) + " predictions for " +
                std::to_string(n) + " frames (one per frame expected; the first and last are not scored)");
  std::vector<cv::Mat> g, p;
  std::vector<std::string> names;
  for (std::size_t i = 1; i + 1 < n; ++i) {
    const std::string what = "sequence " + sequence.name + " frame " + sequence.frames[i];
    g.push_back(gt.labels[i]);
    p.push_back(normalize_prediction(predictions[i], gt.n_objects, what));
    names.push_back(sequence.frames[i]);
  }
  return score_objects(sequence.name, g, p, gt.n_objects, names);
}

SequenceResult score_sequence(const Sequence& sequence, const std::vector<cv::Mat>& predictions) {
  return score_sequence(sequence, load_ground_truth(sequence), predictions);
}

SequenceResult score_sequence_results(const Sequence& sequence, const fs::path& results_dir) {
  const GroundTruth gt = load_ground_truth(sequence);
  const fs::path dir = results_dir / sequence.name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("results for sequence " + sequence.name + ": no such directory " + dir.string());
  const std::size_t n = sequence.frames.size();
  std::vector<cv::Mat> g, p;
  std::vector<std::string> names;
  for (std::size_t i = 1; i + 1 < n; ++i) {
    const fs::path file = dir / (sequence.frames[i] + ".png");
    if (!fs::exists(file, ec))
      throw Error("missing result PNG " + file.string() + " (frame " + sequence.frames[i] + " of sequence " +
                  sequence.name + "; frames 1 .. N-2 are scored)");
    const LabelImage image = read_label_png(file.string());
    if (image.labels.size() != gt.labels[i].size())
      throw Error(file.string() + ": result size " + std::to_string(image.labels.cols) + "x" +
                  std::to_string(image.labels.rows) + " differs from the annotation size " +
                  std::to_string(gt.labels[i].cols) + "x" + std::to_string(gt.labels[i].rows));
    g.push_back(gt.labels[i]);
    p.push_back(normalize_prediction(image.labels, gt.n_objects, file.string()));
    names.push_back(sequence.frames[i]);
  }
  return score_objects(sequence.name, g, p, gt.n_objects, names);
}

EvalResult make_result(std::vector<SequenceResult> sequences) {
  EvalResult r;
  r.sequences = std::move(sequences);
  r.global = global_statistics(r.sequences);
  return r;
}

EvalResult evaluate_results(const Dataset& dataset, const std::vector<std::string>& sequences,
                            const fs::path& results_dir, const std::function<void(const SequenceResult&)>& progress) {
  std::error_code ec;
  if (!fs::exists(results_dir, ec)) throw Error("results directory " + results_dir.string() + ": no such directory");
  if (!fs::is_directory(results_dir, ec)) throw Error("results directory " + results_dir.string() + ": not a directory");
  std::vector<SequenceResult> out;
  for (const auto& name : sequences) {
    out.push_back(score_sequence_results(dataset.sequence(name), results_dir));
    if (progress) progress(out.back());
  }
  return make_result(std::move(out));
}

// ---- reports ------------------------------------------------------------------------------------------------------

std::string object_row_name(const SequenceResult& sequence, const ObjectResult& object) {
  return sequence.objects.size() == 1 ? sequence.name : sequence.name + "_" + std::to_string(object.object_id);
}

void print_report(std::ostream& out, const EvalResult& result) {
  const GlobalResult& g = result.global;
  out << "Global results (DAVIS semi-supervised, " << g.n_objects << " object(s) in " << result.sequences.size()
      << " sequence(s); frames 1..N-2 scored):\n";
  const char* gh[] = {"J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"};
  const double gv[] = {g.jf_mean, g.j_mean, g.j_recall, g.j_decay, g.f_mean, g.f_recall, g.f_decay};
  for (const char* h : gh) out << std::setw(10) << h;
  out << "\n";
  for (double v : gv) out << std::setw(10) << fixed(v);
  out << "\n\nPer-sequence results:\n";
  std::size_t width = 8;
  for (const auto& s : result.sequences)
    for (const auto& o : s.objects) width = std::max(width, object_row_name(s, o).size());
  out << std::left << std::setw(static_cast<int>(width)) << "Sequence" << std::right;
  for (const char* h : {"J_M", "J_O", "J_D", "F_M", "F_O", "F_D", "JF"}) out << std::setw(10) << h;
  out << "\n";
  for (const auto& s : result.sequences)
    for (const auto& o : s.objects) {
      out << std::left << std::setw(static_cast<int>(width)) << object_row_name(s, o) << std::right;
      for (double v : {o.j.mean, o.j.recall, o.j.decay, o.f.mean, o.f.recall, o.f.decay, o.jf()})
        out << std::setw(10) << fixed(v);
      out << "\n";
    }
  out << "\nJ&F-Mean: " << fixed(g.jf_mean) << "\n";
}

namespace {
void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  if (!f) throw Error(path + ": cannot open for writing");
  f << text;
  f.close();
  if (!f) throw Error(path + ": write failed");
}
}  // namespace

void write_global_csv(const std::string& path, const EvalResult& result) {
  const GlobalResult& g = result.global;
  std::ostringstream s;
  s << "J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay\n";
  s << fixed(g.jf_mean) << ',' << fixed(g.j_mean) << ',' << fixed(g.j_recall) << ',' << fixed(g.j_decay) << ','
    << fixed(g.f_mean) << ',' << fixed(g.f_recall) << ',' << fixed(g.f_decay) << "\n";
  write_text(path, s.str());
}

void write_per_sequence_csv(const std::string& path, const EvalResult& result) {
  std::ostringstream s;
  s << "Sequence,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay,J&F-Mean\n";
  for (const auto& seq : result.sequences)
    for (const auto& o : seq.objects)
      s << object_row_name(seq, o) << ',' << fixed(o.j.mean) << ',' << fixed(o.j.recall) << ',' << fixed(o.j.decay)
        << ',' << fixed(o.f.mean) << ',' << fixed(o.f.recall) << ',' << fixed(o.f.decay) << ',' << fixed(o.jf())
        << "\n";
  write_text(path, s.str());
}

std::string per_sequence_csv_path(const std::string& global_csv) {
  const fs::path p(global_csv);
  const std::string ext = p.has_extension() ? p.extension().string() : std::string(".csv");
  return (p.parent_path() / (p.stem().string() + "-per-sequence" + ext)).string();
}

cv::Mat draw_chart(const EvalResult& result) {
  struct Group {
    std::string label;
    double j, f;
  };
  std::vector<Group> groups;
  for (const auto& s : result.sequences)
    for (const auto& o : s.objects) groups.push_back({object_row_name(s, o), o.j.mean, o.f.mean});
  groups.push_back({"GLOBAL", result.global.j_mean, result.global.f_mean});

  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const double label_scale = 0.5, value_scale = 0.36;
  int longest = 0;
  for (const auto& g : groups) {
    int base = 0;
    longest = std::max(longest, cv::getTextSize(g.label, font, label_scale, 1, &base).width);
  }
  const int group_w = 96, bar_w = 36;
  const int left = 70, right = 30, top = 100, plot_h = 360;
  const int bottom = std::min(260, longest + 40);
  const int width = std::max(640, left + right + group_w * static_cast<int>(groups.size()));
  const int height = top + plot_h + bottom;
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225), j_color(180, 119, 31), f_color(14, 127, 255);
  const int x0 = left, y0 = top + plot_h, x1 = width - right;
  auto y_of = [&](double v) {
    if (!std::isfinite(v)) v = 0;
    v = std::clamp(v, 0.0, 1.0);
    return y0 - static_cast<int>(std::lround(v * plot_h));
  };

  // Title.
  cv::putText(img, "DAVIS J and F per sequence", {left, 30}, font, 0.65, black, 1, cv::LINE_AA);
  const std::string subtitle = "J&F-Mean " + fixed(result.global.jf_mean, 3) + ", " +
                               std::to_string(result.global.n_objects) + " object(s)";
  cv::putText(img, subtitle, {left, 56}, font, 0.45, black, 1, cv::LINE_AA);
  // Grid and y axis ticks.
  for (int k = 0; k <= 10; ++k) {
    const double v = k / 10.0;
    const int y = y_of(v);
    cv::line(img, {x0, y}, {x1, y}, k == 0 ? black : grid, 1);
    cv::line(img, {x0 - 5, y}, {x0, y}, black, 1);
    if (k % 2 == 0) {
      int base = 0;
      const std::string t = fixed(v, 1);
      const cv::Size ts = cv::getTextSize(t, font, 0.45, 1, &base);
      cv::putText(img, t, {x0 - 8 - ts.width, y + ts.height / 2}, font, 0.45, black, 1, cv::LINE_AA);
    }
  }
  cv::line(img, {x0, top}, {x0, y0}, black, 1);
  // Y axis title, rotated.
  {
    int base = 0;
    const std::string t = "score (0-1)";
    const cv::Size ts = cv::getTextSize(t, font, 0.5, 1, &base);
    cv::Mat text(ts.height + base + 4, ts.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(text, t, {2, ts.height + 2}, font, 0.5, black, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(text, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int ry = std::max(0, top + plot_h / 2 - rotated.rows / 2);
    if (ry + rotated.rows <= height && rotated.cols + 4 <= left) rotated.copyTo(img(cv::Rect(4, ry, rotated.cols, rotated.rows)));
  }
  // Bars, values and rotated labels.
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const int gx = x0 + static_cast<int>(i) * group_w + (group_w - 2 * bar_w - 4) / 2;
    if (i + 1 == groups.size())
      cv::line(img, {gx - (group_w - 2 * bar_w - 4) / 2, top}, {gx - (group_w - 2 * bar_w - 4) / 2, y0}, {160, 160, 160}, 1);
    const double vals[2] = {groups[i].j, groups[i].f};
    for (int b = 0; b < 2; ++b) {
      const int bx = gx + b * (bar_w + 4);
      const int by = y_of(vals[b]);
      cv::rectangle(img, {bx, by}, {bx + bar_w, y0}, b == 0 ? j_color : f_color, cv::FILLED);
      int base = 0;
      const std::string t = std::isfinite(vals[b]) ? fixed(vals[b], 3) : "nan";
      const cv::Size ts = cv::getTextSize(t, font, value_scale, 1, &base);
      cv::putText(img, t, {bx + (bar_w - ts.width) / 2, by - 4}, font, value_scale, black, 1, cv::LINE_AA);
    }
    int base = 0;
    const cv::Size ts = cv::getTextSize(groups[i].label, font, label_scale, 1, &base);
    cv::Mat text(ts.height + base + 4, ts.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(text, groups[i].label, {2, ts.height + 2}, font, label_scale, black, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(text, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int lx = gx + bar_w + 2 - rotated.cols / 2;
    const int ly = y0 + 6;
    const int h = std::min(rotated.rows, height - ly);
    if (h > 0 && lx >= 0 && lx + rotated.cols <= width)
      rotated(cv::Rect(0, rotated.rows - h, rotated.cols, h)).copyTo(img(cv::Rect(lx, ly, rotated.cols, h)));
  }
  // Legend.
  const int lx = width - right - 170, ly = 22;
  cv::rectangle(img, {lx, ly}, {lx + 14, ly + 14}, j_color, cv::FILLED);
  cv::putText(img, "J-Mean (region)", {lx + 20, ly + 12}, font, 0.45, black, 1, cv::LINE_AA);
  cv::rectangle(img, {lx, ly + 20}, {lx + 14, ly + 34}, f_color, cv::FILLED);
  cv::putText(img, "F-Mean (boundary)", {lx + 20, ly + 32}, font, 0.45, black, 1, cv::LINE_AA);
  return img;
}

void write_chart(const std::string& path, const EvalResult& result) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", draw_chart(result), bytes)) throw Error(path + ": PNG encoding of the chart failed");
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for writing");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw Error(path + ": write failed");
}

// ---- the tool -----------------------------------------------------------------------------------------------------

std::string usage_text(const std::string& program) {
  std::ostringstream s;
  s << "Usage:\n"
    << "  " << program << " --dataset DIR --results DIR [options]      score existing results\n"
    << "  " << program << " --dataset DIR --model FILE [options]       track, then score (tracking mode)\n"
    << "  " << program << " --vot DIR --model FILE [options]           VOT2020 multistart A/R/EAO of the tracker\n"
    << "\n"
    << "DAVIS semi-supervised evaluation (J region similarity, F boundary measure), identical to the official\n"
    << "davis2017-evaluation: frames 1..N-2 of each sequence are scored, statistics per object, global numbers as\n"
    << "means over objects. The last line printed is 'J&F-Mean: <value>' (0-1 scale).\n"
    << "\n"
    << "Options:\n"
    << "  --dataset DIR        DAVIS dataset: DIR/Annotations/480p/<seq>/<frame>.png (+ DIR/JPEGImages/480p),\n"
    << "                       or DIR/Annotations/<seq>, or DIR/<seq>. 0/255 grey annotations (DAVIS-2016) are\n"
    << "                       one object; palette annotations (DAVIS-2017) hold object ids, 255 = void.\n"
    << "  --results DIR        results to score: DIR/<seq>/<frame>.png, 0/255 grey masks (255 = object 1) or\n"
    << "                       palette/grey id maps (value = object id). Every frame 1..N-2 must exist.\n"
    << "                       In tracking mode: where the predicted masks are written (optional).\n"
    << "  --sequences LIST     only these sequences: a comma-separated list (a,b,c) or a text file with one name\n"
    << "                       per line (e.g. ImageSets/2016/val.txt). Default: every sequence of the dataset.\n"
    << "  --csv FILE           write the global numbers to FILE and the per-sequence numbers to\n"
    << "                       FILE-per-sequence (e.g. res.csv and res-per-sequence.csv).\n"
    << "  --out-dir DIR        write DIR/global_results.csv, DIR/per-sequence_results.csv and DIR/per-sequence.png\n"
    << "                       (DIR is created).\n"
    << "  --chart FILE.png     bar chart of J-Mean and F-Mean per sequence (PNG).\n"
    << "  --quiet              no per-sequence progress on stderr.\n"
    << "  --model FILE         tracking mode: the OceanPlus weights (.pth or .pt); runs the tracker on every\n"
    << "                       sequence from its first annotation (one tracker per object, merged by argmax over\n"
    << "                       the probabilities above seg_thr), then scores and prints the speed. random-mss /\n"
    << "                       random-mms: random weights (timing only; the scores mean nothing).\n"
    << "  --init mask|box      tracking mode: initialise from the first-frame mask (default) or from its bounding\n"
    << "                       box through cyclic initialisation.\n"
    << "  --preset NAME|FILE   tracking mode: tracker parameters, a preset (davis2016, davis2017, vot2020) or a JSON\n"
    << "                       file. Default: davis2016 for single-object sequences, davis2017 otherwise; vot2020\n"
    << "                       with --vot.\n"
    << "  --threads N          tracking mode: CPU threads for the network (default: the model's best count).\n"
    << "  --device D           tracking mode: where the network runs: cpu (default), cuda, cuda:N or auto.\n"
    << "  --precision P        tracking mode: fp32 (default), fp16 (CUDA) or bf16.\n"
    << "  --frame-step M       tracking mode: auto (default: on a GPU), on (crop/peak/paste kernels around the\n"
    << "                       network; on the CPU their references) or off (the OpenCV path).\n"
    << "  --vot DIR            VOT2020 short-term (multistart) evaluation instead of DAVIS: DIR/list.txt names the\n"
    << "                       sequences, each DIR/<seq>/ holds color/%08d.jpg, groundtruth.txt and anchor.value.\n"
    << "                       Needs --model; prints A, R and EAO per sequence and pooled, ending with 'EAO: <v>'.\n"
    << "  -h, --help           this help.\n"
    << "\n"
    << "Exit codes: 0 success, 1 runtime error (unreadable data, missing result file, ...), 2 bad command line.\n";
  return s.str();
}

Options parse_options(int argc, const char* const* argv) {
  Options o;
  std::string threads_text;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg == "--quiet") {
      o.quiet = true;
      continue;
    }
    std::string* target = nullptr;
    if (arg == "--dataset") target = &o.dataset;
    else if (arg == "--results") target = &o.results;
    else if (arg == "--sequences") target = &o.sequences;
    else if (arg == "--csv") target = &o.csv;
    else if (arg == "--out-dir") target = &o.out_dir;
    else if (arg == "--chart") target = &o.chart;
    else if (arg == "--model") target = &o.model;
    else if (arg == "--init") target = &o.init;
    else if (arg == "--preset") target = &o.preset;
    else if (arg == "--vot") target = &o.vot;
    else if (arg == "--threads") target = &threads_text;
    else if (arg == "--device") target = &o.device;
    else if (arg == "--precision") target = &o.precision;
    else if (arg == "--frame-step") target = &o.frame_step;
    if (target == nullptr) {
      if (arg.rfind("-", 0) == 0) throw UsageError("unknown option '" + arg + "'");
      throw UsageError("unexpected argument '" + arg + "'");
    }
    if (!has_inline) {
      if (i + 1 >= argc) throw UsageError("option " + arg + " needs a value");
      value = argv[++i];
    }
    if (value.empty()) throw UsageError("option " + arg + " needs a non-empty value");
    *target = value;
  }
  if (o.help) return o;
  if (!threads_text.empty()) {
    char* end = nullptr;
    const long n = std::strtol(threads_text.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 1024) throw UsageError("--threads needs a whole number from 1 to 1024, not '" + threads_text + "'");
    o.threads = static_cast<int>(n);
  }
  if (!o.vot.empty()) {
    if (o.model.empty()) throw UsageError("--vot DIR needs --model FILE (the tracker to evaluate)");
    if (!o.dataset.empty()) throw UsageError("--vot and --dataset cannot be combined");
    return o;
  }
  if (o.dataset.empty()) throw UsageError("--dataset DIR is required");
  if (o.model.empty() && o.results.empty()) throw UsageError("--results DIR is required (or --model FILE for tracking mode)");
  if (o.init != "mask" && o.init != "box") throw UsageError("--init must be 'mask' or 'box', not '" + o.init + "'");
  if (o.frame_step != "auto" && o.frame_step != "on" && o.frame_step != "off") {
    throw UsageError("--frame-step must be 'auto', 'on' or 'off', not '" + o.frame_step + "'");
  }
  return o;
}

void write_outputs(const Options& options, const EvalResult& result, std::ostream& err) {
  if (!options.csv.empty()) {
    write_global_csv(options.csv, result);
    write_per_sequence_csv(per_sequence_csv_path(options.csv), result);
  }
  if (!options.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    if (ec) throw Error("--out-dir " + options.out_dir + ": cannot create directory (" + ec.message() + ")");
    write_global_csv((fs::path(options.out_dir) / "global_results.csv").string(), result);
    write_per_sequence_csv((fs::path(options.out_dir) / "per-sequence_results.csv").string(), result);
    write_chart((fs::path(options.out_dir) / "per-sequence.png").string(), result);
  }
  if (!options.chart.empty()) write_chart(options.chart, result);
  (void)err;
}

int run_score_mode(const Options& options, std::ostream& out, std::ostream& err) {
  const Dataset dataset = Dataset::open(options.dataset);
  const std::vector<std::string> names = dataset.select(options.sequences);
  std::size_t done = 0;
  auto progress = [&](const SequenceResult& s) {
    ++done;
    if (options.quiet) return;
    err << "[" << done << "/" << names.size() << "] " << s.name;
    for (const auto& o : s.objects)
      err << "  " << (s.objects.size() == 1 ? std::string() : "object " + std::to_string(o.object_id) + " ")
          << "J&F " << fixed(o.jf(), 3);
    if (s.objects.empty()) err << "  (no objects in the first annotation: skipped)";
    err << "\n";
  };
  const EvalResult result = evaluate_results(dataset, names, options.results, progress);
  if (object_count(result) == 0) throw Error("no objects to score in the selected sequences");
  write_outputs(options, result, err);
  print_report(out, result);
  return 0;
}

}  // namespace oceanplus::eval
