#include "track/frame_step.h"

#include <ATen/ATen.h>

#include <cstring>
#include <string>

#include "common/error.h"
#include "detail/validate.h"
#include "reference/oceanplus_kernels_ref.h"
#ifdef OCEANPLUS_HAVE_CUDA_GLUE
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>

#include "oceanplus_kernels.h"
#endif

namespace oceanplus::track {
namespace {

// The image the crop kernel reads for a step: its frame source, or the BGR frame.
oceanplus_image step_image(const FrameStepInput& in) {
  if (in.source) return in.source->image;
  oceanplus_image image{};
  image.format = OCEANPLUS_PIXEL_BGR;
  image.width = in.frame->cols;
  image.height = in.frame->rows;
  image.planes[0] = in.frame->data;
  image.strides[0] = static_cast<int>(in.frame->step[0]);
  return image;
}

// Rows of plane `plane` (chroma planes of NV12/I420 have half the rows, rounded up).
int64_t plane_rows(const oceanplus_image& image, int plane) {
  return plane == 0 ? image.height : (static_cast<int64_t>(image.height) + 1) / 2;
}

// The kernels' own image check (kernels/detail/validate.h), with a message saying what is wrong.
void check_source(const FrameSource& source) {
  const oceanplus_image& image = source.image;
  if (image.width <= 0 || image.height <= 0) throw Error("frame step: the frame has no pixels");
  const int planes = kernels::detail::plane_count(image.format);
  if (planes == 0) throw Error("frame step: unknown pixel format " + std::to_string(image.format));
  for (int p = 0; p < planes; ++p) {
    const int64_t row_bytes = kernels::detail::min_row_bytes(image.format, p, image.width);
    if (!image.planes[p] || image.strides[p] < row_bytes) {
      throw Error("frame step: plane " + std::to_string(p) + " of the frame is missing or its stride (" +
                  std::to_string(image.strides[p]) + ") is shorter than a row (" + std::to_string(row_bytes) +
                  " bytes)");
    }
  }
}

// The image the crop kernel reads on the CPU: the step's, which must be in host memory.
oceanplus_image host_image(const FrameStepInput& in) {
  if (in.source && in.source->cuda_device >= 0) {
    throw Error("frame step: the frame is on cuda:" + std::to_string(in.source->cuda_device) +
                " but the model runs on the CPU");
  }
  return step_image(in);
}

// The network's maps, checked against the batch and the score size, made contiguous.
FrameStepMaps checked(FrameStepMaps maps, const std::vector<FrameStepInput>& in) {
  const int64_t n = static_cast<int64_t>(in.size()), s = in[0].peak.score_size;
  const int64_t planes = in[0].peak.activation == OCEANPLUS_ACTIVATION_SOFTMAX2 ? 2 : 1;
  if (!maps.logits.defined() || maps.logits.numel() != n * planes * s * s || !maps.ltrb.defined() ||
      maps.ltrb.numel() != n * 4 * s * s) {
    throw Error("frame step: the network's maps do not match " + std::to_string(n) + " target(s) with a " +
                std::to_string(s) + "-cell score map");
  }
  maps.logits = maps.logits.to(at::kFloat).contiguous();
  maps.ltrb = maps.ltrb.to(at::kFloat).contiguous();
  if (maps.mask_prob.defined()) {
    if (maps.mask_prob.dim() != 3 || maps.mask_prob.size(0) != n || maps.mask_prob.size(1) != maps.mask_prob.size(2)) {
      throw Error("frame step: the mask probability must be N square maps");
    }
    maps.mask_prob = maps.mask_prob.to(at::kFloat).contiguous();
  }
  return maps;
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

void run_on_cpu(const std::vector<FrameStepInput>& in, const std::vector<FrameStepCache*>& caches,
                const FrameStepNetwork& network, std::vector<FrameStepOutput>& out) {
  const int64_t count = static_cast<int64_t>(in.size()), n = in[0].crop.output_side;
  at::Tensor crops = at::empty({count, 3, n, n}, at::kFloat);
  const oceanplus_image image = host_image(in[0]);
  for (int64_t i = 0; i < count; ++i) {
    check_reference(oceanplus_crop_resize_ref(&image, &in[i].crop, crops[i].data_ptr<float>()), "crop");
  }
  const FrameStepMaps maps = checked(network(crops), in);
  for (int64_t i = 0; i < count; ++i) {
    FrameStepOutput& o = out[i];
    const int status = oceanplus_score_peak_ref(maps.logits[i].data_ptr<float>(), maps.ltrb[i].data_ptr<float>(),
                                                caches[i]->window.data_ptr<float>(), &in[i].peak, &o.peak);
    if (status != OCEANPLUS_OK && status != OCEANPLUS_NO_FINITE_SCORE) check_reference(status, "score peak");
    oceanplus_paste_roi(&in[i].paste, &o.roi);
    o.roi_mask.release();
    if (!maps.mask_prob.defined() || o.roi.width == 0) continue;
    const at::Tensor prob = maps.mask_prob[i];
    o.roi_mask.create(o.roi.height, o.roi.width, CV_8U);
    check_reference(oceanplus_paste_mask_ref(prob.data_ptr<float>(), static_cast<int>(prob.size(0)), &in[i].paste,
                                             o.roi_mask.data, static_cast<int>(o.roi_mask.step[0]),
                                             static_cast<int64_t>(o.roi_mask.total()), &o.roi),
                    "paste-back");
  }
}

#ifdef OCEANPLUS_HAVE_CUDA_GLUE
void check_cuda(cudaError_t status, const char* kernel) {
  if (status != cudaSuccess) {
    throw Error(std::string("frame step: the ") + kernel + " kernel failed: " + cudaGetErrorString(status));
  }
}

// Each target's slot in the results buffer: its peak, then its mask ROI, 64-byte aligned.
constexpr int64_t kAlign = 64;
constexpr int64_t kPeakBytes = (sizeof(oceanplus_peak) + kAlign - 1) / kAlign * kAlign;

void run_on_cuda(at::Device device, const std::vector<FrameStepInput>& in, const std::vector<FrameStepCache*>& caches,
                 const FrameStepNetwork& network, std::vector<FrameStepOutput>& out) {
  const int device_index = device.has_index() ? device.index() : static_cast<int>(c10::cuda::current_device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_index).stream();
  oceanplus_image image{};
  at::Tensor frame_on_device;
  const FrameSource* source = in[0].source;
  if (source && source->cuda_device >= 0) {
    // Already on a GPU (GStreamer's CUDA memory): no upload at all. The producer has finished writing it (its map
    // synchronised), so the crop kernel may read it on this stream.
    if (source->cuda_device != device_index) {
      throw Error("frame step: the frame is on cuda:" + std::to_string(source->cuda_device) +
                  " but the model runs on cuda:" + std::to_string(device_index));
    }
    image = source->image;
  } else {
    // The one upload of the step, whatever the number of targets: the frame's planes packed row after row.
    image = step_image(in[0]);
    const int planes = kernels::detail::plane_count(image.format);
    std::vector<int64_t> row_bytes(planes), plane_offset(planes + 1, 0);
    for (int p = 0; p < planes; ++p) {
      row_bytes[p] = kernels::detail::min_row_bytes(image.format, p, image.width);
      plane_offset[p + 1] = plane_offset[p] + plane_rows(image, p) * row_bytes[p];
    }
    at::Tensor packed = at::empty({plane_offset[planes]}, at::TensorOptions().dtype(at::kByte).pinned_memory(true));
    for (int p = 0; p < planes; ++p) {
      uint8_t* dst = packed.data_ptr<uint8_t>() + plane_offset[p];
      for (int64_t row = 0; row < plane_rows(image, p); ++row) {
        std::memcpy(dst + row * row_bytes[p], image.planes[p] + row * image.strides[p], row_bytes[p]);
      }
    }
    frame_on_device = packed.to(device, /*non_blocking=*/true);
    for (int p = 0; p < planes; ++p) {
      image.planes[p] = frame_on_device.data_ptr<uint8_t>() + plane_offset[p];
      image.strides[p] = static_cast<int>(row_bytes[p]);
    }
  }
  const int64_t count = static_cast<int64_t>(in.size()), n = in[0].crop.output_side;
  at::Tensor crops = at::empty({count, 3, n, n}, at::TensorOptions().dtype(at::kFloat).device(device));
  for (int64_t i = 0; i < count; ++i) {
    check_cuda(oceanplus_crop_resize_cuda(&image, &in[i].crop, crops[i].data_ptr<float>(), stream), "crop");
  }
  const FrameStepMaps maps = checked(network(crops), in);
  std::vector<int64_t> offset(count + 1, 0);
  std::vector<oceanplus_roi> roi(count);
  for (int64_t i = 0; i < count; ++i) {
    oceanplus_paste_roi(&in[i].paste, &roi[i]);
    const int64_t mask_bytes = maps.mask_prob.defined() ? static_cast<int64_t>(roi[i].width) * roi[i].height : 0;
    offset[i + 1] = offset[i] + kPeakBytes + (mask_bytes + kAlign - 1) / kAlign * kAlign;
  }
  at::Tensor results = at::empty({offset[count]}, at::TensorOptions().dtype(at::kByte).device(device));
  uint8_t* base = results.data_ptr<uint8_t>();
  for (int64_t i = 0; i < count; ++i) {
    check_cuda(oceanplus_score_peak_cuda(maps.logits[i].data_ptr<float>(), maps.ltrb[i].data_ptr<float>(),
                                         caches[i]->window.data_ptr<float>(), &in[i].peak,
                                         reinterpret_cast<oceanplus_peak*>(base + offset[i]), stream),
               "score peak");
    out[i].roi = roi[i];
    if (maps.mask_prob.defined() && roi[i].width > 0) {
      const at::Tensor prob = maps.mask_prob[i];
      const int64_t mask_bytes = static_cast<int64_t>(roi[i].width) * roi[i].height;
      check_cuda(oceanplus_paste_mask_cuda(prob.data_ptr<float>(), static_cast<int>(prob.size(0)), &in[i].paste,
                                           base + offset[i] + kPeakBytes, roi[i].width, mask_bytes, &out[i].roi,
                                           stream),
                 "paste-back");
    }
  }
  // The one download (and synchronisation) of the step: every target's peak and mask ROI.
  const at::Tensor host = results.to(at::kCPU);
  const uint8_t* bytes = host.data_ptr<uint8_t>();
  for (int64_t i = 0; i < count; ++i) {
    FrameStepOutput& o = out[i];
    std::memcpy(&o.peak, bytes + offset[i], sizeof(oceanplus_peak));
    o.roi_mask.release();
    if (maps.mask_prob.defined() && roi[i].width > 0) {
      o.roi_mask.create(roi[i].height, roi[i].width, CV_8U);
      std::memcpy(o.roi_mask.data, bytes + offset[i] + kPeakBytes, o.roi_mask.total());
    }
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

void run_frame_steps(at::Device device, const std::vector<FrameStepInput>& in,
                     const std::vector<FrameStepCache*>& caches, const FrameStepNetwork& network,
                     std::vector<FrameStepOutput>& out) {
  if (in.empty()) return;
  if (caches.size() != in.size()) throw Error("frame step: one cache per target is needed");
  const FrameStepInput& first = in[0];
  for (const FrameStepInput& step : in) {
    if (step.source) {
      check_source(*step.source);
    } else if (!step.frame || step.frame->empty() || step.frame->type() != CV_8UC3) {
      throw Error("frame step: expected an 8-bit BGR frame or a frame source");
    }
    if (step.frame != first.frame || step.source != first.source || step.crop.output_side != first.crop.output_side ||
        step.peak.score_size != first.peak.score_size || step.peak.activation != first.peak.activation) {
      throw Error("frame step: targets batched together must share the frame, the search size and the score map");
    }
    if (!step.window || step.window->rows != step.peak.score_size || step.window->cols != step.peak.score_size) {
      throw Error("frame step: the window must be score_size × score_size");
    }
  }
  for (size_t i = 0; i < in.size(); ++i) {
    FrameStepCache& cache = *caches[i];
    if (!cache.window.defined() || cache.window.size(0) != in[i].peak.score_size || cache.window.device() != device) {
      cache.window = float_window(*in[i].window, device);
    }
  }
  out.resize(in.size());
  if (device.is_cpu()) {
    run_on_cpu(in, caches, network, out);
    return;
  }
#ifdef OCEANPLUS_HAVE_CUDA_GLUE
  if (device.is_cuda()) {
    run_on_cuda(device, in, caches, network, out);
    return;
  }
#endif
  throw Error("frame step on " + device.str() + ": this build has no CUDA kernels (it needs nvcc and a LibTorch "
              "with CUDA at build time)");
}

}  // namespace oceanplus::track
