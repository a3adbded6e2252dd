/* oceanplus-gst: run-length encoding of binary masks (see oceanplusrle.h for the convention)
 * SPDX-License-Identifier: MIT
 */
#include "oceanplusrle.h"

namespace oceanplus::rle {

std::vector<uint32_t> encode (const uint8_t *data, size_t stride, uint32_t rows, uint32_t cols)
{
  std::vector<uint32_t> counts;
  bool run_is_foreground = false;  // COCO counts start with a background run, possibly empty
  uint32_t run_length = 0;
  for (uint32_t col = 0; col < cols; ++col) {
    for (uint32_t row = 0; row < rows; ++row) {
      const bool foreground = data[row * stride + col] != 0;
      if (foreground != run_is_foreground) {
        counts.push_back (run_length);
        run_is_foreground = foreground;
        run_length = 0;
      }
      ++run_length;
    }
  }
  counts.push_back (run_length);
  return counts;
}

bool decode (const std::vector<uint32_t> &counts, uint32_t rows, uint32_t cols, std::vector<uint8_t> &mask)
{
  const uint64_t total = static_cast<uint64_t> (rows) * cols;
  uint64_t sum = 0;
  for (uint32_t count : counts)
    sum += count;
  if (sum != total)
    return false;

  std::vector<uint8_t> decoded (total, 0);
  uint64_t position = 0;  // index in column-major order
  bool foreground = false;
  for (uint32_t count : counts) {
    if (foreground) {
      for (uint64_t i = position; i < position + count; ++i)
        decoded[(i % rows) * cols + i / rows] = 255;
    }
    position += count;
    foreground = !foreground;
  }
  mask = std::move (decoded);
  return true;
}

}  // namespace oceanplus::rle
