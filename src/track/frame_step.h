// The frame step's device side (TrackingModel::frame_step): crop kernel → the model's network → peak and paste-back
// kernels, with one upload of the frame and one download of the results on a GPU. The CPU references of kernels/
// run the same step on the CPU (what CI tests, against the classic OpenCV path). Torch header: only the models'
// translation units include it.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "track/model.h"

namespace oceanplus::track {

// What a network returns for N search crops, on the model's device, float32 (item i of each: target i).
struct FrameStepMaps {
  at::Tensor logits;     // N×K×S×S: K = 1 (sigmoid) or 2 (two-way softmax, channel 1 = target)
  at::Tensor ltrb;       // N×4×S×S distances in search-crop pixels
  at::Tensor mask_prob;  // N×S'×S' foreground probability over each search crop; undefined without a mask head
};

// What a target keeps on the device between steps.
struct FrameStepCache {
  at::Tensor window;  // S×S float32 cosine window
};

// Runs the steps of N targets on one frame on `device` ("cpu": the reference kernels; "cuda": the CUDA kernels on
// LibTorch's current stream, in builds that have them): crops them with the crop kernel into one N×3×n×n batch,
// calls `network` once, then runs the peak and paste-back kernels per target and brings every result back in one
// copy. All inputs must share the frame, the crop size and the score size. Throws oceanplus::Error naming the
// kernel that failed, or saying that this build has no CUDA kernels.
using FrameStepNetwork = std::function<FrameStepMaps(const at::Tensor& crops)>;
void run_frame_steps(at::Device device, const std::vector<FrameStepInput>& in,
                     const std::vector<FrameStepCache*>& caches, const FrameStepNetwork& network,
                     std::vector<FrameStepOutput>& out);

// Whether this build can run frame steps on a CUDA device (CUDA kernels and a LibTorch with CUDA).
bool frame_step_has_cuda();
// Whether a model on `device` can run frame steps (the CPU always, with the references; a GPU with the CUDA
// kernels), and whether it should by default (on a GPU: the classic path would move crops and maps every step).
bool frame_step_available(at::Device device);
bool frame_step_preferred(at::Device device);

}  // namespace oceanplus::track
