/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0)
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>

/* Symbols of the library are exported when it is being built and imported by its users (GStreamer's own
 * export/import macros from gst/gstconfig.h: G_MODULE_EXPORT would need <gmodule.h>, which gst/gst.h does not
 * include). */
#ifndef GST_OCEANPLUS_META_API
# ifdef BUILDING_GST_OCEANPLUS_META
#  define GST_OCEANPLUS_META_API GST_API_EXPORT
# else
#  define GST_OCEANPLUS_META_API GST_API_IMPORT
# endif
#endif
