/* CUDA kernels of the tracker's per-frame hot path, behind a plain C ABI: device pointers, sizes and a stream; no
 * torch. Every function checks its arguments (cudaErrorInvalidValue for a null pointer, a zero size, an unknown
 * enum), launches on `stream` without synchronising, and returns the launch status. The structs are described in
 * oceanplus_kernels_common.h; each kernel's CPU reference (reference/oceanplus_kernels_ref.h) defines its result. */
#ifndef OCEANPLUS_KERNELS_H
#define OCEANPLUS_KERNELS_H

#include <cuda_runtime_api.h>

#include "oceanplus_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel 1: sub-window crop + bilinear resize from the frame in its pixel format to float CHW BGR (0-255).
 * frame->planes: device pointers. out_chw: device, 3 × output_side² floats. Equal to oceanplus_crop_resize_ref. */
cudaError_t oceanplus_crop_resize_cuda(const oceanplus_image* frame, const oceanplus_crop_params* params,
                                       float* out_chw, cudaStream_t stream);

/* Kernel 2: bicubic paste-back of the prob_side² probability (device) over the visible ROI, thresholded to a
 * box-local GRAY8 0/255 mask (device, row pitch out_pitch, out_capacity bytes). *roi (host) is set before the
 * launch; an empty ROI launches nothing. */
cudaError_t oceanplus_paste_mask_cuda(const float* prob, int prob_side, const oceanplus_paste_params* params,
                                      uint8_t* out_mask, int out_pitch, int64_t out_capacity, oceanplus_roi* roi,
                                      cudaStream_t stream);

/* Kernel 3: ARN retrieval, out[i] = clamp(softmax_j(q_i·k_j·scale)·v, 0, 1). All buffers on the device. */
cudaError_t oceanplus_arn_retrieve_cuda(const float* query, const float* key, const float* values,
                                        const oceanplus_arn_params* params, float* out, cudaStream_t stream);

/* Kernel 4: depthwise cross-correlation. All buffers on the device. */
cudaError_t oceanplus_xcorr_depthwise_cuda(const float* search, const float* kernel,
                                           const oceanplus_xcorr_params* params, float* out, cudaStream_t stream);

/* Kernel 5: activation, penalty, window, argmax. peak_device: one oceanplus_peak in device memory (copy it back,
 * about 60 bytes); its status is OCEANPLUS_NO_FINITE_SCORE with index -1 when no pscore is finite. */
cudaError_t oceanplus_score_peak_cuda(const float* logits, const float* ltrb, const float* window,
                                      const oceanplus_peak_params* params, oceanplus_peak* peak_device,
                                      cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* OCEANPLUS_KERNELS_H */
