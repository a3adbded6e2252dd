/* oceanplus-gst: the plugin (libgstoceanplus.so)
 * SPDX-License-Identifier: MIT
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstoceanplustrack.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;
  ret |= GST_ELEMENT_REGISTER (oceanplustrack, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, oceanplus,
    "Pixel-level object tracking (OceanPlus): a tracker, an overlay and a JSON-lines exporter",
    plugin_init, OCEANPLUS_VERSION, "MIT", "oceanplus-gst", "https://github.com/oceanplus-gst/oceanplus-gst")
