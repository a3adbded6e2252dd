#include "train/train_index.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>

namespace oceanplus::train {
namespace {

using nlohmann::json;

// Everything a bad line throws goes through here so that every message has the same "file:line: field" shape.
[[noreturn]] void fail(const std::string& file, int line, const std::string& field, const std::string& problem) {
  std::string message = file + ":" + std::to_string(line) + ": ";
  if (!field.empty()) message += "field '" + field + "': ";
  throw Error(message + problem);
}

struct LineReader {
  const json& object;
  const std::string& file;
  int line;

  const json& field(const char* name) const {
    const auto it = object.find(name);
    if (it == object.end()) fail(file, line, name, "missing");
    return *it;
  }

  int64_t integer(const json& value, const char* name, int64_t lo, int64_t hi) const {
    if (!value.is_number_integer()) fail(file, line, name, "expected an integer, got " + std::string(value.type_name()));
    // Unsigned values above int64 max do not fit get<int64_t>; treat them as out of range.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(hi)) {
      fail(file, line, name, "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    const int64_t v = value.get<int64_t>();
    if (v < lo || v > hi) {
      fail(file, line, name, std::to_string(v) + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
  }

  std::string string(const char* name, bool relative_path) const {
    const json& value = field(name);
    if (!value.is_string()) fail(file, line, name, "expected a string, got " + std::string(value.type_name()));
    std::string s = value.get<std::string>();
    if (s.empty()) fail(file, line, name, "empty string");
    // Paths stay inside the pack: the sampler joins them to the root.
    if (relative_path && (s.front() == '/' || s.find("..") != std::string::npos)) {
      fail(file, line, name, "path must be relative to the pack root without '..': " + s);
    }
    return s;
  }

  std::vector<int64_t> int_array(const char* name, size_t count, int64_t lo) const {
    const json& value = field(name);
    if (!value.is_array() || value.size() != count) {
      fail(file, line, name, "expected an array of " + std::to_string(count) + " integers");
    }
    std::vector<int64_t> out;
    for (const json& v : value) out.push_back(integer(v, name, lo, std::numeric_limits<int>::max()));
    return out;
  }
};

TrainEntry parse_line(const std::string& text, const std::string& file, int line) {
  json object;
  try {
    object = json::parse(text);
  } catch (const json::exception& e) {
    fail(file, line, "", std::string("invalid JSON: ") + e.what());
  }
  if (!object.is_object()) fail(file, line, "", "expected a JSON object, got " + std::string(object.type_name()));
  const LineReader r{object, file, line};

  TrainEntry entry;
  entry.line = line;
  entry.image = r.string("image", true);
  entry.mask = r.string("mask", true);
  entry.source = r.string("source", false);
  entry.category = r.string("category", false);

  const json& video = r.field("video");
  if (video.is_string()) {
    entry.video = video.get<std::string>();
    if (entry.video.empty()) fail(file, line, "video", "empty string (use null for still images)");
  } else if (!video.is_null()) {
    fail(file, line, "video", "expected a string or null, got " + std::string(video.type_name()));
  }
  const json& frame = r.field("frame");
  if (frame.is_null()) {
    if (!entry.video.empty()) fail(file, line, "frame", "null on a video row");
  } else {
    entry.frame = static_cast<int>(r.integer(frame, "frame", 0, std::numeric_limits<int>::max()));
  }

  const std::vector<int64_t> size = r.int_array("size", 2, 1);
  entry.size = cv::Size(static_cast<int>(size[0]), static_cast<int>(size[1]));
  const std::vector<int64_t> box = r.int_array("bbox", 4, 0);
  if (box[2] < 1 || box[3] < 1) fail(file, line, "bbox", "width and height must be at least 1");
  if (box[0] + box[2] > size[0] || box[1] + box[3] > size[1]) fail(file, line, "bbox", "box leaves the image (size)");
  entry.bbox = cv::Rect(static_cast<int>(box[0]), static_cast<int>(box[1]), static_cast<int>(box[2]),
                        static_cast<int>(box[3]));
  entry.area = r.integer(r.field("area"), "area", 0, box[2] * box[3]);
  return entry;
}

}  // namespace

std::vector<TrainEntry> parse_train_index(std::istream& in, const std::string& file_label) {
  std::vector<TrainEntry> entries;
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    entries.push_back(parse_line(text, file_label, line));
  }
  if (in.bad()) fail(file_label, line, "", "read error");
  return entries;
}

std::vector<TrainEntry> read_train_index(const std::string& root) {
  const std::string path = root + "/index.jsonl";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  return parse_train_index(in, path);
}

}  // namespace oceanplus::train
