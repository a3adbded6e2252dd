// The train pack's index (shared/data/train/README.md): one JSON object per line of <root>/index.jsonl, one object
// mask per line. Torch-free.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace oceanplus::train {

struct TrainEntry {
  std::string image;     // JPEG path, relative to the pack root
  std::string mask;      // PNG path (one object, 0/255), relative to the pack root
  std::string source;    // segtrackv2_bmx, human_vikram, coco, balloon
  std::string video;     // video/object track id; empty when the row is a still image (null in the file)
  int frame = -1;        // 0-based frame inside `video`; -1 when null
  cv::Rect bbox;         // tight box of the mask's pixels (covers columns x .. x+w-1)
  int64_t area = 0;      // object pixels
  cv::Size size;         // image (= mask) size
  std::string category;  // class name, for information only
  int line = 0;          // 1-based line in index.jsonl, for messages
};

// Parses <root>/index.jsonl. Blank lines are skipped. Throws oceanplus::Error naming the file, the line number and,
// where one is at fault, the field (unreadable file, invalid JSON, a missing field, a wrong type, a box outside the
// image, an absolute or ".." path).
std::vector<TrainEntry> read_train_index(const std::string& root);

// The same parser on any stream; `file_label` is the name used in messages.
std::vector<TrainEntry> parse_train_index(std::istream& in, const std::string& file_label);

}  // namespace oceanplus::train
