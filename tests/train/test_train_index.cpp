// read_train_index / parse_train_index: a good index, the shared packs, and bad input (every error names the file,
// the line and the field; no input crashes or escapes as anything but oceanplus::Error).
#include "common/error.h"
#include "support/gen_v1.h"
#include "train/train_index.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

namespace oceanplus::train {
namespace {

const char* const kStillLine =
    R"({"image":"images/coco/1.jpg","mask":"masks/coco/1_y0.png","source":"coco","video":null,"frame":null,)"
    R"("bbox":[10,20,30,40],"area":900,"size":[480,360],"category":"bowl","origin":"coco128_seg"})";
const char* const kVideoLine =
    R"({"image":"images/segtrackv2_bmx/bmx_06668.jpg","mask":"masks/segtrackv2_bmx/bmx_06668.png",)"
    R"("source":"segtrackv2_bmx","video":"segtrackv2_bmx","frame":3,"bbox":[102,169,66,101],"area":1395,)"
    R"("size":[480,270],"object":"bike","category":"bicycle"})";

std::vector<TrainEntry> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_train_index(in, "mem/index.jsonl");
}

// The message of the Error that parsing `text` throws; fails the test when it throws nothing or something else.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an oceanplus::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

TEST(TrainIndex, ParsesStillAndVideoRows) {
  const auto entries = parse(std::string(kStillLine) + "\r\n\n   \n" + kVideoLine + "\n");
  ASSERT_EQ(entries.size(), 2u);
  const TrainEntry& still = entries[0];
  EXPECT_EQ(still.image, "images/coco/1.jpg");
  EXPECT_EQ(still.mask, "masks/coco/1_y0.png");
  EXPECT_EQ(still.source, "coco");
  EXPECT_TRUE(still.video.empty());
  EXPECT_EQ(still.frame, -1);
  EXPECT_EQ(still.bbox, cv::Rect(10, 20, 30, 40));
  EXPECT_EQ(still.area, 900);
  EXPECT_EQ(still.size, cv::Size(480, 360));
  EXPECT_EQ(still.category, "bowl");
  EXPECT_EQ(still.line, 1);
  const TrainEntry& video = entries[1];
  EXPECT_EQ(video.video, "segtrackv2_bmx");
  EXPECT_EQ(video.frame, 3);
  EXPECT_EQ(video.bbox, cv::Rect(102, 169, 66, 101));
  EXPECT_EQ(video.line, 4);  // blank lines count
}

TEST(TrainIndex, ReadsTheSharedPacks) {
  const std::string shared = oceanplus::testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED): train pack index not checked";
  const auto mini = read_train_index(shared + "/data/train_mini");
  EXPECT_EQ(mini.size(), 1595u);  // train_mini/README.md
  int video_rows = 0;
  for (const TrainEntry& e : mini) video_rows += !e.video.empty();
  EXPECT_EQ(video_rows, 36);
  try {
    EXPECT_EQ(read_train_index(shared + "/data/train").size(), 3852u);  // train/README.md
  } catch (const Error& e) {
    GTEST_SKIP() << "full train pack not readable: " << e.what();
  }
}

TEST(TrainIndex, MissingFileNamesIt) {
  try {
    read_train_index("/nonexistent/pack");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/pack/index.jsonl"), std::string::npos) << e.what();
  }
}

// Replaces `"key":<old value>` in the good still line with `"key":<value>` (or drops the key when value is empty).
std::string still_with(const std::string& key, const std::string& value) {
  std::string line = kStillLine;
  const std::string tag = "\"" + key + "\":";
  const size_t at = line.find(tag);
  size_t end = at + tag.size();
  int depth = 0;
  for (; end < line.size(); ++end) {  // the value ends at the next top-level ',' or '}'
    const char c = line[end];
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (value.empty()) return line.erase(at, end - at + (line[end] == ',' ? 1 : 0));
  return line.replace(at + tag.size(), end - at - tag.size(), value);
}

TEST(TrainIndex, ErrorsNameFileLineAndField) {
  struct Case {
    std::string line, field;
  };
  const std::vector<Case> cases = {
      {still_with("mask", ""), "mask"},
      {still_with("image", "42"), "image"},
      {still_with("image", "\"\""), "image"},
      {still_with("image", "\"/etc/passwd\""), "image"},
      {still_with("mask", "\"masks/../../x.png\""), "mask"},
      {still_with("source", "null"), "source"},
      {still_with("category", ""), "category"},
      {still_with("video", "7"), "video"},
      {still_with("video", "\"v\""), "frame"},  // a video row needs a frame
      {still_with("frame", "\"3\""), "frame"},
      {still_with("frame", "-2"), "frame"},
      {still_with("frame", "1.5"), "frame"},
      {still_with("bbox", "[10,20,30]"), "bbox"},
      {still_with("bbox", "\"10,20,30,40\""), "bbox"},
      {still_with("bbox", "[10,20,0,40]"), "bbox"},
      {still_with("bbox", "[470,20,30,40]"), "bbox"},  // leaves the 480-wide image
      {still_with("bbox", "[10,20,30,1e3]"), "bbox"},
      {still_with("bbox", "[10,-20,30,40]"), "bbox"},
      {still_with("bbox", "[10,20,30,99999999999999999999]"), "bbox"},
      {still_with("area", "1201"), "area"},  // more than w·h
      {still_with("area", "true"), "area"},
      {still_with("size", "[480]"), "size"},
      {still_with("size", "[0,360]"), "size"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(std::string(kVideoLine) + "\n" + c.line + "\n");
    EXPECT_NE(message.find("mem/index.jsonl:2: "), std::string::npos) << message;
    EXPECT_NE(message.find("field '" + c.field + "'"), std::string::npos) << "expected field " << c.field << ": "
                                                                          << message;
  }
  // Lines that are not a JSON object at all: the line number, and what is wrong.
  for (const std::string& bad : {std::string(kStillLine).substr(0, 60), std::string("[1,2,3]"), std::string("\"x\""),
                                std::string("{\"image\":\"a\xff\xfe.jpg\"}"), std::string("\x01\x02garbage")}) {
    const std::string message = error_of(std::string(kStillLine) + "\n" + bad + "\n");
    EXPECT_NE(message.find("mem/index.jsonl:2: "), std::string::npos) << message;
  }
}

// Random damage to good lines (truncation, byte flips, inserted garbage, swapped values): each parse either succeeds
// or throws oceanplus::Error naming the line; nothing crashes, nothing else escapes.
TEST(TrainIndex, FuzzedLinesFailCleanly) {
  const std::vector<std::string> seeds = {kStillLine, kVideoLine};
  const std::vector<std::string> values = {"null", "true", "-1", "0", "1e308", "\"\"", "[]", "{}", "[1,2,3,4]",
                                           "18446744073709551615", "-9223372036854775808", "\"..\""};
  std::mt19937_64 rng(12345);
  int errors = 0, parsed = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string line = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (line.size() + 1);
      switch (rng() % 5) {
        case 0: line.resize(at); break;
        case 1: if (at < line.size()) line[at] = static_cast<char>(rng() & 0xff); break;
        case 2: line.insert(at, 1 + rng() % 4, static_cast<char>(rng() & 0xff)); break;
        case 3: {  // a wrong value after some ':'
          const size_t colon = line.find(':', at);
          if (colon == std::string::npos) break;
          size_t end = line.find_first_of(",}", colon + 1);
          if (end == std::string::npos) end = line.size();
          line.replace(colon + 1, end - colon - 1, values[rng() % values.size()]);
          break;
        }
        default: if (at < line.size()) line.erase(at, 1 + rng() % 8); break;
      }
    }
    try {
      parse(line + "\n");
      ++parsed;
    } catch (const Error& e) {
      ++errors;
      ASSERT_EQ(std::string(e.what()).rfind("mem/index.jsonl:1: ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      FAIL() << "escaped as another exception: " << e.what() << " for line: " << line;
    }
  }
  EXPECT_GT(errors, 3000);  // nearly every damaged line is rejected
  RecordProperty("parsed", parsed);
}

}  // namespace
}  // namespace oceanplus::train
