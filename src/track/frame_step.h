// The frame step's device side (TrackingModel::frame_step): crop kernel → the model's network → peak and paste-back
// kernels, with one upload of the frame and one download of the results on a GPU. The CPU references of kernels/
// run the same step on the CPU (what CI tests, against the classic OpenCV path). Torch header: only the models'
// translation units include it.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "track/model.h"

namespace oceanplus::track {

// What a network returns for one search crop, on the model's device, contiguous float32.
struct FrameStepMaps {
  at::Tensor logits;     // K×S×S: K = 1 (sigmoid) or 2 (two-way softmax, channel 1 = target)
  at::Tensor ltrb;       // 4×S×S distances in search-crop pixels
  at::Tensor mask_prob;  // S'×S' foreground probability over the search crop; undefined without a mask head
};

// What a target keeps on the device between steps.
struct FrameStepCache {
  at::Tensor window;  // S×S float32 cosine window
};

// Runs the step on `device` ("cpu": the reference kernels; "cuda": the CUDA kernels on LibTorch's current stream,
// in builds that have them). `network` maps the 1×3×N×N crop to its maps. Throws oceanplus::Error naming the kernel
// that failed, or saying that this build has no CUDA kernels.
void run_frame_step(at::Device device, const FrameStepInput& in, FrameStepCache& cache,
                    const std::function<FrameStepMaps(const at::Tensor& crop)>& network, FrameStepOutput& out);

// Whether this build can run frame steps on a CUDA device (CUDA kernels and a LibTorch with CUDA).
bool frame_step_has_cuda();
// Whether a model on `device` can run frame steps (the CPU always, with the references; a GPU with the CUDA
// kernels), and whether it should by default (on a GPU: the classic path would move crops and maps every step).
bool frame_step_available(at::Device device);
bool frame_step_preferred(at::Device device);

}  // namespace oceanplus::track
