#include "eval/label_png.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <unordered_map>

#include "common/error.h"

namespace oceanplus::eval {

namespace {

// Upper bound on the pixel count a label PNG may claim (a corrupt header must not make us allocate gigabytes).
constexpr std::uint64_t kMaxPixels = 1ull << 27;

Error png_error_for(const std::string& name, const std::string& message) { return Error(name + ": " + message); }

// ---- libpng callbacks: plain C-style code, no objects with destructors (libpng longjmps through them) ---------------

struct ReadContext {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos;
  char message[256];
};

struct WriteContext {
  std::vector<std::uint8_t>* out;
  bool out_of_memory;
  char message[256];
};

void on_png_error(png_structp png, png_const_charp message) {
  // The error pointer is the context's 256-byte message buffer (see png_create_*_struct below).
  char* buffer = static_cast<char*>(png_get_error_ptr(png));
  std::snprintf(buffer, 256, "%s", message != nullptr ? message : "libpng error");
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}  // warnings (bad ancillary chunks, sRGB profiles) are ignored

void read_from_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* ctx = static_cast<ReadContext*>(png_get_io_ptr(png));
  if (count > ctx->size - ctx->pos) png_error(png, "unexpected end of data (truncated PNG)");
  std::memcpy(out, ctx->data + ctx->pos, count);
  ctx->pos += count;
}

void write_to_memory(png_structp png, png_bytep data, png_size_t count) {
  auto* ctx = static_cast<WriteContext*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    ctx->out->insert(ctx->out->end(), data, data + count);
  } catch (...) {
    failed = true;
  }
  if (failed) {
    ctx->out_of_memory = true;
    png_error(png, "out of memory while encoding PNG");
  }
}

void flush_nothing(png_structp) {}

// The decoded rows before the label mapping. Lives in the caller's frame; decode_raw only resizes it.
struct RawImage {
  png_uint_32 width = 0, height = 0;
  int color_type = 0, bit_depth = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<png_bytep> rows;
};

enum DecodeStatus { kDecoded = 0, kLibpngError = 1, kUnsupported = 2 };

// The only function with a setjmp. It has no local objects with destructors; everything that must survive a
// longjmp is reached through the pointers.
int decode_raw(png_structp png, png_infop info, ReadContext* ctx, RawImage* raw) {
  if (setjmp(png_jmpbuf(png))) return kLibpngError;
  png_set_read_fn(png, ctx, read_from_memory);
  png_set_user_limits(png, 1u << 16, 1u << 16);
  png_read_info(png, info);
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, nullptr, nullptr);
  raw->width = width;
  raw->height = height;
  raw->bit_depth = bit_depth;
  raw->color_type = color_type;
  if (bit_depth == 16) {
    std::snprintf(ctx->message, sizeof ctx->message,
                  "16-bit PNG is not supported for label maps (expected 8-bit grey, palette or RGB)");
    return kUnsupported;
  }
  if (static_cast<std::uint64_t>(width) * height > kMaxPixels) {
    std::snprintf(ctx->message, sizeof ctx->message, "image too large for a label map (%ux%u)", width, height);
    return kUnsupported;
  }
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_packing(png);  // 1/2/4-bit indices to one byte each, values unchanged
  } else if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
    if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_strip_alpha(png);
  } else if (color_type == PNG_COLOR_TYPE_RGB || color_type == PNG_COLOR_TYPE_RGB_ALPHA) {
    if (color_type == PNG_COLOR_TYPE_RGB_ALPHA) png_set_strip_alpha(png);
  } else {
    std::snprintf(ctx->message, sizeof ctx->message, "unknown PNG colour type %d", color_type);
    return kUnsupported;
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  raw->channels = png_get_channels(png, info);
  const std::size_t row_bytes = png_get_rowbytes(png, info);
  if (row_bytes != static_cast<std::size_t>(width) * raw->channels) {
    std::snprintf(ctx->message, sizeof ctx->message, "unexpected PNG row size");
    return kUnsupported;
  }
  raw->pixels.resize(row_bytes * height);
  raw->rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) raw->rows[y] = raw->pixels.data() + row_bytes * y;
  png_read_image(png, raw->rows.data());
  png_read_end(png, nullptr);
  return kDecoded;
}

int encode_raw(png_structp png, png_infop info, WriteContext* ctx, png_uint_32 width, png_uint_32 height,
               bool palette, const png_color* colors, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return kLibpngError;
  png_set_write_fn(png, ctx, write_to_memory, flush_nothing);
  png_set_IHDR(png, info, width, height, 8, palette ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette) png_set_PLTE(png, info, colors, 256);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return kDecoded;
}

struct ReadStructGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadStructGuard() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

struct WriteStructGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~WriteStructGuard() {
    if (png != nullptr) png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
  }
};

std::uint32_t pack_rgb(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return (static_cast<std::uint32_t>(r) << 16) | (static_cast<std::uint32_t>(g) << 8) | b;
}

cv::Mat map_rgb_to_labels(const RawImage& raw, const std::string& name) {
  const auto& palette = davis_palette();
  std::unordered_map<std::uint32_t, std::uint8_t> index;
  for (int i = 255; i >= 0; --i) index[pack_rgb(palette[i][0], palette[i][1], palette[i][2])] = static_cast<std::uint8_t>(i);
  const int w = static_cast<int>(raw.width), h = static_cast<int>(raw.height);
  cv::Mat labels(h, w, CV_8UC1);
  bool only_black_white = true;
  bool unknown = false;
  int ux = 0, uy = 0;
  std::uint32_t unknown_color = 0;
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = raw.rows[y];
    auto* out = labels.ptr<std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const std::uint8_t r = row[3 * x], g = row[3 * x + 1], b = row[3 * x + 2];
      const std::uint32_t c = pack_rgb(r, g, b);
      if (c != 0 && c != 0xFFFFFFu) only_black_white = false;
      auto it = index.find(c);
      if (it == index.end()) {
        if (!unknown) {
          unknown = true;
          ux = x;
          uy = y;
          unknown_color = c;
        }
        out[x] = c == 0xFFFFFFu ? 255 : 0;
      } else {
        out[x] = it->second;
      }
    }
  }
  if (unknown && !only_black_white) {
    char buffer[160];
    std::snprintf(buffer, sizeof buffer,
                  "RGB colour (%u,%u,%u) at pixel (x=%d, y=%d) is not in the DAVIS palette; cannot map it to an "
                  "object id",
                  (unknown_color >> 16) & 0xFF, (unknown_color >> 8) & 0xFF, unknown_color & 0xFF, ux, uy);
    throw png_error_for(name, buffer);
  }
  return labels;
}

std::vector<std::uint8_t> encode(const cv::Mat& labels, bool palette) {
  if (labels.empty() || labels.type() != CV_8UC1)
    throw Error("label PNG encoder: expected a non-empty CV_8UC1 label map");
  std::array<png_color, 256> colors{};
  const auto& pal = davis_palette();
  for (int i = 0; i < 256; ++i) colors[i] = png_color{pal[i][0], pal[i][1], pal[i][2]};
  cv::Mat continuous = labels.isContinuous() ? labels : labels.clone();
  std::vector<png_bytep> rows(continuous.rows);
  for (int y = 0; y < continuous.rows; ++y) rows[y] = continuous.ptr<std::uint8_t>(y);
  std::vector<std::uint8_t> out;
  WriteContext ctx{&out, false, {0}};
  WriteStructGuard guard;
  guard.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx.message, on_png_error, on_png_warning);
  if (guard.png == nullptr) throw Error("label PNG encoder: png_create_write_struct failed");
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) throw Error("label PNG encoder: png_create_info_struct failed");
  const int status = encode_raw(guard.png, guard.info, &ctx, static_cast<png_uint_32>(continuous.cols),
                                static_cast<png_uint_32>(continuous.rows), palette, colors.data(), rows.data());
  if (status != kDecoded) throw Error(std::string("label PNG encoder: ") + ctx.message);
  return out;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw Error(path + ": write failed");
}

}  // namespace

const std::array<std::array<std::uint8_t, 3>, 256>& davis_palette() {
  static const auto palette = [] {
    std::array<std::array<std::uint8_t, 3>, 256> p{};
    for (int i = 0; i < 256; ++i) {
      int c = i, r = 0, g = 0, b = 0;
      for (int j = 0; j < 8; ++j) {
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
      }
      p[i] = {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)};
    }
    return p;
  }();
  return palette;
}

LabelImage decode_label_png(const std::uint8_t* data, std::size_t size, const std::string& name) {
  static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (data == nullptr || size < 8 || std::memcmp(data, kSignature, 8) != 0)
    throw png_error_for(name, "not a PNG file (bad signature)");
  ReadContext ctx{data, size, 0, {0}};
  RawImage raw;
  ReadStructGuard guard;
  guard.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx.message, on_png_error, on_png_warning);
  if (guard.png == nullptr) throw png_error_for(name, "png_create_read_struct failed");
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) throw png_error_for(name, "png_create_info_struct failed");
  const int status = decode_raw(guard.png, guard.info, &ctx, &raw);
  if (status == kLibpngError) throw png_error_for(name, std::string("corrupt or truncated PNG: ") + ctx.message);
  if (status == kUnsupported) throw png_error_for(name, ctx.message);
  if (raw.width == 0 || raw.height == 0) throw png_error_for(name, "empty image");

  LabelImage result;
  const int w = static_cast<int>(raw.width), h = static_cast<int>(raw.height);
  if (raw.channels == 1) {
    result.labels = cv::Mat(h, w, CV_8UC1);
    for (int y = 0; y < h; ++y) std::memcpy(result.labels.ptr<std::uint8_t>(y), raw.rows[y], static_cast<std::size_t>(w));
    result.color = raw.color_type == PNG_COLOR_TYPE_PALETTE ? PngColor::Palette : PngColor::Grey;
  } else if (raw.channels == 3) {
    result.labels = map_rgb_to_labels(raw, name);
    result.color = PngColor::Rgb;
  } else {
    throw png_error_for(name, "unexpected channel count " + std::to_string(raw.channels));
  }
  return result;
}

std::vector<LabelTarget> split_label_targets(const LabelImage& image) {
  std::map<int, int> counts;
  for (int y = 0; y < image.labels.rows; ++y) {
    const uint8_t* row = image.labels.ptr<uint8_t>(y);
    for (int x = 0; x < image.labels.cols; ++x) {
      if (row[x] != 0) ++counts[row[x]];
    }
  }
  std::vector<LabelTarget> targets;
  if (counts.empty()) return targets;
  const bool binary = counts.count(255) && (counts.size() == 1 || image.color == PngColor::Grey);
  if (binary) {
    targets.push_back({255, image.labels != 0});
  } else {
    for (const auto& [label, pixels] : counts) targets.push_back({label, image.labels == label});
  }
  return targets;
}

LabelImage read_label_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open label PNG (missing or unreadable)");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read error");
  return decode_label_png(bytes.data(), bytes.size(), path);
}

std::vector<std::uint8_t> encode_label_png_palette(const cv::Mat& labels) { return encode(labels, true); }
std::vector<std::uint8_t> encode_label_png_grey(const cv::Mat& labels) { return encode(labels, false); }

void write_label_png_palette(const std::string& path, const cv::Mat& labels) {
  write_file(path, encode_label_png_palette(labels));
}
void write_label_png_grey(const std::string& path, const cv::Mat& labels) {
  write_file(path, encode_label_png_grey(labels));
}

}  // namespace oceanplus::eval
