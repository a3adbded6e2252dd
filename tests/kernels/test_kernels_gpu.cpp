// Each CUDA kernel against its CPU reference on random inputs (odd sizes, borders, crops outside the frame). Skips
// with "no CUDA device: ..." where there is no GPU; the argument checks run everywhere.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "detail/kernel_math.h"
#include "kernel_test_support.h"
#include "oceanplus_kernels.h"
#include "reference/oceanplus_kernels_ref.h"

namespace oceanplus::kernels::testing {
namespace {

// A device allocation that frees itself.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    void* memory = nullptr;
    if (cudaMalloc(&memory, std::max<size_t>(1, count) * sizeof(T)) == cudaSuccess) data_ = static_cast<T*>(memory);
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host.data(), host.size()); }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }
  void upload(const T* host, size_t count) {
    EXPECT_EQ(cudaMemcpy(data_, host, count * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    EXPECT_EQ(cudaMemcpy(host.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  T* data_ = nullptr;
  size_t count_;
};

class KernelsGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    int devices = 0;
    const cudaError_t status = cudaGetDeviceCount(&devices);
    if (status != cudaSuccess || devices == 0) {
      GTEST_SKIP() << "no CUDA device: "
                   << (status != cudaSuccess ? std::string(cudaGetErrorName(status)) + " (" +
                                                   cudaGetErrorString(status) + ")"
                                             : std::string("cudaGetDeviceCount found none"));
    }
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }
  void finish() { ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess); }
  cudaStream_t stream_ = nullptr;
};

// ---- Kernel 1 -------------------------------------------------------------------------------------------------------

struct HostFrame {
  oceanplus_image image{};  // host pointers
  std::vector<std::vector<uint8_t>> planes;
};

HostFrame random_frame(std::mt19937& rng, int format, int rows, int cols) {
  HostFrame f;
  f.image.format = format;
  f.image.width = cols;
  f.image.height = rows;
  const int count = format == OCEANPLUS_PIXEL_NV12 ? 2 : (format == OCEANPLUS_PIXEL_I420 ? 3 : 1);
  const int bytes = format == OCEANPLUS_PIXEL_BGR || format == OCEANPLUS_PIXEL_RGB ? 3 : 4;
  for (int i = 0; i < count; ++i) {
    const bool chroma = i > 0;
    const int row_bytes = format <= OCEANPLUS_PIXEL_BGRX ? bytes * cols
                          : chroma ? (format == OCEANPLUS_PIXEL_NV12 ? 2 : 1) * ((cols + 1) / 2)
                                   : cols;
    const int stride = row_bytes + (i + 1) * 3;  // padded rows
    const int plane_rows = chroma ? (rows + 1) / 2 : rows;
    std::vector<uint8_t> plane(static_cast<size_t>(stride) * plane_rows);
    for (auto& b : plane) b = static_cast<uint8_t>(rng());
    f.planes.push_back(std::move(plane));
    f.image.strides[i] = stride;
  }
  for (int i = 0; i < count; ++i) f.image.planes[i] = f.planes[i].data();
  return f;
}

TEST_F(KernelsGpu, CropResizeEqualsReferenceForEveryFormat) {
  std::mt19937 rng(61);
  for (int trial = 0; trial < 36; ++trial) {
    const int format = trial % 6;
    const int rows = std::uniform_int_distribution<int>(1, 203)(rng), cols = std::uniform_int_distribution<int>(1, 307)(rng);
    const HostFrame frame = random_frame(rng, format, rows, cols);
    oceanplus_crop_params p{};
    p.window_side = trial % 9 == 0 ? 3001 : std::uniform_int_distribution<int>(1, 2 * std::max(rows, cols))(rng);
    p.output_side = trial % 3 == 0 ? 255 : (trial % 3 == 1 ? 127 : std::uniform_int_distribution<int>(1, 300)(rng));
    p.center_x = std::uniform_int_distribution<int>(-2 * cols, 4 * cols)(rng) / 2.0;
    p.center_y = std::uniform_real_distribution<double>(-rows, 2 * rows)(rng);
    p.corner_rounding = trial % 2;
    p.pad_bgr[0] = 12.7, p.pad_bgr[1] = 200.2, p.pad_bgr[2] = 99.9;
    const size_t out_count = 3 * static_cast<size_t>(p.output_side) * p.output_side;
    std::vector<float> want(out_count);
    ASSERT_EQ(oceanplus_crop_resize_ref(&frame.image, &p, want.data()), OCEANPLUS_OK);

    std::vector<std::unique_ptr<DeviceBuffer<uint8_t>>> planes;
    oceanplus_image device = frame.image;
    for (size_t i = 0; i < frame.planes.size(); ++i) {
      planes.push_back(std::make_unique<DeviceBuffer<uint8_t>>(frame.planes[i]));
      device.planes[i] = planes.back()->get();
    }
    DeviceBuffer<float> out(out_count);
    ASSERT_EQ(oceanplus_crop_resize_cuda(&device, &p, out.get(), stream_), cudaSuccess);
    finish();
    const std::vector<float> got = out.download();
    size_t mismatches = 0;
    for (size_t i = 0; i < out_count; ++i) mismatches += got[i] != want[i];
    EXPECT_EQ(mismatches, 0u) << "format " << format << " frame " << cols << "x" << rows << " side " << p.window_side
                              << " -> " << p.output_side;
  }
}

// ---- Kernel 2 -------------------------------------------------------------------------------------------------------

TEST_F(KernelsGpu, PasteMaskEqualsReference) {
  std::mt19937 rng(62);
  for (int trial = 0; trial < 30; ++trial) {
    const int prob_side = trial % 2 ? 255 : std::uniform_int_distribution<int>(2, 120)(rng);
    std::vector<float> prob(static_cast<size_t>(prob_side) * prob_side);
    // Smooth-ish values around the threshold.
    for (int y = 0; y < prob_side; ++y)
      for (int x = 0; x < prob_side; ++x)
        prob[static_cast<size_t>(y) * prob_side + x] =
            0.5f + 0.5f * std::sin(0.11f * x + 0.07f * y + trial) + std::uniform_real_distribution<float>(-0.05f, 0.05f)(rng);
    oceanplus_paste_params p{};
    p.frame_width = std::uniform_int_distribution<int>(1, 400)(rng);
    p.frame_height = std::uniform_int_distribution<int>(1, 300)(rng);
    p.window_side = trial == 0 ? 6000 : std::uniform_int_distribution<int>(1, 800)(rng);
    p.window_x = std::uniform_int_distribution<int64_t>(-p.window_side, p.frame_width)(rng);
    p.window_y = std::uniform_int_distribution<int64_t>(-p.window_side, p.frame_height)(rng);
    p.threshold = trial % 2 ? 0.84f : 0.9f;
    const int pitch = p.frame_width + 5;
    const int64_t capacity = static_cast<int64_t>(pitch) * p.frame_height;
    std::vector<uint8_t> want(capacity, 7);
    oceanplus_roi want_roi{}, got_roi{};
    ASSERT_EQ(oceanplus_paste_mask_ref(prob.data(), prob_side, &p, want.data(), pitch, capacity, &want_roi), OCEANPLUS_OK);
    DeviceBuffer<float> device_prob(prob);
    DeviceBuffer<uint8_t> device_mask(want);  // same fill outside the ROI
    ASSERT_EQ(oceanplus_paste_mask_cuda(device_prob.get(), prob_side, &p, device_mask.get(), pitch, capacity, &got_roi,
                                        stream_),
              cudaSuccess);
    finish();
    EXPECT_EQ(memcmp(&want_roi, &got_roi, sizeof want_roi), 0);
    const std::vector<uint8_t> got = device_mask.download();
    size_t mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] != want[i];
    EXPECT_EQ(mismatches, 0u) << "trial " << trial;
  }
}

// ---- Kernel 3 -------------------------------------------------------------------------------------------------------

TEST_F(KernelsGpu, ArnEqualsReference) {
  std::mt19937 rng(63);
  struct Shape {
    int queries, keys, channels;
    bool channel_major;
  };
  for (const Shape s : {Shape{961, 225, 64, true}, Shape{256, 64, 48, true}, Shape{961, 64, 96, false},
                        Shape{1225, 225, 256, true}, Shape{5, 1, 1, true}, Shape{37, 5000, 3, false}}) {
    oceanplus_arn_params p{};
    p.query_count = s.queries;
    p.key_count = s.keys;
    p.channels = s.channels;
    p.query_stride_item = s.channel_major ? 1 : s.channels;
    p.query_stride_channel = s.channel_major ? s.queries : 1;
    p.key_stride_item = s.channel_major ? 1 : s.channels;
    p.key_stride_channel = s.channel_major ? s.keys : 1;
    p.scale = 0.125f;
    std::uniform_real_distribution<float> d(-2, 2);
    std::vector<float> q(static_cast<size_t>(s.queries) * s.channels), k(static_cast<size_t>(s.keys) * s.channels),
        v(s.keys);
    for (auto& x : q) x = d(rng);
    for (auto& x : k) x = d(rng);
    for (auto& x : v) x = static_cast<float>(rng() % 2);
    std::vector<float> want(s.queries);
    ASSERT_EQ(oceanplus_arn_retrieve_ref(q.data(), k.data(), v.data(), &p, want.data()), OCEANPLUS_OK);
    DeviceBuffer<float> dq(q), dk(k), dv(v), out(s.queries);
    ASSERT_EQ(oceanplus_arn_retrieve_cuda(dq.get(), dk.get(), dv.get(), &p, out.get(), stream_), cudaSuccess);
    finish();
    const std::vector<float> got = out.download();
    for (int i = 0; i < s.queries; ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << s.queries << "x" << s.keys << " " << i;
  }
}

// ---- Kernel 4 -------------------------------------------------------------------------------------------------------

TEST_F(KernelsGpu, XcorrEqualsReference) {
  std::mt19937 rng(64);
  const std::vector<oceanplus_xcorr_params> shapes = {
      {1, 1, 256, 31, 31, 7, 7, 0}, {1, 1, 96, 16, 16, 8, 8, 0}, {3, 3, 17, 29, 23, 5, 7, 0},
      {4, 1, 9, 15, 15, 5, 5, 0},   {2, 2, 5, 13, 11, 3, 3, 1},  {1, 1, 3, 150, 130, 9, 9, 1},  // global-memory path
  };
  for (const auto& p : shapes) {
    std::uniform_real_distribution<float> d(-1, 1);
    std::vector<float> s(static_cast<size_t>(p.batch) * p.channels * p.search_h * p.search_w),
        k(static_cast<size_t>(p.kernel_batch) * p.channels * p.kernel_h * p.kernel_w);
    for (auto& x : s) x = d(rng);
    for (auto& x : k) x = d(rng);
    const size_t out_count =
        static_cast<size_t>(p.batch) * p.channels * oceanplus_xcorr_output_h(&p) * oceanplus_xcorr_output_w(&p);
    std::vector<float> want(out_count);
    ASSERT_EQ(oceanplus_xcorr_depthwise_ref(s.data(), k.data(), &p, want.data()), OCEANPLUS_OK);
    DeviceBuffer<float> ds(s), dk(k), out(out_count);
    ASSERT_EQ(oceanplus_xcorr_depthwise_cuda(ds.get(), dk.get(), &p, out.get(), stream_), cudaSuccess);
    finish();
    const std::vector<float> got = out.download();
    for (size_t i = 0; i < out_count; ++i) ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << i;
  }
}

// ---- Kernel 5 -------------------------------------------------------------------------------------------------------

TEST_F(KernelsGpu, ScorePeakEqualsReference) {
  std::mt19937 rng(65);
  for (int trial = 0; trial < 40; ++trial) {
    const int sizes[] = {25, 29, 16, 7, 61};
    const int size = sizes[trial % 5];
    const size_t plane = static_cast<size_t>(size) * size;
    oceanplus_peak_params p{};
    p.score_size = size;
    p.activation = trial % 3;
    p.stride = 8;
    p.instance_size = 255;
    p.target_w_crop = std::uniform_real_distribution<float>(10, 120)(rng);
    p.target_h_crop = std::uniform_real_distribution<float>(10, 120)(rng);
    p.penalty_k = 0.04f;
    p.window_influence = 0.4f;
    std::uniform_real_distribution<float> logit(-6, 6), dist(2, 90);
    std::vector<float> logits(plane * 2), ltrb(4 * plane), window(plane);
    for (auto& x : logits) x = logit(rng);
    for (auto& x : ltrb) x = dist(rng);
    for (size_t i = 0; i < plane; ++i) {
      const int r = static_cast<int>(i) / size, c = static_cast<int>(i) % size;
      window[i] = static_cast<float>((0.5 - 0.5 * std::cos(2 * M_PI * (r + 0.5) / size)) *
                                     (0.5 - 0.5 * std::cos(2 * M_PI * (c + 0.5) / size)));
    }
    oceanplus_peak want{};
    ASSERT_EQ(oceanplus_score_peak_ref(logits.data(), ltrb.data(), window.data(), &p, &want), OCEANPLUS_OK);
    DeviceBuffer<float> dl(logits), db(ltrb), dw(window);
    DeviceBuffer<oceanplus_peak> out(1);
    ASSERT_EQ(oceanplus_score_peak_cuda(dl.get(), db.get(), dw.get(), &p, out.get(), stream_), cudaSuccess);
    finish();
    const oceanplus_peak got = out.download()[0];
    EXPECT_EQ(got.status, OCEANPLUS_OK);
    EXPECT_NEAR(got.pscore, want.pscore, 1e-5);
    if (got.index != want.index) {
      // Only on a near tie: the reference's pscore at the kernel's peak is within the tolerance.
      const detail::CellScore there = detail::cell_score(logits.data(), ltrb.data(), window.data(), p, got.row, got.col);
      EXPECT_NEAR(there.pscore, want.pscore, 1e-5) << "trial " << trial;
      continue;
    }
    EXPECT_NEAR(got.score, want.score, 1e-6);
    EXPECT_NEAR(got.penalty, want.penalty, 1e-5);
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(got.ltrb[k], want.ltrb[k]);
      EXPECT_EQ(got.box[k], want.box[k]);
    }
  }
  // No finite score: status and index -1.
  std::vector<float> nan_logits(49, NAN), ltrb(4 * 49, 5.f), window(49, 0.f);
  oceanplus_peak_params p{7, OCEANPLUS_ACTIVATION_SIGMOID, 8, 255, 20.f, 20.f, 0.04f, 0.4f};
  DeviceBuffer<float> dl(nan_logits), db(ltrb), dw(window);
  DeviceBuffer<oceanplus_peak> out(1);
  ASSERT_EQ(oceanplus_score_peak_cuda(dl.get(), db.get(), dw.get(), &p, out.get(), stream_), cudaSuccess);
  finish();
  EXPECT_EQ(out.download()[0].status, OCEANPLUS_NO_FINITE_SCORE);
  EXPECT_EQ(out.download()[0].index, -1);
}

// ---- Argument checks: before any CUDA call, so they run without a device ----------------------------------------------

TEST(KernelsGpuArguments, BadArgumentsReturnInvalidValue) {
  float* fake = reinterpret_cast<float*>(0x1000);  // never dereferenced: the checks fail first
  oceanplus_image im{};
  im.format = OCEANPLUS_PIXEL_BGR;
  im.width = im.height = 4;
  im.planes[0] = reinterpret_cast<const uint8_t*>(fake);
  im.strides[0] = 12;
  oceanplus_crop_params crop{};
  crop.window_side = 4;
  crop.output_side = 0;
  EXPECT_EQ(oceanplus_crop_resize_cuda(&im, &crop, fake, nullptr), cudaErrorInvalidValue);
  crop.output_side = 8;
  EXPECT_EQ(oceanplus_crop_resize_cuda(nullptr, &crop, fake, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(oceanplus_crop_resize_cuda(&im, &crop, nullptr, nullptr), cudaErrorInvalidValue);

  oceanplus_paste_params paste{0, 0, 10, 10, 10, 0.5f};
  oceanplus_roi roi{};
  EXPECT_EQ(oceanplus_paste_mask_cuda(nullptr, 5, &paste, reinterpret_cast<uint8_t*>(fake), 10, 100, &roi, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(oceanplus_paste_mask_cuda(fake, 5, &paste, reinterpret_cast<uint8_t*>(fake), 10, 99, &roi, nullptr),
            cudaErrorInvalidValue);

  oceanplus_arn_params arn{};
  EXPECT_EQ(oceanplus_arn_retrieve_cuda(fake, fake, fake, &arn, fake, nullptr), cudaErrorInvalidValue);
  oceanplus_xcorr_params xcorr{1, 1, 1, 3, 3, 5, 5, 0};
  EXPECT_EQ(oceanplus_xcorr_depthwise_cuda(fake, fake, &xcorr, fake, nullptr), cudaErrorInvalidValue);
  oceanplus_peak_params peak{0, 0, 8, 255, 10, 10, 0.04f, 0.4f};
  EXPECT_EQ(oceanplus_score_peak_cuda(fake, fake, fake, &peak, reinterpret_cast<oceanplus_peak*>(fake), nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace oceanplus::kernels::testing
