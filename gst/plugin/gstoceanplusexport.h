/* oceanplus-gst: writes the tracked targets of each buffer as one JSON line
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

/**
 * GstOceanPlusExportMaskFormat:
 * @GST_OCEANPLUS_EXPORT_MASK_FORMAT_RLE: COCO-style uncompressed run-length encoding, column-major
 * @GST_OCEANPLUS_EXPORT_MASK_FORMAT_NONE: masks are not written
 *
 * How `oceanplusexport` writes each target's mask.
 */
typedef enum {
  GST_OCEANPLUS_EXPORT_MASK_FORMAT_RLE = 0,
  GST_OCEANPLUS_EXPORT_MASK_FORMAT_NONE = 1,
} GstOceanPlusExportMaskFormat;

GType gst_oceanplus_export_mask_format_get_type (void);
#define GST_TYPE_OCEANPLUS_EXPORT_MASK_FORMAT (gst_oceanplus_export_mask_format_get_type ())

#define GST_TYPE_OCEANPLUS_EXPORT (gst_oceanplus_export_get_type ())

/**
 * GstOceanPlusExport:
 *
 * Opaque datastructure.
 */
G_DECLARE_FINAL_TYPE (GstOceanPlusExport, gst_oceanplus_export, GST, OCEANPLUS_EXPORT, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (oceanplusexport);

G_END_DECLS
