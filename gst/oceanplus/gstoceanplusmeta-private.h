/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0): internal helpers, not installed
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* The "oceanplusmeta" debug category, created on first use. */
G_GNUC_INTERNAL
GstDebugCategory *_gst_oceanplus_meta_debug_category (void);

/* Whether @mask is a usable mask: a GRAY8 #GstVideoMeta of non-zero size whose plane fits in the buffer. Returns
 * that meta, or NULL (logging why at DEBUG level). */
G_GNUC_INTERNAL
GstVideoMeta *_gst_oceanplus_mask_get_video_meta (GstBuffer * mask);

G_END_DECLS
