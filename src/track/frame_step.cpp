#include "track/frame_step.h"

#include <ATen/ATen.h>

#include <cstring>
#include <string>

#include "common/error.h"
#include "reference/oceanplus_kernels_ref.h"
#ifdef OCEANPLUS_HAVE_CUDA_GLUE
#include <c10/cuda/CUDAStream.h>

#include "oceanplus_kernels.h"
#endif

namespace oceanplus::track {
namespace {

oceanplus_image bgr_image(const cv::Mat& frame, const uint8_t* pixels, int stride) {
  oceanplus_image image{};
  image.format = OCEANPLUS_PIXEL_BGR;
  image.width = frame.cols;
  image.height = frame.rows;
  image.planes[0] = pixels;
  image.strides[0] = stride;
  return image;
}

void check_maps(const FrameStepMaps& maps, const FrameStepInput& in) {
  const int64_t s = in.peak.score_size;
  const int64_t planes = in.peak.activation == OCEANPLUS_ACTIVATION_SOFTMAX2 ? 2 : 1;
  if (!maps.logits.defined() || maps.logits.numel() != planes * s * s || !maps.ltrb.defined() ||
      maps.ltrb.numel() != 4 * s * s) {
    throw Error("frame step: the network's maps do not match a " + std::to_string(s) + "-cell score map");
  }
  if (maps.mask_prob.defined() && (maps.mask_prob.dim() != 2 || maps.mask_prob.size(0) != maps.mask_prob.size(1))) {
    throw Error("frame step: the mask probability must be a square map");
  }
}

void check_reference(int status, const char* kernel) {
  if (status != OCEANPLUS_OK) {
    throw Error(std::string("frame step: the ") + kernel + " kernel's CPU reference failed (status " +
                std::to_string(status) + ")");
  }
}

at::Tensor float_window(const cv::Mat& window, at::Device device) {
  cv::Mat as_float;
  window.convertTo(as_float, CV_32F);
  return at::from_blob(as_float.data, {as_float.rows, as_float.cols}, at::kFloat).clone().to(device);
}

void run_on_cpu(const FrameStepInput& in, FrameStepCache& cache,
                const std::function<FrameStepMaps(const at::Tensor&)>& network, FrameStepOutput& out) {
  const cv::Mat& frame = *in.frame;
  const int n = in.crop.output_side;
  at::Tensor crop = at::empty({1, 3, n, n}, at::kFloat);
  const oceanplus_image image = bgr_image(frame, frame.data, static_cast<int>(frame.step[0]));
  check_reference(oceanplus_crop_resize_ref(&image, &in.crop, crop.data_ptr<float>()), "crop");
  FrameStepMaps maps = network(crop);
  check_maps(maps, in);
  const at::Tensor logits = maps.logits.contiguous(), ltrb = maps.ltrb.contiguous();
  const int status = oceanplus_score_peak_ref(logits.data_ptr<float>(), ltrb.data_ptr<float>(),
                                              cache.window.data_ptr<float>(), &in.peak, &out.peak);
  if (status != OCEANPLUS_OK && status != OCEANPLUS_NO_FINITE_SCORE) check_reference(status, "score peak");
  oceanplus_paste_roi(&in.paste, &out.roi);
  out.roi_mask.release();
  if (!maps.mask_prob.defined() || out.roi.width == 0) return;
  const at::Tensor prob = maps.mask_prob.contiguous();
  out.roi_mask.create(out.roi.height, out.roi.width, CV_8U);
  check_reference(oceanplus_paste_mask_ref(prob.data_ptr<float>(), static_cast<int>(prob.size(0)), &in.paste,
                                           out.roi_mask.data, static_cast<int>(out.roi_mask.step[0]),
                                           static_cast<int64_t>(out.roi_mask.total()), &out.roi),
                  "paste-back");
}

#ifdef OCEANPLUS_HAVE_CUDA_GLUE
void check_cuda(cudaError_t status, const char* kernel) {
  if (status != cudaSuccess) {
    throw Error(std::string("frame step: the ") + kernel + " kernel failed: " + cudaGetErrorString(status));
  }
}

// Room for the peak at the start of the results buffer; the mask follows, 64-byte aligned.
constexpr int64_t kPeakBytes = (sizeof(oceanplus_peak) + 63) / 64 * 64;

void run_on_cuda(at::Device device, const FrameStepInput& in, FrameStepCache& cache,
                 const std::function<FrameStepMaps(const at::Tensor&)>& network, FrameStepOutput& out) {
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device.index()).stream();
  const cv::Mat frame = in.frame->isContinuous() ? *in.frame : in.frame->clone();
  // The one upload of the step: the frame's bytes.
  const at::Tensor frame_on_device =
      at::from_blob(frame.data, {frame.rows, frame.cols, 3}, at::kByte).to(device, /*non_blocking=*/false);
  const oceanplus_image image = bgr_image(frame, frame_on_device.data_ptr<uint8_t>(), frame.cols * 3);
  const int n = in.crop.output_side;
  at::Tensor crop = at::empty({1, 3, n, n}, at::TensorOptions().dtype(at::kFloat).device(device));
  check_cuda(oceanplus_crop_resize_cuda(&image, &in.crop, crop.data_ptr<float>(), stream), "crop");
  FrameStepMaps maps = network(crop);
  check_maps(maps, in);
  const at::Tensor logits = maps.logits.contiguous(), ltrb = maps.ltrb.contiguous();
  oceanplus_roi roi{};
  oceanplus_paste_roi(&in.paste, &roi);
  const bool with_mask = maps.mask_prob.defined() && roi.width > 0;
  const int64_t mask_bytes = with_mask ? static_cast<int64_t>(roi.width) * roi.height : 0;
  at::Tensor results = at::empty({kPeakBytes + mask_bytes}, at::TensorOptions().dtype(at::kByte).device(device));
  uint8_t* base = results.data_ptr<uint8_t>();
  check_cuda(oceanplus_score_peak_cuda(logits.data_ptr<float>(), ltrb.data_ptr<float>(),
                                       cache.window.data_ptr<float>(), &in.peak,
                                       reinterpret_cast<oceanplus_peak*>(base), stream),
             "score peak");
  out.roi = roi;
  if (with_mask) {
    const at::Tensor prob = maps.mask_prob.contiguous();
    check_cuda(oceanplus_paste_mask_cuda(prob.data_ptr<float>(), static_cast<int>(prob.size(0)), &in.paste,
                                         base + kPeakBytes, roi.width, mask_bytes, &out.roi, stream),
               "paste-back");
  }
  // The one download (and synchronisation) of the step: the peak and the mask's ROI.
  const at::Tensor host = results.to(at::kCPU);
  std::memcpy(&out.peak, host.data_ptr<uint8_t>(), sizeof(oceanplus_peak));
  out.roi_mask.release();
  if (with_mask) {
    out.roi_mask.create(roi.height, roi.width, CV_8U);
    std::memcpy(out.roi_mask.data, host.data_ptr<uint8_t>() + kPeakBytes, static_cast<size_t>(mask_bytes));
  }
}
#endif

}  // namespace

bool frame_step_has_cuda() {
#ifdef OCEANPLUS_HAVE_CUDA_GLUE
  return true;
#else
  return false;
#endif
}

bool frame_step_available(at::Device device) { return device.is_cpu() || (device.is_cuda() && frame_step_has_cuda()); }

bool frame_step_preferred(at::Device device) { return device.is_cuda() && frame_step_has_cuda(); }

void run_frame_step(at::Device device, const FrameStepInput& in, FrameStepCache& cache,
                    const std::function<FrameStepMaps(const at::Tensor&)>& network, FrameStepOutput& out) {
  if (!in.frame || in.frame->empty() || in.frame->type() != CV_8UC3) {
    throw Error("frame step: expected an 8-bit BGR frame");
  }
  if (!in.window || in.window->rows != in.peak.score_size || in.window->cols != in.peak.score_size) {
    throw Error("frame step: the window must be score_size × score_size");
  }
  if (!cache.window.defined() || cache.window.size(0) != in.peak.score_size || cache.window.device() != device) {
    cache.window = float_window(*in.window, device);
  }
  if (device.is_cpu()) {
    run_on_cpu(in, cache, network, out);
    return;
  }
#ifdef OCEANPLUS_HAVE_CUDA_GLUE
  if (device.is_cuda()) {
    run_on_cuda(device, in, cache, network, out);
    return;
  }
#endif
  throw Error("frame step on " + device.str() + ": this build has no CUDA kernels (it needs nvcc and a LibTorch "
              "with CUDA at build time)");
}

}  // namespace oceanplus::track
