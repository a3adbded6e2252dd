// Times each CUDA kernel against its CPU reference on the tracker's per-frame workloads and prints a table: the
// median of --runs timed runs after --warmup untimed ones. GPU times are the kernel alone (CUDA events on one stream,
// inputs already on the device). Without a CUDA device, or with --cpu-only, only the CPU references run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "reference/oceanplus_kernels_ref.h"
#ifdef OCEANPLUS_HAVE_CUDA_KERNELS
#include <cuda_runtime_api.h>

#include "oceanplus_kernels.h"
#endif

namespace {

struct Options {
  int runs = 50;
  int warmup = 5;
  bool cpu_only = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median milliseconds of `run` on the CPU; fails loudly when the reference reports an error.
double time_cpu(const Options& o, const std::function<int()>& run) {
  std::vector<double> ms;
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (run() != OCEANPLUS_OK) {
      std::fprintf(stderr, "a CPU reference returned an error\n");
      std::exit(1);
    }
    const auto t1 = std::chrono::steady_clock::now();
    if (i >= o.warmup) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return median(ms);
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

#ifdef OCEANPLUS_HAVE_CUDA_KERNELS
bool check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return true;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
  std::exit(1);
}

template <typename T>
T* to_device(const T* host, size_t count) {
  void* p = nullptr;
  check(cudaMalloc(&p, std::max<size_t>(1, count) * sizeof(T)), "cudaMalloc");
  if (host) check(cudaMemcpy(p, host, count * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
  return static_cast<T*>(p);
}

double time_gpu(const Options& o, cudaStream_t stream, const std::function<cudaError_t()>& launch) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> ms;
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    check(launch(), "kernel launch");
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float elapsed = 0;
    check(cudaEventElapsedTime(&elapsed, start, stop), "cudaEventElapsedTime");
    if (i >= o.warmup) ms.push_back(elapsed);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return median(ms);
}
#endif

struct Row {
  std::string kernel, workload;
  double cpu_ms = 0, gpu_ms = -1;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      o.runs = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--warmup") && i + 1 < argc) {
      o.warmup = std::max(0, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--cpu-only")) {
      o.cpu_only = true;
    } else {
      std::printf("usage: %s [--runs N (50)] [--warmup N (5)] [--cpu-only]\n", argv[0]);
      return std::strcmp(argv[i], "--help") ? 2 : 0;
    }
  }

  bool gpu = false;
#ifdef OCEANPLUS_HAVE_CUDA_KERNELS
  cudaStream_t stream = nullptr;
  if (!o.cpu_only) {
    int devices = 0;
    const cudaError_t status = cudaGetDeviceCount(&devices);
    gpu = status == cudaSuccess && devices > 0;
    if (gpu) {
      cudaDeviceProp prop{};
      cudaGetDeviceProperties(&prop, 0);
      std::printf("GPU: %s\n", prop.name);
      check(cudaStreamCreate(&stream), "cudaStreamCreate");
    } else {
      std::printf("no CUDA device (%s): CPU references only\n",
                  status != cudaSuccess ? cudaGetErrorName(status) : "none found");
    }
  }
#else
  std::printf("built without CUDA: CPU references only\n");
#endif
  std::printf("median of %d runs after %d warm-up runs\n\n", o.runs, o.warmup);

  std::mt19937 rng(2026);
  std::vector<Row> rows;

  // 1. Search crop from a 1280×720 frame: a 500-pixel window to 255², BGR and NV12.
  const int width = 1280, height = 720;
  std::vector<uint8_t> bgr(static_cast<size_t>(width) * height * 3), nv12(static_cast<size_t>(width) * height * 3 / 2);
  for (auto& b : bgr) b = static_cast<uint8_t>(rng());
  for (auto& b : nv12) b = static_cast<uint8_t>(rng());
  oceanplus_image bgr_image{OCEANPLUS_PIXEL_BGR, width, height, {bgr.data()}, {3 * width}};
  oceanplus_image nv12_image{OCEANPLUS_PIXEL_NV12, width, height,
                             {nv12.data(), nv12.data() + static_cast<size_t>(width) * height}, {width, width}};
  oceanplus_crop_params crop{640.3, 360.7, 500, 255, OCEANPLUS_ROUND_HALF_EVEN, {104.1, 117.6, 123.9}};
  std::vector<float> crop_out(3 * 255 * 255);
  rows.push_back({"crop_resize", "BGR 1280x720, window 500 -> 255",
                  time_cpu(o, [&] { return oceanplus_crop_resize_ref(&bgr_image, &crop, crop_out.data()); })});
  rows.push_back({"crop_resize", "NV12 1280x720, window 500 -> 255",
                  time_cpu(o, [&] { return oceanplus_crop_resize_ref(&nv12_image, &crop, crop_out.data()); })});

  // 2. Paste-back of a 255² probability over a 500-pixel window in the same frame.
  const std::vector<float> prob = random_floats(rng, 255 * 255, 0, 1);
  const oceanplus_paste_params paste{390, 110, 500, width, height, 0.84f};
  std::vector<uint8_t> mask(500 * 500);
  oceanplus_roi roi{};
  rows.push_back({"paste_mask", "255² -> 500² ROI, threshold 0.84", time_cpu(o, [&] {
                    return oceanplus_paste_mask_ref(prob.data(), 255, &paste, mask.data(), 500, 500 * 500, &roi);
                  })});

  // 3. ARN: 31² queries, 15² table, 64 channels (OceanPlus), channel-major as the conv outputs are.
  const oceanplus_arn_params arn{961, 225, 64, 1, 961, 1, 225, 0.125f};
  const std::vector<float> query = random_floats(rng, 961 * 64, -2, 2), key = random_floats(rng, 225 * 64, -2, 2),
                           values = random_floats(rng, 225, 0, 1);
  std::vector<float> arn_out(961);
  rows.push_back({"arn_retrieve", "961 queries x 225 keys x 64 ch", time_cpu(o, [&] {
                    return oceanplus_arn_retrieve_ref(query.data(), key.data(), values.data(), &arn, arn_out.data());
                  })});

  // 4. Depthwise correlation of the box/score heads: 256 × 31² search, 256 × 7² kernel.
  const oceanplus_xcorr_params xcorr{1, 1, 256, 31, 31, 7, 7, 0};
  const std::vector<float> search = random_floats(rng, 256 * 31 * 31, -1, 1), kernel = random_floats(rng, 256 * 49, -1, 1);
  std::vector<float> xcorr_out(256 * 25 * 25);
  rows.push_back({"xcorr_depthwise", "256 ch, 31² * 7² -> 25²", time_cpu(o, [&] {
                    return oceanplus_xcorr_depthwise_ref(search.data(), kernel.data(), &xcorr, xcorr_out.data());
                  })});

  // 5. Score post-processing on a 25² map.
  const oceanplus_peak_params peak_params{25, OCEANPLUS_ACTIVATION_SIGMOID, 8, 255, 60.f, 45.f, 0.06f, 0.4f};
  const std::vector<float> logits = random_floats(rng, 625, -6, 6), ltrb = random_floats(rng, 4 * 625, 2, 90),
                           window = random_floats(rng, 625, 0, 1);
  oceanplus_peak peak{};
  rows.push_back({"score_peak", "25², sigmoid", time_cpu(o, [&] {
                    return oceanplus_score_peak_ref(logits.data(), ltrb.data(), window.data(), &peak_params, &peak);
                  })});

#ifdef OCEANPLUS_HAVE_CUDA_KERNELS
  if (gpu) {
    oceanplus_image d_bgr = bgr_image, d_nv12 = nv12_image;
    d_bgr.planes[0] = to_device(bgr.data(), bgr.size());
    uint8_t* nv12_device = to_device(nv12.data(), nv12.size());
    d_nv12.planes[0] = nv12_device;
    d_nv12.planes[1] = nv12_device + static_cast<size_t>(width) * height;
    float* d_crop = to_device<float>(nullptr, crop_out.size());
    rows[0].gpu_ms = time_gpu(o, stream, [&] { return oceanplus_crop_resize_cuda(&d_bgr, &crop, d_crop, stream); });
    rows[1].gpu_ms = time_gpu(o, stream, [&] { return oceanplus_crop_resize_cuda(&d_nv12, &crop, d_crop, stream); });
    float* d_prob = to_device(prob.data(), prob.size());
    uint8_t* d_mask = to_device<uint8_t>(nullptr, mask.size());
    rows[2].gpu_ms = time_gpu(o, stream, [&] {
      return oceanplus_paste_mask_cuda(d_prob, 255, &paste, d_mask, 500, 500 * 500, &roi, stream);
    });
    float *d_q = to_device(query.data(), query.size()), *d_k = to_device(key.data(), key.size()),
          *d_v = to_device(values.data(), values.size()), *d_arn = to_device<float>(nullptr, arn_out.size());
    rows[3].gpu_ms = time_gpu(o, stream, [&] { return oceanplus_arn_retrieve_cuda(d_q, d_k, d_v, &arn, d_arn, stream); });
    float *d_s = to_device(search.data(), search.size()), *d_w = to_device(kernel.data(), kernel.size()),
          *d_x = to_device<float>(nullptr, xcorr_out.size());
    rows[4].gpu_ms = time_gpu(o, stream, [&] { return oceanplus_xcorr_depthwise_cuda(d_s, d_w, &xcorr, d_x, stream); });
    float *d_l = to_device(logits.data(), logits.size()), *d_b = to_device(ltrb.data(), ltrb.size()),
          *d_win = to_device(window.data(), window.size());
    oceanplus_peak* d_peak = to_device<oceanplus_peak>(nullptr, 1);
    rows[5].gpu_ms = time_gpu(o, stream, [&] {
      return oceanplus_score_peak_cuda(d_l, d_b, d_win, &peak_params, d_peak, stream);
    });
    // Freed at exit: the process ends here.
  }
#endif

  std::printf("| kernel | workload | CPU reference (ms) | GPU kernel (ms) | speed-up |\n|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    if (r.gpu_ms >= 0) {
      std::printf("| %s | %s | %.3f | %.4f | %.0fx |\n", r.kernel.c_str(), r.workload.c_str(), r.cpu_ms, r.gpu_ms,
                  r.cpu_ms / r.gpu_ms);
    } else {
      std::printf("| %s | %s | %.3f | - | - |\n", r.kernel.c_str(), r.workload.c_str(), r.cpu_ms);
    }
  }
  return 0;
}
