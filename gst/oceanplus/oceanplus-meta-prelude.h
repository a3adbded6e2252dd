/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0)
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>

/* Symbols of the library are exported when it is being built and imported by its users. */
#ifndef GST_OCEANPLUS_META_API
# ifdef BUILDING_GST_OCEANPLUS_META
#  define GST_OCEANPLUS_META_API G_MODULE_EXPORT
# else
#  define GST_OCEANPLUS_META_API extern
# endif
#endif
