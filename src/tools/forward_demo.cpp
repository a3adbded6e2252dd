// oceanplus-forward: one template pass and one search pass of the OceanPlus network on two frames, printing what the
// network outputs (score peak, box, mask coverage, timings). The README's main job until the tracker exists.
//
//   oceanplus-forward [--template-image F] [--search-image F] [--box x,y,w,h] [--model FILE] [--decoder mss|mms]
//                     [--threads N] [--mask-out FILE.png]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include "common/error.h"
#include "common/openmp_env.h"
#include "nn/oceanplus_net.h"
#include "track/subwindow.h"

namespace {

using oceanplus::nn::MaskDecoder;
using oceanplus::nn::OceanPlusNet;

constexpr int kExemplarSize = 127;
constexpr int kInstanceSize = 255;
constexpr int kStride = 8;

struct Options {
  std::string template_image = "examples/data/vtest/00000.jpg";
  std::string search_image = "examples/data/vtest/00004.jpg";
  cv::Rect2d box{638, 238, 48, 84};
  std::string model;
  MaskDecoder decoder = MaskDecoder::MSS;
  int threads = 2;
  std::string mask_out;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "oceanplus-forward: %s\n", message.c_str());
  std::exit(1);
}

void print_help() {
  std::puts(
      "oceanplus-forward: run the OceanPlus network once on a template frame and a search frame.\n"
      "  --template-image F   first frame (default examples/data/vtest/00000.jpg)\n"
      "  --search-image F     later frame (default examples/data/vtest/00004.jpg)\n"
      "  --box x,y,w,h        target in the first frame, pixels (default 638,238,48,84)\n"
      "  --model FILE         weights (.pt plain dict or official .pth); default: random weights\n"
      "  --decoder mss|mms    decoder of the random weights (a model file decides its own)\n"
      "  --threads N          CPU threads (default 2; 1 is much slower on Debian's LibTorch)\n"
      "  --mask-out F.png     write the search-crop foreground probability as an 8-bit image");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("missing value after " + a);
      return argv[++i];
    };
    if (a == "--template-image") o.template_image = value();
    else if (a == "--search-image") o.search_image = value();
    else if (a == "--model") o.model = value();
    else if (a == "--mask-out") o.mask_out = value();
    else if (a == "--threads") o.threads = std::max(1, std::atoi(value().c_str()));
    else if (a == "--decoder") {
      const std::string d = value();
      if (d != "mss" && d != "mms") fail("--decoder takes mss or mms, not '" + d + "'");
      o.decoder = d == "mms" ? MaskDecoder::MMS : MaskDecoder::MSS;
    } else if (a == "--box") {
      std::stringstream s(value());
      char comma1 = 0, comma2 = 0, comma3 = 0;
      s >> o.box.x >> comma1 >> o.box.y >> comma2 >> o.box.width >> comma3 >> o.box.height;
      if (!s || comma1 != ',' || comma2 != ',' || comma3 != ',') fail("--box takes x,y,w,h in pixels");
    } else if (a == "--help" || a == "-h") {
      print_help();
      std::exit(0);
    } else {
      fail("unknown option '" + a + "' (see --help)");
    }
  }
  return o;
}

cv::Mat read_image(const std::string& path) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) fail("cannot read image '" + path + "' (missing or not an image)");
  return image;
}

// HWC uint8 BGR -> 1×3×H×W float 0..255 (the network takes raw BGR values).
at::Tensor to_tensor(const cv::Mat& bgr) {
  return at::from_blob(bgr.data, {bgr.rows, bgr.cols, 3}, at::kByte).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat)
      .contiguous();
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  oceanplus::prefer_passive_openmp_wait(argv);
  const Options o = parse(argc, argv);
  at::set_num_threads(o.threads);
  const cv::Mat first = read_image(o.template_image);
  const cv::Mat later = read_image(o.search_image);
  const cv::Rect2d frame_rect(0, 0, first.cols, first.rows);
  if (o.box.width <= 0 || o.box.height <= 0) fail("--box has zero size");
  if ((o.box & frame_rect).area() <= 0) fail("--box lies outside the first frame");

  std::shared_ptr<OceanPlusNet> net;
  try {
    if (o.model.empty()) {
      std::printf("model: none given, so random weights (%s): the numbers below show the network running, not "
                  "tracking quality\n", oceanplus::nn::mask_decoder_name(o.decoder));
      net = OceanPlusNet::load(OceanPlusNet::synthetic_weights(o.decoder));
    } else {
      net = OceanPlusNet::load_file(o.model);
      std::printf("model: %s (%s decoder)\n", o.model.c_str(), oceanplus::nn::mask_decoder_name(net->decoder()));
    }
  } catch (const oceanplus::Error& e) {
    fail(e.what());
  }

  // Template: the reference's context window around the box, padded with the first frame's mean colour.
  const double cx = o.box.x + o.box.width / 2, cy = o.box.y + o.box.height / 2;
  const double context = 0.5 * (o.box.width + o.box.height);
  const double s_z_exact = std::sqrt((o.box.width + context) * (o.box.height + context));
  const double s_z = std::nearbyint(s_z_exact);
  const cv::Scalar mean = oceanplus::track::mean_colour(first);
  const cv::Mat z = oceanplus::track::crop_subwindow(first, cx, cy, kExemplarSize, s_z, mean);
  cv::Mat box_mask(first.size(), CV_8UC1, cv::Scalar(0));
  cv::rectangle(box_mask, o.box, cv::Scalar(1), cv::FILLED);
  const cv::Mat z_mask = oceanplus::track::crop_subwindow(box_mask, cx, cy, kExemplarSize, s_z, cv::Scalar(0));
  const at::Tensor mask = at::from_blob(z_mask.data, {1, kExemplarSize, kExemplarSize}, at::kByte).to(at::kFloat);

  // The first call of each input size also packs the weights for it; the second shows the steady cost.
  auto start = std::chrono::steady_clock::now();
  net->make_template(to_tensor(z), mask);
  const double first_template_ms = ms_since(start);
  start = std::chrono::steady_clock::now();
  const oceanplus::nn::TemplateState state = net->make_template(to_tensor(z), mask);
  const double template_ms = ms_since(start);

  // Search: the window the tracker would use on the next frame (same centre, scaled context).
  const double scale_z = kExemplarSize / s_z_exact;
  const double s_x = std::round(s_z_exact + 2 * ((kInstanceSize - kExemplarSize) / 2.0) / scale_z);
  const cv::Mat x = oceanplus::track::crop_subwindow(later, cx, cy, kInstanceSize, s_x, mean);
  const at::Tensor x_tensor = to_tensor(x);
  start = std::chrono::steady_clock::now();
  net->track(state, x_tensor);
  const double first_frame_ms = ms_since(start);
  start = std::chrono::steady_clock::now();
  const oceanplus::nn::SearchOutput out = net->track(state, x_tensor);
  const double frame_ms = ms_since(start);

  const at::Tensor score = at::sigmoid(out.cls_logits[0][0]).contiguous();
  const int64_t side = score.size(0);
  const int64_t peak = score.flatten().argmax().item<int64_t>();
  const int64_t row = peak / side, col = peak % side;
  const at::Tensor ltrb = out.bbox_ltrb[0].select(1, row).select(1, col).contiguous();
  const double gx = (col - side / 2) * kStride + kInstanceSize / 2.0, gy = (row - side / 2) * kStride + kInstanceSize / 2.0;
  const double x1 = gx - ltrb[0].item<double>(), y1 = gy - ltrb[1].item<double>();
  const double x2 = gx + ltrb[2].item<double>(), y2 = gy + ltrb[3].item<double>();
  // Crop pixels -> frame pixels.
  const double bx = cx + ((x1 + x2) / 2 - kInstanceSize / 2.0) / scale_z, by = cy + ((y1 + y2) / 2 - kInstanceSize / 2.0) / scale_z;
  const double bw = (x2 - x1) / scale_z, bh = (y2 - y1) / scale_z;
  const at::Tensor prob = at::softmax(out.mask_logits[0], 0)[1].contiguous();

  std::printf("template crop: %dx%d px of the first frame -> %dx%d, template pass %.1f ms (first call %.1f ms)\n",
              int(s_z), int(s_z), kExemplarSize, kExemplarSize, template_ms, first_template_ms);
  std::printf("search crop:   %dx%d px of the later frame -> %dx%d, search pass %.1f ms (first call %.1f ms), "
              "%d threads\n", int(s_x), int(s_x), kInstanceSize, kInstanceSize, frame_ms, first_frame_ms,
              at::get_num_threads());
  std::printf("score map %ldx%ld: peak %.4f at (row %ld, col %ld)\n", long(side), long(side),
              score.max().item<double>(), long(row), long(col));
  std::printf("box at the peak: x=%.1f y=%.1f w=%.1f h=%.1f (frame pixels)\n", bx - bw / 2, by - bh / 2, bw, bh);
  std::printf("mask %ldx%ld: foreground probability mean %.3f, %.1f%% of the crop above 0.5\n", long(prob.size(0)),
              long(prob.size(1)), prob.mean().item<double>(), 100.0 * (prob > 0.5).to(at::kFloat).mean().item<double>());
  if (!o.mask_out.empty()) {
    at::Tensor image8 = (prob * 255).round().clamp(0, 255).to(at::kByte).contiguous();
    cv::Mat png(static_cast<int>(prob.size(0)), static_cast<int>(prob.size(1)), CV_8UC1, image8.data_ptr());
    if (!cv::imwrite(o.mask_out, png)) fail("cannot write '" + o.mask_out + "'");
    std::printf("wrote %s\n", o.mask_out.c_str());
  }
  return 0;
}
