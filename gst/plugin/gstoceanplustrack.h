/* oceanplus-gst: the tracking element
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_OCEANPLUS_TRACK (gst_oceanplus_track_get_type ())
G_DECLARE_FINAL_TYPE (GstOceanPlusTrack, gst_oceanplus_track, GST, OCEANPLUS_TRACK, GstBaseTransform)

/**
 * GstOceanPlusVariant:
 * @GST_OCEANPLUS_VARIANT_AUTO: whatever the model file holds
 * @GST_OCEANPLUS_VARIANT_MSS: OceanPlus with the multi-stage mask decoder (faster)
 * @GST_OCEANPLUS_VARIANT_MMS: OceanPlus with the multi-resolution multi-stage decoder (more accurate)
 */
typedef enum {
  GST_OCEANPLUS_VARIANT_AUTO = 0,
  GST_OCEANPLUS_VARIANT_MSS = 1,
  GST_OCEANPLUS_VARIANT_MMS = 2,
} GstOceanPlusVariant;

/**
 * GstOceanPlusDevice:
 * @GST_OCEANPLUS_DEVICE_AUTO: the GPU when this build and machine have one, else the CPU
 * @GST_OCEANPLUS_DEVICE_CPU: the CPU
 * @GST_OCEANPLUS_DEVICE_CUDA: an NVIDIA GPU (an error where there is none)
 */
typedef enum {
  GST_OCEANPLUS_DEVICE_AUTO = 0,
  GST_OCEANPLUS_DEVICE_CPU = 1,
  GST_OCEANPLUS_DEVICE_CUDA = 2,
} GstOceanPlusDevice;

/**
 * GstOceanPlusPrecision:
 * @GST_OCEANPLUS_PRECISION_FP32: float32 (the reference numbers)
 * @GST_OCEANPLUS_PRECISION_FP16: float16, channels-last: a GPU's tensor cores (an error on the CPU)
 * @GST_OCEANPLUS_PRECISION_BF16: bfloat16, channels-last (tracks visibly less exactly)
 */
typedef enum {
  GST_OCEANPLUS_PRECISION_FP32 = 0,
  GST_OCEANPLUS_PRECISION_FP16 = 1,
  GST_OCEANPLUS_PRECISION_BF16 = 2,
} GstOceanPlusPrecision;

/**
 * GstOceanPlusFrameStep:
 * @GST_OCEANPLUS_FRAME_STEP_AUTO: on a GPU, else off
 * @GST_OCEANPLUS_FRAME_STEP_ON: always (on the CPU the kernels' references run)
 * @GST_OCEANPLUS_FRAME_STEP_OFF: never (OpenCV crops and paste-back)
 */
typedef enum {
  GST_OCEANPLUS_FRAME_STEP_AUTO = 0,
  GST_OCEANPLUS_FRAME_STEP_ON = 1,
  GST_OCEANPLUS_FRAME_STEP_OFF = 2,
} GstOceanPlusFrameStep;

GST_ELEMENT_REGISTER_DECLARE (oceanplustrack);

G_END_DECLS
