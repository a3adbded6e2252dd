// Times the OceanPlus networks on the CPU (or whatever device LibTorch runs on): the template pass (once per target)
// and the per-frame pass, for MSS and MMS at search sizes 255 and 287. Median of many runs after warm-up.
//
//   oceanplus-bench-network [--threads N] [--runs N] [--warmup N] [--decoders mss,mms] [--sizes 255,287]
//                           [--weights FILE] [--compare-reference] [--device cpu|cuda|cuda:N] [--precision fp16|bf16]
//
// --precision also times that reduced precision (channels-last; fp16 needs a GPU), interleaved with float32.
// On a GPU each timed pass ends by waiting for its outputs, and the per-stage times wait for each stage's output.
//
// Without --weights the network gets random weights of the right shapes (speed does not depend on the values).
// --compare-reference also times the reference implementation's op sequence (LoadOptions::reference(): at::conv2d,
// BatchNorm as its own op, template side and ARN keys recomputed per frame, bmm attention), interleaved run by run
// with the fast path, and prints the ratio.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/openmp_env.h"
#include "nn/oceanplus_net.h"
#include "track/model_factory.h"

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
  bool compare_reference = false;
  std::string device = "cpu";
  std::string precision;  // a reduced precision (fp16, bf16) timed interleaved with float32
};

struct Stats {
  double median = 0, p90 = 0, min = 0;
};

double current_rss_mib() {
  long pages_total = 0, pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return pages_resident * 4096.0 / (1024 * 1024);
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
    else if (a == "--compare-reference") o.compare_reference = true;
    else if (a == "--device") o.device = value(i);
    else if (a == "--precision") o.precision = value(i);
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
                "[--sizes 255,287] [--weights FILE] [--compare-reference] [--device D]\n"
                "                        [--precision fp16|bf16]");
      std::exit(0);
    } else {
      usage_error("unknown option '" + a + "'");
    }
  }
  return o;
}

struct Row {
  Stats template_ms, frame_ms;
  std::array<double, 4> stage_median{};  // backbone, neck, head, mask
};

// Times `nets` (same decoder, different load options) on one search size, alternating between them run by run so
// that the machine's drift hits all of them alike.
std::vector<Row> time_interleaved(const std::vector<std::shared_ptr<OceanPlusNet>>& nets, int size, const Options& o) {
  const at::Device device(o.device);
  const at::Tensor z = (at::rand({1, 3, 127, 127}) * 255).to(device);
  const at::Tensor mask = (at::rand({1, 127, 127}) > 0.5).to(at::kFloat).to(device);
  const at::Tensor x = (at::rand({1, 3, size, size}) * 255).to(device);
  // On a GPU the clock is read once the outputs exist, not when the work is queued.
  auto wait_for = [](const at::Tensor& t) {
    if (!t.is_cpu()) t.flatten()[0].item<float>();
  };
  std::vector<oceanplus::nn::TemplateState> states(nets.size());
  std::vector<std::vector<double>> template_ms(nets.size()), frame_ms(nets.size());
  std::vector<std::vector<std::array<double, 4>>> stages(nets.size());
  for (int run = 0; run < o.warmup + o.runs; ++run) {
    for (size_t k = 0; k < nets.size(); ++k) {
      auto start = std::chrono::steady_clock::now();
      states[k] = nets[k]->make_template(z, mask);
      wait_for(states[k].zf);
      const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      oceanplus::nn::SearchTrace trace;
      start = std::chrono::steady_clock::now();
      const oceanplus::nn::SearchOutput output = nets[k]->track(states[k], x, &trace);
      wait_for(output.mask_logits);
      const double f = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (run < o.warmup) continue;
      template_ms[k].push_back(t);
      frame_ms[k].push_back(f);
      stages[k].push_back({trace.backbone_ms, trace.neck_ms, trace.head_ms, trace.mask_ms});
    }
  }
  auto stats = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return Stats{v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 9 / 10)], v.front()};
  };
  std::vector<Row> rows(nets.size());
  for (size_t k = 0; k < nets.size(); ++k) {
    rows[k].template_ms = stats(template_ms[k]);
    rows[k].frame_ms = stats(frame_ms[k]);
    for (int s = 0; s < 4; ++s) {
      std::vector<double> v;
      for (const auto& st : stages[k]) v.push_back(st[s]);
      rows[k].stage_median[s] = stats(v).median;
    }
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  oceanplus::prefer_passive_openmp_wait(argv);
  Options o = parse(argc, argv);
  try {
    o.device = oceanplus::track::resolve_device(o.device);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oceanplus-bench-network: %s\n", e.what());
    return 1;
  }
  at::set_num_threads(o.threads);
  at::NoGradGuard no_grad;
  std::printf("device %s, threads %d, runs %d (+%d warm-up) per row, %s%s\n", o.device.c_str(), at::get_num_threads(),
              o.runs, o.warmup,
              o.weights.empty() ? "random weights" : o.weights.c_str(),
              o.compare_reference ? ", reference op sequence interleaved run by run" : "");
  std::printf("%-4s %-9s %5s %12s %15s %15s %10s   %s\n", "dec", "path", "size", "template ms", "frame ms (med)",
              "frame ms (p90)", "frame fps", "median ms per stage: backbone neck head mask");
  try {
    for (MaskDecoder decoder : o.decoders) {
      const oceanplus::io::StateDict weights =
          o.weights.empty() ? OceanPlusNet::synthetic_weights(decoder) : oceanplus::io::load_state_dict(o.weights);
      const double rss_before = current_rss_mib();
      oceanplus::nn::LoadOptions options;
      options.device = at::Device(o.device);
      std::vector<std::shared_ptr<OceanPlusNet>> nets = {OceanPlusNet::load(weights, options)};
      std::printf("%-4s memory: weights file %.0f MiB; the network adds %.0f MiB at load\n",
                  oceanplus::nn::mask_decoder_name(decoder), rss_before, current_rss_mib() - rss_before);
      std::vector<const char*> names = {"fast"};
      if (nets[0]->decoder() != decoder) continue;  // a --weights file decides its own decoder
      if (o.compare_reference) {
        oceanplus::nn::LoadOptions reference = oceanplus::nn::LoadOptions::reference();
        reference.device = options.device;
        nets.push_back(OceanPlusNet::load(weights, reference));
        names.push_back("reference");
      }
      if (!o.precision.empty() && o.precision != "fp32") {
        oceanplus::nn::LoadOptions reduced = options;
        try {
          oceanplus::nn::set_precision(reduced, o.precision);
        } catch (const std::exception& e) {
          usage_error(std::string("--precision: ") + e.what());
        }
        nets.push_back(OceanPlusNet::load(weights, reduced));
        names.push_back(o.precision.c_str());
      }
      for (int size : o.sizes) {
        const std::vector<Row> rows = time_interleaved(nets, size, o);
        for (size_t k = 0; k < rows.size(); ++k) {
          const Row& r = rows[k];
          std::printf("%-4s %-9s %5d %12.1f %15.1f %15.1f %10.1f   %.1f %.1f %.1f %.1f\n",
                      oceanplus::nn::mask_decoder_name(decoder), names[k], size, r.template_ms.median,
                      r.frame_ms.median, r.frame_ms.p90, 1000.0 / r.frame_ms.median, r.stage_median[0],
                      r.stage_median[1], r.stage_median[2], r.stage_median[3]);
        }
        std::printf("%-4s %-9s %5d   resident memory now %.0f MiB (packed weights and buffers for the sizes run so far)\n",
                    oceanplus::nn::mask_decoder_name(decoder), "", size, current_rss_mib());
        if (rows.size() == 2 && o.compare_reference) {
          std::printf("%-4s %-9s %5d   speed-up of the fast path: template %.2fx, frame %.2fx\n",
                      oceanplus::nn::mask_decoder_name(decoder), "", size,
                      rows[1].template_ms.median / rows[0].template_ms.median,
                      rows[1].frame_ms.median / rows[0].frame_ms.median);
        }
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oceanplus-bench-network: %s\n", e.what());
    return 1;
  }
  std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
  return 0;
}
