#include "vot/multistart.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace oceanplus::vot {

Anchors find_anchors(const std::vector<double>& anchor_values) {
  Anchors a;
  for (std::size_t i = 0; i < anchor_values.size(); ++i) {
    if (anchor_values[i] > 0) a.forward.push_back(static_cast<int>(i));
    if (anchor_values[i] < 0) a.backward.push_back(static_cast<int>(i));
  }
  return a;
}

RunOverlaps make_run(const std::vector<Region>& trajectory, const std::vector<Region>& groundtruth,
                     cv::Size image_size, EmptyOverlap empty) {
  RunOverlaps run;
  run.overlaps = calculate_overlaps(trajectory, groundtruth, image_size, empty);
  run.gt_empty.resize(groundtruth.size());
  for (std::size_t i = 0; i < groundtruth.size(); ++i) run.gt_empty[i] = is_empty(groundtruth[i]);
  return run;
}

int find_failure(const RunOverlaps& run, int grace, double threshold) {
  const auto& o = run.overlaps;
  if (!run.gt_empty.empty() && run.gt_empty.size() != o.size()) {
    throw Error("find_failure: " + std::to_string(o.size()) + " overlaps but " + std::to_string(run.gt_empty.size()) +
                " GT-empty flags");
  }
  if (grace < 1) throw Error("find_failure: grace must be >= 1, got " + std::to_string(grace));
  int g = grace;
  for (std::size_t t = 0; t < o.size(); ++t) {
    const bool gt_empty = !run.gt_empty.empty() && run.gt_empty[t];
    if (o[t] <= threshold && !gt_empty) {
      if (--g == 0) return static_cast<int>(t) + 1 - grace;
    } else {
      g = grace;
    }
  }
  return static_cast<int>(o.size());
}

EaoPartial compute_eao_partial(const std::vector<std::vector<double>>& overlaps, const std::vector<bool>& success,
                               int curve_length) {
  if (overlaps.size() != success.size()) throw Error("compute_eao_partial: overlaps and success sizes differ");
  if (curve_length < 1) throw Error("compute_eao_partial: curve length must be >= 1");
  EaoPartial e;
  e.phi.assign(curve_length, 0.0);
  e.active.assign(curve_length, 0.0);
  std::vector<double> cs;  // cs[j] = sum of o[1..j]
  for (std::size_t r = 0; r < overlaps.size(); ++r) {
    const auto& o = overlaps[r];
    const int len = static_cast<int>(o.size());
    cs.assign(std::max(len, 1), 0.0);
    for (int j = 1; j < len; ++j) cs[j] = cs[j - 1] + o[j];
    const double tail = len >= 1 ? cs[len - 1] : 0.0;  // sum(o[1:len])
    for (int j = 1; j < curve_length; ++j) {
      if (j < len) {
        e.phi[j] += cs[j] / j;
        e.active[j] += 1;
      } else if (!success[r]) {
        // The toolkit divides by j - 1 (its quirk). A failed run is never shorter than the grace period, so j - 1 > 0
        // in practice; guard the degenerate case instead of producing NaN.
        e.phi[j] += j > 1 ? tail / (j - 1) : 0.0;
        e.active[j] += 1;
      }
    }
  }
  for (int j = 0; j < curve_length; ++j) e.phi[j] = e.active[j] > 0 ? e.phi[j] / e.active[j] : 0.0;
  return e;
}

namespace {

void check_params(const AnalysisParams& p) {
  if (p.grace < 1) throw Error("analysis: grace must be >= 1");
  if (p.high < 1 || p.low < 0 || p.low >= p.high) {
    throw Error("analysis: need 0 <= low < high, got low=" + std::to_string(p.low) + " high=" + std::to_string(p.high));
  }
}

}  // namespace

SequenceResult analyze_sequence(const SequenceRuns& seq, const AnalysisParams& params) {
  check_params(params);
  SequenceResult res;
  res.name = seq.name;
  res.length = seq.length;
  std::vector<std::vector<double>> truncated;
  std::vector<bool> success;
  truncated.reserve(seq.runs.size());
  for (const auto& run : seq.runs) {
    const int p = find_failure(run, params.grace, params.threshold);
    const int len = static_cast<int>(run.overlaps.size());
    res.failures.push_back(p);
    res.progress_sum += p;
    res.run_length_sum += len;
    for (int t = 0; t < p; ++t) res.overlap_sum += run.overlaps[t];
    std::vector<double> o = run.overlaps;
    std::fill(o.begin() + p, o.end(), 0.0);
    truncated.push_back(std::move(o));
    success.push_back(p >= len);
  }
  res.accuracy = res.progress_sum > 0 ? res.overlap_sum / double(res.progress_sum) : 0.0;
  res.robustness = res.run_length_sum > 0 ? double(res.progress_sum) / double(res.run_length_sum) : 0.0;
  res.eao = compute_eao_partial(truncated, success, params.high);
  return res;
}

Results aggregate(std::vector<SequenceResult> sequences, const AnalysisParams& params) {
  check_params(params);
  Results out;
  out.sequences = std::move(sequences);
  double a_num = 0, a_den = 0, r_num = 0, r_den = 0;
  std::vector<double> curve(params.high, 0.0), weight(params.high, 0.0);
  for (const auto& s : out.sequences) {
    a_num += s.accuracy * double(s.progress_sum);
    a_den += double(s.progress_sum);
    r_num += s.robustness * s.length;
    r_den += s.length;
    if (static_cast<int>(s.eao.phi.size()) != params.high || s.eao.active.size() != s.eao.phi.size()) {
      throw Error("aggregate: sequence '" + s.name + "' has an EAO curve of length " +
                  std::to_string(s.eao.phi.size()) + ", expected " + std::to_string(params.high));
    }
    for (int j = 0; j < params.high; ++j) {
      curve[j] += s.eao.phi[j] * s.eao.active[j];
      weight[j] += s.eao.active[j];
    }
  }
  out.accuracy = a_den > 0 ? a_num / a_den : 0.0;
  out.robustness = r_den > 0 ? r_num / r_den : 0.0;
  out.eao_curve.resize(params.high);
  for (int j = 0; j < params.high; ++j) out.eao_curve[j] = weight[j] > 0 ? curve[j] / weight[j] : 0.0;
  double sum = 0;
  for (int j = params.low; j < params.high; ++j) sum += out.eao_curve[j];
  out.eao = sum / (params.high - params.low);
  return out;
}

Results analyze(const std::vector<SequenceRuns>& sequences, const AnalysisParams& params) {
  std::vector<SequenceResult> per;
  per.reserve(sequences.size());
  for (const auto& s : sequences) per.push_back(analyze_sequence(s, params));
  return aggregate(std::move(per), params);
}

// ---- Runner -------------------------------------------------------------------------------------------------------

std::string AnchorRun::name(const std::string& sequence) const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "_%08d", anchor);
  return sequence + buf;
}

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

cv::Mat load_frame(const SequenceInput& seq, int index) {
  cv::Mat f = seq.frame(index);
  if (f.empty()) throw Error("sequence '" + seq.name + "': frame " + std::to_string(index) + " is empty");
  return f;
}

Region output_region(const cv::Mat& out, const cv::Mat& frame, const std::string& name, int index) {
  if (out.empty()) return Region::from_full_mask(cv::Mat(0, 0, CV_8U));
  if (out.size() != frame.size() || out.channels() != 1) {
    throw Error("sequence '" + name + "', frame " + std::to_string(index) + ": the tracker returned a " +
                std::to_string(out.cols) + "x" + std::to_string(out.rows) + "x" + std::to_string(out.channels()) +
                " mask for a " + std::to_string(frame.cols) + "x" + std::to_string(frame.rows) + " frame");
  }
  return Region::from_full_mask(out);
}

}  // namespace

std::vector<AnchorRun> run_multistart(const SequenceInput& seq, VotTracker& tracker, const RunnerOptions& options) {
  const int n = seq.length;
  if (n <= 0) throw Error("sequence '" + seq.name + "' has no frames");
  if (static_cast<int>(seq.groundtruth.size()) != n) {
    throw Error("sequence '" + seq.name + "': " + std::to_string(seq.groundtruth.size()) + " GT regions for " +
                std::to_string(n) + " frames");
  }
  if (static_cast<int>(seq.anchor.size()) != n) {
    throw Error("sequence '" + seq.name + "': " + std::to_string(seq.anchor.size()) + " anchor values for " +
                std::to_string(n) + " frames");
  }
  if (!seq.frame) throw Error("sequence '" + seq.name + "': no frame source");
  if (options.realtime && !(options.fps > 0)) throw Error("realtime: fps must be > 0");
  const Anchors anchors = find_anchors(seq.anchor);
  if (anchors.forward.empty() && anchors.backward.empty()) {
    throw Error("sequence '" + seq.name + "' does not contain any anchors");
  }
  const std::function<double()> clock = options.clock ? options.clock : steady_seconds;
  const double interval = options.realtime ? 1.0 / options.fps : 0.0;

  std::vector<std::pair<int, bool>> plan;
  if (options.run_forward) for (int a : anchors.forward) plan.emplace_back(a, false);
  if (options.run_backward) for (int a : anchors.backward) plan.emplace_back(a, true);

  std::vector<AnchorRun> runs;
  for (const auto& [anchor, reverse] : plan) {
    AnchorRun run;
    run.anchor = anchor;
    run.reverse = reverse;
    if (reverse) {
      for (int f = anchor; f >= 0; --f) run.frames.push_back(f);
    } else {
      for (int f = anchor; f < n; ++f) run.frames.push_back(f);
    }

    int countdown = options.realtime_grace;
    double debt = 0;
    // Realtime bookkeeping after one tracker call of `dt` seconds (RealtimeTrackerRuntime).
    auto account = [&](double dt) {
      if (countdown > 0) {
        --countdown;
        debt = 0;
      } else {
        debt = std::max(0.0, dt - interval);
      }
    };

    const cv::Mat first = load_frame(seq, anchor);
    const cv::Size size = first.size();
    const cv::Mat init_mask = to_full_mask(seq.groundtruth[anchor], size);
    double t0 = clock();
    tracker.initialize(first, init_mask);
    double dt = clock() - t0;
    run.trajectory.push_back(Region::special(kSpecialInitialization));
    run.times.push_back(dt);
    run.held.push_back(false);
    if (options.realtime) account(dt);
    Region last = Region::from_full_mask(init_mask);  // what a hold right after the initialization repeats

    for (std::size_t k = 1; k < run.frames.size(); ++k) {
      const int f = run.frames[k];
      if (options.realtime) {
        if (debt > interval) {
          debt -= interval;
          run.trajectory.push_back(last);
          run.times.push_back(0.0);
          run.held.push_back(true);
          continue;
        }
        debt = 0;
      }
      const cv::Mat img = load_frame(seq, f);
      if (img.size() != size) {
        throw Error("sequence '" + seq.name + "': frame " + std::to_string(f) + " has a different size");
      }
      t0 = clock();
      const cv::Mat out = tracker.track(img);
      dt = clock() - t0;
      last = output_region(out, img, seq.name, f);
      run.trajectory.push_back(last);
      run.times.push_back(dt);
      run.held.push_back(false);
      if (options.realtime) account(dt);
    }

    std::vector<Region> gt;
    gt.reserve(run.frames.size());
    for (int f : run.frames) gt.push_back(seq.groundtruth[f]);
    run.overlaps = make_run(run.trajectory, gt, size, options.empty);
    if (options.on_run) options.on_run(run);
    runs.push_back(std::move(run));
  }
  return runs;
}

SequenceRuns to_sequence_runs(const std::string& name, int length, const std::vector<AnchorRun>& runs) {
  SequenceRuns s;
  s.name = name;
  s.length = length;
  for (const auto& r : runs) s.runs.push_back(r.overlaps);
  return s;
}

}  // namespace oceanplus::vot
