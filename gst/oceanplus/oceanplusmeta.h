/* oceanplus-gst: public metadata library (gstreamer-oceanplusmeta-1.0), umbrella header
 * SPDX-License-Identifier: MIT
 *
 * Applications include this header and link `pkg-config --libs gstreamer-oceanplusmeta-1.0`; they need neither
 * LibTorch nor the plugin to read or attach the metadata.
 */
#pragma once

#include <gst/oceanplus/oceanplus-meta-prelude.h>
#include <gst/oceanplus/gstoceanplustrackmeta.h>
#include <gst/oceanplus/gstoceanplusevent.h>
