/* Types shared by the CUDA kernels (oceanplus_kernels.h) and their CPU references (reference/oceanplus_kernels_ref.h).
 * Plain C, no CUDA and no torch: a caller describes its buffers with raw pointers and sizes. Pointers are device
 * pointers for the CUDA entry points and host pointers for the references. */
#ifndef OCEANPLUS_KERNELS_COMMON_H
#define OCEANPLUS_KERNELS_COMMON_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status of the CPU references. The CUDA entry points return cudaError_t instead (cudaErrorInvalidValue for
 * what OCEANPLUS_INVALID_ARGUMENT means here). */
typedef enum oceanplus_status {
  OCEANPLUS_OK = 0,
  OCEANPLUS_INVALID_ARGUMENT = 1, /* a null pointer, a zero or negative size, an unknown enum value */
  OCEANPLUS_BUFFER_TOO_SMALL = 2, /* the output buffer cannot hold the result */
  OCEANPLUS_NO_FINITE_SCORE = 3   /* score post-processing: every pscore was NaN or infinite */
} oceanplus_status;

/* Pixel formats of a video frame, named as GStreamer names them. */
typedef enum oceanplus_pixel_format {
  OCEANPLUS_PIXEL_BGR = 0,  /* packed 3 bytes B, G, R */
  OCEANPLUS_PIXEL_RGB = 1,  /* packed 3 bytes R, G, B */
  OCEANPLUS_PIXEL_RGBA = 2, /* packed 4 bytes R, G, B, A (alpha ignored) */
  OCEANPLUS_PIXEL_BGRX = 3, /* packed 4 bytes B, G, R, unused */
  OCEANPLUS_PIXEL_NV12 = 4, /* plane 0: Y; plane 1: interleaved U, V at half width and height */
  OCEANPLUS_PIXEL_I420 = 5  /* plane 0: Y; plane 1: U; plane 2: V, both at half width and height */
} oceanplus_pixel_format;

/* One frame. planes[i] and strides[i] (bytes per row) for each plane the format has; the rest are ignored.
 * Chroma planes of NV12/I420 have (width + 1) / 2 samples per row and (height + 1) / 2 rows. */
typedef struct oceanplus_image {
  int format; /* oceanplus_pixel_format */
  int width, height;
  const uint8_t* planes[3];
  int strides[3];
} oceanplus_image;

/* How the window's top-left corner round(centre - (side + 1) / 2) is rounded. */
typedef enum oceanplus_corner_rounding {
  OCEANPLUS_ROUND_HALF_EVEN = 0, /* Python 3 round(): OceanPlus / TracKit, crop_subwindow */
  OCEANPLUS_ROUND_HALF_UP = 1    /* floor(x + 0.5): NanoTrack */
} oceanplus_corner_rounding;

/* Kernel 1: a square window of side window_side (a whole number; truncated) centred on (center_x, center_y),
 * padded with pad_bgr where it leaves the frame, resized to output_side² as OpenCV's INTER_LINEAR does on uint8.
 * Output: 3 × output_side × output_side float32, planes B, G, R, raw 0-255 values. */
typedef struct oceanplus_crop_params {
  double center_x, center_y;
  double window_side;  /* 1 .. 65536 */
  int output_side;     /* 1 .. 65536 */
  int corner_rounding; /* oceanplus_corner_rounding */
  double pad_bgr[3];   /* the first frame's mean colour; truncated to 8 bits as the reference's uint8 array does */
} oceanplus_crop_params;

/* Kernel 2: where the search crop lies in the frame, and the threshold. */
typedef struct oceanplus_paste_params {
  int64_t window_x, window_y; /* the crop's top-left corner in frame pixels (may be negative) */
  int64_t window_side;        /* the crop's side in frame pixels, 1 .. 65536 */
  int frame_width, frame_height;
  float threshold; /* mask = prob > threshold (compared in float, as cv::compare on a CV_32F map) */
} oceanplus_paste_params;

/* The visible part of the window: [x, x + width) × [y, y + height) in frame pixels; empty when width or height is 0. */
typedef struct oceanplus_roi {
  int x, y, width, height;
} oceanplus_roi;

/* The ROI a paste-back writes. Returns 0 when it is empty (the window is outside the frame). */
static inline int oceanplus_paste_roi(const oceanplus_paste_params* p, oceanplus_roi* roi) {
  int64_t x0 = p->window_x > 0 ? p->window_x : 0;
  int64_t y0 = p->window_y > 0 ? p->window_y : 0;
  int64_t x1 = p->window_x + p->window_side, y1 = p->window_y + p->window_side;
  if (x1 > p->frame_width) x1 = p->frame_width;
  if (y1 > p->frame_height) y1 = p->frame_height;
  roi->x = (int)x0;
  roi->y = (int)y0;
  roi->width = x1 > x0 ? (int)(x1 - x0) : 0;
  roi->height = y1 > y0 ? (int)(y1 - y0) : 0;
  if (roi->width == 0 || roi->height == 0) roi->width = roi->height = 0;
  return roi->width > 0;
}

/* Kernel 3: ARN retrieval. Element (i, c) of the query is query[i * query_stride_item + c * query_stride_channel],
 * likewise for the key, so that both the conv output layout (channel-major, C × N) and row-major N × C work. */
typedef struct oceanplus_arn_params {
  int query_count, key_count, channels;
  int64_t query_stride_item, query_stride_channel;
  int64_t key_stride_item, key_stride_channel;
  float scale; /* 1/sqrt(channels) = 1/8 for 64 channels */
} oceanplus_arn_params;

/* Kernel 4: depthwise cross-correlation. search: batch × channels × search_h × search_w; kernel: kernel_batch ×
 * channels × kernel_h × kernel_w with kernel_batch 1 (shared by every search) or batch; output: batch × channels ×
 * (search_h + 2 pad - kernel_h + 1) × (search_w + 2 pad - kernel_w + 1). Zero padding. */
typedef struct oceanplus_xcorr_params {
  int batch, kernel_batch, channels;
  int search_h, search_w, kernel_h, kernel_w;
  int padding; /* 0 (valid) or more */
} oceanplus_xcorr_params;

static inline int oceanplus_xcorr_output_h(const oceanplus_xcorr_params* p) {
  return p->search_h + 2 * p->padding - p->kernel_h + 1;
}
static inline int oceanplus_xcorr_output_w(const oceanplus_xcorr_params* p) {
  return p->search_w + 2 * p->padding - p->kernel_w + 1;
}

/* Kernel 5: score activation, penalty, window, argmax. */
typedef enum oceanplus_score_activation {
  OCEANPLUS_ACTIVATION_SIGMOID = 0,      /* score = sigmoid(logits[0]) (OceanPlus) */
  OCEANPLUS_ACTIVATION_SOFTMAX2 = 1,     /* score = softmax(logits[0], logits[1])[1] (NanoTrack's 2-way classifier) */
  OCEANPLUS_ACTIVATION_NONE = 2          /* logits[0] already is the score */
} oceanplus_score_activation;

typedef struct oceanplus_peak_params {
  int score_size;    /* S: the maps are S × S */
  int activation;    /* oceanplus_score_activation */
  int stride;        /* score cell size in search-crop pixels */
  int instance_size; /* search crop side */
  float target_w_crop, target_h_crop; /* the target size before the step, in search-crop pixels */
  float penalty_k, window_influence;
} oceanplus_peak_params;

/* What leaves the device. status is OCEANPLUS_OK, or OCEANPLUS_NO_FINITE_SCORE (then index is -1). */
typedef struct oceanplus_peak {
  int status;
  int index, row, col; /* index = row * S + col; the first maximum in row-major order wins */
  float score;         /* the activated score at the peak (the reported confidence) */
  float pscore;        /* penalised, windowed score at the peak */
  float penalty;
  float ltrb[4];       /* the raw distances at the peak */
  float box[4];        /* x1, y1, x2, y2 of the peak's box in search-crop pixels */
} oceanplus_peak;

#ifdef __cplusplus
}
#endif

#endif /* OCEANPLUS_KERNELS_COMMON_H */
