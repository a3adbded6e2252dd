/* oceanplus-gst tests: helpers shared by the plugin's element tests
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/oceanplus/gstoceanplustrackmeta.h>
#include <gst/video/video.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace oceanplus_test {

/* gst_init once, and a check that the plugin under test is the one found (GST_PLUGIN_PATH points at the build). */
inline void
init_gstreamer_with_plugin ()
{
  gst_init (nullptr, nullptr);
  GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (), "oceanplus");
  ASSERT_NE (plugin, nullptr) << "the oceanplus plugin is not on GST_PLUGIN_PATH";
  gst_object_unref (plugin);
}

/* A GRAY8 mask of @width × @height (columns × rows) whose pixel (col, row) is 255 where @foreground says so. */
inline GstBuffer *
make_mask (guint width, guint height, const std::function<bool (guint col, guint row)> & foreground)
{
  GstBuffer *mask = gst_oceanplus_mask_new (width, height);
  if (mask == nullptr)
    return nullptr;
  GstVideoMeta *vmeta = gst_buffer_get_video_meta (mask);
  GstMapInfo map;
  gpointer data;
  gint stride;
  if (vmeta == nullptr || !gst_video_meta_map (vmeta, 0, &map, &data, &stride, GST_MAP_WRITE)) {
    gst_buffer_unref (mask);
    return nullptr;
  }
  for (guint row = 0; row < height; ++row)
    for (guint col = 0; col < width; ++col)
      static_cast<uint8_t *> (data)[row * stride + col] = foreground (col, row) ? 255 : 0;
  gst_video_meta_unmap (vmeta, 0, &map);
  return mask;
}

/* The bytes of a buffer. */
inline std::vector<uint8_t>
buffer_bytes (GstBuffer * buffer)
{
  std::vector<uint8_t> bytes (gst_buffer_get_size (buffer));
  gst_buffer_extract (buffer, 0, bytes.data (), bytes.size ());
  return bytes;
}

}  // namespace oceanplus_test
