#include "vot/sequence.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "common/error.h"

namespace oceanplus::vot {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxFrames = 10'000'000;

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// A frame pattern with exactly one %d-style conversion ("%08d", "%d"), validated so that snprintf cannot misbehave.
bool valid_pattern(const std::string& p) {
  int conversions = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') continue;
    if (i + 1 < p.size() && p[i + 1] == '%') {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) != 0) && j - i <= 3) ++j;
    if (j >= p.size() || p[j] != 'd') return false;
    ++conversions;
    i = j;
  }
  return conversions == 1;
}

std::vector<std::string> frames_from_pattern(const fs::path& dir, const std::string& pattern) {
  std::vector<std::string> frames;
  for (int i = 1; i <= kMaxFrames; ++i) {
    char buf[4096];
    const int n = std::snprintf(buf, sizeof(buf), pattern.c_str(), i);
    if (n < 0 || n >= static_cast<int>(sizeof(buf))) break;
    const fs::path p = dir / buf;
    if (!fs::exists(p)) break;
    frames.push_back(p.string());
  }
  return frames;
}

}  // namespace

const std::vector<double>& Sequence::anchor() const {
  const auto it = values.find("anchor");
  if (it == values.end()) throw Error("sequence '" + name + "' (" + dir + ") has no anchor.value");
  return it->second;
}

Sequence load_sequence(const std::string& dir_str) {
  const fs::path dir(dir_str);
  if (!fs::is_directory(dir)) throw Error(dir_str + ": not a sequence directory");
  Sequence seq;
  seq.dir = dir_str;
  seq.name = fs::path(dir_str).lexically_normal().filename().string();
  if (seq.name.empty()) seq.name = dir.lexically_normal().parent_path().filename().string();

  const fs::path meta = dir / "sequence";
  if (fs::is_regular_file(meta)) {
    std::ifstream in(meta);
    std::string line;
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      seq.metadata[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
    const auto fps = seq.metadata.find("fps");
    if (fps != seq.metadata.end()) {
      try {
        const double v = std::stod(fps->second);
        if (v > 0) seq.fps = v;
      } catch (const std::exception&) {
        throw Error(meta.string() + ": fps '" + fps->second + "' is not a number");
      }
    }
  }

  std::string pattern = "color/%08d.jpg";
  const auto ch = seq.metadata.find("channels.color");
  if (ch != seq.metadata.end()) {
    if (!valid_pattern(ch->second)) throw Error(meta.string() + ": unsupported frame pattern '" + ch->second + "'");
    pattern = ch->second;
  }
  seq.frames = frames_from_pattern(dir, pattern);
  if (seq.frames.empty()) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") seq.frames.push_back(e.path().string());
    }
    std::sort(seq.frames.begin(), seq.frames.end());
  }
  if (seq.frames.empty()) throw Error(dir_str + ": no frames (" + pattern + " or *.jpg)");

  const fs::path gt = dir / "groundtruth.txt";
  if (!fs::is_regular_file(gt)) throw Error(gt.string() + ": missing");
  seq.groundtruth = read_regions(gt.string());
  const auto n = seq.frames.size();
  if (seq.groundtruth.size() != n) {
    throw Error(gt.string() + ": " + std::to_string(seq.groundtruth.size()) + " regions for " + std::to_string(n) +
                " frames");
  }

  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string ext = e.path().extension().string();
    const std::string stem = e.path().stem().string();
    if (ext == ".value") {
      auto v = read_values(e.path().string());
      if (v.size() != n) {
        throw Error(e.path().string() + ": " + std::to_string(v.size()) + " values for " + std::to_string(n) +
                    " frames");
      }
      seq.values[stem] = std::move(v);
    } else if (ext == ".tag" || ext == ".label") {
      auto t = read_tags(e.path().string());
      // Short tag files (trailing frames untagged) are padded with false.
      if (t.size() > n) {
        throw Error(e.path().string() + ": " + std::to_string(t.size()) + " tags for " + std::to_string(n) +
                    " frames");
      }
      t.resize(n, false);
      seq.tags[stem] = std::move(t);
    }
  }
  return seq;
}

std::vector<std::string> read_sequence_list(const std::string& root) {
  const fs::path list = fs::path(root) / "list.txt";
  std::ifstream in(list);
  if (!in) throw Error(list.string() + ": cannot open");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

SequenceInput to_input(const Sequence& seq) {
  SequenceInput in;
  in.name = seq.name;
  in.length = seq.length();
  in.groundtruth = seq.groundtruth;
  in.anchor = seq.anchor();
  const auto frames = seq.frames;
  in.frame = [frames](int i) -> cv::Mat {
    if (i < 0 || i >= static_cast<int>(frames.size())) throw Error("frame index " + std::to_string(i) + " out of range");
    cv::Mat img = cv::imread(frames[i], cv::IMREAD_COLOR);
    if (img.empty()) throw Error(frames[i] + ": cannot read the image");
    return img;
  };
  return in;
}

}  // namespace oceanplus::vot
