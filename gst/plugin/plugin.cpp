/* oceanplus-gst: the `oceanplus` GStreamer plugin (libgstoceanplus.so)
 * SPDX-License-Identifier: MIT
 */
#include <gst/gst.h>

#include "gstoceanplusexport.h"
#include "gstoceanplusoverlay.h"
#include "gstoceanplustrack.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean registered = FALSE;

  registered |= GST_ELEMENT_REGISTER (oceanplustrack, plugin);
  registered |= GST_ELEMENT_REGISTER (oceanplusoverlay, plugin);
  registered |= GST_ELEMENT_REGISTER (oceanplusexport, plugin);

  return registered;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, oceanplus,
    "Pixel-level object tracking (OceanPlus): a tracker, a mask overlay and a JSON-lines exporter",
    plugin_init, VERSION, "MIT", PACKAGE, GST_PACKAGE_ORIGIN)
