// Label-map PNG I/O for the DAVIS evaluator, on libpng directly.
//
// OpenCV's imread expands palette PNGs to colours; a DAVIS-2017 style annotation or result stores object ids as
// palette INDICES, so the evaluator reads PNGs itself:
//   - palette (1/2/4/8-bit): the indices, as is;
//   - grey 8-bit: the values, as is (grey 1/2/4-bit are scaled to 8 bits like PIL does: 1-bit gives 0/255);
//     a grey+alpha PNG loses its alpha;
//   - RGB/RGBA 8-bit: each colour mapped to its index in the standard DAVIS palette (alpha ignored); an RGB image
//     holding only black and white is read as a binary 0/255 map; any other colour is an error;
//   - 16-bit: an error (a label map is 8-bit).
// Every failure (unreadable file, corrupt or truncated data, unsupported format) throws oceanplus::Error naming the
// file and the problem. libpng errors are caught with setjmp/longjmp inside C-only frames; no C++ exception crosses
// libpng.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace oceanplus::eval {

// How the PNG stored its pixels (the GT loader treats grey 0/255 masks as DAVIS-2016 binary annotations).
enum class PngColor { Grey, Palette, Rgb };

struct LabelImage {
  cv::Mat labels;  // CV_8UC1, one label per pixel
  PngColor color = PngColor::Grey;
};

// The standard DAVIS (PASCAL VOC) palette: index 0 black, 1 (128,0,0), 2 (0,128,0), ..., 255 (224,224,192). RGB order.
const std::array<std::array<std::uint8_t, 3>, 256>& davis_palette();

LabelImage read_label_png(const std::string& path);

// The targets of an initial-mask PNG: a grey 0/255 mask (or any grey mask holding 255, e.g. anti-aliased, or a mask
// whose only value is 255) is one target (label 255, every non-zero pixel); otherwise each non-zero label is one
// target, in label order. Masks are CV_8U 0/255. Empty when no pixel is set.
struct LabelTarget {
  int label = 0;
  cv::Mat mask;
};
std::vector<LabelTarget> split_label_targets(const LabelImage& image);
// The same from bytes in memory; `name` is used in error messages.
LabelImage decode_label_png(const std::uint8_t* data, std::size_t size, const std::string& name);

// 8-bit palette PNG with the DAVIS palette (256 entries): pixel value = palette index = object id.
std::vector<std::uint8_t> encode_label_png_palette(const cv::Mat& labels);
// 8-bit grey PNG: pixel values as is (e.g. 0/255 binary masks).
std::vector<std::uint8_t> encode_label_png_grey(const cv::Mat& labels);
void write_label_png_palette(const std::string& path, const cv::Mat& labels);
void write_label_png_grey(const std::string& path, const cv::Mat& labels);

}  // namespace oceanplus::eval
