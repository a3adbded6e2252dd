// Label PNG I/O: palette indices are read as ids (not colours), round trips, RGB mapping, and corrupt/truncated
// input never crashes (libpng's longjmp is caught; an oceanplus::Error comes out).
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "common/error.h"
#include "eval/label_png.h"

namespace oceanplus::eval {
namespace {

cv::Mat sample_labels() {
  cv::Mat m = cv::Mat::zeros(37, 53, CV_8UC1);
  m(cv::Rect(3, 4, 10, 12)).setTo(1);
  m(cv::Rect(20, 10, 15, 9)).setTo(2);
  m(cv::Rect(40, 20, 8, 8)).setTo(7);
  m.at<uint8_t>(36, 52) = 255;
  return m;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

TEST(LabelPng, PaletteIsTheStandardDavisPalette) {
  const auto& p = davis_palette();
  EXPECT_EQ(p[0], (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(p[1], (std::array<uint8_t, 3>{128, 0, 0}));
  EXPECT_EQ(p[2], (std::array<uint8_t, 3>{0, 128, 0}));
  EXPECT_EQ(p[3], (std::array<uint8_t, 3>{128, 128, 0}));
  EXPECT_EQ(p[4], (std::array<uint8_t, 3>{0, 0, 128}));
  EXPECT_EQ(p[8], (std::array<uint8_t, 3>{64, 0, 0}));
  EXPECT_EQ(p[255], (std::array<uint8_t, 3>{224, 224, 192}));
}

TEST(LabelPng, PaletteRoundTripGivesIndices) {
  const cv::Mat labels = sample_labels();
  const std::string path = ::testing::TempDir() + "/label_palette.png";
  write_label_png_palette(path, labels);
  const LabelImage back = read_label_png(path);
  EXPECT_EQ(back.color, PngColor::Palette);
  EXPECT_TRUE(same(back.labels, labels));
  // OpenCV would have expanded it to colours: object 1 is dark red (BGR 0,0,128).
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  EXPECT_EQ(bgr.at<cv::Vec3b>(5, 5), cv::Vec3b(0, 0, 128));
}

TEST(LabelPng, GreyRoundTrip) {
  cv::Mat labels = sample_labels();
  const std::string path = ::testing::TempDir() + "/label_grey.png";
  write_label_png_grey(path, labels);
  const LabelImage back = read_label_png(path);
  EXPECT_EQ(back.color, PngColor::Grey);
  EXPECT_TRUE(same(back.labels, labels));
  // A grey PNG written by OpenCV reads back the same.
  const cv::Mat bin = (labels != 0);
  const std::string cv_path = ::testing::TempDir() + "/label_cv_grey.png";
  ASSERT_TRUE(cv::imwrite(cv_path, bin));
  EXPECT_TRUE(same(read_label_png(cv_path).labels, bin));
}

TEST(LabelPng, RgbIsMappedThroughThePalette) {
  const cv::Mat labels = sample_labels();
  cv::Mat bgr(labels.size(), CV_8UC3);
  const auto& p = davis_palette();
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x) {
      const auto& c = p[labels.at<uint8_t>(y, x)];
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(c[2], c[1], c[0]);
    }
  const std::string path = ::testing::TempDir() + "/label_rgb.png";
  ASSERT_TRUE(cv::imwrite(path, bgr));
  const LabelImage back = read_label_png(path);
  EXPECT_EQ(back.color, PngColor::Rgb);
  EXPECT_TRUE(same(back.labels, labels));
  // Black/white RGB is a binary mask.
  cv::Mat bw(10, 10, CV_8UC3, cv::Scalar(0, 0, 0));
  bw(cv::Rect(2, 2, 3, 3)).setTo(cv::Scalar(255, 255, 255));
  ASSERT_TRUE(cv::imwrite(path, bw));
  const LabelImage b = read_label_png(path);
  EXPECT_EQ(b.labels.at<uint8_t>(3, 3), 255);
  EXPECT_EQ(cv::countNonZero(b.labels), 9);
  // An unknown colour is an error naming the file.
  bw.at<cv::Vec3b>(0, 0) = cv::Vec3b(1, 2, 3);
  ASSERT_TRUE(cv::imwrite(path, bw));
  try {
    read_label_png(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("palette"), std::string::npos) << e.what();
  }
}

TEST(LabelPng, SixteenBitAndMissingFilesAreErrors) {
  const std::string path = ::testing::TempDir() + "/label_16.png";
  ASSERT_TRUE(cv::imwrite(path, cv::Mat(8, 8, CV_16UC1, cv::Scalar(1000))));
  try {
    read_label_png(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("16-bit"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  try {
    read_label_png("/no/such/dir/x.png");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/dir/x.png"), std::string::npos);
  }
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_THROW(decode_label_png(text.data(), text.size(), "text"), Error);
  EXPECT_THROW(decode_label_png(nullptr, 0, "null"), Error);
}

// Every truncation of a valid palette PNG, and random byte corruption: an Error or a label map, never a crash.
TEST(LabelPng, TruncatedAndCorruptBytesNeverCrash) {
  const std::vector<uint8_t> palette = encode_label_png_palette(sample_labels());
  const std::vector<uint8_t> grey = encode_label_png_grey(sample_labels());
  int errors = 0, decoded = 0;
  for (const auto* valid : {&palette, &grey}) {
    for (std::size_t n = 0; n < valid->size(); ++n) {
      try {
        decode_label_png(valid->data(), n, "truncated.png");
        ++decoded;
      } catch (const Error& e) {
        ++errors;
        EXPECT_NE(std::string(e.what()).find("truncated.png"), std::string::npos);
      }
    }
  }
  EXPECT_GT(errors, 0);
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> bytes = iter % 2 ? palette : grey;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      // Past the signature most of the time, so that libpng gets to parse the chunks.
      const std::size_t pos = 8 + rng() % (bytes.size() - 8);
      bytes[pos] = static_cast<uint8_t>(rng());
    }
    if (iter % 3 == 0) bytes.resize(8 + rng() % (bytes.size() - 8));
    try {
      const LabelImage img = decode_label_png(bytes.data(), bytes.size(), "fuzz.png");
      EXPECT_EQ(img.labels.type(), CV_8UC1);
      ++decoded;
    } catch (const Error&) {
      ++errors;
    }
  }
  // Completely random buffers with a PNG signature.
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> bytes(8 + rng() % 300);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::copy(sig, sig + 8, bytes.begin());
    EXPECT_THROW(decode_label_png(bytes.data(), bytes.size(), "random.png"), Error);
  }
  EXPECT_GT(errors, 1000);
  // The decoder still works after all those longjmps.
  EXPECT_TRUE(same(decode_label_png(palette.data(), palette.size(), "ok.png").labels, sample_labels()));
}

}  // namespace
}  // namespace oceanplus::eval
