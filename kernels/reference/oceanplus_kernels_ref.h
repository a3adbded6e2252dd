/* CPU references of the CUDA kernels (oceanplus_kernels.h): the same signatures on host pointers, no stream, an
 * oceanplus_status result. Always built (static library oceanplus_kernels_ref), torch-free and CUDA-free. Each one
 * defines what its kernel must produce; see kernels/README.md for what each matches and to which tolerance. */
#ifndef OCEANPLUS_KERNELS_REF_H
#define OCEANPLUS_KERNELS_REF_H

#include "oceanplus_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel 1. out_chw: 3 × output_side² floats (B, G, R planes). Pixel-exact with crop_subwindow + cv::resize
 * INTER_LINEAR on BGR frames. */
int oceanplus_crop_resize_ref(const oceanplus_image* frame, const oceanplus_crop_params* params, float* out_chw);

/* Kernel 2. prob: prob_side² floats (the foreground probability over the search crop). Writes the visible ROI
 * (oceanplus_paste_roi) as GRAY8 0/255, row pitch out_pitch bytes (>= roi.width), into out_mask of out_capacity
 * bytes, and the ROI into *roi. An empty ROI writes nothing and succeeds. */
int oceanplus_paste_mask_ref(const float* prob, int prob_side, const oceanplus_paste_params* params, uint8_t* out_mask,
                             int out_pitch, int64_t out_capacity, oceanplus_roi* roi);

/* Kernel 3. values: key_count floats; out: query_count floats, clamp(softmax(q·kᵀ·scale)·v, 0, 1). */
int oceanplus_arn_retrieve_ref(const float* query, const float* key, const float* values,
                               const oceanplus_arn_params* params, float* out);

/* Kernel 4. */
int oceanplus_xcorr_depthwise_ref(const float* search, const float* kernel, const oceanplus_xcorr_params* params,
                                  float* out);

/* Kernel 5. logits: 1 (sigmoid, none) or 2 (softmax2) planes of S² floats; ltrb: 4 planes of S²; window: S².
 * Returns OCEANPLUS_NO_FINITE_SCORE (and peak->index = -1) when no pscore is finite. */
int oceanplus_score_peak_ref(const float* logits, const float* ltrb, const float* window,
                             const oceanplus_peak_params* params, oceanplus_peak* peak);

#ifdef __cplusplus
}
#endif

#endif /* OCEANPLUS_KERNELS_REF_H */
