/* oceanplus-gst: draws tracked targets (masks, boxes, polygons, labels) onto video
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_OCEANPLUS_OVERLAY (gst_oceanplus_overlay_get_type ())

/**
 * GstOceanPlusOverlay:
 *
 * Opaque datastructure.
 */
G_DECLARE_FINAL_TYPE (GstOceanPlusOverlay, gst_oceanplus_overlay, GST, OCEANPLUS_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE (oceanplusoverlay);

G_END_DECLS
