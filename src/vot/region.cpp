#include "vot/region.h"

#include <algorithm>
#include <charconv>
#include <clocale>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <locale.h>

#include "common/error.h"

namespace oceanplus::vot {
namespace {

constexpr double kCoordLimit = double(1 << 29);

// Clamps a coordinate so that rounding and the arithmetic on the result stay inside int.
double clamp_coord(double v) {
  if (std::isnan(v)) return 0.0;
  return std::min(kCoordLimit, std::max(-kCoordLimit, v));
}

// Python's round(): half to even (the default FE_TONEAREST mode of nearbyint).
int round_coord(double v) { return static_cast<int>(std::nearbyint(clamp_coord(v))); }

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  while (true) {
    const auto pos = s.find(',', start);
    if (pos == std::string::npos) {
      out.push_back(s.substr(start));
      break;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
  return out;
}

std::string quote_token(const std::string& t) {
  constexpr std::size_t kMax = 32;
  return "'" + (t.size() > kMax ? t.substr(0, kMax) + "..." : t) + "'";
}

// A decimal floating-point number (locale-independent); "nan" and "inf" are accepted, as Python's float() does.
double parse_double(const std::string& token, std::size_t index) {
  std::string t = trim(token);
  if (t.empty()) throw Error("region number " + std::to_string(index + 1) + " is empty");
  const char* b = t.data();
  const char* e = t.data() + t.size();
  if (*b == '+') ++b;
  double v = 0;
  const auto res = std::from_chars(b, e, v);
  if (b == e || res.ec == std::errc::invalid_argument || res.ptr != e) {
    throw Error("region number " + std::to_string(index + 1) + " (" + quote_token(token) + ") is not a number");
  }
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow (-> +-inf) or underflow (-> 0): ask the C library, in the C locale, for the saturated value; the
    // coordinate clamp takes care of the magnitude later.
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
    v = strtod_l(t.c_str(), nullptr, c_locale);
  }
  return v;
}

std::int64_t parse_int(const std::string& token, const char* what) {
  std::string t = trim(token);
  if (t.empty()) throw Error(std::string("mask ") + what + " is empty");
  const char* b = t.data();
  const char* e = t.data() + t.size();
  if (*b == '+') ++b;
  std::int64_t v = 0;
  const auto res = std::from_chars(b, e, v);
  if (b == e || res.ec == std::errc::invalid_argument || res.ptr != e) {
    throw Error(std::string("mask ") + what + " " + quote_token(token) + " is not an integer");
  }
  if (res.ec == std::errc::result_out_of_range) {
    throw Error(std::string("mask ") + what + " " + quote_token(token) + " is out of range");
  }
  return v;
}

cv::Mat binarize(const cv::Mat& m) {
  if (m.empty()) return cv::Mat(std::max(m.rows, 0), std::max(m.cols, 0), CV_8U);
  if (m.channels() != 1) throw Error("a mask must have one channel, got " + std::to_string(m.channels()));
  cv::Mat out;
  cv::compare(m, 0, out, cv::CMP_NE);
  out.setTo(1, out);
  return out;
}

Region parse_mask(const std::string& body, std::int64_t max_mask_pixels) {
  const auto tokens = split_commas(body);
  if (tokens.size() < 4) {
    throw Error("mask region needs 'm<x0>,<y0>,<w>,<h>,<runs...>', got " + std::to_string(tokens.size()) +
                " numbers");
  }
  const std::int64_t x0 = parse_int(tokens[0], "offset x");
  const std::int64_t y0 = parse_int(tokens[1], "offset y");
  const std::int64_t w = parse_int(tokens[2], "width");
  const std::int64_t h = parse_int(tokens[3], "height");
  const auto limit = static_cast<std::int64_t>(kCoordLimit);
  if (x0 < -limit || x0 > limit || y0 < -limit || y0 > limit) {
    throw Error("mask offset " + std::to_string(x0) + "," + std::to_string(y0) + " is out of range (|v| <= 2^29)");
  }
  if (w < 0 || h < 0) throw Error("mask size " + std::to_string(w) + "x" + std::to_string(h) + " is negative");
  if (w > limit || h > limit || w * h > max_mask_pixels) {
    throw Error("mask size " + std::to_string(w) + "x" + std::to_string(h) + " exceeds the limit of " +
                std::to_string(max_mask_pixels) + " pixels");
  }
  std::vector<std::int64_t> runs;
  runs.reserve(tokens.size() - 4);
  for (std::size_t i = 4; i < tokens.size(); ++i) runs.push_back(parse_int(tokens[i], "run"));
  Region r;
  r.type = Region::Type::kMask;
  r.offset = cv::Point(static_cast<int>(x0), static_cast<int>(y0));
  r.mask = rle_decode(runs, static_cast<int>(w), static_cast<int>(h));
  return r;
}

void append_number(std::string& out, double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

// Calls span(y, x_begin, x_end) (x_end exclusive) for every filled span of the polygon on rows [row0, row1).
template <typename F>
void polygon_spans(const std::vector<cv::Point2d>& pts, int row0, int row1, F span) {
  const std::size_t n = pts.size();
  if (n < 3) return;
  std::vector<double> xs;
  xs.reserve(n);
  for (int y = row0; y < row1; ++y) {
    xs.clear();
    const double yc = y;
    for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
      const double yi = clamp_coord(pts[i].y), yj = clamp_coord(pts[j].y);
      const double lo = std::min(yi, yj), hi = std::max(yi, yj);
      if (lo <= yc && yc < hi) {
        const double xi = clamp_coord(pts[i].x), xj = clamp_coord(pts[j].x);
        xs.push_back(xi + (yc - yi) * (xj - xi) / (yj - yi));
      }
    }
    std::sort(xs.begin(), xs.end());
    for (std::size_t k = 0; k + 1 < xs.size(); k += 2) {
      const int a = round_coord(xs[k]);
      const int b = round_coord(xs[k + 1]);
      if (b > a) span(y, a, b);
    }
  }
}

cv::Rect polygon_extent(const std::vector<cv::Point2d>& pts) {
  if (pts.size() < 3) return {};
  double xmin = kCoordLimit, xmax = -kCoordLimit, ymin = kCoordLimit, ymax = -kCoordLimit;
  for (const auto& p : pts) {
    xmin = std::min(xmin, clamp_coord(p.x));
    xmax = std::max(xmax, clamp_coord(p.x));
    ymin = std::min(ymin, clamp_coord(p.y));
    ymax = std::max(ymax, clamp_coord(p.y));
  }
  const int x0 = round_coord(xmin), x1 = round_coord(xmax);  // columns x0 .. x1 - 1
  const int y0 = static_cast<int>(std::ceil(ymin)), y1 = static_cast<int>(std::ceil(ymax));  // rows y0 .. y1 - 1
  if (x1 <= x0 || y1 <= y0) return {};
  return cv::Rect(x0, y0, x1 - x0, y1 - y0);
}

}  // namespace

Region Region::special(int code) {
  Region r;
  r.type = Type::kSpecial;
  r.code = code;
  return r;
}

Region Region::rectangle(double x, double y, double w, double h) {
  Region r;
  r.type = Type::kRectangle;
  r.x = x;
  r.y = y;
  r.w = w;
  r.h = h;
  return r;
}

Region Region::polygon(std::vector<cv::Point2d> points) {
  Region r;
  r.type = Type::kPolygon;
  r.points = std::move(points);
  return r;
}

Region Region::from_mask(const cv::Mat& crop, cv::Point offset) {
  Region r;
  r.type = Type::kMask;
  r.offset = offset;
  r.mask = binarize(crop);
  return r;
}

Region Region::from_full_mask(const cv::Mat& full) {
  const cv::Rect b = mask_bounds(full);
  if (b.empty()) return from_mask(cv::Mat(0, 0, CV_8U), {0, 0});
  return from_mask(full(b), b.tl());
}

cv::Rect mask_bounds(const cv::Mat& mask) {
  if (mask.empty()) return {};
  if (mask.channels() != 1) throw Error("a mask must have one channel, got " + std::to_string(mask.channels()));
  if (mask.depth() != CV_8U) return mask_bounds(binarize(mask));
  int x0 = mask.cols, x1 = -1, y0 = mask.rows, y1 = -1;
  for (int y = 0; y < mask.rows; ++y) {
    const std::uint8_t* row = mask.ptr<std::uint8_t>(y);
    int first = -1, last = -1;
    for (int x = 0; x < mask.cols; ++x) {
      if (row[x] != 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    y0 = std::min(y0, y);
    y1 = y;
    x0 = std::min(x0, first);
    x1 = std::max(x1, last);
  }
  if (y1 < 0) return {};
  return cv::Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
}

cv::Rect region_bounds(const Region& r) {
  switch (r.type) {
    case Region::Type::kSpecial:
      return {};
    case Region::Type::kRectangle: {
      const int x0 = round_coord(r.x), x1 = round_coord(clamp_coord(r.x) + clamp_coord(r.w) - 1);
      const int y0 = round_coord(r.y), y1 = round_coord(clamp_coord(r.y) + clamp_coord(r.h) - 1);
      if (x1 < x0 || y1 < y0) return {};
      return cv::Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }
    case Region::Type::kPolygon:
      return polygon_extent(r.points);
    case Region::Type::kMask: {
      const cv::Rect b = mask_bounds(r.mask);
      if (b.empty()) return {};
      return b + r.offset;
    }
  }
  return {};
}

bool is_empty(const Region& r) {
  switch (r.type) {
    case Region::Type::kSpecial:
      return false;
    case Region::Type::kRectangle:
    case Region::Type::kMask:
      return region_bounds(r).empty();
    case Region::Type::kPolygon: {
      const cv::Rect b = region_bounds(r);
      if (b.empty()) return true;
      if (b.height > (1 << 20)) return false;  // too tall to scan cheaply; such a polygon is not empty in practice
      bool any = false;
      polygon_spans(r.points, b.y, b.y + b.height, [&](int, int, int) { any = true; });
      return !any;
    }
  }
  return true;
}

cv::Mat rasterize(const Region& r, const cv::Rect& window) {
  if (window.width < 0 || window.height < 0) throw Error("rasterize: negative window size");
  cv::Mat out = cv::Mat::zeros(window.height, window.width, CV_8U);
  if (window.empty()) return out;
  switch (r.type) {
    case Region::Type::kSpecial:
      break;
    case Region::Type::kRectangle: {
      const cv::Rect b = region_bounds(r) & window;
      if (!b.empty()) out(b - window.tl()).setTo(1);
      break;
    }
    case Region::Type::kPolygon: {
      const cv::Rect b = region_bounds(r) & window;
      if (b.empty()) break;
      const int xl = window.x, xr = window.x + window.width;
      polygon_spans(r.points, b.y, b.y + b.height, [&](int y, int a, int c) {
        a = std::max(a, xl);
        c = std::min(c, xr);
        if (c > a) out.row(y - window.y).colRange(a - window.x, c - window.x).setTo(1);
      });
      break;
    }
    case Region::Type::kMask: {
      if (r.mask.empty()) break;
      const cv::Rect place(r.offset, r.mask.size());
      const cv::Rect b = place & window;
      if (b.empty()) break;
      cv::Mat src = r.mask(b - r.offset);
      cv::Mat dst = out(b - window.tl());
      cv::compare(src, 0, dst, cv::CMP_NE);
      dst.setTo(1, dst);
      break;
    }
  }
  return out;
}

cv::Mat to_full_mask(const Region& r, cv::Size size) { return rasterize(r, cv::Rect(cv::Point(0, 0), size)); }

std::vector<std::int64_t> rle_encode(const cv::Mat& crop01) {
  std::vector<std::int64_t> runs;
  if (!crop01.empty() && crop01.channels() != 1) {
    throw Error("rle_encode: a mask must have one channel, got " + std::to_string(crop01.channels()));
  }
  cv::Mat m = crop01.empty() ? cv::Mat() : binarize(crop01);
  std::uint8_t v = 0;
  std::int64_t count = 0;
  for (int y = 0; y < m.rows; ++y) {
    const std::uint8_t* row = m.ptr<std::uint8_t>(y);
    for (int x = 0; x < m.cols; ++x) {
      if (row[x] != v) {
        runs.push_back(count);
        count = 0;
        v = row[x];
      }
      ++count;
    }
  }
  runs.push_back(count);
  return runs;
}

cv::Mat rle_decode(const std::vector<std::int64_t>& runs, int width, int height) {
  if (width < 0 || height < 0) throw Error("mask size " + std::to_string(width) + "x" + std::to_string(height) +
                                           " is negative");
  const std::int64_t total = std::int64_t{width} * height;
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i] < 0) throw Error("mask run " + std::to_string(i + 1) + " is negative (" + std::to_string(runs[i]) + ")");
    if (runs[i] > total - sum) {
      throw Error("mask runs cover more than the " + std::to_string(width) + "x" + std::to_string(height) +
                  " crop (" + std::to_string(total) + " pixels)");
    }
    sum += runs[i];
  }
  cv::Mat m = cv::Mat::zeros(height, width, CV_8U);
  if (total == 0) return m;
  std::uint8_t* p = m.ptr<std::uint8_t>(0);  // freshly allocated: continuous
  std::int64_t idx = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (i % 2 == 1) std::fill(p + idx, p + idx + runs[i], std::uint8_t{1});
    idx += runs[i];
  }
  return m;
}

Region parse_region(const std::string& line, std::int64_t max_mask_pixels) {
  const std::string s = trim(line);
  if (s.empty()) throw Error("empty region line");
  if (s[0] == 'm' || s[0] == 'M') return parse_mask(s.substr(1), max_mask_pixels);
  const auto tokens = split_commas(s);
  std::vector<double> v;
  v.reserve(tokens.size());
  bool any_nan = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    v.push_back(parse_double(tokens[i], i));
    any_nan = any_nan || std::isnan(v.back());
  }
  if (v.size() == 1) {
    if (any_nan) return Region::special(kSpecialUnknown);
    if (!(std::fabs(v[0]) < 2147483648.0)) throw Error("special region code " + quote_token(tokens[0]) +
                                                       " is out of range");
    return Region::special(static_cast<int>(v[0]));  // truncation, as Python's int()
  }
  if (v.size() == 4) {
    if (any_nan) return Region::special(kSpecialUnknown);
    return Region::rectangle(v[0], v[1], v[2], v[3]);
  }
  if (v.size() >= 6 && v.size() % 2 == 0) {
    if (any_nan) return Region::special(kSpecialUnknown);
    std::vector<cv::Point2d> pts;
    pts.reserve(v.size() / 2);
    for (std::size_t i = 0; i < v.size(); i += 2) pts.emplace_back(v[i], v[i + 1]);
    return Region::polygon(std::move(pts));
  }
  throw Error("a region line has 1 (special), 4 (rectangle) or an even number >= 6 (polygon) of numbers, got " +
              std::to_string(v.size()));
}

std::string format_region(const Region& r) {
  std::string out;
  switch (r.type) {
    case Region::Type::kSpecial:
      return std::to_string(r.code);
    case Region::Type::kRectangle:
      append_number(out, r.x);
      out += ',';
      append_number(out, r.y);
      out += ',';
      append_number(out, r.w);
      out += ',';
      append_number(out, r.h);
      return out;
    case Region::Type::kPolygon:
      for (std::size_t i = 0; i < r.points.size(); ++i) {
        if (i) out += ',';
        append_number(out, r.points[i].x);
        out += ',';
        append_number(out, r.points[i].y);
      }
      return out;
    case Region::Type::kMask: {
      const cv::Rect b = mask_bounds(r.mask);
      if (b.empty()) return "m0,0,0,0,0";
      out = "m" + std::to_string(r.offset.x + b.x) + "," + std::to_string(r.offset.y + b.y) + "," +
            std::to_string(b.width) + "," + std::to_string(b.height);
      for (const auto run : rle_encode(r.mask(b))) out += "," + std::to_string(run);
      return out;
    }
  }
  return out;
}

namespace {

// Lines of a text file with trailing blank lines dropped; errors name the file.
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  if (in.bad()) throw Error(path + ": read error");
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  return lines;
}

}  // namespace

std::vector<Region> read_regions(const std::string& path, std::int64_t max_mask_pixels) {
  const auto lines = read_lines(path);
  std::vector<Region> out;
  out.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      out.push_back(parse_region(lines[i], max_mask_pixels));
    } catch (const Error& e) {
      throw Error(path + ":" + std::to_string(i + 1) + ": " + e.what());
    }
  }
  return out;
}

void write_regions(const std::string& path, const std::vector<Region>& regions) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot open for writing");
  for (const auto& r : regions) out << format_region(r) << '\n';
  out.flush();
  if (!out) throw Error(path + ": write error");
}

std::vector<double> read_values(const std::string& path) {
  const auto lines = read_lines(path);
  std::vector<double> out;
  out.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      out.push_back(parse_double(lines[i], 0));
    } catch (const Error& e) {
      throw Error(path + ":" + std::to_string(i + 1) + ": " + e.what());
    }
  }
  return out;
}

std::vector<bool> read_tags(const std::string& path) {
  const auto values = read_values(path);
  std::vector<bool> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i] != 0.0 && !std::isnan(values[i]);
  return out;
}

}  // namespace oceanplus::vot
