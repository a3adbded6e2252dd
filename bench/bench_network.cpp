// Times the OceanPlus networks on the CPU (or whatever device LibTorch runs on): the template pass (once per target)
// and the per-frame pass, for MSS and MMS at search sizes 255 and 287. Median of many runs after warm-up.
//
//   oceanplus-bench-network [--threads N] [--runs N] [--warmup N] [--decoders mss,mms] [--sizes 255,287]
//                           [--weights FILE] [--compare-unfolded]
//
// Without --weights the network gets random weights of the right shapes (speed does not depend on the values).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "nn/oceanplus_net.h"

namespace {

using oceanplus::nn::MaskDecoder;
using oceanplus::nn::OceanPlusNet;

struct Options {
  int threads = 2;
  int runs = 30;
  int warmup = 5;
  std::vector<MaskDecoder> decoders = {MaskDecoder::MSS, MaskDecoder::MMS};
  std::vector<int> sizes = {255, 287};
  std::string weights;
  bool compare_unfolded = false;
};

struct Stats {
  double median = 0, p90 = 0, min = 0;
};

Stats time_ms(int warmup, int runs, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 9 / 10)], ms.front()};
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "oceanplus-bench-network: %s\n(see the header of bench/bench_network.cpp for the options)\n",
               message.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage_error(std::string("missing value after ") + argv[i]);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads") o.threads = std::stoi(value(i));
    else if (a == "--runs") o.runs = std::max(1, std::stoi(value(i)));
    else if (a == "--warmup") o.warmup = std::stoi(value(i));
    else if (a == "--weights") o.weights = value(i);
    else if (a == "--compare-unfolded") o.compare_unfolded = true;
    else if (a == "--decoders" || a == "--sizes") {
      std::stringstream list(value(i));
      std::string item;
      if (a == "--decoders") o.decoders.clear(); else o.sizes.clear();
      while (std::getline(list, item, ',')) {
        if (a == "--sizes") o.sizes.push_back(std::stoi(item));
        else if (item == "mss") o.decoders.push_back(MaskDecoder::MSS);
        else if (item == "mms") o.decoders.push_back(MaskDecoder::MMS);
        else usage_error("unknown decoder '" + item + "' (mss or mms)");
      }
    } else if (a == "--help" || a == "-h") {
      std::puts("oceanplus-bench-network [--threads N] [--runs N] [--warmup N] [--decoders mss,mms] "
                "[--sizes 255,287] [--weights FILE] [--compare-unfolded]");
      std::exit(0);
    } else {
      usage_error("unknown option '" + a + "'");
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  at::set_num_threads(o.threads);
  at::NoGradGuard no_grad;
  std::printf("threads %d, runs %d (+%d warm-up), %s\n", at::get_num_threads(), o.runs, o.warmup,
              o.weights.empty() ? "random weights" : o.weights.c_str());
  std::printf("%-4s %-9s %5s %12s %15s %15s %10s   %s\n", "dec", "batchnorm", "size", "template ms",
              "frame ms (med)", "frame ms (p90)", "frame fps", "median ms per stage: backbone neck head mask");
  try {
    for (MaskDecoder decoder : o.decoders) {
      const oceanplus::io::StateDict weights =
          o.weights.empty() ? OceanPlusNet::synthetic_weights(decoder) : oceanplus::io::load_state_dict(o.weights);
      std::vector<bool> folds = {true};
      if (o.compare_unfolded) folds.push_back(false);
      for (bool fold : folds) {
        oceanplus::nn::LoadOptions load;
        load.fold_batchnorm = fold;
        auto net = OceanPlusNet::load(weights, load);
        if (net->decoder() != decoder) continue;  // a --weights file decides its own decoder
        const at::Tensor z = at::rand({1, 3, 127, 127}) * 255;
        const at::Tensor mask = (at::rand({1, 127, 127}) > 0.5).to(at::kFloat);
        oceanplus::nn::TemplateState state;
        const Stats t = time_ms(o.warmup, o.runs, [&] { state = net->make_template(z, mask); });
        for (int size : o.sizes) {
          const at::Tensor x = at::rand({1, 3, size, size}) * 255;
          std::vector<std::array<double, 4>> stages;
          const Stats f = time_ms(o.warmup, o.runs, [&] {
            oceanplus::nn::SearchTrace trace;
            net->track(state, x, &trace);
            stages.push_back({trace.backbone_ms, trace.neck_ms, trace.head_ms, trace.mask_ms});
          });
          std::array<double, 4> stage_median{};
          for (int k = 0; k < 4; ++k) {
            std::vector<double> v;
            for (size_t i = o.warmup; i < stages.size(); ++i) v.push_back(stages[i][k]);
            std::sort(v.begin(), v.end());
            stage_median[k] = v[v.size() / 2];
          }
          std::printf("%-4s %-9s %5d %12.1f %15.1f %15.1f %10.1f   %.1f %.1f %.1f %.1f\n",
                      oceanplus::nn::mask_decoder_name(decoder), fold ? "folded" : "separate", size, t.median,
                      f.median, f.p90, 1000.0 / f.median, stage_median[0], stage_median[1], stage_median[2],
                      stage_median[3]);
          std::fflush(stdout);
        }
      }
    }
  } catch (const oceanplus::Error& e) {
    std::fprintf(stderr, "oceanplus-bench-network: %s\n", e.what());
    return 1;
  }
  std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
  return 0;
}
