/* oceanplus-gst: run-length encoding of binary masks, as written by `oceanplusexport`
 * SPDX-License-Identifier: MIT
 *
 * The convention is COCO's uncompressed RLE (the "counts" list that pycocotools reads with
 * `mask_utils.frPyObjects({"size": [rows, cols], "counts": counts}, rows, cols)`):
 *
 *   - the mask is scanned in column-major (Fortran) order: down the first column, then down the second, ...;
 *   - a pixel is foreground when its value is non-zero;
 *   - counts alternate between runs of background and runs of foreground, starting with background, so the first
 *     count is 0 when the top-left pixel is foreground;
 *   - the counts add up to rows × cols.
 *
 * An all-background 3 × 2 mask encodes as [6], an all-foreground one as [0, 6].
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace oceanplus::rle {

/* Encodes a rows × cols mask whose row r starts at data + r * stride. */
std::vector<uint32_t> encode (const uint8_t *data, size_t stride, uint32_t rows, uint32_t cols);

/* Decodes counts into a row-major rows × cols mask (0 = background, 255 = foreground, no row padding).
 * Returns false, leaving @mask alone, when the counts do not add up to rows × cols. */
bool decode (const std::vector<uint32_t> &counts, uint32_t rows, uint32_t cols, std::vector<uint8_t> &mask);

}  // namespace oceanplus::rle
